#!/usr/bin/env bash
# Benchmark (not a test): our replay of a large capture with the stable + incubating + sandbox
# rules against `sysdig -r FILE -q` (parse only, no rules), in the same run. Prints the median
# wall time, CPU time (user + system, all threads) and peak RSS of each (from /usr/bin/time -v)
# and our/sysdig ratios, with the load average before and after (the machine may be shared).
#
#   scripts/bench-replay.sh [CAPTURE.scap]      (default: a looped capture, see below)
#
# Environment: RUNS (default 3), EVENTS (size of the generated capture, default 3000000),
# SHARED (the shared/ folder, default ../shared next to the repository), BASELINE (another
# falco binary, e.g. a copy of the one before a change: measured in the same runs, printed
# as a third row with its own ratios).
#
# Without a CAPTURE argument the script builds .cache/bench/big.scap with
# scripts/make-big-capture.py by looping the events of the upstream fixture
# psp/run_as_user_0_container.scap (containers, execve, open/read/write, sockets) until EVENTS
# events. A capture recorded on a live system (shared/VM.md, `sysdig -w`) is more realistic:
# pass it as the argument.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}
RUNS=${RUNS:-3}
EVENTS=${EVENTS:-3000000}
RULES=$SHARED/compat/rules
command -v sysdig >/dev/null || { echo "sysdig is not installed (apt-get install sysdig)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install time)" >&2; exit 1; }

capture=${1:-}
if [ -z "$capture" ]; then
  mkdir -p .cache/bench
  capture=.cache/bench/big.scap
  if [ ! -s "$capture" ]; then
    python3 scripts/make-big-capture.py \
      "$SHARED/compat/scap/falco/psp/run_as_user_0_container.scap" "$capture" --events "$EVENTS"
  fi
fi

cargo build --release -q
falco=$ROOT/target/release/falco
work=$(mktemp -d "${TMPDIR:-/tmp}/falco-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/falco.yaml" <<'YAML'
stdout_output:
  enabled: true
syslog_output:
  enabled: false
json_output: false
log_stderr: true
log_syslog: false
log_level: warning
watch_config_files: false
webserver:
  enabled: false
YAML

# measure NAME CMD...: appends "wall_seconds rss_kb cpu_seconds" to $work/NAME.
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "$name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
    /Maximum resident set size/ { rss = $2 }
    /User time \(seconds\)|System time \(seconds\)/ { cpu += $2 }
    END { print wall, rss, cpu }' "$work/$name.time" >>"$work/$name"
}

# replay NAME BINARY: one measured replay with all three rule files.
replay() {
  measure "$1" "$2" -c "$work/falco.yaml" \
    -r "$RULES/falco_rules.yaml" -r "$RULES/falco-incubating_rules.yaml" -r "$RULES/falco-sandbox_rules.yaml" \
    -o engine.kind=replay -o "engine.replay.capture_file=$capture"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$RUNS"); do
  measure sysdig sysdig -r "$capture" -q
  replay falco "$falco"
  if [ -n "${BASELINE:-}" ]; then replay baseline "$BASELINE"; fi
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
s_wall=$(cut -d' ' -f1 "$work/sysdig" | median); s_rss=$(cut -d' ' -f2 "$work/sysdig" | median)
f_wall=$(cut -d' ' -f1 "$work/falco" | median); f_rss=$(cut -d' ' -f2 "$work/falco" | median)
s_cpu=$(cut -d' ' -f3 "$work/sysdig" | median); f_cpu=$(cut -d' ' -f3 "$work/falco" | median)
alerts=$(grep -m1 '^Events detected:' "$work/falco.out" || true)
events=$(python3 - "$capture" <<'PY'
import gzip, struct, sys
d = open(sys.argv[1], 'rb').read()
if d[:2] == b'\x1f\x8b':
    d = gzip.decompress(d)
off = n = 0
while off + 8 <= len(d):
    t, l = struct.unpack_from('<II', d, off)
    if l < 12:
        break
    n += t in (0x204, 0x216, 0x221, 0x208, 0x217, 0x222)
    off += l
print(n)
PY
)
echo "capture: $capture ($events events)"
echo "runs: $RUNS (medians); load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %10s %8s\n' "" "wall" "user+sys" "peak RSS"
printf '%-44s %8s s %8s s %5s MB\n' "sysdig -r FILE -q (parse only)" "$s_wall" "$s_cpu" "$((s_rss / 1024))"
printf '%-44s %8s s %8s s %5s MB   %s\n' "falco replay, stable+incubating+sandbox" "$f_wall" "$f_cpu" "$((f_rss / 1024))" "$alerts"
awk -v fw="$f_wall" -v sw="$s_wall" -v fr="$f_rss" -v sr="$s_rss" -v fc="$f_cpu" -v sc="$s_cpu" -v n="$events" 'BEGIN {
  printf "ratio falco/sysdig: wall %.2f, CPU %.2f, peak RSS %.2f\n", fw / sw, fc / sc, fr / sr
  if (fw > 0) printf "falco: %.2f M events/s with all rules; sysdig parse only: %.2f M events/s\n", n / fw / 1e6, n / sw / 1e6
}'
if [ -n "${BASELINE:-}" ]; then
  b_wall=$(cut -d' ' -f1 "$work/baseline" | median); b_rss=$(cut -d' ' -f2 "$work/baseline" | median)
  b_cpu=$(cut -d' ' -f3 "$work/baseline" | median)
  printf '%-44s %8s s %8s s %5s MB   %s\n' "baseline ($BASELINE)" "$b_wall" "$b_cpu" "$((b_rss / 1024))" \
    "$(grep -m1 '^Events detected:' "$work/baseline.out" || true)"
  awk -v bw="$b_wall" -v sw="$s_wall" -v bc="$b_cpu" -v sc="$s_cpu" -v fw="$f_wall" -v fc="$f_cpu" 'BEGIN {
    printf "ratio baseline/sysdig: wall %.2f, CPU %.2f; falco/baseline: wall %.2f, CPU %.2f\n", bw / sw, bc / sc, fw / bw, fc / bc
  }'
fi
