#!/usr/bin/env bash
# Every package test: builds the packages (the release version into dist/, an
# "upgrade" version next to the tests), then checks them statically, tests
# falco-driver-loader's diagnoses, installs the .deb and the .rpm into a
# bookworm root with two kernels' headers, and boots a system with the .deb.
#
#   tests/package/run.sh            all of it
#   SKIP_BOOT=1 tests/package/run.sh    without the booted system (saves ~3 min)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/package/lib.sh

if [ -f dkms.conf ] && [ -d driver ]; then
	export FALCO_DRIVER_TREE=$ROOT
else
	# Until the kernel module and its dkms.conf are in the tree, the packaging is
	# exercised with a fixture module of the same name (tests/package/fixture-driver).
	echo "NOTE: no dkms.conf at the repository root: packaging with tests/package/fixture-driver"
	export FALCO_DRIVER_TREE=$ROOT/tests/package/fixture-driver
fi

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
upgrade=$version+upgradetest
log "building falco $version packages"
scripts/package.sh >/dev/null
log "building falco $upgrade packages (upgrade tests)"
FALCO_VERSION=$upgrade FALCO_DIST=$SCRATCH/dist FALCO_BINARY=${CARGO_TARGET_DIR:-$ROOT/target}/release/falco \
	scripts/package.sh >/dev/null

deb=dist/falco_${version}_amd64.deb
rpm=dist/falco-${version}-1.x86_64.rpm
tests/package/lint.sh "$deb" "$rpm"
tests/package/loader.sh
tests/package/deb.sh "$deb" "$SCRATCH/dist/falco_${upgrade}_amd64.deb"
tests/package/rpm.sh "$rpm" "$SCRATCH/dist/falco-${upgrade}-1.x86_64.rpm"
if [ "${SKIP_BOOT:-0}" != 1 ]; then
	tests/package/boot.sh "$deb"
fi
log "package tests passed"
