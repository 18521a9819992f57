//! Helpers shared by the three classifiers' unit tests.

use super::Signature;
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
