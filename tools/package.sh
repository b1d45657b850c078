#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/package.sh TARBALL: build the distribution packages from a release
# tarball, as a distribution would, and check them.
#
#   1. Debian: dpkg-buildpackage -us -uc -b in the unpacked tarball, then
#      lintian (no error allowed; the warnings left are overridden, with
#      the reason, in debian/*.lintian-overrides), then the packages are
#      installed and debian/tests/installed runs a patch end to end with
#      installed files only, and the packages are removed again.
#   2. RPM: rpmbuild -ta on the tarball (its livepatch.spec), without
#      checking build dependencies (this is not an RPM system), then the
#      file lists of the packages are shown.
#
# Needs root (it installs the .deb files) and the Debian packages
# dpkg-dev, debhelper, lintian and rpm.  The packages are left in
# ./packages.  "make packages" runs it.
set -eu

tarball=$(readlink -f "$1")
name=$(basename "$tarball" .tar.gz)
out=$(pwd)/packages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { echo "package: $*"; }

for tool in dpkg-buildpackage lintian rpmbuild; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ say "$tool is missing: apt-get install dpkg-dev debhelper lintian rpm"; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { say "run as root: the .deb files are installed for the test"; exit 1; }
rm -rf "$out"
mkdir -p "$out"

# ---- Debian
say "dpkg-buildpackage in $work/$name"
tar -C "$work" -xzf "$tarball"
(cd "$work/$name" && dpkg-buildpackage -us -uc -b)
changes=$(ls "$work"/livepatch_*.changes)
say "lintian $changes"
lintian --fail-on error --info "$changes"
cp "$work"/*.deb "$changes" "$out"/
debs=$(ls "$work"/livepatch_*.deb "$work"/liblivepatch0_*.deb "$work"/liblivepatch-dev_*.deb)
say "installing $(echo "$debs" | xargs -n1 basename | tr '\n' ' ')"
# shellcheck disable=SC2086
dpkg -i $debs
status=0
sh "$work/$name/debian/tests/installed" || status=$?
dpkg -r livepatch-dbgsym liblivepatch0-dbgsym liblivepatch-dev livepatch liblivepatch0
[ "$status" -eq 0 ] || { say "debian/tests/installed failed ($status)"; exit 1; }

# ---- RPM
say "rpmbuild -ta $(basename "$tarball")"
rpmbuild --define "_topdir $work/rpm" --nodeps -ta "$tarball"
for rpm in "$work"/rpm/RPMS/*/*.rpm "$work"/rpm/SRPMS/*.rpm; do
	say "$(basename "$rpm"):"
	rpm -qlp "$rpm" | sed 's/^/  /'
	cp "$rpm" "$out"/
done
say "done: $(ls "$out" | tr '\n' ' ')"
