//! C type names wherever a type is accepted: the module-wide C namespace `ffi.cdef`
//! declares into, and how a type string that is not one of the short names (`i32`,
//! `pointer` …) resolves through it (`size_t`, `const char *`, `struct timespec *`,
//! `int[4]`, typedef names).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::cdecl::{CdefError, CdefReport, Namespace, Type};
use crate::types::{CType, Pointee};

/// What a Luau string passed for a pointer parameter becomes. Luau strings are interned:
/// C writing into one would change every equal string in the state, so a string goes to
/// C in place only where C promised not to write.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub enum StrArg {
    /// The short name `pointer` (or `void*`): nothing says whether C writes, so C gets a
    /// private NUL-terminated copy for the call.
    #[default]
    Copy,
    /// A `const`-qualified pointer (`const void *`, `const uint8_t *`): the bytes in place.
    InPlace,
    /// A pointer declared without `const` (`void *`, `char *`): refused, as LuaJIT does.
    Refuse,
}

/// The innermost element type of an array type.
fn elem_of(ty: &Type) -> Option<&Type> {
    let mut t = ty;
    while let Type::Array { of, .. } = t {
        t = of;
    }
    Some(t)
}

/// A resolved C type name.
#[derive(Clone)]
pub struct Resolved {
    /// The engine's type: for an array, its element type.
    pub ty: CType,
    /// `Some(n)` for an array type `T[n]`.
    pub count: Option<usize>,
    pub size: usize,
    pub align: usize,
    /// For a pointer parameter: what a Luau string passed for it becomes.
    pub str_arg: StrArg,
    /// For a declared pointer type (`struct node *`, or an array of them): what a value
    /// of the type points to, so reading one gives a TypedPointer of it.
    pub elem_pointee: Option<Pointee>,
}

/// Why a type name does not resolve.
#[derive(Clone, Debug)]
pub enum TypeNameError {
    /// The text does not parse as a type.
    Parse(CdefError),
    /// A type, but none to use (too large, incomplete), or not UTF-8.
    Invalid(String),
}

impl std::fmt::Display for TypeNameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeNameError::Parse(e) => e.fmt(f),
            TypeNameError::Invalid(s) => f.write_str(s),
        }
    }
}

impl From<String> for TypeNameError {
    fn from(s: String) -> Self {
        TypeNameError::Invalid(s)
    }
}

impl From<crate::cdecl::LowerError> for TypeNameError {
    fn from(e: crate::cdecl::LowerError) -> Self {
        TypeNameError::Invalid(e.to_string())
    }
}

type Resolution = Result<Resolved, TypeNameError>;

/// The module-wide C declarations of one Lua state, and resolved names (cleared by every
/// `ffi.cdef`, which may give a name a meaning).
#[derive(Default)]
pub struct CTypes {
    pub ns: RefCell<Namespace>,
    cache: RefCell<HashMap<Box<[u8]>, Resolution>>,
    /// `ffi.include`'s reports by headers and options: an include is run once a state.
    pub includes: RefCell<HashMap<String, CdefReport>>,
}

impl CTypes {
    /// Declares `source` (see `Namespace::cdef_report`).
    pub fn cdef(&self, source: &str) -> Result<CdefReport, String> {
        self.cache.borrow_mut().clear();
        self.ns
            .borrow_mut()
            .cdef_report(source)
            .map_err(|e| e.to_string())
    }

    /// Size and alignment of a C type name, for `ffi.sizeof`/`ffi.alignof`: also of types
    /// no call can pass (a record holding `long double`, an empty struct, a vector type),
    /// which `resolve` refuses.
    pub fn size_align(&self, name: &[u8]) -> Result<(usize, usize), TypeNameError> {
        let r = self.resolve(name);
        if let Ok(r) = &r {
            return Ok((r.size, r.align));
        }
        let ty = self.parse(name)?;
        // A type with a size that `resolve` refuses only because no call can pass it
        // (a vector, `_Float16`, a record of them): its size stands. Anything without a
        // size (incomplete, too large) fails as `resolve` says.
        let ns = self.ns.borrow();
        ns.size_align(&ty).or_else(|_| r.map(|r| (r.size, r.align)))
    }

    /// The C type a name spells, unresolved.
    fn parse(&self, name: &[u8]) -> Result<crate::cdecl::Type, TypeNameError> {
        let text = std::str::from_utf8(name).map_err(|_| "not UTF-8".to_string())?;
        self.ns
            .borrow_mut()
            .parse_type(text)
            .map_err(TypeNameError::Parse)
    }

    /// Resolves a C type name; errors say what is wrong (unknown names come with the
    /// nearest known one).
    pub fn resolve(&self, name: &[u8]) -> Resolution {
        if let Some(r) = self.cache.borrow().get(name) {
            return r.clone();
        }
        let r = self.resolve_uncached(name);
        self.cache.borrow_mut().insert(name.into(), r.clone());
        r
    }

    fn resolve_uncached(&self, name: &[u8]) -> Resolution {
        let ty = self.parse(name)?;
        let ns = self.ns.borrow();
        let (size, align) = match ns.size_align(&ty) {
            Ok(sa) => sa,
            // `void` and an array of unknown length (`int[]`) have no size and are types
            // all the same (a return type, a flexible array member's element count 0).
            Err(_) if ty.is_void() => (0, 1),
            // `int []` is aligned as its elements are.
            Err(_) if matches!(ty, Type::Array { len: None, .. }) => {
                let elem = elem_of(&ty).map(|e| ns.size_align(e));
                (0, elem.and_then(|r| r.ok()).map_or(1, |(_, a)| a))
            }
            // Anything else without a size is not a type to use (too large, incomplete).
            Err(e) => return Err(e.into()),
        };
        if let Some((elem, count)) = ns.lower_array(&ty)? {
            return Ok(Resolved {
                ty: elem,
                count: Some(count.unwrap_or(0)),
                size,
                align,
                str_arg: StrArg::Copy,
                elem_pointee: elem_of(&ty).and_then(|e| ns.pointee_of(e)),
            });
        }
        let lowered = ns.lower(&ty)?;
        let str_arg = match &ty {
            Type::Pointer { is_const: true, .. } => StrArg::InPlace,
            Type::Pointer { .. } => StrArg::Refuse,
            _ => StrArg::Copy,
        };
        Ok(Resolved {
            ty: lowered,
            count: None,
            size,
            align,
            str_arg,
            elem_pointee: ns.pointee_of(&ty),
        })
    }
}
