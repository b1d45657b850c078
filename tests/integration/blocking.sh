#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Apply and revert a patch over and over (10 cycles a process; 100 with
# LP_LONG=1) in a process whose threads wait in read(), accept(),
# epoll_wait(), poll(), ppoll() with a signal mask of its own, a raw
# FUTEX_WAIT, pthread_cond_wait(), sem_wait() (futex waits) and timed
# 300 ms clock_nanosleep()s (tests/targets/blocked.c with -s 300).
# syscalls.sh checks one apply in the same target with 3 s sleeps; here
# every stop and every remote call of the loads and unloads lands on
# threads that are still in their waits, while many short sleeps begin and
# end.  None may return EINTR or early: no sleep may be shorter
# than asked for, pthread_cond_wait() may not return with its condition
# false, and after the cycles each wait must still be waiting, and complete
# with its data when the target is told to wake them.
#
# livepatch borrows the main thread when it sleeps: one process per role
# has its main thread in each of the waits in turn.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

ROLES=${LP_BLOCKING_ROLES:-control read accept epoll cond sem sleep}
WOKEN="read accept epoll futex poll ppoll cond sem"
SLEEP_MS=300
CYCLES=10
[ "${LP_LONG:-}" = 1 ] && CYCLES=100
REGRESS_OK=1 # the reverts bring 42 back (the target says "regressed")

# Fail if the target reported an interrupted, early or failed wait.
assert_waits_undisturbed() {
	assert_no_reports "$1" 'EINTR|short-sleep|spurious|unexpected|not-blocked'
}

build_target "$T/blocked" "$TARGETS/blocked.c" "$NOCET_CFLAGS"
build_patch "$T/blocked" "$T/answer.lpatch" "$TARGETS/answer-patch.c"
patch_id "$T/answer.lpatch"
id=$PATCH_ID

total=0
for role in $ROLES; do
	log "--- the main thread is the $role thread"
	start_target "$T/blocked" -s "$SLEEP_MS" "$role"
	wait_ready
	pid=$TARGET_PID
	sed -n 's/^blocker /  | blocker /p' "$TARGET_OUT"
	wait_value 42

	apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
	expect_status 0 "first apply (main thread: $role)"
	run_livepatch revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
	expect_status 0 "first revert (main thread: $role)"
	start=$(now_ms)
	i=2
	while [ "$i" -le "$CYCLES" ]; do
		lp_must "apply of cycle $i (main thread: $role)" apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
		lp_must "revert of cycle $i (main thread: $role)" revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
		if [ $((i % 10)) -eq 0 ]; then
			assert_alive
			assert_waits_undisturbed "cycle $i (main thread: $role)"
		fi
		i=$((i + 1))
	done
	took=$(($(now_ms) - start))
	total=$((total + took))
	log "$CYCLES cycles in $took ms (main thread: $role)"
	assert_alive

	# The sleep under way during the last revert must last its full time.
	k=$(sed -n 's/^sleep-start //p' "$TARGET_OUT" | tail -n 1)
	[ -n "$k" ] || fail "the sleep thread never started a sleep"
	wait_for_line "$TARGET_OUT" "^((slept|short-sleep) $k |(EINTR|unexpected) sleep)" 10 "$pid" ||
		fail "sleep $k did not end within 10 s"
	assert_waits_undisturbed "after $CYCLES cycles (main thread: $role)"
	n=$(grep -c '^slept ' "$TARGET_OUT")
	least=$(sed -n 's/^slept [0-9]* //p' "$TARGET_OUT" | sort -n | head -n 1)
	most=$(sed -n 's/^slept [0-9]* //p' "$TARGET_OUT" | sort -n | tail -n 1)
	log "$n sleeps of $SLEEP_MS ms, each $least to $most ms"

	# Patched and unpatched, the worker computes right.
	apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
	expect_status 0 "apply after the cycles (main thread: $role)"
	wait_value 63
	run_livepatch revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
	expect_status 0 "revert after the cycles (main thread: $role)"
	wait_value 42
	expect_patches "after the cycles (main thread: $role)"

	# Every wait is still waiting: complete them, each gets its data.
	# shellcheck disable=SC2086 # one name a word
	wake_blocked $WOKEN
	assert_alive
	assert_waits_undisturbed "after the wake-up (main thread: $role)"
	log "no EINTR, no early return, every wait completed when woken"
	stop_target "$pid"
done
log "ok ($CYCLES cycles a process, $total ms of cycles)"
