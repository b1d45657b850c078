#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A short run of the fuzzer of the patch file reader (tests/fuzz/fuzz_patch.c,
# lp_patch_open and every accessor under ASan and UBSan): its seeds, made
# from the tree's patches (tests/fuzz/seeds.sh), then LP_FUZZ_SECONDS
# (default 15) of mutations from a fresh corpus.  Skips without clang or
# without libFuzzer (the message names the package); "make fuzz" is the
# longer run (README.md, "Fuzzing").
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

secs=${LP_FUZZ_SECONDS:-15}
fuzzer=$top_builddir/tests/fuzz/fuzz_patch

need_clang
if [ ! -x "$fuzzer" ]; then
	# make check builds it; a test run on its own may come first
	log "building $fuzzer"
	${MAKE:-make} -C "$top_builddir" tests/fuzz/fuzz_patch >"$T/make.log" 2>&1 || {
		cat "$T/make.log"
		fail "cannot build $fuzzer"
	}
fi
sh "$top_srcdir/tests/fuzz/run.sh" "$secs" "$T/fuzz" >"$T/run.out" 2>&1
status=$?
sed "s/^/  | /" "$T/run.out"
case $status in
0) log "ok" ;;
77) skip "$(tail -n 1 "$T/run.out")" ;;
*) fail "the fuzzer found a problem, or could not run (status $status)" ;;
esac
