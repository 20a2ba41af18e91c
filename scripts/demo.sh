#!/usr/bin/env bash
# The product, on this machine, in a VM: builds the falco .deb, installs it into
# a Debian 12 (bookworm) image the way `apt install` does on a real host (DKMS
# builds the kernel module for the image's Debian kernel, falco.service is
# enabled), boots that image under qemu (TCG: no KVM, no kernel module support
# on the host needed), starts the service, asks /healthz, runs the scenarios of
# Falco's tutorial (reading /etc/shadow, a shell writing below /usr/bin, ...)
# and prints each alert. Exit status 0 when every scenario raised its alert.
#
#   scripts/demo.sh                  (as root, or it re-runs itself with sudo)
#   SKIP_SETUP=1 scripts/demo.sh     do not check/install the host packages
#
# First run: installs missing host packages (scripts/setup.sh), compiles the
# daemon, downloads Debian packages for the image (~400 MB, needs network) —
# about 10 minutes on 2 cores. Later runs reuse all of it (.cache/, target/)
# and take 2-3 minutes, most of it booting under emulation.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "$(id -u)" != 0 ]; then
	# mmdebstrap, chroot and mounts need root; so does loading a module.
	command -v sudo >/dev/null || { echo "demo.sh: run me as root" >&2; exit 1; }
	# The user's Rust toolchain (rustup keeps it below $HOME) stays the one used;
	# sudo's secure_path would hide ~/.cargo/bin.
	exec sudo --preserve-env=CARGO_TARGET_DIR,SKIP_SETUP,DEMO_TIMEOUT,DEBIAN_MIRROR,DEBIAN_SECURITY_MIRROR \
		env "PATH=$PATH" "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" \
		"$0" "$@"
fi
source tests/package/lib.sh

step() { printf '\n==> %s\n' "$*" >&2; }

if [ "${SKIP_SETUP:-0}" != 1 ]; then
	missing=()
	for tool in qemu-system-x86_64 mmdebstrap mkfs.ext4 dpkg-deb dpkg-shlibdeps rpmbuild cargo; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		step "installing host packages (missing: ${missing[*]})"
		scripts/setup.sh
	fi
fi
command -v cargo >/dev/null || die "cargo is not installed: install Rust (https://rustup.rs), then run $0 again"

step "building the falco packages (cargo build --release, scripts/package.sh)"
deb=$(scripts/package.sh | grep '\.deb$')
[ -f "$deb" ] || die "scripts/package.sh produced no .deb"

step "building the Debian 12 VM image with $(basename "$deb") installed (DKMS builds the module; the first time, mmdebstrap downloads the Debian packages: a few minutes)"
image=$(falco_image "$deb" 2>"$SCRATCH/demo-image.log") || {
	cat "$SCRATCH/demo-image.log" >&2
	die "building the VM image failed (log above)"
}
grep -E '^falco-driver-loader:|image (ready|up to date)' "$SCRATCH/demo-image.log" | sed 's/^\[[0-9:]*\] //' >&2 || true

console=$SCRATCH/demo-console.log
step "booting it with qemu (software emulation: 1-2 minutes); the guest says:"
: >"$console"
VM_APPEND=falco_guest=demo scripts/vm-boot.sh "$image" "$console" "${DEMO_TIMEOUT:-900}" &
boot=$!
# The guest prefixes its lines with "DEMO| "; the rest of the console is the
# kernel's and systemd's (kept in $console).
tail -n +1 -F --pid="$boot" "$console" 2>/dev/null | tr -d '\r' | sed -un 's/^DEMO| //p'
status=0
wait "$boot" || status=$?

verdict=$(tr -d '\r' <"$console" | sed -n 's/^DEMO| DEMO END //p' | tail -1)
if [ "$status" != 0 ]; then
	tail -40 "$console" >&2
	die "the VM did not complete the demo (whole console: $console)"
fi
case $verdict in
ok*) printf '\nDemo complete. Full console log: %s\n' "$console" ;;
"") die "the demo did not finish inside the VM (console: $console)" ;;
*) die "demo: $verdict (console: $console)" ;;
esac
