//! Helpers the cdecl unit-test files share.

use super::Namespace;
use crate::types::CType;

/// Declares `src`, panicking with the error and the text.
pub fn cdef(ns: &mut Namespace, src: &str) {
    if let Err(e) = ns.cdef(src) {
        panic!("{}\n{}", e, src);
    }
}

/// `(sizeof, alignof)` of the type named `ty`.
pub fn size_align(ns: &mut Namespace, ty: &str) -> (usize, usize) {
    let t = ns
        .parse_type(ty)
        .unwrap_or_else(|e| panic!("{}: {}", ty, e));
    ns.size_align(&t)
        .unwrap_or_else(|e| panic!("{}: {}", ty, e))
}

/// The offset of `field` in the record type named `ty` (also records no call can pass).
pub fn offset(ns: &mut Namespace, ty: &str, field: &str) -> usize {
    let t = ns.parse_type(ty).unwrap();
    let Ok(CType::Struct(st)) = ns.lower_layout(&t).map(|l| l.0) else {
        panic!("{} is not a record", ty);
    };
    st.lookup(field)
        .unwrap_or_else(|| panic!("{} has no field {}", ty, field))
        .offset
}
