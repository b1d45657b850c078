#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a process whose threads are blocked in system calls: read() on a
# pipe, accept(), epoll_wait() and poll() with no timeout, a ppoll() with a
# signal mask of its own, a 3 s clock_nanosleep() and a FUTEX_WAIT, none of
# which anything completes, and a sigtimedwait() with 20 ms ticks.  The
# stop must not show: no call may return EINTR, the sleep must last its
# full 3 s, and every call must still be waiting afterwards (it completes
# when the target is told to wake them).  The ppoll() thread must have its
# own signal mask back when its call returns, not the call's: with the
# ppoll() thread borrowed, livepatch reads and gives back the mask of a
# thread stopped inside the call.
#
# livepatch borrows the first sleeping thread, the main thread, for the
# system calls that load the patch; one fresh process per role has the main
# thread blocked in each of the calls in turn.  The target's one busy
# thread pauses 1 ms after each burst of calls, so the CPUs are mostly idle
# and a thread that livepatch lets go runs (and returns from its call, if
# it was made to) before the next stop can catch it.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

ROLES=${LP_SYSCALLS_ROLES:-control read accept epoll sleep futex poll ppoll}
WOKEN="read accept epoll futex poll ppoll"

# Fail if the target reported an interrupted, short or failed call.
assert_calls_undisturbed() {
	assert_no_reports "$1" 'EINTR|short-sleep|unexpected|not-blocked'
}

# The number of the last sleep the target started.
last_sleep_start() {
	sed -n 's/^sleep-start //p' "$TARGET_OUT" | tail -n 1
}

build_target "$T/blocked" "$TARGETS/blocked.c" "$NOCET_CFLAGS"
build_patch "$T/blocked" "$T/answer.lpatch" "$TARGETS/answer-patch.c"

for role in $ROLES; do
	log "--- the main thread is the $role thread"
	start_target "$T/blocked" "$role"
	wait_ready
	sed -n 's/^blocker /  | blocker /p' "$TARGET_OUT"
	expect_value 42
	assert_calls_undisturbed "before the apply"

	apply "$TARGET_PID" "$T/answer.lpatch"
	expect_status 0 "apply (main thread: $role)"
	# Every sleep that had started by now spans the stop.
	k=$(last_sleep_start)
	[ -n "$k" ] || fail "the sleep thread never started a sleep"
	wait_all_new 63

	# Let the sleep that spanned the stop end: it must take its full 3 s.
	wait_for_line "$TARGET_OUT" \
		"^((slept|short-sleep) $k |(EINTR|unexpected) sleep)" 10 "$TARGET_PID"
	assert_alive
	assert_calls_undisturbed "after the apply (main thread: $role)"
	grep -Eq "^slept $k " "$TARGET_OUT" || fail "sleep $k did not end within 10 s"
	log "$(grep -E "^slept $k " "$TARGET_OUT")"
	expect_value 63
	assert_calls_undisturbed "after the apply (main thread: $role)"

	# The calls still wait: complete them, each must return its data.
	# shellcheck disable=SC2086 # one name a word
	wake_blocked $WOKEN
	assert_alive_for 0.3
	assert_calls_undisturbed "after the wake-up (main thread: $role)"
	log "no EINTR, full sleep, every call completed when woken"
	stop_target "$TARGET_PID"
done
log "ok"
