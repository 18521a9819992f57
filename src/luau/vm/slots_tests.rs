/// Calls, callbacks and conversions that go through every reader and writer here.
const SCRIPT: &str = r#"
    local ffi = require("@lune/ffi")
    ffi.cdef("int abs(int); double fabs(double);")
    assert(ffi.C.abs(-3) == 3 and ffi.C.fabs(-2.5) == 2.5)
    local cb = ffi.callback(function(a, b, c) return if c then a + b else a - b end,
        "i32", { "i32", "f64", "bool" })
    local f = ffi.fn(cb, "i32", { "i32", "f64", "bool" })
    assert(f(2, 3, true) == 5 and f(2, 3, false) == -1)
    local ok, err = pcall(f, 2, 3.5, true)
    assert(not ok and string.find(err, "error in callback"), err)
    ok, err = pcall(f, 2, "3", true)
    assert(not ok and string.find(err, "argument #2"), err)
    local gcb = ffi.callback(function() return 1.5 end, "i32", {})
    local g = ffi.fn(gcb, "i32", {})
    ok, err = pcall(g)
    assert(not ok and string.find(err, "return value"), err)
    return "ok"
"#;

fn run() -> String {
    let lua = mlua::Lua::new();
    let ffi = crate::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    lua.load(SCRIPT).eval::<String>().unwrap()
}

#[test]
// The msvc lane links the unit tests without Luau (there is no MSVC C++ toolchain to
// build it here); the layout probe runs wherever the Luau scripts run.
#[cfg_attr(target_env = "msvc", ignore = "the msvc lane links no Luau")]
fn layout_agrees_with_this_luau_and_the_api_fallback_gives_the_same_results() {
    // The probe ran when the module was registered: the direct reads are in use with
    // the Luau this crate builds against (a Luau update that moves them fails here).
    assert_eq!(run(), "ok");
    assert!(super::in_use(), "Luau's stack layout differs from slots.rs");
    // The same script through the API alone.
    super::force(false);
    let fallback = std::panic::catch_unwind(run);
    super::force(true);
    assert_eq!(fallback.unwrap(), "ok");
}
