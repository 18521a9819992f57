//! Issue 22 item 3: what `ffi.cdef` makes of `#define`s as `gcc -E -dD` prints them.

use super::*;

fn sysv() -> Namespace {
    Namespace::with_platform(Platform::SYSV_X64)
}

fn value(ns: &Namespace, name: &str) -> Option<MacroValue> {
    ns.macro_constant(name).cloned()
}

#[test]
fn integer_macros_with_c_types() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "#define A 42
             #define B (A * 2 + 1)
             #define U64 0xffffffffffffffffULL
             #define NEG_U (-1UL)
             #define L (1L << 40)
             #define UI (0U - 1)
             #define CH 'x'",
        )
        .unwrap();
    assert_eq!(
        r,
        CdefReport {
            constants: 7,
            ..Default::default()
        }
    );
    assert_eq!(ns.constant("A"), Some(42));
    assert_eq!(ns.constant("B"), Some(85));
    assert_eq!(ns.constant("U64"), Some(u64::MAX as i128));
    assert_eq!(ns.constant("NEG_U"), Some(u64::MAX as i128));
    assert_eq!(ns.constant("L"), Some(1 << 40));
    assert_eq!(ns.constant("UI"), Some(u32::MAX as i128));
    assert_eq!(ns.constant("CH"), Some(120));
}

#[test]
fn floating_and_string_macros() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            r#"#define M_X 1.5
               #define NEG -2.5e3f
               #define PAREN (0.25)
               #define HEXF 0x1p-3
               #define SUM (1 + 0.5)
               #define INT_DIV (1 / 2 * 1.0)
               #define AS_FLOAT ((float)0.1)
               #define AS_INT ((int)2.75)
               #define DBL_MAX_ ((double)1.79769313486231570814527423731704357e+308L)
               #define LDBL_MAX_ 1.18973149535723176502126385303097021e+4932L
               #define F16 6.55040000000000000000000000000000000e+4F16
               #define VERSION "3.40" ".1"
               #define ESC ("a\tb\x41\101\0z")
               #define WIDE L"wide""#,
        )
        .unwrap();
    assert_eq!(r.constants, 12);
    assert_eq!(r.skipped, ["LDBL_MAX_", "WIDE"]);
    assert_eq!(value(&ns, "M_X"), Some(MacroValue::Float(1.5)));
    assert_eq!(value(&ns, "NEG"), Some(MacroValue::Float(-2500.0)));
    assert_eq!(value(&ns, "PAREN"), Some(MacroValue::Float(0.25)));
    assert_eq!(value(&ns, "HEXF"), Some(MacroValue::Float(0.125)));
    assert_eq!(value(&ns, "SUM"), Some(MacroValue::Float(1.5)));
    // C's rules: 1 / 2 is an integer division before the conversion.
    assert_eq!(value(&ns, "INT_DIV"), Some(MacroValue::Float(0.0)));
    assert_eq!(
        value(&ns, "AS_FLOAT"),
        Some(MacroValue::Float(0.1f32 as f64))
    );
    assert_eq!(value(&ns, "AS_INT"), Some(MacroValue::Int(2)));
    assert_eq!(value(&ns, "DBL_MAX_"), Some(MacroValue::Float(f64::MAX)));
    assert_eq!(value(&ns, "F16"), Some(MacroValue::Float(65504.0)));
    assert_eq!(
        value(&ns, "VERSION"),
        Some(MacroValue::Str(b"3.40.1".to_vec()))
    );
    assert_eq!(
        value(&ns, "ESC"),
        Some(MacroValue::Str(b"a\tbAA\0z".to_vec()))
    );
    // Only integers are integer constants (array sizes, enum values).
    assert_eq!(ns.constant("M_X"), None);
}

#[test]
fn casts_through_macro_expanded_typedef_names() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "typedef unsigned int mode_t;
             #define __LA_MODE_T mode_t
             #define AE_IFREG ((__LA_MODE_T)0100000)
             #define AE_IFMT ((__LA_MODE_T)0170000)
             #define BYTE ((unsigned char)AE_IFREG + 1)
             #define TWICE (AE_IFREG * 2)",
        )
        .unwrap();
    assert_eq!(r.constants, 4);
    assert_eq!(r.skipped, ["__LA_MODE_T"]);
    assert_eq!(ns.constant("AE_IFREG"), Some(0o100000));
    assert_eq!(ns.constant("AE_IFMT"), Some(0o170000));
    assert_eq!(ns.constant("BYTE"), Some(1));
    assert_eq!(ns.constant("TWICE"), Some(0o200000));
    // Recursion stays a name, as in C; integer constants are read, not re-expanded, so a
    // doubling chain of them is linear; one of non-constants stops at the expansion bound.
    let mut chain = String::from("#define SELF (SELF + 1)\n#define M0 1\n#define D0 x\n");
    for i in 1..40 {
        chain.push_str(&format!("#define M{} (M{} + M{})\n", i, i - 1, i - 1));
        chain.push_str(&format!("#define D{} (D{} + D{})\n", i, i - 1, i - 1));
    }
    let r = ns.cdef_report(&chain).unwrap();
    assert_eq!(r.skipped.len(), 41);
    assert_eq!(r.skipped[0], "SELF");
    assert_eq!(ns.constant("M30"), Some(1 << 30));
    assert_eq!(ns.constant("D39"), None);
}

#[test]
fn aliases_of_functions() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "#define pcre2_compile pcre2_compile_8
             #define again pcre2_compile
             #define nothing_declared not_a_function
             #define my_inline __inline
             #define my_int int
             int pcre2_compile_8(const char *p, int n);",
        )
        .unwrap();
    assert_eq!(r.aliases, 2);
    assert_eq!(r.constants, 0);
    assert_eq!(r.skipped, ["my_inline", "my_int", "nothing_declared"]);
    assert_eq!(ns.alias_target("pcre2_compile"), Some("pcre2_compile_8"));
    assert_eq!(ns.alias_target("again"), Some("pcre2_compile_8"));
    // Declared later, in another cdef: the alias resolves then.
    ns.cdef("int not_a_function(void);").unwrap();
    assert_eq!(ns.alias_target("nothing_declared"), Some("not_a_function"));
    // An alias of a constant defined later counts as a constant.
    let r = ns
        .cdef_report("#define EWOULDBLOCK EAGAIN\n#define EAGAIN 11")
        .unwrap();
    assert_eq!((r.constants, r.aliases), (2, 0));
    assert_eq!(ns.alias_target("EWOULDBLOCK"), Some("EAGAIN"));
    // `loop_b` expands to itself through `loop_a`: no alias.
    let r = ns
        .cdef_report("#define loop_a loop_b\n#define loop_b loop_a")
        .unwrap();
    assert_eq!(r.skipped, ["loop_b", "loop_a"]);
    assert_eq!(ns.alias_target("loop_b"), None);
}

#[test]
fn skipped_macros_undef_and_redefinition() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "#define __THROW
             #define MAX(a, b) ((a) > (b) ? (a) : (b))
             #define __always_inline __inline __attribute__ ((__always_inline__))
             #define ERRNO (*__errno_location ())
             #define K 1
             #undef K
             #define K 2
             #define K 2",
        )
        .unwrap();
    assert_eq!(r.constants, 3);
    assert_eq!(r.skipped, ["__THROW", "MAX", "__always_inline", "ERRNO"]);
    assert_eq!(ns.constant("K"), Some(2));
    let e = ns.cdef("\n#define K 3").unwrap_err().to_string();
    assert_eq!(
        e,
        "line 2, column 9: 'K' redefined with a different value (2 before, 3 now) near 'K'"
    );
    let e = ns
        .cdef("#define S \"a\"\n#define S \"b\"")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "line 2, column 9: 'S' redefined with a different value (\"a\" before, \"b\" now) near 'S'"
    );
    // All or nothing: the failed call defined no S.
    assert_eq!(ns.macro_constant("S"), None);
    ns.cdef("#undef K\n#undef NEVER_DEFINED").unwrap();
    assert_eq!(ns.constant("K"), None);
}

#[test]
fn gcc_dd_output_with_line_markers() {
    // As `gcc -E -dD` prints: line markers (inside declarations too) and #defines in an
    // enum body, a struct body and a parameter list.
    let src = r#"# 0 "<stdin>"
# 0 "<built-in>"
#define __STDC__ 1
#define __GNUC__ 12
#define __INT64_C(c) c ## L
#define __DBL_MAX__ ((double)1.79769313486231570814527423731704357e+308L)
# 1 "x.h" 1
enum {
  IPPROTO_IP = 0,
#define IPPROTO_IP IPPROTO_IP
  IPPROTO_TCP = 6,
#define IPPROTO_TCP IPPROTO_TCP
};
struct st {
  long a;
#define st_a a
  long b;
};
extern int f_real (int a,
# 40 "x.h"
                   int b);
#define f_alias f_real
# 3 "<stdin>" 2
"#;
    let mut ns = sysv();
    let r = ns.cdef_report(src).unwrap();
    assert_eq!(r.constants, 5);
    assert_eq!(r.aliases, 1);
    assert_eq!(r.skipped, ["__INT64_C", "st_a"]);
    assert_eq!(ns.constant("IPPROTO_TCP"), Some(6));
    assert_eq!(ns.constant("__GNUC__"), Some(12));
    assert_eq!(ns.alias_target("f_alias"), Some("f_real"));
    assert_eq!(ns.function("f_real").unwrap().ty.params.len(), 2);
    assert_eq!(
        ns.sizeof(&ns.clone().parse_type("struct st").unwrap())
            .unwrap(),
        16
    );
}

#[test]
fn calls_of_function_like_macros_in_bodies() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            r#"#define __INT64_C(c) c ## L
               #define __UINT64_C(c) c ## UL
               #define INT64_MAX (__INT64_C(9223372036854775807))
               #define UINT64_MAX (__UINT64_C(18446744073709551615))
               #define PCRE2_CODE_UNIT_WIDTH 8
               #define PCRE2_JOIN(a,b) a ## b
               #define PCRE2_GLUE(a,b) PCRE2_JOIN(a,b)
               #define PCRE2_SUFFIX(a) PCRE2_GLUE(a,PCRE2_CODE_UNIT_WIDTH)
               #define pcre2_compile PCRE2_SUFFIX(pcre2_compile_)
               #define STR(x) #x
               #define XSTR(x) STR(x)
               #define VERSION_TEXT XSTR(PCRE2_CODE_UNIT_WIDTH) "." STR(a "b")
               #define FIRST(a, ...) (a)
               #define REST(a, ...) (0, __VA_ARGS__)
               #define PICK FIRST((1 + 2), 3, 4)
               #define LAST REST(1, 2, 3)
               #define NOARGS() 7
               #define SEVEN NOARGS()
               #define WRONG_COUNT PCRE2_JOIN(1)
               int pcre2_compile_8(const char *pattern);"#,
        )
        .unwrap();
    assert_eq!(ns.constant("INT64_MAX"), Some(i64::MAX as i128));
    assert_eq!(ns.constant("UINT64_MAX"), Some(u64::MAX as i128));
    assert_eq!(ns.alias_target("pcre2_compile"), Some("pcre2_compile_8"));
    assert_eq!(r.aliases, 1);
    assert_eq!(
        value(&ns, "VERSION_TEXT"),
        Some(MacroValue::Str(b"8.a \"b\"".to_vec()))
    );
    assert_eq!(ns.constant("PICK"), Some(3));
    assert_eq!(ns.constant("SEVEN"), Some(7));
    // A comma expression is no constant expression here; a wrong count does not expand.
    assert_eq!(ns.constant("LAST"), None);
    assert_eq!(ns.constant("WRONG_COUNT"), None);
    assert!(r.skipped.contains(&"WRONG_COUNT".to_string()));
    // #undef of a function-like macro: its calls stay calls (no constant).
    let r = ns
        .cdef_report("#undef __INT64_C\n#define AGAIN __INT64_C(1)")
        .unwrap();
    assert_eq!(r.skipped, ["AGAIN"]);
}

#[test]
fn macros_using_macros_defined_after_them() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "#define A (B + 1)
             #define C (A * 2)
             #define F_ALIAS GLUE_LATER
             #define B 2
             #define GLUE_LATER f_real
             #define GONE_AT_END (D + 1)
             #define D 1
             #undef D
             int f_real(void);",
        )
        .unwrap();
    assert_eq!(ns.constant("A"), Some(3));
    assert_eq!(ns.constant("C"), Some(6));
    assert_eq!(ns.alias_target("F_ALIAS"), Some("f_real"));
    assert_eq!(ns.constant("GONE_AT_END"), None);
    assert_eq!(r.skipped, ["GONE_AT_END"]);
    // gcc's <limits.h> in -dD: LLONG_MIN skipped, then defined again and taken; a name
    // skipped twice is listed once.
    let r2 = ns
        .cdef_report(
            "#define LLONG_MIN_ (-LLONG_MAX_-1)
             #define SKIP_TWICE
             #define LLONG_MAX_ 0x7fffffffffffffffLL
             #undef LLONG_MIN_
             #define LLONG_MIN_ (-LLONG_MAX_ - 1LL)
             #define SKIP_TWICE",
        )
        .unwrap();
    assert_eq!(r2.skipped, ["SKIP_TWICE"]);
    assert_eq!(ns.constant("LLONG_MIN_"), Some(i64::MIN as i128));
    // B, D (taken, then undefined), A and C; F_ALIAS and GLUE_LATER.
    assert_eq!((r.constants, r.aliases), (4, 2));
}

#[test]
fn extreme_literals_are_no_panic() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            r#"#define HUGE_EXP 0x1p-2147483648
               #define HUGE_EXP2 0x1.8p2147483647
               #define LONG_ESCAPE "\xffffffffffffffffff"
               #define DEC_EXP 1e99999999999999999999
               #define DFP 1.5df"#,
        )
        .unwrap();
    assert_eq!(r.skipped, ["HUGE_EXP", "HUGE_EXP2", "DEC_EXP", "DFP"]);
    assert_eq!(value(&ns, "LONG_ESCAPE"), Some(MacroValue::Str(vec![0xff])));
}

/// gcc's <stdbool.h> in C17 mode (`-dD` output of any header that includes it, libxml2's
/// among them): a macro named after a keyword changes no declaration here and is skipped.
#[test]
fn macros_named_after_keywords_are_skipped() {
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "#define _STDBOOL_H
             #define bool _Bool
             #define true 1
             #define false 0
             #define __bool_true_false_are_defined 1
             bool flag(bool b);
             #undef bool
             #define const
             #undef const",
        )
        .unwrap();
    assert_eq!(r.skipped, ["_STDBOOL_H", "bool", "const"]);
    assert_eq!(r.constants, 3);
    assert_eq!(
        ns.function("flag").unwrap().ty.ret,
        Type::Int(IntKind::Bool)
    );
    // `const` kept its meaning: the declaration after the skipped macro is const.
    ns.cdef("const char *name(void);").unwrap();
    assert!(ns.function("name").unwrap().ty.ret.is_const_char_pointer());
}

#[test]
fn aliases_take_the_macros_as_they_are_at_the_end() {
    // pcre2.h (10.42) as `gcc -E -dD -DPCRE2_CODE_UNIT_WIDTH=8` prints it: the alias names
    // are defined through a PCRE2_SUFFIX that uses PCRE2_LOCAL_WIDTH (defined and undefined
    // three times around the declarations), then PCRE2_SUFFIX is redefined to use
    // PCRE2_CODE_UNIT_WIDTH. C expands `pcre2_compile` where it is used, after the header.
    let mut ns = sysv();
    let r = ns
        .cdef_report(
            "#define PCRE2_CODE_UNIT_WIDTH 8
             #define PCRE2_JOIN(a,b) a ## b
             #define PCRE2_GLUE(a,b) PCRE2_JOIN(a,b)
             #define PCRE2_SUFFIX(a) PCRE2_GLUE(a,PCRE2_LOCAL_WIDTH)
             #define pcre2_compile PCRE2_SUFFIX(pcre2_compile_)
             #define pcre2_nowhere PCRE2_SUFFIX(pcre2_nowhere_)
             #define PCRE2_LOCAL_WIDTH 8
             int pcre2_compile_8(const char *pattern);
             #undef PCRE2_LOCAL_WIDTH
             #define PCRE2_LOCAL_WIDTH 16
             int pcre2_compile_16(const short *pattern);
             #undef PCRE2_LOCAL_WIDTH
             #undef PCRE2_SUFFIX
             #define PCRE2_SUFFIX(a) PCRE2_GLUE(a, PCRE2_CODE_UNIT_WIDTH)",
        )
        .unwrap();
    assert_eq!(ns.alias_target("pcre2_compile"), Some("pcre2_compile_8"));
    assert_eq!(r.aliases, 1);
    assert_eq!(
        r.skipped,
        ["PCRE2_JOIN", "PCRE2_GLUE", "PCRE2_SUFFIX", "pcre2_nowhere"]
    );
}
