#!/usr/bin/env bash
# Driver benchmark (a measurement, not a test): one qemu boot of a Debian kernel runs a
# syscall microbenchmark (open+read+close of a file; getppid) with
#   none  no module,
#   ours  our falco.ko + our daemon with the default rules (packaging/rules/falco_rules.yaml),
#   peer  Debian's falcosecurity-scap-dkms module (scap.ko) + `sysdig -w /dev/null`,
# interleaved REPS times, and prints per-iteration medians, ratios to "none", our added cost
# relative to the peer's, and each reader's drops. TCG timings are emulation speed: compare
# conditions of the same run only.
#
#   scripts/bench-driver.sh [--iters N] [--rounds N] [--reps N] [--conds LIST]
#                           [--perf LIST] [--perf-iters N] [--base-ko FILE] [--kernel K]
# Defaults: 100000 iterations, 5 rounds, 2 repetitions, conditions "none ours peer" ("dump":
# our module read by kmod_dump, no rules or state; "idle": our module loaded, capture off,
# the floor of the syscall-tracepoint slow path). --perf profiles the listed conditions
# after the timed runs (one round of --perf-iters iterations under `perf record -a -g`,
# the guest's flat and inclusive profiles in perf-<cond>.txt). Condition "base" is "ours"
# with the module FILE given by --base-ko (e.g. main's build): a same-run A/B of two module
# versions under the same daemon; "sched" and "wall" are "ours" with the module's
# timestamp_clock forced to one clock. --kernel: 6.1 (default), 5.10 or 6.12 (the peer is
# built for that kernel only when CONDS names it). Artifacts: .cache/bench-driver/.
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
KERNEL=6.1
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) ITERS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --conds) CONDS=$2; shift 2 ;;
    --perf) PERF=$2; shift 2 ;;
    --base-ko) BASE_KO=$(realpath "$2"); shift 2 ;;
    --perf-iters) PERF_ITERS=$2; shift 2 ;;
    --kernel) KERNEL=$2; shift 2 ;;
    *) echo "usage: $0 [--iters N] [--rounds N] [--reps N] [--conds 'none idle ours sched wall peer dump'] [--perf CONDS] [--perf-iters N] [--base-ko FILE] [--kernel 6.1|5.10|6.12]" >&2; exit 2 ;;
  esac
done

work=$ROOT/.cache/bench-driver
rm -rf "$work" && mkdir -p "$work/out" "$work/extra/bench"
scripts/vm/fetch-kernels.sh "$KERNEL" >/dev/null
krel=$(cat ".cache/kernels/$KERNEL")

echo "== our module and programs"
ko=$(scripts/vm/build-module.sh "$KERNEL")
cargo build --release -p falco --bin falco --example kmod_dump --example kmod_selftest
gcc -O2 -static -Wall -Wextra -Werror -o "$work/syscall_bench" tests/vm/bench/syscall_bench.c

if [[ " $CONDS $PERF " == *" peer "* ]]; then
  echo "== the peer: Debian's falcosecurity-scap-dkms built for $krel"
  peer_ko=$(scripts/vm/peer-module.sh "$KERNEL")
  cp "$peer_ko" "$work/extra/scap.ko"
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
echo "== booting $krel (qemu TCG, 2 CPUs); serial log: $work/serial.log"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
scripts/vm/qemu-run.sh "$krel" "$work/initrd.cpio.gz" "$work" --mem 2048 --disk 256M \
  --timeout "${VM_TIMEOUT:-3600}" --loglevel 4 || true
echo "host load (1/5/15 min): $load_before at boot, $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  >"$work/load.txt"
grep -q "VMTEST DONE" "$work/serial.log" || { echo "the guest did not finish" >&2; tail -30 "$work/serial.log" >&2; exit 1; }
. scripts/vm/qemu-lib.sh
if vm_kernel_problems "$work/serial.log"; then
  echo "kernel warnings in the serial log" >&2
  exit 1
fi
{ python3 scripts/bench-driver-report.py "$work/out/bench.txt"; cat "$work/load.txt"; } | tee "$work/report.txt"
for f in "$work"/out/perf-*.txt; do
  if [ -e "$f" ]; then echo "profile: $f"; fi
done
