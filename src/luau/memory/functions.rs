//! The memory half of the `ffi` table: arenas, structs, views, casts, bulk operations.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use crate::luau::memory::access::{init_struct_at, push_at, store_at};
use crate::luau::memory::objects::{
    check_mem, push_pointer_to, push_rawptr, push_struct_value, push_typed_to, push_view,
    StructTypeUd, TypedPtrUd, ViewUd,
};
use crate::luau::memory::types::{check_elem_type, check_type, resolve_size, resolve_type};
use crate::luau::values::convert::{load_bits, Site};
use crate::luau::values::ctypes::Resolved;
use crate::luau::vm::frame::guarded;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{
    describe, fmt_num, get_index, get_positive_size, get_size, get_ud, guard, push_bytes, push_str,
    LResult,
};
use crate::luau::vm::state::{note_alloc, shared};
use crate::luau::vm::tags::Ud;
use crate::memory::{OwnedBlock, Owner, Ptr};
use crate::types::{CType, Pointee, Prim, MAX_OBJECT_SIZE};

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
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract); the borrow
    // ends before this returns.
    if let Some(s) = unsafe { get_ud::<StructTypeUd>(L, idx) } {
        return Ok(s.st.clone());
    }
    // SAFETY: `L` is a live state (the caller's contract), only read through the frame.
    let frame = unsafe { Frame::new(L) };
    if frame.str(idx).is_some() {
        if let CType::Struct(st) = check_type(&frame, idx, F, what)? {
            return Ok(st);
        }
    }
    Err(format!(
        "{}: {}: expected a StructType or a struct type name, got {}",
        F,
        what,
        frame.describe(idx)
    ))
}

/// `ffi.new`'s type given by name: a struct type, or an error saying where other types
/// live.
fn new_type_arg(frame: &Frame) -> LResult<std::sync::Arc<crate::types::StructType>> {
    const F: &str = "ffi.new";
    const WHAT: &str = "argument #1 (type)";
    let Some(name) = frame.str(1) else {
        return Err(format!(
            "{}: {}: expected a StructType or a struct type name, got {}",
            F,
            WHAT,
            frame.describe(1)
        ));
    };
    let name = String::from_utf8_lossy(name).into_owned();
    match resolve_type(frame, 1, F, WHAT)? {
        Resolved {
            ty: CType::Struct(st),
            count: None,
            ..
        } => Ok(st),
        _ => Err(format!(
            "{}: {}: '{}' is not a struct type (arrays and scalars live in arenas: arena:new)",
            F, WHAT, name
        )),
    }
}

/// `ffi.new(type, init?)` → a struct value: one GC allocation holding its view and its
/// bytes, zeroed, then filled from `init` as `arena:new` fills a record. It lives as long
/// as it (or a view, array or pointer made from it) is reachable, as LuaJIT's `ffi.new`
/// does; arrays and scalars live in arenas.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_new(L: *mut lua_State) -> c_int {
    const F: &str = "ffi.new";
    // The common case first, outside `guard`: a StructType and no initialiser, read
    // straight from the stack slots (a value made per loop turn is the LuaJIT idiom this
    // matches). Allocation may raise here: nothing owned is alive, the type is borrowed.
    // SAFETY: called by Luau as a C function of `L`, with its arguments from index 1; only
    // `push_ud::<StructTypeUd>` makes userdata with that tag.
    unsafe {
        if crate::luau::vm::slots::count(L) == 1 {
            let ty = crate::luau::vm::slots::userdata(L, 1, StructTypeUd::TAG);
            if let Some(ty) = (ty as *const StructTypeUd).as_ref() {
                push_struct_value(L, &ty.st);
                return 1;
            }
        }
    }
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let st = match get_ud::<StructTypeUd>(L, 1) {
                Some(s) => s.st.clone(),
                None => new_type_arg(&Frame::new(L))?,
            };
            // Nothing past the initialiser is ignored: a count (as arena:new takes) or
            // LuaJIT's extra initialisers would be silently dropped.
            if let Some(extra) = (3..=ffi::lua_gettop(L)).find(|&i| ffi::lua_isnoneornil(L, i) == 0)
            {
                return Err(format!(
                    "{}: argument #{}: ffi.new takes a type and an initialiser (a count for a flexible array member: arena:new)",
                    F, extra
                ));
            }
            // Read before the push: with no initialiser, the new value lands at index 2.
            let has_init = ffi::lua_isnoneornil(L, 2) == 0;
            let addr = push_struct_value(L, &st) as usize;
            if has_init {
                let v = get_ud::<ViewUd>(L, -1).ok_or("ffi.new: the new value was lost")?;
                let init = Site {
                    func: F,
                    what: &"argument #2 (init)",
                };
                // Pointers stored by the initialiser are kept alive by the value itself.
                init_struct_at(L, 2, &st, addr, &v.ptr.owner, init)?;
            }
            Ok(1)
        })
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
            let (ty, pointee) = check_elem_type(&Frame::new(L), 2, F, "argument #2 (type)")?;
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
        guarded(L, |f| {
            let (size, _) = resolve_size(f, 1, "ffi.sizeof", "argument #1 (type)")?;
            f.push_number(size as f64);
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
        guarded(L, |f| {
            let (_, align) = resolve_size(f, 1, "ffi.alignof", "argument #1 (type)")?;
            f.push_number(align as f64);
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
            if let Some(s) = Frame::new(L).str(2) {
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
                let frame = Frame::new(L);
                let s = frame.str(1).unwrap_or_default();
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
    // SAFETY: the arguments are on the stack of the live `L` (the caller's contract); the
    // frame only reads them, and `typed` borrows the userdata at 1, which stays there
    // while this runs.
    let (p, off, typed, explicit, frame) = unsafe {
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
        (p, off, typed, explicit, Frame::new(L))
    };
    let (ty, pointee, byte_off) = match (explicit, typed) {
        (true, t) => {
            let (ty, pointee) = check_elem_type(
                &frame,
                type_idx,
                F,
                &format!("argument #{} (type)", type_argn),
            )?;
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
    // SAFETY: `L` is a live state (the caller's contract); each name pushed is stored into
    // the new table before the next.
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
