#!/usr/bin/env bash
# Boots a cached Debian kernel (scripts/vm/fetch-kernels.sh) with an initramfs made by
# scripts/vm/mkinitramfs.sh under qemu TCG (2 vCPUs, no KVM needed, niced), the one way
# every initramfs guest of the project runs: the VM tests, the driver benchmark and the
# capture recorders. The guest's /init writes its results as a tar stream to /dev/vda (a
# raw results disk); they land in WORK/out. The serial console (every printk: oops=panic
# and panic=-1 end qemu at once on an oops) goes to WORK/serial.log.
#
#   scripts/vm/qemu-run.sh KREL INITRD WORK [--mem MB] [--disk SIZE] [--timeout S]
#                          [--loglevel N] [--accel ACCEL]
# Defaults: 1024 MB, a 512M results disk, VM_TIMEOUT or 900 s, loglevel 7, VM_ACCEL or tcg.
# Exit status: qemu's (124: the guest did not power off in time). Prints how long it ran.
# The caller judges the results (its guest's done marker, WORK/out, the serial log).
set -uo pipefail
cd "$(dirname "$0")/../.."
usage() { echo "usage: $0 KREL INITRD WORK [--mem MB] [--disk SIZE] [--timeout S] [--loglevel N] [--accel ACCEL]" >&2; exit 2; }
[ $# -ge 3 ] || usage
krel=$1 initrd=$2 work=$3
shift 3
mem=1024 disk=512M timeout=${VM_TIMEOUT:-900} loglevel=7 accel=${VM_ACCEL:-tcg}
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --mem) mem=$2 ;;
    --disk) disk=$2 ;;
    --timeout) timeout=$2 ;;
    --loglevel) loglevel=$2 ;;
    --accel) accel=$2 ;;
    *) usage ;;
  esac
  shift 2
done
kernel=.cache/kernels/$krel/vmlinuz
[ -s "$kernel" ] || { echo "qemu-run: no $kernel (scripts/vm/fetch-kernels.sh)" >&2; exit 2; }
[ -s "$initrd" ] || { echo "qemu-run: no initramfs $initrd" >&2; exit 2; }

mkdir -p "$work/out"
rm -f "$work/results.img"
# Sparse: only what the guest writes takes space.
truncate -s "$disk" "$work/results.img"
. scripts/vm/qemu-lib.sh
start=$(date +%s)
VM_ACCEL=$accel vm_qemu "$work/serial.log" "$timeout" "$mem" \
  "softlockup_panic=1 loglevel=$loglevel" -kernel "$kernel" -initrd "$initrd" \
  -drive "file=$work/results.img,format=raw,if=none,id=r" -device virtio-blk-pci,drive=r
rc=$?
echo "   qemu exit $rc after $(($(date +%s) - start)) s; serial log: $work/serial.log"
tar -xf "$work/results.img" -C "$work/out" 2>/dev/null || true
exit $rc
