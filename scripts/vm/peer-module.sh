#!/usr/bin/env bash
# Builds the peer, Debian's packaged Falco driver (falcosecurity-scap-dkms, module scap),
# for a cached kernel (see fetch-kernels.sh) and prints the path of its scap.ko. Built
# once per kernel release into .cache/peer/ (the driver benchmark and the capture recorder
# compare against it).
#
#   scripts/vm/peer-module.sh 6.1|5.10|6.12
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
want=${1:?usage: peer-module.sh 6.1|5.10|6.12}
[ -e ".cache/kernels/$want" ] || scripts/vm/fetch-kernels.sh "$want" >&2
krel=$(cat ".cache/kernels/$want")
kdir=$ROOT/.cache/kernels/$krel/build
peer=$ROOT/.cache/peer
if [ ! -e "$peer/scap.ko.$krel" ]; then
  mkdir -p "$peer"
  (cd "$peer" && rm -f falcosecurity-scap-dkms_*.deb && apt-get download falcosecurity-scap-dkms >&2)
  rm -rf "$peer/x" && dpkg-deb -x "$peer"/falcosecurity-scap-dkms_*.deb "$peer/x"
  src=$(echo "$peer"/x/usr/src/scap-*)
  extra=()
  # bullseye's 5.10 Makefile asks for gcc-10; gcc 12 builds it fine.
  case "$krel" in 5.10.*) extra=(CC=gcc) ;; esac
  make -C "$kdir" M="$src" "${extra[@]}" modules >"$peer/build.log" 2>&1 || { cat "$peer/build.log" >&2; exit 1; }
  cp "$src/scap.ko" "$peer/scap.ko.$krel"
fi
echo "$peer/scap.ko.$krel"
