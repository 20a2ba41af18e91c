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

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
upgrade=$version+upgradetest
log "building falco $version packages"
scripts/package.sh >/dev/null
log "building falco $upgrade packages (upgrade tests)"
# The next version ships a changed falco.yaml and falco_rules.yaml, as a real
# release would: the tests check an edited falco.yaml is kept and an unedited
# falco_rules.yaml is updated.
mkdir -p "$SCRATCH/next"
{ cat packaging/falco.yaml; echo "# changed in $upgrade"; } >"$SCRATCH/next/falco.yaml"
{ cat packaging/rules/falco_rules.yaml; echo "# changed in $upgrade"; } >"$SCRATCH/next/falco_rules.yaml"
FALCO_VERSION=$upgrade FALCO_DIST=$SCRATCH/dist FALCO_BINARY=${CARGO_TARGET_DIR:-$ROOT/target}/release/falco \
	FALCO_CONFIG_FILE=$SCRATCH/next/falco.yaml FALCO_RULES_FILE=$SCRATCH/next/falco_rules.yaml \
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
