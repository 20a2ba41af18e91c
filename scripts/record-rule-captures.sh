#!/usr/bin/env bash
# Re-records the per-rule captures of tests/rules/captures/ with our own driver: one qemu TCG
# boot of Debian's 6.1 kernel loads falco.ko and, for every case of tests/rules/guest/cases.sh,
# records the positive and the negative workload with `kmod_dump --write` (procfs snapshot +
# events, scap 1.2). The replay test (daemon/tests/rule_captures.rs) checks them against
# tests/rules/expected.txt.
#
#   scripts/record-rule-captures.sh [--out DIR]        (default: tests/rules/captures)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/tests/rules/captures
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done

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
truncate -s 256M "$work/results.img"
echo "== booting $krel (qemu TCG); serial log: $work/serial.log"
start=$(date +%s)
set +e
timeout "${VM_TIMEOUT:-900}" nice -n 10 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 \
  -nographic -no-reboot -kernel ".cache/kernels/$krel/vmlinuz" -initrd "$work/initrd.cpio.gz" \
  -append "console=ttyS0 panic=-1 oops=panic loglevel=4" \
  -drive "file=$work/results.img,format=raw,if=none,id=r" -device virtio-blk-pci,drive=r \
  </dev/null >"$work/serial.log" 2>&1
rc=$?
set -e
echo "   qemu exit $rc after $(($(date +%s) - start)) s"
tar -xf "$work/results.img" -C "$work/out"
grep '^RECORD' "$work/out/record.log" || true
grep -q '^RECORD done' "$work/serial.log" || { echo "the guest did not finish (see $work/serial.log)" >&2; exit 1; }
mkdir -p "$OUT"
n=0
rm -f "$OUT"/*.scap
for f in "$work"/out/*.scap; do
  # Compressed (readers detect gzip by its magic, as libscap does): mostly the snapshot.
  gzip -9 -n -c "$f" >"$OUT/$(basename "$f")"
  n=$((n + 1))
done
echo "== $n captures in $OUT ($(du -sh "$OUT" | cut -f1))"
