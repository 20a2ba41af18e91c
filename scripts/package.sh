#!/usr/bin/env bash
# Builds the release binary and the falco .deb and .rpm into dist/. No network.
#
#   scripts/package.sh                   version from Cargo.toml
#   FALCO_VERSION=0.1.1 scripts/package.sh   another version (the upgrade test uses it)
#   FALCO_BINARY=path scripts/package.sh     package this binary, do not run cargo
#   FALCO_DIST=dir scripts/package.sh        write the packages there instead of dist/
#   FALCO_CONFIG_FILE=f FALCO_RULES_FILE=f    ship these instead of packaging/falco.yaml and
#                                             packaging/rules/falco_rules.yaml (the upgrade
#                                             tests ship changed ones)
#
# The module sources come from driver/ and dkms.conf at the repository root and
# are installed to /usr/src/falco-<version>/ with the same layout, so dkms.conf
# finds driver/ where it expects it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VERSION=${FALCO_VERSION:-$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)}
[ -n "$VERSION" ] || { echo "package.sh: no version in Cargo.toml [workspace.package]" >&2; exit 1; }
case $VERSION in *[!A-Za-z0-9.+~]*)
	echo "package.sh: version '$VERSION' may only contain letters, digits and . + ~" >&2; exit 1 ;;
esac
DIST=${FALCO_DIST:-$ROOT/dist}
WORK=$ROOT/build/package/$VERSION
DRIVER_TREE=${FALCO_DRIVER_TREE:-$ROOT}
CONFIG_FILE=${FALCO_CONFIG_FILE:-$ROOT/packaging/falco.yaml}
RULES_FILE=${FALCO_RULES_FILE:-$ROOT/packaging/rules/falco_rules.yaml}
MAINTAINER="Falco reimplementation developers <packages@falco-rs.invalid>"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

die() { echo "package.sh: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps rpmbuild strip gzip; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs it)"
done
[ -f "$DRIVER_TREE/dkms.conf" ] || die "$DRIVER_TREE/dkms.conf is missing: the kernel module cannot be packaged without its DKMS recipe"
[ -d "$DRIVER_TREE/driver" ] || die "$DRIVER_TREE/driver/ is missing: no kernel module sources to package"

# --- the binary -------------------------------------------------------------
if [ -n "${FALCO_BINARY:-}" ]; then
	BINARY=$FALCO_BINARY
else
	cargo build --release -p falco
	BINARY=${CARGO_TARGET_DIR:-$ROOT/target}/release/falco
fi
[ -x "$BINARY" ] || die "no executable at $BINARY"

# --- licence of the module, from its MODULE_LICENSE ---------------------------
module_license=$(grep -rhoE 'MODULE_LICENSE\("[^"]*"\)' "$DRIVER_TREE/driver" 2>/dev/null | head -1 | sed 's/MODULE_LICENSE("\(.*\)")/\1/')
case $module_license in
"GPL" | "GPL v2" | "GPL and additional rights")
	deb_driver_license=GPL-2
	rpm_driver_license=GPL-2.0-only
	driver_license_text=$'\nLicense: GPL-2\n On Debian systems, the full text of the GNU General Public License version 2\n is in /usr/share/common-licenses/GPL-2.'
	;;
"Dual MIT/GPL")
	deb_driver_license="Expat or GPL-2"
	rpm_driver_license="MIT OR GPL-2.0-only"
	driver_license_text=$'\nLicense: Expat\n Permission is hereby granted, free of charge, to any person obtaining a copy\n of this software and associated documentation files (the "Software"), to deal\n in the Software without restriction, including without limitation the rights\n to use, copy, modify, merge, publish, distribute, sublicense, and/or sell\n copies of the Software, and to permit persons to whom the Software is\n furnished to do so, subject to the following conditions:\n .\n The above copyright notice and this permission notice shall be included in\n all copies or substantial portions of the Software.\n .\n THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\n IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\n FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\n AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\n LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\n OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\n SOFTWARE.\n\nLicense: GPL-2\n On Debian systems, the full text of the GNU General Public License version 2\n is in /usr/share/common-licenses/GPL-2.'
	;;
*) die "driver/ declares MODULE_LICENSE(\"$module_license\"): package.sh knows GPL, GPL v2 and Dual MIT/GPL" ;;
esac

subst() { # subst FILE: replace the @KEYS@ of a template on stdout
	sed -e "s|@VERSION@|$VERSION|g" -e "s|@RPM_VERSION@|$VERSION|g" \
		-e "s|@MAINTAINER@|$MAINTAINER|g" -e "s|@DRIVER_LICENSE@|$deb_driver_license|g" \
		-e "s|@RPM_LICENSE@|Apache-2.0 AND ($rpm_driver_license)|g" "$1"
}

# --- the tree both packages install --------------------------------------------
# stage DIR UNITDIR: lays out every installed file below DIR.
stage() {
	local dir=$1 unitdir=$2 src file
	rm -rf "$dir"
	install -d -m 0755 "$dir/usr/bin" "$dir/etc/falco/config.d" "$dir/etc/falco/rules.d" \
		"$dir/etc/logrotate.d" "$dir/$unitdir" "$dir/usr/share/man/man8"
	install -d -m 0755 "$dir/var/log/falco"
	strip --strip-unneeded --remove-section=.comment -o "$dir/usr/bin/falco" "$BINARY"
	chmod 0755 "$dir/usr/bin/falco"
	subst packaging/falco-driver-loader >"$dir/usr/bin/falco-driver-loader"
	chmod 0755 "$dir/usr/bin/falco-driver-loader"
	install -m 0644 "$CONFIG_FILE" "$dir/etc/falco/falco.yaml"
	install -m 0644 "$RULES_FILE" "$dir/etc/falco/falco_rules.yaml"
	install -m 0644 packaging/falco_rules.local.yaml "$dir/etc/falco/"
	install -m 0644 logrotate/falco "$dir/etc/logrotate.d/falco"
	install -m 0644 systemd/falco.service "$dir/$unitdir/falco.service"
	for file in packaging/man/*.8; do
		subst "$file" | gzip -9n >"$dir/usr/share/man/man8/$(basename "$file").gz"
	done
	src=$dir/usr/src/falco-$VERSION
	install -d -m 0755 "$src"
	# driver/userspace/ is the ring code compiled into the daemon's tests, not
	# part of the module DKMS builds.
	(cd "$DRIVER_TREE" && { git ls-files -co --exclude-standard -- dkms.conf driver 2>/dev/null ||
		find dkms.conf driver -type f ! -name '*.o' ! -name '*.ko' ! -name '.*'; }) |
		grep -v '^driver/userspace/' |
		while IFS= read -r file; do
			[ -f "$DRIVER_TREE/$file" ] || continue
			if [ -x "$DRIVER_TREE/$file" ] && head -c2 "$DRIVER_TREE/$file" | grep -q '#!'; then
				install -D -m 0755 "$DRIVER_TREE/$file" "$src/$file"
			else
				install -D -m 0644 "$DRIVER_TREE/$file" "$src/$file"
			fi
		done
	# DKMS takes the version from dkms.conf: it must be the package's.
	sed -i "s|^PACKAGE_VERSION=.*|PACKAGE_VERSION=\"$VERSION\"|" "$src/dkms.conf"
	grep -q "^PACKAGE_VERSION=\"$VERSION\"" "$src/dkms.conf" || die "dkms.conf has no PACKAGE_VERSION line"
	find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

mkdir -p "$DIST" "$WORK"

# --- .deb ------------------------------------------------------------------------
DEB_ROOT=$WORK/deb/root
stage "$DEB_ROOT" lib/systemd/system
install -d -m 0755 "$DEB_ROOT/usr/share/doc/falco" "$DEB_ROOT/DEBIAN"
{ subst packaging/copyright.in | sed '/@DRIVER_LICENSE_TEXT@/d'; printf '%s\n' "$driver_license_text"; } \
	>"$DEB_ROOT/usr/share/doc/falco/copyright"
subst packaging/deb/changelog.in | sed "s|@DATE@|$(date -R -u -d "@$SOURCE_DATE_EPOCH")|" |
	gzip -9n >"$DEB_ROOT/usr/share/doc/falco/changelog.gz"
chmod 0644 "$DEB_ROOT/usr/share/doc/falco/"*

# Library dependencies of the binary, the way debhelper computes them.
shlibs_dir=$WORK/deb/shlibs
rm -rf "$shlibs_dir" && mkdir -p "$shlibs_dir/debian"
printf 'Source: falco\n\nPackage: falco\nArchitecture: any\n' >"$shlibs_dir/debian/control"
shlibs=$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e "$DEB_ROOT/usr/bin/falco" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies for the binary"

installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$DEB_ROOT" | cut -f1)
subst packaging/deb/control.in | sed -e "s|@ARCH@|amd64|" -e "s|@SHLIBS@|$shlibs|" \
	-e "s|@INSTALLED_SIZE@|$installed_size|" >"$DEB_ROOT/DEBIAN/control"
install -m 0644 packaging/deb/conffiles "$DEB_ROOT/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$DEB_ROOT/DEBIAN/"
(cd "$DEB_ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	xargs md5sum) >"$DEB_ROOT/DEBIAN/md5sums"
chmod 0644 "$DEB_ROOT/DEBIAN/md5sums"
DEB=$DIST/falco_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$DEB_ROOT" "$DEB" >/dev/null

# --- .rpm ------------------------------------------------------------------------
RPM_ROOT=$WORK/rpm/root
stage "$RPM_ROOT" usr/lib/systemd/system
install -d -m 0755 "$RPM_ROOT/usr/share/licenses/falco"
{ subst packaging/copyright.in | sed '/@DRIVER_LICENSE_TEXT@/d'; printf '%s\n' "$driver_license_text"; } \
	>"$RPM_ROOT/usr/share/licenses/falco/copyright"
chmod 0644 "$RPM_ROOT/usr/share/licenses/falco/copyright"
mkdir -p "$WORK/rpm/top/SPECS"
subst packaging/rpm/falco.spec.in |
	sed "s|@RPM_DATE@|$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')|" >"$WORK/rpm/top/SPECS/falco.spec"
rpmbuild -bb --quiet --target x86_64 \
	--define "_topdir $WORK/rpm/top" \
	--define "stage_dir $RPM_ROOT" \
	--define "_rpmdir $DIST" \
	--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
	--define "use_source_date_epoch_as_buildtime 1" \
	"$WORK/rpm/top/SPECS/falco.spec"
RPM=$DIST/falco-${VERSION}-1.x86_64.rpm
[ -f "$RPM" ] || die "rpmbuild did not produce $RPM"

echo "$DEB"
echo "$RPM"
