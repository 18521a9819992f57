//! The memory half of the `ffi` table: arenas, structs, views, casts, bulk operations.

use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::luau::memory::access::{init_field_at, init_struct_at, push_at, store_at};
use crate::luau::memory::objects::{
    check_elem_type, check_mem, check_type, push_pointer_to, push_rawptr, push_typed_to, push_view,
    resolve_size, resolve_type, ArenaUd, StructTypeUd, TypedPtrUd,
};
use crate::luau::values::convert::{load_bits, Site};
use crate::luau::vm::raw::{
    describe, fmt_num, get_index, get_positive_size, get_size, get_str, get_ud, guard, push_bytes,
    push_str, push_ud, LResult,
};
use crate::luau::vm::state::{note_alloc, shared};
use crate::memory::{ArenaInner, OwnedBlock, Owner, Ptr};
use crate::types::{CType, Field, Pointee, Prim, MAX_OBJECT_SIZE};

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
/// errors raised inside unwind through here (see `raw`).
unsafe fn arena_self<'a>(L: *mut lua_State, func: &str) -> LResult<&'a ArenaUd> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        get_ud::<ArenaUd>(L, 1).ok_or_else(|| {
            format!(
                "{}: expected an Arena as self (call it with ':'), got {}",
                func,
                describe(L, 1)
            )
        })
    }
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
            let (ty, pointee) = check_elem_type(L, 2, F, "argument #1 (type)")?;
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
            let r = resolve_type(L, 2, F, "argument #1 (type)")?;
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
/// As `arena_new`, with the arguments on the stack.
unsafe fn new_record(
    L: *mut lua_State,
    a: &ArenaUd,
    st: std::sync::Arc<crate::types::StructType>,
    init: Site,
) -> LResult<c_int> {
    const F: &str = "arena:new";
    // SAFETY: the caller's contract.
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
            let s = get_str(L, 2).ok_or_else(|| {
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

/// A struct type argument: a StructType, or a C name of a struct or union type
/// (`"struct timespec"`, a typedef).
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
unsafe fn struct_type_arg(
    L: *mut lua_State,
    idx: c_int,
    F: &str,
    what: &str,
) -> LResult<std::sync::Arc<crate::types::StructType>> {
    // SAFETY: see above.
    unsafe {
        if let Some(s) = get_ud::<StructTypeUd>(L, idx) {
            return Ok(s.st.clone());
        }
        if get_str(L, idx).is_some() {
            if let CType::Struct(st) = check_type(L, idx, F, what)? {
                return Ok(st);
            }
        }
        Err(format!(
            "{}: {}: expected a StructType or a struct type name, got {}",
            F,
            what,
            describe(L, idx)
        ))
    }
}

/// `ffi.view(ptr, StructType)` → StructView over the memory (zero-copy).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_view(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.view";
            let st = struct_type_arg(L, 2, F, "argument #2 (type)")?;
            let p = check_mem(L, 1, true, F, "argument #1 (ptr)")?;
            p.check(0, st.size)
                .map_err(|e| format!("{}: argument #1 (ptr): {}", F, e))?;
            push_view(L, p, st);
            Ok(1)
        })
    }
}

/// `ffi.cast(ptr, type)` → TypedPointer.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_cast(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.cast";
            let (ty, pointee) = check_elem_type(L, 2, F, "argument #2 (type)")?;
            let p = check_mem(L, 1, true, F, "argument #1 (ptr)")?;
            push_typed_to(L, p, ty, pointee);
            Ok(1)
        })
    }
}

/// `ffi.sizeof(type)`: also C type names, arrays included (`ffi.sizeof("int[4]")`); an
/// incomplete type is an error.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_sizeof(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (size, _) = resolve_size(L, 1, "ffi.sizeof", "argument #1 (type)")?;
            ffi::lua_pushnumber(L, size as f64);
            Ok(1)
        })
    }
}

/// `ffi.alignof(type)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_alignof(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (_, align) = resolve_size(L, 1, "ffi.alignof", "argument #1 (type)")?;
            ffi::lua_pushnumber(L, align as f64);
            Ok(1)
        })
    }
}

/// `ffi.fill(ptr, len, byte?)` (memset; zeroes by default).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_fill(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.fill";
            let p = check_mem(L, 1, false, F, "argument #1 (ptr)")?;
            let len = get_size(L, 2, 2, F, "len", MAX_OBJECT_SIZE)?;
            // Zero by default, as LuaJIT's.
            let byte = if ffi::lua_isnoneornil(L, 3) != 0 {
                0
            } else {
                get_size(L, 3, 3, F, "byte", 255)?
            };
            if len > 0 {
                let at = p
                    .check(0, len)
                    .map_err(|e| format!("{}: argument #1 (ptr): {}", F, e))?;
                std::ptr::write_bytes(at as *mut u8, byte as u8, len);
            }
            Ok(0)
        })
    }
}

/// `ffi.copy(dst, src, len)` (memmove: overlapping ranges are fine), or
/// `ffi.copy(dst, s, len?)` from a Luau string's bytes.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_copy(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.copy";
            let dst = check_mem(L, 1, false, F, "argument #1 (dst)")?;
            // A Luau string's bytes: `len` defaults to all of them and may not exceed them
            // (no NUL is added: arena:string makes a C string).
            if let Some(s) = get_str(L, 2) {
                let len = if ffi::lua_isnoneornil(L, 3) != 0 {
                    s.len()
                } else {
                    get_size(L, 3, 3, F, "len", MAX_OBJECT_SIZE)?
                };
                if len > s.len() {
                    return Err(format!(
                        "{}: argument #3 (len): expected at most the {} bytes of the source string, got {}",
                        F,
                        s.len(),
                        len
                    ));
                }
                if len > 0 {
                    let d = dst
                        .check(0, len)
                        .map_err(|e| format!("{}: argument #1 (dst): {}", F, e))?;
                    std::ptr::copy_nonoverlapping(s.as_ptr(), d as *mut u8, len);
                }
                return Ok(0);
            }
            let src = check_mem(L, 2, false, F, "argument #2 (src)")?;
            let len = get_size(L, 3, 3, F, "len", MAX_OBJECT_SIZE)?;
            if len > 0 {
                let d = dst
                    .check(0, len)
                    .map_err(|e| format!("{}: argument #1 (dst): {}", F, e))?;
                let s = src
                    .check(0, len)
                    .map_err(|e| format!("{}: argument #2 (src): {}", F, e))?;
                std::ptr::copy(s as *const u8, d as *mut u8, len);
            }
            Ok(0)
        })
    }
}

/// `ffi.string(ptr, len?)`: `len` bytes, or up to the NUL (within bounds when known).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_string(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.string";
            // NULL comes back from C as nil, and reading zero bytes reads nothing.
            if ffi::lua_isnil(L, 1) != 0 && get_index(L, 2) == Some(0) {
                push_str(L, "");
                return Ok(1);
            }
            // Text that is already a Luau string (a `const char *` field or return, or a
            // callback argument declared `string`) comes back unchanged, so wrapping any
            // text in ffi.string is safe; with a length, its first `len` bytes.
            if ffi::lua_type(L, 1) == ffi::LUA_TSTRING {
                let s = get_str(L, 1).unwrap_or_default();
                if ffi::lua_isnoneornil(L, 2) != 0 {
                    ffi::lua_settop(L, 1);
                    return Ok(1);
                }
                let len = get_size(L, 2, 2, F, "len", MAX_OBJECT_SIZE)?;
                if len > s.len() {
                    return Err(format!(
                        "{}: argument #2 (len): {} bytes asked of a string of {}",
                        F,
                        len,
                        s.len()
                    ));
                }
                // The string stays alive in stack slot 1 while its prefix is copied.
                push_bytes(L, &s[..len]);
                return Ok(1);
            }
            let p = check_mem(L, 1, false, F, "argument #1 (ptr)")?;
            if ffi::lua_isnoneornil(L, 2) == 0 {
                let len = get_size(L, 2, 2, F, "len", MAX_OBJECT_SIZE)?;
                let at = if len == 0 {
                    p.addr
                } else {
                    p.check(0, len)
                        .map_err(|e| format!("{}: argument #1 (ptr): {}", F, e))?
                };
                if len == 0 {
                    push_str(L, "");
                } else {
                    push_bytes(L, std::slice::from_raw_parts(at as *const u8, len));
                }
                return Ok(1);
            }
            let at = p
                .check(0, 1)
                .map_err(|e| format!("{}: argument #1 (ptr): {}", F, e))?;
            match p.remaining() {
                Some(max) => {
                    let bytes = std::slice::from_raw_parts(at as *const u8, max);
                    let n = bytes.iter().position(|b| *b == 0).ok_or_else(|| {
                    format!(
                        "{}: no NUL terminator within the {} bytes left in the allocation (pass a length)",
                        F, max
                    )
                })?;
                    push_bytes(L, &bytes[..n]);
                }
                None => crate::luau::values::convert::push_cstring(L, at),
            }
            Ok(1)
        })
    }
}

/// Address and type for `ffi.read`/`ffi.write`: offsets are bytes with an explicit type,
/// or elements of a TypedPointer's type.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn locate(
    L: *mut lua_State,
    F: &str,
    type_idx: c_int,
    type_argn: c_int,
) -> LResult<(Ptr, CType, usize, Option<Pointee>)> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let p = check_mem(L, 1, false, F, "argument #1 (ptr)")?;
        let off = get_index(L, 2).ok_or_else(|| {
            format!(
                "{}: argument #2 (offset): expected an integer, got {}",
                F,
                describe(L, 2)
            )
        })?;
        let typed = get_ud::<TypedPtrUd>(L, 1);
        let explicit = ffi::lua_isnoneornil(L, type_idx) == 0;
        let (ty, pointee, byte_off) = match (explicit, typed) {
            (true, t) => {
                let (ty, pointee) =
                    check_elem_type(L, type_idx, F, &format!("argument #{} (type)", type_argn))?;
                let scale = t.map(|t| t.stride as i64).unwrap_or(1);
                (ty, pointee, off.checked_mul(scale))
            }
            (false, Some(t)) => (
                t.elem.clone(),
                t.pointee.clone(),
                off.checked_mul(t.stride as i64),
            ),
            (false, None) => {
                return Err(format!(
            "{}: argument #{} (type): a type is required for a RawPointer, StructView or buffer",
            F, type_argn
        ))
            }
        };
        let byte_off = byte_off
            .filter(|o| o.unsigned_abs() < 1 << 48)
            .ok_or_else(|| format!("{}: argument #2 (offset): {} is out of range", F, off))?;
        let addr = p
            .check(byte_off as isize, ty.size())
            .map_err(|e| format!("{}: argument #1 (ptr): {}", F, e))?;
        Ok((p, ty, addr, pointee))
    }
}

/// `ffi.read(ptr, offset, type?)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_read(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (p, ty, addr, pointee) = locate(L, "ffi.read", 3, 3)?;
            match pointee {
                // A declared `T *` reads as a TypedPointer of T.
                Some(to) => push_pointer_to(L, load_bits(addr, Prim::Pointer) as usize, &to),
                None => push_at(L, &ty, addr, &p),
            }
            Ok(1)
        })
    }
}

/// `ffi.write(ptr, offset, value, type?)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_write(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (p, ty, addr, _) = locate(L, "ffi.write", 4, 4)?;
            store_at(
                L,
                3,
                &ty,
                addr,
                &p.owner,
                Site {
                    func: "ffi.write",
                    what: &"argument #3 (value)",
                },
            )?;
            Ok(0)
        })
    }
}

/// `ffi.ptr(address)` → RawPointer. Negative addresses wrap as a C cast does.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_ptr(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let addr = match ffi::lua_type(L, 1) {
                ffi::LUA_TINTEGER => ffi::lua_tointeger64(L, 1, std::ptr::null_mut()) as u64,
                ffi::LUA_TNUMBER => {
                    let n = ffi::lua_tonumberx(L, 1, std::ptr::null_mut());
                    if n.fract() != 0.0 || !(-(2f64.powi(63))..2f64.powi(64)).contains(&n) {
                        return Err(format!(
                        "ffi.ptr: argument #1 (address): expected an integer address, got number {}",
                        fmt_num(n)
                    ));
                    }
                    if n < 0.0 {
                        n as i64 as u64
                    } else {
                        n as u64
                    }
                }
                _ => {
                    return Err(format!(
                        "ffi.ptr: argument #1 (address): expected an integer address, got {}",
                        describe(L, 1)
                    ))
                }
            };
            push_rawptr(L, Ptr::foreign(addr as usize));
            Ok(1)
        })
    }
}

/// Legacy `ffi.buffer(size)`: GC-owned zeroed memory.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_buffer_legacy(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.buffer";
            let sh = shared(L);
            if !sh.warned_buffer.replace(true) {
                eprintln!("[lune-ffi] warning: ffi.buffer(size) is deprecated; use ffi.arena() and arena:alloc(size)");
            }
            let size = get_positive_size(L, 1, 1, F, "size", MAX_OBJECT_SIZE)?;
            let block = OwnedBlock::new(size, 16).map_err(|e| format!("{}: {}", F, e))?;
            push_rawptr(L, Ptr::bounded(block.addr(), size, Owner::Owned(block)));
            note_alloc(L, size);
            Ok(1)
        })
    }
}

/// Builds `ffi.types`: every name and alias maps to its canonical name, which every
/// type argument accepts.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn push_types_table(L: *mut lua_State) {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        ffi::lua_createtable(L, 0, crate::types::TYPE_NAMES.len() as c_int);
        for (name, p) in crate::types::TYPE_NAMES {
            push_str(L, p.name());
            let key = std::ffi::CString::new(*name).expect("type names have no NUL");
            ffi::lua_rawsetfield(L, -2, key.as_ptr());
        }
        ffi::lua_setreadonly(L, -1, 1);
    }
}
