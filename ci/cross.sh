#!/usr/bin/env bash
# Cross-target test lanes for lune-ffi.
#
#   ci/cross.sh aarch64   # aarch64-unknown-linux-gnu under qemu-user
#   ci/cross.sh windows   # x86_64-pc-windows-gnu (MinGW) under Wine
#   ci/cross.sh macos-arm64  # Apple's arm64 convention under qemu-user; cargo check for macOS
#
# Installs what a fresh Debian 12 machine lacks (rustup target, apt packages), then
# cross-builds the library's unit tests and the Luau script tests (tests/luau.rs, which
# loads the C conformance library built by build_clib.rs for the target) without the
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

run_tests() {
    local triple="$1"
    shift
    log "cargo test --target $triple"
    local rc=0 out="$ROOT/target/ci-$lane.log"
    mkdir -p "$ROOT/target"
    cargo test --no-fail-fast --no-default-features --target "$triple" --lib --test luau --test layout --test closed_state -- "$@" 2>&1 \
        | tee "$out" || rc=$?
    # Belt and braces: every test binary (lib unit tests, tests/luau.rs, tests/layout.rs, tests/closed_state.rs) must have
    # printed their summary; a binary that died without one is a failure whatever
    # exit status the emulator reported.
    local summaries
    summaries=$(grep -c '^test result: ok\.' "$out" || true)
    if [ $rc -eq 0 ] && [ "$summaries" -lt 4 ]; then
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

case "$lane" in
aarch64)
    aarch64_linux_setup
    run_tests "$triple" "$@"
    ;;

macos-arm64)
    # Apple's arm64 calling convention end to end, on Linux: the test binaries are
    # aarch64 Linux ones run by QEMU, built with LUNE_FFI_FORCE_ABI=apple_arm64 so that
    # Abi::host() is the Apple classifier, against the conformance library compiled with
    # Apple's convention (clang --target=arm64-apple-macos11-elf; see build_clib.rs). This
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

    # Build-only: the library for both Apple targets. mlua-sys's build script (Luau's C++)
    # needs the macOS SDK, so it is overridden through its `links = "lua"` key; the C
    # conformance library needs the SDK too (LUNE_FFI_SKIP_TESTLIB); clang, not gcc,
    # understands cc's Apple flags for the assembly. --no-default-features as in the test
    # lanes: the CLI's dependencies (zstd-sys) also compile C against the SDK.
    for t in aarch64-apple-darwin x86_64-apple-darwin; do
        log "cargo check --lib --target $t"
        if ! env "CC_${t//-/_}=clang" LUNE_FFI_SKIP_TESTLIB=1 cargo check --lib --no-default-features \
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
        [ -d "$sys32" ] || { echo "[cross windows] could not create the Wine prefix" >&2; exit 1; }
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

*)
    echo "usage: ci/cross.sh aarch64|windows|macos-arm64 [test filter...]" >&2
    exit 2
    ;;
esac
