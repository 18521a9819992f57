//! Issue 9's limits measured in the real runtime, which sandboxes scripts as Lune does
//! (`collectgarbage("collect")` is an error there): dropped arena memory is reclaimed
//! without the script's help, overwritten pointer slots do not accumulate their targets,
//! stored pointers keep their targets alive, and deep callback nesting fails with one
//! short error. Resident memory is read from /proc, so this runs on Linux.

#![cfg(all(feature = "cli", target_os = "linux"))]

use std::process::Command;

fn run(script: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lune-ffi"))
        .arg("run")
        .arg(format!("tests/runtime/{}", script))
        .arg(env!("LUNE_FFI_TESTLIB"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the lune-ffi binary");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.ends_with("ok\n"),
        "{} failed ({:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script,
        out.status,
        stdout,
        stderr
    );
    print!("{}", stdout);
    stdout
}

#[test]
fn memory_is_reclaimed_and_kept_in_the_real_runtime() {
    run("memory.luau");
}

#[test]
fn deep_nesting_in_the_real_runtime() {
    let out = run("nesting.luau");
    assert!(
        out.contains("callbacks nested too deep: 181 levels"),
        "{}",
        out
    );
}
