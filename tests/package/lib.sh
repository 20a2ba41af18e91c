# Shared helpers of the package tests (sourced, not run).
# Everything downloaded or built is kept below the repository: .cache/package/
# (reused between local runs) and build/package-test/ (scratch).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CACHE=$ROOT/.cache/package
SCRATCH=$ROOT/build/package-test
mkdir -p "$CACHE" "$SCRATCH"

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'PASS: %s\n' "$*"; }

# One bookworm root serves every test (chroot installs and the booted system):
# the one scripts/vm-image.sh builds and caches. Prints the tarball's path.
base_root_tarball() {
	"$ROOT/scripts/vm-image.sh" --print-base || die "could not build the bookworm root"
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
image_kernels() { ls "$1/lib/modules" | while read -r k; do if [ -e "$1/boot/vmlinuz-$k" ]; then echo "$k"; fi; done; }

# Debian packages for the guest's own `apt install` (the false-positive
# workload; the VM has no network): cron and the two packages it needs that
# the image lacks, fetched once with the host's apt (bookworm) into
# $CACHE/workload-debs and copied to /var/local/falco-workload/ in the image.
# Prints the directory.
workload_debs_dir() {
	local out=$CACHE/workload-debs
	if [ ! -f "$out/.complete" ]; then
		rm -rf "$out" && mkdir -p "$out"
		(cd "$out" && apt-get -qq download cron cron-daemon-common sensible-utils >&2 2>/dev/null) ||
			die "apt-get download cron cron-daemon-common sensible-utils failed (the first run needs the network)"
		touch "$out/.complete"
	fi
	printf '%s\n' "$out"
}

# falco_image DEB: builds (or finds, cached by content) the bookworm image with
# DEB installed and both guest programs of tests/package/guest: the booted-system
# check and the demo. The kernel command line picks one (VM_APPEND=falco_guest=
# check or demo for scripts/vm-boot.sh). Prints the image directory.
falco_image() {
	local deb=$1 guest=$ROOT/tests/package/guest image=$ROOT/.cache/vm/falco-boot debs extra=() file
	debs=$(workload_debs_dir) || exit 1
	for file in "$debs"/*.deb; do
		extra+=(--file "$file=/var/local/falco-workload/$(basename "$file")")
	done
	"$ROOT/scripts/vm-image.sh" --out "$image" --deb "$deb" "${extra[@]}" \
		--file "$guest/falco-boot-check=/usr/local/sbin/falco-boot-check" \
		--file "$guest/falco-boot-check.service=/etc/systemd/system/falco-boot-check.service" \
		--file "$guest/falco-demo=/usr/local/sbin/falco-demo" \
		--file "$guest/falco-demo.service=/etc/systemd/system/falco-demo.service" \
		--enable falco-boot-check.service --enable falco-demo.service >&2 ||
		die "could not build the VM image"
	printf '%s\n' "$image"
}
