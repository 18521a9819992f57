//! Assembles the trampoline of the target's ABI (with the frame offsets of
//! src/engine/frame_layout.rs) and nothing else: the test fixtures (the C conformance
//! library, the difftest generator, the script-test list) are built by testkit/, a
//! dev-dependency, so a crate that depends on lune-ffi never builds them.

use std::env;

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
}

/// `LUNE_FFI_FORCE_ABI=apple_arm64`: a switch for the macos-arm64 test lane only (ci/cross.sh).
/// On aarch64 Linux it makes `Abi::host()` Apple's arm64 convention, and
/// testkit/build_clib.rs builds the conformance library with that convention, so both
/// sides of every call and callback speak it under QEMU. Unset (the default), nothing changes; any other value,
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
