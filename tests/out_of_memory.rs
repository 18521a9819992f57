//! An out-of-memory during an ffi operation is a Luau error, not an abort (issue 9): this
//! Luau raises errors as C++ exceptions, which must never meet `catch_unwind` or an
//! `extern "C"` frame. mlua's memory limit makes Luau's allocator fail on demand.

use mlua::prelude::*;

fn state() -> Lua {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    lua.globals()
        .set("TESTLIB", lune_ffi_testkit::TESTLIB)
        .unwrap();
    lua
}

/// Runs `body` (which must run out of memory) under a limit just above current usage,
/// then checks the error and that the state works again once the limit is lifted.
fn exhaust(lua: &Lua, setup: &str, body: &str) {
    lua.load(setup).exec().unwrap();
    let used = lua.used_memory();
    lua.set_memory_limit(used + 64 * 1024).unwrap();
    let err = lua.load(body).exec().expect_err("ran out of memory");
    lua.set_memory_limit(0).unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("not enough memory") || matches!(err, LuaError::MemoryError(_)),
        "an out-of-memory error, got: {}",
        msg
    );
    let v: i32 = lua
        .load("local ffi = require('@lune/ffi'); local a = ffi.arena(); local t = a:allocArray('i32', 4); t[3] = 7; return t[3]")
        .eval()
        .expect("the state works after the error");
    assert_eq!(v, 7);
}

#[test]
fn out_of_memory_in_metamethods_and_functions_is_a_luau_error() {
    let lua = state();
    exhaust(
        &lua,
        "ffi = require('@lune/ffi'); A = ffi.arena(); P = A:alloc(64); KEEP = {}",
        // every `P + 1` pushes a new RawPointer userdata from inside `guard`
        "for i = 1, 1e7 do KEEP[i] = P + 1 end",
    );
    exhaust(
        &lua,
        "KEEP = {}",
        "for i = 1, 1e7 do KEEP[i] = A:string('some bytes') end",
    );
}

#[test]
fn out_of_memory_inside_a_callback_is_a_luau_error() {
    let lua = state();
    exhaust(
        &lua,
        r#"
        ffi = require('@lune/ffi')
        LIB = ffi.load(TESTLIB)
        KEEP = {}
        -- the dispatcher pushes the pointer argument as a new RawPointer each call
        CB = ffi.callback(function(p) KEEP[#KEEP + 1] = p return p end, "pointer", { "pointer" })
        CALL = LIB:func("call_cb_echo_ptr", "pointer", { "pointer", "pointer" })
        P = ffi.arena():alloc(8)
        "#,
        "for i = 1, 1e7 do CALL(CB, P) end",
    );
}
