//! Compiles src/check.cpp against the Luau sources that luau-analyzer-sys vendors (its
//! compiled library supplies the rest). Its own C entry point is needed: the crate's
//! analyzer loads Luau's builtin definitions a second time, which rebinds `require`
//! without the function that gives a required module its type (every module is `any`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/check.cpp");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.toml");
    // Only the packages this target builds: unfiltered, cargo metadata needs every
    // platform's dependencies (r-efi for UEFI ...), which a machine that never built for
    // those platforms has not downloaded, and --offline then fails.
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &target,
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).expect("cargo metadata prints UTF-8");
    // The dependency's manifest path, without a JSON parser: `"manifest_path":"…/luau-analyzer-sys-0.1.1/Cargo.toml"`.
    let crate_dir = json
        .split("\"manifest_path\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|p| p.contains("luau-analyzer-sys-"))
        .map(|p| {
            PathBuf::from(p.replace("\\\\", "\\"))
                .parent()
                .unwrap()
                .to_path_buf()
        })
        .expect("luau-analyzer-sys in cargo metadata");
    let luau = crate_dir.join("luau");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .flag_if_supported("-std=c++17")
        .flag_if_supported("/std:c++17");
    for m in [
        "Common", "Ast", "Analysis", "Config", "EqSat", "Compiler", "Bytecode", "Require", "VM",
    ] {
        build.include(luau.join(m).join("include"));
    }
    build
        .warnings(false)
        .file("src/check.cpp")
        .compile("luau_analyze_check");
}
