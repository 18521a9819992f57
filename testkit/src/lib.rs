//! lune-ffi's test fixtures, as its tests and benches see them (build.rs makes them; a
//! dev-dependency of lune-ffi, so a crate that depends on lune-ffi never builds them).
//!
//! - [`TESTLIB`]: the absolute path of the C conformance library (`liblunetest.so`,
//!   `lunetest.dll`, `liblunetest.dylib`), empty when it was not built (MSVC targets, or
//!   `LUNE_FFI_SKIP_TESTLIB` set).
//! - [`WINDOWS_H`]: MinGW's `<windows.h>` as `gcc -E -dD` prints it (windows-gnu only).
//! - [`script_tests!`]: one `#[test]` per script under tests/luau and per generated
//!   difftest script, each calling the runner the caller names.
//! - [`rust_files`] and [`dd_of`]: helpers several test files share (the source files a
//!   check walks; a C compiler's `-E -dD` output).

/// The C conformance library (tests/clib/*.c and the difftest cases) built for the target;
/// empty when it was not built.
pub const TESTLIB: &str = env!("LUNE_FFI_TESTLIB");

/// What the target's C compiler prints for `#include <windows.h>` with `-E -dD` on
/// x86_64-pc-windows-gnu (MinGW's gcc); empty on every other target.
pub const WINDOWS_H: &str = include_str!(concat!(env!("OUT_DIR"), "/windows_h.txt"));

// `script_tests!(run)`: `#[test] fn <name>() { run("<script path>"); }` for every script
// (build.rs writes it: the list of scripts and the generated scripts' paths are known only
// at build time). Handwritten scripts are named relative to lune-ffi's root
// ("tests/luau/..."), where cargo runs its tests; generated ones by absolute path.
include!(concat!(env!("OUT_DIR"), "/script_tests.rs"));

/// Every `.rs` file under `dir`, at any depth, sorted.
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// `<compiler> -E -dD` of `src` (C text with its `#include`s), or None when the compiler
/// is not installed. A compiler that runs and fails is a test failure.
pub fn dd_of(compiler: &str, src: &str) -> Option<String> {
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
