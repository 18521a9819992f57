//! `ffi.include` (issue 22 item 4) with the host's C compiler: `tests/cdef/include.luau`
//! includes sqlite3.h, zlib.h and a header of its own and uses what they declare. Host
//! only: the cross lanes run their binaries under qemu or Wine, where the compiler found
//! would preprocess the host's headers, not the target's.
//!
//! Needs a C compiler and the Debian packages zlib1g-dev and libsqlite3-dev (.ci/run
//! installs them); a missing header is a failure, not a skip.

const PRELUDE: &str = r##"
function check_eq(actual, expected, label)
    if actual ~= expected then
        error(string.format("%s: expected %s, got %s", tostring(label), tostring(expected), tostring(actual)), 2)
    end
end
function check_error(fn, ...)
    local ok, err = pcall(fn)
    if ok then error("expected an error", 2) end
    for i = 1, select("#", ...) do
        local needle = select(i, ...)
        if not string.find(tostring(err), needle, 1, true) then
            error(string.format("error %q lacks %q", tostring(err), needle), 2)
        end
    end
end
"##;

#[test]
fn include_sqlite3_zlib_and_an_alias_header() {
    let lua = mlua::Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let g = lua.globals();
    g.set("TESTLIB", env!("LUNE_FFI_TESTLIB")).unwrap();
    lua.load(PRELUDE).exec().unwrap();
    let src = std::fs::read_to_string("tests/cdef/include.luau").unwrap();
    if let Err(e) = lua.load(&src).set_name("@tests/cdef/include.luau").exec() {
        panic!("tests/cdef/include.luau failed:\n{}", e);
    }
}

#[test]
/// Wall time of the first include (the compiler's run and the parse) and of the second
/// (the cached report), printed, not asserted beyond "the second is cheaper".
fn include_twice_costs_once() {
    let lua = mlua::Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let f: mlua::Function = lua
        .load("return function() return require('@lune/ffi').include('sqlite3.h').constants end")
        .eval()
        .unwrap();
    let t = std::time::Instant::now();
    let n1: f64 = f.call(()).unwrap();
    let first = t.elapsed();
    let t = std::time::Instant::now();
    let n2: f64 = f.call(()).unwrap();
    let second = t.elapsed();
    assert_eq!(n1, n2);
    assert!(second < first, "{:?} then {:?}", first, second);
    println!(
        "ffi.include(\"sqlite3.h\"): {:.1} ms (compiler and cdef), again: {:.3} ms (cached), {} constants",
        first.as_secs_f64() * 1000.0,
        second.as_secs_f64() * 1000.0,
        n1
    );
}
