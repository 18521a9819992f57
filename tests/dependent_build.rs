//! A crate that depends on lune-ffi builds the trampoline and none of the test fixtures
//! (issue 20 item 5): a scratch crate with `lune-ffi = { path = ..., default-features =
//! false }` is built with `cargo build --offline` into its own target directory, and
//! that directory is searched for what testkit/ makes for lune-ffi's own tests.
//!
//! Ignored by default (a first build compiles lune-ffi and its Rust dependencies: about a
//! minute); `ci/dependent_build.sh`, run by .ci/run, runs it. By hand:
//! `cargo test --test dependent_build -- --ignored`.
//!
//! Luau's C++ (mlua-sys's build script, `links = "lua"`) is not compiled: it is overridden
//! with `--config target.<host>.lua.rustc-link-lib=[]`, as ci/cross.sh does for the Apple
//! targets. It is not lune-ffi's, it is most of the build time, and the scratch crate is a
//! library, so nothing is linked against it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// File and directory names that only the test fixtures have: the C conformance library
/// (per target format), its objects' directory, the difftest generator's output, the
/// generated test list (today's `script_tests.rs`, the old build.rs's `luau_tests.rs`), and
/// the testkit's own build directories.
const FIXTURE_NAMES: [&str; 8] = [
    "liblunetest.so",
    "liblunetest.dylib",
    "lunetest.dll",
    "lunetest-obj",
    "difftest",
    "difftest.c",
    "luau_tests.rs",
    "script_tests.rs",
];

#[test]
#[ignore = "builds a scratch dependent crate (about a minute the first time): run by ci/dependent_build.sh"]
fn dependent_crate_builds_the_trampoline_and_no_test_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dependent_build");
    let target_dir = dir.join("target");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    // Its own `[workspace]`: it lives under lune-ffi's target directory, inside lune-ffi's
    // workspace directory, but is no member of it.
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"lune-ffi-dependent\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\nlune-ffi = {{ path = {:?}, default-features = false }}\n\n\
             [workspace]\n",
            root.to_string_lossy()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub use lune_ffi;\n").unwrap();
    // lune-ffi's lock file: the same versions it is tested with, all in the local registry
    // cache, so the offline build resolves (cargo drops the entries it does not need).
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    // Cargo does not empty a build script's OUT_DIR when it reruns it: what an older
    // lune-ffi (one whose build.rs built the fixtures) left in this directory would stay.
    // Such a build directory is removed, so cargo runs today's build script afresh; if it
    // builds fixtures again, the checks below see them.
    if let Ok(entries) = std::fs::read_dir(target_dir.join("debug").join("build")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("lune-ffi-") && !name.starts_with("lune-ffi-testkit") {
                let mut files = Vec::new();
                walk(&e.path(), &e.path(), &mut files);
                if files.iter().any(|f| is_fixture(f)) {
                    std::fs::remove_dir_all(e.path()).unwrap();
                }
            }
        }
    }

    let host = host_triple();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .args(["build", "--offline", "--message-format=json"])
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--config")
        .arg(format!("target.{host}.lua.rustc-link-lib=[]"))
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo build of the dependent crate failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // lune-ffi's build script as this build ran it (cargo reports it fresh or not).
    let script = stdout
        .lines()
        .find(|l| l.contains("\"reason\":\"build-script-executed\"") && l.contains("#lune-ffi@"))
        .expect("cargo reported lune-ffi's build script");
    assert!(
        !script.contains("LUNE_FFI_TESTLIB"),
        "lune-ffi's build script still exports the conformance library's path: {script}"
    );
    let out_dir = PathBuf::from(json_str(script, "out_dir").expect("out_dir in the report"));
    let mut files = Vec::new();
    walk(&out_dir, &out_dir, &mut files);
    files.sort();
    eprintln!("lune-ffi's OUT_DIR ({}):", out_dir.display());
    for f in &files {
        eprintln!("  {f}");
    }
    // The trampoline: cc's archive of the assembled asm/*.S (liblune_ffi_asm.a; a .lib for
    // MSVC) and the frame header it was assembled with.
    assert!(
        files
            .iter()
            .any(|f| f == "liblune_ffi_asm.a" || f == "lune_ffi_asm.lib"),
        "no trampoline archive in lune-ffi's OUT_DIR: {files:?}"
    );
    assert!(
        files.iter().any(|f| f == "include/lune_ffi_frame.h"),
        "no frame header in lune-ffi's OUT_DIR: {files:?}"
    );
    // Nothing but the trampoline's inputs and outputs (and `flag_check`, cc's probe of
    // the compiler's flags).
    let unexpected: Vec<&String> = files
        .iter()
        .filter(|f| {
            !(f.starts_with("include/lune_ffi_frame.")
                || f.starts_with("flag_check")
                || f.starts_with("liblune_ffi_asm.")
                || f.starts_with("lune_ffi_asm.")
                || f.ends_with(".o")
                || f.ends_with(".obj"))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "lune-ffi's OUT_DIR holds more than the trampoline: {unexpected:?}"
    );
    let objects: Vec<&String> = files
        .iter()
        .filter(|f| f.ends_with(".o") || f.ends_with(".obj"))
        .collect();
    assert!(
        objects.len() == 1,
        "expected the one trampoline object, found {objects:?}"
    );

    // And nowhere in the whole target directory: no fixture, no testkit.
    let mut all = Vec::new();
    walk(&target_dir, &target_dir, &mut all);
    let fixtures: Vec<&String> = all.iter().filter(|p| is_fixture(p)).collect();
    assert!(
        fixtures.is_empty(),
        "the dependent's target directory holds test fixtures: {fixtures:?}"
    );
}

/// Whether a path (relative, `/` separators) is or lies in one of the test fixtures or the
/// testkit's build outputs.
fn is_fixture(path: &str) -> bool {
    path.split('/').any(|part| {
        FIXTURE_NAMES.contains(&part)
            || part.starts_with("lune-ffi-testkit")
            || part.starts_with("lune_ffi_testkit")
            || part.starts_with("liblune_ffi_testkit")
    })
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_string()
}

/// The string value of `"key":"..."` in one line of cargo's JSON (paths: no escapes
/// other than backslashes, which Windows paths would double).
fn json_str(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = start + line[start..].find('"')?;
    Some(line[start..end].replace("\\\\", "\\"))
}

/// Every file under `dir`, as a path relative to `base` with `/` separators.
fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy();
            out.push(rel.replace('\\', "/"));
        }
    }
}
