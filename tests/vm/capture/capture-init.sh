#!/bin/busybox sh
# /init of the capture-recording guest (scripts/record-big-capture.sh): loads Debian's scap.ko
# (falcosecurity-scap-dkms), records everything with `sysdig -w /tmp/live.scap` while
# /capture/load.sh runs a mixed workload (shell scripts and coreutils, file I/O, HTTP and
# UDP over loopback) for SECONDS seconds, then writes the capture and sysdig's counters to
# /dev/vda as a tar stream.
. /vm-guest.sh
guest_setup size=85%

. /capture/params
echo "VMTEST kernel $(uname -r), $(nproc) CPUs, SECONDS=$SECONDS"
mkdir -p /out /tmp/out
if ! insmod /scap.ko; then
	echo "CAPTURE-ERROR insmod scap.ko"
else
	sysdig -v -w /tmp/out/live.scap >/tmp/out/sysdig.log 2>&1 &
	SYSDIG=$!
	sleep 3
	/capture/load.sh "$SECONDS" >/tmp/out/load.log 2>&1
	sleep 1
	kill -INT $SYSDIG
	wait $SYSDIG
	echo "sysdig exit $?" >>/tmp/out/sysdig.log
	rmmod scap
fi
dmesg >/tmp/out/dmesg.txt
ls -l /tmp/out
echo "VMTEST DONE"
guest_finish /tmp/out
