#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# --mode strict: no thread may be anywhere in the old version of a
# function being replaced (or reverted), at any depth of its stack.  A
# thread that never leaves a function (a main loop) makes a strict apply
# fail at the timeout, naming the thread, the function and the frame,
# while the default (entry) mode patches it; a function threads enter and
# leave is patched in strict mode once they are all outside it, and
# reverted the same way.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/strict" "$TARGETS/strict.c" "$NOCET_CFLAGS"
build_patch "$T/strict" "$T/step.lpatch" "$TARGETS/strict-patch.c"
build_patch "$T/strict" "$T/forever.lpatch" "$TARGETS/strict-patch.c" -DFOREVER
start_target "$T/strict"
wait_ready

# ---- a thread that never leaves forever(): strict gives up, naming it
apply --mode strict --timeout 1 "$TARGET_PID" "$T/forever.lpatch"
expect_status 10 "strict apply of forever()"
grep -Eq 'thread [0-9]+ is in forever \(frame [0-9]+\).*strict' "$LP_OUT" ||
	fail "the strict refusal does not name the thread, forever() and the frame"
[ "$(wc -l <"$LP_OUT")" -eq 1 ] || fail "the refusal is not one line"
assert_alive
! grep -q '/memfd:livepatch:' "/proc/$TARGET_PID/maps" ||
	fail "the refused patch stayed mapped"

# the default mode only needs the entry bytes free
apply "$TARGET_PID" "$T/forever.lpatch"
expect_status 0 "entry-mode apply of forever()"

# ---- step() is entered and left: strict waits for all to be outside
apply -v --mode strict "$TARGET_PID" "$T/step.lpatch"
expect_status 0 "strict apply of step()"
wait_for_line "$TARGET_OUT" '^step 2$' 10 "$TARGET_PID" ||
	fail "step() is not the new one after the strict apply"
id=$("$LIVEPATCH" info "$T/step.lpatch" | sed -n 's/^patch: *//p')
run_livepatch revert --mode strict "$TARGET_PID" "$id"
expect_status 0 "strict revert of step()"
n=$(grep -c '^step 1$' "$TARGET_OUT")
wait_for_line "$TARGET_OUT" '^step 2$' 1 "$TARGET_PID"
sleep 0.3
[ "$(grep -c '^step 1$' "$TARGET_OUT")" -gt "$n" ] ||
	fail "step() is not the old one after the strict revert"
assert_alive
log "ok"
