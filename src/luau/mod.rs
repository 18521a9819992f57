//! The Luau-facing module: the `ffi` table, the userdata kinds and their metatables.
//! Nothing here knows which ABI the engine runs on.

// `L` for the Lua state and `F` for the function name follow the Lua C API convention.
#![allow(non_snake_case)]
pub mod access;
pub mod callback;
pub mod calls;
pub mod memory_fns;
pub mod objects;
pub mod pointers;
pub mod raw;
pub mod value;

use std::ffi::{c_int, CStr};

use mlua::ffi::{self, lua_State};

use memory_fns::*;
use objects::*;
use pointers::*;
use raw::*;

/// Builds the `ffi` table and leaves it on top of the stack. Metatables are registered
/// once per Lua state, per tag.
///
/// # Safety
/// `L` must be a valid Luau state, called in protected mode.
pub unsafe fn open(L: *mut lua_State) {
    ffi::lua_getuserdatametatable(L, TAG_RAWPTR);
    let registered = ffi::lua_type(L, -1) == ffi::LUA_TTABLE;
    ffi::lua_pop(L, 1);
    if !registered {
        register_types(L);
    }
    build_table(L);
}

pub(crate) type Entry = (&'static CStr, ffi::lua_CFunction);

/// Sets `__index` of the metatable on top to a table of methods.
pub(crate) unsafe fn set_methods(L: *mut lua_State, methods: &[Entry]) {
    ffi::lua_createtable(L, 0, methods.len() as c_int);
    for (name, f) in methods {
        push_fn(L, *f, name);
        ffi::lua_rawsetfield(L, -2, name.as_ptr());
    }
    ffi::lua_rawsetfield(L, -2, c"__index".as_ptr());
}

pub(crate) unsafe fn new_metatable(L: *mut lua_State, type_name: &'static CStr, entries: &[Entry]) {
    ffi::lua_createtable(L, 0, entries.len() as c_int + 2);
    for (name, f) in entries {
        push_fn(L, *f, name);
        ffi::lua_rawsetfield(L, -2, name.as_ptr());
    }
    ffi::lua_pushstring_(L, type_name.as_ptr());
    ffi::lua_rawsetfield(L, -2, c"__type".as_ptr());
    // Scripts may not replace our metamethods.
    ffi::lua_pushboolean(L, 0);
    ffi::lua_rawsetfield(L, -2, c"__metatable".as_ptr());
}

/// Copies the shared comparison closures (at `shared_idx..shared_idx+3`) into the table
/// on top. Luau calls `__eq` only when both operands have the same metamethod, so every
/// pointer kind must hold the very same closure objects.
unsafe fn add_comparisons(L: *mut lua_State, first: c_int) {
    for (i, name) in [c"__eq", c"__lt", c"__le"].iter().enumerate() {
        ffi::lua_pushvalue(L, first + i as c_int);
        ffi::lua_rawsetfield(L, -2, name.as_ptr());
    }
}

unsafe fn set_dtor<T>(L: *mut lua_State, tag: c_int) {
    ffi::lua_setuserdatadtor(L, tag, Some(drop_ud::<T>));
}

unsafe fn register_types(L: *mut lua_State) {
    set_dtor::<RawPtrUd>(L, TAG_RAWPTR);
    set_dtor::<TypedPtrUd>(L, TAG_TYPEDPTR);
    set_dtor::<ViewUd>(L, TAG_VIEW);
    set_dtor::<ArenaUd>(L, TAG_ARENA);
    set_dtor::<StructTypeUd>(L, TAG_STRUCTTYPE);
    set_dtor::<Shared>(L, TAG_SHARED);
    calls::register_dtors(L);
    callback::register_dtors(L);

    let cmp = ffi::lua_gettop(L) + 1;
    push_fn(L, ptr_eq, c"__eq");
    push_fn(L, ptr_lt, c"__lt");
    push_fn(L, ptr_le, c"__le");

    new_metatable(
        L,
        c"RawPointer",
        &[
            (c"__index", raw_index),
            (c"__newindex", raw_newindex),
            (c"__add", ptr_add),
            (c"__sub", ptr_sub),
            (c"__tostring", ptr_tostring),
        ],
    );
    add_comparisons(L, cmp);
    ffi::lua_setuserdatametatable(L, TAG_RAWPTR);

    new_metatable(
        L,
        c"TypedPointer",
        &[
            (c"__index", typed_index),
            (c"__newindex", typed_newindex),
            (c"__len", typed_len),
            (c"__add", ptr_add),
            (c"__sub", ptr_sub),
            (c"__tostring", ptr_tostring),
        ],
    );
    add_comparisons(L, cmp);
    ffi::lua_setuserdatametatable(L, TAG_TYPEDPTR);

    new_metatable(
        L,
        c"StructView",
        &[
            (c"__index", view_index),
            (c"__newindex", view_newindex),
            (c"__tostring", ptr_tostring),
        ],
    );
    add_comparisons(L, cmp);
    ffi::lua_setuserdatametatable(L, TAG_VIEW);

    new_metatable(
        L,
        c"StructType",
        &[
            (c"__index", struct_type_index),
            (c"__tostring", struct_type_tostring),
        ],
    );
    ffi::lua_setuserdatametatable(L, TAG_STRUCTTYPE);

    new_metatable(L, c"Arena", &[]);
    set_methods(
        L,
        &[
            (c"alloc", arena_alloc),
            (c"allocArray", arena_alloc_array),
            (c"new", arena_new),
            (c"string", arena_string),
            (c"free", arena_free),
        ],
    );
    ffi::lua_setuserdatametatable(L, TAG_ARENA);

    new_metatable(L, c"lune-ffi state", &[]);
    ffi::lua_setuserdatametatable(L, TAG_SHARED);

    calls::register_metatables(L);
    callback::register_metatables(L);

    ffi::lua_settop(L, cmp - 1);
    init_shared(L);
}

unsafe fn build_table(L: *mut lua_State) {
    let fns: &[Entry] = &[
        (c"arena", ffi_arena),
        (c"struct", ffi_struct),
        (c"view", ffi_view),
        (c"cast", ffi_cast),
        (c"sizeof", ffi_sizeof),
        (c"alignof", ffi_alignof),
        (c"fill", ffi_fill),
        (c"copy", ffi_copy),
        (c"string", ffi_string),
        (c"read", ffi_read),
        (c"write", ffi_write),
        (c"ptr", ffi_ptr),
        (c"buffer", ffi_buffer_legacy),
        (c"load", calls::ffi_load),
        (c"open", calls::ffi_open_legacy),
        (c"fn", calls::ffi_fn),
        (c"errno", calls::ffi_errno),
        (c"lastError", calls::ffi_last_error),
        (c"callback", callback::ffi_callback),
    ];
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
    ffi::lua_setreadonly(L, t, 1);
}
