use super::declared::line_marker;
use super::*;

#[test]
fn line_markers() {
    assert_eq!(
        line_marker("# 1 \"/usr/include/zlib.h\" 1 3 4"),
        Some(("/usr/include/zlib.h", vec![1, 3, 4]))
    );
    assert_eq!(line_marker("# 12 \"<stdin>\""), Some(("<stdin>", vec![])));
    assert_eq!(line_marker("#line 7 \"a.h\""), Some(("a.h", vec![])));
    assert_eq!(line_marker("#define X 1"), None);
    assert_eq!(line_marker("# \"a.h\""), None);
}

#[test]
fn long_strings_are_not_closed_by_their_text() {
    assert_eq!(long_string("int x;\n"), "[[\nint x;\n]]");
    assert_eq!(long_string("a[b[1]]\n"), "[=[\na[b[1]]\n]=]");
    assert_eq!(long_string("]] ]=]"), "[==[\n]] ]=]]==]");
}

/// What `cc -E -dD` prints for `#include <lib/lib.h>` and `#include <solo.h>`, where
/// lib.h includes lib/more.h and a system header.
const OUTPUT: &str = r#"# 0 "<stdin>"
# 0 "<built-in>"
#define __STDC__ 1
# 1 "<stdin>"
# 1 "/inc/lib/lib.h" 1
# 1 "/sys/stddef.h" 1 3 4
typedef unsigned long size_t;
int sys_fn(void);
# 2 "/inc/lib/lib.h" 2
# 1 "/inc/lib/more.h" 1
#define MORE 2
int more_fn(size_t n);
# 3 "/inc/lib/lib.h" 2
struct lib_s { int a; };
int lib_fn(struct lib_s *s);
# 2 "<stdin>" 2
# 1 "/inc/solo.h" 1
# 1 "/inc/other.h" 1
int other_fn(void);
# 2 "/inc/solo.h" 2
enum { SOLO = 1 };
int solo_fn(void);
# 3 "<stdin>" 2
"#;

#[test]
fn declared_names_are_those_of_the_named_headers_files() {
    // The fixture's `size_t` is glibc's x86-64 one (on Win64 it would conflict with the
    // built-in `unsigned long long`): the test is about files, so its platform is fixed.
    let mut ns = Namespace::with_platform(crate::cdecl::Platform::SYSV_X64);
    let mut decls = Declared::default();
    let headers = ["lib/lib.h".to_string(), "solo.h".to_string()];
    declare_preprocessed(&mut ns, &mut decls, OUTPUT, &headers).unwrap();
    // lib/lib.h brings its directory (more.h); solo.h, named bare, only itself.
    let names: Vec<&str> = decls.ordinary.iter().map(String::as_str).collect();
    assert_eq!(names, ["SOLO", "lib_fn", "more_fn", "solo_fn"]);
    let defines: Vec<&str> = decls.defines.iter().map(String::as_str).collect();
    assert_eq!(defines, ["MORE"]);
    assert!(ns.function("sys_fn").is_some() && ns.function("other_fn").is_some());

    let e = declare_preprocessed(
        &mut Namespace::new(),
        &mut Declared::default(),
        "# 1 \"<stdin>\"\n",
        &headers,
    )
    .unwrap_err();
    assert_eq!(
        e,
        "lib/lib.h, solo.h declare nothing (the files read: none)"
    );
}

#[test]
fn luau_types_of_c_types() {
    let mut ns = Namespace::new();
    ns.cdef(
        "struct s { int a; }; struct opaque;
         void f(const char *a, char *b, const void *c, void *d, struct s *e, struct opaque *g,
                int (*cb)(int), int arr[4], _Bool h, double i, struct s j, unsigned char *k);",
    )
    .unwrap();
    let mut decls = Declared::default();
    decls.ordinary.insert("f".into());
    let w = Writer::new(&ns, &decls);
    assert_eq!(
        w.function_type(&ns.function("f").unwrap().ty),
        "(a: (string | ffi.Pointer)?, b: ffi.Pointer?, c: (string | ffi.Pointer)?, d: ffi.Pointer?, \
         e: (s_ptr | s | ffi.Pointer)?, g: (opaque_ptr | ffi.Pointer)?, \
         cb: (((...any) -> ...any) | ffi.Callback | ffi.Pointer)?, arr: ffi.Pointer?, h: boolean, \
         i: number, j: s | { [string]: any }, k: ffi.Pointer?) -> ()"
    );
    let t = |c: &str, ns: &mut Namespace| ns.parse_type(c).unwrap();
    let mut ns2 = ns.clone();
    let cases = [
        ("const char *", "string?"),
        ("const unsigned char *", "string?"),
        ("char *", "ffi.TypedPointer?"),
        ("int *", "ffi.TypedPointer?"),
        ("void *", "ffi.RawPointer?"),
        ("struct s *", "s_ptr?"),
        ("struct opaque *", "opaque_ptr?"),
        ("int (*)(int)", "ffi.RawPointer?"),
        ("long long", "number"),
        ("_Bool", "boolean"),
        ("struct s", "s"),
    ];
    for (c, luau) in cases {
        let ty = t(c, &mut ns2);
        assert_eq!(w.luau(&ty, Pos::Result), luau, "{}", c);
    }
    assert_eq!(
        w.prototype("f", &ns.function("f").unwrap().ty),
        "void f(const char *a, char *b, const void *c, void *d, struct s *e, struct opaque *g, \
         int (*cb)(int), int *arr, _Bool h, double i, struct s j, unsigned char *k)"
    );
}

#[test]
fn anonymous_records_are_named_after_their_fields() {
    let mut ns = Namespace::new();
    ns.cdef(
        "typedef struct ev_s { int type; union { int i; struct { int a; } pair[2]; } data; } ev_t;
         void take(ev_t *e);",
    )
    .unwrap();
    let mut decls = Declared::default();
    decls.ordinary.insert("take".into());
    let w = Writer::new(&ns, &decls);
    let names: Vec<(&str, &str)> = w
        .names
        .values()
        .map(|n| (n.view.as_deref().unwrap(), n.ptr.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("ev_t", "ev_t_ptr"),
            ("ev_t_data", "ev_t_data_ptr"),
            ("ev_t_data_pair", "ev_t_data_pair_ptr")
        ]
    );
}
