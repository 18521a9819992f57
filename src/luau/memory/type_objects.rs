//! Type objects: `ffi.typeof`, and the methods of StructType (fields, `offsetof`,
//! tostring).

use crate::luau::memory::access::find_field;
use crate::luau::memory::objects::{
    push_struct_type, push_type, RawPtrUd, StructTypeUd, TypedPtrUd, ViewUd,
};
use crate::luau::memory::pointers::field_names;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_ud, guard, push_fn, push_str, set_field};
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;

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
            match Frame::new(L).str(2) {
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
            let frame = Frame::new(L);
            let name = frame.str(2).ok_or_else(|| {
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
