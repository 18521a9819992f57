//! Record types from Luau: `ffi.struct(fields, options?)` and `ffi.union(fields)`, with
//! field specs `{ name, type, count? , bits = n?, align = n? }`. Unknown options and keys
//! are errors that name them: nothing is silently ignored.

use std::ffi::c_int;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::luau::memory::objects::push_struct_type;
use crate::luau::memory::types::resolve_type;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_index, guard, LResult};
use crate::types::{MemberSpec, RecordKind, RecordOptions, StructType, MAX_OBJECT_SIZE};

/// `ffi.struct(fields, options?)` → StructType. Options: `packed = true`
/// (`__attribute__((packed))`), `pack = n` (`#pragma pack(n)`), `align = n`
/// (`__attribute__((aligned(n)))`).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_struct(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe { guard(L, || record(L, "ffi.struct", RecordKind::Struct)) }
}

/// `ffi.union(fields, options?)` → a StructType whose fields all start at offset 0.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_union(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe { guard(L, || record(L, "ffi.union", RecordKind::Union)) }
}

/// # Safety
/// `L` must be the state of the running `ffi.struct`/`ffi.union` call.
unsafe fn record(L: *mut lua_State, F: &str, kind: RecordKind) -> LResult<c_int> {
    // SAFETY: `L` is the running `ffi.struct`/`ffi.union` call's state (the caller's
    // contract); each spec pushed is popped before the next.
    unsafe {
        if ffi::lua_type(L, 1) != ffi::LUA_TTABLE {
            return Err(format!(
                "{}: argument #1 (fields): expected a table of {{ name, type, count? }} specs, got {}",
                F,
                describe(L, 1)
            ));
        }
        let opts = options(L, 2, F, kind)?;
        let n = ffi::lua_objlen(L, 1);
        let mut specs = Vec::with_capacity(n);
        for i in 1..=n {
            ffi::lua_rawgeti_(L, 1, i as c_int);
            let r = member(L, -1, i, F);
            ffi::lua_pop(L, 1);
            specs.push(r?);
        }
        let st = StructType::with_options(specs, &opts).map_err(|e| format!("{}: {}", F, e))?;
        push_struct_type(L, Arc::new(st));
        Ok(1)
    }
}

/// Reads `t[key]` of the table at `t`, leaving it on the stack; None (popped) for nil.
///
/// # Safety
/// `t` must be an absolute index of a table.
unsafe fn field(L: *mut lua_State, t: c_int, key: &'static std::ffi::CStr) -> bool {
    // SAFETY: `t` is the absolute index of a table (the caller's contract); one value is
    // pushed, and popped again if nil.
    unsafe {
        ffi::lua_rawgetfield(L, t, key.as_ptr());
        if ffi::lua_isnil(L, -1) != 0 {
            ffi::lua_pop(L, 1);
            false
        } else {
            true
        }
    }
}

/// Every key of the table at `t` must be one of `known` (strings) or an index 1..=`max`.
///
/// # Safety
/// `t` must be an absolute index of a table.
unsafe fn only_keys(
    L: *mut lua_State,
    t: c_int,
    known: &[&str],
    max: i64,
    F: &str,
    what: &str,
) -> LResult<()> {
    // SAFETY: `t` is the absolute index of a table (the caller's contract), which
    // `lua_next` walks without allocating; each key and value is popped on every path.
    unsafe {
        ffi::lua_pushnil(L);
        while ffi::lua_next(L, t) != 0 {
            let ok = match Frame::new(L).str(-2) {
                Some(k) => known.iter().any(|n| n.as_bytes() == k),
                None => get_index(L, -2).is_some_and(|i| (1..=max).contains(&i)),
            };
            if !ok {
                let key = describe(L, -2);
                ffi::lua_pop(L, 2);
                let mut expected: Vec<String> = known.iter().map(|k| format!("'{}'", k)).collect();
                if max > 0 {
                    expected.insert(0, format!("indices 1 to {}", max));
                }
                return Err(format!(
                    "{}: {}: unknown key {} (expected {})",
                    F,
                    what,
                    key,
                    expected.join(", ")
                ));
            }
            ffi::lua_pop(L, 1);
        }
        Ok(())
    }
}

/// A power of two from 1 to 2^16 at the top of the stack (popped).
///
/// # Safety
/// A value must be on top of the stack.
unsafe fn pop_pow2(L: *mut lua_State, F: &str, what: &str) -> LResult<usize> {
    // SAFETY: a value is on top of the stack (the caller's contract), read, then popped.
    unsafe {
        let v = get_index(L, -1);
        let shown = describe(L, -1);
        ffi::lua_pop(L, 1);
        match v {
            Some(n) if (1..=1 << 16).contains(&n) && (n as u64).is_power_of_two() => Ok(n as usize),
            _ => Err(format!(
                "{}: {}: expected a power of two from 1 to 65536, got {}",
                F, what, shown
            )),
        }
    }
}

/// # Safety
/// `L` must be a live Luau state.
unsafe fn options(
    L: *mut lua_State,
    idx: c_int,
    F: &str,
    kind: RecordKind,
) -> LResult<RecordOptions> {
    let mut opts = RecordOptions {
        kind,
        ..RecordOptions::default()
    };
    // SAFETY: `L` is a live state (the caller's contract); each option read from the table
    // is popped before the next.
    unsafe {
        match ffi::lua_type(L, idx) {
            ffi::LUA_TNIL | ffi::LUA_TNONE => return Ok(opts),
            ffi::LUA_TTABLE => {}
            _ => {
                return Err(format!(
                    "{}: argument #2 (options): expected a table such as {{ packed = true }}, {{ pack = 4 }} or {{ align = 16 }}, got {}",
                    F,
                    describe(L, idx)
                ))
            }
        }
        let t = ffi::lua_absindex(L, idx);
        only_keys(
            L,
            t,
            &["packed", "pack", "align"],
            0,
            F,
            "argument #2 (options)",
        )?;
        if field(L, t, c"packed") {
            let v = ffi::lua_type(L, -1) == ffi::LUA_TBOOLEAN;
            let b = ffi::lua_toboolean(L, -1) != 0;
            let shown = describe(L, -1);
            ffi::lua_pop(L, 1);
            if !v {
                return Err(format!(
                    "{}: argument #2 (options): 'packed': expected a boolean, got {}",
                    F, shown
                ));
            }
            opts.packed = b;
        }
        if field(L, t, c"pack") {
            let n = pop_pow2(L, F, "argument #2 (options): 'pack'")?;
            if n > 16 {
                return Err(format!(
                    "{}: argument #2 (options): 'pack': expected 1, 2, 4, 8 or 16, got {}",
                    F, n
                ));
            }
            opts.pack = Some(n);
        }
        if field(L, t, c"align") {
            opts.align = Some(pop_pow2(L, F, "argument #2 (options): 'align'")?);
        }
    }
    Ok(opts)
}

/// One field spec: `{ name, type, count? }`, `{ name, type, bits = n }` (a bitfield of an
/// integer type) or `{ name, type, align = n }`.
///
/// # Safety
/// `L` must be a live Luau state with the spec at `idx`.
unsafe fn member(L: *mut lua_State, idx: c_int, i: usize, func: &str) -> LResult<MemberSpec> {
    // SAFETY: the spec is at `idx` on the live `L` (the caller's contract); each element
    // read from it is popped before the next.
    unsafe {
        let what = format!("argument #1 (fields), entry {}", i);
        if ffi::lua_type(L, idx) != ffi::LUA_TTABLE {
            return Err(format!(
                "{}: {}: expected a {{ name, type, count? }} table, got {}",
                func,
                what,
                describe(L, idx)
            ));
        }
        let t = ffi::lua_absindex(L, idx);
        only_keys(L, t, &["bits", "align"], 3, func, &what)?;
        ffi::lua_rawgeti_(L, t, 1);
        let name = Frame::new(L)
            .str(-1)
            .map(|s| String::from_utf8_lossy(s).into_owned());
        ffi::lua_pop(L, 1);
        let name = match name {
            Some(n) if !n.is_empty() => n,
            _ => {
                return Err(format!(
                    "{}: {}: expected a field name (a non-empty string) as element 1",
                    func, what
                ))
            }
        };
        let what = format!("{} ('{}')", what, name);
        ffi::lua_rawgeti_(L, t, 2);
        // A C array type (`"int[4]"`) gives the count; a count given too multiplies it.
        let r = resolve_type(&Frame::new(L), -1, func, &format!("{} type", what));
        ffi::lua_pop(L, 1);
        let r = r?;
        if r.ty.is_void() {
            return Err(format!(
                "{}: {} type: void is only valid as a return type",
                func, what
            ));
        }
        let (ty, array) = (r.ty, r.count);
        ffi::lua_rawgeti_(L, t, 3);
        let count = if ffi::lua_isnil(L, -1) != 0 {
            Ok(None)
        } else {
            match get_index(L, -1) {
                Some(c) if c >= 1 && (c as u64) <= MAX_OBJECT_SIZE as u64 => Ok(Some(c as usize)),
                Some(c) => Err(format!(
                    "{}: {}: array count must be a positive integer, got {}",
                    func, what, c
                )),
                None => Err(format!(
                    "{}: {}: array count must be a positive integer, got {}",
                    func,
                    what,
                    describe(L, -1)
                )),
            }
        };
        ffi::lua_pop(L, 1);
        let count = match (count?, array) {
            (c, None) => c,
            (None, Some(n)) => Some(n),
            // Both are at most MAX_OBJECT_SIZE, so their product can overflow usize: an
            // error, as any record too large is.
            (Some(c), Some(n)) => match c.checked_mul(n) {
                Some(total) => Some(total),
                None => {
                    return Err(format!(
                        "{}: {}: an array of {} x {} elements is too large",
                        func, what, c, n
                    ))
                }
            },
        };
        if count == Some(0) {
            return Err(format!("{}: {}: an array of zero elements (a flexible array member is declared with ffi.cdef)", func, what));
        }
        let mut spec = MemberSpec::new(name, ty, count);
        if field(L, t, c"bits") {
            let v = get_index(L, -1);
            let shown = describe(L, -1);
            ffi::lua_pop(L, 1);
            let max = (spec.ty.size() * 8) as i64;
            match v {
                Some(w) if (1..=max).contains(&w) && is_integer(&spec.ty) => {
                    if spec.count.is_some() {
                        return Err(format!("{}: {}: a bitfield cannot be an array", func, what));
                    }
                    spec.bits = Some(w as u32);
                }
                _ if !is_integer(&spec.ty) => {
                    return Err(format!(
                        "{}: {}: 'bits': a bitfield needs an integer type",
                        func, what
                    ))
                }
                _ => {
                    return Err(format!(
                        "{}: {}: 'bits': expected a width from 1 to {}, got {}",
                        func, what, max, shown
                    ))
                }
            }
        }
        if field(L, t, c"align") {
            spec.align = Some(pop_pow2(L, func, &format!("{}: 'align'", what))?);
        }
        Ok(spec)
    }
}

fn is_integer(t: &crate::types::CType) -> bool {
    use crate::types::Prim;
    matches!(
        t.prim(),
        Some(
            Prim::Bool
                | Prim::I8
                | Prim::U8
                | Prim::I16
                | Prim::U16
                | Prim::I32
                | Prim::U32
                | Prim::I64
                | Prim::U64
                | Prim::Isize
                | Prim::Usize
        )
    )
}
