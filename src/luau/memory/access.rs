//! Reading and writing typed values in memory: the shared core of `tp[i]`, `view.field`,
//! `ffi.read`/`ffi.write` and struct values built from tables.

use std::borrow::Cow;
use std::ffi::c_int;
use std::ptr;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::luau::memory::objects::{
    pointer_value, push_foreign_ptr, push_pointer_to, push_typed_to, push_view, ViewUd,
};
use crate::luau::values::convert::{
    check_bool, check_int, encode_number, load_bits, normalize_bits, push_cstring, push_i64,
    push_number_bits, push_u64, push_utf16, store_bits, Site,
};
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_index, get_ud, push_str, LResult};
use crate::luau::vm::slots;
use crate::memory::{Owner, Ptr};
use crate::types::Pointee;
use crate::types::{CType, Field, Prim, StructType};

/// The one way a primitive value reaches Luau, from its register or memory image:
/// call and callback results, callback arguments, memory reads. Upper bits beyond the
/// type's width are ignored; pointers from C come back as RawPointers (NULL as nil),
/// `string` as a Luau string (nil for NULL).
///
/// # Safety
/// `L` must be a live Luau state with room for one more value; for `string` and
/// `string16`, `bits` must be NULL or the address of a NUL-terminated string of that width
/// (as C gave it). Luau errors raised inside unwind through here (see `raw`).
#[inline(always)]
pub unsafe fn push_bits(L: *mut lua_State, p: Prim, bits: u64) {
    // SAFETY: `L` is a live state (the caller's contract); either branch pushes one value.
    unsafe {
        match p {
            Prim::Pointer | Prim::String | Prim::String16 => push_ref_bits(L, p, bits),
            // Numbers and booleans inline: the hot reads and results.
            _ => push_number_bits(L, p, normalize_bits(p, bits)),
        }
    }
}

/// A call's scalar result: `push_bits`, or for a pointer whose pointee is declared, a
/// TypedPointer of it (nil for NULL).
///
/// # Safety
/// As `push_bits`.
#[inline(always)]
pub unsafe fn push_result(L: *mut lua_State, p: Prim, bits: u64, pointee: Option<&Pointee>) {
    // SAFETY: `L` is live with room for one value (the caller's contract), the one either
    // branch pushes.
    unsafe {
        match pointee {
            Some(to) if p == Prim::Pointer => push_pointer_to(L, bits as usize, to),
            _ => push_bits(L, p, bits),
        }
    }
}

/// `push_bits` for a pointer or string.
///
/// # Safety
/// As `push_bits`.
#[inline(never)]
unsafe fn push_ref_bits(L: *mut lua_State, p: Prim, bits: u64) {
    // SAFETY: a string's `bits` is NULL or a NUL-terminated string of its width (the
    // caller's contract), all the branch reads; `L` has room for the one value pushed.
    unsafe {
        match p {
            Prim::Pointer => push_foreign_ptr(L, bits as usize),
            Prim::String => push_cstring(L, bits as usize),
            _ => push_utf16(L, bits as usize),
        }
    }
}

/// Pushes the value of type `ty` stored at `addr` (already bounds-checked). Struct values
/// come back as zero-copy views sharing `base`'s provenance.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// `addr` must be readable for `ty.size()` bytes.
#[inline]
pub unsafe fn push_at(L: *mut lua_State, ty: &CType, addr: usize, base: &Ptr) {
    // SAFETY: `addr` is readable for `ty.size()` bytes (the caller's contract); either
    // branch pushes one value.
    unsafe {
        match ty {
            CType::Prim(p) => push_prim_at(L, *p, addr),
            CType::Struct(st) => push_view(L, base.with_addr(addr), st.clone()),
        }
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// `addr` must be readable for `p.size()` bytes.
#[inline]
pub unsafe fn push_prim_at(L: *mut lua_State, p: Prim, addr: usize) {
    // The hot element and field types load and push under one match on the type:
    // through `push_bits` the type is matched three times (load, narrow, convert),
    // which callgrind counted as a sixth of a field read (issue 23 item 2). Same
    // values as `push_bits` gives.
    let s = addr as *const u8;
    // SAFETY: `addr` is readable for `p.size()` bytes (the caller's contract), the width of
    // each read; each branch pushes one value on the live `L`.
    unsafe {
        match p {
            Prim::F32 => slots::push_number(L, ptr::read_unaligned(s as *const f32) as f64),
            Prim::F64 => slots::push_number(L, ptr::read_unaligned(s as *const f64)),
            Prim::I32 => slots::push_number(L, ptr::read_unaligned(s as *const i32) as f64),
            _ => push_bits(L, p, load_bits(addr, p)),
        }
    }
}

/// Stores the Luau value at `idx` as a `ty` at `addr` (already bounds-checked for
/// `ty.size()` bytes). `dest` owns the memory at `addr`: when it is memory the module
/// owns, a pointer stored there keeps its own owner alive (see `memory::KeepAlive`);
/// scratch memory passes `Owner::Foreign`.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// `addr` must be writable for `ty.size()` bytes.
pub unsafe fn store_at(
    L: *mut lua_State,
    idx: c_int,
    ty: &CType,
    addr: usize,
    dest: &Owner,
    site: Site,
) -> LResult<()> {
    // SAFETY: `addr` is writable for `ty.size()` bytes (the caller's contract), all that
    // `store_value` writes.
    unsafe { store_value(L, idx, ty, addr, dest, site, Fill::Overwrite) }
}

/// What the bytes a store writes into held before: initialisers write into memory just
/// allocated and zeroed, and then touch only what the value gives (a table initialiser
/// `{}` for a 2^31-element array field costs nothing, instead of 16 GiB of writes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Fresh zeroed memory that holds no pointer yet.
    Zeroed,
    /// Memory in use: what the value does not give is zeroed (NULL for pointers).
    Overwrite,
}

/// `store_at` for memory in the state `fill` says.
///
/// # Safety
/// As `store_at`.
unsafe fn store_value(
    L: *mut lua_State,
    idx: c_int,
    ty: &CType,
    addr: usize,
    dest: &Owner,
    site: Site,
    fill: Fill,
) -> LResult<()> {
    // SAFETY: `addr` is writable for `ty.size()` bytes (the caller's contract), all that
    // either branch writes.
    unsafe {
        match ty {
            CType::Prim(p) => store_prim_at(L, idx, *p, addr, dest, site),
            CType::Struct(st) => store_struct(L, idx, st, addr, dest, site, fill),
        }
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// `addr` must be writable for `p.size()` bytes.
pub unsafe fn store_prim_at(
    L: *mut lua_State,
    idx: c_int,
    p: Prim,
    addr: usize,
    dest: &Owner,
    site: Site,
) -> LResult<()> {
    let bits = match p {
        Prim::Pointer | Prim::String | Prim::String16 => {
            let keep = dest.keeps_alive();
            // SAFETY: `idx` is on the stack of the live `L` (the caller's contract), and
            // stays there: nothing here pops.
            unsafe {
                match pointer_value(L, idx, keep, site)? {
                    Some(ptr) => {
                        if keep {
                            dest.keep(addr, &ptr.owner);
                        }
                        ptr.addr as u64
                    }
                    None if p != Prim::Pointer && ffi::lua_type(L, idx) == ffi::LUA_TSTRING => {
                        return Err(site.err(
                        "a pointer (a Luau string cannot be stored in memory: copy it with arena:string(s))",
                        describe(L, idx),
                    ));
                    }
                    None => return Err(site.err("a pointer or nil", describe(L, idx))),
                }
            }
        }
        // SAFETY: `L` is a live state (the caller's contract), only read through the frame.
        _ => encode_number(&unsafe { Frame::new(L) }, idx, p, site)?,
    };
    // SAFETY: `addr` is writable for `p.size()` bytes (the caller's contract), and `p` is
    // not `Void` (`encode_number` refuses it).
    unsafe { store_bits(addr, p, bits) };
    Ok(())
}

/// A struct value: a StructView of a struct with the same layout (copied), or a table of
/// fields (missing fields are zero, unknown ones are an error).
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// `addr` must be writable for `st.size` bytes.
pub unsafe fn store_struct_at(
    L: *mut lua_State,
    idx: c_int,
    st: &Arc<StructType>,
    addr: usize,
    dest: &Owner,
    site: Site,
) -> LResult<()> {
    // SAFETY: `addr` is writable for `st.size` bytes (the caller's contract), all that
    // `store_struct` writes.
    unsafe { store_struct(L, idx, st, addr, dest, site, Fill::Overwrite) }
}

/// `store_struct_at` into memory `arena:new` has just allocated (zeroed, no pointers).
///
/// # Safety
/// As `store_struct_at`.
pub unsafe fn init_struct_at(
    L: *mut lua_State,
    idx: c_int,
    st: &Arc<StructType>,
    addr: usize,
    dest: &Owner,
    site: Site,
) -> LResult<()> {
    // SAFETY: `addr` is writable for `st.size` bytes (the caller's contract), all that
    // `store_struct` writes.
    unsafe { store_struct(L, idx, st, addr, dest, site, Fill::Zeroed) }
}

/// # Safety
/// As `store_struct_at`.
unsafe fn store_struct(
    L: *mut lua_State,
    idx: c_int,
    st: &Arc<StructType>,
    addr: usize,
    dest: &Owner,
    site: Site,
    fill: Fill,
) -> LResult<()> {
    // SAFETY: `addr` is writable for `st.size` bytes (the caller's contract), all the copy
    // or the fields write; the stack is checked for this level's pushes before they happen.
    unsafe {
        if let Some(v) = get_ud::<ViewUd>(L, idx) {
            if !Arc::ptr_eq(&v.st, st) && *v.st != **st {
                return Err(site.err(
                    "a StructView of the same struct type",
                    "a view of a different struct".into(),
                ));
            }
            let src = v
                .ptr
                .check(0, st.size)
                .map_err(|e| site.err("a valid StructView", e.to_string()))?;
            std::ptr::copy(src as *const u8, addr as *mut u8, st.size);
            return Ok(());
        }
        if ffi::lua_type(L, idx) != ffi::LUA_TTABLE {
            return Err(site.err("a StructView or a table of fields", describe(L, idx)));
        }
        // Nested tables recurse: make room for this level's key, value and field.
        if ffi::lua_checkstack(L, 4) == 0 {
            return Err(site.err(
                "a table nested less deeply",
                "a table nested too deeply".into(),
            ));
        }
        let t = ffi::lua_absindex(L, idx);
        if fill == Fill::Overwrite {
            std::ptr::write_bytes(addr as *mut u8, 0, st.size);
        }
        // Unknown keys are typos more often than not: refuse them.
        ffi::lua_pushnil(L);
        while ffi::lua_next(L, t) != 0 {
            let known = Frame::new(L)
                .str(-2)
                .is_some_and(|k| find_field(st, k).is_some());
            if !known {
                let key = describe(L, -2);
                ffi::lua_pop(L, 2);
                return Err(site.err("a table whose keys are field names", format!("key {}", key)));
            }
            ffi::lua_pop(L, 1);
        }
        store_fields_from(L, t, st, addr, dest, site, fill)
    }
}

/// Stores the fields of `st` that the table at `t` names (its keys already checked), the
/// members of anonymous struct and union members included, by their own names.
///
/// # Safety
/// As `store_struct_at`; `t` is an absolute index.
unsafe fn store_fields_from(
    L: *mut lua_State,
    t: c_int,
    st: &StructType,
    addr: usize,
    dest: &Owner,
    site: Site,
    fill: Fill,
) -> LResult<()> {
    // SAFETY: `addr` is writable for `st.size` bytes (the caller's contract) and every
    // field lies in them; `t` is absolute, so the pushes here do not move it.
    unsafe {
        for f in &st.fields {
            if f.name.is_empty() {
                if let (CType::Struct(inner), None) = (&f.ty, f.bits) {
                    store_fields_from(L, t, inner, addr + f.offset, dest, site, fill)?;
                }
                continue;
            }
            push_str(L, &f.name);
            ffi::lua_rawget(L, t);
            if ffi::lua_type(L, -1) != ffi::LUA_TNIL {
                let what = format!("{}, field '{}'", site.what, f.name);
                let sub = Site {
                    func: site.func,
                    what: &what,
                };
                let r = store_field_in(L, -1, f, addr + f.offset, dest, sub, fill);
                if r.is_err() {
                    ffi::lua_pop(L, 1);
                    return r;
                }
            }
            ffi::lua_pop(L, 1);
        }
        Ok(())
    }
}

fn pointer_elem(ty: &CType) -> bool {
    matches!(
        ty,
        CType::Prim(Prim::Pointer | Prim::String | Prim::String16)
    )
}

/// Stores into a struct field: scalars, nested structs and arrays (from a table of
/// elements, or a string for `u8`/`i8` arrays, copied with its NUL).
///
/// An array from a table fills elements 1..count, nil meaning zero (NULL for pointers),
/// for every element type: `{ p, nil, q }` stores all three. A key outside 1..count is an
/// error naming it, so no element is ever dropped silently.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// `addr` must be writable for the field's bytes (`f.byte_size()`, or its bitfield's
/// span).
pub unsafe fn store_field(
    L: *mut lua_State,
    idx: c_int,
    f: &Field,
    addr: usize,
    dest: &Owner,
    site: Site,
) -> LResult<()> {
    // SAFETY: `addr` is writable for the field's bytes (the caller's contract), all that
    // `store_field_in` writes.
    unsafe { store_field_in(L, idx, f, addr, dest, site, Fill::Overwrite) }
}

/// `store_field` into memory `arena:new` has just allocated (zeroed, no pointers): only
/// what the value gives is written.
///
/// # Safety
/// As `store_field`.
pub unsafe fn init_field_at(
    L: *mut lua_State,
    idx: c_int,
    f: &Field,
    addr: usize,
    dest: &Owner,
    site: Site,
) -> LResult<()> {
    // SAFETY: `addr` is writable for the field's bytes (the caller's contract), all that
    // `store_field_in` writes.
    unsafe { store_field_in(L, idx, f, addr, dest, site, Fill::Zeroed) }
}

/// `store_field` into memory in the state `fill` says.
///
/// # Safety
/// As `store_field`.
unsafe fn store_field_in(
    L: *mut lua_State,
    idx: c_int,
    f: &Field,
    addr: usize,
    dest: &Owner,
    site: Site,
    fill: Fill,
) -> LResult<()> {
    // SAFETY: `addr` is writable for the field's bytes (the caller's contract): the
    // bitfield's span, the array's `n` elements or the value's size, whichever is written.
    unsafe {
        if let Some(bf) = f.bits {
            return store_bitfield(L, idx, f, bf, addr, site);
        }
        if f.flexible {
            return Err(site.err(
                "no value (a flexible array member is set through its elements: v.field[i] = x)",
                describe(L, idx),
            ));
        }
        let Some(n) = f.count else {
            return store_value(L, idx, &f.ty, addr, dest, site, fill);
        };
        let is_bytes = matches!(f.ty, CType::Prim(Prim::U8 | Prim::I8));
        if is_bytes {
            if let Some(s) = Frame::new(L).str(idx) {
                if s.len() + 1 > n {
                    return Err(site.err(
                        &format!(
                            "a string of at most {} bytes (the field holds {} with its NUL)",
                            n - 1,
                            n
                        ),
                        format!("a string of {} bytes", s.len()),
                    ));
                }
                std::ptr::copy_nonoverlapping(s.as_ptr(), addr as *mut u8, s.len());
                if fill == Fill::Overwrite {
                    std::ptr::write_bytes((addr + s.len()) as *mut u8, 0, n - s.len());
                }
                return Ok(());
            }
        }
        if ffi::lua_type(L, idx) != ffi::LUA_TTABLE {
            let exp = if is_bytes {
                format!("a string or a table of up to {} elements", n)
            } else {
                format!("a table of up to {} elements", n)
            };
            return Err(site.err(&exp, describe(L, idx)));
        }
        let t = ffi::lua_absindex(L, idx);
        let len = ffi::lua_objlen(L, t);
        if len > n {
            return Err(site.err(
                &format!("a table of up to {} elements", n),
                format!("a table of {} elements", len),
            ));
        }
        // Every key must be an element index 1..n: anything else would be lost.
        ffi::lua_pushnil(L);
        while ffi::lua_next(L, t) != 0 {
            let k = get_index(L, -2).filter(|k| (1..=n as i64).contains(k));
            if k.is_none() {
                let key = describe(L, -2);
                ffi::lua_pop(L, 2);
                return Err(site.err(
                    &format!("a table of up to {} elements (keys 1 to {})", n, n),
                    format!("a table with key {}", key),
                ));
            }
            ffi::lua_pop(L, 1);
        }
        let size = f.ty.size();
        if fill == Fill::Overwrite {
            std::ptr::write_bytes(addr as *mut u8, 0, size * n);
            // Elements the table leaves out become NULL: their slots keep nothing alive.
            if pointer_elem(&f.ty) && dest.keeps_alive() {
                for i in 0..n {
                    dest.keep(addr + i * size, &Owner::Foreign);
                }
            }
        }
        // Only the elements the table holds: the work follows the table, not the array.
        ffi::lua_pushnil(L);
        while ffi::lua_next(L, t) != 0 {
            // Every key was checked above to be an element index 1..n.
            let i = get_index(L, -2).unwrap_or(1) as usize - 1;
            let what = format!("{}[{}]", site.what, i + 1);
            let sub = Site {
                func: site.func,
                what: &what,
            };
            let r = store_value(L, -1, &f.ty, addr + i * size, dest, sub, fill);
            if r.is_err() {
                ffi::lua_pop(L, 2);
                return r;
            }
            ffi::lua_pop(L, 1);
        }
        Ok(())
    }
}

/// The field named `key`: a direct member, or one inside anonymous struct or union
/// members at any depth (C11: `v.a` reaches `struct { union { int a; }; }`), with its
/// offset from the start of `st`.
pub fn find_field<'a>(st: &'a StructType, key: &[u8]) -> Option<Cow<'a, Field>> {
    if key.is_empty() {
        return None;
    }
    if let Some(f) = st.fields.iter().find(|f| f.name.as_bytes() == key) {
        return Some(Cow::Borrowed(f));
    }
    if !st.fields.iter().any(|f| f.name.is_empty()) {
        return None;
    }
    st.lookup(std::str::from_utf8(key).ok()?).map(Cow::Owned)
}

/// Pushes a struct field: scalars by value, nested structs as views, arrays as typed
/// pointers bounded to the array.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn push_field(L: *mut lua_State, f: &Field, base: &Ptr) -> LResult<()> {
    if let Some(bf) = f.bits {
        let addr = base.check(f.offset as isize, bf.span())?;
        // SAFETY: `base.check` accepted `bf.span()` bytes at `addr` (memory from C is
        // trusted, as the seed says).
        let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, bf.span()) };
        let v = bf.extract(bytes).unwrap_or(0);
        // SAFETY: `L` is a live state (the caller's contract); each branch pushes one value.
        unsafe {
            if f.ty.prim() == Some(Prim::Bool) {
                ffi::lua_pushboolean(L, (v != 0) as c_int);
            } else if bf.signed {
                push_i64(L, v as i64);
            } else {
                push_u64(L, v as u64);
            }
        }
        return Ok(());
    }
    if f.flexible {
        // `T x[]` (or GNU `T x[0]`): the struct's size excludes it. Over memory from C
        // nothing bounds it, as any pointer from C; over memory the module owns it holds
        // what the allocation has after the fixed part, and not a byte more.
        let addr = base.check(f.offset as isize, 0)?;
        let mut p = base.with_addr(addr);
        if let Some(rest) = base.remaining() {
            p.base = addr;
            p.len = rest.saturating_sub(addr - base.addr);
        }
        // SAFETY: `L` is a live state (the caller's contract); the TypedPointer is its one
        // push.
        unsafe { push_typed_to(L, p, f.ty.clone(), f.pointee.clone()) };
        return Ok(());
    }
    match f.count {
        None => {
            let addr = base.check(f.offset as isize, f.ty.size())?;
            // SAFETY: `base.check` accepted `f.ty.size()` bytes at `addr` (memory from C is
            // trusted, as the seed says); either branch pushes one value on the live `L`.
            unsafe {
                match &f.pointee {
                    // A declared `T *` field reads as a TypedPointer of T.
                    Some(to) => push_pointer_to(L, load_bits(addr, Prim::Pointer) as usize, to),
                    None => push_at(L, &f.ty, addr, base),
                }
            }
        }
        Some(n) => {
            let bytes = f.ty.size() * n;
            let addr = base.check(f.offset as isize, bytes)?;
            let mut p = base.with_addr(addr);
            p.base = addr;
            p.len = bytes;
            // SAFETY: `L` is a live state (the caller's contract); the TypedPointer is its
            // one push.
            unsafe { push_typed_to(L, p, f.ty.clone(), f.pointee.clone()) };
        }
    }
    Ok(())
}

/// Stores an integer into a bitfield at `addr` (the field's first byte, `span()` bytes
/// checked by the caller), leaving the neighbouring bits as they were.
///
/// # Safety
/// `L` must be a live Luau state; `span()` bytes at `addr` must be writable.
unsafe fn store_bitfield(
    L: *mut lua_State,
    idx: c_int,
    f: &Field,
    bf: crate::types::BitField,
    addr: usize,
    site: Site,
) -> LResult<()> {
    let p = f.ty.prim().unwrap_or(Prim::I64);
    // SAFETY: `L` is a live state (the caller's contract), only read through the frame.
    let frame = unsafe { Frame::new(L) };
    // A `_Bool` bitfield takes a boolean, as a `bool` field does.
    let bits = if p == Prim::Bool {
        check_bool(&frame, idx, site)? as u64
    } else {
        check_int(&frame, idx, p, site)?
    };
    let v = if bf.signed {
        bits as i64 as i128
    } else {
        bits as i128
    };
    // SAFETY: `bf.span()` bytes at `addr` are writable (the caller's contract).
    let bytes = unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, bf.span()) };
    bf.insert(bytes, v).map_err(|e| {
        site.err(
            &format!("an integer from {} to {}", bf.min(), bf.max()),
            format!("{} ({})", v, e),
        )
    })
}
