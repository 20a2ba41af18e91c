#!/usr/bin/env bash
# Static checks of the built packages and the files they install: lintian and
# rpmlint with no error, the man pages render without warnings, the loader and
# maintainer scripts parse, logrotate -d accepts the configuration.
#
#   tests/package/lint.sh PACKAGE.deb PACKAGE.rpm
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# = 2 ] || die "usage: $0 PACKAGE.deb PACKAGE.rpm"
DEB=$1 RPM=$2

# lintian refuses nothing as root but says so; the tags are what counts.
lintian --fail-on error --display-level '>=warning' "$DEB" >"$SCRATCH/lintian.log" 2>&1 || {
	cat "$SCRATCH/lintian.log"
	die "lintian found errors in $(basename "$DEB")"
}
grep -E '^[EW]: ' "$SCRATCH/lintian.log" || true
pass "lintian: 0 errors ($(grep -c '^W: ' "$SCRATCH/lintian.log" || true) warnings)"

rpmlint -c "$ROOT/packaging/rpm/rpmlint.toml" "$RPM" >"$SCRATCH/rpmlint.log" 2>&1 || true
summary=$(grep -E '[0-9]+ errors, [0-9]+ warnings' "$SCRATCH/rpmlint.log") || {
	cat "$SCRATCH/rpmlint.log"
	die "rpmlint did not run"
}
grep -E ': [EW]: ' "$SCRATCH/rpmlint.log" || true
grep -q ' 0 errors,' <<<"$summary" || {
	cat "$SCRATCH/rpmlint.log"
	die "rpmlint: $summary"
}
pass "rpmlint: 0 errors (${summary# })"

# DKMS rebuilds the module on kernel updates only with AUTOINSTALL, and finds it
# under the package's name and version.
version=$(dpkg-deb -f "$DEB" Version)
dkms_conf=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - "./usr/src/falco-$version/dkms.conf") ||
	die "the .deb has no /usr/src/falco-$version/dkms.conf"
for pattern in 'PACKAGE_NAME="?falco"?' "PACKAGE_VERSION=\"${version//./\\.}\"" \
	'BUILT_MODULE_NAME\[0\]="?falco"?' 'AUTOINSTALL="?yes"?'; do
	grep -qxE "$pattern" <<<"$dkms_conf" || die "packaged dkms.conf has no line matching $pattern"
done
pass "packaged dkms.conf: module falco, version $version, AUTOINSTALL"

for page in "$ROOT"/packaging/man/*.8; do
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$warnings" ] || die "$(basename "$page") renders with warnings: $warnings"
done
pass "man pages render without warnings"

for script in "$ROOT"/packaging/falco-driver-loader "$ROOT"/scripts/demo.sh "$ROOT"/scripts/package.sh \
	"$ROOT"/scripts/vm-image.sh "$ROOT"/scripts/vm-boot.sh "$ROOT"/tests/package/guest/falco-boot-check \
	"$ROOT"/tests/package/guest/falco-demo; do
	bash -n "$script" || die "$script does not parse"
done
for script in "$ROOT"/packaging/deb/postinst "$ROOT"/packaging/deb/prerm "$ROOT"/packaging/deb/postrm; do
	sh -n "$script" || die "$script does not parse"
done
pass "loader, maintainer, demo, VM and guest scripts parse"

state=$(mktemp)
logrotate -d -s "$state" "$ROOT/logrotate/falco" >"$SCRATCH/logrotate-host.log" 2>&1 || {
	cat "$SCRATCH/logrotate-host.log"
	die "logrotate -d failed"
}
rm -f "$state"
! grep -qiE 'error|unknown' "$SCRATCH/logrotate-host.log" || {
	cat "$SCRATCH/logrotate-host.log"
	die "logrotate -d complained"
}
pass "logrotate -d logrotate/falco: clean"
