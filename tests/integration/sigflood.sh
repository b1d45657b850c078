#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A process flooded with queued real-time signals from another process is
# patched and reverted 100 times (1000 with LP_LONG=1) while the flood
# goes on; its signal handler calls the patched function too.  Each stop
# catches signals in flight (signal-delivery stops, the borrowed thread's
# blocked mask): none may be lost, doubled or lose its siginfo, so the
# target must count exactly as many signals as were sent, each sequence
# number once; the handler's calls of answer(21) must give 42 or 63 and
# nothing else (both, over the cycles), and the process must survive.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

CYCLES=100
[ "${LP_LONG:-}" = 1 ] && CYCLES=1000
NWORKERS=2
# Signals a second: a flood, but one that leaves the test and livepatch
# some CPU time on 2 cores (unthrottled, the sender and the handler take
# both).  0: as fast as the target's queue takes them.
RATE=${LP_SIGFLOOD_RATE:-50000}

build_target "$T/sigflood" "$TARGETS/sigflood.c" "$NOCET_CFLAGS"
compile_target "$CC" "$T/sigstream" "$TARGETS/sigstream.c"
build_patch "$T/sigflood" "$T/answer.lpatch" "$TARGETS/answer-patch.c"
patch_id "$T/answer.lpatch"
id=$PATCH_ID

start_target "$T/sigflood" "$NWORKERS"
wait_ready
pid=$TARGET_PID

# One apply, logged, before the flood: skips the test without ptrace.
apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
expect_status 0 "apply before the flood"
run_livepatch revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
expect_status 0 "revert before the flood"

"$T/sigstream" "$pid" 0 "$RATE" >"$T/send.out" 2>&1 &
sender=$!
TARGET_PIDS="$TARGET_PIDS $sender" # killed on exit
wait_for_line "$T/send.out" '^sending$' 10 "$sender" ||
	fail "the sender did not start: $(cat "$T/send.out")"

log "$CYCLES cycles of apply and revert under the flood"
start=$(now_ms)
i=1
while [ "$i" -le "$CYCLES" ]; do
	lp_must "apply of cycle $i" apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
	lp_must "revert of cycle $i" revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
	if [ $((i % 10)) -eq 0 ]; then
		assert_alive "$pid"
		is_alive "$sender" || fail "the sender stopped: $(cat "$T/send.out")"
	fi
	[ $((i % 100)) -eq 0 ] && log "cycle $i"
	i=$((i + 1))
done
took=$(($(now_ms) - start))
log "$CYCLES cycles in $took ms (flood of $RATE signals a second, 0: unthrottled)"

kill -TERM "$sender"
wait "$sender" || fail "the sender failed: $(cat "$T/send.out")"
sent=$(sed -n 's/^sent //p' "$T/send.out")
[ -n "$sent" ] || fail "the sender did not say how many it sent: $(cat "$T/send.out")"
log "sent $sent signals"

# The queue drains: ask until the target has handled as many as were sent
# (10 s at most), then check the last report.
n=0
while :; do
	before=$(grep -c '^got ' "$TARGET_OUT")
	kill -USR1 "$pid" || assert_alive "$pid"
	wait_for_line "$TARGET_OUT" '^got ' 10 "$pid" || fail "no report from the target"
	k=0
	while [ "$(grep -c '^got ' "$TARGET_OUT")" -le "$before" ] && [ "$k" -lt 100 ]; do
		sleep 0.1
		k=$((k + 1))
	done
	# shellcheck disable=SC2046
	set -- $(grep '^got ' "$TARGET_OUT" | tail -n 1)
	got=$2 dup=$4 bad=$6 max=$8 old=${10} new=${12} other=${14} wother=${16}
	[ "$got" -ge "$sent" ] && break
	n=$((n + 1))
	[ "$n" -lt 50 ] || break
	sleep 0.2
done
log "target: $(grep '^got ' "$TARGET_OUT" | tail -n 1)"
assert_alive "$pid"
[ "$got" -eq "$sent" ] || fail "the target handled $got signals, $sent were sent"
[ "$dup" -eq 0 ] || fail "$dup signals were delivered twice"
[ "$bad" -eq 0 ] || fail "$bad signals came without their siginfo (SI_QUEUE, value)"
[ "$max" -eq "$sent" ] || fail "the highest sequence number seen is $max, $sent were sent"
[ "$other" -eq 0 ] || fail "answer() gave neither 42 nor 63 $other times in the handler"
[ "$wother" -eq 0 ] || fail "answer() gave neither 42 nor 63 $wother times in the workers"
if [ "$old" -eq 0 ] || [ "$new" -eq 0 ]; then
	fail "the handler saw 42 $old times and 63 $new times: the flood missed the patch"
fi
log "every signal arrived once with its siginfo; the handler saw 42 $old times, 63 $new times"

# The target still works, patched and not.
expect_patches "after the cycles"
apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/answer.lpatch"
expect_status 0 "apply after the flood"
run_livepatch revert --timeout "$STRESS_TIMEOUT" "$pid" "$id"
expect_status 0 "revert after the flood"
assert_alive_for 0.3 "$pid"
log "ok ($CYCLES cycles in $took ms, $sent signals)"
