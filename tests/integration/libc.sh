#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A replacement that calls libc (malloc, snprintf, strtol, strlen -- an
# ifunc resolved from the process's own GOT --, free, printf on stdout)
# and a function the target exports, with data of its own.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/libc.lpatch" "$TARGETS/libc-patch.c"
start_target "$T/hot" 4
wait_ready
expect_value 42
apply "$TARGET_PID" "$T/libc.lpatch"
expect_status 0 "apply"
wait_all_new 63
wait_for_line "$TARGET_OUT" '^patch-libc 63 2$' 10 "$TARGET_PID" ||
	fail "the replacement did not print through libc's printf"
[ "$(grep -c '^patch-libc' "$TARGET_OUT")" -eq 1 ] ||
	fail "the patch's own flag did not keep its value"
assert_alive_for 0.5
expect_value 63
log "ok"
