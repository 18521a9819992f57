//! Callbacks: C calls Luau through executable-page thunks.

use std::cell::RefCell;
use std::ffi::c_int;

use mlua::ffi::lua_State;

use super::raw::*;
use crate::memory::Ptr;

thread_local! {
    static PENDING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The error a callback raised during the ffi call that just returned, if any.
pub fn take_pending_error() -> Option<String> {
    PENDING.with(|p| p.borrow_mut().take())
}

pub unsafe fn callback_ptr(_L: *mut lua_State, _idx: c_int) -> Option<Ptr> {
    None
}

pub unsafe fn register_dtors(_L: *mut lua_State) {}

pub unsafe fn register_metatables(_L: *mut lua_State) {}

pub unsafe extern "C-unwind" fn ffi_callback(L: *mut lua_State) -> c_int {
    guard(L, || Err("ffi.callback: not implemented yet".into()))
}
