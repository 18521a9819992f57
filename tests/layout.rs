//! Struct layout computed by `lune_ffi::types::StructType` against what the C compiler
//! gives for the same declarations (tests/clib/conformance.h; `c_sizeof`, `c_alignof`
//! and `c_offsetof` report sizeof/_Alignof/offsetof from the compiler that built it).

use std::ffi::{c_char, CString};
use std::sync::Arc;

use lune_ffi::types::{CType, FieldSpec, MemberSpec, Prim, RecordKind, RecordOptions, StructType};

type SizeFn = unsafe extern "C" fn(*const c_char) -> i64;
type OffsetFn = unsafe extern "C" fn(*const c_char, *const c_char) -> i64;

fn field(name: &str, ty: CType, count: Option<usize>) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        ty,
        count,
    }
}

fn p(p: Prim) -> CType {
    CType::Prim(p)
}

fn st(fields: Vec<FieldSpec>) -> Arc<StructType> {
    Arc::new(StructType::new(fields).unwrap())
}

// MSVC targets cannot build the C test library (testkit/build_clib.rs): ignored there, by name.
// Everywhere else a missing library is a failure, not a quiet pass.
#[test]
#[cfg_attr(
    target_env = "msvc",
    ignore = "needs the C conformance library, which MSVC targets cannot build"
)]
fn layouts_match_the_c_compiler() {
    let path = lune_ffi_testkit::TESTLIB;
    assert!(
        !path.is_empty(),
        "lune_ffi_testkit::TESTLIB is empty: testkit/build_clib.rs did not build the C \
         conformance library (LUNE_FFI_SKIP_TESTLIB set, or no tests/clib/*.c)"
    );
    // SAFETY: the crate's own test library; the symbols have the declared types.
    let lib = unsafe { libloading::Library::new(path) }.unwrap();
    let (sizeof, alignof, offsetof) = unsafe {
        (
            *lib.get::<SizeFn>(b"c_sizeof\0").unwrap(),
            *lib.get::<SizeFn>(b"c_alignof\0").unwrap(),
            *lib.get::<OffsetFn>(b"c_offsetof\0").unwrap(),
        )
    };
    let ff = st(vec![
        field("a", p(Prim::F32), None),
        field("b", p(Prim::F32), None),
    ]);
    let lu8 = st(vec![
        field("a", p(Prim::U64), None),
        field("b", p(Prim::U8), None),
    ]);
    let cases: Vec<(&str, Arc<StructType>)> = vec![
        (
            "S_u8x3",
            st(vec![
                field("a", p(Prim::U8), None),
                field("b", p(Prim::U8), None),
                field("c", p(Prim::U8), None),
            ]),
        ),
        (
            "S_u16u8",
            st(vec![
                field("a", p(Prim::U16), None),
                field("b", p(Prim::U8), None),
            ]),
        ),
        ("S_u8a7", st(vec![field("a", p(Prim::U8), Some(7))])),
        ("S_fa4", st(vec![field("a", p(Prim::F32), Some(4))])),
        (
            "S_di",
            st(vec![
                field("a", p(Prim::F64), None),
                field("b", p(Prim::I32), None),
            ]),
        ),
        (
            "S_id",
            st(vec![
                field("a", p(Prim::I32), None),
                field("b", p(Prim::F64), None),
            ]),
        ),
        (
            "S_ifc",
            st(vec![
                field("a", p(Prim::I32), None),
                field("b", p(Prim::F32), None),
                field("c", p(Prim::I8), None),
            ]),
        ),
        (
            "S_pad",
            st(vec![
                field("a", p(Prim::U8), None),
                field("b", p(Prim::F64), None),
                field("c", p(Prim::U32), None),
            ]),
        ),
        (
            "S_nest",
            st(vec![
                field("x", p(Prim::F32), None),
                field("inner", CType::Struct(ff), None),
            ]),
        ),
        (
            "S_nest2",
            st(vec![
                field("a", p(Prim::U8), None),
                field("inner", CType::Struct(lu8), None),
                field("c", p(Prim::U32), None),
            ]),
        ),
        (
            "S_packed7",
            st(vec![
                field("tag", p(Prim::U8), None),
                field("v32", p(Prim::U8), Some(4)),
                field("v16", p(Prim::U8), Some(2)),
            ]),
        ),
        (
            "S_24",
            st(vec![
                field("a", p(Prim::F64), None),
                field("b", p(Prim::I64), None),
                field("c", p(Prim::F32), None),
                field("d", p(Prim::I32), None),
            ]),
        ),
        (
            "S_108",
            st(vec![
                field("tag", p(Prim::U8), None),
                field("i", p(Prim::I32), Some(13)),
                field("f", p(Prim::F32), Some(13)),
            ]),
        ),
        (
            "S_ld",
            st(vec![
                field("l", p(Prim::I64), None),
                field("d", p(Prim::F64), None),
            ]),
        ),
    ];
    for (name, s) in cases {
        let cname = CString::new(name).unwrap();
        // SAFETY: NUL-terminated strings; the functions only read them.
        unsafe {
            assert_eq!(s.size as i64, sizeof(cname.as_ptr()), "sizeof {}", name);
            assert_eq!(s.align as i64, alignof(cname.as_ptr()), "alignof {}", name);
            for f in &s.fields {
                let fname = CString::new(f.name.as_str()).unwrap();
                assert_eq!(
                    f.offset as i64,
                    offsetof(cname.as_ptr(), fname.as_ptr()),
                    "offsetof {}.{}",
                    name,
                    f.name
                );
            }
        }
    }
}

type BfSetFn = unsafe extern "C" fn(*const c_char, *const c_char, *mut u8, i64) -> i32;
type BfGetFn = unsafe extern "C" fn(*const c_char, *const c_char, *const u8, *mut i64) -> i32;

fn rec(members: Vec<MemberSpec>, opts: RecordOptions) -> StructType {
    StructType::with_options(members, &opts).unwrap()
}

fn m(name: &str, ty: CType) -> MemberSpec {
    MemberSpec::new(name, ty, None)
}

fn bf(name: &str, ty: CType, width: u32) -> MemberSpec {
    MemberSpec::bitfield(name, ty, width)
}

/// Unions, packed, pack(n), aligned, bitfields, flexible arrays and anonymous members
/// (tests/clib/records.c), with the host's layout rules (MSVC's on the Windows lane).
#[test]
fn records_match_the_c_compiler() {
    let path = lune_ffi_testkit::TESTLIB;
    if path.is_empty() {
        eprintln!("no C test library for this target; skipped");
        return;
    }
    // SAFETY: the crate's own test library; the symbols have the declared types.
    let lib = unsafe { libloading::Library::new(path) }.unwrap();
    let (sizeof, alignof, offsetof, bf_set, bf_get) = unsafe {
        (
            *lib.get::<SizeFn>(b"rl_sizeof\0").unwrap(),
            *lib.get::<SizeFn>(b"rl_alignof\0").unwrap(),
            *lib.get::<OffsetFn>(b"rl_offsetof\0").unwrap(),
            *lib.get::<BfSetFn>(b"rl_bf_set\0").unwrap(),
            *lib.get::<BfGetFn>(b"rl_bf_get\0").unwrap(),
        )
    };
    let def = RecordOptions::default;
    let union = || RecordOptions {
        kind: RecordKind::Union,
        ..def()
    };
    let packed = || RecordOptions {
        packed: true,
        ..def()
    };
    let pack = |n| RecordOptions {
        pack: Some(n),
        ..def()
    };
    let (i8_, u8_, i16_, u16_, i32_, u32_, i64_, u64_, f32_, f64_) = (
        p(Prim::I8),
        p(Prim::U8),
        p(Prim::I16),
        p(Prim::U16),
        p(Prim::I32),
        p(Prim::U32),
        p(Prim::I64),
        p(Prim::U64),
        p(Prim::F32),
        p(Prim::F64),
    );
    let inner_s = CType::Struct(Arc::new(rec(
        vec![m("a", i8_.clone()), m("b", i16_.clone())],
        def(),
    )));
    let anon_u = CType::Struct(Arc::new(rec(
        vec![m("i", i32_.clone()), m("f", f32_.clone())],
        union(),
    )));
    let cases: Vec<(&str, StructType)> = vec![
        (
            "R_u_ic",
            rec(
                vec![
                    m("i", i32_.clone()),
                    MemberSpec::new("c", i8_.clone(), Some(5)),
                ],
                union(),
            ),
        ),
        (
            "R_u_nest",
            rec(vec![m("d", f64_.clone()), m("s", inner_s)], union()),
        ),
        (
            "R_packed",
            rec(
                vec![
                    m("a", i8_.clone()),
                    m("b", i32_.clone()),
                    m("c", i16_.clone()),
                ],
                packed(),
            ),
        ),
        (
            "R_field_packed",
            rec(
                vec![
                    m("a", i8_.clone()),
                    MemberSpec {
                        packed: true,
                        ..m("b", i32_.clone())
                    },
                    m("c", i8_.clone()),
                ],
                def(),
            ),
        ),
        (
            "R_pack2",
            rec(
                vec![
                    m("a", i8_.clone()),
                    m("b", f64_.clone()),
                    m("c", i32_.clone()),
                ],
                pack(2),
            ),
        ),
        (
            "R_pack1_bits",
            rec(
                vec![
                    m("a", i8_.clone()),
                    bf("b", i32_.clone(), 20),
                    bf("c", i32_.clone(), 12),
                    m("d", i8_.clone()),
                ],
                pack(1),
            ),
        ),
        (
            "R_aligned16",
            rec(
                vec![m("a", i32_.clone())],
                RecordOptions {
                    align: Some(16),
                    ..def()
                },
            ),
        ),
        (
            "R_field_aligned",
            rec(
                vec![
                    m("a", i8_.clone()),
                    MemberSpec {
                        align: Some(8),
                        ..m("b", i32_.clone())
                    },
                    m("c", i8_.clone()),
                ],
                def(),
            ),
        ),
        (
            "R_bits1",
            rec(
                vec![
                    m("a", i8_.clone()),
                    bf("b", i32_.clone(), 20),
                    bf("c", i32_.clone(), 12),
                    bf("d", i16_.clone(), 9),
                ],
                def(),
            ),
        ),
        (
            "R_bits_zero",
            rec(
                vec![
                    bf("a", u32_.clone(), 3),
                    bf("", u32_.clone(), 0),
                    bf("b", u32_.clone(), 5),
                    m("c", i8_.clone()),
                ],
                def(),
            ),
        ),
        (
            "R_bits_zero_char",
            rec(
                vec![
                    bf("a", i8_.clone(), 4),
                    bf("", i32_.clone(), 0),
                    m("b", i8_.clone()),
                ],
                def(),
            ),
        ),
        (
            "R_zero_alone",
            rec(
                vec![
                    m("c", i8_.clone()),
                    bf("", i32_.clone(), 0),
                    m("d", i8_.clone()),
                ],
                def(),
            ),
        ),
        (
            "R_bits_ll",
            rec(
                vec![
                    bf("a", i64_.clone(), 40),
                    bf("b", i32_.clone(), 30),
                    bf("c", i8_.clone(), 3),
                ],
                def(),
            ),
        ),
        (
            "R_bits_mixed",
            rec(
                vec![
                    bf("a", u8_.clone(), 1),
                    bf("b", u16_.clone(), 9),
                    bf("c", u32_.clone(), 17),
                    bf("d", u64_.clone(), 33),
                    bf("e", p(Prim::Bool), 1),
                ],
                def(),
            ),
        ),
        (
            "R_bits_packed",
            rec(
                vec![
                    m("a", i8_.clone()),
                    bf("b", i32_.clone(), 31),
                    bf("c", i32_.clone(), 2),
                ],
                packed(),
            ),
        ),
        (
            "R_bits_unnamed",
            rec(
                vec![
                    bf("a", i16_.clone(), 4),
                    bf("", i32_.clone(), 5),
                    bf("b", i16_.clone(), 12),
                ],
                def(),
            ),
        ),
        (
            "R_u_bits",
            rec(
                vec![
                    bf("a", i32_.clone(), 3),
                    m("b", i8_.clone()),
                    bf("c", i64_.clone(), 40),
                ],
                union(),
            ),
        ),
        (
            "R_flex",
            rec(
                vec![
                    m("n", i32_.clone()),
                    MemberSpec::flexible("d", f64_.clone()),
                ],
                def(),
            ),
        ),
        (
            "R_flex_short",
            rec(
                vec![m("n", i8_.clone()), MemberSpec::flexible("d", i16_.clone())],
                def(),
            ),
        ),
        (
            "R_anon",
            rec(
                vec![
                    m("tag", i8_.clone()),
                    m("", anon_u),
                    m("after", i8_.clone()),
                ],
                def(),
            ),
        ),
    ];
    let mut bitfields_checked = 0;
    for (name, s) in &cases {
        let cname = CString::new(*name).unwrap();
        // SAFETY: NUL-terminated strings; the functions only read them.
        let (csize, calign) = unsafe { (sizeof(cname.as_ptr()), alignof(cname.as_ptr())) };
        assert_eq!(s.size as i64, csize, "sizeof {}", name);
        assert_eq!(s.align as i64, calign, "alignof {}", name);
        let mut names: Vec<String> = Vec::new();
        for f in &s.fields {
            match &f.ty {
                CType::Struct(inner) if f.name.is_empty() => {
                    names.extend(inner.fields.iter().map(|g| g.name.clone()))
                }
                _ => names.push(f.name.clone()),
            }
        }
        for fname in names {
            let f = s.lookup(&fname).unwrap();
            let cf = CString::new(fname.as_str()).unwrap();
            let Some(b) = f.bits else {
                // SAFETY: as above.
                let off = unsafe { offsetof(cname.as_ptr(), cf.as_ptr()) };
                // Every plain field of these types is listed in records.c.
                assert_eq!(f.offset as i64, off, "offsetof {}.{}", name, fname);
                continue;
            };
            bitfields_checked += 1;
            // Store values into a zeroed object in C and compare the bytes with ours.
            for v in [b.max(), b.min(), 1, b.max() / 3 + b.min() / 5] {
                let mut theirs = vec![0u8; s.size];
                // SAFETY: `theirs` has sizeof(type) bytes, as rl_bf_set writes.
                let rc =
                    unsafe { bf_set(cname.as_ptr(), cf.as_ptr(), theirs.as_mut_ptr(), v as i64) };
                assert_eq!(rc, 0, "{}.{} unknown to records.c", name, fname);
                let mut ours = vec![0u8; s.size];
                b.insert(&mut ours[f.offset..], v).unwrap();
                assert_eq!(ours, theirs, "{}.{} = {} (bytes)", name, fname, v);
                assert_eq!(
                    b.extract(&theirs[f.offset..]),
                    Some(v),
                    "{}.{}",
                    name,
                    fname
                );
                // And C reads back what we wrote, sign extension included.
                let mut read = 0i64;
                // SAFETY: `ours` has sizeof(type) bytes; `read` is a valid out pointer.
                let rc = unsafe { bf_get(cname.as_ptr(), cf.as_ptr(), ours.as_ptr(), &mut read) };
                assert_eq!(rc, 0);
                assert_eq!(read as i128, v, "C reads {}.{}", name, fname);
            }
        }
    }
    assert_eq!(bitfields_checked, 22);
}
