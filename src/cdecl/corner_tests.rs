//! Issue 22 item 2: record layouts in the corners, each as the compiler of its platform
//! gives it. The figures are gcc 12 (x86-64 Linux), aarch64-linux-gnu-gcc 12 and
//! x86_64-w64-mingw32-gcc 12 on the development machine (sizeof, _Alignof, offsetof
//! printed by each; tests/layout_diff.rs compares random records the same way).

use super::test_util::{offset, size_align};
use super::*;

const ALL: [(&str, Platform); 3] = [
    ("sysv", Platform::SYSV_X64),
    ("aapcs64", Platform::AAPCS64),
    ("win64", Platform::WIN64),
];

fn declared(p: Platform, src: &str) -> Namespace {
    let mut ns = Namespace::with_platform(p);
    if let Err(e) = ns.cdef(src) {
        panic!("{}\n{}", e, src);
    }
    ns
}

/// `(size, align)` of `ty` after `src`, on each platform of `ALL` in order.
fn check(src: &str, ty: &str, want: [(usize, usize); 3]) {
    for ((name, p), w) in ALL.iter().zip(want) {
        let mut ns = declared(*p, src);
        assert_eq!(size_align(&mut ns, ty), w, "{} on {}:\n{}", ty, name, src);
    }
}

#[test]
fn pragma_pack_caps_aligned_on_a_bitfield() {
    let src = "#pragma pack(1)
               struct a { short f : 15 __attribute__((aligned(16))); };
               #pragma pack()";
    check(src, "struct a", [(2, 1), (2, 1), (2, 1)]);
}

#[test]
fn aligned_on_an_unnamed_bitfield_places_it() {
    check(
        "struct b { int : 1 __attribute__((aligned(16))); };",
        "struct b",
        [(1, 1), (16, 16), (16, 16)],
    );
    let src = "struct b2 { char c; int : 1 __attribute__((aligned(16))); char d; };";
    check(src, "struct b2", [(18, 1), (32, 16), (32, 16)]);
    for ((name, p), d) in ALL.iter().zip([17, 17, 20]) {
        let mut ns = declared(*p, src);
        assert_eq!(offset(&mut ns, "struct b2", "d"), d, "{}", name);
    }
}

#[test]
fn packed_unions_with_bitfields() {
    // gcc: `#pragma pack(n)` wins over `packed` for a bitfield; MinGW: `packed` wins.
    check(
        "#pragma pack(2)
         union c { int f : 1; } __attribute__((packed));
         #pragma pack()",
        "union c",
        [(2, 2), (2, 2), (1, 1)],
    );
    // MinGW gives a packed (or pack(n)) union's bitfield its bits, not its unit.
    check(
        "union h { int f : 30; } __attribute__((packed));",
        "union h",
        [(4, 1), (4, 1), (4, 1)],
    );
    check(
        "#pragma pack(1)
         union u1 { uint64_t f : 12; };
         #pragma pack(2)
         union u4 { uint64_t f : 12; int x : 20; };
         #pragma pack()",
        "union u1",
        [(2, 1), (2, 1), (2, 1)],
    );
    check(
        "#pragma pack(2)
         union u4 { unsigned long long f : 12; int x : 20; };
         #pragma pack()",
        "union u4",
        [(4, 2), (4, 2), (4, 2)],
    );
}

#[test]
fn an_attribute_after_a_star_is_the_pointers() {
    let src = "struct d { void * __attribute__((aligned(4))) p; short x; };";
    check(src, "struct d", [(12, 4), (12, 4), (12, 4)]);
    let src = "struct d2 { char c; int * __attribute__((aligned(16))) p; };";
    check(src, "struct d2", [(32, 16), (32, 16), (32, 16)]);
}

#[test]
fn an_attribute_after_struct_tag_in_a_member() {
    let src = "struct a2 { char c; short s; };
               struct e { char c; struct a2 __attribute__((aligned(8))) m; };";
    check(src, "struct e", [(16, 8), (16, 8), (16, 8)]);
    let mut ns = declared(Platform::SYSV_X64, src);
    assert_eq!(offset(&mut ns, "struct e", "m"), 8);
}

#[test]
fn a_zero_width_bitfield_in_a_union() {
    check(
        "union f { int f5; unsigned long long : 0; };",
        "union f",
        [(4, 4), (8, 8), (4, 4)],
    );
}

#[test]
fn aligned_bitfield_places_its_unit_on_win64() {
    let src =
        "struct g { int f3; unsigned char f4 : 1 __attribute__((aligned(16))); unsigned char g; };";
    check(src, "struct g", [(32, 16), (32, 16), (32, 16)]);
    for (name, p) in ALL {
        let mut ns = declared(p, src);
        assert_eq!(offset(&mut ns, "struct g", "f4"), 16, "{}", name);
        assert_eq!(offset(&mut ns, "struct g", "g"), 17, "{}", name);
    }
}

#[test]
fn records_with_unpassable_members_have_a_size() {
    check(
        "struct i { char a; long double b; };",
        "struct i",
        [(32, 16), (32, 16), (32, 16)],
    );
    check(
        "struct i2 { char a; __int128 b; _Complex double c; };",
        "struct i2",
        [(48, 16), (48, 16), (48, 16)],
    );
}

#[test]
fn aligned_typedefs_are_honoured() {
    let src = "typedef int aint __attribute__((aligned(8)));
               typedef int lint __attribute__((aligned(2)));
               struct j { char c; aint x; };
               struct k { char c; lint x; };";
    check(src, "aint", [(4, 8), (4, 8), (4, 8)]);
    check(src, "lint", [(4, 2), (4, 2), (4, 2)]);
    check(src, "struct j", [(16, 8), (16, 8), (16, 8)]);
    check(src, "struct k", [(6, 2), (6, 2), (6, 2)]);
    check(
        src,
        "char __attribute__((aligned(8)))",
        [(1, 8), (1, 8), (1, 8)],
    );
    let mut ns = declared(Platform::SYSV_X64, src);
    assert_eq!(offset(&mut ns, "struct j", "x"), 8);
    assert_eq!(offset(&mut ns, "struct k", "x"), 2);
    // gcc: "alignment of array elements is greater than element size".
    let t = ns.parse_type("aint [2]").unwrap();
    let e = ns.size_align(&t).unwrap_err().to_string();
    assert!(e.contains("greater than their size"), "{}", e);
    // Values are the integer's.
    let t = ns.parse_type("aint").unwrap();
    assert_eq!(ns.lower(&t).unwrap(), crate::types::CType::Prim(Prim::I32));
}

#[test]
fn pragma_pack_labels_show_and_pop_with_a_value() {
    // gcc 12, all three targets: 6 12 16 9 10 10.
    let src = "#pragma pack(push, r1, 2)
               struct a { char c; int i; };
               #pragma pack(push, r2)
               #pragma pack(4)
               struct b { char c; double d; };
               #pragma pack(pop, r1)
               struct c { char c; double d; };
               #pragma pack(push, 1)
               #pragma pack(pop, 2)
               struct d { char c; double d; };
               #pragma pack(2)
               #pragma pack(show)
               struct e { char c; double d; };
               #pragma pack(push, r3, 1)
               #pragma pack(push, 4)
               #pragma pack(pop, r3)
               struct f { char c; double d; };
               #pragma pack()";
    for (name, p) in ALL {
        let mut ns = declared(p, src);
        let sizes: Vec<usize> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|t| size_align(&mut ns, &format!("struct {}", t)).0)
            .collect();
        assert_eq!(sizes, [6, 12, 16, 9, 10, 10], "{}", name);
    }
    let mut ns = Namespace::with_platform(Platform::SYSV_X64);
    let e = ns
        .cdef("#pragma pack(pop, nope)\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("#pragma pack(pop, nope) without a matching push"),
        "{}",
        e
    );
}

#[test]
fn typeof_offsetof_and_sizeof_of_expressions() {
    let src = "struct q { char c; short s[3]; struct { int x; double y; }; long *p; };
               extern struct q gq;
               extern int gi;
               int fn(int);
               enum { OFF_S2 = __builtin_offsetof(struct q, s[2]),
                      OFF_Y = __builtin_offsetof(struct q, y),
                      SZ_S = sizeof(((struct q *)0)->s),
                      SZ_P = sizeof(*((struct q *)0)->p),
                      SZ_GQ = sizeof gq,
                      SZ_SUM = sizeof(1 + 2),
                      SZ_L = sizeof(1UL) };
               typedef __typeof__(gq.s[0]) s_t;
               typedef __typeof__(((struct q *)0)->y) y_t;
               typedef __typeof__(&gi) pi_t;
               typedef __typeof__(fn(1)) ret_t;
               typedef __typeof__(gq) *pq_t;";
    let mut ns = declared(Platform::SYSV_X64, src);
    // gcc 12 x86-64: 6 16 6 8 32 4 8.
    for (k, v) in [
        ("OFF_S2", 6),
        ("OFF_Y", 16),
        ("SZ_S", 6),
        ("SZ_P", 8),
        ("SZ_GQ", 32),
        ("SZ_SUM", 4),
        ("SZ_L", 8),
    ] {
        assert_eq!(ns.constant(k), Some(v), "{}", k);
    }
    assert_eq!(size_align(&mut ns, "s_t"), (2, 2));
    assert_eq!(size_align(&mut ns, "y_t"), (8, 8));
    let t = ns.parse_type("pi_t").unwrap();
    assert_eq!(ns.type_name(&t), "int *");
    let t = ns.parse_type("ret_t").unwrap();
    assert_eq!(ns.type_name(&t), "int");
    let t = ns.parse_type("pq_t").unwrap();
    assert_eq!(ns.type_name(&t), "struct q *");
    let e = ns
        .cdef("struct bf { int a : 3; }; enum { X = __builtin_offsetof(struct bf, a) };")
        .unwrap_err()
        .to_string();
    assert!(e.contains("member 'a' is a bitfield"), "{}", e);
    let e = ns
        .cdef("enum { Y = __builtin_offsetof(struct q, nope) };")
        .unwrap_err()
        .to_string();
    assert!(e.contains("struct q has no member 'nope'"), "{}", e);
}

#[test]
fn zero_width_bitfields_with_aligned() {
    // gcc 12: an unnamed zero-width bitfield's aligned(m) places the next member whatever
    // `#pragma pack` says; it raises the alignment on AArch64 only; MinGW caps it by pack
    // and honours it without a bitfield before it.
    let src = "#pragma pack(push, 2)
               struct za { long f0; _Bool : 0 __attribute__((aligned(8))); unsigned f2; };
               struct zb { char f0 : 1; _Bool : 0 __attribute__((aligned(16))); }
                   __attribute__((aligned(4)));
               #pragma pack(pop)
               struct zd { char f0; _Bool : 0 __attribute__((aligned(8))); char f2; }
                   __attribute__((packed));";
    check(src, "struct za", [(12, 2), (16, 8), (8, 2)]);
    check(src, "struct zb", [(16, 4), (16, 16), (4, 4)]);
    check(src, "struct zd", [(9, 1), (16, 8), (9, 1)]);
    for ((name, p), (za, zd)) in ALL.iter().zip([(8, 8), (8, 8), (4, 8)]) {
        let mut ns = declared(*p, src);
        assert_eq!(offset(&mut ns, "struct za", "f2"), za, "{}", name);
        assert_eq!(offset(&mut ns, "struct zd", "f2"), zd, "{}", name);
    }
}

#[test]
fn mingw_realigns_after_a_bitfield_run_as_gcc_does() {
    // gcc's place_field with -mms-bitfields decides on realigning before it uses up the
    // run's unit: MinGW puts f5 at 3 (gcc and clang for Linux at 2).
    let src = "struct r3 { char c; unsigned short f4 : 8;
                           unsigned short f5 __attribute__((aligned(2))); char z; }
               __attribute__((packed));";
    check(src, "struct r3", [(6, 2), (6, 2), (6, 2)]);
    for ((name, p), f5) in ALL.iter().zip([2, 2, 3]) {
        let mut ns = declared(*p, src);
        assert_eq!(offset(&mut ns, "struct r3", "f5"), f5, "{}", name);
    }
}
