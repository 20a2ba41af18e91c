#!/usr/bin/env bash
# The booted system: a bookworm image with our .deb installed in a chroot (its
# postinst builds the module with DKMS for the image's kernel) boots under qemu
# with systemd; tests/package/guest/falco-boot-check runs the checks inside.
# Checks listed in tests/package/boot-expected-pass.txt must pass; the others
# are printed (they wait on daemon features) and a newly passing one is
# reported so it can be added to the list. A kernel WARN/oops fails the test.
#
#   tests/package/boot.sh PACKAGE.deb
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# = 1 ] || die "usage: $0 PACKAGE.deb"
DEB=$1
console=$SCRATCH/boot-console.log

log "building the test image"
image=$(falco_image "$DEB")
log "booting it (qemu TCG; a few minutes)"
start=$SECONDS
VM_APPEND=falco_guest=check "$ROOT/scripts/vm-boot.sh" "$image" "$console" "${BOOT_TIMEOUT:-900}" ||
	{ tail -60 "$console"; die "the booted-system test did not complete"; }
log "guest powered off after $((SECONDS - start)) s"
pass "no kernel WARN, BUG or oops on the console"

tr -d '\r' <"$console" | sed -n '/^CHECK START/,/^CHECK DONE/p' >"$SCRATCH/boot-checks.log"
grep -q '^CHECK DONE' "$SCRATCH/boot-checks.log" || { tail -60 "$console"; die "the guest check did not finish"; }
cat "$SCRATCH/boot-checks.log"

failed=0
while read -r id; do
	if grep -q "^CHECK PASS $id " "$SCRATCH/boot-checks.log"; then
		pass "guest check $id"
	else
		echo "FAIL: guest check $id (listed in boot-expected-pass.txt)"
		failed=1
	fi
done < <(sed 's/#.*//; /^[[:space:]]*$/d' "$ROOT/tests/package/boot-expected-pass.txt")
for id in $(sed -n 's/^CHECK PASS \([^ ]*\) .*/\1/p' "$SCRATCH/boot-checks.log"); do
	grep -qx "$id" <(sed 's/#.*//; s/[[:space:]]//g' "$ROOT/tests/package/boot-expected-pass.txt") ||
		echo "NOTE: guest check $id now passes: add it to tests/package/boot-expected-pass.txt"
done
for id in $(sed -n 's/^CHECK FAIL \([^ ]*\) .*/\1/p' "$SCRATCH/boot-checks.log"); do
	grep -qx "$id" <(sed 's/#.*//; s/[[:space:]]//g' "$ROOT/tests/package/boot-expected-pass.txt") &&
		continue
	echo "PENDING: guest check $id (not yet expected to pass)"
done
[ "$failed" = 0 ] || die "guest checks that must pass failed"
