//! Issue 22's MinGW row: `ffi.cdef` of what `x86_64-w64-mingw32-gcc -E -dD` prints for
//! `<windows.h>` (made at build time by the testkit, since under Wine there is no C
//! compiler for `ffi.include`), then calls through those declarations:
//! `tests/cdef/windows_h.luau`. Runs in the windows lane (`ci/cross.sh windows`, under
//! Wine); on other targets this file has no test (the host parses the same text in
//! tests/cdecl_headers.rs, into a Win64 namespace).
#![cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]

/// check_eq and check_error for the scripts under tests/cdef.
const PRELUDE: &str = include_str!("cdef/prelude.luau");

#[test]
fn windows_h_declared_and_called() {
    let text = lune_ffi_testkit::WINDOWS_H;
    assert!(
        text.contains("GetSystemInfo"),
        "the testkit's windows_h.txt has no <windows.h> ({} bytes)",
        text.len()
    );
    let lua = mlua::Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let g = lua.globals();
    g.set("WINDOWS_H", text).unwrap();
    lua.load(PRELUDE).exec().unwrap();
    let src = include_str!("cdef/windows_h.luau");
    if let Err(e) = lua.load(src).set_name("@tests/cdef/windows_h.luau").exec() {
        panic!("tests/cdef/windows_h.luau failed:\n{}", e);
    }
    let secs: f64 = g.get("PARSE_SECONDS").unwrap();
    println!(
        "ffi.cdef of <windows.h> -E -dD ({} bytes, debug build, under Wine): {:.1} ms",
        text.len(),
        secs * 1000.0
    );
}
