#!/usr/bin/env bash
# Checks that asm/win64.asm (MASM, for x86_64-pc-windows-msvc) is the same code as
# asm/win64.S (GNU as, for MinGW): assembles the first with llvm-ml and the second with
# MinGW's gcc driver (cpp + GNU as, as build.rs does for x86_64-pc-windows-gnu), both
# with the frame header rendered from src/engine/frame_layout.rs, then compares
#   - the defined external symbols and their addresses (and that nothing is undefined);
#   - the unwind information (`llvm-readobj --unwind`: function ranges, prolog sizes,
#     frame register, every unwind code), identical after resolving the function
#     ranges to section offsets (the MASM object also has static symbols for its named
#     local labels, which llvm-readobj would otherwise print addresses against);
#   - the code bytes of every function those ranges cover, byte for byte;
#   - that whatever lies outside them (alignment padding) is nothing but NOPs: the two
#     assemblers pick different NOP encodings for padding, which never runs.
# Any other difference fails.
#
# Exit status: 0 = identical; 77 = the tools are missing and could not be installed;
# anything else = a difference or an assembly error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SKIP=77
log() { printf '[masm-equiv] %s\n' "$*" >&2; }
fail() {
    printf '[masm-equiv] FAILED: %s\n' "$*" >&2
    exit 1
}

llvm_tool() {
    local t
    t="$(command -v "$1" || true)"
    [ -n "$t" ] || t="$(ls /usr/lib/llvm-*/bin/"$1" 2>/dev/null | sort -V | tail -1 || true)"
    printf '%s' "$t"
}
GNUCC=x86_64-w64-mingw32-gcc
if [ -z "$(llvm_tool llvm-ml)" ] || [ -z "$(llvm_tool llvm-readobj)" ] || ! command -v "$GNUCC" >/dev/null; then
    log "installing llvm mingw-w64"
    if [ "$(id -u)" = 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null; then
        SUDO=(sudo -n)
    else
        log "SKIPPED: llvm/mingw-w64 missing and no root to install them"
        exit $SKIP
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${SUDO[@]}" apt-get install -y -qq llvm mingw-w64 >/dev/null 2>&1; then
        "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1 || true
        "${SUDO[@]}" apt-get install -y -qq llvm mingw-w64 >/dev/null 2>&1 || {
            log "SKIPPED: apt-get install llvm mingw-w64 failed"
            exit $SKIP
        }
    fi
fi
ML="$(llvm_tool llvm-ml)"
READOBJ="$(llvm_tool llvm-readobj)"
NM="$(llvm_tool llvm-nm)"
OBJDUMP="$(llvm_tool llvm-objdump)"
command -v rustc >/dev/null || { log "SKIPPED: rustc not found"; exit $SKIP; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash ci/frame_headers.sh "$work/include"

gnu="$work/win64-gnu.o"
masm="$work/win64-masm.o"
"$GNUCC" -I "$work/include" -c asm/win64.S -o "$gnu" || fail "asm/win64.S does not assemble"
# -m64: llvm-ml assembles for 32-bit x86 unless told otherwise (as cc does for MSVC).
"$ML" -m64 -I "$work/include" -c -Fo "$masm" asm/win64.asm || fail "asm/win64.asm does not assemble"
log "assembled win64.S with $GNUCC and win64.asm with $ML"

# 1. External symbols, with addresses; nothing undefined.
ext() { "$NM" --extern-only --defined-only "$1" | awk '$2 == "T"' | sort; }
[ "$(ext "$gnu")" = "$(ext "$masm")" ] || fail "external symbols differ:
win64.S:
$(ext "$gnu")
win64.asm:
$(ext "$masm")"
[ "$(ext "$gnu" | wc -l)" -eq 2 ] || fail "expected 2 external functions, got: $(ext "$gnu")"
for o in "$gnu" "$masm"; do
    und="$("$NM" --undefined-only "$o")"
    [ -z "$und" ] || fail "$(basename "$o") references undefined symbols: $und"
done

# Hex to number in any awk (mawk has no strtonum).
HEXFN='function hex(s,   i, v) { s = tolower(s); sub(/^0x/, "", s); v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }'

# 2. Unwind information with the function ranges as section offsets. Prints the
#    normalised dump; the ranges ("start end" in hex) go to $2.
unwind() {
    local obj="$1" ranges="$2"
    "$READOBJ" --unwind "$obj" | awk -v nmfile=<("$NM" "$obj") -v ranges="$ranges" "$HEXFN"'
        BEGIN {
            while ((getline line < nmfile) > 0) {
                split(line, f, " ")
                addr[f[3]] = hex(f[1])
            }
        }
        /^File:/ { next }
        /StartAddress:/ {
            if (!($2 in addr)) { print "unknown symbol " $2 > "/dev/stderr"; exit 1 }
            start = addr[$2]
            printf "    StartAddress: 0x%X\n", start
            next
        }
        /EndAddress:/ {
            if (!($2 in addr)) { print "unknown symbol " $2 > "/dev/stderr"; exit 1 }
            end = addr[$2] + ($3 ~ /^\+0x/ ? hex(substr($3, 2)) : 0)
            printf "    EndAddress: 0x%X\n", end
            printf "%X %X\n", start, end > ranges
            next
        }
        { print }
    '
}
unwind "$gnu" "$work/ranges-gnu" >"$work/unwind-gnu" || fail "cannot read win64.S unwind info"
unwind "$masm" "$work/ranges-masm" >"$work/unwind-masm" || fail "cannot read win64.asm unwind info"
grep -q 'UnwindCodes' "$work/unwind-gnu" || fail "win64.S has no unwind codes"
if ! diff -u "$work/unwind-gnu" "$work/unwind-masm" >"$work/unwind.diff"; then
    cat "$work/unwind.diff" >&2
    fail "unwind information differs (diff above: - win64.S, + win64.asm)"
fi
nfun="$(wc -l <"$work/ranges-gnu")"
[ "$nfun" -eq 2 ] || fail "expected unwind info for 2 functions, got $nfun"

# 3. Code bytes of every function.
text_hex() {
    "$READOBJ" -x .text "$1" | awk '/^0x/ { for (i = 2; i <= 5 && i <= NF; i++) if ($i ~ /^[0-9a-f]+$/) printf "%s", $i }'
}
ghex="$(text_hex "$gnu")"
mhex="$(text_hex "$masm")"
total=0
while read -r s e; do
    s=$((16#$s))
    e=$((16#$e))
    g="${ghex:$((s * 2)):$(((e - s) * 2))}"
    m="${mhex:$((s * 2)):$(((e - s) * 2))}"
    [ ${#g} -eq $(((e - s) * 2)) ] || fail "function at 0x$(printf %X $s) runs past .text"
    [ "$g" = "$m" ] || {
        diff <("$OBJDUMP" -d --no-show-raw-insn "$gnu" | sed 1,3d) <("$OBJDUMP" -d --no-show-raw-insn "$masm" | sed 1,3d) >&2 || true
        fail "code bytes of the function at 0x$(printf %X $s) differ"
    }
    total=$((total + e - s))
done <"$work/ranges-gnu"

# 4. Outside the functions: NOPs only.
padding() {
    "$OBJDUMP" -d "$1" | awk -v ranges="$2" "$HEXFN"'
        BEGIN { n = 0; while ((getline line < ranges) > 0) { split(line, r, " "); s[n] = hex(r[1]); e[n] = hex(r[2]); n++ } }
        /^ *[0-9a-f]+:/ {
            a = hex(substr($1, 1, length($1) - 1))
            inside = 0
            for (i = 0; i < n; i++) if (a >= s[i] && a < e[i]) inside = 1
            if (!inside) {
                # the mnemonic is the first field after the raw bytes
                for (i = 2; i <= NF && $i ~ /^[0-9a-f][0-9a-f]$/; i++) ;
                if ($i !~ /^nop/) print "0x" substr($1, 1, length($1) - 1) ": " $i
            }
        }'
}
for o in "$gnu" "$masm"; do
    bad="$(padding "$o" "$work/ranges-gnu")"
    [ -z "$bad" ] || fail "$(basename "$o"): instructions outside every unwind range:
$bad"
done

log "ok: $nfun functions, $total code bytes identical; unwind info identical:"
grep -E 'StartAddress|PrologSize|UnwindCodeCount|0x[0-9A-F]+: ' "$work/unwind-gnu" | sed 's/^ */    /' >&2
