//! Metamethods of RawPointer, TypedPointer, StructView and StructType: the zero-copy
//! hot paths (`tp[i]`, `view.field`) and pointer arithmetic and comparison.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use crate::luau::memory::access::{
    find_field, push_at, push_field, push_prim_at, store_at, store_field,
};
use crate::luau::memory::objects::{
    push_pointer_to, push_struct_type, push_type, view_ptr, RawPtrUd, TypedPtrUd, ViewUd,
};
use crate::luau::memory::operators::{element_offset, ptr_is_null};
use crate::luau::values::convert::load_bits;
use crate::luau::values::convert::{fast_number, store_bits, Lazy, Site};
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_index, get_ud, guard, push_fn, LResult};
use crate::luau::vm::tags::Ud;
use crate::memory::Ptr;
use crate::types::{CType, Field, Prim};

/// A number key that is a whole element index, as a byte offset.
///
/// # Safety
/// `L` must be the live state of the running C function, and `idx >= 1`.
#[inline(always)]
unsafe fn fast_offset(L: *mut lua_State, idx: c_int, stride: usize) -> Option<isize> {
    // SAFETY: `L` is the running C function's live state and `idx >= 1` (the caller's
    // contract), as `slots::get` needs.
    let v = unsafe { crate::luau::vm::slots::get(L, idx) };
    let crate::luau::vm::slots::Plain::Number(n) = v else {
        return None;
    };
    let i = n as i64;
    if i as f64 != n || i.unsigned_abs() >= 1 << 40 {
        return None;
    }
    Some((i * stride as i64) as isize)
}

/// `tp[i]`: integer keys read element i; string keys give `type`, `address` and methods.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn typed_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        // Fast path: a primitive element in bounds. Everything else, errors included, goes
        // through the general path below.
        let ud = crate::luau::vm::slots::userdata(L, 1, TypedPtrUd::TAG) as *const TypedPtrUd;
        // SAFETY: only push_typed creates userdata with this tag.
        if let Some(ud) = ud.as_ref() {
            if let (CType::Prim(p), None) = (&ud.elem, &ud.pointee) {
                if let Some(addr) =
                    fast_offset(L, 2, ud.stride).and_then(|o| ud.ptr.try_at(o, ud.stride))
                {
                    push_prim_at(L, *p, addr);
                    return 1;
                }
            }
        }
        guard(L, || {
            let ud = get_ud::<TypedPtrUd>(L, 1).ok_or("TypedPointer expected")?;
            if let Some(i) = get_index(L, 2) {
                let off = element_offset(i, ud.stride, "TypedPointer index")?;
                let addr = ud
                    .ptr
                    .check(off, ud.stride)
                    .map_err(|e| format!("TypedPointer index {}: {}", i, e))?;
                match &ud.pointee {
                    Some(to) => push_pointer_to(L, load_bits(addr, Prim::Pointer) as usize, to),
                    None => push_at(L, &ud.elem, addr, &ud.ptr),
                }
                return Ok(1);
            }
            // C's `->`: on a pointer to a record, `p.field` is `p[0].field`. A field wins
            // over the pointer's own keys, as a view's fields do.
            if let (CType::Struct(st), Some(key)) = (&ud.elem, Frame::new(L).str(2)) {
                if let Some(f) = find_field(st, key) {
                    let base = ud
                        .ptr
                        .check(0, st.size)
                        .map_err(|e| format!("TypedPointer field '{}': {}", f.name, e))?;
                    let base = ud.ptr.with_addr(base);
                    push_field(L, &f, &base)
                        .map_err(|e| format!("TypedPointer field '{}': {}", f.name, e))?;
                    return Ok(1);
                }
            }
            match Frame::new(L).str(2) {
            Some(b"type") => push_type(L, &ud.elem),
            Some(b"address") => crate::luau::values::convert::push_u64(L, ud.ptr.addr as u64),
            Some(b"isNull") => push_fn(L, ptr_is_null, c"isNull"),
            _ => {
                return Err(format!(
                    "TypedPointer: cannot index with {} (expected an integer element index, or 'type', 'address', 'isNull')",
                    describe(L, 2)
                ))
            }
        }
            Ok(1)
        })
    }
}

/// `tp[i] = v`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn typed_newindex(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        let ud = crate::luau::vm::slots::userdata(L, 1, TypedPtrUd::TAG) as *const TypedPtrUd;
        // SAFETY: only push_typed creates userdata with this tag.
        if let Some(ud) = ud.as_ref() {
            if let CType::Prim(p) = ud.elem {
                if let Some(bits) = fast_number(L, 3, p, p) {
                    if let Some(addr) =
                        fast_offset(L, 2, ud.stride).and_then(|o| ud.ptr.try_at(o, ud.stride))
                    {
                        store_bits(addr, p, bits);
                        return 0;
                    }
                }
            }
        }
        guard(L, || {
            let ud = get_ud::<TypedPtrUd>(L, 1).ok_or("TypedPointer expected")?;
            // `p.field = v` on a pointer to a record: `p[0].field = v` (C's `->`).
            if let (CType::Struct(st), Some(key)) = (&ud.elem, Frame::new(L).str(2)) {
                if let Some(f) = find_field(st, key) {
                    assign_field(L, &ud.ptr, &f, "TypedPointer")?;
                    return Ok(0);
                }
            }
            let Some(i) = get_index(L, 2) else {
                return Err(format!(
                    "TypedPointer: cannot assign with key {} (expected an integer element index)",
                    describe(L, 2)
                ));
            };
            let off = element_offset(i, ud.stride, "TypedPointer index")?;
            let addr = ud
                .ptr
                .check(off, ud.stride)
                .map_err(|e| format!("TypedPointer index {}: {}", i, e))?;
            let what = Lazy(|f: &mut std::fmt::Formatter<'_>| write!(f, "element {}", i));
            store_at(
                L,
                3,
                &ud.elem,
                addr,
                &ud.ptr.owner,
                Site {
                    func: "TypedPointer",
                    what: &what,
                },
            )?;
            Ok(0)
        })
    }
}

/// `#tp`: the number of elements from the pointer to the end of its allocation.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn typed_len(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let ud = get_ud::<TypedPtrUd>(L, 1).ok_or("TypedPointer expected")?;
            match ud.ptr.remaining() {
            Some(bytes) if !ud.ptr.is_dead() => {
                ffi::lua_pushnumber(L, (bytes / ud.stride.max(1)) as f64);
                Ok(1)
            }
            Some(_) => Err("TypedPointer: length of a pointer into a freed arena".into()),
            None => Err(
                "TypedPointer: length unknown (the pointer did not come from an arena or a buffer)"
                    .into(),
            ),
        }
        })
    }
}

/// The scalar field named by the string at `idx`, with its address, if in bounds.
///
/// # Safety
/// `L` must be the live state of the running C function, and `idx >= 1`.
#[inline(always)]
unsafe fn fast_field(L: *mut lua_State, ud: &ViewUd, idx: c_int) -> Option<(Prim, usize)> {
    // SAFETY: `L` is the running C function's live state and `idx >= 1` (the caller's
    // contract); the key is used only here, while its value stays on the stack.
    let key = unsafe { crate::luau::vm::slots::string(L, idx) }?;
    let f = ud.st.fields.iter().find(|f| f.name.as_bytes() == key)?;
    match (&f.ty, f.count, f.bits, f.flexible || f.pointee.is_some()) {
        (CType::Prim(p), None, None, false) => {
            Some((*p, ud.ptr.try_at(f.offset as isize, p.size())?))
        }
        _ => None,
    }
}

/// `view.field`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn view_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        let ud = crate::luau::vm::slots::userdata(L, 1, ViewUd::TAG) as *const ViewUd;
        // SAFETY: only push_view creates userdata with this tag.
        if let Some(ud) = ud.as_ref() {
            if let Some((p, addr)) = fast_field(L, ud, 2) {
                push_prim_at(L, p, addr);
                return 1;
            }
        }
        guard(L, || {
            let ud = get_ud::<ViewUd>(L, 1).ok_or("StructView expected")?;
            let frame = Frame::new(L);
            let key = frame.str(2).unwrap_or_default();
            // Linear search: structs are small and the compare is a memcmp of short names.
            if let Some(f) = find_field(&ud.st, key) {
                // A nested struct or array field gives a value of its own, pointing into
                // this view's memory: it must keep that memory alive.
                let derives = f.bits.is_none()
                    && (f.flexible || f.count.is_some() || matches!(f.ty, CType::Struct(_)));
                let anchored;
                let base = if derives {
                    anchored = view_ptr(L, 1, ud, true);
                    &anchored
                } else {
                    &ud.ptr
                };
                push_field(L, &f, base)
                    .map_err(|e| format!("StructView field '{}': {}", f.name, e))?;
                return Ok(1);
            }
            match key {
                b"address" => crate::luau::values::convert::push_u64(L, ud.ptr.addr as u64),
                b"type" => push_struct_type(L, ud.st.clone()),
                _ => {
                    return Err(format!(
                        "StructView: no field {} (fields: {})",
                        describe(L, 2),
                        field_names(&ud.st)
                    ))
                }
            }
            Ok(1)
        })
    }
}

pub(crate) fn field_names(st: &crate::types::StructType) -> String {
    st.member_names().join(", ")
}

/// `view.field = v`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn view_newindex(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        let ud = crate::luau::vm::slots::userdata(L, 1, ViewUd::TAG) as *const ViewUd;
        // SAFETY: only push_view creates userdata with this tag.
        if let Some(ud) = ud.as_ref() {
            if let Some((p, addr)) = fast_field(L, ud, 2) {
                if let Some(bits) = fast_number(L, 3, p, p) {
                    store_bits(addr, p, bits);
                    return 0;
                }
            }
        }
        guard(L, || {
            let ud = get_ud::<ViewUd>(L, 1).ok_or("StructView expected")?;
            let frame = Frame::new(L);
            let key = frame.str(2).unwrap_or_default();
            let Some(f) = find_field(&ud.st, key) else {
                return Err(format!(
                    "StructView: no field {} (fields: {})",
                    describe(L, 2),
                    field_names(&ud.st)
                ));
            };
            assign_field(L, &ud.ptr, &f, "StructView")?;
            Ok(0)
        })
    }
}

/// `x.field = v` (the value at stack index 3) for a view or a pointer to a record whose
/// element starts at `ptr`; `api` names the kind in messages.
///
/// # Safety
/// `L` must be a live Luau state with the value at index 3; Luau errors raised inside
/// unwind through here (see `raw`).
unsafe fn assign_field(L: *mut lua_State, ptr: &Ptr, f: &Field, api: &str) -> LResult<()> {
    let addr = ptr
        .check(
            f.offset as isize,
            f.bits.map_or(f.byte_size(), |b| b.span()),
        )
        .map_err(|e| format!("{} field '{}': {}", api, f.name, e))?;
    let what = Lazy(|w: &mut std::fmt::Formatter<'_>| write!(w, "field '{}'", f.name));
    let site = Site {
        func: api,
        what: &what,
    };
    // SAFETY: the caller's contract; `addr` was checked for the field's bytes just above.
    unsafe { store_field(L, 3, f, addr, &ptr.owner, site) }
}

/// `p.address`, `p:isNull()`; `p[i]` is refused with a pointer to `ffi.cast`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn raw_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let ud = get_ud::<RawPtrUd>(L, 1).ok_or("RawPointer expected")?;
            match Frame::new(L).str(2) {
            Some(b"address") => crate::luau::values::convert::push_u64(L, ud.ptr.addr as u64),
            Some(b"isNull") => push_fn(L, ptr_is_null, c"isNull"),
            _ => {
                return Err(format!(
                    "RawPointer: cannot index with {}; a RawPointer has no elements: use ffi.cast(ptr, type) for a TypedPointer, or ffi.read/ffi.write",
                    describe(L, 2)
                ))
            }
        }
            Ok(1)
        })
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn raw_newindex(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            Err(format!(
            "RawPointer: cannot assign to key {}; use ffi.cast(ptr, type) for a TypedPointer, or ffi.write",
            describe(L, 2)
        ))
        })
    }
}
