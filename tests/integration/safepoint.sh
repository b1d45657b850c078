#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A thread was interrupted in the middle of the bytes a patch rewrites and
# sits in a signal handler; when the handler returns the thread goes on
# from there.  The target builds that state for real: the thread
# single-steps itself (trap flag) into the code and stops in its SIGTRAP
# handler after the first of two NOPs.
#
#   entry: between the two entry NOPs of answer().  The interrupted PC,
#          saved in the signal frame, must be moved past the NOPs and the
#          patch applied at the first stop (status 0): waiting would never
#          end, writing anyway would crash the thread.
#   pad:   between the last two NOPs of the pad before answer() (the
#          thread called into the pad).  The pad is rewritten, so no safe
#          point comes while the thread stays there: status 10 after
#          --timeout, target untouched.
#
# Either way the process must survive when the thread goes on (SIGHUP),
# and the patch must apply (again, if it was refused) after that.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# gcc, no CET: 1-byte NOPs before and at the entry (the target checks).
build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DSTUCK_VARIANT
build_patch "$T/hot" "$T/answer.lpatch" "$TARGETS/answer-patch.c"

for where in entry pad; do
	log "--- a thread stopped in the $where NOPs"
	start_target "$T/hot" 2 "$where"
	wait_ready
	wait_for_line "$TARGET_OUT" '^stuck(-failed)?$' 30 "$TARGET_PID" ||
		fail "the thread did not get into the $where NOPs"
	grep -q '^stuck-failed$' "$TARGET_OUT" &&
		skip "the $where NOPs of answer() are not 1-byte NOPs with this compiler"
	expect_value 42

	started=$(date +%s)
	apply -vv --timeout 2 "$TARGET_PID" "$T/answer.lpatch"
	first=$LP_STATUS
	took=$(($(date +%s) - started))
	case $where.$first in
	*.10)
		[ "$took" -ge 1 ] ||
			fail "status 10 after $took s, before the 2 s timeout"
		log "no safe point before the timeout: status 10 after $took s"
		# the one line names the thread, the function and the frame
		grep -Eq 'no safe point within .*thread [0-9]+ is at answer-[0-9]+ \(frame [0-9]+\)' "$LP_OUT" ||
			fail "the refusal does not name the thread, function and frame"
		expect_unchanged "no safe point"
		;;
	entry.0)
		grep -q 'pc moved past the entry NOPs .*(in a signal frame)' "$LP_OUT" ||
			fail "applied, but not by moving the PC saved in the signal frame"
		grep -q '1 attempt' "$LP_OUT" || fail "not applied at the first stop"
		log "applied at the first stop, the signal frame's PC moved past the NOPs"
		;;
	*)
		fail "apply with a thread in the $where NOPs: status $first," \
			"expected $([ "$where" = entry ] && echo 0 || echo 10)"
		;;
	esac

	# Let the thread go on from where it stopped.
	kill -HUP "$TARGET_PID"
	wait_for_line "$TARGET_OUT" '^released$' 10 "$TARGET_PID" ||
		{ assert_alive; fail "the thread was not released"; }
	assert_alive_for 1

	if [ "$first" -eq 10 ]; then
		expect_value 42
		apply --timeout 10 "$TARGET_PID" "$T/answer.lpatch"
		expect_status 0 "apply once the thread has left the NOPs"
	fi
	wait_all_new 63
	assert_alive_for 0.5
	expect_value 63
	stop_target "$TARGET_PID"
done
log "ok"
