//! Runs every script under tests/luau in a plain mlua Luau state with `@lune/ffi`
//! registered (no Lune runtime, so the cross-target lanes can run them too).

use mlua::prelude::*;

/// Globals every script can use. Scripts fail by raising an error.
const PRELUDE: &str = r##"
function check_eq(actual, expected, label)
    if actual ~= expected then
        error(string.format("%s: expected %s (%s), got %s (%s)", tostring(label or "value"),
            tostring(expected), typeof(expected), tostring(actual), typeof(actual)), 2)
    end
end

function check_error(fn, ...)
    local ok, err = pcall(fn)
    if ok then
        error("expected an error, but the call succeeded", 2)
    end
    err = tostring(err)
    for i = 1, select("#", ...) do
        local needle = select(i, ...)
        if not string.find(err, needle, 1, true) then
            error(string.format("error message %q does not contain %q", err, needle), 2)
        end
    end
    return err
end
"##;

fn run_script(path: &str) {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).expect("module loads");
    lua.register_module("@lune/ffi", ffi).expect("register");
    lua.globals()
        .set("TESTLIB", option_env!("LUNE_FFI_TESTLIB").unwrap_or(""))
        .unwrap();
    // "linux-x86_64", "linux-aarch64", "windows-x86_64", ...: for the few tests that are
    // platform-specific (C library names, threads, Win64-only APIs).
    lua.globals()
        .set(
            "PLATFORM",
            format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        )
        .unwrap();
    // The calling convention forced at build time for a test lane (LUNE_FFI_FORCE_ABI:
    // "apple_arm64" in `ci/cross.sh macos-arm64`), else "". There glibc's variadic
    // functions expect another convention than the engine's, so scripts call the
    // conformance library's Apple-convention snprintf instead.
    lua.globals()
        .set(
            "FORCED_ABI",
            option_env!("LUNE_FFI_FORCE_ABI").unwrap_or(""),
        )
        .unwrap();
    lua.load(PRELUDE).set_name("prelude").exec().unwrap();
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {}", path, e));
    // build_clib.rs leaves LUNE_FFI_TESTLIB empty where it cannot build the C library
    // (MSVC): say so loudly rather than fail on a missing file.
    if src.contains("TESTLIB") && option_env!("LUNE_FFI_TESTLIB").unwrap_or("").is_empty() {
        eprintln!("SKIPPED {}: no C conformance library for this target", path);
        return;
    }
    let result = lua.load(&src).set_name(format!("@{}", path)).exec();
    if let Err(e) = result {
        panic!("{} failed:\n{}", path, e);
    }
}

include!(concat!(env!("OUT_DIR"), "/luau_tests.rs"));
