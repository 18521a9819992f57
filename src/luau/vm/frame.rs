//! A safe handle on the Luau state for the duration of one C function call.
//!
//! `guarded` hands the body a `Frame`: every stack index it is given is checked (a
//! positive index past the top reads as none, a negative one must be on the stack, the
//! registry and upvalue pseudo-indices are allowed), every push makes room first, and a
//! borrowed string or userdata lives only as long as the shared borrow of the frame it
//! came from: popping or replacing values needs `&mut Frame`, so the borrow checker keeps
//! a borrowed string from outliving its stack slot. Code written against `Frame` (reading
//! signatures, type arguments, format strings) is safe Rust; `unsafe` stays here.
//!
//! A push may raise (out of memory): a Luau error then unwinds through the body's frames,
//! which are `extern "C-unwind"`-reachable Rust frames whose destructors run (see `raw`).

use std::ffi::c_int;
use std::marker::PhantomData;

use mlua::ffi::{self, lua_State};

use crate::luau::vm::raw::{describe, get_str, get_ud, guard, push_str, push_ud, LResult};
use crate::luau::vm::state::{shared, Shared};
use crate::luau::vm::tags::Ud;

/// The running C function's view of its Luau state (see the module docs).
pub struct Frame<'a> {
    L: *mut lua_State,
    /// The handle stands for exclusive use of the state's stack during the call.
    _call: PhantomData<&'a mut lua_State>,
}

impl<'a> Frame<'a> {
    /// # Safety
    /// `L` must be the state of the running `lua_CFunction`, in which the module is open,
    /// and stay so for `'a`; nothing else may push or pop meanwhile except through this
    /// handle (or the raw state it hands out, under that code's own `unsafe`).
    pub unsafe fn new(L: *mut lua_State) -> Frame<'a> {
        Frame {
            L,
            _call: PhantomData,
        }
    }

    /// The number of values on the stack.
    pub fn top(&self) -> c_int {
        // SAFETY: a read of the live state's stack top.
        unsafe { ffi::lua_gettop(self.L) }
    }

    /// Whether `idx` may be given to the C API: any positive index (past the top it reads
    /// as none), a negative one that is on the stack, or a pseudo-index.
    #[inline]
    fn valid(&self, idx: c_int) -> bool {
        idx > 0 || (idx < 0 && -idx <= self.top()) || idx <= ffi::LUA_REGISTRYINDEX
    }

    /// The Luau type of the value at `idx` (`LUA_TNONE` for an index with no value).
    #[inline]
    pub fn type_of(&self, idx: c_int) -> c_int {
        if !self.valid(idx) {
            return ffi::LUA_TNONE;
        }
        // SAFETY: a checked index of the live state.
        unsafe { ffi::lua_type(self.L, idx) }
    }

    /// The number at `idx` if it is a (float) number: no conversion of other values.
    #[inline]
    pub fn number(&self, idx: c_int) -> Option<f64> {
        (self.type_of(idx) == ffi::LUA_TNUMBER)
            // SAFETY: a number at a checked index.
            .then(|| unsafe { ffi::lua_tonumberx(self.L, idx, std::ptr::null_mut()) })
    }

    /// The Luau integer at `idx`, if it is one.
    #[inline]
    pub fn integer(&self, idx: c_int) -> Option<i64> {
        (self.type_of(idx) == ffi::LUA_TINTEGER)
            // SAFETY: an integer at a checked index.
            .then(|| unsafe { ffi::lua_tointeger64(self.L, idx, std::ptr::null_mut()) })
    }

    /// The boolean at `idx`, if it is one.
    #[inline]
    pub fn boolean(&self, idx: c_int) -> Option<bool> {
        (self.type_of(idx) == ffi::LUA_TBOOLEAN)
            // SAFETY: a boolean at a checked index.
            .then(|| unsafe { ffi::lua_toboolean(self.L, idx) != 0 })
    }

    /// The bytes of the string at `idx` (numbers are not converted), borrowed for as long
    /// as the frame is not changed.
    pub fn str(&self, idx: c_int) -> Option<&[u8]> {
        // `get_str` checks the type itself: one `lua_type` a string (this is on the
        // lib:call path, once per type name).
        if !self.valid(idx) {
            return None;
        }
        // SAFETY: a checked index; the slice lives while `&self` is borrowed, and no pop
        // or replace can happen meanwhile (they take `&mut self`).
        unsafe { get_str(self.L, idx) }
    }

    /// The `T` inside the userdata at `idx`, if it is one, borrowed as [`Frame::str`].
    pub fn ud<T: Ud>(&self, idx: c_int) -> Option<&T> {
        // `lua_touserdatatagged` is NULL for any other value: no type check first.
        if !self.valid(idx) {
            return None;
        }
        // SAFETY: a checked index; only `push_ud::<T>` makes userdata with T's tag, and
        // the value stays on the stack while `&self` is borrowed.
        unsafe { get_ud::<T>(self.L, idx) }
    }

    /// The length of the table, string or buffer at `idx` (0 for other values).
    pub fn len(&self, idx: c_int) -> usize {
        if !matches!(
            self.type_of(idx),
            ffi::LUA_TTABLE | ffi::LUA_TSTRING | ffi::LUA_TBUFFER
        ) {
            return 0;
        }
        // SAFETY: a checked index holding a value with a length.
        unsafe { ffi::lua_objlen(self.L, idx) }
    }

    /// A short description of the value at `idx` for error messages.
    pub fn describe(&self, idx: c_int) -> String {
        if !self.valid(idx) {
            return "no value".into();
        }
        // SAFETY: a checked index; `describe` pops what it pushes.
        unsafe { describe(self.L, idx) }
    }

    /// The module's per-state data.
    pub fn shared(&self) -> &Shared {
        // SAFETY: a frame exists only in a state where the module is open.
        unsafe { shared(self.L) }
    }

    /// Pushes `t[i]` of the table at `idx` without metamethods; returns its type.
    pub fn push_index(&mut self, idx: c_int, i: c_int) -> c_int {
        // SAFETY: room for the value is made first; a non-table reads as nil.
        unsafe {
            ffi::luaL_checkstack(self.L, 1, std::ptr::null());
            if self.type_of(idx) != ffi::LUA_TTABLE {
                ffi::lua_pushnil(self.L);
                return ffi::LUA_TNIL;
            }
            ffi::lua_rawgeti_(self.L, idx, i)
        }
    }

    /// The raw state, for a higher layer's own `unsafe` code (which then keeps the rules
    /// this handle checks: valid indices, room before pushing).
    pub fn state(&self) -> *mut lua_State {
        self.L
    }

    /// Makes room for `n` more values (raises Luau's error if the stack cannot grow).
    pub fn reserve(&mut self, n: c_int) {
        // SAFETY: the live state; `luaL_checkstack` raises rather than overflow.
        unsafe { ffi::luaL_checkstack(self.L, n, std::ptr::null()) }
    }

    /// Pushes a number.
    pub fn push_number(&mut self, n: f64) {
        self.reserve(1);
        // SAFETY: room was made.
        unsafe { ffi::lua_pushnumber(self.L, n) }
    }

    /// Pushes a string (may raise: allocation).
    pub fn push_str(&mut self, s: &str) {
        self.reserve(1);
        // SAFETY: room was made.
        unsafe { push_str(self.L, s) }
    }

    /// Pushes a new userdata of kind `T` (may raise: allocation).
    pub fn push_ud<T: Ud>(&mut self, value: T) {
        self.reserve(1);
        // SAFETY: room was made; `push_ud` is the one maker of `T`'s tag.
        unsafe {
            push_ud(self.L, value);
        }
    }

    /// Moves the top value into `idx` (a positive index on the stack).
    pub fn replace(&mut self, idx: c_int) {
        let top = self.top();
        assert!(idx > 0 && idx < top, "Frame::replace: index {idx} of {top}");
        // SAFETY: `idx` is below the top, which holds the value moved.
        unsafe { ffi::lua_replace(self.L, idx) }
    }

    /// Pops `n` values, at most those on the stack.
    pub fn pop(&mut self, n: c_int) {
        let n = n.clamp(0, self.top());
        // SAFETY: no more than the stack holds.
        unsafe { ffi::lua_settop(self.L, -n - 1) }
    }
}

/// [`guard`] with a [`Frame`] for the body.
///
/// # Safety
/// As `guard`: `L` must be the state of the running `lua_CFunction`, with the module
/// open in it.
#[inline(always)]
pub unsafe fn guarded(L: *mut lua_State, body: impl FnOnce(&mut Frame) -> LResult<c_int>) -> c_int {
    // SAFETY: the caller's contract; the frame lives only inside the body.
    unsafe {
        guard(L, || {
            let mut frame = Frame::new(L);
            body(&mut frame)
        })
    }
}
