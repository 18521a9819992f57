//! Pointer operators: NULL tests, arithmetic, comparisons and tostring of the pointer
//! kinds (RawPointer, TypedPointer, StructView).

use crate::luau::memory::objects::{
    check_ptr, push_rawptr, push_typed_to, to_ptr, RawPtrUd, TypedPtrUd, ViewUd,
};
use crate::luau::vm::raw::{describe, get_index, get_ud, guard, push_str, LResult};
use crate::luau::vm::tags::Ud;
use crate::memory::Ptr;
use crate::types::CType;
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_is_null(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let p = check_ptr(L, 1, false, "isNull", "self")?;
            ffi::lua_pushboolean(L, p.is_null() as c_int);
            Ok(1)
        })
    }
}

/// Which operand of a binary metamethod is the pointer.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn ptr_operand(L: *mut lua_State, idx: c_int) -> Option<(c_int, Ptr, usize)> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract), read as the
    // kind its tag names.
    unsafe {
        match ffi::lua_userdatatag(L, idx) {
            RawPtrUd::TAG => get_ud::<RawPtrUd>(L, idx).map(|u| (RawPtrUd::TAG, u.ptr.clone(), 1)),
            TypedPtrUd::TAG => get_ud::<TypedPtrUd>(L, idx)
                .map(|u| (TypedPtrUd::TAG, u.ptr.clone(), u.stride.max(1))),
            _ => None,
        }
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn push_like(L: *mut lua_State, tag: c_int, src: c_int, ptr: Ptr) {
    // SAFETY: the operand at `src` is on the stack of the live `L` (the caller's contract);
    // either branch pushes one value.
    unsafe {
        if tag == TypedPtrUd::TAG {
            let (elem, pointee) = get_ud::<TypedPtrUd>(L, src)
                .map(|u| (u.elem.clone(), u.pointee.clone()))
                .unwrap_or((CType::Prim(crate::types::Prim::U8), None));
            push_typed_to(L, ptr, elem, pointee);
        } else {
            push_rawptr(L, ptr);
        }
    }
}

/// `p + n` / `n + p`: n bytes for a RawPointer, n elements for a TypedPointer.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_add(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (pidx, nidx) = if ptr_operand(L, 1).is_some() {
                (1, 2)
            } else {
                (2, 1)
            };
            let (tag, p, stride) =
                ptr_operand(L, pidx).ok_or("pointer arithmetic: no pointer operand")?;
            let n = get_index(L, nidx).ok_or_else(|| offset_error(L, nidx, "an integer offset"))?;
            let delta = element_offset(n, stride, "pointer offset")?;
            push_like(L, tag, pidx, p.with_addr(p.addr.wrapping_add_signed(delta)));
            Ok(1)
        })
    }
}

/// Why the offset at `idx` is refused: a whole number too large to be an address offset
/// is out of range (it is an integer), anything else is not an offset at all.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
unsafe fn offset_error(L: *mut lua_State, idx: c_int, expected: &str) -> String {
    // SAFETY: reads the value at `idx`.
    let whole = unsafe {
        ffi::lua_type(L, idx) == ffi::LUA_TNUMBER && {
            let n = ffi::lua_tonumberx(L, idx, std::ptr::null_mut());
            n.is_finite() && n.fract() == 0.0
        }
    };
    // SAFETY: `idx` is still on the stack; `describe` pops what it pushes.
    let got = unsafe { describe(L, idx) };
    if whole {
        format!(
            "pointer arithmetic: offset {} is out of range",
            got.trim_start_matches("number ")
        )
    } else {
        format!("pointer arithmetic: expected {}, got {}", expected, got)
    }
}

/// `p - n`, and `p1 - p2` (bytes between RawPointers, elements between TypedPointers).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_sub(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (tag, p, stride) = ptr_operand(L, 1).ok_or_else(|| {
                format!(
                    "pointer arithmetic: cannot subtract a pointer from {}",
                    describe(L, 1)
                )
            })?;
            if let Some((_, q, _)) = ptr_operand(L, 2) {
                let diff = (p.addr as i64).wrapping_sub(q.addr as i64) / stride as i64;
                crate::luau::values::convert::push_i64(L, diff);
                return Ok(1);
            }
            let n = get_index(L, 2)
                .ok_or_else(|| offset_error(L, 2, "an integer offset or a pointer"))?;
            let delta = element_offset(n, stride, "pointer offset")?;
            push_like(L, tag, 1, p.with_addr(p.addr.wrapping_add_signed(-delta)));
            Ok(1)
        })
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn both_addrs(L: *mut lua_State) -> LResult<(usize, usize)> {
    // SAFETY: the metamethod's two operands are at 1 and 2 on the live `L`'s stack (the
    // caller's contract).
    unsafe {
        let a = to_ptr(L, 1, false)?.map(|p| p.addr);
        let b = to_ptr(L, 2, false)?.map(|p| p.addr);
        match (a, b) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(format!(
                "pointer comparison: cannot compare {} with {}",
                describe(L, 1),
                describe(L, 2)
            )),
        }
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_eq(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let eq = match both_addrs(L) {
                Ok((a, b)) => a == b,
                Err(_) => false,
            };
            ffi::lua_pushboolean(L, eq as c_int);
            Ok(1)
        })
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_lt(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (a, b) = both_addrs(L)?;
            ffi::lua_pushboolean(L, (a < b) as c_int);
            Ok(1)
        })
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_le(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let (a, b) = both_addrs(L)?;
            ffi::lua_pushboolean(L, (a <= b) as c_int);
            Ok(1)
        })
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ptr_tostring(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let s = match ffi::lua_userdatatag(L, 1) {
                RawPtrUd::TAG => {
                    let u = get_ud::<RawPtrUd>(L, 1).ok_or("pointer expected")?;
                    format!("RawPointer(0x{:x})", u.ptr.addr)
                }
                TypedPtrUd::TAG => {
                    let u = get_ud::<TypedPtrUd>(L, 1).ok_or("pointer expected")?;
                    format!("TypedPointer<{}>(0x{:x})", u.elem, u.ptr.addr)
                }
                ViewUd::TAG => {
                    let u = get_ud::<ViewUd>(L, 1).ok_or("view expected")?;
                    match &u.st.name.0 {
                        Some(name) => format!("StructView<{}>(0x{:x})", name, u.ptr.addr),
                        None => format!("StructView(0x{:x})", u.ptr.addr),
                    }
                }
                _ => "pointer".to_string(),
            };
            push_str(L, &s);
            Ok(1)
        })
    }
}

pub(crate) fn element_offset(i: i64, stride: usize, what: &str) -> LResult<isize> {
    i.checked_mul(stride as i64)
        .filter(|o| o.unsigned_abs() < (1u64 << 48))
        .map(|o| o as isize)
        .ok_or_else(|| format!("{} {} is out of range", what, i))
}
