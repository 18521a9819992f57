#!/usr/bin/env bash
# Renders the CallFrame offsets of src/engine/frame_layout.rs into DIR/lune_ffi_frame.h
# (for asm/*.S) and DIR/lune_ffi_frame.inc (for asm/win64.asm), exactly as build.rs does,
# for the ci scripts that assemble outside cargo.
#
#   ci/frame_headers.sh DIR
set -euo pipefail
dir="${1:?usage: ci/frame_headers.sh DIR}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/gen.rs" <<RS
#[path = "$ROOT/src/engine/frame_layout.rs"]
mod frame_layout;
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    std::fs::write(dir.join("lune_ffi_frame.h"), frame_layout::c_header()).unwrap();
    std::fs::write(dir.join("lune_ffi_frame.inc"), frame_layout::masm_include()).unwrap();
}
RS
rustc --edition 2021 -o "$work/gen" "$work/gen.rs"
"$work/gen" "$dir"
