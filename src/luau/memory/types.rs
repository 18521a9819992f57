//! Type arguments: how a type name (short, C, declared) or a StructType given to an ffi
//! function resolves, and the messages when it does not.

use crate::cdecl::ErrorKind;
use crate::luau::memory::objects::StructTypeUd;
use crate::luau::values::ctypes::StrArg;
use crate::luau::values::ctypes::{Resolved, TypeNameError};
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::LResult;
use crate::types::{CType, Pointee, Prim};
use std::ffi::c_int;

/// Resolves a type argument: a short name or alias (which is also what `ffi.types`
/// holds), a C type name (`size_t`, `const char *`, `struct timespec *`, `int[4]`, a
/// typedef), or a StructType.
pub fn resolve_type(f: &Frame, idx: c_int, func: &str, what: &str) -> LResult<Resolved> {
    if let Some(s) = f.str(idx) {
        if let Some(p) = Prim::from_bytes(s) {
            return Ok(Resolved {
                ty: CType::Prim(p),
                count: None,
                size: p.size(),
                align: p.align(),
                str_arg: StrArg::Copy,
                elem_pointee: None,
            });
        }
        return f
            .shared()
            .ctypes
            .resolve(s)
            .map_err(|e| type_error(func, what, &String::from_utf8_lossy(s), &e));
    }
    if let Some(st) = f.ud::<StructTypeUd>(idx) {
        return Ok(Resolved {
            ty: CType::Struct(st.st.clone()),
            count: None,
            size: st.st.size,
            align: st.st.align,
            str_arg: StrArg::Copy,
            elem_pointee: None,
        });
    }
    Err(format!(
        "{}: {}: expected a type name or a StructType, got {}",
        func,
        what,
        f.describe(idx)
    ))
}

/// Size and alignment of a type argument (see [`resolve_type`]), for `ffi.sizeof` and
/// `ffi.alignof`: also of records that no call can pass (`long double` fields, empty).
pub fn resolve_size(f: &Frame, idx: c_int, func: &str, what: &str) -> LResult<(usize, usize)> {
    if let Some(s) = f.str(idx) {
        if Prim::from_bytes(s).is_none() {
            return f
                .shared()
                .ctypes
                .size_align(s)
                .map_err(|e| type_error(func, what, &String::from_utf8_lossy(s), &e));
        }
    }
    resolve_type(f, idx, func, what).map(|r| (r.size, r.align))
}

/// The message for a type name that does not resolve. A single unknown word reads as
/// before C names existed, with the nearest short or declared name suggested.
fn type_error(func: &str, what: &str, name: &str, e: &TypeNameError) -> String {
    let shown = &shown_name(name);
    // A parse error means the text is not a type at all, except for C this FFI refuses
    // (nested too deeply, or declined in a type name).
    if let TypeNameError::Parse(p) = e {
        if !matches!(p.kind, ErrorKind::TooDeep | ErrorKind::Unsupported) {
            // Bounded work: a million-character name is no typo of a short name.
            let short =
                crate::cdecl::nearest(name, crate::types::TYPE_NAMES.iter().map(|(n, _)| *n), 2);
            let declared = match &p.kind {
                ErrorKind::UnknownType { suggestion } => suggestion.as_deref(),
                _ => None,
            };
            let hint = match short.or(declared) {
                Some(n) => format!(" (did you mean '{}'?)", n),
                None => " (expected a type name such as \"i32\", \"f64\", \"pointer\", a C type such as \"size_t\" or \"const char *\", or a StructType)".into(),
            };
            return format!("{}: {}: unknown type '{}'{}", func, what, shown, hint);
        }
    }
    format!("{}: {}: type '{}': {}", func, what, shown, e)
}

/// A type name as an error message shows it: a long one (a generated or hostile name)
/// by its start and length.
fn shown_name(name: &str) -> std::borrow::Cow<'_, str> {
    const SHOWN: usize = 60;
    if name.len() <= SHOWN {
        return name.into();
    }
    let mut end = SHOWN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &name[..end], name.len()).into()
}

/// Parses a type argument (see [`resolve_type`]); an array type is refused here.
pub fn check_type(f: &Frame, idx: c_int, func: &str, what: &str) -> LResult<CType> {
    check_param_type(f, idx, func, what).map(|(t, _)| t)
}

/// `check_type`, with what a Luau string passed for a parameter of the type becomes.
pub fn check_param_type(f: &Frame, idx: c_int, func: &str, what: &str) -> LResult<(CType, StrArg)> {
    check_param(f, idx, func, what).map(|r| (r.ty, r.str_arg))
}

/// A parameter or result type (see [`resolve_type`]), all that is known of it; an array
/// type is refused.
pub fn check_param(f: &Frame, idx: c_int, func: &str, what: &str) -> LResult<Resolved> {
    let r = resolve_type(f, idx, func, what)?;
    if r.count.is_some() {
        return Err(format!(
            "{}: {}: an array type is only valid for a struct field or ffi.sizeof (use a pointer, or a count)",
            func, what
        ));
    }
    Ok(r)
}

/// Like `check_type` but refuses `void` (every use except a return type), with the
/// declared pointee of a pointer type (`struct node *`), for the elements of a
/// TypedPointer of that type.
pub fn check_elem_type(
    f: &Frame,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(CType, Option<Pointee>)> {
    let r = resolve_type(f, idx, func, what)?;
    if r.count.is_some() {
        return Err(format!(
            "{}: {}: an array type is only valid for a struct field or ffi.sizeof (use a pointer, or a count)",
            func, what
        ));
    }
    let t = (r.ty, r.elem_pointee);
    if t.0.is_void() {
        return Err(format!(
            "{}: {}: void is only valid as a return type",
            func, what
        ));
    }
    Ok(t)
}
