//! The one table of userdata kinds: for each, its tag and name (from [`Ud`]), its
//! destructor, and its metatable. Registered once per Lua state.

use std::ffi::{c_int, CStr};

use mlua::ffi::{self, lua_State};

use crate::luau::call::bound::BoundUd;
use crate::luau::call::library::{self, LibraryUd};
use crate::luau::callback::dispatch::{invoker, traceback};
use crate::luau::callback::kind::CallbackUd;
use crate::luau::memory::arena::{
    arena_alloc, arena_alloc_array, arena_free, arena_new, arena_string,
};
use crate::luau::memory::objects::{ArenaUd, RawPtrUd, StructTypeUd, TypedPtrUd, ViewUd};
use crate::luau::memory::operators::{ptr_add, ptr_eq, ptr_le, ptr_lt, ptr_sub, ptr_tostring};
use crate::luau::memory::pointers::{
    raw_index, raw_newindex, typed_index, typed_len, typed_newindex, view_index, view_newindex,
};
use crate::luau::memory::type_objects::{struct_type_index, struct_type_tostring};
use crate::luau::vm::raw::{drop_ud, push_fn, Entry};
use crate::luau::vm::slots_probe::check_layout;
use crate::luau::vm::state::{init_shared, Shared};
use crate::luau::vm::tags::Ud;

struct Kind {
    tag: c_int,
    name: &'static CStr,
    dtor: unsafe extern "C" fn(*mut lua_State, *mut std::ffi::c_void),
    /// Metamethods.
    meta: &'static [Entry],
    /// Methods, reached through `__index` (for kinds whose `__index` is not a metamethod).
    methods: &'static [Entry],
    /// Pointer kinds share `__eq`/`__lt`/`__le`, so they compare with each other.
    compare: bool,
    /// `__index` for keys that are not methods: a C closure whose upvalue is the methods
    /// table (a Library's declared functions and constants).
    fallback: Option<ffi::lua_CFunction>,
}

/// Library methods: `lib:call` and its fixed-return variants, `lib:func`, `lib:async`,
/// `lib:symbol`. Other keys are declarations (`declared::lib_index`).
const LIBRARY_METHODS: &[Entry] = &[
    (c"call", library::LIB_CALL),
    (c"callInt", library::LIB_CALL_INT),
    (c"callDouble", library::LIB_CALL_DOUBLE),
    (c"callVoid", library::LIB_CALL_VOID),
    (c"callString", library::LIB_CALL_STRING),
    (c"func", crate::luau::call::library::lib_func),
    (c"async", crate::luau::call::asynccall::lib_async),
    (c"symbol", library::lib_symbol),
];

fn kind<T: Ud>(meta: &'static [Entry], methods: &'static [Entry], compare: bool) -> Kind {
    Kind {
        tag: T::TAG,
        name: T::NAME,
        dtor: drop_ud::<T>,
        meta,
        methods,
        compare,
        fallback: None,
    }
}

fn kinds() -> [Kind; 11] {
    [
        kind::<RawPtrUd>(
            &[
                (c"__index", raw_index),
                (c"__newindex", raw_newindex),
                (c"__add", ptr_add),
                (c"__sub", ptr_sub),
                (c"__tostring", ptr_tostring),
            ],
            &[],
            true,
        ),
        kind::<TypedPtrUd>(
            &[
                (c"__index", typed_index),
                (c"__newindex", typed_newindex),
                (c"__len", typed_len),
                (c"__add", ptr_add),
                (c"__sub", ptr_sub),
                (c"__tostring", ptr_tostring),
            ],
            &[],
            true,
        ),
        kind::<ViewUd>(
            &[
                (c"__index", view_index),
                (c"__newindex", view_newindex),
                (c"__tostring", ptr_tostring),
            ],
            &[],
            true,
        ),
        kind::<StructTypeUd>(
            &[
                (c"__index", struct_type_index),
                (c"__tostring", struct_type_tostring),
            ],
            &[],
            false,
        ),
        kind::<ArenaUd>(
            &[],
            &[
                (c"alloc", arena_alloc),
                (c"allocArray", arena_alloc_array),
                (c"new", arena_new),
                (c"string", arena_string),
                (c"free", arena_free),
            ],
            false,
        ),
        kind::<CallbackUd>(crate::luau::callback::METHODS, &[], false),
        Kind {
            fallback: Some(crate::luau::cdef::declared::lib_index),
            ..kind::<LibraryUd>(library::META, LIBRARY_METHODS, false)
        },
        kind::<BoundUd>(&[], &[], false),
        kind::<Shared>(&[], &[], false),
        kind::<crate::luau::cdef::declared::DeclaredVariadic>(&[], &[], false),
        kind::<crate::luau::values::convert::TypedValueUd>(
            &[
                (c"__index", crate::luau::values::typed::typed_index),
                (c"__tostring", crate::luau::values::typed::typed_tostring),
            ],
            &[],
            false,
        ),
    ]
}

/// Registers every kind's destructor and metatable, then the per-state data.
///
/// # Safety
/// `L` must be a valid Luau state, in protected mode.
pub unsafe fn register(L: *mut lua_State) {
    // SAFETY: `L` is a valid state in protected mode (the caller's contract), where the
    // allocations may raise; each kind's metatable is consumed before the next kind.
    unsafe {
        let cmp = ffi::lua_gettop(L) + 1;
        push_fn(L, ptr_eq, c"__eq");
        push_fn(L, ptr_lt, c"__lt");
        push_fn(L, ptr_le, c"__le");
        for k in kinds() {
            ffi::lua_setuserdatadtor(L, k.tag, Some(k.dtor));
            ffi::lua_createtable(L, 0, k.meta.len() as c_int + 5);
            for (name, f) in k.meta {
                push_fn(L, *f, name);
                ffi::lua_rawsetfield(L, -2, name.as_ptr());
            }
            if !k.methods.is_empty() {
                ffi::lua_createtable(L, 0, k.methods.len() as c_int);
                for (name, f) in k.methods {
                    push_fn(L, *f, name);
                    ffi::lua_rawsetfield(L, -2, name.as_ptr());
                }
                if let Some(f) = k.fallback {
                    ffi::lua_pushcclosurek(L, f, c"__index".as_ptr(), 1, None);
                }
                ffi::lua_rawsetfield(L, -2, c"__index".as_ptr());
            }
            if k.compare {
                // Luau calls `__eq` only when both operands have the same metamethod, so every
                // pointer kind must hold the very same closure objects.
                for (i, name) in [c"__eq", c"__lt", c"__le"].iter().enumerate() {
                    ffi::lua_pushvalue(L, cmp + i as c_int);
                    ffi::lua_rawsetfield(L, -2, name.as_ptr());
                }
            }
            ffi::lua_pushstring_(L, k.name.as_ptr());
            ffi::lua_rawsetfield(L, -2, c"__type".as_ptr());
            // Scripts may not replace our metamethods.
            ffi::lua_pushboolean(L, 0);
            ffi::lua_rawsetfield(L, -2, c"__metatable".as_ptr());
            ffi::lua_setuserdatametatable(L, k.tag);
        }
        ffi::lua_settop(L, cmp - 1);
        init_shared(L, traceback, invoker);
        check_layout(L);
    }
}
