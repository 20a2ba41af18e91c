#!/bin/busybox sh
# /init of the driver benchmark guest (scripts/bench-driver.sh). Runs the syscall
# microbenchmark under three conditions, interleaved REPS times so drift hits all alike:
#   none  no module loaded
#   ours  falco.ko + our reader: the daemon with the default rules (falco -o
#         engine.kind=kmod); where this build cannot run it yet, kmod_dump recording the
#         default rules' event types plus the state tracker's (what the daemon would set)
#   peer  Debian's scap.ko (falcosecurity-scap-dkms) + `sysdig -w /dev/null`
#   dump  (only when CONDS names it) falco.ko + kmod_dump as the reader
#   base  (only when CONDS names it) as "ours" with /falco-base.ko, another build of the
#         module (--base-ko): a same-run comparison of two module versions
#   idle  (only when CONDS names it) falco.ko loaded, probes attached, capture disabled:
#         the syscall-tracepoint slow path plus the probe's first test, no record written
#   sched, wall  (only when CONDS names them) as "ours" with the module's timestamp_clock
#         forced to the scheduler clock or the per-record wall clock ("ours" takes what
#         the kernel allows: see driver/README.md)
# PERF (from params) names conditions profiled after the timed repetitions: one more run
# under `perf record -e cpu-clock -a -g`, reported into /out/perf-<cond>.txt.
# Output lines in /out/bench.txt:
#   RESULT <cond> <rep> <round> <openrc|getppid> <ns per iteration>
#   DROPS <cond> <rep> events=<n> drops=<n>
#   READER <what ran as "ours">
. /vm-guest.sh
guest_setup

. /bench/params
OUT=/out/bench.txt
: >"$OUT"
echo "VMTEST kernel $(uname -r), $(nproc) CPUs, ITERS=$ITERS ROUNDS=$ROUNDS REPS=$REPS"

bench() { # bench COND REP
	syscall_bench "$ITERS" "$ROUNDS" /etc/hostname | while read -r _ round what ns; do
		echo "RESULT $1 $2 $round $what $ns" >>"$OUT"
	done
}

start_ours() { # start_ours REP [MODULE [PARAMETER...]]
	ours_rep=$1
	module=${2:-/falco.ko}
	if [ $# -ge 2 ]; then shift 2; else shift 1; fi
	insmod "$module" "$@" || { echo "BENCH-ERROR insmod $module $*"; return 1; }
	set -- "$ours_rep"
	READER=daemon
	falco -c /bench/falco.yaml -r /bench/falco_rules.yaml -o engine.kind=kmod \
		>/out/daemon-$1.log 2>&1 &
	OURS=$!
	sleep 3
	# The daemon holds the devices when it runs: a second reader is refused.
	kmod_dump --seconds 0.1 >/dev/null 2>&1
	if [ $? != 3 ] || ! kill -0 $OURS 2>/dev/null; then
		kill -KILL $OURS 2>/dev/null
		wait $OURS 2>/dev/null
		READER=kmod_dump
		kmod_dump --quiet --state --names "$RULE_EVENTS" >/out/reader-$1.txt 2>&1 &
		OURS=$!
		sleep 2
	fi
	echo "READER $READER" >>"$OUT"
}

stop_ours() { # stop_ours REP [COND]
	kill -TERM $OURS
	wait $OURS
	stats=$(kmod_selftest --stats)
	events=$(echo "$stats" | sed -n 's/.*events=\([0-9]*\).*/\1/p')
	drops=$(echo "$stats" | sed -n 's/.*drops_full=\([0-9]*\).*/\1/p')
	echo "DROPS ${2:-ours} $1 events=$events drops=$drops" >>"$OUT"
	rmmod falco
}

start_peer() {
	insmod /scap.ko || { echo "BENCH-ERROR insmod scap.ko"; return 1; }
	sysdig -v -w /dev/null >/out/sysdig-$1.log 2>&1 &
	PEER=$!
	sleep 3
}

stop_peer() {
	kill -INT $PEER
	wait $PEER
	# sysdig -v ends with its driver counters: "Driver Events:N" and "Driver Drops:N".
	events=$(sed -n 's/.*Driver Events:[ ]*\([0-9]*\).*/\1/p' /out/sysdig-$1.log | tail -1)
	drops=$(sed -n 's/.*Driver Drops:[ ]*\([0-9]*\).*/\1/p' /out/sysdig-$1.log | tail -1)
	echo "DROPS peer $1 events=${events:-?} drops=${drops:-?}" >>"$OUT"
	rmmod scap
}

# dump: our module with the record dumper as the reader (same interest set as the daemon,
# no rules or state): separates the driver and ring cost from the daemon's processing.
start_dump() {
	insmod /falco.ko || { echo "BENCH-ERROR insmod falco.ko"; return 1; }
	kmod_dump --quiet --state --names "$RULE_EVENTS" >/out/dump-$1.txt 2>&1 &
	DUMP=$!
	sleep 2
}

stop_dump() {
	kill -TERM $DUMP
	wait $DUMP
	stats=$(kmod_selftest --stats)
	events=$(echo "$stats" | sed -n 's/.*events=\([0-9]*\).*/\1/p')
	drops=$(echo "$stats" | sed -n 's/.*drops_full=\([0-9]*\).*/\1/p')
	echo "DROPS dump $1 events=$events drops=$drops" >>"$OUT"
	rmmod falco
}

start_idle() {
	insmod /falco.ko || { echo "BENCH-ERROR insmod falco.ko"; return 1; }
}

stop_idle() {
	rmmod falco
}

rep=1
while [ $rep -le "$REPS" ]; do
	for cond in ${CONDS:-none ours peer}; do
		echo "== rep $rep: $cond"
		case $cond in
		none) bench none $rep ;;
		ours) start_ours $rep && { bench ours $rep; stop_ours $rep; } ;;
		base) start_ours $rep /falco-base.ko && { bench base $rep; stop_ours $rep base; } ;;
		sched | wall)
			start_ours $rep /falco.ko timestamp_clock=$cond &&
				{ bench $cond $rep; stop_ours $rep $cond; } ;;
		peer) start_peer $rep && { bench peer $rep; stop_peer $rep; } ;;
		dump) start_dump $rep && { bench dump $rep; stop_dump $rep; } ;;
		idle) start_idle $rep && { bench idle $rep; stop_idle $rep; } ;;
		esac
	done
	rep=$((rep + 1))
done

# profile COND: one syscall_bench round under perf, system wide, with call graphs.
profile() {
	echo "== profile: $1"
	perf record -q -e cpu-clock -F 4000 -a -g -o /tmp/perf.data \
		syscall_bench "$PERF_ITERS" 1 /etc/hostname >/out/perf-$1.bench 2>&1
	{
		echo "### flat, by symbol"
		perf report -i /tmp/perf.data --stdio --no-children --sort comm,dso,sym \
			-g none --percent-limit 0.2 2>&1
		echo "### inclusive, by symbol"
		perf report -i /tmp/perf.data --stdio --children --sort sym -g none \
			--percent-limit 1 2>&1
		echo "### call graph of the benchmark process"
		perf report -i /tmp/perf.data --stdio --no-children --comm syscall_bench \
			--sort sym -g caller,0.5,callee --percent-limit 1 2>&1
	} >/out/perf-$1.txt
	rm -f /tmp/perf.data
}

for cond in $PERF; do
	case $cond in
	none) profile none ;;
	ours) start_ours p && { profile ours; stop_ours p; } ;;
	peer) start_peer p && { profile peer; stop_peer p; } ;;
	dump) start_dump p && { profile dump; stop_dump p; } ;;
	idle) start_idle p && { profile idle; stop_idle p; } ;;
	esac
done

dmesg >/out/dmesg.txt
echo "VMTEST DONE"
guest_finish /out
