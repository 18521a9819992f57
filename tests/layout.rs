//! Struct layout computed by `lune_ffi::types::StructType` against what the C compiler
//! gives for the same declarations (tests/clib/conformance.h; `c_sizeof`, `c_alignof`
//! and `c_offsetof` report sizeof/_Alignof/offsetof from the compiler that built it).

use std::ffi::{c_char, CString};
use std::sync::Arc;

use lune_ffi::types::{CType, FieldSpec, Prim, StructType};

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

// MSVC targets cannot build the C test library (build_clib.rs): ignored there, by name.
// Everywhere else a missing library is a failure, not a quiet pass.
#[test]
#[cfg_attr(
    target_env = "msvc",
    ignore = "needs the C conformance library, which MSVC targets cannot build"
)]
fn layouts_match_the_c_compiler() {
    let path = env!("LUNE_FFI_TESTLIB");
    assert!(
        !path.is_empty(),
        "LUNE_FFI_TESTLIB is empty: build_clib.rs did not build the C conformance library \
         (LUNE_FFI_SKIP_TESTLIB set, or no tests/clib/*.c)"
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
