#!/usr/bin/env bash
# The .rpm installed with `rpm --root` into a root where dkms, gcc and kernel
# headers exist, so the scriptlets really run: %post builds the module for
# every kernel with headers, the file list and %config(noreplace) flags are
# right, `rpm -V` is clean, an upgrade keeps a modified falco.yaml and moves
# DKMS to the new version, erase removes the module and the files.
#
#   tests/package/rpm.sh OLD.rpm NEW.rpm
# Reuses build/package-test/root when tests/package/deb.sh left it (after its
# purge, with the 6.1 and 5.10 headers in place); else makes it the same way.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# = 2 ] || die "usage: $0 OLD.rpm NEW.rpm"
OLD_RPM=$1 NEW_RPM=$2
old_version=$(rpm -qp --qf '%{VERSION}' "$OLD_RPM")
new_version=$(rpm -qp --qf '%{VERSION}' "$NEW_RPM")

root=$SCRATCH/root
trap 'chroot_umount "$root"' EXIT
if [ ! -x "$root/usr/sbin/dkms" ]; then
	log "extracting the bookworm root"
	extract_root "$(base_root_tarball)" "$root"
	headers510=$(bullseye_headers_dir)
	tar -C "$headers510" --exclude=./.complete -cf - . | tar -C "$root" -xf - --keep-directory-symlink
	ln -sf gcc "$root/usr/bin/gcc-10"
fi
kernels=$(ls "$root/lib/modules" | while read -r k; do if [ -e "$root/lib/modules/$k/build/Makefile" ]; then echo "$k"; fi; done)
[ "$(wc -w <<<"$kernels")" -ge 2 ] || die "expected two kernels with headers in the root, found: $kernels"
chroot_mount "$root"

# The root's packages are Debian's, unknown to its rpm database: --nodeps.
rpm_root() { rpm --root "$root" --dbpath /var/lib/rpm "$@"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
module_count() { find "$root/lib/modules" -name 'falco.ko*' | wc -l; }

# --- what the package declares ---------------------------------------------------
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$OLD_RPM")
for conf in /etc/falco/falco.yaml /etc/falco/falco_rules.yaml /etc/falco/falco_rules.local.yaml /etc/logrotate.d/falco; do
	grep -qE "^[a-z]*c[a-z]*n[a-z]* $conf\$" <<<"$flags" || die "$conf is not %config(noreplace): $(grep " $conf\$" <<<"$flags")"
done
pass "%config(noreplace) on falco.yaml, falco_rules.yaml, falco_rules.local.yaml, logrotate.d/falco"
files=$(rpm -qlp "$OLD_RPM" | grep -v "^/usr/src/falco-$old_version/")
expected="/etc/falco
/etc/falco/config.d
/etc/falco/falco.yaml
/etc/falco/falco_rules.local.yaml
/etc/falco/falco_rules.yaml
/etc/falco/rules.d
/etc/logrotate.d/falco
/usr/bin/falco
/usr/bin/falco-driver-loader
/usr/lib/systemd/system/falco.service
/usr/share/licenses/falco/copyright
/usr/share/man/man8/falco-driver-loader.8.gz
/usr/share/man/man8/falco.8.gz
/usr/src/falco-$old_version
/var/log/falco"
[ "$files" = "$expected" ] || die "unexpected file list:
$(diff <(echo "$expected") <(echo "$files"))"
rpm -qlp "$OLD_RPM" | grep -x "/usr/src/falco-$old_version/dkms.conf" >/dev/null || die "dkms.conf not in the module sources"
pass "file list as expected (plus the module sources in /usr/src/falco-$old_version)"
requires=$(rpm -qp --requires "$OLD_RPM")
grep -qx dkms <<<"$requires" || die "the rpm does not require dkms"
pass "Requires: dkms"

# --- install ------------------------------------------------------------------------
rpm_root --initdb
log "rpm -ivh $(basename "$OLD_RPM")"
rpm_root -ivh --nodeps "$OLD_RPM" >"$SCRATCH/rpm-install.log" 2>&1 || {
	cat "$SCRATCH/rpm-install.log"
	die "rpm -i failed"
}
cat "$SCRATCH/rpm-install.log"
status=$(in_root dkms status -m falco)
echo "$status"
for k in $kernels; do
	grep -q "^falco/$old_version, $k, x86_64: installed" <<<"$status" || die "%post did not install the module for $k"
done
pass "%post built and installed the module for $(echo $kernels)"
rpm_root -V --nodeps falco >"$SCRATCH/rpm-verify.log" 2>&1 || {
	cat "$SCRATCH/rpm-verify.log"
	die "rpm -V reports changed files"
}
pass "rpm -V falco: clean"

# --- upgrade ----------------------------------------------------------------------------
echo "# local change kept across upgrades" >>"$root/etc/falco/falco.yaml"
modified=$(sha256sum <"$root/etc/falco/falco.yaml")
rpm_root -Uvh --nodeps "$NEW_RPM" >"$SCRATCH/rpm-upgrade.log" 2>&1 || {
	cat "$SCRATCH/rpm-upgrade.log"
	die "rpm -U failed"
}
[ "$(sha256sum <"$root/etc/falco/falco.yaml")" = "$modified" ] || die "the upgrade replaced the modified falco.yaml"
grep -qx "# changed in $new_version" "$root/etc/falco/falco.yaml.rpmnew" ||
	die "the new version's falco.yaml was not left as falco.yaml.rpmnew"
pass "upgrade $old_version -> $new_version kept the modified /etc/falco/falco.yaml (new one: falco.yaml.rpmnew)"
grep -qx "# changed in $new_version" "$root/etc/falco/falco_rules.yaml" ||
	die "the upgrade did not update the unmodified falco_rules.yaml"
pass "upgrade updated the unmodified /etc/falco/falco_rules.yaml"
status=$(in_root dkms status -m falco)
echo "$status"
for k in $kernels; do
	grep -q "^falco/$new_version, $k, x86_64: installed" <<<"$status" || die "after the upgrade, not installed for $k"
done
! grep -q "^falco/$old_version," <<<"$status" || die "the old module version is still in DKMS"
pass "upgrade moved DKMS to $new_version and removed $old_version"

# --- erase ------------------------------------------------------------------------------
rpm_root -e falco >"$SCRATCH/rpm-erase.log" 2>&1 || {
	cat "$SCRATCH/rpm-erase.log"
	die "rpm -e failed"
}
[ -z "$(in_root dkms status -m falco)" ] || die "dkms still knows falco after erase"
[ "$(module_count)" = 0 ] || die "falco.ko left below /lib/modules after erase"
for path in /usr/bin/falco /usr/bin/falco-driver-loader /usr/src/falco-$new_version /var/lib/dkms/falco \
	/usr/lib/systemd/system/falco.service /etc/logrotate.d/falco /etc/falco/falco_rules.yaml; do
	[ ! -e "$root$path" ] || die "$path left after erase"
done
[ -f "$root/etc/falco/falco.yaml.rpmsave" ] || die "the modified falco.yaml was not saved as .rpmsave"
pass "erase removed the module and the files, and kept the modified falco.yaml as falco.yaml.rpmsave"
