#!/usr/bin/env bash
# A crate that depends on lune-ffi builds the trampoline and none of the test fixtures:
# runs the ignored test tests/dependent_build.rs (a scratch crate with lune-ffi as a path
# dependency, default features off, built offline into target/tmp/dependent_build/target;
# about a minute the first time, seconds when that directory is warm).
# Run by .ci/run after the host lane; extra arguments go to the test binary (--nocapture
# shows lune-ffi's OUT_DIR as the dependent built it).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
cargo test --test dependent_build -- --ignored --exact \
    dependent_crate_builds_the_trampoline_and_no_test_fixtures "$@"
echo "[dependent build] passed in $((SECONDS - start))s" >&2
