//! Metamethods of RawPointer, TypedPointer, StructView and StructType: the zero-copy
//! hot paths (`tp[i]`, `view.field`) and pointer arithmetic and comparison.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use crate::luau::memory::access::{
    find_field, push_at, push_field, push_prim_at, store_at, store_field,
};
use crate::luau::memory::objects::{
    check_ptr, push_pointer_to, push_rawptr, push_struct_type, push_type, push_typed_to, to_ptr,
    view_ptr, RawPtrUd, StructTypeUd, TypedPtrUd, ViewUd,
};
use crate::luau::values::convert::load_bits;
use crate::luau::values::convert::{fast_number, store_bits, Lazy, Site};
use crate::luau::vm::raw::{
    describe, get_index, get_str, get_ud, guard, push_fn, push_str, set_field, LResult,
};
use crate::luau::vm::tags::Ud;
use crate::memory::Ptr;
use crate::types::{CType, Field, Prim};

/// A number key that is a whole element index, as a byte offset.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(always)]
unsafe fn fast_offset(L: *mut lua_State, idx: c_int, stride: usize) -> Option<isize> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let crate::luau::vm::slots::Plain::Number(n) = crate::luau::vm::slots::get(L, idx) else {
            return None;
        };
        let i = n as i64;
        if i as f64 != n || i.unsigned_abs() >= 1 << 40 {
            return None;
        }
        Some((i * stride as i64) as isize)
    }
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
            if let (CType::Struct(st), Some(key)) = (&ud.elem, get_str(L, 2)) {
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
            match get_str(L, 2) {
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
            if let (CType::Struct(st), Some(key)) = (&ud.elem, get_str(L, 2)) {
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

fn element_offset(i: i64, stride: usize, what: &str) -> LResult<isize> {
    i.checked_mul(stride as i64)
        .filter(|o| o.unsigned_abs() < (1u64 << 48))
        .map(|o| o as isize)
        .ok_or_else(|| format!("{} {} is out of range", what, i))
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
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(always)]
unsafe fn fast_field(L: *mut lua_State, ud: &ViewUd, idx: c_int) -> Option<(Prim, usize)> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let key = crate::luau::vm::slots::string(L, idx)?;
        let f = ud.st.fields.iter().find(|f| f.name.as_bytes() == key)?;
        match (&f.ty, f.count, f.bits, f.flexible || f.pointee.is_some()) {
            (CType::Prim(p), None, None, false) => {
                Some((*p, ud.ptr.try_at(f.offset as isize, p.size())?))
            }
            _ => None,
        }
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
            let key = get_str(L, 2).unwrap_or_default();
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

fn field_names(st: &crate::types::StructType) -> String {
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
            let key = get_str(L, 2).unwrap_or_default();
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
            match get_str(L, 2) {
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: as above.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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

/// `ffi.typeof(v)`: what a value is a value of: a view's StructType, a TypedPointer's
/// element type (a StructType or a type name), `"pointer"` for a RawPointer, a typed
/// value's type name. Reaches the type even where a C field named `type` hides `.type`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_typeof(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            if let Some(v) = get_ud::<ViewUd>(L, 1) {
                push_struct_type(L, v.st.clone());
            } else if let Some(p) = get_ud::<TypedPtrUd>(L, 1) {
                let elem = p.elem.clone();
                push_type(L, &elem);
            } else if get_ud::<RawPtrUd>(L, 1).is_some() {
                push_str(L, "pointer");
            } else if let Some((p, _)) = crate::luau::values::convert::get_typed(L, 1) {
                push_str(L, p.name());
            } else {
                return Err(format!(
                    "ffi.typeof: argument #1 (value): expected a StructView, TypedPointer, RawPointer or TypedValue, got {}",
                    describe(L, 1)
                ));
            }
            Ok(1)
        })
    }
}

/// `T.size`, `T.alignment`, `T:offsetof(name)`, `T.fields`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn struct_type_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let ud = get_ud::<StructTypeUd>(L, 1).ok_or("StructType expected")?;
            match get_str(L, 2) {
                Some(b"size") => ffi::lua_pushnumber(L, ud.st.size as f64),
                Some(b"alignment") => ffi::lua_pushnumber(L, ud.st.align as f64),
                Some(b"offsetof") => push_fn(L, struct_offsetof, c"offsetof"),
                Some(b"fields") => {
                    ffi::lua_createtable(L, ud.st.fields.len() as c_int, 0);
                    for (i, f) in ud.st.fields.iter().enumerate() {
                        ffi::lua_createtable(L, 0, 4);
                        push_str(L, &f.name);
                        set_field(L, -2, c"name");
                        push_type(L, &f.ty);
                        set_field(L, -2, c"type");
                        ffi::lua_pushnumber(L, f.offset as f64);
                        set_field(L, -2, c"offset");
                        if let Some(n) = f.count {
                            ffi::lua_pushnumber(L, n as f64);
                            set_field(L, -2, c"count");
                        }
                        ffi::lua_rawseti_(L, -2, (i + 1) as c_int);
                    }
                }
                _ => {
                    return Err(format!(
                "StructType: no member {} (expected 'size', 'alignment', 'offsetof' or 'fields')",
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
pub unsafe extern "C-unwind" fn struct_offsetof(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let ud = get_ud::<StructTypeUd>(L, 1)
                .ok_or("StructType:offsetof: call it with ':' on a StructType")?;
            let name = get_str(L, 2).ok_or_else(|| {
                format!(
                    "StructType:offsetof: argument #1 (name): expected a field name, got {}",
                    describe(L, 2)
                )
            })?;
            let f = find_field(&ud.st, name).ok_or_else(|| {
                format!(
                    "StructType:offsetof: argument #1 (name): no field '{}' (fields: {})",
                    String::from_utf8_lossy(name),
                    field_names(&ud.st)
                )
            })?;
            ffi::lua_pushnumber(L, f.offset as f64);
            Ok(1)
        })
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn struct_type_tostring(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let ud = get_ud::<StructTypeUd>(L, 1).ok_or("StructType expected")?;
            push_str(
                L,
                &format!(
                    "StructType({}size {}, alignment {}; {})",
                    ud.st
                        .name
                        .0
                        .as_ref()
                        .map_or(String::new(), |n| format!("{}: ", n)),
                    ud.st.size,
                    ud.st.align,
                    field_names(&ud.st)
                ),
            );
            Ok(1)
        })
    }
}
