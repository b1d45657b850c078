#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A thread that no interrupt can stop: it sits in vfork() (an
# uninterruptible wait) until its child exits.  Each stop must give up on
# it after its wait (250 ms) rather than wait for it, leave the other
# threads running, and try again:
#  - with the child exiting after 2 s and --timeout 20, the apply succeeds
#    once the thread is out of vfork(), having said that it did not stop;
#  - with a child of 4 s and --timeout 1, the apply ends unsafe (10),
#    naming the thread, and the target runs on unpatched.  (The command
#    returns when the thread leaves vfork(): only a stopped thread can be
#    detached.)
#  - with the main thread in vfork() too, and the target killed while the
#    command waits for the two threads: it ends, with status 11 (or 3).
# The stop waits for each thread in a blocking waitpid() that a timer cuts
# short: without the timer the first stop would wait for the thread and
# succeed, and the first two cases would fail.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
build_patch "$T/rev" "$T/answer.lpatch" "$TARGETS/answer-patch.c"

# start_vfork MS: a target whose vfork thread is in vfork() by now.
start_vfork() {
	start_target "$T/rev" -v "$1" 2
	wait_ready
	wait_for_line "$TARGET_OUT" '^vfork-start ' 10 "$TARGET_PID" ||
		fail "the target did not start its vfork() thread"
	VFORK_TID=$(sed -n 's/^vfork-start //p' "$TARGET_OUT")
	_sv_i=0
	until [ "$(proc_state "$TARGET_PID/task/$VFORK_TID")" = D ]; do
		[ "$_sv_i" -lt 50 ] || fail "thread $VFORK_TID never waited in vfork()"
		sleep 0.1
		_sv_i=$((_sv_i + 1))
	done
	log "thread $VFORK_TID waits in vfork()"
}

log "--- a vfork() of 2 s: the apply waits it out"
start_vfork 2000
expect_value 42
apply -v --timeout 20 "$TARGET_PID" "$T/answer.lpatch"
expect_status 0 "apply beside a thread in vfork()"
grep -q "thread $VFORK_TID did not stop" "$LP_OUT" ||
	fail "the apply did not report that thread $VFORK_TID did not stop"
grep -q '^vfork-end$' "$TARGET_OUT" ||
	fail "the apply succeeded while thread $VFORK_TID was still in vfork()"
expect_value 63
stop_target "$TARGET_PID"

log "--- a vfork() of 4 s, --timeout 1: unsafe, the target unchanged"
start_vfork 4000
expect_value 42
apply --timeout 1 "$TARGET_PID" "$T/answer.lpatch"
expect_status 10 "apply beside a thread in vfork() for longer than the timeout"
grep -q "thread $VFORK_TID did not stop" "$LP_OUT" ||
	fail "the refusal does not name thread $VFORK_TID"
expect_value 42
expect_patches "after the refused apply"
stop_target "$TARGET_PID"

log "--- the main thread in vfork() too, the target killed meanwhile: the command ends"
# After a stop, the command waits for the threads that did not stop, here
# the main thread and another.  The target killed meanwhile, the kernel
# reports the main thread's exit only once the other thread is reaped,
# and that one, traced, waits for the command to reap it: a wait for the
# main thread first waited for ever.  The command must end, saying that
# the process exited.  (The borrow for the load takes neither thread:
# no interrupt stops a thread in vfork().)
both_in_vfork() {
	[ "$(grep -c '^vfork-start ' "$TARGET_OUT")" -eq 2 ] || return 1
	for _t in $(sed -n 's/^vfork-start //p' "$TARGET_OUT"); do
		[ "$(proc_state "$TARGET_PID/task/$_t")" = D ] || return 1
	done
}
start_target "$T/rev" -v 3000 -V 2
wait_ready
_n=0
until both_in_vfork; do
	[ "$_n" -lt 50 ] || fail "the target's two threads never waited in vfork()"
	sleep 0.1
	_n=$((_n + 1))
done
log "threads $(sed -n 's/^vfork-start //p' "$TARGET_OUT" | tr '\n' ' ')wait in vfork()"
"$LIVEPATCH" apply --timeout 1 "$TARGET_PID" "$T/answer.lpatch" >"$T/killed.out" 2>&1 &
lp=$!
# past the first stop's wait (250 ms): the command waits for the two
sleep 0.7
kill -KILL "$TARGET_PID"
_n=0
while kill -0 "$lp" 2>/dev/null && [ "$_n" -lt 100 ]; do
	sleep 0.1
	_n=$((_n + 1))
done
if kill -0 "$lp" 2>/dev/null; then
	kill -KILL "$lp"
	fail "livepatch did not end within 10 s of the target's death: $(cat "$T/killed.out")"
fi
wait "$lp"
st=$?
log "livepatch: status $st: $(cat "$T/killed.out")"
case $st in
3 | 11) ;;
*) fail "livepatch said status $st for a target killed under it: $(cat "$T/killed.out")" ;;
esac
wait "$TARGET_PID" 2>/dev/null
forget_target "$TARGET_PID"
log "ok"
