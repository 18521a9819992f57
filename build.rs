//! Assembles the trampoline of the target's ABI and builds the C conformance library
//! the tests load.

use std::env;

#[path = "build_clib.rs"]
mod build_clib;
#[path = "tests/difftest/gen.rs"]
mod difftest_gen;

#[path = "src/engine/frame_layout.rs"]
mod frame_layout;

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();

    let env_ = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let asm = match (arch.as_str(), os.as_str()) {
        // ml64 cannot read GNU syntax: MSVC builds take the MASM port of win64.S
        // (ml64.exe, or llvm-ml when cross compiling; ci/masm_equiv.sh checks the two
        // assemble to the same code and unwind info).
        ("x86_64", "windows") if env_ == "msvc" => Some("asm/win64.asm"),
        ("x86_64", "windows") => Some("asm/win64.S"),
        ("x86_64", _) if family == "unix" => Some("asm/sysv_x64.S"),
        // One source for both AArch64 object formats (ELF and Mach-O, see its macros).
        ("aarch64", "linux") | ("aarch64", "macos") => Some("asm/aapcs64.S"),
        _ => None,
    };
    println!("cargo:rustc-check-cfg=cfg(lune_ffi_engine)");
    force_abi(&arch, &os);
    if let Some(asm) = asm {
        println!("cargo:rerun-if-changed={}", asm);
        println!("cargo:rerun-if-changed=src/engine/frame_layout.rs");
        let include = write_frame_headers();
        cc::Build::new()
            .file(asm)
            .include(&include)
            .compile("lune_ffi_asm");
        println!("cargo:rustc-cfg=lune_ffi_engine");
    } else {
        println!(
            "cargo:warning=lune-ffi: no call engine for {}-{}; calls and callbacks will raise errors",
            arch, os
        );
    }

    // The differential generator (tests/difftest/gen.rs): its C goes into the conformance
    // library, its scripts are run by tests/luau.rs like the handwritten ones.
    let out_dir = std::path::PathBuf::from(env::var("OUT_DIR").unwrap());
    let (diff_c, diff_tests) = difftest_gen::write(&out_dir);
    build_clib::build_test_clib(&[diff_c]);
    generate_script_tests(&diff_tests);
}

/// `LUNE_FFI_FORCE_ABI=apple_arm64`: a switch for the macos-arm64 test lane only (ci/cross.sh).
/// On aarch64 Linux it makes `Abi::host()` Apple's arm64 convention, and build_clib.rs
/// builds the conformance library with that convention, so both sides of every call
/// and callback speak it under QEMU. Unset (the default), nothing changes; any other value,
/// or another target, fails the build rather than being ignored.
fn force_abi(arch: &str, os: &str) {
    println!("cargo:rustc-check-cfg=cfg(lune_ffi_force_apple_arm64)");
    println!("cargo:rerun-if-env-changed=LUNE_FFI_FORCE_ABI");
    match env::var("LUNE_FFI_FORCE_ABI").as_deref() {
        Err(_) | Ok("") => {}
        Ok("apple_arm64") if arch == "aarch64" && os == "linux" => {
            println!("cargo:rustc-cfg=lune_ffi_force_apple_arm64");
            println!(
                "cargo:warning=lune-ffi: LUNE_FFI_FORCE_ABI=apple_arm64: calls use Apple's arm64 \
                 convention (test lane only; C code built for Linux will not match it)"
            );
        }
        Ok("apple_arm64") => panic!(
            "LUNE_FFI_FORCE_ABI=apple_arm64 is a test switch for aarch64 Linux targets; \
             this target is {arch}-{os}"
        ),
        Ok(other) => panic!(
            "LUNE_FFI_FORCE_ABI={other:?} is not known; the only accepted value is apple_arm64"
        ),
    }
}

/// Renders the CallFrame offsets of src/engine/frame_layout.rs (the definition frame.rs
/// asserts against the struct) for the assembly: `lune_ffi_frame.h` for the `.S` files,
/// `lune_ffi_frame.inc` for MASM. Returns the directory to put on the include path.
fn write_frame_headers() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env::var("OUT_DIR").unwrap()).join("include");
    std::fs::create_dir_all(&dir).expect("create the include directory");
    std::fs::write(dir.join("lune_ffi_frame.h"), frame_layout::c_header())
        .expect("write lune_ffi_frame.h");
    std::fs::write(dir.join("lune_ffi_frame.inc"), frame_layout::masm_include())
        .expect("write lune_ffi_frame.inc");
    dir
}

/// One `#[test]` per script under tests/luau, generated so a new script needs no
/// registration by hand. A test that cannot run on the target is generated with
/// `#[ignore = "why"]`, so it shows as ignored, never as a pass: scripts under
/// tests/luau/win64/ off x86-64 Windows, and scripts that load the C conformance library
/// (they name `TESTLIB`) on MSVC targets, where build_clib.rs cannot build it.
/// The generated difftest scripts (name, path under OUT_DIR) get a test each too, named
/// `difftest_<name>` (the name carries the seed and the case range).
fn generate_script_tests(generated: &[(String, std::path::PathBuf)]) {
    let out = std::path::PathBuf::from(env::var("OUT_DIR").unwrap()).join("luau_tests.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let mut scripts = Vec::new();
    collect_scripts(std::path::Path::new("tests/luau"), &mut scripts);
    scripts.sort();
    let mut src = String::new();
    for path in &scripts {
        let rel = path.to_string_lossy().replace('\\', "/");
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
        src.push_str(&format!(
            "#[test]\n{}fn {}() {{\n    run_script(\"{}\");\n}}\n\n",
            attr, name, rel
        ));
    }
    for (name, path) in generated {
        let attr = if target_env == "msvc" {
            "#[ignore = \"needs the C conformance library, which MSVC targets cannot build\"]\n"
        } else {
            ""
        };
        src.push_str(&format!(
            "#[test]\n{}fn difftest_{}() {{\n    run_script({:?});\n}}\n\n",
            attr,
            name,
            path.to_string_lossy()
        ));
    }
    std::fs::write(out, src).unwrap();
    println!("cargo:rerun-if-changed=tests/luau");
}

fn collect_scripts(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
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
