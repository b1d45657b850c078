#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# An apply and a revert leave the target's signal dispositions and every
# thread's signal mask as they were.  livepatch runs its system calls in
# the target by single-stepping a borrowed thread, with that thread's
# signals blocked; the kernel forces each step's SIGTRAP on the thread,
# and resets the handler of a forced signal that is blocked, so a SIGTRAP
# handler of the target's was lost for good.
#
# tests/targets/blocked.c -u: handlers for SIGURG and SIGTRAP (which
# prints "trap"), and threads with different masks.  After the apply and
# after the revert, /proc says the same SigCgt and SigIgn for the process
# and the same SigBlk for each thread as before, and a SIGTRAP sent to the
# process runs the handler: the target prints "trap" and lives on (the
# control thread, which does not block SIGTRAP, may also say "EINTR
# control": that EINTR is the signal's, not ours).
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/blocked" "$TARGETS/blocked.c" "$NOCET_CFLAGS"
build_patch "$T/blocked" "$T/answer.lpatch" "$TARGETS/answer-patch.c"

# signals PID: the process's handled and ignored signals, then each
# thread's blocked ones, a line each, by thread id.
signals() {
	sed -n 's/^\(SigCgt\|SigIgn\):/\1/p' "/proc/$1/status"
	for _s_task in /proc/"$1"/task/*; do
		echo "${_s_task##*/} $(sed -n 's/^SigBlk:[[:space:]]*//p' "$_s_task/status")"
	done | sort -n
}

start_target "$T/blocked" -u
wait_ready
pid=$TARGET_PID
signals "$pid" >"$T/before"
sed 's/^/  before | /' "$T/before"
grep -q '^SigCgt.*[13579bdf].$' "$T/before" ||
	fail "the target has no SIGTRAP handler to begin with: $(cat "$T/before")"

apply "$pid" "$T/answer.lpatch"
expect_status 0 "apply"
expect_value 63
signals "$pid" >"$T/applied"
cmp -s "$T/before" "$T/applied" ||
	fail "the apply changed the target's signals: $(diff "$T/before" "$T/applied" | tr '\n' ' ')"
log "after the apply: dispositions and masks as before"

# (the target says "regressed" when answer() goes back to the old code)
REGRESS_OK=1
run_livepatch revert "$pid" --all
expect_status 0 "revert"
signals "$pid" >"$T/reverted"
cmp -s "$T/before" "$T/reverted" ||
	fail "the revert changed the target's signals: $(diff "$T/before" "$T/reverted" | tr '\n' ' ')"
log "after the revert: dispositions and masks as before"

kill -TRAP "$pid"
wait_for_line "$TARGET_OUT" '^trap$' 10 "$pid" ||
	fail "the target's SIGTRAP handler did not run (state: $(proc_state "$pid"))"
assert_alive_for 0.3
stop_target "$pid"
log "ok"
