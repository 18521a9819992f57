//! Arenas: `ffi.arena()` and the Arena methods (`alloc`, `allocArray`, `new`, `string`,
//! `free`).

use crate::luau::memory::access::{init_field_at, init_struct_at};
use crate::luau::memory::objects::{push_rawptr, push_typed_to, push_view, ArenaUd};
use crate::luau::memory::types::{check_elem_type, resolve_type};
use crate::luau::values::convert::Site;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{
    describe, get_positive_size, get_size, get_ud, guard, push_str, push_ud, LResult,
};
use crate::luau::vm::state::note_alloc;
use crate::memory::{ArenaInner, Owner, Ptr};
use crate::types::{CType, Field, MAX_OBJECT_SIZE};
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;
use std::rc::Rc;

/// `ffi.arena()`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_arena(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            // A safe point to release arenas freed while C was using them.
            if !crate::luau::vm::reentry::c_may_use_memory() {
                crate::memory::release_deferred();
            }
            push_ud(
                L,
                ArenaUd {
                    arena: Rc::new(ArenaInner::default()),
                },
            );
            Ok(1)
        })
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`). The caller must not keep the
/// reference past the value's life on the stack.
unsafe fn arena_self<'a>(L: *mut lua_State, func: &str) -> LResult<&'a ArenaUd> {
    // SAFETY: index 1 is on the stack of the live `L`, and the caller keeps the reference
    // no longer than the value stays there (the caller's contract).
    unsafe { get_ud::<ArenaUd>(L, 1) }.ok_or_else(|| {
        format!(
            "{}: expected an Arena as self (call it with ':'), got {}",
            func,
            // SAFETY: index 1 is on the stack; `describe` pops what it pushes.
            unsafe { describe(L, 1) }
        )
    })
}

/// `arena:alloc(size, align?)` → RawPointer to zeroed memory.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn arena_alloc(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "arena:alloc";
            let a = arena_self(L, F)?;
            let size = get_positive_size(L, 2, 1, F, "size", MAX_OBJECT_SIZE)?;
            let align = if ffi::lua_isnoneornil(L, 3) != 0 {
                16
            } else {
                let al = get_size(L, 3, 2, F, "align", 1 << 16)?;
                if !al.is_power_of_two() {
                    return Err(format!(
                        "{}: argument #2 (align): expected a power of two, got {}",
                        F, al
                    ));
                }
                al
            };
            let addr = a
                .arena
                .alloc(size, align)
                .map_err(|e| format!("{}: {}", F, e))?;
            push_rawptr(L, Ptr::bounded(addr, size, Owner::Arena(a.arena.clone())));
            note_alloc(L, size);
            Ok(1)
        })
    }
}

/// `arena:allocArray(type, count)` → TypedPointer.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn arena_alloc_array(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "arena:allocArray";
            let a = arena_self(L, F)?;
            let (ty, pointee) = check_elem_type(&Frame::new(L), 2, F, "argument #1 (type)")?;
            let count = get_positive_size(L, 3, 2, F, "count", MAX_OBJECT_SIZE)?;
            let bytes = count
                .checked_mul(ty.size())
                .filter(|b| *b <= MAX_OBJECT_SIZE)
                .ok_or_else(|| {
                    format!(
                        "{}: argument #2 (count): {} elements is too large",
                        F, count
                    )
                })?;
            let addr = a
                .arena
                .alloc(bytes, ty.align().max(16))
                .map_err(|e| format!("{}: {}", F, e))?;
            push_typed_to(
                L,
                Ptr::bounded(addr, bytes, Owner::Arena(a.arena.clone())),
                ty,
                pointee,
            );
            note_alloc(L, bytes);
            Ok(1)
        })
    }
}

/// `arena:new(type, init?, count?)`: a new zeroed value of any complete type in the
/// arena. A struct or union gives a StructView (with `count` elements of its flexible
/// array member, when it has one); any other type a TypedPointer: one element
/// (`"int"`, `"sqlite3 *"`: an out-parameter), or the array's elements (`"double[3]"`).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn arena_new(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "arena:new";
            let a = arena_self(L, F)?;
            let r = resolve_type(&Frame::new(L), 2, F, "argument #1 (type)")?;
            let init = Site {
                func: F,
                what: &"argument #2 (init)",
            };
            if let (CType::Struct(st), None) = (&r.ty, r.count) {
                return new_record(L, a, st.clone(), init);
            }
            if ffi::lua_isnoneornil(L, 4) == 0 {
                return Err(format!(
                    "{}: argument #3 (count): only a struct with a flexible array member takes a count (use arena:allocArray(type, count) for an array)",
                    F
                ));
            }
            if r.ty.is_void() {
                return Err(format!(
                    "{}: argument #1 (type): void has no values (use arena:alloc(size) for untyped memory)",
                    F
                ));
            }
            if r.count == Some(0) {
                return Err(format!(
                    "{}: argument #1 (type): an array of unknown or zero size (give its size, \"int[4]\", or use arena:allocArray(type, count))",
                    F
                ));
            }
            let size = r.size;
            if size == 0 {
                return Err(format!(
                    "{}: argument #1 (type): an incomplete type has no size",
                    F
                ));
            }
            let addr = a
                .arena
                .alloc(size, r.align.max(16))
                .map_err(|e| format!("{}: {}", F, e))?;
            let owner = Owner::Arena(a.arena.clone());
            if ffi::lua_isnoneornil(L, 3) == 0 {
                // The value as a field of its type at offset 0: a scalar, a pointer, or
                // an array from a table of elements (or a string for a char array).
                let f = Field {
                    name: String::new(),
                    ty: r.ty.clone(),
                    count: r.count,
                    offset: 0,
                    bits: None,
                    flexible: false,
                    align: r.align,
                    pointee: r.elem_pointee.clone(),
                };
                init_field_at(L, 3, &f, addr, &owner, init)?;
            }
            push_typed_to(L, Ptr::bounded(addr, size, owner), r.ty, r.elem_pointee);
            note_alloc(L, size);
            Ok(1)
        })
    }
}

/// `arena:new` of a struct or union type: a StructView. A struct with a flexible array
/// member gets `count` (argument 4, default 0) elements of it, which the view's field
/// is bounded to, and the initialiser may give them as a table.
///
/// # Safety
/// `L` must be the state of the running `arena:new` (a `lua_CFunction`), with its
/// arguments on the stack.
unsafe fn new_record(
    L: *mut lua_State,
    a: &ArenaUd,
    st: std::sync::Arc<crate::types::StructType>,
    init: Site,
) -> LResult<c_int> {
    const F: &str = "arena:new";
    // SAFETY: `L` is the running `arena:new`'s state, its arguments on the stack (the
    // caller's contract); every store below stays in the `size` bytes at `addr`.
    unsafe {
        let flex = st.fields.last().filter(|f| f.flexible).cloned();
        let mut size = st.size;
        let mut count = 0;
        if ffi::lua_isnoneornil(L, 4) == 0 {
            let Some(f) = &flex else {
                return Err(format!(
                    "{}: argument #3 (count): the type has no flexible array member to count",
                    F
                ));
            };
            count = get_size(L, 4, 3, F, "count", MAX_OBJECT_SIZE)?;
            size = count
                .checked_mul(f.ty.size())
                .and_then(|b| b.checked_add(f.offset))
                .filter(|b| *b <= MAX_OBJECT_SIZE)
                .ok_or_else(|| {
                    format!(
                        "{}: argument #3 (count): {} elements is too large",
                        F, count
                    )
                })?
                .max(st.size);
        }
        let addr = a
            .arena
            .alloc(size, st.align.max(16))
            .map_err(|e| format!("{}: {}", F, e))?;
        let owner = Owner::Arena(a.arena.clone());
        if ffi::lua_isnoneornil(L, 3) == 0 {
            // The flexible member's elements, given in the initialiser: stored as an
            // array of `count`, and the rest from a copy of the table without them.
            let mut from = 3;
            if let (Some(f), ffi::LUA_TTABLE) = (&flex, ffi::lua_type(L, 3)) {
                push_str(L, &f.name);
                if ffi::lua_rawget(L, 3) != ffi::LUA_TNIL {
                    let what = format!("{}, field '{}'", init.what, f.name);
                    let elems = Field {
                        count: Some(count),
                        flexible: false,
                        ..f.clone()
                    };
                    init_field_at(
                        L,
                        -1,
                        &elems,
                        addr + f.offset,
                        &owner,
                        Site {
                            func: F,
                            what: &what,
                        },
                    )?;
                    ffi::lua_pop(L, 1);
                    ffi::lua_createtable(L, 0, 0);
                    ffi::lua_pushnil(L);
                    while ffi::lua_next(L, 3) != 0 {
                        ffi::lua_pushvalue(L, -2);
                        ffi::lua_insert(L, -2);
                        ffi::lua_rawset(L, -4);
                    }
                    push_str(L, &f.name);
                    ffi::lua_pushnil(L);
                    ffi::lua_rawset(L, -3);
                    from = ffi::lua_gettop(L);
                } else {
                    ffi::lua_pop(L, 1);
                }
            }
            init_struct_at(L, from, &st, addr, &owner, init)?;
        }
        push_view(L, Ptr::bounded(addr, size, owner), st);
        note_alloc(L, size);
        Ok(1)
    }
}

/// `arena:string(s)` → RawPointer to a NUL-terminated copy.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn arena_string(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "arena:string";
            let a = arena_self(L, F)?;
            let frame = Frame::new(L);
            let s = frame.str(2).ok_or_else(|| {
                format!(
                    "{}: argument #1 (s): expected a string, got {}",
                    F,
                    describe(L, 2)
                )
            })?;
            let addr = a
                .arena
                .alloc(s.len() + 1, 1)
                .map_err(|e| format!("{}: {}", F, e))?;
            std::ptr::copy_nonoverlapping(s.as_ptr(), addr as *mut u8, s.len());
            let size = s.len() + 1;
            push_rawptr(L, Ptr::bounded(addr, size, Owner::Arena(a.arena.clone())));
            note_alloc(L, size);
            Ok(1)
        })
    }
}

/// `arena:free()`: releases everything now; later access through its pointers errors.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn arena_free(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let a = arena_self(L, "arena:free")?;
            // A callback may free an arena whose memory the C function that called it is
            // still using (qsort over it), and an async call may be using it on a worker:
            // then the memory goes when the calls are over.
            let busy = crate::luau::vm::reentry::c_may_use_memory();
            a.arena.free(busy);
            if !busy {
                crate::memory::release_deferred();
            }
            Ok(0)
        })
    }
}
