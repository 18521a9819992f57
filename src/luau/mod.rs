//! The Luau-facing module: the `ffi` table, the userdata kinds and their metatables.
//! Nothing here knows which ABI the engine runs on.
//!
//! By concern: `vm/` (the C API, stack slots, userdata tags, per-state data, calls in
//! progress), `values/` (Luau values <-> C values, type names), `memory/` (pointers,
//! views, arenas, struct types and the `ffi.*` memory functions), `call/` (signatures,
//! the call path, libraries, bound and async calls), `callback/` (C calling Luau), and
//! `cdef/` (declarations and headers). `kinds` registers every metatable.
//!
//! Layers, each using only those listed before it (tests/layering.rs checks the imports):
//! `vm::tags`, `vm::raw`, `vm::anchor`, `vm::slots`, `vm::slots_probe`, `vm::reentry`,
//! `vm::finalizers`, `values::ctypes`, `vm::state`, `vm::frame`, `values::convert`, `values::typed`,
//! `call::desc`, `callback::kind`, `memory::objects`, `memory::types`, `memory::access`,
//! `memory::operators`, `memory::pointers`, `memory::type_objects`, `memory::records`,
//! `memory::arena`, `memory::functions`,
//! `call::signature`, `call::invoke`, `call::printf`,
//! `callback::dispatch`, `callback`,
//! `call::bound`, `call::library`, `call::asynccall`, `memory::gc`,
//! `cdef::declared`, `cdef::include`,
//! `kinds`.

// `L` for the Lua state and `F` for the function name follow the Lua C API convention.
#![allow(non_snake_case)]
#![deny(unsafe_op_in_unsafe_fn)]
pub mod call;
pub mod callback;
pub mod cdef;
pub mod kinds;
pub mod memory;
pub mod values;
pub mod vm;

use std::ffi::c_int;

use crate::luau::memory::arena::ffi_arena;
use crate::luau::memory::functions::{
    ffi_alignof, ffi_buffer_legacy, ffi_cast, ffi_copy, ffi_fill, ffi_new, ffi_ptr, ffi_read,
    ffi_sizeof, ffi_string, ffi_view, ffi_write, push_types_table,
};
use crate::luau::memory::objects::{push_rawptr, RawPtrUd};
use crate::luau::memory::type_objects::ffi_typeof;
use crate::luau::vm::raw::{push_fn, Entry};
use crate::luau::vm::tags::Ud;
use mlua::ffi::{self, lua_State};

/// Builds the `ffi` table and leaves it on top of the stack. Metatables are registered
/// once per Lua state.
///
/// # Safety
/// `L` must be a valid Luau state, called in protected mode.
pub unsafe fn open(L: *mut lua_State) {
    // SAFETY: `L` is a valid state in protected mode (the caller's contract), where the
    // allocations of registering and building the table may raise.
    unsafe {
        ffi::lua_getuserdatametatable(L, RawPtrUd::TAG);
        let registered = ffi::lua_type(L, -1) == ffi::LUA_TTABLE;
        ffi::lua_pop(L, 1);
        if !registered {
            kinds::register(L);
        }
        build_table(L);
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// Replaces the value at index 1 with its `tostring` text if it is a lune-ffi object, else
/// with nil (see `crate::display_value`).
///
/// # Safety
/// `L` must be a valid Luau state with a value at index 1, in protected mode.
pub unsafe fn display(L: *mut lua_State) {
    // SAFETY: `L` holds a value at index 1 (the caller's contract); `luaL_tolstring` runs
    // our own `__tostring`, which may raise only inside the protected call mlua runs this in.
    unsafe {
        let ours = ffi::lua_type(L, 1) == ffi::LUA_TUSERDATA
            && vm::tags::Tag::of(ffi::lua_userdatatag(L, 1)).is_some();
        if ours {
            ffi::luaL_tolstring_(L, 1, std::ptr::null_mut());
        } else {
            ffi::lua_pushnil(L);
        }
        ffi::lua_replace(L, 1);
        ffi::lua_settop(L, 1);
    }
}

/// Pushes the address of the state's VM lock as a light userdata, or nil when the module
/// was never opened in this state.
///
/// # Safety
/// `L` must be a valid Luau state, in protected mode.
pub unsafe fn vm_lock_of(L: *mut lua_State) {
    // SAFETY: `L` is a valid state (the caller's contract); a registry read and one push.
    unsafe {
        match vm::state::try_shared(L) {
            Some(sh) => {
                ffi::lua_pushlightuserdata(L, sh.vm_lock as *const _ as *mut std::ffi::c_void)
            }
            None => ffi::lua_pushnil(L),
        }
    }
}

/// # Safety
/// As `open`.
unsafe fn build_table(L: *mut lua_State) {
    let fns: &[Entry] = &[
        (c"arena", ffi_arena),
        (c"struct", memory::records::ffi_struct),
        (c"union", memory::records::ffi_union),
        (c"new", ffi_new),
        (c"view", ffi_view),
        (c"cast", ffi_cast),
        (c"typed", values::typed::ffi_typed),
        (c"sizeof", ffi_sizeof),
        (c"typeof", ffi_typeof),
        (c"alignof", ffi_alignof),
        (c"fill", ffi_fill),
        (c"copy", ffi_copy),
        (c"string", ffi_string),
        (c"read", ffi_read),
        (c"write", ffi_write),
        (c"ptr", ffi_ptr),
        (c"buffer", ffi_buffer_legacy),
        (c"load", call::library::ffi_load),
        (c"open", call::library::ffi_open_legacy),
        (c"fn", call::bound::ffi_fn),
        (c"errno", call::invoke::ffi_errno),
        (c"lastError", call::invoke::ffi_last_error),
        (c"callback", callback::ffi_callback),
        (c"cdef", cdef::declared::ffi_cdef),
        (c"gc", memory::gc::ffi_gc),
        (c"include", cdef::include::ffi_include),
    ];
    // SAFETY: `L` is a valid state in protected mode (as `open`); each value pushed is
    // stored into the new table at `t` before the next.
    unsafe {
        ffi::lua_createtable(L, 0, fns.len() as c_int + 4);
        let t = ffi::lua_gettop(L);
        for (name, f) in fns {
            push_fn(L, *f, name);
            ffi::lua_rawsetfield(L, t, name.as_ptr());
        }
        push_types_table(L);
        ffi::lua_rawsetfield(L, t, c"types".as_ptr());
        push_rawptr(L, crate::memory::Ptr::foreign(0));
        ffi::lua_rawsetfield(L, t, c"null".as_ptr());
        // ffi.C: the default library, what `ffi.load()` opens (absent only where the
        // process cannot be opened as a library).
        if call::library::push_process_library(L).is_ok() {
            ffi::lua_rawsetfield(L, t, c"C".as_ptr());
        }
        ffi::lua_setreadonly(L, t, 1);
    }
}
