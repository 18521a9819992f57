//! Helpers shared by the three classifiers' unit tests.

use super::{Abi, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::{CType, FieldSpec, Prim, StructType};
use std::sync::Arc;

pub const INT_PRIMS: [Prim; 13] = [
    Prim::Bool,
    Prim::I8,
    Prim::U8,
    Prim::I16,
    Prim::U16,
    Prim::I32,
    Prim::U32,
    Prim::I64,
    Prim::U64,
    Prim::Usize,
    Prim::Isize,
    Prim::Pointer,
    Prim::String,
];

pub fn p(x: Prim) -> CType {
    CType::Prim(x)
}

pub fn st_n(fields: &[(CType, Option<usize>)]) -> CType {
    let specs = fields
        .iter()
        .enumerate()
        .map(|(i, (ty, count))| FieldSpec {
            name: format!("f{i}"),
            ty: ty.clone(),
            count: *count,
        })
        .collect();
    CType::Struct(Arc::new(StructType::new(specs).unwrap()))
}

pub fn st(fields: &[Prim]) -> CType {
    st_n(&fields.iter().map(|x| (p(*x), None)).collect::<Vec<_>>())
}

pub fn arr(x: Prim, n: usize) -> CType {
    st_n(&[(p(x), Some(n))])
}

pub fn sig(ret: CType, fixed: Vec<CType>) -> Signature {
    Signature {
        ret,
        fixed,
        variadic: None,
    }
}

pub fn vsig(ret: CType, fixed: Vec<CType>, variadic: Vec<CType>) -> Signature {
    Signature {
        ret,
        fixed,
        variadic: Some(variadic),
    }
}

pub fn void() -> CType {
    p(Prim::Void)
}

pub fn g(i: u8) -> Loc {
    Loc::Gpr(i)
}

pub fn f(i: u8) -> Loc {
    Loc::Fpr(i)
}

pub fn s(off: u32) -> Loc {
    Loc::Stack(off)
}

pub fn pc(src: u32, size: u8, dst: Loc) -> Piece {
    Piece { src, size, dst }
}

pub fn sc(loc: Loc) -> ArgClass {
    ArgClass::Scalar(vec![loc])
}

pub fn pieces(v: &[Piece]) -> ArgClass {
    ArgClass::Pieces(v.to_vec())
}

pub fn rpieces(v: &[Piece]) -> RetClass {
    RetClass::Pieces(v.to_vec())
}

/// A struct copied to the stack by value: 8-byte pieces, the last one trimmed.
pub fn on_stack(size: u32, at: u32) -> ArgClass {
    ArgClass::Pieces(
        (0..size)
            .step_by(8)
            .map(|o| pc(o, (size - o).min(8) as u8, s(at + o)))
            .collect(),
    )
}

/// A union of the given members (named m0, m1, ...), C layout.
pub fn union_of(members: &[CType]) -> CType {
    use crate::types::{MemberSpec, RecordKind, RecordOptions};
    let specs = members
        .iter()
        .enumerate()
        .map(|(i, ty)| MemberSpec::new(format!("m{i}"), ty.clone(), None))
        .collect();
    let opts = RecordOptions {
        kind: RecordKind::Union,
        ..RecordOptions::default()
    };
    CType::Struct(Arc::new(StructType::with_options(specs, &opts).unwrap()))
}

/// `struct __attribute__((packed)) { fields... }`.
pub fn packed(fields: &[Prim]) -> CType {
    use crate::types::{MemberSpec, RecordOptions};
    let specs = fields
        .iter()
        .enumerate()
        .map(|(i, x)| MemberSpec::new(format!("f{i}"), p(*x), None))
        .collect();
    let opts = RecordOptions {
        packed: true,
        ..RecordOptions::default()
    };
    CType::Struct(Arc::new(StructType::with_options(specs, &opts).unwrap()))
}

/// `struct { int a:3; int b:5; float f; }` (8 bytes, bitfields in the first 4).
pub fn bits_then_float() -> CType {
    use crate::types::{MemberSpec, RecordOptions};
    let specs = vec![
        MemberSpec::bitfield("a", p(Prim::I32), 3),
        MemberSpec::bitfield("b", p(Prim::I32), 5),
        MemberSpec::new("f", p(Prim::F32), None),
    ];
    CType::Struct(Arc::new(
        StructType::with_options(specs, &RecordOptions::default()).unwrap(),
    ))
}

/// `abi`'s plan for `s`, which must classify and name the ABI.
pub fn plan_of(abi: Abi, s: Signature) -> CallPlan {
    let plan = abi.classify(&s).unwrap();
    assert_eq!(plan.abi, abi);
    plan
}

pub fn longs(n: usize) -> Vec<CType> {
    vec![p(Prim::I64); n]
}

pub fn doubles(n: usize) -> Vec<CType> {
    vec![p(Prim::F64); n]
}
