//! `ffi.typed(type, value)`: a number or boolean that says which C type it is, for the
//! places where nothing else does: a variadic argument (`ffi.C.printf("%ld", …)` without a
//! format attribute, or any declared variadic function), where a plain number would be
//! passed as a `double`. Anywhere else a value of a type is accepted as a call argument,
//! a typed value converts as its number would.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use crate::luau::values::convert::normalize_bits;
use crate::luau::values::convert::push_number_bits_to;
use crate::luau::values::convert::{
    encode_number, get_typed, push_number_bits, Site, TypedValueUd,
};
use crate::luau::vm::frame::guarded;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::fmt_num;
use crate::luau::vm::raw::LResult;
use crate::types::{CType, Prim};

/// Replaces the typed value at `idx` by its plain number or boolean, so the ordinary
/// conversion (with its range checks and messages) takes over. Does nothing for other
/// values.
///
/// # Safety
/// `L` must be a live Luau state with `idx` on its stack and room for one more value.
pub unsafe fn untype_in_place(L: *mut lua_State, idx: c_int) {
    // SAFETY: `idx` is on the stack of the live `L`, which has room for the one value
    // pushed (the caller's contract).
    unsafe {
        if let Some((p, bits)) = get_typed(L, idx) {
            let idx = ffi::lua_absindex(L, idx);
            push_number_bits(L, p, bits);
            ffi::lua_replace(L, idx);
        }
    }
}

/// `ffi.typed(type, value)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_typed(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe { guarded(L, typed_new) }
}

fn typed_new(f: &mut Frame) -> LResult<c_int> {
    const F: &str = "ffi.typed";
    let name = f.str(1).ok_or_else(|| {
        format!(
            "{}: argument #1 (type): expected a type name, got {}",
            F,
            f.describe(1)
        )
    })?;
    let prim = match Prim::from_bytes(name) {
        Some(p) => Some(p),
        None => match f.shared().ctypes.resolve(name) {
            Ok(r) if r.count.is_none() => match r.ty {
                CType::Prim(p) => Some(p),
                CType::Struct(_) => None,
            },
            Ok(_) => None,
            Err(e) => return Err(format!("{}: argument #1 (type): {}", F, e)),
        },
    };
    let prim = prim
        .filter(|p| {
            !matches!(
                p,
                Prim::Void | Prim::Pointer | Prim::String | Prim::String16
            )
        })
        .ok_or_else(|| {
            format!(
                "{}: argument #1 (type): expected a number or boolean type, got '{}'",
                F,
                String::from_utf8_lossy(name)
            )
        })?;
    // A typed value is itself typed: its type is given again (ffi.typed("int", v)).
    if let Some((p, bits)) = f.ud::<TypedValueUd>(2).map(|t| (t.prim, t.bits)) {
        push_number_bits_to(f, p, bits);
        f.replace(2);
    }
    let site = Site {
        func: F,
        what: &"argument #2 (value)",
    };
    let bits = encode_number(f, 2, prim, site)?;
    f.push_ud(TypedValueUd { prim, bits });
    Ok(1)
}

/// `tostring(v)`: `TypedValue<i64>(1)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn typed_tostring(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
            let t = f.ud::<TypedValueUd>(1).ok_or("TypedValue expected")?;
            let (p, bits) = (t.prim, normalize_bits(t.prim, t.bits));
            let v = match p {
                Prim::Bool => (bits != 0).to_string(),
                Prim::F32 => fmt_num(f32::from_bits(bits as u32) as f64),
                Prim::F64 => fmt_num(f64::from_bits(bits)),
                Prim::U8 | Prim::U16 | Prim::U32 | Prim::U64 | Prim::Usize => bits.to_string(),
                _ => (bits as i64).to_string(),
            };
            f.push_str(&format!("TypedValue<{}>({})", p.name(), v));
            Ok(1)
        })
    }
}

/// `v.value` (the number or boolean) and `v.type` (its type's name).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn typed_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
            let t = f.ud::<TypedValueUd>(1).ok_or("TypedValue expected")?;
            let (p, bits) = (t.prim, t.bits);
            match f.str(2) {
                Some(b"value") => push_number_bits_to(f, p, bits),
                Some(b"type") => f.push_str(p.name()),
                _ => {
                    return Err(format!(
                        "TypedValue: no member {} (it has .value and .type)",
                        f.describe(2)
                    ))
                }
            }
            Ok(1)
        })
    }
}
