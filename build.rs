//! Assembles the trampoline of the target's ABI and builds the C conformance library
//! the tests load.

use std::env;

#[path = "build_clib.rs"]
mod build_clib;

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

    build_clib::build_test_clib();
    generate_script_tests();
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
/// registration by hand.
fn generate_script_tests() {
    let out = std::path::PathBuf::from(env::var("OUT_DIR").unwrap()).join("luau_tests.rs");
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
        src.push_str(&format!(
            "#[test]\nfn {}() {{\n    run_script(\"{}\");\n}}\n\n",
            name, rel
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
