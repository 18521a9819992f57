//! A callback pointer that C keeps after its Lua state has closed must not run, crash or
//! hang, whichever thread calls it: it returns a zero value.

use mlua::prelude::*;

#[test]
fn callback_of_a_closed_state_returns_zero_from_any_thread() {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let address: f64 = lua
        .load(
            r#"
            local ffi = require("@lune/ffi")
            KEEP = ffi.callback(function(x) return x + 1 end, "i32", { "i32" })
            -- it works while the state lives
            local f = ffi.fn(KEEP.ptr, "i32", { "i32" })
            assert(f(41) == 42)
            return KEEP.ptr.address
        "#,
        )
        .eval()
        .unwrap();
    drop(lua);
    let code = address as usize;
    assert_ne!(code, 0);
    type Cb = extern "C" fn(i32) -> i32;
    // SAFETY: the thunk stays mapped for the life of the process and implements this C
    // type; the dispatcher refuses to run a callback of a closed state.
    let cb: Cb = unsafe { std::mem::transmute::<usize, Cb>(code) };
    assert_eq!(cb(41), 0, "same thread");
    let from_worker = std::thread::spawn(move || cb(41)).join().unwrap();
    assert_eq!(from_worker, 0, "worker thread");
}
