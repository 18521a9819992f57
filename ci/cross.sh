#!/usr/bin/env bash
# Cross-target test lanes for lune-ffi.
#
#   ci/cross.sh aarch64   # aarch64-unknown-linux-gnu under qemu-user
#   ci/cross.sh windows   # x86_64-pc-windows-gnu (MinGW) under Wine
#   ci/cross.sh macos-arm64  # Apple's arm64 convention under qemu-user; cargo check for macOS
#   ci/cross.sh msvc      # x86_64-pc-windows-msvc: MASM equivalence, lib unit tests under Wine
#
# Installs what a fresh Debian 12 machine lacks (rustup target, apt packages), then
# cross-builds the library's unit tests and the Luau script tests (tests/luau.rs, which
# loads the C conformance library that testkit/build_clib.rs builds for the target) without the
# `cli` feature, and runs them through cargo's runner setting.
#
# Exit status: 0 = every test passed; 77 = the set-up could not reach the registries or
# install the toolchain (lane skipped: no test ran, so .ci/run fails unless the caller sets
# LUNE_FFI_ALLOW_SKIP=1); anything else = build or test failure. A new lane is a new case
# below plus its name in .ci/run's LANES.
# Extra arguments after the lane name are passed to the test binaries (e.g. a filter).
set -euo pipefail

SKIP=77
lane="${1:-}"
shift || true
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$SECONDS

log() { printf '[cross %s] %s\n' "$lane" "$*" >&2; }

skip() {
    {
        echo
        echo "################################################################"
        echo "##  LANE SKIPPED ($lane): $*"
        echo "##  The set-up could not install what this lane needs, so no test"
        echo "##  ran. This is NOT a pass. Exit status $SKIP."
        echo "################################################################"
        echo
    } >&2
    exit "$SKIP"
}

# Run a command as root (apt-get), with sudo when we are not root.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        return 1
    fi
}

apt_updated=0
need_packages() {
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || skip "apt-get not found; cannot install ${missing[*]}"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local aptlog
    aptlog="$(mktemp)"
    if [ $apt_updated = 0 ]; then
        if ! as_root apt-get update -qq >"$aptlog" 2>&1; then
            cat "$aptlog" >&2
            skip "apt-get update failed (no network or no root?)"
        fi
        apt_updated=1
    fi
    if ! as_root apt-get install -y -qq "${missing[@]}" >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        skip "apt-get install ${missing[*]} failed"
    fi
    rm -f "$aptlog"
}

need_target() {
    command -v rustup >/dev/null 2>&1 || skip "rustup not found; cannot add target $1"
    if ! rustup target list --installed 2>/dev/null | grep -qx "$1"; then
        log "adding rust target $1"
        rustup target add "$1" >/dev/null 2>&1 || skip "rustup target add $1 failed"
    fi
}

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || skip "$1 still missing after the set-up"
}

# `cargo test` with the given arguments; then, in the Windows lanes, the lane's wineserver
# is stopped. It runs inside the pipeline into tee: Wine's service processes (services.exe,
# winedevice.exe ...), started by the first test binary, inherit its output pipe and live
# as long as the server, so without this tee would wait for them.
cargo_test() {
    local c=0
    cargo test "$@" || c=$?
    if [ -n "${WINESERVER:-}" ]; then
        "$WINESERVER" -k >/dev/null 2>&1 || true
    fi
    return $c
}

run_tests() {
    local triple="$1"
    shift
    log "cargo test --target $triple"
    local rc=0 out="$ROOT/target/ci-$lane.log"
    mkdir -p "$ROOT/target"
    cargo_test --no-fail-fast --no-default-features --target "$triple" --lib --test luau --test layout --test closed_state --test windows_h -- "$@" 2>&1 \
        | tee "$out" || rc=$?
    # Belt and braces: every test binary (lib unit tests, tests/luau.rs, tests/layout.rs,
    # tests/closed_state.rs, tests/windows_h.rs: no test off windows-gnu) must have
    # printed their summary; a binary that died without one is a failure whatever
    # exit status the emulator reported.
    local summaries
    summaries=$(grep -c '^test result: ok\.' "$out" || true)
    if [ $rc -eq 0 ] && [ "$summaries" -lt 5 ]; then
        echo "[cross $lane] a test binary ended without its summary (crash?)" >&2
        rc=1
    fi
    local elapsed=$((SECONDS - start))
    if [ $rc -ne 0 ]; then
        echo "[cross $lane] FAILED (cargo exit $rc) after ${elapsed}s" >&2
        # 77 is reserved for a skipped lane.
        [ $rc -eq $SKIP ] && rc=1
        exit $rc
    fi
    echo "[cross $lane] all tests passed; lane run time ${elapsed}s" >&2
}

# The aarch64-unknown-linux-gnu cross toolchain, with QEMU as cargo's runner (the aarch64
# and macos-arm64 lanes). Extra arguments are more packages to install.
aarch64_linux_setup() {
    triple=aarch64-unknown-linux-gnu
    need_packages qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross "$@"
    need_target "$triple"
    need_cmd qemu-aarch64
    need_cmd aarch64-linux-gnu-gcc
    need_cmd aarch64-linux-gnu-g++

    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
    export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
    export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
    # qemu-user must not pick up a host LD_LIBRARY_PATH meant for x86-64 binaries.
    unset LD_LIBRARY_PATH || true
}

# The Wine prefix both Windows lanes run in (WINE and WINESERVER set by the caller), with
# the stand-in bcryptprimitives.dll Rust's std needs.
wine_prefix_setup() {
    export WINEDEBUG=-all
    export WINEPREFIX="${LUNE_FFI_WINEPREFIX:-$ROOT/target/wineprefix}"
    # No Mono/Gecko install dialogs while the prefix is created; our stand-in
    # bcryptprimitives first; and no winedbg: when it catches a crash in a process with
    # several threads, the process can exit with status 0. Without it a crash is a
    # plain non-zero exit.
    export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n,b;winedbg.exe=d"
    sys32="$WINEPREFIX/drive_c/windows/system32"
    if [ ! -f "$WINEPREFIX/system.reg" ] || [ ! -d "$sys32" ]; then
        log "creating Wine prefix $WINEPREFIX"
        mkdir -p "$WINEPREFIX"
        "$WINE" wineboot --init >/dev/null 2>&1 || true
        "$WINESERVER" -w || true
        [ -d "$sys32" ] || { echo "[cross $lane] could not create the Wine prefix" >&2; exit 1; }
    fi

    # Rust's std needs bcryptprimitives!ProcessPrng, which Wine 8 lacks: install a
    # stand-in that forwards to advapi32!SystemFunction036 (source in ci/).
    stand_in="$ROOT/target/ci-windows/bcryptprimitives.dll"
    mkdir -p "$(dirname "$stand_in")"
    if [ ! -f "$stand_in" ] || [ ci/bcryptprimitives.c -nt "$stand_in" ] \
        || [ ci/bcryptprimitives.def -nt "$stand_in" ]; then
        x86_64-w64-mingw32-gcc -O2 -shared -s -o "$stand_in" \
            ci/bcryptprimitives.c ci/bcryptprimitives.def -ladvapi32
    fi
    cmp -s "$stand_in" "$sys32/bcryptprimitives.dll" || cp "$stand_in" "$sys32/bcryptprimitives.dll"

    # One server for the whole lane, stopped when the lane ends. The default one exits 3 s
    # after its last client, and a test binary starting just then fails with "wine client
    # error:0: recvmsg: Connection reset by peer" (seen once here, between two binaries).
    # Persistent without a time limit: a limit shorter than a cold compile (80-100 s)
    # ends the server before the first test binary runs, and that binary then starts an
    # ordinary 3-second one.
    # It refuses to start while another server of this prefix runs (one left behind by an
    # interrupted lane, or the last seconds of an ordinary one): stop that one first.
    if ! "$WINESERVER" -p >/dev/null 2>&1; then
        "$WINESERVER" -k >/dev/null 2>&1 || true
        "$WINESERVER" -w >/dev/null 2>&1 || true
        "$WINESERVER" -p >/dev/null 2>&1 || true
    fi
    trap '"$WINESERVER" -k >/dev/null 2>&1 || true' EXIT
}

case "$lane" in
aarch64)
    aarch64_linux_setup
    run_tests "$triple" "$@"
    ;;

macos-arm64)
    # Apple's arm64 calling convention end to end, on Linux: the test binaries are
    # aarch64 Linux ones run by QEMU, built with LUNE_FFI_FORCE_ABI=apple_arm64 so that
    # Abi::host() is the Apple classifier, against the conformance library compiled with
    # Apple's convention (clang --target=arm64-apple-macos11-elf; see testkit/build_clib.rs). This
    # runs every lib unit test and every script test: the scripts' only glibc-convention
    # dependency, a variadic snprintf, goes through an Apple-convention bridge in this
    # lane. Mach-O loading, the macOS kernel and libSystem are NOT exercised here.
    aarch64_linux_setup clang
    need_cmd clang
    need_target aarch64-apple-darwin
    need_target x86_64-apple-darwin
    LUNE_FFI_FORCE_ABI=apple_arm64 run_tests "$triple" "$@"
    passed=$(awk '/^test result: ok\./ { n += $4 } END { print n + 0 }' "$ROOT/target/ci-$lane.log")
    echo "[cross $lane] $passed tests passed with Apple's arm64 convention under qemu-aarch64" >&2
    if [ $# -eq 0 ] && [ "$passed" -lt 50 ]; then
        echo "[cross $lane] FAILED: expected at least 50 tests, $passed ran" >&2
        exit 1
    fi
    # A unit test compiled only under the forced switch: proof the binaries used it.
    if [ $# -eq 0 ] && ! grep -q 'forced_lane_runs_the_apple_classifier \.\.\. ok' "$ROOT/target/ci-$lane.log"; then
        echo "[cross $lane] FAILED: the tests were not built with LUNE_FFI_FORCE_ABI=apple_arm64" >&2
        exit 1
    fi

    # Build-only: the library for both Apple targets, as a crate that depends on lune-ffi
    # builds it (the test fixtures are a dev-dependency, so `check --lib` does not build
    # them). mlua-sys's build script (Luau's C++) needs the macOS SDK, so it is overridden
    # through its `links = "lua"` key; clang, not gcc, understands cc's Apple flags for
    # the assembly. --no-default-features as in the test lanes: the CLI's dependencies
    # (zstd-sys) also compile C against the SDK.
    for t in aarch64-apple-darwin x86_64-apple-darwin; do
        log "cargo check --lib --target $t"
        if ! env "CC_${t//-/_}=clang" cargo check --lib --no-default-features \
            --target "$t" --config "target.$t.lua.rustc-link-lib=[]"; then
            echo "[cross $lane] FAILED: cargo check --target $t" >&2
            exit 1
        fi
    done

    if [ -f ci/apple_asm.sh ]; then
        log "ci/apple_asm.sh (the .S files assembled as Mach-O)"
        bash ci/apple_asm.sh || { echo "[cross $lane] FAILED: ci/apple_asm.sh" >&2; exit 1; }
    else
        echo "[cross $lane] NOTE: ci/apple_asm.sh is not in this tree; the Mach-O assembly step did not run" >&2
    fi
    echo "[cross $lane] passed: $passed tests, 2 Apple targets checked; lane run time $((SECONDS - start))s" >&2
    ;;

windows)
    triple=x86_64-pc-windows-gnu
    need_packages mingw-w64 wine64
    need_target "$triple"
    need_cmd x86_64-w64-mingw32-gcc
    need_cmd x86_64-w64-mingw32-g++
    WINE=/usr/lib/wine/wine64
    [ -x "$WINE" ] || skip "$WINE missing after installing wine64"
    WINESERVER=/usr/lib/wine/wineserver
    [ -x "$WINESERVER" ] || WINESERVER=wineserver

    wine_prefix_setup

    # mlua's Luau is C++: the test binaries import libstdc++-6.dll and libgcc_s_seh-1.dll
    # from MinGW's GCC; let Wine find them (and the C test library) through WINEPATH.
    gcc_dll_dir="$(dirname "$(x86_64-w64-mingw32-g++ -print-file-name=libstdc++-6.dll)")"
    [ -f "$gcc_dll_dir/libstdc++-6.dll" ] || {
        echo "[cross windows] libstdc++-6.dll not found in MinGW's GCC" >&2
        exit 1
    }
    winpath="$("$WINE" winepath -w "$gcc_dll_dir" 2>/dev/null | tr -d '\r')"
    pthread_dll="$(x86_64-w64-mingw32-gcc -print-file-name=libwinpthread-1.dll)"
    if [ -f "$pthread_dll" ]; then
        winpath="$winpath;$("$WINE" winepath -w "$(dirname "$pthread_dll")" 2>/dev/null | tr -d '\r')"
    fi
    export WINEPATH="$winpath"

    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE"
    export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
    export CXX_x86_64_pc_windows_gnu=x86_64-w64-mingw32-g++
    export AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
    run_tests "$triple" "$@"
    ;;

msvc)
    # x86_64-pc-windows-msvc, from Linux: no Visual Studio, so
    #   1. ci/masm_equiv.sh: asm/win64.asm (MASM, what MSVC builds assemble) must be the
    #      same code and unwind info as asm/win64.S (what the windows lane runs);
    #   2. cargo check --lib for the target, with win64.asm assembled by llvm-ml;
    #   3. the library's unit tests built for the target (trampoline from win64.asm),
    #      linked by lld-link against MinGW's import libraries for ucrtbase.dll plus a
    #      stand-in for the MSVC runtime's static startup objects (ci/msvc_crt.c), and
    #      run under Wine.
    # Not run here (said again at the end): Luau itself (C++ that needs MSVC's headers
    # and STL, so the test binary is linked without it, see below), hence the script
    # tests, tests/layout.rs and tests/closed_state.rs; and the C conformance library,
    # which testkit/build_clib.rs builds only with a GNU-compatible compiler.
    triple=x86_64-pc-windows-msvc
    need_packages llvm clang lld mingw-w64 wine64
    need_target "$triple"
    need_cmd clang
    need_cmd lld-link
    need_cmd x86_64-w64-mingw32-gcc
    llvm_bin=""
    for d in "$(dirname "$(command -v llvm-ml 2>/dev/null || echo /nonexistent/x)")" \
        $(ls -d /usr/lib/llvm-*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/llvm-ml" ] && [ -x "$d/llvm-lib" ]; then llvm_bin="$d"; break; fi
    done
    [ -n "$llvm_bin" ] || skip "llvm-ml/llvm-lib not found after installing llvm"
    WINE=/usr/lib/wine/wine64
    [ -x "$WINE" ] || skip "$WINE missing after installing wine64"
    WINESERVER=/usr/lib/wine/wineserver
    [ -x "$WINESERVER" ] || WINESERVER=wineserver

    log "1/3 MASM equivalence (ci/masm_equiv.sh)"
    rc=0
    bash ci/masm_equiv.sh || rc=$?
    [ $rc -eq $SKIP ] && skip "ci/masm_equiv.sh could not install its tools"
    [ $rc -eq 0 ] || { echo "[cross msvc] FAILED: win64.asm and win64.S differ (exit $rc)" >&2; exit 1; }

    # cc: .asm files go to llvm-ml (it passes -m64), the archive to llvm-lib. No C
    # conformance library (there is no MSVC C compiler here; LUNE_FFI_SKIP_TESTLIB tells
    # the testkit, a dev-dependency that `cargo test --lib` builds too). mlua-sys's build script
    # (Luau, C++) is skipped by overriding the `lua` link; the unit tests below never
    # call into Luau.
    export CC_MASM_ASM="$llvm_bin/llvm-ml"
    export AR_x86_64_pc_windows_msvc="$llvm_bin/llvm-lib"
    export LUNE_FFI_SKIP_TESTLIB=1
    no_lua=(--config "target.$triple.lua.rustc-link-lib=[]")
    log "2/3 cargo check --lib --target $triple"
    cargo check --lib --no-default-features --target "$triple" "${no_lua[@]}" \
        || { echo "[cross msvc] FAILED: cargo check --lib --target $triple" >&2; exit 1; }

    log "3/3 lib unit tests for $triple under Wine"
    ci_dir="$ROOT/target/ci-msvc"
    libdir="$ci_dir/lib"
    mkdir -p "$libdir"
    # MSVC names import libraries foo.lib; MinGW ships the same as libfoo.a, which
    # lld-link reads. msvcrt.lib (what Rust's libc asks for) is the UCRT one, and
    # legacy_stdio_definitions.lib has nothing we need.
    mingw_lib=/usr/x86_64-w64-mingw32/lib
    [ -f "$mingw_lib/libucrt.a" ] || { echo "[cross msvc] $mingw_lib/libucrt.a missing" >&2; exit 1; }
    for a in "$mingw_lib"/lib*.a; do
        b="$(basename "$a" .a)"
        ln -sf "$a" "$libdir/${b#lib}.lib"
    done
    ln -sf "$mingw_lib/libucrt.a" "$libdir/msvcrt.lib"
    printf '!<arch>\n' >"$libdir/legacy_stdio_definitions.lib"
    # Named by its content: cargo does not track link arguments' files, but a changed
    # RUSTFLAGS makes it relink.
    crt_obj="$libdir/lune_crt_standin-$(sha256sum ci/msvc_crt.c | cut -c1-16).obj"
    [ -f "$crt_obj" ] || clang --target="$triple" -O2 -fno-builtin -c ci/msvc_crt.c -o "$crt_obj"
    # lld-link through a wrapper that keeps its messages beside each output
    # (<output>.linklog): Luau's symbols are left unresolved (/force:unresolved), and the
    # test binary's log is checked afterwards so that nothing else ever is.
    cat >"$ci_dir/lld-link.sh" <<'WRAP'
#!/bin/sh
out=""
for a in "$@"; do
    case "$a" in /OUT:* | /out:* | -out:*) out="${a#*:}" ;; esac
done
[ -n "$out" ] || out="$(mktemp)"
lld-link "$@" 2>"$out.linklog.tmp"
rc=$?
mv "$out.linklog.tmp" "$out.linklog"
cat "$out.linklog" >&2
exit $rc
WRAP
    chmod +x "$ci_dir/lld-link.sh"
    export CARGO_TARGET_X86_64_PC_WINDOWS_MSVC_LINKER="$ci_dir/lld-link.sh"
    export CARGO_TARGET_X86_64_PC_WINDOWS_MSVC_RUSTFLAGS="-C link-arg=/LIBPATH:$libdir -C link-arg=$crt_obj -C link-arg=/force:unresolved"

    wine_prefix_setup
    export CARGO_TARGET_X86_64_PC_WINDOWS_MSVC_RUNNER="$WINE"

    out="$ROOT/target/ci-msvc.log"
    rc=0
    cargo_test --no-fail-fast --no-default-features --target "$triple" "${no_lua[@]}" --lib -- "$@" 2>&1 \
        | tee "$out" || rc=$?
    exe="$(sed -n 's/^ *\(Running\|Executable\) unittests src\/lib.rs (\(.*\))$/\2/p' "$out" | tail -1)"
    if [ -z "$exe" ] || [ ! -f "$exe.linklog" ]; then
        echo "[cross msvc] FAILED: no link log for the unit-test binary (${exe:-not found}); cannot check what was left unresolved" >&2
        exit 1
    fi
    unresolved="$({ grep -o 'undefined symbol: [^ ]*' "$exe.linklog" || true; } | sed 's/undefined symbol: //' | sort -u)"
    others="$(printf '%s\n' "$unresolved" | { grep -v -E '^(lua_|luaL_|luau_|luaopen_|luarequire_)' || true; } | { grep . || true; })"
    if [ -n "$others" ]; then
        echo "[cross msvc] FAILED: symbols other than Luau's left unresolved at link time:" >&2
        printf '  %s\n' $others >&2
        exit 1
    fi
    # The trampoline in that binary must be the MASM one.
    if ! grep -qs 'rerun-if-changed=asm/win64.asm' "${CARGO_TARGET_DIR:-$ROOT/target}/$triple"/debug/build/lune-ffi-*/output; then
        echo "[cross msvc] FAILED: build.rs did not assemble asm/win64.asm for $triple" >&2
        exit 1
    fi
    if [ $rc -eq 0 ] && ! grep -q '^test result: ok\.' "$out"; then
        echo "[cross msvc] the test binary ended without its summary (crash?)" >&2
        rc=1
    fi
    elapsed=$((SECONDS - start))
    if [ $rc -ne 0 ]; then
        echo "[cross msvc] FAILED (cargo exit $rc) after ${elapsed}s" >&2
        [ $rc -eq $SKIP ] && rc=1
        exit $rc
    fi
    {
        echo "[cross msvc] passed: MASM equivalence, cargo check --lib, and the lib unit tests"
        echo "[cross msvc]   ($(grep '^test result: ok\.' "$out" | head -1 | sed 's/;.*//')) under Wine; lane run time ${elapsed}s"
        echo "[cross msvc] NOT run for MSVC: the Luau script tests (tests/luau.rs), tests/layout.rs and"
        echo "[cross msvc]   tests/closed_state.rs. Luau is C++ and needs MSVC's headers and STL, which this"
        echo "[cross msvc]   machine does not have, so the unit-test binary is linked without it (its"
        echo "[cross msvc]   $(printf '%s\n' "$unresolved" | grep -c .) Luau symbols unresolved; no unit test calls into Luau) and the C"
        echo "[cross msvc]   conformance library is not built (testkit/build_clib.rs needs a GNU-compatible compiler)."
    } >&2
    ;;

*)
    echo "usage: ci/cross.sh aarch64|windows|macos-arm64|msvc [test filter...]" >&2
    exit 2
    ;;
esac
