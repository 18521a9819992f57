// Builds the C conformance library the script tests load (`tests/clib/*.c`) as a shared
// library for the target: `liblunetest.so` (Linux and other ELF targets), `lunetest.dll`
// (Windows GNU), `liblunetest.dylib` (macOS).
//
// Used from build.rs (`#[path = "build_clib.rs"] mod build_clib;` or `include!`).
// The objects are compiled with `cc` for `TARGET` (so cross builds pick the cross
// compiler: `aarch64-linux-gnu-gcc` for aarch64-unknown-linux-gnu,
// `x86_64-w64-mingw32-gcc` for x86_64-pc-windows-gnu, or whatever `CC_<target>` says),
// then linked into a shared library by the same compiler driver with the flags `cc`
// chose for the target. The absolute path is exported to the crate's code as
// `LUNE_FFI_TESTLIB` (`env!("LUNE_FFI_TESTLIB")`); it is empty when the library was not
// built (MSVC targets, whose compiler cannot build the GNU-asm fixtures, or when
// `LUNE_FFI_SKIP_TESTLIB` is set), and the harness should then skip the scripts that need it.

// Written to work both as a module and when `include!`d: no inner attributes, no `use`
// items, helper names prefixed with `clib_`.

/// Compiles tests/clib/*.c and links them into OUT_DIR/<lib>. Panics (failing the build)
/// with the compiler's command line if compiling or linking fails.
pub fn build_test_clib() {
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let target = std::env::var("TARGET").expect("TARGET");
    let clib_dir = manifest.join("tests").join("clib");

    println!("cargo:rerun-if-changed={}", clib_dir.display());
    println!("cargo:rerun-if-env-changed=LUNE_FFI_SKIP_TESTLIB");

    let mut sources: Vec<std::path::PathBuf> = match std::fs::read_dir(&clib_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "h"))
            .collect(),
        Err(_) => Vec::new(),
    };
    sources.sort();
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
        .extra_warnings(true);

    let compiler = build.get_compiler();
    if compiler.is_like_msvc() {
        println!(
            "cargo:warning=lune-ffi: the C conformance library needs a GNU-compatible C compiler \
             (gcc or clang); not built for {target}, the script tests that load it are skipped"
        );
        println!("cargo:rustc-env=LUNE_FFI_TESTLIB=");
        return;
    }

    let objects = build.compile_intermediates();

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
