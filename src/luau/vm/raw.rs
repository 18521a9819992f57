//! Thin helpers over Luau's C API. The whole Luau-facing surface is written against the
//! raw API: one userdata tag per kind of object, so the hot `__index`/`__newindex` paths
//! and bound calls skip mlua's method dispatch.
//!
//! # The error model of this Luau build
//!
//! The vendored Luau is compiled as C++ and raises errors with C++ exceptions
//! (`lua_exception`, thrown by `luaD_throw` and caught in `luaD_rawrunprotected`), not with
//! `longjmp`. Any API call that allocates can raise: pushing a string, userdata, table or
//! closure, `lua_ref`, `lua_newthread`, `lua_checkstack` when the stack must grow, and
//! `lua_error` itself. From that follow the rules this layer keeps:
//!
//! - A Luau exception may unwind through Rust frames only if every frame on its way is
//!   `extern "C-unwind"` (every `lua_CFunction` here is). Rust then runs the destructors of
//!   those frames, so nothing leaks and no invariant breaks. An `extern "C"` frame on the
//!   way aborts the process: the callback dispatcher (`extern "C"`, called from assembly)
//!   therefore runs everything that may raise inside `lua_pcall`.
//! - `catch_unwind` must never see a Luau exception (Rust aborts on a foreign exception),
//!   so [`guard`] does not use it around bodies that call the API. An out-of-memory while
//!   pushing a result is an ordinary Luau error.
//! - A Rust panic must never unwind into Luau's C++ frames: it would skip the VM's own
//!   clean-up and leave the state inconsistent. [`guard`] turns a panic escaping its body
//!   into an abort with a message. Panics are bugs; errors are `Err(String)`.
//! - Errors a body reports as `Err(msg)` are raised by [`guard`] after the body returned,
//!   so none of the body's values is alive at the raise.

use std::ffi::{c_int, c_void};
use std::ptr;

use mlua::ffi::{self, lua_State};

pub type LResult<T> = Result<T, String>;

/// A named C function of a metatable or methods table.
pub type Entry = (&'static std::ffi::CStr, ffi::lua_CFunction);

pub use crate::luau::vm::tags::Ud;
use std::cell::Cell;

/// Aborts if a panic unwinds past it (see the module docs). A Luau exception passing
/// through does not count as panicking and goes on to its `lua_pcall`.
pub struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("lune-ffi: internal error (a bug, please report): a Rust panic cannot cross Luau's C++ frames; aborting");
            std::process::abort();
        }
    }
}

/// Runs a function body and raises its `Err` as a Luau error once the body's values are
/// gone. Luau errors raised inside the body pass through (see the module docs).
///
/// # Safety
/// `L` must be the state of the running `lua_CFunction`.
#[inline(always)]
pub unsafe fn guard(L: *mut lua_State, body: impl FnOnce() -> LResult<c_int>) -> c_int {
    let bomb = AbortOnPanic;
    let r = body();
    std::mem::forget(bomb);
    match r {
        Ok(n) => n,
        // SAFETY: called from the C function's own frame, nothing of the body alive.
        Err(msg) => unsafe { raise(L, msg) },
    }
}

thread_local! {
    /// The message of a callback error an ffi call is about to raise (its buffer's address
    /// and length, set by `reentry::Bracket::finish`), until `raise` raises it.
    static MARKED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Where a state keeps the last callback error an ffi call raised (in its registry).
const RAISED_KEY: &std::ffi::CStr = c"lune_ffi.raised_callback_error";

/// Marks `msg` as the callback error an ffi call is about to raise, so that callbacks it
/// travels up through recognise the very value (see [`is_raised_callback_error`]).
pub fn mark_callback_error(msg: &str) {
    MARKED.with(|m| m.set((msg.as_ptr() as usize, msg.len())));
}

/// Whether the value at `idx` is the value the state's last marked callback error was
/// raised as (`lua_rawequal` with the one kept in the registry).
///
/// # Safety
/// `L` must be a live Luau state with `idx` on its stack and room for one more value.
pub unsafe fn is_raised_callback_error(L: *mut lua_State, idx: c_int) -> bool {
    // SAFETY: the caller's contract; one registry read, popped again.
    unsafe {
        if ffi::lua_type(L, idx) != ffi::LUA_TSTRING {
            return false;
        }
        let idx = ffi::lua_absindex(L, idx);
        ffi::lua_rawgetfield(L, ffi::LUA_REGISTRYINDEX, RAISED_KEY.as_ptr());
        let same = ffi::lua_rawequal(L, idx, -1) != 0;
        ffi::lua_pop(L, 1);
        same
    }
}

/// Raises `msg` as a Luau error. Nothing with a destructor may be alive in the calling
/// frames between here and the C function boundary: `msg` is dropped before the raise.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[cold]
pub unsafe fn raise(L: *mut lua_State, msg: String) -> ! {
    // SAFETY: `L` is a live state (the caller's contract); the message is its one push.
    unsafe { push_str(L, &msg) };
    // Every raise consumes the mark: it is set just before its own raise, so a mark
    // left by an error that went another way cannot match a later message.
    if MARKED.with(|m| m.replace((0, 0))) == (msg.as_ptr() as usize, msg.len()) {
        // Kept in the registry until the next one replaces it; an allocation failure
        // here raises Luau's memory error instead, as pushing could.
        // SAFETY: the message is at -1; its copy is pushed and popped into the registry.
        unsafe {
            ffi::lua_pushvalue(L, -1);
            ffi::lua_rawsetfield(L, ffi::LUA_REGISTRYINDEX, RAISED_KEY.as_ptr());
        }
    }
    drop(msg);
    // SAFETY: the error object is on the stack; Luau unwinds to the nearest protected call.
    unsafe { ffi::lua_error(L) }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_str(L: *mut lua_State, s: &str) {
    // SAFETY: `L` is a live state (the caller's contract); Luau copies the `s.len()` bytes.
    unsafe {
        ffi::lua_pushlstring_(L, s.as_ptr() as *const _, s.len());
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_bytes(L: *mut lua_State, s: &[u8]) {
    // SAFETY: `L` is a live state (the caller's contract); Luau copies the `s.len()` bytes.
    unsafe {
        ffi::lua_pushlstring_(L, s.as_ptr() as *const _, s.len());
    }
}

/// The bytes of the string at `idx`, or None if the value is not a string (numbers are
/// not converted: `lua_tolstring` would rewrite the stack slot). The caller picks the
/// lifetime and must not keep the slice past the value's life on the stack; code that can
/// use [`crate::luau::vm::frame::Frame::str`], whose borrow the compiler bounds, does.
/// Outside `vm/` only `check_name`, `check_c_string` and lib:call's quick path
/// (`SigCache::quick`, `quick_call`: one type check a name) call this, each documenting
/// how long it keeps the slice.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn get_str<'a>(L: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    if unsafe { ffi::lua_type(L, idx) } != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0usize;
    // SAFETY: the value at `idx` is a string, so `lua_tolstring` does not rewrite the slot.
    let p = unsafe { ffi::lua_tolstring(L, idx, &mut len) };
    // SAFETY: Luau keeps the string's `len` bytes alive while it is on the stack; callers
    // do not keep the slice past the value's life on the stack.
    Some(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// A short description of the value at `idx` for error messages.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn describe(L: *mut lua_State, idx: c_int) -> String {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    let t = unsafe { ffi::lua_type(L, idx) };
    match t {
        ffi::LUA_TNONE => "no value".into(),
        ffi::LUA_TNUMBER => {
            // SAFETY: a number at `idx` (its type read above).
            let n = unsafe { ffi::lua_tonumberx(L, idx, ptr::null_mut()) };
            format!("number {}", fmt_num(n))
        }
        ffi::LUA_TINTEGER => {
            // SAFETY: an integer at `idx` (its type read above).
            let n = unsafe { ffi::lua_tointeger64(L, idx, ptr::null_mut()) };
            format!("integer {}", n)
        }
        ffi::LUA_TSTRING => {
            // SAFETY: `idx` is on the stack; the slice is used before anything is popped.
            let s = unsafe { get_str(L, idx) }.unwrap_or_default();
            let shown = String::from_utf8_lossy(&s[..s.len().min(40)]).into_owned();
            format!("string \"{}\"", shown)
        }
        // The kind's name is its metatable's `__type` (set for every kind in `kinds`).
        ffi::LUA_TUSERDATA => {
            let mut name = "userdata".to_string();
            // SAFETY: a userdata at `idx`; the metatable and its `__type` are the two
            // values pushed and popped again, and the name is copied before the pop.
            unsafe {
                if ffi::lua_getmetatable(L, idx) != 0 {
                    ffi::lua_rawgetfield(L, -1, c"__type".as_ptr());
                    if let Some(s) = get_str(L, -1) {
                        name = String::from_utf8_lossy(s).into_owned();
                    }
                    ffi::lua_pop(L, 2);
                }
            }
            name
        }
        _ => {
            // SAFETY: `lua_typename` returns a static NUL-terminated name for any type tag.
            let name = unsafe { std::ffi::CStr::from_ptr(ffi::lua_typename(L, t)) };
            name.to_string_lossy().into_owned()
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

/// Allocates a tagged userdata holding `value`, with the kind's metatable.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_ud<T: Ud>(L: *mut lua_State, value: T) -> *const T {
    debug_assert!(std::mem::align_of::<T>() <= 8);
    // SAFETY: `L` is a live state (the caller's contract) and the userdata its one push.
    let p = unsafe {
        ffi::lua_newuserdatataggedwithmetatable(L, std::mem::size_of::<T>(), T::TAG) as *mut T
    };
    // SAFETY: Luau returned a fresh block of size_of::<T>() bytes, 8-aligned; the tag's
    // destructor (`drop_ud::<T>`) drops it exactly once when collected.
    unsafe { ptr::write(p, value) };
    p
}

/// The `T` inside the userdata at `idx`, if it is one. Shared access only: a re-entrant
/// call (a callback calling back into the same object) may hold another reference, so
/// state that changes lives in `Cell`/`RefCell`.
///
/// # Safety
/// The caller must not keep the reference past the value's life on the stack.
#[inline]
pub unsafe fn get_ud<'a, T: Ud>(L: *mut lua_State, idx: c_int) -> Option<&'a T> {
    // SAFETY: only `push_ud::<T>` creates userdata with this tag, so the block holds a
    // live T while the value is on the stack.
    unsafe { (ffi::lua_touserdatatagged(L, idx, T::TAG) as *const T).as_ref() }
}

/// Destructor registered per tag.
///
/// # Safety
/// Only the collector calls it, once, for a block that `push_ud::<T>` initialised.
pub unsafe extern "C" fn drop_ud<T>(_L: *mut lua_State, p: *mut c_void) {
    // SAFETY: `p` holds the live `T` that `push_ud::<T>` wrote, dropped only here. Drop
    // impls of the module's types do not panic and do not call into Luau (registry
    // releases are queued for later).
    unsafe { ptr::drop_in_place(p as *mut T) };
}

/// Pushes a C function with a debug name.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn push_fn(L: *mut lua_State, f: ffi::lua_CFunction, name: &'static std::ffi::CStr) {
    // SAFETY: `L` is a live state (the caller's contract); `name` is static, as Luau keeps it.
    unsafe {
        ffi::lua_pushcclosurek(L, f, name.as_ptr(), 0, None);
    }
}

/// Sets `t[name] = value on top` for the table at `t` (absolute index), popping the value.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn set_field(L: *mut lua_State, t: c_int, name: &'static std::ffi::CStr) {
    // SAFETY: the caller put a table at `t` and the value on top of the live `L`.
    unsafe {
        ffi::lua_rawsetfield(L, t, name.as_ptr());
    }
}

/// Integer index argument: a number that is integral, or a Luau integer.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn get_index(L: *mut lua_State, idx: c_int) -> Option<i64> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    match unsafe { ffi::lua_type(L, idx) } {
        ffi::LUA_TNUMBER => {
            // SAFETY: a number at `idx` (its type read above).
            let n = unsafe { ffi::lua_tonumberx(L, idx, ptr::null_mut()) };
            if n.fract() == 0.0
                && (-9.007_199_254_740_992e15..=9.007_199_254_740_992e15).contains(&n)
            {
                Some(n as i64)
            } else {
                None
            }
        }
        // SAFETY: an integer at `idx` (its type read above).
        ffi::LUA_TINTEGER => Some(unsafe { ffi::lua_tointeger64(L, idx, ptr::null_mut()) }),
        _ => None,
    }
}

/// A size or count argument: a non-negative integral number below `limit`.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn get_size(
    L: *mut lua_State,
    idx: c_int,
    argn: c_int,
    func: &str,
    what: &str,
    limit: usize,
) -> LResult<usize> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    let n = unsafe { get_index(L, idx) }.ok_or_else(|| {
        // An integral number too large for an index is out of range, not a non-integer.
        // SAFETY: `idx` is still on the stack (nothing was pushed or popped); the number
        // is read only after its type is checked.
        let huge = unsafe {
            ffi::lua_type(L, idx) == ffi::LUA_TNUMBER && {
                let n = ffi::lua_tonumberx(L, idx, ptr::null_mut());
                n.is_finite() && n.fract() == 0.0
            }
        };
        let expected = if huge {
            format!("an integer from 0 to {}", limit)
        } else {
            "a non-negative integer".to_string()
        };
        // SAFETY: `idx` is still on the stack; `describe` pops what it pushes.
        let got = unsafe { describe(L, idx) };
        format!(
            "{}: argument #{} ({}): expected {}, got {}",
            func, argn, what, expected, got
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
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn get_positive_size(
    L: *mut lua_State,
    idx: c_int,
    argn: c_int,
    func: &str,
    what: &str,
    limit: usize,
) -> LResult<usize> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    let n = unsafe { get_size(L, idx, argn, func, what, limit) }?;
    if n == 0 {
        return Err(format!(
            "{}: argument #{} ({}): expected a positive integer, got 0",
            func, argn, what
        ));
    }
    Ok(n)
}
