#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A target stopped with SIGSTOP stays stopped through applies and reverts
# (every thread in state T, not left traced), and runs the new code once
# continued; its parent, which waits for it with WUNTRACED | WCONTINUED
# (tests/targets/waitlog.c), sees only the SIGSTOP and SIGCONT the test
# sent, and nothing at all while a running target is patched.  An apply
# to a stopped target that needs a safe point it cannot get (a thread
# parked in the pad of the function, see safepoint.sh) must end with
# status 10 at its --timeout, not hang, and leave the target stopped.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# The most a run may take: it must not hang.
TOOL_TIMEOUT=$((STRESS_TIMEOUT + 30))
PARENT_PID=
PARENT_OUT=

# start_child OUT CMD...: start CMD under waitlog, its output in OUT; the
# child becomes the current target, waitlog is PARENT_PID (its events in
# PARENT_OUT).
start_child() {
	_sc_out=$1
	shift
	start_target "$T/waitlog" "$_sc_out" "$@"
	PARENT_PID=$TARGET_PID
	PARENT_OUT=$TARGET_OUT
	wait_for_line "$PARENT_OUT" '^child [0-9]+$' 10 "$PARENT_PID" ||
		fail "waitlog did not start its child: $(cat "$PARENT_OUT")"
	use_target "$(sed -n 's/^child //p' "$PARENT_OUT")" "$_sc_out"
	log "the target is $TARGET_PID, child of waitlog $PARENT_PID"
}

# parent_saw WHAT LINE...: what the parent was told of the child so far is
# exactly LINE... (e.g. "stopped 19" continued).
parent_saw() {
	_ps_what=$1
	shift
	_ps_want=$(for _ps_l in "$@"; do echo "$_ps_l"; done)
	_ps_got=$(sed '/^child /d' "$PARENT_OUT")
	[ "$_ps_got" = "$_ps_want" ] ||
		fail "$_ps_what: the parent saw '$(echo "$_ps_got" | tr '\n' ';')'," \
			"expected '$(echo "$_ps_want" | tr '\n' ';')'"
}

# all_stopped: every thread of the target is in state T (group stop), and
# none is traced (t).
all_stopped() {
	_as=$(thread_states "$TARGET_PID" | sort -u | tr -d '\n')
	[ "$_as" = T ]
}

# settle WHAT: once livepatch has detached, the threads go back into the
# group stop (they run kernel code for that, never their own): within 1 s
# all of them must be in state T.
settle() {
	_se=0
	until all_stopped; do
		[ "$_se" -lt 20 ] || fail "$1: the target is no longer stopped: threads in" \
			"states $(thread_states "$TARGET_PID" | tr '\n' ' ')"
		sleep 0.05
		_se=$((_se + 1))
	done
}

# user_ticks: the user CPU time of all the threads of the target, in clock
# ticks: it must not grow while the target is stopped.
user_ticks() {
	cat "/proc/$TARGET_PID/task/"*/stat 2>/dev/null |
		sed 's/^.*) //' | awk '{ n += $12 } END { print n + 0 }'
}

# stop_child: SIGSTOP the target; wait until all its threads are stopped
# and the parent was told.
stop_child() {
	kill -STOP "$TARGET_PID"
	_sch=0
	until all_stopped && grep -q '^stopped ' "$PARENT_OUT"; do
		[ "$_sch" -lt 100 ] || fail "the target did not stop: threads" \
			"'$(thread_states "$TARGET_PID" | tr '\n' ' ')', parent saw: $(cat "$PARENT_OUT")"
		sleep 0.1
		_sch=$((_sch + 1))
	done
	log "target $TARGET_PID stopped"
}

# expect_still_stopped WHAT: every thread stays in state T for 0.5 s.
expect_still_stopped() {
	_ess=0
	while [ "$_ess" -lt 5 ]; do
		all_stopped || fail "$1: the threads of the target are in states" \
			"'$(thread_states "$TARGET_PID" | tr '\n' ' ')', expected all T"
		grep -q '^TracerPid:[[:space:]]*0$' "/proc/$TARGET_PID/status" ||
			fail "$1: the target is still traced:" \
				"$(grep TracerPid "/proc/$TARGET_PID/status")"
		sleep 0.1
		_ess=$((_ess + 1))
	done
	log "$1: every thread still stopped (T), not traced"
}

# cont_child: SIGCONT the target; wait until the parent was told.
cont_child() {
	kill -CONT "$TARGET_PID"
	wait_for_line "$PARENT_OUT" '^continued$' 10 "$PARENT_PID" ||
		fail "the parent was not told of SIGCONT: $(cat "$PARENT_OUT")"
	assert_alive
}

compile_target "$CC" "$T/waitlog" "$TARGETS/waitlog.c"
sigstop=19 # SIGSTOP on x86-64 Linux

# ---- a running target, then a stopped one ------------------------------------
build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
build_patch "$T/rev" "$T/answer.lpatch" "$TARGETS/answer-patch.c"
patch_id "$T/answer.lpatch"
id=$PATCH_ID
start_child "$T/rev.out" "$T/rev" 2
wait_ready
expect_value 42

apply --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$T/answer.lpatch"
expect_status 0 "apply to the running target"
wait_value 63
run_livepatch revert --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$id"
expect_status 0 "revert in the running target"
wait_value 42
i=1
while [ "$i" -le 10 ]; do
	lp_must "apply $i to the running target" apply --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$T/answer.lpatch"
	lp_must "revert $i in the running target" revert --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$id"
	i=$((i + 1))
done
assert_alive
parent_saw "11 cycles of apply and revert in the running target"
log "the parent saw nothing of 11 applies and reverts"

stop_child
parent_saw "SIGSTOP" "stopped $sigstop"
ticks=$(user_ticks)
apply -v --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$T/answer.lpatch"
expect_status 0 "apply to the stopped target"
settle "after the apply"
expect_still_stopped "after the apply"
expect_patches "applied in the stopped target" "$id"
i=1
while [ "$i" -le 5 ]; do
	lp_must "revert $i in the stopped target" revert "$TARGET_PID" "$id"
	settle "revert $i in the stopped target"
	lp_must "apply $i to the stopped target" apply "$TARGET_PID" "$T/answer.lpatch"
	settle "apply $i to the stopped target"
	i=$((i + 1))
done
expect_still_stopped "after 5 more cycles"
# (Its threads are busy when running: a second of running is 100 ticks.
# The borrowed thread's remote system calls each pass through user mode
# for one instruction, which the kernel's tick sampling may charge as a
# tick now and then.)
used=$(($(user_ticks) - ticks))
[ "$used" -le 2 ] ||
	fail "the stopped target ran: its threads used $used ticks of CPU"
log "the stopped target did not run (user time $ticks ticks, $used more after)"
parent_saw "applies and reverts in the stopped target" "stopped $sigstop"
cont_child
wait_value 63
expect_value 63
parent_saw "SIGCONT" "stopped $sigstop" continued
run_livepatch revert --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$id"
expect_status 0 "revert once continued"
wait_value 42
expect_value 42
parent_saw "the end" "stopped $sigstop" continued
stop_target "$TARGET_PID"
stop_target "$PARENT_PID"

# ---- a stopped target whose patch needs a safe point --------------------------
build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DSTUCK_VARIANT
build_patch "$T/hot" "$T/hot.lpatch" "$TARGETS/answer-patch.c"
start_child "$T/hot.out" "$T/hot" 2 pad
wait_ready
wait_for_line "$TARGET_OUT" '^stuck(-failed)?$' 30 "$TARGET_PID" ||
	fail "the thread did not get into the pad of answer()"
if grep -q '^stuck-failed$' "$TARGET_OUT"; then
	log "the pad of answer() is not 1-byte NOPs with this compiler: no safe-point case"
	log "ok"
	exit 0
fi
expect_value 42
stop_child
started=$(now_ms)
apply --timeout 2 "$TARGET_PID" "$T/hot.lpatch"
took=$(($(now_ms) - started))
expect_status 10 "apply to a stopped target with a thread in the pad"
settle "after the refused apply"
[ "$took" -ge 1500 ] || fail "status 10 after $took ms, before the 2 s timeout"
[ "$took" -le 25000 ] || fail "status 10 after $took ms: the 2 s timeout was not kept"
log "no safe point: status 10 after $took ms"
expect_still_stopped "after the refused apply"
expect_patches "after the refused apply"
parent_saw "the refused apply" "stopped $sigstop"
cont_child
expect_value 42
kill -HUP "$TARGET_PID"
wait_for_line "$TARGET_OUT" '^released$' 10 "$TARGET_PID" ||
	{ assert_alive; fail "the thread was not released"; }
apply --timeout "$STRESS_TIMEOUT" "$TARGET_PID" "$T/hot.lpatch"
expect_status 0 "apply once the thread has left the pad"
wait_all_new 63
expect_value 63
parent_saw "the end" "stopped $sigstop" continued
log "ok"
