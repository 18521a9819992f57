// Builds the C conformance library the script tests load (`tests/clib/*.c`) as a shared
// library for the target: `liblunetest.so` (Linux and other ELF targets), `lunetest.dll`
// (Windows GNU), `liblunetest.dylib` (macOS).
//
// Used from the testkit's build.rs (`#[path = "build_clib.rs"] mod build_clib;`), so it
// runs only when lune-ffi's own tests or benches are built, never for a crate that
// depends on lune-ffi. The testkit is a dev-dependency, which cargo builds for the
// target under test: `TARGET` and `CC_<target>` are the cross build's, so the objects
// are compiled with `cc` for that target (`aarch64-linux-gnu-gcc` for
// aarch64-unknown-linux-gnu, `x86_64-w64-mingw32-gcc` for x86_64-pc-windows-gnu, or
// whatever `CC_<target>` says), then linked into a shared library by the same compiler
// driver with the flags `cc` chose for the target. The absolute path is exported as
// `LUNE_FFI_TESTLIB` to the testkit's code, which hands it on as
// `lune_ffi_testkit::TESTLIB`; it is empty when the library was not built (MSVC targets,
// whose compiler cannot build the GNU-asm fixtures, or when `LUNE_FFI_SKIP_TESTLIB` is
// set), and the harness should then skip the scripts that need it.

/// Compiles `root`/tests/clib/*.c and `generated` (C files build.rs wrote, e.g. the
/// difftest cases) and links them into OUT_DIR/<lib>. Panics (failing the build of the
/// tests) with the compiler's command line if compiling or linking fails.
pub fn build_test_clib(root: &std::path::Path, generated: &[std::path::PathBuf]) {
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let target = std::env::var("TARGET").expect("TARGET");
    let clib_dir = root.join("tests").join("clib");

    println!("cargo:rerun-if-changed={}", clib_dir.display());
    println!("cargo:rerun-if-env-changed=LUNE_FFI_SKIP_TESTLIB");
    println!("cargo:rerun-if-env-changed=LUNE_FFI_FORCE_ABI");

    let mut sources: Vec<std::path::PathBuf> = match std::fs::read_dir(&clib_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "h"))
            .collect(),
        Err(_) => Vec::new(),
    };
    sources.sort();
    sources.extend(generated.iter().cloned());
    for src in &sources {
        println!("cargo:rerun-if-changed={}", src.display());
    }
    let c_files: Vec<&std::path::PathBuf> = sources
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();

    if std::env::var_os("LUNE_FFI_SKIP_TESTLIB").is_some() || c_files.is_empty() {
        println!("cargo:rustc-env=LUNE_FFI_TESTLIB=");
        return;
    }

    let obj_dir = out_dir.join("lunetest-obj");
    std::fs::create_dir_all(&obj_dir).expect("create the object directory");

    let mut build = cc::Build::new();
    build
        .files(c_files.iter().map(|p| p.as_path()))
        .include(&clib_dir)
        .out_dir(&obj_dir)
        .opt_level(2)
        .pic(true)
        .warnings(true)
        .extra_warnings(true)
        // gcc notes that the passing of over-aligned by-value arguments changed in gcc 4.6
        // at every such call in the generated difftest cases: that passing is what they test
        .flag_if_supported("-Wno-psabi");

    let compiler = build.get_compiler();
    // An MSVC target: its test binaries (under Wine in `ci/cross.sh msvc`) cannot load
    // what a host gcc would build here (cc falls back to it when no MSVC is installed).
    let msvc_target = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "msvc");
    if compiler.is_like_msvc() || msvc_target {
        println!(
            "cargo:warning=lune-ffi: the C conformance library needs a GNU-compatible C compiler \
             (gcc or clang) targeting the GNU ABI; not built for {target}, the script tests that \
             load it are ignored"
        );
        println!("cargo:rustc-env=LUNE_FFI_TESTLIB=");
        return;
    }

    let apple = std::env::var("LUNE_FFI_FORCE_ABI").is_ok_and(|v| v == "apple_arm64");
    let objects = if apple {
        clib_apple_elf_objects(&compiler, &c_files, &clib_dir, &obj_dir)
    } else {
        build.compile_intermediates()
    };

    let lib_name = if target.contains("windows") {
        "lunetest.dll"
    } else if target.contains("apple") {
        "liblunetest.dylib"
    } else {
        "liblunetest.so"
    };
    let lib_path = out_dir.join(lib_name);

    // The same driver and target flags cc compiled with (e.g. clang's --target), plus
    // the link step. The tool's args are compile flags (-O2, -fPIC, -m64, ...), which
    // the driver accepts and ignores or applies when linking.
    let mut cmd = compiler.to_command();
    cmd.arg("-shared");
    if target.contains("windows") {
        // no runtime dependency on libgcc_s_seh-1.dll / libwinpthread-1.dll
        cmd.arg("-static-libgcc");
    } else if !target.contains("apple") {
        cmd.arg("-pthread");
    }
    cmd.arg("-o").arg(&lib_path);
    cmd.args(&objects);
    clib_run(&mut cmd, "link the C conformance library");

    println!(
        "cargo:rustc-env=LUNE_FFI_TESTLIB={}",
        clib_absolute(&lib_path).display()
    );
}

/// The macos-arm64 test lane (`LUNE_FFI_FORCE_ABI=apple_arm64`, aarch64 Linux only): the
/// conformance library compiled with Apple's arm64 calling convention into ELF objects
/// that load next to the Linux test binaries under QEMU.
///
/// `clang --target=arm64-apple-macos11-elf` generates Apple-convention code, but its ELF
/// writer rejects the Mach-O relocation operators (`sym@PAGE`, `@PAGEOFF`, `@GOTPAGE`,
/// `@GOTPAGEOFF`) it emits for every global (clang 14: "invalid symbol kind for ADRP
/// relocation"). So each file goes to assembly, those operators are rewritten to their
/// ELF spellings (`sym`, `:lo12:sym`, `:got:sym`, `:got_lo12:sym`: the same
/// instructions), and clang assembles the result for aarch64-linux-gnu. The calling
/// convention is in the instructions and is untouched. Also:
/// - glibc's aarch64 headers (`LUNE_FFI_APPLE_ELF_INCLUDE`, default
///   /usr/aarch64-linux-gnu/include) replace the SDK; `__nonnull`, which clang predefines
///   for Darwin, is undefined so glibc's own definition applies;
/// - `-femulated-tls`: Darwin's TLV access sequence has no ELF form; libgcc's emutls
///   implements `_Thread_local` instead;
/// - `snprintf` becomes `lune_apple_snprintf` (tests/clib/apple_elf/libc_bridge.c): an
///   Apple-convention variadic call into glibc's snprintf, which expects AAPCS64's,
///   would read the wrong registers;
/// - fixtures_asm.c is compiled by the target's own compiler: under `__APPLE__` it would
///   name its symbols with Mach-O's leading underscore, and its functions are hand-written
///   assembly whose register use (at most two register arguments, x18 untouched) is the
///   same in both conventions.
fn clib_apple_elf_objects(
    compiler: &cc::Tool,
    c_files: &[&std::path::PathBuf],
    clib_dir: &std::path::Path,
    obj_dir: &std::path::Path,
) -> Vec<std::path::PathBuf> {
    println!("cargo:rerun-if-env-changed=LUNE_FFI_APPLE_CLANG");
    println!("cargo:rerun-if-env-changed=LUNE_FFI_APPLE_ELF_INCLUDE");
    let clang = std::env::var("LUNE_FFI_APPLE_CLANG").unwrap_or_else(|_| "clang".into());
    let include = std::env::var("LUNE_FFI_APPLE_ELF_INCLUDE")
        .unwrap_or_else(|_| "/usr/aarch64-linux-gnu/include".into());
    let bridge = clib_dir.join("apple_elf").join("libc_bridge.c");
    println!("cargo:rerun-if-changed={}", bridge.display());
    let mut objects = Vec::new();
    let apple_sources = c_files
        .iter()
        .map(|p| p.as_path())
        .filter(|p| p.file_stem().is_none_or(|s| s != "fixtures_asm"))
        .chain(std::iter::once(bridge.as_path()));
    for src in apple_sources {
        let stem = src.file_stem().unwrap().to_string_lossy().into_owned();
        let apple_s = obj_dir.join(format!("{stem}.apple.s"));
        let elf_s = obj_dir.join(format!("{stem}.elf.s"));
        let obj = obj_dir.join(format!("{stem}.apple.o"));
        let mut cmd = std::process::Command::new(&clang);
        cmd.args([
            "--target=arm64-apple-macos11-elf",
            "-O2",
            "-Wall",
            "-Wextra",
        ])
        .args([
            "-femulated-tls",
            "-fno-addrsig",
            "-nostdlibinc",
            "-U__nonnull",
        ])
        .arg("-isystem")
        .arg(&include)
        .arg("-Dsnprintf=lune_apple_snprintf")
        .arg("-I")
        .arg(clib_dir)
        .arg("-S")
        .arg("-o")
        .arg(&apple_s)
        .arg(src);
        clib_run(
            &mut cmd,
            "compile the conformance library with Apple's arm64 convention",
        );
        let asm = std::fs::read_to_string(&apple_s).expect("read clang's assembly");
        std::fs::write(&elf_s, clib_elf_relocations(&asm)).expect("write the ELF assembly");
        let mut cmd = std::process::Command::new(&clang);
        // Apple's arm64 target assumes an M1 (ARMv8.5: LSE atomics such as `ldaddal` for
        // `__atomic_fetch_add`); the ELF assembler must accept what it emitted.
        cmd.args(["--target=aarch64-linux-gnu", "-march=armv8.5-a", "-c", "-o"])
            .arg(&obj)
            .arg(&elf_s);
        clib_run(
            &mut cmd,
            "assemble the Apple-convention conformance library",
        );
        objects.push(obj);
    }
    for src in c_files
        .iter()
        .filter(|p| p.file_stem().is_some_and(|s| s == "fixtures_asm"))
    {
        let obj = obj_dir.join("fixtures_asm.o");
        let mut cmd = compiler.to_command();
        cmd.arg("-I")
            .arg(clib_dir)
            .arg("-c")
            .arg("-o")
            .arg(&obj)
            .arg(src);
        clib_run(&mut cmd, "compile the assembly fixtures");
        objects.push(obj);
    }
    objects
}

/// Rewrites the Mach-O relocation operators of AArch64 assembly to ELF's (see
/// `clib_apple_elf_objects`): `sym@GOTPAGEOFF` -> `:got_lo12:sym`, `sym@GOTPAGE` ->
/// `:got:sym`, `sym@PAGEOFF` -> `:lo12:sym`, `sym@PAGE` -> `sym`.
fn clib_elf_relocations(asm: &str) -> String {
    const OPS: [(&str, &str); 4] = [
        ("@GOTPAGEOFF", ":got_lo12:"),
        ("@GOTPAGE", ":got:"),
        ("@PAGEOFF", ":lo12:"),
        ("@PAGE", ""),
    ];
    let is_sym = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$');
    let mut out = String::with_capacity(asm.len());
    for line in asm.lines() {
        let mut rest = line;
        while let Some(at) = rest.find('@') {
            let Some((op, prefix)) = OPS.iter().find(|(op, _)| rest[at..].starts_with(op)) else {
                out.push_str(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            };
            let head = &rest[..at];
            let start = head.rfind(|c: char| !is_sym(c)).map_or(0, |i| i + 1);
            out.push_str(&head[..start]);
            out.push_str(prefix);
            out.push_str(&head[start..]);
            rest = &rest[at + op.len()..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

fn clib_run(cmd: &mut std::process::Command, what: &str) {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("lune-ffi: failed to {what}: could not run `{shown}`: {e}"));
    if !status.success() {
        panic!("lune-ffi: failed to {what}: `{shown}` exited with {status}");
    }
}

fn clib_absolute(p: &std::path::Path) -> std::path::PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
