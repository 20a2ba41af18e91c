# Shared helpers of the package tests (sourced, not run).
# Everything downloaded or built is kept below the repository: .cache/package/
# (reused between local runs) and build/package-test/ (scratch).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CACHE=$ROOT/.cache/package
SCRATCH=$ROOT/build/package-test
mkdir -p "$CACHE" "$SCRATCH"

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# One bookworm root serves every test: the chroot install tests need dkms, gcc
# and kernel headers; the booted-system test needs a kernel, systemd and the
# tools its checks use. Kept as a tarball, keyed by this list.
BASE_PACKAGES=systemd,systemd-sysv,udev,kmod,dbus,curl,logrotate,rsyslog,iproute2,procps,linux-image-amd64,linux-headers-amd64,dkms,gcc,make,zstd,ca-certificates,init-system-helpers,libc6,libgcc-s1

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'PASS: %s\n' "$*"; }

# base_root_tarball: prints the path of the cached bookworm root, building it
# with mmdebstrap when missing. The initramfs is made small and quick (only
# the virtio and ext4 modules a qemu guest needs, zstd) before the kernel is
# installed, because the kernel's postinst builds it.
base_root_tarball() {
	local key tar
	key=$(printf '%s\n%s\n%s\n' "$BASE_PACKAGES" "$MIRROR" v1 | sha256sum | cut -c1-16)
	tar=$CACHE/bookworm-base-$key.tar
	if [ ! -s "$tar" ]; then
		log "building the bookworm root with mmdebstrap (about a minute)"
		mmdebstrap --quiet --variant=minbase --include="$BASE_PACKAGES" \
			--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; printf "MODULES=list\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/vm.conf"; printf "virtio_pci\nvirtio_blk\next4\n" >>"$1/etc/initramfs-tools/modules"' \
			bookworm "$tar.partial.tar" \
			"deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
			"deb $SECURITY_MIRROR bookworm-security main" >&2 ||
			die "mmdebstrap failed"
		mv "$tar.partial.tar" "$tar"
	fi
	printf '%s\n' "$tar"
}

# bullseye_headers_dir: prints a directory holding the extracted Debian 11
# (5.10) kernel headers, fetched with apt-get download through a private apt
# configuration (bullseye pinned to 50, the host's apt state untouched).
bullseye_headers_dir() {
	local apt=$CACHE/apt-bullseye out=$CACHE/bullseye-headers version
	if [ -f "$out/.complete" ]; then
		printf '%s\n' "$out"
		return
	fi
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/empty" "$apt/debs"
	cat >"$apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $SECURITY_MIRROR bullseye-security main
SRC
	printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 50\n\nPackage: *\nPin: release n=bullseye-security\nPin-Priority: 50\n' \
		>"$apt/preferences"
	local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/empty"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		-o "Dir::Etc::Preferences=$apt/preferences" -o "Dir::Etc::PreferencesParts=$apt/empty")
	apt-get "${opts[@]}" -qq update >&2 || die "apt-get update (bullseye) failed"
	version=$(apt-cache "${opts[@]}" depends linux-headers-amd64 |
		sed -n 's/.*Depends: linux-headers-\(5\.10\.0-[0-9]*\)-amd64$/\1/p' | head -1)
	[ -n "$version" ] || die "no bullseye linux-headers-5.10 found"
	rm -rf "$out" && mkdir -p "$out"
	(cd "$apt/debs" && rm -f ./*.deb && apt-get "${opts[@]}" -qq download \
		"linux-headers-$version-amd64" "linux-headers-$version-common" linux-kbuild-5.10 >&2 2>/dev/null) ||
		die "apt-get download of the bullseye headers failed"
	local deb
	for deb in "$apt/debs"/*.deb; do dpkg-deb -x "$deb" "$out"; done
	touch "$out/.complete"
	printf '%s\n' "$out"
}

# Chroot with /proc, /sys and /dev, undone by chroot_umount.
chroot_mount() {
	local root=$1
	mount -t proc proc "$root/proc"
	mount -t sysfs sys "$root/sys"
	mount --bind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
}
chroot_umount() {
	local root=$1 dir
	for dir in run dev sys proc; do
		mountpoint -q "$root/$dir" && umount -l "$root/$dir"
	done
	return 0
}

# extract_root TARBALL DIR: a fresh copy of the base root.
extract_root() {
	rm -rf "$2" && mkdir -p "$2" && tar -xf "$1" -C "$2"
}

# Kernel releases whose image is in the root.
image_kernels() { ls "$1/lib/modules" | while read -r k; do [ -e "$1/boot/vmlinuz-$k" ] && echo "$k"; done; }
