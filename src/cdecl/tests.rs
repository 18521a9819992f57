//! Unit tests of the C declaration parser, one construct at a time. Layout expectations
//! come from gcc on each platform (x86_64-linux-gnu-gcc, aarch64-linux-gnu-gcc,
//! x86_64-w64-mingw32-gcc `sizeof`/`offsetof` probes, noted per test); tests/layout.rs
//! compares the layout engine with the compiler on every lane.

use super::test_util::{cdef, offset};
use super::*;
use crate::types::CType;

fn sysv() -> Namespace {
    Namespace::with_platform(Platform::SYSV_X64)
}

fn err(ns: &mut Namespace, src: &str) -> String {
    ns.cdef(src).unwrap_err().to_string()
}

fn prim(ns: &mut Namespace, ty: &str) -> CType {
    let t = ns.parse_type(ty).unwrap();
    ns.lower(&t).unwrap()
}

fn size(ns: &mut Namespace, ty: &str) -> usize {
    let t = ns.parse_type(ty).unwrap();
    ns.sizeof(&t).unwrap()
}

#[test]
fn type_names_with_platform_sizes() {
    let mut ns = sysv();
    for (name, p) in [
        ("unsigned long long", Prim::U64),
        ("long", Prim::I64),
        ("unsigned long int", Prim::U64),
        ("long long int", Prim::I64),
        ("short", Prim::I16),
        ("unsigned short int", Prim::U16),
        ("signed char", Prim::I8),
        ("unsigned char", Prim::U8),
        ("char", Prim::I8),
        ("unsigned", Prim::U32),
        ("signed", Prim::I32),
        ("_Bool", Prim::Bool),
        ("bool", Prim::Bool),
        ("float", Prim::F32),
        ("double", Prim::F64),
        ("size_t", Prim::U64),
        ("ssize_t", Prim::I64),
        ("ptrdiff_t", Prim::I64),
        ("intptr_t", Prim::I64),
        ("uintptr_t", Prim::U64),
        ("int8_t", Prim::I8),
        ("uint8_t", Prim::U8),
        ("int16_t", Prim::I16),
        ("uint16_t", Prim::U16),
        ("int32_t", Prim::I32),
        ("uint32_t", Prim::U32),
        ("int64_t", Prim::I64),
        ("uint64_t", Prim::U64),
        ("const char *", Prim::String),
        ("char const *", Prim::String),
        ("char *", Prim::Pointer),
        ("const unsigned char *", Prim::String),
        ("unsigned char *", Prim::Pointer),
        ("char **", Prim::Pointer),
        ("void *", Prim::Pointer),
        ("const volatile int * const", Prim::Pointer),
        ("void", Prim::Void),
    ] {
        assert_eq!(prim(&mut ns, name), CType::Prim(p), "{}", name);
    }
    // Win64 (LLP64): long is 32-bit, size_t is unsigned long long (mingw sizeof probes).
    let mut win = Namespace::with_platform(Platform::WIN64);
    assert_eq!(prim(&mut win, "long"), CType::Prim(Prim::I32));
    assert_eq!(prim(&mut win, "unsigned long"), CType::Prim(Prim::U32));
    assert_eq!(prim(&mut win, "size_t"), CType::Prim(Prim::U64));
    assert_eq!(
        win.parse_type("size_t").unwrap(),
        Type::Int(IntKind::ULongLong)
    );
    assert_eq!(prim(&mut win, "wchar_t"), CType::Prim(Prim::U16));
    // AArch64 Linux: plain char is unsigned, wchar_t unsigned int.
    let mut a64 = Namespace::with_platform(Platform::AAPCS64);
    assert_eq!(prim(&mut a64, "char"), CType::Prim(Prim::U8));
    assert_eq!(prim(&mut a64, "wchar_t"), CType::Prim(Prim::U32));
    assert_eq!(prim(&mut a64, "const char *"), CType::Prim(Prim::String));
}

#[test]
fn pointers_arrays_and_function_pointers() {
    let mut ns = sysv();
    let t = ns.parse_type("int[4]").unwrap();
    assert_eq!(ns.sizeof(&t).unwrap(), 16);
    assert_eq!(
        ns.lower_array(&t).unwrap(),
        Some((CType::Prim(Prim::I32), Some(4)))
    );
    let t = ns.parse_type("double[2][3]").unwrap();
    assert_eq!(ns.sizeof(&t).unwrap(), 48);
    assert_eq!(
        ns.lower_array(&t).unwrap(),
        Some((CType::Prim(Prim::F64), Some(6)))
    );
    assert!(ns
        .lower(&t)
        .unwrap_err()
        .to_string()
        .contains("cannot be passed by value"));
    let t = ns.parse_type("int (*)(void *, int)").unwrap();
    assert_eq!(ns.type_name(&t), "int (*)(void *, int)");
    assert_eq!(ns.lower(&t).unwrap(), CType::Prim(Prim::Pointer));
    let t = ns.parse_type("int (*)[4]").unwrap();
    assert_eq!(ns.type_name(&t), "int (*)[4]");
    assert_eq!(ns.sizeof(&t).unwrap(), 8);
    let t = ns.parse_type("const char *").unwrap();
    assert!(t.is_const_char_pointer());
    assert_eq!(t.pointee(), Some(&Type::Int(IntKind::Char)));
    assert_eq!(ns.type_name(&t), "const char *");
    let t = ns.parse_type("struct timespec *").unwrap();
    assert_eq!(ns.type_name(&t), "struct timespec *");
    assert_eq!(ns.lower(&t).unwrap(), CType::Prim(Prim::Pointer));
    // The pointee is incomplete until declared.
    let e = ns.sizeof(t.pointee().unwrap()).unwrap_err().to_string();
    assert!(e.contains("struct timespec is incomplete"), "{}", e);
    cdef(&mut ns, "struct timespec { long tv_sec; long tv_nsec; };");
    assert_eq!(size(&mut ns, "struct timespec"), 16);
}

#[test]
fn unknown_type_names_suggest_the_nearest() {
    let mut ns = sysv();
    let e = ns.parse_type("uint23_t").unwrap_err().to_string();
    assert_eq!(
        e,
        "line 1, column 1: unknown type name 'uint23_t' (did you mean 'uint32_t'?) near 'uint23_t'"
    );
    cdef(&mut ns, "typedef struct { int a; } my_point;");
    let e = err(&mut ns, "int draw(my_pont *p);");
    assert_eq!(
        e,
        "line 1, column 10: unknown type name 'my_pont' (did you mean 'my_point'?) near 'my_pont'"
    );
    let e = ns.parse_type("zzzzqqqq").unwrap_err().to_string();
    assert!(!e.contains("did you mean"), "{}", e);
}

#[test]
fn syntax_errors_give_line_column_and_token() {
    let mut ns = sysv();
    let e = err(&mut ns, "int a;\nint b\nint c;");
    assert_eq!(e, "line 3, column 1: expected ';' near 'int'");
    let e = err(&mut ns, "struct S { int x; ");
    assert_eq!(e, "line 1, column 19: expected '}' at the end of the input");
    let e = err(&mut ns, "int f(int x;");
    assert!(e.starts_with("line 1, column 12: expected ')'"), "{}", e);
    let e = err(&mut ns, "unsigned double x;");
    assert!(
        e.contains("invalid combination of type specifiers 'unsigned double'"),
        "{}",
        e
    );
}

#[test]
fn records_tagged_anonymous_nested_self_referential_and_opaque() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "struct node { int value; struct node *next; };
         typedef struct { struct { char a; double b; } inner; int tail; } outer_t;
         struct opaque;
         typedef struct opaque opaque_t;
         union number { int i; double d; char bytes[12]; };
         struct tagged { union { int i; float f; }; struct { short lo, hi; }; };",
    );
    assert_eq!(size(&mut ns, "struct node"), 16);
    assert_eq!(offset(&mut ns, "struct node", "next"), 8);
    // gcc: inner is 16 bytes, 8-aligned; tail at 16; total 24.
    assert_eq!(size(&mut ns, "outer_t"), 24);
    assert_eq!(offset(&mut ns, "outer_t", "tail"), 16);
    // union: max(4, 8, 12) rounded to 8.
    assert_eq!(size(&mut ns, "union number"), 16);
    let t = ns.parse_type("union number").unwrap();
    let CType::Struct(u) = ns.lower(&t).unwrap() else {
        panic!()
    };
    assert!(u.is_union());
    // Anonymous members are reached through lookup.
    assert_eq!(offset(&mut ns, "struct tagged", "f"), 0);
    assert_eq!(offset(&mut ns, "struct tagged", "hi"), 6);
    let t = ns.parse_type("opaque_t").unwrap();
    let e = ns.sizeof(&t).unwrap_err().to_string();
    assert!(e.contains("struct opaque is incomplete (opaque)"), "{}", e);
    let e = ns.lower(&t).unwrap_err().to_string();
    assert!(e.contains("cannot be used by value"), "{}", e);
    let e = err(&mut ns, "typedef char sized[sizeof(struct opaque)];");
    assert!(e.contains("struct opaque is incomplete"), "{}", e);
    // Completing it later works.
    cdef(&mut ns, "struct opaque { int x; };");
    assert_eq!(size(&mut ns, "opaque_t"), 4);
    // A by-value field of an incomplete type is an error.
    let e = err(&mut ns, "struct later; struct holder { struct later l; };");
    assert!(e.contains("field 'l': struct later is incomplete"), "{}", e);
}

#[test]
fn compatible_redeclarations_and_conflicts() {
    let mut ns = sysv();
    let src = "typedef unsigned long size_t;
        typedef struct { int a; } anon_t;
        struct s { int x; };
        enum color { RED, GREEN = 5 };
        int f(int);
        int f(int x);
        int g();
        int g(double);
        extern int counter;
        extern int counter;";
    cdef(&mut ns, src);
    // The same declarations again (a header parsed twice) are compatible.
    cdef(&mut ns, src);
    assert_eq!(ns.function("g").unwrap().ty.params.len(), 1);
    let e = err(&mut ns, "typedef int size_t;");
    assert!(
        e.contains("'size_t' redeclared as a typedef of int (it was a typedef of unsigned long)"),
        "{}",
        e
    );
    let e = err(&mut ns, "int f(long);");
    assert!(e.contains("'f' redeclared"), "{}", e);
    let e = err(&mut ns, "struct s { long x; };");
    assert!(
        e.contains("redefinition of struct s with a different definition"),
        "{}",
        e
    );
    let e = err(&mut ns, "enum color { RED = 1 };");
    assert!(e.contains("'RED' redeclared"), "{}", e);
    let e = err(&mut ns, "union s *p;");
    assert!(
        e.contains("'s' was declared as a different kind of tag"),
        "{}",
        e
    );
    let e = err(&mut ns, "typedef struct { long a; } anon_t;");
    assert!(e.contains("'anon_t' redeclared"), "{}", e);
    // A failed cdef declares nothing, even what came before the error.
    let e = err(&mut ns, "int fresh(void); int broken(;");
    assert!(e.contains("line 1"), "{}", e);
    assert!(ns.function("fresh").is_none());
}

#[test]
fn functions_variadic_pointers_asm_and_externs() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "extern int printf(const char *__restrict fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
         int fscanf(void *__restrict s, const char *__restrict f, ...) __asm__(\"\" \"__isoc99_fscanf\");
         void qsort(void *base, size_t n, size_t size, int (*compar)(const void *, const void *));
         void (*signal(int sig, void (*handler)(int)))(int);
         int main_like(int argc, char *argv[]);
         extern const char *const names[3];
         extern int errno_like __asm__(\"my_errno\");
         void nothing(void);",
    );
    let p = ns.function("printf").unwrap();
    assert!(p.ty.variadic && p.ty.prototyped);
    assert_eq!(
        ns.lower_func(&p.ty).unwrap(),
        (
            CType::Prim(Prim::I32),
            vec![CType::Prim(Prim::String)],
            true
        )
    );
    let f = ns.function("fscanf").unwrap();
    assert_eq!(
        (f.name.as_str(), f.symbol.as_str()),
        ("fscanf", "__isoc99_fscanf")
    );
    let q = ns.function("qsort").unwrap();
    assert_eq!(
        ns.type_name(&q.ty.params[3].ty),
        "int (*)(const void *, const void *)"
    );
    assert_eq!(q.ty.params[3].name.as_deref(), Some("compar"));
    let cb = q.ty.params[3].ty.func_pointee().unwrap();
    assert_eq!((cb.params.len(), &cb.ret), (2, &Type::Int(IntKind::Int)));
    assert!(q.ty.params[0].ty.func_pointee().is_none());
    let s = ns.function("signal").unwrap();
    assert_eq!(ns.type_name(&s.ty.ret), "void (*)(int)");
    assert_eq!(ns.type_name(&s.ty.params[1].ty), "void (*)(int)");
    // char *argv[] is char **.
    let m = ns.function("main_like").unwrap();
    assert_eq!(ns.type_name(&m.ty.params[1].ty), "char **");
    let v = ns.variable("names").unwrap();
    assert_eq!(ns.type_name(&v.ty), "const char *[3]");
    assert_eq!(ns.variable("errno_like").unwrap().symbol, "my_errno");
    let n = ns.function("nothing").unwrap();
    assert!(n.ty.params.is_empty() && n.ty.prototyped);
}

#[test]
fn header_noise_is_skipped() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "__extension__ typedef long long int __quad_t;
         _Static_assert(sizeof(int) == 4, \"int\");
         extern __inline __attribute__((__gnu_inline__)) int inl(int x) { if (x) { return 1; } return 0; }
         static inline int twice(int x) { return x * 2; }
         typedef __builtin_va_list __gnuc_va_list;
         extern int vprintf(const char *__restrict __format, __gnuc_va_list __arg);
         extern void *memcpy(void *__restrict __dest, const void *__restrict __src, size_t __n)
             __attribute__((__nothrow__, __leaf__)) __attribute__((__nonnull__(1, 2)));
         typedef int register_t __attribute__((__mode__(__word__)));
         typedef unsigned int u8_mode __attribute__((__mode__(__QI__)));
         struct with_assert { int a; _Static_assert(1, \"x\"); };
         static const int table_size = 4;
         #pragma GCC visibility push(default)
         __asm__(\".symver old,old@V1\");",
    );
    assert!(
        ns.function("inl").is_none(),
        "inline definitions declare no symbol"
    );
    assert!(ns.function("twice").is_none());
    assert_eq!(prim(&mut ns, "__quad_t"), CType::Prim(Prim::I64));
    assert_eq!(prim(&mut ns, "register_t"), CType::Prim(Prim::I64));
    assert_eq!(prim(&mut ns, "u8_mode"), CType::Prim(Prim::U8));
    let v = ns.function("vprintf").unwrap();
    let e = ns.lower_func(&v.ty).unwrap_err().to_string();
    assert_eq!(e, "parameter 2 '__arg' (__builtin_va_list): type '__builtin_va_list' cannot be passed by this FFI");
    assert_eq!(ns.function("memcpy").unwrap().ty.params.len(), 3);
}

#[test]
fn unpassable_types_are_declared_but_not_called() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "long double strtold(const char *s, char **end);
         __int128 wide(void);
         unsigned __int128 uwide(void);
         _Complex double cplx(_Complex float z);
         _Float128 f128(void);
         typedef struct { long long ll; long double ld; } max_align_like;
         struct holds_array { int n; __int128 big[2]; };
         struct holds_struct { char c; max_align_like m; };",
    );
    for (f, what) in [
        ("strtold", "long double"),
        ("wide", "__int128"),
        ("uwide", "unsigned __int128"),
        ("cplx", "_Complex double"),
        ("f128", "_Float128"),
    ] {
        let d = ns.function(f).unwrap();
        let e = ns.lower_func(&d.ty).unwrap_err().to_string();
        assert!(
            e.contains(&format!("type '{}' cannot be passed", what)),
            "{}: {}",
            f,
            e
        );
    }
    // Laid out as gcc does (x86-64: 32 bytes, 16-aligned), never passed.
    assert_eq!(size(&mut ns, "max_align_like"), 32);
    let t = ns.parse_type("max_align_like").unwrap();
    assert_eq!(ns.alignof(&t).unwrap(), 16);
    let e = ns.lower(&t).unwrap_err().to_string();
    assert!(e.contains("field 'ld' has type long double"), "{}", e);
    // Memory can still hold it: the layout view is the struct.
    let (CType::Struct(m), None) = ns.lower_layout(&t).unwrap() else {
        panic!("max_align_like has a layout")
    };
    assert_eq!((m.size, m.field("ld").unwrap().offset), (32, 16));
    let t = ns.parse_type("struct holds_array").unwrap();
    assert_eq!(ns.size_align(&t).unwrap(), (48, 16));
    let e = ns.lower(&t).unwrap_err().to_string();
    assert!(e.contains("field 'big' has type __int128"), "{}", e);
    let t = ns.parse_type("struct holds_struct").unwrap();
    assert_eq!(ns.size_align(&t).unwrap(), (48, 16));
    let e = ns.lower(&t).unwrap_err().to_string();
    assert!(e.contains("field 'ld' has type long double"), "{}", e);
}

#[test]
fn enums_and_defines() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "enum e { A, B, C = 10, D, E = -1 };
         enum big { HUGE_V = 0x100000000 };
         enum flags { F1 = 1 << 0, F2 = 1 << 1, FALL = F1 | F2 };
         #define BUF_SIZE (4 * 1024)
         #define MASK 0xffffffffU
         #define NEG -5
         #define SHIFTED (1ULL << 40)
         #define FROM_ENUM (C + BUF_SIZE)
         #define MULTI (1 + \\
                        2)
         typedef char buffer[BUF_SIZE];
         typedef int by_enum[D];",
    );
    for (n, v) in [
        ("A", 0),
        ("B", 1),
        ("C", 10),
        ("D", 11),
        ("E", -1),
        ("HUGE_V", 0x1_0000_0000),
        ("FALL", 3),
        ("BUF_SIZE", 4096),
        ("MASK", 0xffff_ffff),
        ("NEG", -5),
        ("SHIFTED", 1 << 40),
        ("FROM_ENUM", 4106),
        ("MULTI", 3),
    ] {
        assert_eq!(ns.constant(n), Some(v), "{}", n);
    }
    assert_eq!(size(&mut ns, "buffer"), 4096);
    assert_eq!(size(&mut ns, "by_enum"), 44);
    // gcc: int with a negative value, unsigned int without, 64-bit when needed.
    assert_eq!(prim(&mut ns, "enum e"), CType::Prim(Prim::I32));
    assert_eq!(prim(&mut ns, "enum flags"), CType::Prim(Prim::U32));
    assert_eq!(prim(&mut ns, "enum big"), CType::Prim(Prim::U64));
    // The same define again is fine, another value is not; function-like macros and
    // strings are no longer errors (issue 22 item 3: skipped, and a string constant).
    cdef(&mut ns, "#define BUF_SIZE 4096");
    let e = err(&mut ns, "\n  #define BUF_SIZE 1");
    assert_eq!(e, "line 2, column 11: 'BUF_SIZE' redefined with a different value (4096 before, 1 now) near 'BUF_SIZE'");
    let r = ns
        .cdef_report("#define MAX(a, b) ((a) > (b) ? (a) : (b))")
        .unwrap();
    assert_eq!(r.skipped, ["MAX"]);
    cdef(&mut ns, "#define NAME \"text\"");
    assert_eq!(
        ns.macro_constant("NAME"),
        Some(&MacroValue::Str(b"text".to_vec()))
    );
    let e = err(&mut ns, "#include <stdio.h>");
    assert!(
        e.contains("'#include' is not supported; run the C preprocessor"),
        "{}",
        e
    );
}

#[test]
fn constant_expressions() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "struct s { char c; double d; };
         #define S1 sizeof(struct s)
         #define S2 sizeof(int *)
         #define AL __alignof__(long long)
         #define CAST_U8 ((unsigned char)-1)
         #define CAST_I8 ((signed char)200)
         #define NOT0 (~0U)
         #define NOT0L (~0UL)
         #define TERN (S1 > 8 ? 1 : 2)
         #define CH 'A'
         #define CHX '\\xff'
         #define CHN '\\n'
         #define LOGIC (1 && 0 || !0)
         #define CMP_UNSIGNED (-1 < 0U)
         #define DIV (-7 / 2)
         #define MOD (-7 % 2)
         #define OCT 0777
         #define BIN 0b101
         #define SIZE_T_CAST ((size_t)-1)
         #define UNSIGNED_SHIFT (1u << 31)
         #define WRAP (0xffffffffU + 1U)",
    );
    for (n, v) in [
        ("S1", 16i128),
        ("S2", 8),
        ("AL", 8),
        ("CAST_U8", 255),
        ("CAST_I8", -56),
        ("NOT0", 0xffff_ffff),
        ("NOT0L", 0xffff_ffff_ffff_ffff),
        ("TERN", 1),
        ("CH", 65),
        ("CHX", -1),
        ("CHN", 10),
        ("LOGIC", 1),
        ("CMP_UNSIGNED", 0),
        ("DIV", -3),
        ("MOD", -1),
        ("OCT", 511),
        ("BIN", 5),
        ("SIZE_T_CAST", u64::MAX as i128),
        ("UNSIGNED_SHIFT", 1 << 31),
        ("WRAP", 0),
    ] {
        assert_eq!(ns.constant(n), Some(v), "{}", n);
    }
    // Issue 22 item 3: a macro that does not evaluate is skipped, a floating one taken.
    let r = ns
        .cdef_report("#define Z (1 / 0)\n#define SH (1 << 40)")
        .unwrap();
    assert_eq!(r.skipped, ["Z", "SH"]);
    assert_eq!(ns.constant("Z"), None);
    cdef(&mut ns, "#define F 1.5");
    assert_eq!(ns.macro_constant("F"), Some(&MacroValue::Float(1.5)));
    let e = err(&mut ns, "int a[1 / 0];");
    assert!(e.contains("division by zero"), "{}", e);
    let e = err(&mut ns, "int a[UNKNOWN];");
    assert!(e.contains("'UNKNOWN' is not an integer constant"), "{}", e);
    let e = err(&mut ns, "int b[1 << 40];");
    assert!(e.contains("shift count 40 out of range"), "{}", e);
}

#[test]
fn packed_aligned_pack_and_bitfields_in_declarations() {
    // x86-64 gcc probes: epoll_event is packed (12 bytes), pack(2) puts a double at 2.
    let mut ns = sysv();
    cdef(
        &mut ns,
        "struct epoll_event { unsigned int events; unsigned long long data; } __attribute__((__packed__));
         struct __attribute__((packed)) pk { char c; int i; };
         struct al { int a; } __attribute__((aligned(16)));
         struct mem { char c; int i __attribute__((aligned(8))); };
         struct alignas_m { char c; _Alignas(8) char d; };
         #pragma pack(push, 2)
         struct p2 { char c; double d; };
         #pragma pack(push, 1)
         struct p1 { char c; double d; };
         #pragma pack(pop)
         struct p2b { char c; int i; };
         #pragma pack(pop)
         struct p0 { char c; double d; };
         struct bits { unsigned a : 3; unsigned b : 30; signed char c : 2; int : 0; char d; };
         struct flex { int n; char data[]; };
         struct zero_len { int n; char data[0]; };",
    );
    assert_eq!(size(&mut ns, "struct epoll_event"), 12);
    assert_eq!(offset(&mut ns, "struct epoll_event", "data"), 4);
    assert_eq!(size(&mut ns, "struct pk"), 5);
    let t = ns.parse_type("struct al").unwrap();
    assert_eq!(ns.size_align(&t).unwrap(), (16, 16));
    assert_eq!(offset(&mut ns, "struct mem", "i"), 8);
    assert_eq!(offset(&mut ns, "struct alignas_m", "d"), 8);
    assert_eq!(
        (
            size(&mut ns, "struct p2"),
            offset(&mut ns, "struct p2", "d")
        ),
        (10, 2)
    );
    assert_eq!(
        (
            size(&mut ns, "struct p1"),
            offset(&mut ns, "struct p1", "d")
        ),
        (9, 1)
    );
    assert_eq!(offset(&mut ns, "struct p2b", "i"), 2);
    assert_eq!(offset(&mut ns, "struct p0", "d"), 8);
    // a: bits 0..3; b: 30 bits don't fit in the rest of the int -> next int; c still fits
    // in the char holding bits 56..64 -> bits 62..64; the zero-width int moves d to 8
    // (gcc probe: c = -1 sets byte 7 to 0xc0; sizeof 12, offsetof d 8).
    let t = ns.parse_type("struct bits").unwrap();
    let CType::Struct(s) = ns.lower(&t).unwrap() else {
        panic!()
    };
    let bf = |n: &str| {
        let f = s.field(n).unwrap();
        let b = f.bits.unwrap();
        (f.offset, b.bit_offset, b.width, b.signed)
    };
    assert_eq!(bf("a"), (0, 0, 3, false));
    assert_eq!(bf("b"), (4, 0, 30, false));
    assert_eq!(bf("c"), (7, 6, 2, true));
    assert_eq!((s.field("d").unwrap().offset, s.size, s.align), (8, 12, 4));
    let t = ns.parse_type("struct flex").unwrap();
    let CType::Struct(f) = ns.lower(&t).unwrap() else {
        panic!()
    };
    assert_eq!(f.size, 4);
    assert!(f.field("data").unwrap().flexible);
    assert_eq!(size(&mut ns, "struct zero_len"), 4);
    let e = err(&mut ns, "#pragma pack(3)");
    assert!(e.contains("must be 1, 2, 4, 8 or 16"), "{}", e);
    let e = err(&mut ns, "#pragma pack(pop)");
    assert!(e.contains("without a push"), "{}", e);
    // A GCC vector member: declared with gcc's size and alignment (16/16 here).
    cdef(
        &mut ns,
        "struct v { char c; int x __attribute__((vector_size(16))); };",
    );
    assert_eq!(size(&mut ns, "struct v"), 32);
    let e = err(&mut ns, "struct fb { float f : 3; };");
    assert!(e.contains("a bitfield needs an integer type"), "{}", e);
}

#[test]
fn bitfields_follow_the_platform_rules() {
    // struct { char a; int b : 20; int c : 12; short d : 9; }
    // x86_64-linux-gnu-gcc: 8 bytes, b at byte 1; x86_64-w64-mingw32-gcc: 12 bytes, b at 4.
    let src = "struct s { char a; int b : 20; int c : 12; short d : 9; };";
    let mut ns = sysv();
    cdef(&mut ns, src);
    assert_eq!(size(&mut ns, "struct s"), 8);
    assert_eq!(offset(&mut ns, "struct s", "b"), 1);
    let mut win = Namespace::with_platform(Platform::WIN64);
    cdef(&mut win, src);
    assert_eq!(size(&mut win, "struct s"), 12);
    assert_eq!(offset(&mut win, "struct s", "b"), 4);
    // ms_struct / gcc_struct pick the rules per record.
    cdef(
        &mut ns,
        "struct __attribute__((ms_struct)) m { char a; int b : 20; int c : 12; short d : 9; };",
    );
    assert_eq!(size(&mut ns, "struct m"), 12);
    // AArch64: an unnamed zero-width bitfield aligns the record (aarch64-linux-gnu-gcc:
    // struct { signed char a:4; int :0; signed char b; } is 8 bytes; 5 on x86-64).
    let src = "struct z { signed char a : 4; int : 0; signed char b; };";
    let mut a64 = Namespace::with_platform(Platform::AAPCS64);
    cdef(&mut a64, src);
    cdef(&mut ns, src);
    assert_eq!(size(&mut a64, "struct z"), 8);
    assert_eq!(size(&mut ns, "struct z"), 5);
}

#[test]
fn type_names_print_as_c() {
    let mut ns = sysv();
    cdef(&mut ns, "struct S; union U { int i; }; enum E { X };");
    for s in [
        "int",
        "unsigned long long",
        "const char *",
        "char **",
        "struct S *",
        "union U",
        "enum E",
        "int [4]",
        "void (*)(int, ...)",
        "int (*(*)(void))[3]",
        "const volatile char *const *",
    ] {
        let t = ns.parse_type(s).unwrap();
        assert_eq!(ns.type_name(&t), s);
    }
    // Top-level qualifiers change neither layout nor calls and are dropped.
    let t = ns.parse_type("int *volatile").unwrap();
    assert_eq!(ns.type_name(&t), "int *");
    let e = ns.parse_type("int x").unwrap_err().to_string();
    assert!(e.contains("unexpected name 'x' in a type name"), "{}", e);
}

#[test]
fn later_asm_renames_vla_parameters_and_aligned_typedefs() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "int fscanf(void *s, const char *f, ...);
         int fscanf(void *s, const char *f, ...) __asm__(\"__isoc99_fscanf\");
         int fscanf(void *s, const char *f, ...);
         int regexec(const void *re, unsigned long n, int m[n], int flags);
         typedef struct { char c[20]; } over __attribute__((aligned(16)));
         typedef struct { long l[2]; } fine __attribute__((aligned(8)));",
    );
    assert_eq!(ns.function("fscanf").unwrap().symbol, "__isoc99_fscanf");
    let e = err(
        &mut ns,
        "int fscanf(void *s, const char *f, ...) __asm__(\"other\");",
    );
    assert!(e.contains("'fscanf' redeclared"), "{}", e);
    let r = ns.function("regexec").unwrap();
    assert_eq!(ns.type_name(&r.ty.params[2].ty), "int *");
    // Outside parameters an array length must be constant.
    let e = err(&mut ns, "extern int n; int table[n];");
    assert!(e.contains("'n' is not an integer constant"), "{}", e);
    // gcc: sizeof 20, _Alignof 16 (a size no StructType has): laid out as gcc does,
    // refused by value (issue 22 item 2).
    let t = ns.parse_type("over").unwrap();
    assert_eq!(ns.size_align(&t), Ok((20, 16)));
    let e = ns.lower(&t).unwrap_err().to_string();
    assert!(
        e.contains("its aligned(16) attribute changes its alignment"),
        "{}",
        e
    );
    assert_eq!(size(&mut ns, "fine"), 16);
}

#[test]
fn assorted_declarations() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "int (*handler)(int);
         typedef int (*cb_t)(void *);
         void reg(cb_t cb, void *ud);
         struct ops { int (*op)(struct ops *self, int); long long unsigned int n; };
         extern char *environ[];
         enum { ANON_A = 3 };
         typedef enum { X1, X2 } e_t;
         e_t pick(e_t);
         struct ops make(void);
         void va(int, ...);
         int kr();
         void cp(const struct ops *p, int *const *q);
         struct bf { enum { LOW, HIGH } level : 1; unsigned char flag : 1; _Bool on : 1; };
         void designated(void) ;
         static const struct ops defaults = { .op = 0, .n = (1 + 2) };",
    );
    assert_eq!(
        ns.type_name(&ns.variable("handler").unwrap().ty.clone()),
        "int (*)(int)"
    );
    let reg = ns.function("reg").unwrap();
    assert_eq!(reg.ty.params[0].ty.func_pointee().unwrap().params.len(), 1);
    assert_eq!(size(&mut ns, "struct ops"), 16);
    assert_eq!(
        ns.type_name(&ns.variable("environ").unwrap().ty.clone()),
        "char *[]"
    );
    assert_eq!(ns.constant("ANON_A"), Some(3));
    let pick = ns.function("pick").unwrap().ty.clone();
    assert_eq!(
        ns.lower_func(&pick).unwrap(),
        (CType::Prim(Prim::U32), vec![CType::Prim(Prim::U32)], false)
    );
    let make = ns.function("make").unwrap().ty.clone();
    assert!(matches!(ns.lower_func(&make).unwrap().0, CType::Struct(_)));
    let va = ns.function("va").unwrap();
    assert!(va.ty.variadic && va.ty.params[0].name.is_none());
    assert!(!ns.function("kr").unwrap().ty.prototyped);
    let cp = ns.function("cp").unwrap().ty.clone();
    assert_eq!(ns.type_name(&cp.params[0].ty), "const struct ops *");
    assert_eq!(ns.type_name(&cp.params[1].ty), "int *const *");
    // Three one-bit fields of types of different sizes share byte 0 under gcc's rules.
    let t = ns.parse_type("struct bf").unwrap();
    let CType::Struct(bf) = ns.lower(&t).unwrap() else {
        panic!()
    };
    let bits: Vec<(usize, u32, bool)> = bf
        .fields
        .iter()
        .map(|f| (f.offset, f.bits.unwrap().bit_offset, f.bits.unwrap().signed))
        .collect();
    assert_eq!(bits, vec![(0, 0, false), (0, 1, false), (0, 2, false)]);
    assert_eq!((bf.size, bf.align), (4, 4));
    assert!(
        ns.variable("defaults").is_none(),
        "static objects are not symbols"
    );
}

/// Issue 21 item 8: `format(printf, m, n)` records the format parameter, wherever the
/// attribute stands and whichever declaration carries it; other archetypes and n = 0
/// (vprintf's `va_list` form) record nothing.
#[test]
fn printf_format_attribute() {
    let mut ns = sysv();
    cdef(
        &mut ns,
        "typedef unsigned long size_t;
         extern int snprintf (char *__restrict __s, size_t __maxlen,
              const char *__restrict __format, ...)
              __attribute__ ((__nothrow__)) __attribute__ ((__format__ (__printf__, 3, 4)));
         __attribute__((format(printf, 1, 2))) int logf_(const char *f, ...);
         int late(int, const char *, ...);
         int late(int, const char *, ...) __attribute__((format(gnu_printf, 2, 3)));
         int vsn(char *, size_t, const char *, __builtin_va_list) __attribute__((format(printf, 3, 0)));
         int scan(const char *, ...) __attribute__((format(scanf, 1, 2)));
         int plain(const char *, ...);",
    );
    let fmt = |ns: &Namespace, name: &str| match ns.lookup(name) {
        Some(Ordinary::Func(f)) => f.printf_format,
        _ => panic!("{} is not a function", name),
    };
    assert_eq!(fmt(&ns, "snprintf"), Some(2));
    assert_eq!(fmt(&ns, "logf_"), Some(0));
    assert_eq!(fmt(&ns, "late"), Some(1));
    assert_eq!(fmt(&ns, "vsn"), None);
    assert_eq!(fmt(&ns, "scan"), None);
    assert_eq!(fmt(&ns, "plain"), None);
}
