#!/usr/bin/env bash
# Re-records the per-rule captures of tests/rules/captures/ with our own driver: one qemu TCG
# boot of Debian's 6.1 kernel loads falco.ko and, for every case of tests/rules/guest/cases.sh,
# records the positive and the negative workload with `kmod_dump --write` (procfs snapshot +
# events, scap 1.2). The replay test (daemon/tests/rule_captures.rs) checks them against
# tests/rules/expected.txt.
#
# --containers records the cases of tests/rules/guest/container-cases.sh instead: real podman
# containers (privileged, with a sensitive mount, and their near misses) in the booted Debian
# image of the package tests (our .deb installed, DKMS-built module, podman), where kmod_dump
# writes the metadata podman's files give as container events (needs root: the image build).
#
#   scripts/record-rule-captures.sh [--containers] [--out DIR]   (default: tests/rules/captures)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/tests/rules/captures
containers=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --containers) containers=1; shift ;;
    *) echo "usage: $0 [--containers] [--out DIR]" >&2; exit 2 ;;
  esac
done

# Compresses the captures of DIR into $OUT (readers detect gzip by its magic, as libscap
# does; a capture is mostly the snapshot), replacing those of the cases named.
keep_captures() {
  local dir=$1 n=0 c f
  shift
  mkdir -p "$OUT"
  for c in "$@"; do rm -f "$OUT/$c".*.scap; done
  for f in "$dir"/*.scap; do
    gzip -9 -n -c "$f" >"$OUT/$(basename "$f")"
    n=$((n + 1))
  done
  echo "== $n captures in $OUT ($(du -sh "$OUT" | cut -f1))"
}

if [ "$containers" = 1 ]; then
  work=$ROOT/.cache/rule-captures-containers
  rm -rf "$work" && mkdir -p "$work/out"
  cargo build --release -p falco --example kmod_dump
  deb=$(scripts/package.sh | grep '\.deb$')
  image=$ROOT/.cache/vm/falco-record
  guest=tests/rules/guest
  scripts/vm-image.sh --out "$image" --deb "$deb" \
    --file "target/release/examples/kmod_dump=/usr/local/bin/kmod_dump" \
    --file "tests/package/guest/falco-demo=/usr/local/sbin/falco-demo" \
    --file "$guest/record-containers=/usr/local/sbin/falco-record-containers" \
    --file "$guest/container-cases.sh=/usr/local/share/falco-record/container-cases.sh" \
    --file "$guest/falco-record-containers.service=/etc/systemd/system/falco-record-containers.service" \
    --enable falco-record-containers.service
  truncate -s 64M "$work/results.img"
  echo "== booting the Debian image (qemu TCG); serial log: $work/serial.log"
  start=$(date +%s)
  VM_APPEND=falco_guest=record VM_DRIVE=$work/results.img nice -n 10 \
    scripts/vm-boot.sh "$image" "$work/serial.log" "${VM_TIMEOUT:-900}"
  echo "   guest powered off after $(($(date +%s) - start)) s"
  tr -d '\r' <"$work/serial.log" | grep '^RECORD' || true
  tar -xf "$work/results.img" -C "$work/out"
  tr -d '\r' <"$work/serial.log" | grep -q '^RECORD done' || { echo "the guest did not finish (see $work/serial.log)" >&2; exit 1; }
  ls "$work"/out/*.scap >/dev/null || { echo "no captures (see $work/out/record.log)" >&2; exit 1; }
  keep_captures "$work/out" $(bash -c ". $guest/container-cases.sh; echo \$CONTAINER_CASES")
  exit 0
fi

work=$ROOT/.cache/rule-captures
rm -rf "$work" && mkdir -p "$work/out" "$work/extra/rules" "$work/extra/usr/bin"
scripts/vm/fetch-kernels.sh 6.1 >/dev/null
krel=$(cat .cache/kernels/6.1)
ko=$(scripts/vm/build-module.sh 6.1)
cargo build --release -p falco --example kmod_dump
gcc -static -O2 -Wall -Wextra -Werror -o "$work/extra/usr/bin/rulehelper" tests/rules/guest/rulehelper.c
cp tests/rules/guest/cases.sh "$work/extra/rules/cases.sh"
progs=("$ROOT/target/release/examples/kmod_dump")
for p in cp chmod mkdir wc; do progs+=("$(type -P "$p")"); done
INIT_SCRIPT=tests/rules/guest/record-init.sh EXTRA_DIR=$work/extra \
  scripts/vm/mkinitramfs.sh "$krel" "$ko" "$work/initrd.cpio.gz" "${progs[@]}"
echo "== booting $krel (qemu TCG); serial log: $work/serial.log"
scripts/vm/qemu-run.sh "$krel" "$work/initrd.cpio.gz" "$work" --disk 256M --loglevel 4 || true
grep '^RECORD' "$work/out/record.log" || true
grep -q '^RECORD done' "$work/serial.log" || { echo "the guest did not finish (see $work/serial.log)" >&2; exit 1; }
keep_captures "$work/out" $(dash -c ". tests/rules/guest/cases.sh; echo \$CASES")
