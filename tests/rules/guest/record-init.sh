#!/bin/busybox sh
# /init of the rule-capture guest (scripts/record-rule-captures.sh): loads the falco module,
# then for every case of /rules/cases.sh and each variant (pos, neg) runs the case's setup,
# starts kmod_dump --write, runs the workload, stops the dumper and keeps the capture in
# /out/NAME.VARIANT.scap. /out leaves the VM as a tar stream on /dev/vda.
. /vm-guest.sh
guest_setup
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /usr/local/bin /out
insmod /falco.ko || echo "RECORD insmod failed"
CASES=$(/bin/dash -c '. /rules/cases.sh; echo $CASES')
LOG=/out/record.log
for c in $CASES; do
	for v in pos neg; do
		# dash, not busybox sh: busybox runs its applets in-process (no execve to record).
		/bin/dash -c ". /rules/cases.sh; if command -v setup_$c >/dev/null; then setup_$c; fi" >>$LOG 2>&1
		rm -f /tmp/ready
		kmod_dump --quiet --write "/out/$c.$v.scap" --ready /tmp/ready >/dev/null 2>>$LOG &
		dump=$!
		n=0
		while [ ! -e /tmp/ready ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
		/bin/dash -c ". /rules/cases.sh; ${v}_$c" >>$LOG 2>&1
		sleep 0.5
		kill -TERM $dump
		wait $dump
		echo "RECORD $c.$v exit $? $(wc -c <"/out/$c.$v.scap") bytes" | tee -a $LOG
	done
done
echo RECORD done
guest_finish /out
