#!/usr/bin/env bash
# Assembles the trampolines for both Apple targets and checks the Mach-O objects:
#
#   asm/aapcs64.S  -> arm64-apple-macos11   (Mach-O arm64)
#   asm/sysv_x64.S -> x86_64-apple-macos11  (Mach-O x86-64)
#
# each with the frame header rendered from src/engine/frame_layout.rs, as build.rs does.
# For each object it checks that
#   - it is Mach-O for the right CPU;
#   - the only external symbols are `_lune_ffi_call` and `_lune_ffi_callback_entry`, both
#     defined in __text, and nothing is undefined (the assembly needs no other symbol);
#   - no ELF-style local label (`.L...`) leaked into the symbol table;
#   - its __text bytes are identical to .text of the same file assembled as ELF for
#     Linux on the same CPU (the Mach-O port changes the container, never the code);
#   - both entry points start with the landing pad (`bti c`, `endbr64`).
# Nothing here runs the code: no Mac is involved.
#
# Exit status: 0 = all checks passed; 77 = clang/llvm missing and not installable;
# anything else = a check failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SKIP=77
log() { printf '[apple-asm] %s\n' "$*" >&2; }
fail() {
    printf '[apple-asm] FAILED: %s\n' "$*" >&2
    exit 1
}

# clang, llvm-nm and llvm-readobj (Debian packages clang and llvm).
llvm_tool() {
    local t
    t="$(command -v "$1" || true)"
    [ -n "$t" ] || t="$(ls /usr/lib/llvm-*/bin/"$1" 2>/dev/null | sort -V | tail -1 || true)"
    printf '%s' "$t"
}
if [ -z "$(llvm_tool clang)" ] || [ -z "$(llvm_tool llvm-readobj)" ] || [ -z "$(llvm_tool llvm-nm)" ]; then
    log "installing clang llvm"
    if [ "$(id -u)" = 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null; then
        SUDO=(sudo -n)
    else
        log "SKIPPED: clang/llvm missing and no root to install them"
        exit $SKIP
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${SUDO[@]}" apt-get install -y -qq clang llvm >/dev/null 2>&1; then
        "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1 || true
        "${SUDO[@]}" apt-get install -y -qq clang llvm >/dev/null 2>&1 || {
            log "SKIPPED: apt-get install clang llvm failed"
            exit $SKIP
        }
    fi
fi
CLANG="$(llvm_tool clang)"
NM="$(llvm_tool llvm-nm)"
READOBJ="$(llvm_tool llvm-readobj)"
command -v rustc >/dev/null || { log "SKIPPED: rustc not found"; exit $SKIP; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash ci/frame_headers.sh "$work/include"

# Hex of a section as one lowercase string (llvm-readobj prints words in file order).
section_hex() {
    "$READOBJ" -x "$2" "$1" | awk '/^0x/ { for (i = 2; i <= 5 && i <= NF; i++) if ($i ~ /^[0-9a-f]+$/) printf "%s", $i }'
}

check() {
    local src="$1" apple="$2" elf="$3" format="$4" pad="$5" padname="$6"
    local name
    name="$(basename "$src" .S)"
    local macho="$work/$name-macho.o" elfo="$work/$name-elf.o"
    log "$src for $apple"
    "$CLANG" --target="$apple" -I "$work/include" -c "$src" -o "$macho" \
        || fail "$src does not assemble for $apple"
    "$CLANG" --target="$elf" -I "$work/include" -c "$src" -o "$elfo" \
        || fail "$src does not assemble for $elf"

    local got
    got="$("$READOBJ" --file-headers "$macho" | sed -n 's/^Format: //p')"
    [ "$got" = "$format" ] || fail "$macho is '$got', expected '$format'"

    local ext want
    ext="$("$NM" --extern-only "$macho" | awk '{ print $(NF-1), $NF }' | sort)"
    want="$(printf 'T _lune_ffi_call\nT _lune_ffi_callback_entry')"
    [ "$ext" = "$want" ] || fail "$apple external symbols are:
$ext
expected:
$want"
    if "$NM" "$macho" | grep -q ' \.L'; then
        fail "$apple: ELF-style local labels in the symbol table: $("$NM" "$macho" | grep ' \.L')"
    fi

    local mhex ehex
    mhex="$(section_hex "$macho" __text)"
    ehex="$(section_hex "$elfo" .text)"
    [ -n "$mhex" ] || fail "$apple: empty __text"
    [ "$mhex" = "$ehex" ] || fail "$apple: __text differs from the $elf .text (${#mhex} vs ${#ehex} hex digits)"

    local sym addr
    for sym in _lune_ffi_call _lune_ffi_callback_entry; do
        addr="$("$NM" "$macho" | awk -v s="$sym" '$3 == s { print $1 }')"
        [ -n "$addr" ] || fail "$apple: no address for $sym"
        got="${mhex:$((16#$addr * 2)):8}"
        [ "$got" = "$pad" ] || fail "$apple: $sym starts with $got, not $padname ($pad)"
    done
    log "ok: $format, symbols _lune_ffi_call _lune_ffi_callback_entry, $(( ${#mhex} / 2 )) code bytes identical to $elf, $padname at both entries"
}

# bti c = hint #34 = 0xd503245f; endbr64 = f3 0f 1e fa (as bytes in memory order).
check asm/aapcs64.S arm64-apple-macos11 aarch64-linux-gnu "Mach-O arm64" 5f2403d5 "bti c"
check asm/sysv_x64.S x86_64-apple-macos11 x86_64-linux-gnu "Mach-O 64-bit x86-64" f30f1efa endbr64
log "all checks passed"
