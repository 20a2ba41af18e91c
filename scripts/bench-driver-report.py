#!/usr/bin/env python3
"""Summary of one driver benchmark run (scripts/bench-driver.sh): per condition and
workload the median ns per iteration over every round of every repetition, the ratio to
"none", and for open+read+close our added cost as a fraction of the peer's; then drops.

Usage: bench-driver-report.py bench.txt
"""
import statistics
import sys
from collections import defaultdict


# Whole-round means, then the 10th-percentile batch of each round (syscall_bench.c: the
# batches the host did not interrupt; steadier when the host is loaded).
WORKLOADS = ("openrc", "getppid", "openrc@p10", "getppid@p10")


def main():
    results = defaultdict(list)
    by_rep = defaultdict(list)
    drops = defaultdict(list)
    readers = set()
    for line in open(sys.argv[1]):
        f = line.split()
        if not f:
            continue
        if f[0] == "RESULT" and len(f) == 6:
            results[(f[1], f[4])].append(float(f[5]))
            by_rep[(f[1], f[2], f[4])].append(float(f[5]))
        elif f[0] == "DROPS" and len(f) == 5:
            kv = dict(x.split("=", 1) for x in f[3:])
            drops[f[1]].append((f[2], kv.get("events", "?"), kv.get("drops", "?")))
        elif f[0] == "READER":
            readers.add(" ".join(f[1:]))
    if not results:
        sys.exit("no RESULT lines: the benchmark did not run")
    conds = ["none", "idle", "base", "ours", "sched", "wall", "peer", "dump"]
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"our reader: {', '.join(sorted(readers)) or '?'}")
    print(f"{'workload':12} {'condition':9} {'median ns/iter':>15} {'vs none':>8} {'samples':>8}")
    for what in WORKLOADS:
        base = med.get(("none", what))
        for c in conds:
            m = med.get((c, what))
            if m is None:
                continue
            ratio = f"{m / base:.2f}x" if base else "-"
            print(f"{what:12} {c:9} {m:15.1f} {ratio:>8} {len(results[(c, what)]):8}")
    # The same ratio per repetition (medians of its rounds): host load drifts over a run,
    # and each repetition measures every condition within a few seconds of the others.
    per_rep = defaultdict(list)
    for (c, rep, what), v in by_rep.items():
        per_rep[(c, what)].append((rep, statistics.median(v)))
    for what in WORKLOADS:
        reps = sorted({rep for (c, w), xs in per_rep.items() if w == what for rep, _ in xs})
        rows = []
        for rep in reps:
            m = {c: dict(per_rep.get((c, what), [])).get(rep) for c in conds}
            if None in (m["none"], m["ours"], m["peer"]) or m["peer"] <= m["none"]:
                continue
            rows.append((m["ours"] - m["none"]) / (m["peer"] - m["none"]))
        if rows:
            print(f"{what}: per repetition, our added cost / the peer's = "
                  + ", ".join(f"{r:.2f}" for r in rows)
                  + f" (median {statistics.median(rows):.2f})")
    for what in WORKLOADS:
        base, ours, peer = (med.get((c, what)) for c in ("none", "ours", "peer"))
        if None not in (base, ours, peer) and peer > base:
            print(f"{what}: our added cost = {(ours - base) / (peer - base):.2f} of the peer's "
                  f"(+{ours - base:.0f} ns vs +{peer - base:.0f} ns)")
    for c in ("base", "ours", "sched", "wall", "peer", "dump"):
        # rep "p" is the profiling run (--perf), outside the timed repetitions.
        for rep, ev, dr in drops.get(c, []):
            pct = ""
            if ev.isdigit() and dr.isdigit() and int(ev) + int(dr) > 0:
                pct = f" ({100 * int(dr) / (int(ev) + int(dr)):.2f} %)"
            print(f"drops {c} rep {rep}: events={ev} drops={dr}{pct}")


if __name__ == "__main__":
    main()
