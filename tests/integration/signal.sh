#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a process whose threads are interrupted nonstop by a signal whose
# handler calls the function too.  With gcc the entry of the function is
# two 1-byte NOPs, so a thread (or a context a handler interrupted) can
# sit between them at the instant of the patch; a few fresh processes make
# that likely.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

ROUNDS=${LP_SIGNAL_ROUNDS:-5}

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DSIGNAL_VARIANT
insns=$(entry_insns "$T/hot" answer 2)
echo "$insns" | sed 's/^/  | /'
if [ -n "$insns" ] && [ "$(echo "$insns" | grep -c '	90 *	nop')" -ne 2 ]; then
	log "note: answer() does not start with two 1-byte NOPs here"
fi
build_patch "$T/hot" "$T/answer.lpatch" "$TARGETS/answer-patch.c"

round=1
while [ "$round" -le "$ROUNDS" ]; do
	log "round $round of $ROUNDS"
	start_target "$T/hot" 4
	wait_ready
	expect_value 42
	apply "$TARGET_PID" "$T/answer.lpatch"
	expect_status 0 "apply (round $round)"
	wait_all_new 63
	assert_alive_for 1
	expect_value 63
	stop_target "$TARGET_PID"
	round=$((round + 1))
done
log "ok"
