#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A thread bomb (tests/targets/threadbomb.c: two threads create threads
# nonstop, up to 32 at a time, each calling the patched function once and
# ending, some creating a thread of their own) is patched and reverted
# over and over.  Every apply and revert must succeed, the process must
# survive, and no thread may escape: the test tells the target when each
# apply or revert begins and when it has ended; every thread whose call
# lies wholly after an apply must get 63, after a revert 42, and no call
# may give anything else.
#
# Two bombs: one whose creators pause 100 us after each thread (100
# cycles; 1000 with LP_LONG=1), then one whose creators never pause, so
# that a stop mostly finds them inside pthread_create() (20 cycles; 200).
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

CYCLES=100
NONSTOP_CYCLES=20
if [ "${LP_LONG:-}" = 1 ]; then
	CYCLES=1000
	NONSTOP_CYCLES=200
fi
SPAWNERS=2
# Writing to the command FIFO of a target that died must fail, not kill
# us; a read from a target that no longer answers is ended by the
# watchdog.
trap '' PIPE
watchdog $((600 + 2 * CYCLES))

TB_REPLY=
# tb COMMAND: send COMMAND to the target, its one-line answer in TB_REPLY.
tb() {
	printf '%s\n' "$1" >&8 2>/dev/null ||
		{ assert_alive; fail "cannot send '$1' to the target"; }
	IFS= read -r TB_REPLY <&9 || { assert_alive; fail "no answer to '$1' from the target"; }
	case $TB_REPLY in
	error:*) fail "the target refused '$1': $TB_REPLY" ;;
	esac
}

# report WHAT: ask for the counts (threads checked old new escaped bad
# failed), and fail if a thread escaped or got a wrong value.
report() {
	tb report
	# shellcheck disable=SC2086
	set -- $TB_REPLY
	threads=$2 checked=$4 old=$6 new=$8 escaped=${10} bad=${12}
	[ "$escaped" -eq 0 ] || fail "$1: $escaped threads escaped the patch:" \
		"$(grep '^escape ' "$TARGET_OUT"); $TB_REPLY"
	[ "$bad" -eq 0 ] || fail "$1: $bad calls gave neither 42 nor 63: $TB_REPLY"
}

# bomb PAUSE_US CYCLES: start a bomb whose creators pause PAUSE_US after
# each thread, apply and revert CYCLES times, check, and end it.
bomb() {
	_b_pause=$1
	_b_cycles=$2
	log "--- creators pausing $_b_pause us after each thread: $_b_cycles cycles"
	rm -f "$T/cmd" "$T/reply"
	mkfifo "$T/cmd" "$T/reply" || fail "cannot make the FIFOs"
	start_target "$T/threadbomb" "$SPAWNERS" "$T/cmd" "$T/reply" "$_b_pause"
	wait_ready
	pid=$TARGET_PID
	# The target holds both FIFOs open: neither open blocks.
	exec 8>"$T/cmd" 9<"$T/reply"
	tb "expect 42"
	sleep 0.2
	report "before any apply"
	[ "$checked" -gt 0 ] || fail "no thread checked its call before the first apply"
	log "before any apply: $TB_REPLY"

	# The first cycle logged (and skipped without ptrace).
	tb begin
	apply -v --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
	expect_status 0 "apply of cycle 1"
	tb "expect 63"
	tb begin
	run_livepatch revert -v --timeout "$STRESS_TIMEOUT" "$pid" "$id"
	expect_status 0 "revert of cycle 1"
	tb "expect 42"

	_b_start=$(now_ms)
	_b_i=2
	while [ "$_b_i" -le "$_b_cycles" ]; do
		tb begin
		lp_must "apply of cycle $_b_i" apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
		tb "expect 63"
		tb begin
		lp_must "revert of cycle $_b_i" revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
		tb "expect 42"
		if [ $((_b_i % 10)) -eq 0 ]; then
			assert_alive
			report "cycle $_b_i"
		fi
		[ $((_b_i % 100)) -eq 0 ] && log "cycle $_b_i: $TB_REPLY"
		_b_i=$((_b_i + 1))
	done
	_b_took=$(($(now_ms) - _b_start))
	log "$((_b_cycles - 1)) more cycles in $_b_took ms"

	# Patched once more, threads must come and see 63; then reverted, 42.
	_b_threads=$threads
	tb begin
	apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
	expect_status 0 "apply after the cycles"
	tb "expect 63"
	sleep 0.2
	report "after the last apply"
	_b_new=$new
	tb begin
	run_livepatch revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
	expect_status 0 "revert after the cycles"
	tb "expect 42"
	sleep 0.2
	report "after the last revert"
	log "target: $TB_REPLY"
	[ "$threads" -gt "$_b_threads" ] || fail "no thread was created after the cycles"
	[ "$_b_new" -gt 0 ] || fail "no thread saw 63 after an apply"
	[ "$old" -gt 0 ] || fail "no thread saw 42 after a revert"
	expect_patches "after the cycles"
	assert_alive
	exec 8>&- 9<&-
	stop_target "$pid"
	log "$_b_cycles cycles, $threads threads, $checked calls checked, none escaped"
}

build_target "$T/threadbomb" "$TARGETS/threadbomb.c" "$NOCET_CFLAGS"
build_patch "$T/threadbomb" "$T/answer.lpatch" "$TARGETS/answer-patch.c"
patch_id "$T/answer.lpatch"
id=$PATCH_ID

bomb 100 "$CYCLES"
bomb 0 "$NONSTOP_CYCLES"
log "ok"
