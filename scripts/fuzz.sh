#!/usr/bin/env bash
# Builds and runs a libFuzzer target of fuzz/ without cargo-fuzz (same instrumentation flags):
#   scripts/fuzz.sh rules_loader [libFuzzer args...]     e.g. -runs=10000000
# Needs the nightly toolchain and a C++ compiler (libfuzzer-sys builds libFuzzer). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [libFuzzer args]}
shift
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
nice -n 10 cargo +nightly build --release --manifest-path fuzz/Cargo.toml --bin "$target" \
  --target x86_64-unknown-linux-gnu --target-dir fuzz/target
mkdir -p "fuzz/corpus/$target" fuzz/artifacts
exec nice -n 10 "fuzz/target/x86_64-unknown-linux-gnu/release/$target" \
  -artifact_prefix=fuzz/artifacts/ "fuzz/corpus/$target" "fuzz/seeds/$target" "$@"
