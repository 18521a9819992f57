//! lune-ffi's test fixtures, as its tests and benches see them (build.rs makes them; a
//! dev-dependency of lune-ffi, so a crate that depends on lune-ffi never builds them).
//!
//! - [`TESTLIB`]: the absolute path of the C conformance library (`liblunetest.so`,
//!   `lunetest.dll`, `liblunetest.dylib`), empty when it was not built (MSVC targets, or
//!   `LUNE_FFI_SKIP_TESTLIB` set).
//! - [`WINDOWS_H`]: MinGW's `<windows.h>` as `gcc -E -dD` prints it (windows-gnu only).
//! - [`script_tests!`]: one `#[test]` per script under tests/luau and per generated
//!   difftest script, each calling the runner the caller names.

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
