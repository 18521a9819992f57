//! Thin helpers over Luau's C API. The whole Luau-facing surface is written against the
//! raw API: one userdata tag per kind of object, so the hot `__index`/`__newindex` paths
//! and bound calls skip mlua's method dispatch.
//!
//! Error discipline: every `lua_CFunction` here runs its body through [`guard`], which
//! turns `Err(String)` and Rust panics into a Luau error raised from the outermost frame,
//! after every Rust value with a destructor is gone. Bodies use only API calls that do
//! not raise (raw table access, type checks, pushes).

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use mlua::ffi::{self, lua_State};

pub type LResult<T> = Result<T, String>;

/// Userdata tags; each has its own metatable and destructor, set once per Lua state.
/// Chosen away from 0 (untagged userdata, used by mlua) in case other libraries use low tags.
pub const TAG_RAWPTR: c_int = 90;
pub const TAG_TYPEDPTR: c_int = 91;
pub const TAG_VIEW: c_int = 92;
pub const TAG_ARENA: c_int = 93;
pub const TAG_STRUCTTYPE: c_int = 94;
pub const TAG_LIBRARY: c_int = 95;
pub const TAG_CALLBACK: c_int = 96;
pub const TAG_PROTO: c_int = 97;
pub const TAG_SHARED: c_int = 98;

/// Runs a function body, converting errors and panics into a Luau error.
#[inline(always)]
pub unsafe fn guard(L: *mut lua_State, body: impl FnOnce() -> LResult<c_int>) -> c_int {
    let msg = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(n)) => return n,
        Ok(Err(msg)) => msg,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!(
                "internal error in lune-ffi (a bug, please report): {}",
                detail
            )
        }
    };
    raise(L, msg)
}

/// Raises `msg` as a Luau error. Nothing with a destructor may be alive in the calling
/// frames between here and the C function boundary: `msg` is dropped before the raise.
#[cold]
pub unsafe fn raise(L: *mut lua_State, msg: String) -> ! {
    push_str(L, &msg);
    drop(msg);
    // SAFETY: the error object is on the stack; Luau unwinds to the nearest protected call.
    ffi::lua_error(L)
}

#[inline]
pub unsafe fn push_str(L: *mut lua_State, s: &str) {
    ffi::lua_pushlstring_(L, s.as_ptr() as *const _, s.len());
}

#[inline]
pub unsafe fn push_bytes(L: *mut lua_State, s: &[u8]) {
    ffi::lua_pushlstring_(L, s.as_ptr() as *const _, s.len());
}

/// The bytes of the string at `idx`, or None if the value is not a string (numbers are
/// not converted: `lua_tolstring` would rewrite the stack slot).
#[inline]
pub unsafe fn get_str<'a>(L: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    if ffi::lua_type(L, idx) != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0usize;
    let p = ffi::lua_tolstring(L, idx, &mut len);
    // SAFETY: Luau keeps the string alive while it is on the stack; callers do not keep
    // the slice past the value's life on the stack.
    Some(std::slice::from_raw_parts(p as *const u8, len))
}

/// A short description of the value at `idx` for error messages.
pub unsafe fn describe(L: *mut lua_State, idx: c_int) -> String {
    let t = ffi::lua_type(L, idx);
    match t {
        ffi::LUA_TNONE => "no value".into(),
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumberx(L, idx, ptr::null_mut());
            format!("number {}", fmt_num(n))
        }
        ffi::LUA_TINTEGER => {
            let n = ffi::lua_tointeger64(L, idx, ptr::null_mut());
            format!("integer {}", n)
        }
        ffi::LUA_TSTRING => {
            let s = get_str(L, idx).unwrap_or_default();
            let shown = String::from_utf8_lossy(&s[..s.len().min(40)]).into_owned();
            format!("string \"{}\"", shown)
        }
        ffi::LUA_TUSERDATA => match ffi::lua_userdatatag(L, idx) {
            TAG_RAWPTR => "RawPointer".into(),
            TAG_TYPEDPTR => "TypedPointer".into(),
            TAG_VIEW => "StructView".into(),
            TAG_ARENA => "Arena".into(),
            TAG_STRUCTTYPE => "StructType".into(),
            TAG_LIBRARY => "Library".into(),
            TAG_CALLBACK => "Callback".into(),
            _ => "userdata".into(),
        },
        _ => {
            let name = ffi::lua_typename(L, t);
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        }
    }
}

pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i128)
    } else {
        format!("{}", n)
    }
}

/// Allocates a tagged userdata holding `value`, with the tag's metatable.
#[inline]
pub unsafe fn push_ud<T>(L: *mut lua_State, tag: c_int, value: T) -> *mut T {
    debug_assert!(std::mem::align_of::<T>() <= 8);
    let p = ffi::lua_newuserdatataggedwithmetatable(L, std::mem::size_of::<T>(), tag) as *mut T;
    // SAFETY: Luau returned a fresh block of size_of::<T>() bytes, 8-aligned; the tag's
    // destructor (`drop_ud::<T>`) drops it exactly once when collected.
    ptr::write(p, value);
    p
}

/// The `T` inside the userdata at `idx` if it carries `tag`.
#[inline]
pub unsafe fn get_ud<'a, T>(L: *mut lua_State, idx: c_int, tag: c_int) -> Option<&'a mut T> {
    let p = ffi::lua_touserdatatagged(L, idx, tag) as *mut T;
    // SAFETY: only `push_ud::<T>` creates userdata with this tag, so the block holds a
    // live T while the value is on the stack.
    p.as_mut()
}

/// Destructor registered per tag.
pub unsafe extern "C" fn drop_ud<T>(_L: *mut lua_State, p: *mut c_void) {
    // SAFETY: called once by the collector for a block that `push_ud::<T>` initialised.
    // Drop impls of the module's types do not panic and do not call into Luau.
    ptr::drop_in_place(p as *mut T);
}

/// Pushes a C function with a debug name.
pub unsafe fn push_fn(L: *mut lua_State, f: ffi::lua_CFunction, name: &'static std::ffi::CStr) {
    ffi::lua_pushcclosurek(L, f, name.as_ptr(), 0, None);
}

/// Sets `t[name] = value on top` for the table at `t` (absolute index), popping the value.
pub unsafe fn set_field(L: *mut lua_State, t: c_int, name: &'static std::ffi::CStr) {
    ffi::lua_rawsetfield(L, t, name.as_ptr());
}

/// Integer index argument: a number that is integral, or a Luau integer.
pub unsafe fn get_index(L: *mut lua_State, idx: c_int) -> Option<i64> {
    match ffi::lua_type(L, idx) {
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumberx(L, idx, ptr::null_mut());
            if n.fract() == 0.0
                && (-9.007_199_254_740_992e15..=9.007_199_254_740_992e15).contains(&n)
            {
                Some(n as i64)
            } else {
                None
            }
        }
        ffi::LUA_TINTEGER => Some(ffi::lua_tointeger64(L, idx, ptr::null_mut())),
        _ => None,
    }
}

/// A size or count argument: a non-negative integral number below `limit`.
pub unsafe fn get_size(
    L: *mut lua_State,
    idx: c_int,
    argn: c_int,
    func: &str,
    what: &str,
    limit: usize,
) -> LResult<usize> {
    let n = get_index(L, idx).ok_or_else(|| {
        // An integral number too large for an index is out of range, not a non-integer.
        let huge = ffi::lua_type(L, idx) == ffi::LUA_TNUMBER && {
            let n = ffi::lua_tonumberx(L, idx, ptr::null_mut());
            n.is_finite() && n.fract() == 0.0
        };
        let expected = if huge {
            format!("an integer from 0 to {}", limit)
        } else {
            "a non-negative integer".to_string()
        };
        format!(
            "{}: argument #{} ({}): expected {}, got {}",
            func,
            argn,
            what,
            expected,
            describe(L, idx)
        )
    })?;
    if n < 0 || n as u64 > limit as u64 {
        return Err(format!(
            "{}: argument #{} ({}): expected an integer from 0 to {}, got {}",
            func, argn, what, limit, n
        ));
    }
    Ok(n as usize)
}

/// An allocation size or element count: like [`get_size`] but zero is refused too (an
/// empty allocation is always a mistake, and its pointer could not be used).
pub unsafe fn get_positive_size(
    L: *mut lua_State,
    idx: c_int,
    argn: c_int,
    func: &str,
    what: &str,
    limit: usize,
) -> LResult<usize> {
    let n = get_size(L, idx, argn, func, what, limit)?;
    if n == 0 {
        return Err(format!(
            "{}: argument #{} ({}): expected a positive integer, got 0",
            func, argn, what
        ));
    }
    Ok(n)
}
