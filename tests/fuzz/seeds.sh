#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: seeds.sh DIR
#
# Make the seed corpus of tests/fuzz/fuzz_patch in DIR, from the build
# tree: no binary seed is checked in.  The environment gives top_srcdir,
# top_builddir, CC, CLANG and LIVEPATCH_INCLUDEDIR, as for the tests.
#
#  - the patch files of the unit tests (tests/fixtures/*.lpatch, built by
#    make check) and of the example patches (patches/*.c, against the
#    sample servers), and seed-multi-patch.c: a patch of two modules with
#    every section a patch can have;
#  - ELF files that are not patches: a fixture program and library, and
#    object files for i386 and aarch64 when clang is there;
#  - edge cases: empty, text, the ELF magic alone, a patch cut after its
#    ELF header and after its first page.
#
# A seed that cannot be built here is left out, with a note.
set -u
: "${top_srcdir:?top_srcdir is not set}"
: "${top_builddir:?top_builddir is not set}"
: "${CC:=cc}"
: "${CLANG:=}"
: "${LIVEPATCH_INCLUDEDIR:=$top_srcdir/include}"
export CC LIVEPATCH_INCLUDEDIR

out=${1:?usage: seeds.sh DIR}
fix=$top_builddir/tests/fixtures
mkdir -p "$out" || exit 1

note() {
	echo "seeds: $*" >&2
}

copy() {
	if [ -s "$1" ]; then
		cp "$1" "$out/$2"
	else
		note "no $1: left out"
	fi
}

# lpbuild NAME TARGET... -- SOURCE: livepatch-build -t TARGET... SOURCE
lpbuild() {
	_p_name=$1
	shift
	_p_args=
	while [ "$1" != -- ]; do
		_p_args="$_p_args -t $1"
		shift
	done
	# shellcheck disable=SC2086 # the -t TARGET pairs
	"$top_builddir/livepatch-build" $_p_args -o "$out/$_p_name.lpatch" "$2" \
		>"$out/build.log" 2>&1 ||
		note "cannot build $_p_name.lpatch: $(tail -n 1 "$out/build.log")"
	rm -f "$out/build.log"
}

copy "$fix/good.lpatch" fixture-good.lpatch
copy "$fix/lib.lpatch" fixture-lib.lpatch
lpbuild tempd-c2f-fix "$top_builddir/tests/servers/tempd" -- \
	"$top_srcdir/patches/tempd-c2f-fix.c"
for p in kvd-key-bounds kvd-stats-fix kvd-set-validate; do
	lpbuild "$p" "$top_builddir/tests/servers/kvd" -- "$top_srcdir/patches/$p.c"
done
lpbuild multi "$fix/padded.elf" "$fix/libpadded.so" -- \
	"$top_srcdir/tests/fuzz/seed-multi-patch.c"

copy "$fix/padded.elf" padded.elf
copy "$fix/libpadded.so" libpadded.so
if [ -n "$CLANG" ]; then
	for arch in i386 aarch64; do
		"$CLANG" --target=$arch-linux-gnu -O2 -fPIC -c -I"$LIVEPATCH_INCLUDEDIR" \
			-o "$out/$arch.o" "$top_srcdir/tests/fixtures/good-patch.c" 2>/dev/null ||
			note "$CLANG cannot build $arch code: no $arch seed"
	done
fi

: >"$out/empty"
echo "not a patch" >"$out/text"
printf '\177ELF' >"$out/magic"
if [ -s "$fix/good.lpatch" ]; then
	head -c 64 "$fix/good.lpatch" >"$out/cut-64"
	head -c 4096 "$fix/good.lpatch" >"$out/cut-4096"
fi
n=$(find "$out" -type f | wc -l)
echo "seeds: $n files in $out"
