#!/bin/busybox sh
# /init of the VM test guest (see tests/vm/run.sh). Loads the falco module, records a
# scripted workload with the record dumper, exercises the driver's lifecycle (second
# reader, unload while open, SIGKILLed reader, insmod/rmmod cycles under a syscall storm)
# and writes everything to /out, which leaves the VM as a tar stream on /dev/vda.
# Lines "PASS name" / "FAIL name: detail" in /out/results.txt are the verdicts.
. /vm-guest.sh
guest_setup

echo marker >/etc/vm-marker
RESULTS=/out/results.txt
: >"$RESULTS"
pass() { echo "PASS $1" | tee -a "$RESULTS"; }
fail() { echo "FAIL $1: $2" | tee -a "$RESULTS"; }
check() { # check NAME COMMAND...: PASS when the command succeeds
	name=$1; shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "'$*' failed"; fi
}

echo "VMTEST kernel $(uname -r)"
if insmod /falco.ko; then pass insmod; else fail insmod "insmod falco.ko failed"; fi
check devices-exist test -c /dev/falco0
mode=$(stat -c %a /dev/falco0 2>/dev/null)
if [ "$mode" = 600 ]; then pass device-mode-0600; else fail device-mode-0600 "mode is $mode"; fi
n=$(ls /dev | grep -c '^falco[0-9]')
if [ "$n" = "$(nproc)" ] || [ "$n" -ge "$(nproc)" ]; then pass device-per-cpu; else fail device-per-cpu "$n devices for $(nproc) cpus"; fi

# ---- 0. the driver refuses bad ioctls, mappings and a second open ----
kmod_selftest >/out/selftest.txt 2>&1
cat /out/selftest.txt >>"$RESULTS"
grep -q '^PASS mmap-consumer-ok' /out/selftest.txt || fail selftest "$(tail -3 /out/selftest.txt)"

# ---- 1. the workload, recorded by one reader ----
date +%s >/out/dump-main.window   # wall-clock seconds around the recording (check.py)
kmod_dump >/out/dump-main.txt 2>/out/dump-main.err &
DUMP=$!
sleep 2

# A second reader gets a clear "busy" error while the first is attached.
kmod_dump --seconds 0.1 >/dev/null 2>/out/second-reader.err
rc=$?
if [ $rc = 3 ] && grep -q busy /out/second-reader.err; then pass second-reader-busy; else fail second-reader-busy "exit $rc: $(cat /out/second-reader.err)"; fi
# The module cannot go away under a reader.
if rmmod falco 2>/dev/null; then fail rmmod-while-open "rmmod succeeded with a reader attached"; insmod /falco.ko; else pass rmmod-while-open; fi

/vm/workload
# cwd, pipes, fd duplication, sessions, datagrams, a cut argv
echo relative >/tmp/relative-file
/bin/dash -c 'cd /tmp && cat relative-file >/dev/null'
/bin/dash -c 'echo piped | cat >/dev/null'
setsid true
kmod_selftest --udp 9999 >/out/udp.txt 2>&1 || fail udp-workload "$(cat /out/udp.txt)"
/bin/dash -c 'a=0123456789; for i in 1 2 3 4 5 6 7 8 9; do a=$a$a; done; /usr/bin/true $a'
sleep 1
kill -TERM $DUMP
wait $DUMP
echo "main dumper exit $?" >>/out/dump-main.err
date +%s >>/out/dump-main.window

# ---- 1a. read(2) records (the main dump leaves read/write out) ----
kmod_dump --names read,openat,close --seconds 4 >/out/dump-read.txt 2>/out/dump-read.err &
READER=$!
sleep 2
# /usr/bin/cat: the shell would run busybox's cat in-process, which copies with sendfile(2).
/usr/bin/cat /etc/vm-marker >/dev/null
wait $READER

# ---- 1a'. a thread moved between CPUs over and over (taskset): in the merged stream its
# records never go back in time (check.py; the records carry their CPU) ----
kmod_dump --names openat,close --cpu >/out/dump-hop.txt 2>/out/dump-hop.err &
HOPDUMP=$!
sleep 2
/bin/dash -c 'while [ ! -e /tmp/hop-stop ]; do : >/tmp/hop; done' &
HOPPER=$!
i=0
while [ $i -lt 300 ]; do
	taskset -p $((i % 2 + 1)) $HOPPER >/dev/null 2>&1
	i=$((i + 1))
done
touch /tmp/hop-stop
wait $HOPPER
sleep 1
kill -TERM $HOPDUMP
wait $HOPDUMP
echo $HOPPER >/out/hopper.tid
dmesg | grep -o 'timestamps: .*' | tail -1 >/out/clock.txt

# ---- 1b. an idle reader costs (almost) no CPU ----
kmod_dump --quiet >/dev/null 2>/out/idle.err &
IDLE=$!
sleep 2
t0=$(awk '{print $14 + $15}' /proc/$IDLE/stat)
sleep 20
t1=$(awk '{print $14 + $15}' /proc/$IDLE/stat)
kill -TERM $IDLE
wait $IDLE
# USER_HZ is 100 on x86: ticks over 20 s, as a percentage of one CPU.
pct=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 20 }')
echo "idle reader CPU: $pct % over 20 s" | tee /out/idle-cpu.txt
if awk -v p="$pct" 'BEGIN { exit !(p <= 1.0) }'; then pass "idle-cpu-at-most-1%"; else fail "idle-cpu-at-most-1%" "$pct %"; fi

# ---- 1c. the daemon: rules -> JSON alerts; SIGKILLed mid-stream, a new one attaches ----
# waits until daemon $1 has the devices open, then lets it enable capture
daemon_attached() {
	i=0
	while [ $i -lt 120 ]; do
		kill -0 "$1" 2>/dev/null || return 1
		if ls -l /proc/"$1"/fd 2>/dev/null | grep -q /dev/falco0; then
			sleep 2
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}
if [ -x /usr/bin/falco ]; then
	echo 'ls -la' >/root/.bash_history
	rm -f /bin/x /root/bash_history.moved
	falco -c /vm/falco.yaml >/out/alerts-1.json 2>/out/daemon-1.err &
	D1=$!
	if daemon_attached $D1; then pass daemon-1-attached; else fail daemon-1-attached "$(tail -5 /out/daemon-1.err)"; fi
	/vm/workload
	# read(2) is not recorded without -A: the marker rule must stay silent here.
	/usr/bin/cat /etc/vm-marker >/dev/null
	sleep 3
	( while :; do cat /etc/hostname >/dev/null; done ) &
	STORM1=$!
	sleep 1
	kill -KILL $D1
	wait $D1 2>/dev/null
	falco -c /vm/falco.yaml >/out/alerts-2.json 2>/out/daemon-2.err &
	D2=$!
	if daemon_attached $D2; then pass daemon-2-attached-after-sigkill; else fail daemon-2-attached-after-sigkill "$(tail -5 /out/daemon-2.err)"; fi
	/bin/dash -c 'cat /etc/shadow >/dev/null'
	sleep 3
	kill $STORM1
	wait $STORM1 2>/dev/null
	kill -TERM $D2
	wait $D2
	rc=$?
	if [ $rc = 0 ]; then pass daemon-2-clean-exit; else fail daemon-2-clean-exit "exit $rc: $(tail -5 /out/daemon-2.err)"; fi

	# ---- 1d. -A and a full ring: with -A the daemon records read(2), so the marker rule
	# alerts; a 64 KiB ring under a read/write storm drops records, and the daemon raises
	# Falco's drop alert (and log line) from the module's counters ----
	rmmod falco
	insmod /falco.ko ring_bytes=65536
	falco -c /vm/falco-drops.yaml -A >/out/alerts-drops.json 2>/out/daemon-drops.err &
	D3=$!
	if daemon_attached $D3; then pass daemon-drops-attached; else fail daemon-drops-attached "$(tail -5 /out/daemon-drops.err)"; fi
	for i in 1 2 3; do /usr/bin/cat /etc/vm-marker >/dev/null; sleep 1; done
	dd if=/dev/zero of=/dev/null bs=1 count=100000000 2>/dev/null &
	S1=$!
	dd if=/dev/zero of=/dev/null bs=1 count=100000000 2>/dev/null &
	S2=$!
	sleep 6
	kill $S1 $S2
	wait $S1 $S2 2>/dev/null
	# The monitor checks once per second of event time: give it events after the storm.
	for i in 1 2 3; do cat /etc/hostname >/dev/null; sleep 1; done
	kill -TERM $D3
	wait $D3
	kmod_selftest --stats >/out/drops-stats.txt 2>&1
	rmmod falco
	insmod /falco.ko
else
	echo "SKIP daemon-alerts: this falco build cannot run engine.kind=kmod yet" | tee -a "$RESULTS"
fi

# ---- 2. a reader killed mid-stream; the next one attaches and records ----
( while :; do cat /etc/hostname >/dev/null; done ) &
STORM=$!
kmod_dump --quiet >/dev/null 2>/out/killed-reader.err &
VICTIM=$!
sleep 2
kill -KILL $VICTIM
wait $VICTIM 2>/dev/null
kmod_dump --seconds 3 >/out/dump-after-kill.txt 2>/out/dump-after-kill.err &
AFTER=$!
sleep 1
cat /etc/shadow >/dev/null
wait $AFTER
rc=$?
if [ $rc = 0 ] && grep -q 'name=/etc/shadow' /out/dump-after-kill.txt; then pass reattach-after-sigkill; else fail reattach-after-sigkill "exit $rc: $(cat /out/dump-after-kill.err)"; fi

# ---- 2b. CPU hotplug while recording: a CPU goes away and comes back ----
if [ -e /sys/devices/system/cpu/cpu1/online ]; then
	kmod_dump >/out/dump-hotplug.txt 2>/out/dump-hotplug.err &
	HOT=$!
	sleep 1
	echo 0 >/sys/devices/system/cpu/cpu1/online
	cat /etc/hostname >/dev/null
	/bin/dash -c 'cat /etc/shadow >/dev/null'
	echo 1 >/sys/devices/system/cpu/cpu1/online
	sleep 1
	taskset 2 /bin/dash -c 'cat /etc/hosts-after-online 2>/dev/null' || true
	sleep 1
	kill -TERM $HOT
	wait $HOT
	rc=$?
	online=$(cat /sys/devices/system/cpu/cpu1/online)
	if [ $rc = 0 ] && [ "$online" = 1 ] && grep -q 'name=/etc/hosts-after-online' /out/dump-hotplug.txt; then
		pass cpu-hotplug-offline-online
	else
		fail cpu-hotplug-offline-online "exit $rc, online=$online: $(cat /out/dump-hotplug.err)"
	fi
else
	fail cpu-hotplug-offline-online "no /sys/devices/system/cpu/cpu1/online"
fi

# ---- 3. insmod/rmmod cycles with the storm running and a reader in each cycle ----
check rmmod-before-cycles rmmod falco
cycles_ok=0
i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	insmod /falco.ko ring_bytes=262144 || { fail "cycle-$i" insmod; break; }
	kmod_dump --seconds 0.3 --quiet >/out/cycle.txt 2>/out/cycle.err || { fail "cycle-$i" "reader: $(cat /out/cycle.err)"; break; }
	rmmod falco || { fail "cycle-$i" rmmod; break; }
	cycles_ok=$i
done
kill $STORM 2>/dev/null
wait $STORM 2>/dev/null
if [ $cycles_ok = 50 ]; then pass insmod-rmmod-50-cycles; else fail insmod-rmmod-50-cycles "only $cycles_ok cycles"; fi
tail -1 /out/cycle.txt >/out/last-cycle-stats.txt

# Invalid module parameters are refused with a message.
if insmod /falco.ko ring_bytes=1000 2>/dev/null; then fail bad-ring-size "accepted ring_bytes=1000"; rmmod falco; else pass bad-ring-size; fi
if insmod /falco.ko timestamp_clock=tsc 2>/dev/null; then fail bad-timestamp-clock "accepted timestamp_clock=tsc"; rmmod falco; else pass bad-timestamp-clock; fi

dmesg >/out/dmesg.txt
echo "VMTEST DONE"
guest_finish /out
