# Shell functions for the /init of every initramfs guest (scripts/vm/mkinitramfs.sh installs
# this file as /vm-guest.sh; an /init sources it with `. /vm-guest.sh`). busybox sh.

# guest_setup [TMPFS_OPTIONS]: busybox applets in /sbin, PATH and HOME, /proc, /sys, /dev,
# a tmpfs /tmp, loopback up, and the kernel modules the results disk needs.
guest_setup() {
	/bin/busybox mkdir -p /sbin
	/bin/busybox --install -s /sbin
	export PATH=/usr/bin:/bin:/sbin:/usr/local/bin
	export HOME=/root
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t tmpfs ${1:+-o "$1"} tmpfs /tmp
	ip link set lo up
	while read -r m; do insmod "/modules/$m.ko" || echo "cannot load $m"; done </modules/order
}

# guest_finish DIR: DIR leaves the VM as a tar stream on the results disk (/dev/vda, which
# scripts/vm/qemu-run.sh extracts), then the VM powers off.
guest_finish() {
	cd "$1" && tar -cf /dev/vda .
	sync
	poweroff -f
}
