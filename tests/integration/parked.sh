#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Revert a patch while a thread is parked inside its code: the gate thread
# of rev.c blocks in read() called from the patch's gate() until the test
# writes to a FIFO.  The revert succeeds and the old functions are live
# again for new calls, but the patch's code stays mapped and list --json
# shows it "reverted-in-use" (and keeps it so while the thread is parked).
# Once the thread is released and has left the patch's code, livepatch
# list cleans up: the code is unmapped, the entry is gone, the maps are as
# before the apply.  The target never crashes.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

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

# The original gate() returns at once.
gate_call 1
gate_result 1 1

apply "$TARGET_PID" "$patch"
expect_status 0 "apply"
wait_value 63
expect_patches "after apply" "$id"

# ---- park the gate thread in the patch's gate(), blocked in read()
gate_call 2
gate_wait_parked
grep -q '^gate-result 2 ' "$TARGET_OUT" && fail "the patched gate() did not block"

# ---- revert while it is parked
run_livepatch_split revert --json "$TARGET_PID" "$id"
expect_status 0 "revert while a thread is parked in the patch"
json_expect "$LP_STDOUT" .status reverted
json_expect "$LP_STDOUT" '.reverted|length' 1
json_expect "$LP_STDOUT" '.reverted[0]' "$id"
json_expect "$LP_STDOUT" '.still_mapped|length' 1
json_expect "$LP_STDOUT" '.still_mapped[0]' "$id"
assert_alive
# answer(), replaced by the same patch, is the old one again.
wait_value 42
expect_value 42

# The code stays mapped, listed as reverted-in-use, nothing of it live;
# a list does not unmap it while the thread is still parked.
for round in 1 2; do
	gate_still_parked 2
	expect_patches "parked, list $round" "$id"
	json_expect "$LIST_JSON" '.processes[0].patches[0].state' reverted-in-use
	json_get "$LIST_JSON" '.processes[0].patches[0].functions|length'
	nf=$JSON_VALUE
	[ "$nf" -eq 2 ] || fail "the reverted patch lists $nf functions, expected 2"
	k=0
	while [ "$k" -lt "$nf" ]; do
		json_expect "$LIST_JSON" ".processes[0].patches[0].functions[$k].live" false
		k=$((k + 1))
	done
	run_livepatch list "$TARGET_PID"
	expect_status 0 "list (human format) while parked"
done
grep -q '^gate-result 2 ' "$TARGET_OUT" && fail "the parked call of gate() returned"

# A revert --all in the meantime (nothing is applied) keeps the parked
# patch mapped.
run_livepatch revert --all "$TARGET_PID"
expect_status 0 "revert --all while a reverted patch is in use"
expect_patches "parked, after revert --all" "$id"

# ---- release it: the patched call ends, then list cleans up
printf x >"$fifo" || fail "cannot write to $fifo"
gate_result 2 2
assert_alive
run_livepatch list "$TARGET_PID"
expect_status 0 "list after the thread left the patch"
mapped=$(mapped_patches "$TARGET_PID")
[ -z "$mapped" ] || fail "patch code still mapped after list: $mapped"
expect_patches "released and cleaned up"
expect_maps "$T/maps.before" "released and cleaned up"

# New calls of gate() get the original: no blocking, result 1.
gate_call 3
gate_result 3 1
assert_alive_for 0.3
expect_value 42
log "ok"
