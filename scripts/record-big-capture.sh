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
cp "$(scripts/vm/peer-module.sh 6.1)" "$work/extra/scap.ko"
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
echo "== booting $krel (qemu TCG, 2 CPUs, ${SECONDS_LOAD} s of workload); serial log: $work/serial.log"
scripts/vm/qemu-run.sh "$krel" "$work/initrd.cpio.gz" "$work" --mem 6144 --disk 6G \
  --timeout "${VM_TIMEOUT:-3600}" --loglevel 4 || true
grep -q "VMTEST DONE" "$work/serial.log" || { echo "the guest did not finish" >&2; tail -30 "$work/serial.log" >&2; exit 1; }
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
