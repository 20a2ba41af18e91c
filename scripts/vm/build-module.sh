#!/usr/bin/env bash
# Builds driver/ against a cached kernel's headers (see fetch-kernels.sh) with W=1 and
# fails on any compiler warning.
#
#   scripts/vm/build-module.sh 6.1|5.10|6.12     -> prints the path of falco.ko
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
want=${1:?usage: build-module.sh 6.1|5.10|6.12}
[ -e ".cache/kernels/$want" ] || scripts/vm/fetch-kernels.sh "$want" >&2
krel=$(cat ".cache/kernels/$want")
kdir=$ROOT/.cache/kernels/$krel/build
out=$ROOT/.cache/build/$krel
rm -rf "$out" && mkdir -p "$out"
cp -r driver "$out/"
extra=()
# bullseye's 5.10 Makefile asks for gcc-10; gcc 12 builds it fine.
case "$krel" in 5.10.*) extra=(CC=gcc) ;; esac
log=$out/build.log
if ! make -C "$kdir" M="$out/driver" W=1 "${extra[@]}" modules >"$log" 2>&1; then
  cat "$log" >&2
  echo "module build failed for $krel" >&2
  exit 1
fi
if grep -E 'warning:|error:' "$log" >&2; then
  echo "module build for $krel has warnings" >&2
  exit 1
fi
echo "$out/driver/falco.ko"
