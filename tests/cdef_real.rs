//! `ffi.cdef` on real headers, used for real (issue 11): the Luau script
//! `tests/cdef/real_headers.luau` declares what `gcc -E -P` prints for zlib.h and
//! sqlite3.h, unchanged, and drives zlib and sqlite3 through the declarations. Needs gcc
//! and zlib1g-dev / libsqlite3-dev (`.ci/run` installs them); a missing header fails.

#![cfg(all(target_os = "linux", not(target_env = "msvc")))]

use std::io::Write;
use std::process::{Command, Stdio};

use mlua::prelude::*;

fn preprocess(header: &str) -> String {
    let mut child = Command::new("gcc")
        .args(["-E", "-P", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gcc must be installed to run this test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("#include <{}>\n", header).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "gcc -E -P of <{}> failed (install zlib1g-dev libsqlite3-dev):\n{}",
        header,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// sizeof(z_stream) as gcc lays it out here.
fn z_stream_size() -> f64 {
    let dir = std::env::temp_dir().join(format!("lune-ffi-cdef-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("z.c");
    let exe = dir.join("z");
    std::fs::write(
        &src,
        "#include <zlib.h>\n#include <stdio.h>\nint main(void){printf(\"%zu\\n\", sizeof(z_stream));return 0;}\n",
    )
    .unwrap();
    assert!(Command::new("gcc")
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap()
        .success());
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

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
fn zlib_and_sqlite3_from_their_preprocessed_headers() {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let g = lua.globals();
    g.set("ZLIB_H", preprocess("zlib.h")).unwrap();
    g.set("SQLITE3_H", preprocess("sqlite3.h")).unwrap();
    g.set("Z_STREAM_SIZE", z_stream_size()).unwrap();
    lua.load(PRELUDE).exec().unwrap();
    let src = std::fs::read_to_string("tests/cdef/real_headers.luau").unwrap();
    if let Err(e) = lua
        .load(&src)
        .set_name("@tests/cdef/real_headers.luau")
        .exec()
    {
        panic!("tests/cdef/real_headers.luau failed:\n{}", e);
    }
    let secs: f64 = g.get("PARSE_SECONDS").unwrap();
    println!(
        "ffi.cdef of preprocessed zlib.h + sqlite3.h (debug build): {:.1} ms",
        secs * 1000.0
    );
}
