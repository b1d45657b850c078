#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A second patch applies at the first stop while the threads run in the
# code of the first one: a patch is mapped from a memfd named after it, so
# its unwind tables are found and those stacks can be walked.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/two" "$TARGETS/two.c" "$NOCET_CFLAGS"
build_patch "$T/two" "$T/two-f1.lpatch" "$TARGETS/two-one-patch.c" -DPATCH_F1
build_patch "$T/two" "$T/two-f2.lpatch" "$TARGETS/two-one-patch.c"
start_target "$T/two" 4
wait_ready
expect_value 22/23

apply "$TARGET_PID" "$T/two-f1.lpatch"
expect_status 0 "apply of f1"
wait_value 121/23
expect_value 121/23
grep -q '/memfd:livepatch:' "/proc/$TARGET_PID/maps" ||
	fail "the patch is not mapped from a memfd named after it"

apply -v "$TARGET_PID" "$T/two-f2.lpatch"
expect_status 0 "apply of f2 while threads run in the first patch"
grep -q 'applied .* 1 attempt$' "$LP_OUT" ||
	fail "the second patch waited: the stacks in the first patch's code were not walked"
wait_value 121/221
expect_value 121/221
assert_alive_for 0.5
log "ok"
