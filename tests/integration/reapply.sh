#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Apply a patch again while its reverted copy is still in use: the gate
# thread of rev.c is parked in the patch's gate() when the patch is
# reverted, then the same patch is applied again.  That is no "already
# applied": the new copy applies next to the old one (list --json shows
# the id twice: applied, then reverted-in-use), it reverts like any other
# patch, and once the thread leaves the old copy, list unmaps both and the
# maps are as before.  (A toggle of a patch on a busy process, as in
# cycles.sh, gets there too when a thread is slow to leave the code.)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# copies: how many copies of the patch $id the target maps (one memfd each).
copies() {
	grep " /memfd:livepatch:$id (deleted)\$" "/proc/$TARGET_PID/maps" |
		awk '{ print $5 }' | sort -u | wc -l | tr -d ' '
}

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
patch=$T/gate.lpatch
build_patch "$T/rev" "$patch" "$TARGETS/gate-patch.c"
patch_id "$patch"
id=$PATCH_ID
fifo=$T/gate.fifo
mkfifo "$fifo" || fail "cannot make the FIFO $fifo"

start_target "$T/rev" -g "$fifo" 2
wait_ready
expect_value 42
gate_found "$fifo"
save_maps "$T/maps.before"

# ---- park the gate thread in the patch, and revert it
apply "$TARGET_PID" "$patch"
expect_status 0 "apply"
wait_value 63
gate_call 1
gate_wait_parked
run_livepatch revert "$TARGET_PID" "$id"
expect_status 0 "revert while the gate thread is parked in the patch"
wait_value 42
expect_patches "reverted, in use" "$id"
json_expect "$LIST_JSON" '.processes[0].patches[0].state' reverted-in-use

# ---- apply it again: a second copy, applied.  (--timeout: each of these
# takes one stop; a broken one should not hold the suite up for long.)
apply --timeout 5 "$TARGET_PID" "$patch"
expect_status 0 "apply again while the reverted copy is in use"
wait_value 63
expect_value 63
[ "$(copies)" -eq 2 ] || fail "the target maps $(copies) copies of the patch, expected 2"
expect_patches "applied again" "$id" "$id"
json_expect "$LIST_JSON" '.processes[0].patches[0].state' applied
json_expect "$LIST_JSON" '.processes[0].patches[0].functions[0].live' true
json_expect "$LIST_JSON" '.processes[0].patches[0].functions[1].live' true
json_expect "$LIST_JSON" '.processes[0].patches[1].state' reverted-in-use
json_expect "$LIST_JSON" '.processes[0].patches[1].functions[0].live' false
json_expect "$LIST_JSON" '.processes[0].patches[1].functions[1].live' false
run_livepatch_split apply "$TARGET_PID" "$patch"
expect_status 14 "a third apply, with the patch applied"

# ---- revert the applied copy; the parked one stays
run_livepatch revert --timeout 5 "$TARGET_PID" "$id"
expect_status 0 "revert of the second copy"
expect_reverted "$LP_OUT" "$id" "$TARGET_PID"
wait_value 42
expect_value 42
gate_still_parked 1
expect_patches "second copy reverted" "$id"
json_expect "$LIST_JSON" '.processes[0].patches[0].state' reverted-in-use
[ "$(copies)" -eq 1 ] || fail "the target maps $(copies) copies of the patch, expected 1"

# ---- release the thread: everything goes
printf x >"$fifo" || fail "cannot write to $fifo"
gate_result 1 2
run_livepatch list "$TARGET_PID"
expect_status 0 "list after the thread left the patch"
expect_patches "released and cleaned up"
expect_maps "$T/maps.before" "released and cleaned up"
gate_call 2
gate_result 2 1
assert_alive_for 0.3
expect_value 42
log "ok"
