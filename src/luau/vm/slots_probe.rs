//! The layout probe: `slots` reads the VM's structures directly, so once per process
//! a probe compares its reads with the C API's and turns the direct reads off on any
//! difference.

use crate::luau::vm::slots::{
    bounds, decode, lower_top, read_upvalue_ud, reserve, udata_of, via_api, Plain, StateHead,
    AGREES, DIFFERS, LAYOUT, UNCHECKED,
};
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;
use std::sync::atomic::Ordering;

/// Checks the layout against the API once per process: a probe function is called with
/// known values and compares the direct reads with what the API returns.
///
/// # Safety
/// `L` must be a live Luau state in protected mode (the probe call may raise on memory).
pub unsafe fn check_layout(L: *mut lua_State) {
    if LAYOUT.load(Ordering::Relaxed) != UNCHECKED {
        return;
    }
    // SAFETY: API calls on a live state; the probe only reads its arguments.
    unsafe {
        ffi::lua_pushcfunction(L, probe);
        ffi::lua_pushnumber(L, -1.25);
        ffi::lua_pushboolean(L, 1);
        ffi::lua_pushnil(L);
        ffi::lua_pushboolean(L, 0);
        ffi::lua_pushnumber(L, 2.0f64.powi(60));
        ffi::lua_pushstring(L, c"probe".as_ptr());
        ffi::lua_call(L, 6, 1);
        let mut agrees = ffi::lua_toboolean(L, -1) != 0;
        ffi::lua_pop(L, 1);
        // The upvalue read: a closure over a userdata of a tag nothing else uses.
        if agrees {
            let data = ffi::lua_newuserdatatagged(L, 16, PROBE_TAG) as *mut u64;
            data.write(0x5eed);
            ffi::lua_pushcclosurek(L, probe_upvalue, c"probe".as_ptr(), 1, None);
            ffi::lua_call(L, 0, 1);
            agrees = ffi::lua_toboolean(L, -1) != 0;
            ffi::lua_pop(L, 1);
        }
        LAYOUT.store(if agrees { AGREES } else { DIFFERS }, Ordering::Relaxed);
    }
}

/// A userdata tag no kind uses (tags go up to LUA_UTAG_LIMIT - 1 = 127).
const PROBE_TAG: c_int = 120;

/// Whether the direct upvalue read agrees with the API: pushes a boolean.
unsafe extern "C-unwind" fn probe_upvalue(L: *mut lua_State) -> c_int {
    // SAFETY: a C closure of `L` with one userdata upvalue of PROBE_TAG (check_layout).
    unsafe {
        let api = ffi::lua_touserdatatagged(L, ffi::lua_upvalueindex(1), PROBE_TAG);
        // The same userdata as an argument.
        ffi::lua_pushvalue(L, ffi::lua_upvalueindex(1));
        let (base, _) = bounds(L);
        // `read_upvalue_ud` takes the function's slot to be just below `base`.
        let ci = std::ptr::addr_of!((*(L as *const StateHead)).ci).read();
        let agrees = std::ptr::addr_of!((*ci).func).read() == base.sub(1)
            && !api.is_null()
            && (api as *const u64).read() == 0x5eed
            && read_upvalue_ud(L, PROBE_TAG) == api
            && read_upvalue_ud(L, PROBE_TAG + 1).is_null()
            && ffi::lua_touserdatatagged(L, 1, PROBE_TAG) == api
            && udata_of(base, PROBE_TAG) == api
            && udata_of(base, PROBE_TAG + 1).is_null();
        ffi::lua_pushboolean(L, agrees as c_int);
        1
    }
}

/// Whether the direct reads agree with the API for the probe's arguments (see
/// `check_layout`): pushes a boolean.
unsafe extern "C-unwind" fn probe(L: *mut lua_State) -> c_int {
    const EXPECTED: [Plain; 6] = [
        Plain::Number(-1.25),
        Plain::Bool(true),
        Plain::Nil,
        Plain::Bool(false),
        Plain::Number(1_152_921_504_606_846_976.0),
        Plain::Other(ffi::LUA_TSTRING),
    ];
    // SAFETY: a C function of `L` with its 6 arguments on the stack; the direct reads
    // stay within the stack bounds `top` gives unless the layout is wrong, which is
    // what `base <= top` and the small count guard against before any slot is read.
    unsafe {
        let (base, top) = bounds(L);
        let ci = std::ptr::addr_of!((*(L as *const StateHead)).ci).read();
        let sane = !base.is_null()
            && base <= top
            && top.offset_from(base) == 6
            && ffi::lua_gettop(L) == 6
            && !ci.is_null()
            // A C function's frame ends LUA_MINSTACK (20) slots above its arguments.
            && std::ptr::addr_of!((*ci).top).read().offset_from(top) == 20;
        let agrees =
            sane && EXPECTED.iter().enumerate().all(|(i, want)| {
                let idx = i as c_int + 1;
                decode(base.add(i)) == *want && via_api(L, idx) == *want
            }) && {
                // `top` follows a push.
                ffi::lua_pushnumber(L, 0.5);
                let (_, top) = bounds(L);
                top.offset_from(base) == 7 && decode(top.sub(1)) == Plain::Number(0.5)
            } && {
                // The direct writes, read back through the API.
                let ok = match reserve(L, 2) {
                    Some(mut p) => {
                        p.write((-3.5f64).to_bits(), ffi::LUA_TNUMBER);
                        p.write(1, ffi::LUA_TBOOLEAN);
                        p.finish(L);
                        true
                    }
                    None => false,
                } && ffi::lua_gettop(L) == 9
                    && ffi::lua_type(L, 8) == ffi::LUA_TNUMBER
                    && ffi::lua_tonumberx(L, 8, std::ptr::null_mut()) == -3.5
                    && ffi::lua_type(L, 9) == ffi::LUA_TBOOLEAN
                    && ffi::lua_toboolean(L, 9) == 1;
                if ok {
                    lower_top(L, 7);
                }
                ok && ffi::lua_gettop(L) == 7
            };
        ffi::lua_pushboolean(L, agrees as c_int);
        1
    }
}
