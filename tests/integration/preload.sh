#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A patch's symbols bind in the dynamic linker's order, as the program's
# own do: with a library preloaded over libc, the patch calls the
# preloaded function (a preloaded malloc must serve the patch too).
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

$CC -O2 -shared -fPIC -o "$T/libpreload.so" "$TARGETS/preload.c" ||
	fail "cannot build the preload library"
build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/preload.lpatch" "$TARGETS/preload-patch.c"
LD_PRELOAD=$T/libpreload.so
export LD_PRELOAD
start_target "$T/hot" 2
unset LD_PRELOAD
wait_ready
expect_value 42
apply "$TARGET_PID" "$T/preload.lpatch"
expect_status 0 "apply"
# 1063 would mean libc's getpid: the binding skipped the preload
wait_all_new 63
assert_alive_for 0.5
expect_value 63
log "ok"
