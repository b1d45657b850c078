#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# No signal is lost, and none loses its siginfo, when a target flooded
# with queued real-time signals is patched: the stops catch signals in
# flight, and the thread borrowed for the load takes none while it runs
# our system calls.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

N=20000
build_target "$T/rtsig" "$TARGETS/rtsig.c" "$NOCET_CFLAGS"
$CC -O2 -o "$T/sigsend" "$TARGETS/sigsend.c" || fail "cannot build sigsend"
build_patch "$T/rtsig" "$T/answer.lpatch" "$TARGETS/answer-patch.c"

for round in 1 2 3; do
	log "round $round of 3"
	start_target "$T/rtsig"
	wait_for_line "$TARGET_OUT" '^value 42$' 10 "$TARGET_PID" || fail "target not ready"
	"$T/sigsend" "$TARGET_PID" "$N" >"$T/send.out" 2>&1 &
	sender=$!
	apply "$TARGET_PID" "$T/answer.lpatch"
	expect_status 0 "apply during the flood"
	wait "$sender" || fail "sigsend failed: $(cat "$T/send.out")"
	grep -q "^sent $N\$" "$T/send.out" || fail "sigsend: $(cat "$T/send.out")"
	wait_for_line "$TARGET_OUT" '^value 63$' 10 "$TARGET_PID" || fail "not patched"
	sleep 0.5
	kill -USR1 "$TARGET_PID"
	wait_for_line "$TARGET_OUT" '^got ' 10 "$TARGET_PID" || fail "no count from the target"
	line=$(grep '^got ' "$TARGET_OUT" | tail -n 1)
	log "target: $line (sent $N)"
	[ "$line" = "got $N bad 0" ] || fail "signals lost or changed: $line, sent $N"
	assert_alive
	stop_target "$TARGET_PID"
done
log "ok"
