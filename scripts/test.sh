#!/usr/bin/env bash
# Runs every test of the project: the one command named in README.md and called by .ci/run.
#
#   scripts/test.sh            everything
#   SKIP_SETUP=1 scripts/test.sh   do not run scripts/setup.sh (packages already installed)
#   SKIP_VM=1 scripts/test.sh      skip the qemu boots of the kernel module (tests/vm/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}

step() { printf '\n==== %s\n' "$*"; }

if [ "${SKIP_SETUP:-0}" != 1 ]; then
  step "setup (packages)"
  if [ "$(id -u)" = 0 ]; then ./scripts/setup.sh; else sudo ./scripts/setup.sh; fi
fi

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "unit and integration tests"
cargo test --workspace --release

step "conformance (upstream Falco offline suite)"
python3 scripts/conformance.py --falco target/release/falco --shared "$SHARED"

step "sysdig oracle (every field of every event of every capture vs sysdig -r -p)"
python3 scripts/sysdig-oracle.py --falco target/release/falco --shared "$SHARED"

if [ "${SKIP_VM:-0}" != 1 ]; then
  step "VM tests: the kernel module on Debian 6.1 and 5.10 in qemu (SKIP_VM=1 skips)"
  VM_TIMEOUT=${VM_TIMEOUT:-1200} tests/vm/run.sh
fi

step "packages (deb and rpm: lint, DKMS in a chroot for 6.1 and 5.10, booted system in qemu)"
tests/package/run.sh

step "all tests passed"
