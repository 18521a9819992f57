//! `ffi.include` (issue 22 item 4) with the host's C compiler: `tests/cdef/include.luau`
//! includes sqlite3.h, zlib.h and a header of its own and uses what they declare. Host
//! only: the cross lanes run their binaries under qemu or Wine, where the compiler found
//! would preprocess the host's headers, not the target's.
//!
//! Needs a C compiler and the Debian packages zlib1g-dev and libsqlite3-dev (.ci/run
//! installs them); a missing header is a failure, not a skip.

/// check_eq and check_error for the scripts under tests/cdef.
const PRELUDE: &str = include_str!("cdef/prelude.luau");

#[test]
fn include_sqlite3_zlib_and_an_alias_header() {
    let lua = mlua::Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let g = lua.globals();
    g.set("TESTLIB", lune_ffi_testkit::TESTLIB).unwrap();
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

/// `<compiler> -E -dD` of `#include`s of `headers`, or None when the compiler is absent.
fn dd_output(compiler: &str, headers: &[&str]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = match Command::new(compiler)
        .args(["-E", "-dD", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return None,
    };
    let src: String = headers
        .iter()
        .map(|h| format!("#include <{}>\n", h))
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(src.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} -E -dD failed:\n{}",
        compiler,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
/// gcc's and clang's `-E -dD` output of real headers parse unchanged, with their
/// constants. clang is optional (the test says so and passes without it); gcc is not.
fn dd_output_of_gcc_and_clang() {
    use lune_ffi::cdecl::{MacroValue, Namespace};
    let headers = [
        "sqlite3.h",
        "zlib.h",
        "expat.h",
        "stdio.h",
        "stdint.h",
        "errno.h",
        "fcntl.h",
        "sys/stat.h",
        "netinet/in.h",
        "math.h",
    ];
    // clang: glibc's <bits/floatn-common.h> (from stdio.h, math.h) declares
    // `typedef float _Float32;` for it, which ffi.cdef refuses today (issue 22 item 1).
    let clang_headers = ["sqlite3.h", "zlib.h", "errno.h", "fcntl.h", "netinet/in.h"];
    for (compiler, headers) in [("gcc", &headers[..]), ("clang", &clang_headers[..])] {
        let Some(text) = dd_output(compiler, headers) else {
            assert_ne!(compiler, "gcc", "gcc must be installed to run this test");
            println!("{} not found: its -dD output is not tested", compiler);
            continue;
        };
        let mut ns = Namespace::new();
        let t = std::time::Instant::now();
        let r = ns
            .cdef_report(&text)
            .unwrap_or_else(|e| panic!("{} -E -dD: {}", compiler, e));
        println!(
            "cdef of {} -E -dD ({} bytes): {:.1} ms, {} constants, {} aliases, {} skipped",
            compiler,
            text.len(),
            t.elapsed().as_secs_f64() * 1000.0,
            r.constants,
            r.aliases,
            r.skipped.len()
        );
        assert_eq!(ns.constant("SQLITE_ROW"), Some(100), "{}", compiler);
        assert_eq!(ns.constant("SQLITE_IOERR_READ"), Some(266), "{}", compiler);
        assert_eq!(ns.constant("EINVAL"), Some(22), "{}", compiler);
        assert_eq!(ns.constant("O_CREAT"), Some(0o100), "{}", compiler);
        assert_eq!(ns.constant("IPPROTO_TCP"), Some(6), "{}", compiler);
        assert!(
            matches!(ns.macro_constant("ZLIB_VERSION"), Some(MacroValue::Str(_))),
            "{}",
            compiler
        );
        if compiler == "clang" {
            continue;
        }
        assert_eq!(ns.constant("S_IFREG"), Some(0o100000), "{}", compiler);
        assert_eq!(
            ns.constant("INT64_MAX"),
            Some(i64::MAX as i128),
            "{}",
            compiler
        );
        assert_eq!(
            ns.constant("UINT64_MAX"),
            Some(u64::MAX as i128),
            "{}",
            compiler
        );
        assert_eq!(
            ns.macro_constant("M_PI"),
            Some(&MacroValue::Float(std::f64::consts::PI)),
            "{}",
            compiler
        );
        // glibc: `#define stat64 stat` style aliases; `#define EOF (-1)`.
        assert_eq!(ns.constant("EOF"), Some(-1), "{}", compiler);
        assert!(
            r.skipped.iter().any(|s| s == "__attribute_pure__"),
            "{}",
            compiler
        );
    }
}
