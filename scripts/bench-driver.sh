#!/usr/bin/env bash
# Driver benchmark (a measurement, not a test): one qemu boot of Debian's 6.1 kernel runs a
# syscall microbenchmark (open+read+close of a file; getppid) with
#   none  no module,
#   ours  our falco.ko + our daemon with the default rules (packaging/rules/falco_rules.yaml),
#   peer  Debian's falcosecurity-scap-dkms module (scap.ko) + `sysdig -w /dev/null`,
# interleaved REPS times, and prints per-iteration medians, ratios to "none", our added cost
# relative to the peer's, and each reader's drops. TCG timings are emulation speed: compare
# conditions of the same run only.
#
#   scripts/bench-driver.sh [--iters N] [--rounds N] [--reps N] [--conds LIST]
#                           [--perf LIST] [--perf-iters N] [--base-ko FILE]
# Defaults: 100000 iterations, 5 rounds, 2 repetitions, conditions "none ours peer" ("dump":
# our module read by kmod_dump, no rules or state; "idle": our module loaded, capture off,
# the floor of the syscall-tracepoint slow path). --perf profiles the listed conditions
# after the timed runs (one round of --perf-iters iterations under `perf record -a -g`,
# the guest's flat and inclusive profiles in perf-<cond>.txt). Condition "base" is "ours"
# with the module FILE given by --base-ko (e.g. main's build): a same-run A/B of two module
# versions under the same daemon. Artifacts: .cache/bench-driver/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ITERS=100000
ROUNDS=5
REPS=2
CONDS="none ours peer"
PERF=""
PERF_ITERS=20000
BASE_KO=""
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) ITERS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --conds) CONDS=$2; shift 2 ;;
    --perf) PERF=$2; shift 2 ;;
    --base-ko) BASE_KO=$(realpath "$2"); shift 2 ;;
    --perf-iters) PERF_ITERS=$2; shift 2 ;;
    *) echo "usage: $0 [--iters N] [--rounds N] [--reps N] [--conds 'none idle ours peer dump'] [--perf CONDS] [--perf-iters N] [--base-ko FILE]" >&2; exit 2 ;;
  esac
done

work=$ROOT/.cache/bench-driver
rm -rf "$work" && mkdir -p "$work/out" "$work/extra/bench"
scripts/vm/fetch-kernels.sh 6.1 >/dev/null
krel=$(cat .cache/kernels/6.1)
kdir=$ROOT/.cache/kernels/$krel/build

echo "== our module and programs"
ko=$(scripts/vm/build-module.sh 6.1)
cargo build --release -p falco --bin falco --example kmod_dump --example kmod_selftest
gcc -O2 -static -Wall -Wextra -Werror -o "$work/syscall_bench" tests/vm/bench/syscall_bench.c

echo "== the peer: Debian's falcosecurity-scap-dkms built for $krel"
peer=$ROOT/.cache/peer
if [ ! -e "$peer/scap.ko.$krel" ]; then
  mkdir -p "$peer"
  (cd "$peer" && rm -f falcosecurity-scap-dkms_*.deb && apt-get download falcosecurity-scap-dkms >&2)
  rm -rf "$peer/x" && dpkg-deb -x "$peer"/falcosecurity-scap-dkms_*.deb "$peer/x"
  src=$(echo "$peer"/x/usr/src/scap-*)
  make -C "$kdir" M="$src" modules >"$peer/build.log" 2>&1 || { cat "$peer/build.log"; exit 1; }
  cp "$src/scap.ko" "$peer/scap.ko.$krel"
fi
command -v sysdig >/dev/null || { echo "sysdig is not installed (scripts/setup.sh)" >&2; exit 1; }

# The event types the default rules name, for the stand-in reader (see bench-init.sh).
rule_events=$(python3 - packaging/rules/falco_rules.yaml <<'PY'
import re, sys
text = open(sys.argv[1]).read()
names = set()
for m in re.finditer(r"evt\.type\s*(?:=\s*([a-z0-9_]+)|in\s*\(([^)]*)\))", text):
    if m.group(1):
        names.add(m.group(1))
    else:
        names.update(n.strip() for n in m.group(2).split(",") if n.strip())
print(",".join(sorted(names)))
PY
)
cp "$peer/scap.ko.$krel" "$work/extra/scap.ko"
if [ -n "$BASE_KO" ]; then
  cp "$BASE_KO" "$work/extra/falco-base.ko"
elif [[ " $CONDS " == *" base "* ]]; then
  echo "condition base needs --base-ko FILE" >&2
  exit 2
fi
cp packaging/rules/falco_rules.yaml "$work/extra/bench/falco_rules.yaml"
cat >"$work/extra/bench/falco.yaml" <<'YAML'
rules_files:
  - /bench/falco_rules.yaml
json_output: true
stdout_output:
  enabled: true
webserver:
  enabled: false
YAML
cat >"$work/extra/bench/params" <<P
ITERS=$ITERS
ROUNDS=$ROUNDS
REPS=$REPS
CONDS="$CONDS"
PERF="$PERF"
PERF_ITERS=$PERF_ITERS
RULE_EVENTS=$rule_events
P
mkdir -p "$work/extra/etc/falco"

INIT_SCRIPT=tests/vm/bench/bench-init.sh EXTRA_DIR=$work/extra \
  scripts/vm/mkinitramfs.sh "$krel" "$ko" "$work/initrd.cpio.gz" \
  "$ROOT/target/release/falco" "$ROOT/target/release/examples/kmod_dump" \
  "$ROOT/target/release/examples/kmod_selftest" "$work/syscall_bench" /usr/bin/sysdig \
  ${PERF:+"$(command -v perf)"}
truncate -s 256M "$work/results.img"
echo "== booting $krel (qemu TCG, 2 CPUs); serial log: $work/serial.log"
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
set +e
timeout "${VM_TIMEOUT:-3600}" nice -n 10 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
  -nographic -no-reboot -kernel ".cache/kernels/$krel/vmlinuz" -initrd "$work/initrd.cpio.gz" \
  -append "console=ttyS0 panic=-1 oops=panic softlockup_panic=1 loglevel=4" \
  -drive "file=$work/results.img,format=raw,if=none,id=r" -device virtio-blk-pci,drive=r \
  </dev/null >"$work/serial.log" 2>&1
rc=$?
set -e
echo "   qemu exit $rc after $(($(date +%s) - start)) s"
echo "host load (1/5/15 min): $load_before at boot, $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  >"$work/load.txt"
tar -xf "$work/results.img" -C "$work/out" 2>/dev/null || true
grep -q "VMTEST DONE" "$work/serial.log" || { echo "the guest did not finish" >&2; tail -30 "$work/serial.log" >&2; exit 1; }
if grep -E "WARNING:|BUG:|Oops|Call Trace|Kernel panic" "$work/serial.log"; then
  echo "kernel warnings in the serial log" >&2
  exit 1
fi
{ python3 scripts/bench-driver-report.py "$work/out/bench.txt"; cat "$work/load.txt"; } | tee "$work/report.txt"
for f in "$work"/out/perf-*.txt; do
  [ -e "$f" ] && echo "profile: $f"
done
