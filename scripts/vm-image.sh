#!/usr/bin/env bash
# Builds a bootable Debian bookworm disk image for qemu: a root made by
# mmdebstrap from a package list, local .deb files installed into it with dpkg
# in a chroot (their maintainer scripts run there: DKMS builds for the image's
# kernel), extra files, and units to enable (typically a test unit that runs
# the checks and powers off). Results are cached below .cache/vm/.
#
#   scripts/vm-image.sh --out DIR [--packages a,b,c] [--deb FILE]... \
#       [--file SRC=DEST]... [--enable UNIT]... [--size 2G]
#   scripts/vm-image.sh --print-base [--packages a,b,c]
#
# DIR receives image.ext4, vmlinuz, initrd.img and kernel (the release).
# --print-base only builds (or finds) the root tarball and prints its path.
# Boot the result with scripts/vm-boot.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$ROOT/.cache/vm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# What a booted service test needs; callers may add to it. libc6-dev: the
# false-positive workload compiles a C program; netcat-traditional: the demo's
# `nc -e` (the one netcat with that option); podman, crun, conmon and
# busybox-static: the demo's privileged and sensitive-mount containers (an
# image imported from busybox, the VM has no network).
DEFAULT_PACKAGES=systemd,systemd-sysv,udev,kmod,dbus,curl,logrotate,rsyslog,iproute2,procps,linux-image-amd64,linux-headers-amd64,dkms,gcc,make,zstd,ca-certificates,init-system-helpers,libc6,libgcc-s1,libc6-dev,netcat-traditional,podman,crun,conmon,busybox-static

log() { printf '[%s] vm-image: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'vm-image: %s\n' "$*" >&2; exit 1; }

packages=$DEFAULT_PACKAGES out="" size="" print_base=0
debs=() files=() units=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift ;;
	--packages) packages=$2; shift ;;
	--deb) debs+=("$2"); shift ;;
	--file) files+=("$2"); shift ;;
	--enable) units+=("$2"); shift ;;
	--size) size=$2; shift ;;
	--print-base) print_base=1 ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done
mkdir -p "$CACHE"

# The root tarball. The initramfs is kept small and quick to build (MODULES=list
# with just virtio and ext4, zstd) before the kernel package builds it.
base_key=$(printf '%s\n%s\n%s\n' "$packages" "$MIRROR" base-v1 | sha256sum | cut -c1-16)
base=$CACHE/bookworm-$base_key.tar
if [ ! -s "$base" ]; then
	log "building the bookworm root with mmdebstrap (about a minute)"
	mmdebstrap --quiet --variant=minbase --include="$packages" \
		--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; printf "MODULES=list\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/vm.conf"; printf "virtio_pci\nvirtio_blk\next4\n" >>"$1/etc/initramfs-tools/modules"' \
		bookworm "$base.partial.tar" \
		"deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
		"deb $SECURITY_MIRROR bookworm-security main" >&2 || die "mmdebstrap failed"
	mv "$base.partial.tar" "$base"
fi
if [ "$print_base" = 1 ]; then
	printf '%s\n' "$base"
	exit 0
fi
[ -n "$out" ] || die "--out DIR is required"

# Same inputs, same image: skip the build.
key=$( {
	echo "$base"
	sha256sum "$0" | cut -d' ' -f1
	for deb in "${debs[@]}"; do sha256sum "$deb" | cut -d' ' -f1; done
	for spec in "${files[@]}"; do echo "$spec"; sha256sum "${spec%%=*}" | cut -d' ' -f1; done
	echo "${units[@]}" "$size"
} | sha256sum | cut -c1-16)
if [ -f "$out/key" ] && [ "$(cat "$out/key")" = "$key" ] && [ -s "$out/image.ext4" ]; then
	log "image up to date in $out"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out"
root=$out/root
mkdir -p "$root"
log "extracting the root"
tar -xf "$base" -C "$root"

cleanup() {
	local dir
	for dir in run dev sys proc; do
		mountpoint -q "$root/$dir" && umount -l "$root/$dir"
	done
	return 0
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }

for deb in "${debs[@]}"; do
	log "installing $(basename "$deb") in the image"
	cp "$deb" "$root/tmp/"
	in_root dpkg -i "/tmp/$(basename "$deb")" >&2 || die "dpkg -i $(basename "$deb") failed in the image"
	rm -f "$root/tmp/$(basename "$deb")"
done
for spec in "${files[@]}"; do
	install -D -m "$( [ -x "${spec%%=*}" ] && echo 0755 || echo 0644)" "${spec%%=*}" "$root/${spec#*=}"
done
for unit in "${units[@]}"; do
	in_root systemctl enable "$unit" >&2 || die "systemctl enable $unit failed"
done

kernel=$(ls "$root/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
[ -n "$kernel" ] || die "no kernel in the image"
# A machine to test on, not to log in to: no getty on the serial console the
# tests print to, a fixed hostname, the root file system from the command line.
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
echo falco-test >"$root/etc/hostname"
echo "/dev/vda / ext4 defaults 0 1" >"$root/etc/fstab"
cleanup
trap - EXIT

# Smaller image, faster boot: documentation, and kernel modules a qemu guest
# never loads. The build tools and headers stay (DKMS needs them on a kernel
# update, and the tests may rebuild).
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale" "$root/var/cache/apt/"*.bin
for dir in sound drivers/gpu drivers/net/wireless drivers/media drivers/infiniband drivers/bluetooth \
	drivers/staging drivers/iio drivers/hid drivers/input/touchscreen drivers/scsi drivers/usb net/wireless \
	net/mac80211 net/bluetooth fs/ocfs2 fs/btrfs fs/xfs fs/nfs; do
	rm -rf "$root/lib/modules/$kernel/kernel/$dir"
done
chroot "$root" depmod -a "$kernel"

cp "$root/boot/vmlinuz-$kernel" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kernel" "$out/initrd.img"
echo "$kernel" >"$out/kernel"
used=$(du -sm "$root" | cut -f1)
log "making image.ext4 (${size:-$((used * 13 / 10 + 256))M})"
mkfs.ext4 -q -F -L root -d "$root" "$out/image.ext4" "${size:-$((used * 13 / 10 + 256))M}" ||
	die "mkfs.ext4 failed"
rm -rf "$root"
echo "$key" >"$out/key"
log "image ready in $out (kernel $kernel)"
