//! Builds lune-ffi's test fixtures for the target under test: the C conformance library
//! (tests/clib/*.c plus the difftest C, see build_clib.rs), the difftest scripts
//! (tests/difftest/gen.rs), and `script_tests!`, one `#[test]` per script. This crate is a
//! dev-dependency of lune-ffi: none of this runs when another crate depends on lune-ffi.

use std::env;
use std::path::{Path, PathBuf};

#[path = "build_clib.rs"]
mod build_clib;
#[path = "../tests/difftest/gen.rs"]
mod difftest_gen;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    // lune-ffi's root: the fixtures' sources are under its tests/.
    let root = manifest
        .parent()
        .expect("the testkit lives in lune-ffi's root")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    // The differential generator: its C goes into the conformance library, its scripts
    // are run by tests/luau.rs like the handwritten ones.
    let (diff_c, diff_tests) = difftest_gen::write(&out_dir, &root.join("tests").join("difftest"));
    build_clib::build_test_clib(&root, &[diff_c]);
    generate_script_tests(&root, &out_dir, &diff_tests);
    windows_h(&out_dir);
}

/// Writes OUT_DIR/windows_h.txt: what the target's C compiler prints for `#include
/// <windows.h>` with `-E -dD` on x86_64-pc-windows-gnu (MinGW's gcc in `ci/cross.sh
/// windows`), empty for every other target. tests/windows_h.rs declares it with
/// `ffi.cdef` under Wine, where no C compiler is at hand for `ffi.include`.
fn windows_h(out_dir: &Path) {
    use std::io::Write;
    use std::process::Stdio;
    let path = out_dir.join("windows_h.txt");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os != "windows" || target_env != "gnu" || arch != "x86_64" {
        std::fs::write(&path, "").expect("write windows_h.txt");
        return;
    }
    let compiler = cc::Build::new().get_compiler();
    let mut child = compiler
        .to_command()
        .args(["-E", "-dD", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {:?} -E -dD: {}", compiler.path(), e));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"#include <windows.h>\n")
        .expect("write to the preprocessor");
    let out = child.wait_with_output().expect("the preprocessor's output");
    assert!(
        out.status.success(),
        "{:?} -E -dD of <windows.h> failed (install mingw-w64):\n{}",
        compiler.path(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&path, &out.stdout).expect("write windows_h.txt");
}

/// Writes OUT_DIR/script_tests.rs: the `script_tests!` macro, which expands to one
/// `#[test]` per script under tests/luau, so a new script needs no registration by hand.
/// A test that cannot run on the target is generated with `#[ignore = "why"]`, so it shows
/// as ignored, never as a pass: scripts under tests/luau/win64/ off x86-64 Windows, and
/// scripts that load the C conformance library (they name `TESTLIB`) on MSVC targets,
/// where build_clib.rs cannot build it. The generated difftest scripts (name, path under
/// OUT_DIR) get a test each too, named `difftest_<name>` (the name carries the seed and
/// the case range).
fn generate_script_tests(root: &Path, out_dir: &Path, generated: &[(String, PathBuf)]) {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let luau_dir = root.join("tests").join("luau");
    println!("cargo:rerun-if-changed={}", luau_dir.display());
    let mut scripts = Vec::new();
    collect_scripts(&luau_dir, &mut scripts);
    scripts.sort();
    let mut tests = String::new();
    for path in &scripts {
        // Named relative to lune-ffi's root, where cargo runs its tests (and as the
        // scripts' chunk names show in messages).
        let rel = path
            .strip_prefix(root)
            .expect("a script under tests/luau")
            .to_string_lossy()
            .replace('\\', "/");
        let name: String = rel
            .trim_start_matches("tests/luau/")
            .trim_end_matches(".luau")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let ignore =
            if rel.starts_with("tests/luau/win64/") && (os != "windows" || arch != "x86_64") {
                Some("Win64-only script (tests/luau/win64/)")
            } else if text.contains("TESTLIB") && target_env == "msvc" {
                Some("needs the C conformance library, which MSVC targets cannot build")
            } else {
                None
            };
        let attr = ignore
            .map(|why| format!("#[ignore = \"{}\"]\n", why))
            .unwrap_or_default();
        tests.push_str(&format!(
            "#[test]\n{}fn {}() {{\n    $run(\"{}\");\n}}\n\n",
            attr, name, rel
        ));
    }
    for (name, path) in generated {
        let attr = if target_env == "msvc" {
            "#[ignore = \"needs the C conformance library, which MSVC targets cannot build\"]\n"
        } else {
            ""
        };
        tests.push_str(&format!(
            "#[test]\n{}fn difftest_{}() {{\n    $run({:?});\n}}\n\n",
            attr,
            name,
            path.to_string_lossy()
        ));
    }
    let src = format!(
        "/// One `#[test]` per script, each calling `$run(\"<script path>\")`.\n\
         #[macro_export]\n\
         macro_rules! script_tests {{\n    ($run:ident) => {{\n{tests}    }};\n}}\n"
    );
    std::fs::write(out_dir.join("script_tests.rs"), src).expect("write script_tests.rs");
}

fn collect_scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            println!("cargo:rerun-if-changed={}", p.display());
            collect_scripts(&p, out);
        } else if p.extension().is_some_and(|x| x == "luau") {
            out.push(p);
        }
    }
}
