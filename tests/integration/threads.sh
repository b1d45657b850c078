#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a process of 220 threads all calling the function nonstop.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

NTHREADS=220

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/answer.lpatch" "$TARGETS/answer-patch.c"
start_target "$T/hot" "$NTHREADS"
wait_ready
expect_value 42
# shellcheck disable=SC2046
set -- $(cd "/proc/$TARGET_PID/task" && echo *)
log "target has $# threads"
[ "$#" -eq $((NTHREADS + 1)) ] || fail "target has $# threads, expected $((NTHREADS + 1))"

apply -v "$TARGET_PID" "$T/answer.lpatch"
expect_status 0 "apply -v"

# "pause X ms, N threads": every thread (workers and main) was stopped.
line=$(grep -E 'pause [0-9.]+ ?ms, [0-9]+ threads' "$LP_OUT" | head -n 1)
[ -n "$line" ] || fail "apply -v printed no 'pause X ms, N threads' line"
n=$(echo "$line" | sed -E 's/.*pause [0-9.]+ ?ms, ([0-9]+) threads.*/\1/')
log "livepatch: $line"
[ "$n" -ge $((NTHREADS + 1)) ] ||
	fail "livepatch stopped $n threads, the target has $((NTHREADS + 1))"

# A hot function is patched at the first stop: threads caught between the
# entry NOPs are moved past them, not waited for.
grep -q 'applied .* 1 attempt$' "$LP_OUT" || fail "not applied at the first stop"

wait_all_new 63
assert_alive_for 0.5
expect_value 63
log "ok"
