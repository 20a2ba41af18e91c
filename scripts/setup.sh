#!/usr/bin/env bash
# Installs everything the build and the test suite need on a Debian 12 host.
# Idempotent: already-installed packages are skipped by apt.
set -euo pipefail

PKGS=(
  build-essential pkg-config libclang-dev clang
  python3 python3-yaml
  sysdig
  qemu-system-x86 qemu-utils busybox-static cpio zstd kmod dwarves dash coreutils
  rsyslog logrotate curl prometheus openssl time strace
  dpkg-dev rpm lintian rpmlint mmdebstrap e2fsprogs man-db groff-base debian-archive-keyring
)

apt_install() {
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
    # A dpkg "cannot stat" failure leaves the database half-configured: repair once and retry.
    dpkg --configure -a || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  fi
}

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update
  apt_install "${missing[@]}"
fi

if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi
