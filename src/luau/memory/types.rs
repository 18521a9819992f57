//! Type arguments: how a type name (short, C, declared) or a StructType given to an ffi
//! function resolves, and the messages when it does not.

use crate::cdecl::ErrorKind;
use crate::luau::memory::objects::StructTypeUd;
use crate::luau::values::convert::StrArg;
use crate::luau::values::ctypes::{Resolved, TypeNameError};
use crate::luau::vm::raw::{describe, get_str, get_ud, LResult};
use crate::luau::vm::state::shared;
use crate::types::{CType, Pointee, Prim};
use mlua::ffi::lua_State;
use std::ffi::c_int;

/// Resolves a type argument: a short name or alias (which is also what `ffi.types`
/// holds), a C type name (`size_t`, `const char *`, `struct timespec *`, `int[4]`, a
/// typedef), or a StructType.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn resolve_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<Resolved> {
    // SAFETY: see above.
    unsafe {
        if let Some(s) = get_str(L, idx) {
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
            return shared(L)
                .ctypes
                .resolve(s)
                .map_err(|e| type_error(func, what, &String::from_utf8_lossy(s), &e));
        }
        if let Some(st) = get_ud::<StructTypeUd>(L, idx) {
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
            describe(L, idx)
        ))
    }
}

/// Size and alignment of a type argument (see [`resolve_type`]), for `ffi.sizeof` and
/// `ffi.alignof`: also of records that no call can pass (`long double` fields, empty).
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn resolve_size(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(usize, usize)> {
    // SAFETY: see above.
    unsafe {
        if let Some(s) = get_str(L, idx) {
            if Prim::from_bytes(s).is_none() {
                return shared(L)
                    .ctypes
                    .size_align(s)
                    .map_err(|e| type_error(func, what, &String::from_utf8_lossy(s), &e));
            }
        }
        resolve_type(L, idx, func, what).map(|r| (r.size, r.align))
    }
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
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn check_type(L: *mut lua_State, idx: c_int, func: &str, what: &str) -> LResult<CType> {
    // SAFETY: see above.
    unsafe { check_param_type(L, idx, func, what) }.map(|(t, _)| t)
}

/// `check_type`, with what a Luau string passed for a parameter of the type becomes.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn check_param_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(CType, StrArg)> {
    // SAFETY: see above.
    unsafe { check_param(L, idx, func, what) }.map(|r| (r.ty, r.str_arg))
}

/// A parameter or result type (see [`resolve_type`]), all that is known of it; an array
/// type is refused.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn check_param(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<Resolved> {
    // SAFETY: see above.
    let r = unsafe { resolve_type(L, idx, func, what)? };
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
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn check_elem_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(CType, Option<Pointee>)> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let r = resolve_type(L, idx, func, what)?;
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
}
