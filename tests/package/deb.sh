#!/usr/bin/env bash
# The .deb in a bookworm root (chroot): install builds the module with DKMS for
# both installed kernels (Debian 12's 6.1 and Debian 11's 5.10 headers), a
# kernel without headers gets a clear message, conffiles are registered, an
# upgrade keeps a modified falco.yaml and moves DKMS to the new version, purge
# removes module and files.
#
#   tests/package/deb.sh OLD.deb NEW.deb
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# = 2 ] || die "usage: $0 OLD.deb NEW.deb"
OLD_DEB=$1 NEW_DEB=$2
old_version=$(dpkg-deb -f "$OLD_DEB" Version)
new_version=$(dpkg-deb -f "$NEW_DEB" Version)

tarball=$(base_root_tarball)
headers510=$(bullseye_headers_dir)
root=$SCRATCH/root
trap 'chroot_umount "$root"' EXIT
log "extracting the bookworm root"
extract_root "$tarball" "$root"

kernel61=$(image_kernels "$root" | head -1)
[ -n "$kernel61" ] || die "no kernel image in the bookworm root"
tar -C "$headers510" --exclude=./.complete -cf - . | tar -C "$root" -xf - --keep-directory-symlink
kernel510=$(cd "$headers510/lib/modules" && ls)
# Bullseye's kernel is built with gcc-10, which its headers package depends on
# there; bookworm's gcc 12 builds modules for it (same ABI), so the root gets
# the gcc-10 name a bullseye system has.
ln -sf gcc "$root/usr/bin/gcc-10"
# A kernel whose headers are missing: the install must say what to install.
mkdir -p "$root/lib/modules/6.1.0-99-amd64/kernel"

chroot_mount "$root"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

module_file() { # module_file KERNEL: path of the installed module, if any
	find "$root/lib/modules/$1" -name 'falco.ko*' | head -1
}

# --- install ------------------------------------------------------------------
cp "$OLD_DEB" "$root/tmp/old.deb"
cp "$NEW_DEB" "$root/tmp/new.deb"
# As the README says: apt install ./falco_<version>_amd64.deb (every dependency
# is already in the root, so apt downloads nothing).
log "apt-get install ./$(basename "$OLD_DEB")"
in_root apt-get install -y /tmp/old.deb </dev/null >"$SCRATCH/deb-install.log" 2>&1 || {
	cat "$SCRATCH/deb-install.log"
	die "apt-get install failed"
}
cat "$SCRATCH/deb-install.log"
status=$(in_root dkms status -m falco)
echo "$status"
for k in "$kernel61" "$kernel510"; do
	grep -q "^falco/$old_version, $k, x86_64: installed" <<<"$status" || die "dkms status does not say installed for $k"
	[ -n "$(module_file "$k")" ] || die "no falco.ko installed below /lib/modules/$k"
	module=$(module_file "$k")
	modinfo_version=$(in_root /sbin/modinfo -F vermagic "${module#"$root"}" | cut -d' ' -f1)
	[ "$modinfo_version" = "$k" ] || die "module for $k has vermagic $modinfo_version"
done
pass "postinst built and installed the module for $kernel61 and $kernel510 (dkms status: installed)"
grep -q "apt-get install linux-headers-6.1.0-99-amd64" "$SCRATCH/deb-install.log" ||
	die "postinst did not name the headers package of the kernel without headers"
pass "kernel without headers: install succeeded and named linux-headers-6.1.0-99-amd64"

conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' falco | awk 'NF {print $1}' | sort)
expected=$(printf '%s\n' /etc/falco/falco.yaml /etc/falco/falco_rules.local.yaml /etc/falco/falco_rules.yaml /etc/logrotate.d/falco | sort)
[ "$conffiles" = "$expected" ] || die "conffiles are: $conffiles"
pass "conffiles registered: $(echo $conffiles)"

[ -L "$root/etc/systemd/system/multi-user.target.wants/falco.service" ] || die "falco.service is not enabled"
pass "falco.service enabled (multi-user.target.wants)"
in_root systemd-analyze verify --man=no /lib/systemd/system/falco.service >"$SCRATCH/verify.log" 2>&1 || {
	cat "$SCRATCH/verify.log"
	die "systemd-analyze verify failed"
}
[ ! -s "$SCRATCH/verify.log" ] || {
	cat "$SCRATCH/verify.log"
	die "systemd-analyze verify printed warnings"
}
pass "systemd-analyze verify falco.service: clean"
in_root logrotate -d /etc/logrotate.d/falco >"$SCRATCH/logrotate.log" 2>&1 || {
	cat "$SCRATCH/logrotate.log"
	die "logrotate -d failed"
}
! grep -qi 'error' "$SCRATCH/logrotate.log" || {
	cat "$SCRATCH/logrotate.log"
	die "logrotate -d reported an error"
}
pass "logrotate -d /etc/logrotate.d/falco: clean"
in_root falco --version >/dev/null || die "the installed falco does not run"
pass "/usr/bin/falco runs in the installed system"

# --- upgrade keeps a modified conffile -------------------------------------------
echo "# local change kept across upgrades" >>"$root/etc/falco/falco.yaml"
modified=$(sha256sum <"$root/etc/falco/falco.yaml")
log "apt-get install ./$(basename "$NEW_DEB") (upgrade)"
# The new version changes both falco.yaml and falco_rules.yaml. Without a
# terminal dpkg cannot ask about the edited falco.yaml: --force-confold keeps it,
# as unattended upgrades and `apt-get -o Dpkg::Options::=--force-confold` do.
in_root apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	/tmp/new.deb </dev/null >"$SCRATCH/deb-upgrade.log" 2>&1 || {
	cat "$SCRATCH/deb-upgrade.log"
	die "upgrade failed"
}
[ "$(sha256sum <"$root/etc/falco/falco.yaml")" = "$modified" ] || die "the upgrade replaced the modified falco.yaml"
grep -qx "# changed in $new_version" "$root/etc/falco/falco.yaml.dpkg-dist" ||
	die "the new version's falco.yaml was not left as falco.yaml.dpkg-dist"
pass "upgrade $old_version -> $new_version kept the modified /etc/falco/falco.yaml (new one: falco.yaml.dpkg-dist)"
grep -qx "# changed in $new_version" "$root/etc/falco/falco_rules.yaml" ||
	die "the upgrade did not update the unmodified falco_rules.yaml"
pass "upgrade updated the unmodified /etc/falco/falco_rules.yaml"
status=$(in_root dkms status -m falco)
echo "$status"
for k in "$kernel61" "$kernel510"; do
	grep -q "^falco/$new_version, $k, x86_64: installed" <<<"$status" || die "after upgrade, not installed for $k"
done
! grep -q "^falco/$old_version," <<<"$status" || die "the old module version is still in DKMS"
[ ! -e "$root/usr/src/falco-$old_version" ] || die "old module sources left in /usr/src"
pass "upgrade moved DKMS to $new_version for both kernels and removed $old_version"

# --- purge ------------------------------------------------------------------------
in_root apt-get purge -y falco </dev/null >"$SCRATCH/deb-purge.log" 2>&1 || {
	cat "$SCRATCH/deb-purge.log"
	die "purge failed"
}
[ -z "$(in_root dkms status -m falco)" ] || die "dkms still knows falco after purge"
for k in "$kernel61" "$kernel510"; do
	[ -z "$(module_file "$k")" ] || die "falco.ko left below /lib/modules/$k after purge"
done
for path in /etc/falco /usr/bin/falco /usr/bin/falco-driver-loader /usr/src/falco-$new_version \
	/var/lib/dkms/falco /var/log/falco /lib/systemd/system/falco.service \
	/etc/systemd/system/multi-user.target.wants/falco.service /etc/logrotate.d/falco; do
	[ ! -e "$root$path" ] || die "$path left after purge"
done
pass "purge removed the module (all kernels), DKMS state, configuration and files"
