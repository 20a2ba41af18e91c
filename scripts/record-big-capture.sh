#!/usr/bin/env bash
# Records a large real capture for the replay benchmark (scripts/bench-replay.sh): one qemu
# TCG boot of Debian's 6.1 kernel loads Debian's falcosecurity-scap-dkms module (scap.ko)
# and runs `sysdig -w` while tests/vm/capture/load.sh drives a mixed workload (shell
# scripts and coreutils, file I/O, HTTP and UDP over loopback). The capture is big, so it
# lives outside the repository.
#
#   scripts/record-big-capture.sh [--seconds N] [--min-events N] [--out FILE]
# Defaults: 400 s of workload, at least 3000000 events, /work/big/live.scap. Fails when the
# capture holds fewer events than --min-events (raise --seconds then).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_LOAD=400
MIN_EVENTS=3000000
OUT=/work/big/live.scap
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_LOAD=$2; shift 2 ;;
    --min-events) MIN_EVENTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--min-events N] [--out FILE]" >&2; exit 2 ;;
  esac
done
command -v sysdig >/dev/null || { echo "sysdig is not installed (scripts/setup.sh)" >&2; exit 1; }

work=$ROOT/.cache/record-capture
rm -rf "$work" && mkdir -p "$work/out" "$work/extra/capture"
scripts/vm/fetch-kernels.sh 6.1 >/dev/null
krel=$(cat .cache/kernels/6.1)
kdir=$ROOT/.cache/kernels/$krel/build

# Debian's packaged Falco driver, built for the guest kernel (shared with bench-driver.sh).
peer=$ROOT/.cache/peer
if [ ! -e "$peer/scap.ko.$krel" ]; then
  mkdir -p "$peer"
  (cd "$peer" && rm -f falcosecurity-scap-dkms_*.deb && apt-get download falcosecurity-scap-dkms >&2)
  rm -rf "$peer/x" && dpkg-deb -x "$peer"/falcosecurity-scap-dkms_*.deb "$peer/x"
  src=$(echo "$peer"/x/usr/src/scap-*)
  make -C "$kdir" M="$src" modules >"$peer/build.log" 2>&1 || { cat "$peer/build.log"; exit 1; }
  cp "$src/scap.ko" "$peer/scap.ko.$krel"
fi
cp "$peer/scap.ko.$krel" "$work/extra/scap.ko"
cp tests/vm/capture/load.sh "$work/extra/capture/load.sh"
echo "SECONDS=$SECONDS_LOAD" >"$work/extra/capture/params"

# mkinitramfs.sh wants our module too; the capture guest never loads it.
ko=$(scripts/vm/build-module.sh 6.1)
progs=()
for p in grep sed sort wc cut tr mkdir cp chmod ln stat date find tar gzip id env uname tail \
  dd xargs md5sum sha256sum basename dirname readlink seq uniq ps curl sysdig; do
  progs+=("$(type -P "$p")")
done
INIT_SCRIPT=tests/vm/capture/capture-init.sh EXTRA_DIR=$work/extra \
  scripts/vm/mkinitramfs.sh "$krel" "$ko" "$work/initrd.cpio.gz" "${progs[@]}"
# Sparse: only what the guest writes takes space.
truncate -s 6G "$work/results.img"
echo "== booting $krel (qemu TCG, 2 CPUs, ${SECONDS_LOAD} s of workload); serial log: $work/serial.log"
start=$(date +%s)
set +e
timeout "${VM_TIMEOUT:-3600}" nice -n 10 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 6144 \
  -nographic -no-reboot -kernel ".cache/kernels/$krel/vmlinuz" -initrd "$work/initrd.cpio.gz" \
  -append "console=ttyS0 panic=-1 oops=panic softlockup_panic=1 loglevel=4" \
  -drive "file=$work/results.img,format=raw,if=none,id=r" -device virtio-blk-pci,drive=r \
  </dev/null >"$work/serial.log" 2>&1
rc=$?
set -e
echo "   qemu exit $rc after $(($(date +%s) - start)) s"
grep -q "VMTEST DONE" "$work/serial.log" || { echo "the guest did not finish" >&2; tail -30 "$work/serial.log" >&2; exit 1; }
tar -xf "$work/results.img" -C "$work/out"
[ -s "$work/out/live.scap" ] || { echo "no capture: $(cat "$work/out/sysdig.log")" >&2; exit 1; }
# Count what the file holds (sysdig's own reader is the judge of a valid capture).
events=$(sysdig -r "$work/out/live.scap" -p '%evt.num' 2>/dev/null | wc -l)
echo "   capture: $events events, $(du -h "$work/out/live.scap" | cut -f1); sysdig: $(grep -E 'Driver (Events|Drops)' "$work/out/sysdig.log" | tr '\n' ' ')"
if [ "$events" -lt "$MIN_EVENTS" ]; then
  echo "only $events events (want $MIN_EVENTS): raise --seconds" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
mv "$work/out/live.scap" "$OUT"
echo "== $OUT: $events events"
