#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# livepatch killed with SIGKILL at each point of an apply or a revert (the
# test hook LIVEPATCH_FAULT=POINT): after the seize, after the load,
# between the pad and entry writes, before the detach, and during a revert
# between its entry and pad writes.  Each time the target keeps running,
# no thread is left stopped, every call gives one answer (fully old or
# fully new, never a crash), and the next list, apply and revert see a
# consistent state and repair it: an interrupted apply or revert is
# finished, and stray mappings are unmapped, until the maps are as before.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/fix.lpatch" "$TARGETS/answer-patch.c"
build_patch "$T/hot" "$T/fix4.lpatch" "$TARGETS/answer-n-patch.c" -DFACTOR=4
patch_id "$T/fix.lpatch"
id=$PATCH_ID
REGRESS_OK=1 # reverts bring 42 back on purpose

# killed_run POINT ARGS...: livepatch ARGS with the hook set at POINT; it
# must die by SIGKILL there.
killed_run() {
	_kr_point=$1
	shift
	LP_SEQ=$((LP_SEQ + 1))
	LP_OUT=$T/livepatch$LP_SEQ.out
	log "LIVEPATCH_FAULT=$_kr_point livepatch $*"
	LIVEPATCH_FAULT=$_kr_point with_timeout "$LIVEPATCH" "$@" >"$LP_OUT" 2>&1
	LP_STATUS=$?
	sed 's/^/  | /' "$LP_OUT"
	[ "$LP_STATUS" -eq 137 ] ||
		fail "livepatch $* did not die at $_kr_point (status $LP_STATUS)"
	log "livepatch killed at $_kr_point"
}

for point in seize load pad detach revert; do
	log "--- killed at $point"
	start_target "$T/hot" 2
	wait_ready
	save_maps "$T/maps.start"
	case $point in
	revert)
		apply "$TARGET_PID" "$T/fix.lpatch"
		expect_status 0 "apply before the killed revert"
		wait_value 63
		killed_run revert revert "$TARGET_PID" --all
		# the entries are back: the old function runs
		now=42 after=0
		;;
	pad)
		killed_run pad apply "$TARGET_PID" "$T/fix.lpatch"
		# the pads hold jumps no entry leads to yet
		now=42 after=1
		;;
	detach)
		killed_run detach apply "$TARGET_PID" "$T/fix.lpatch"
		now=63 after=1
		;;
	*)
		killed_run "$point" apply "$TARGET_PID" "$T/fix.lpatch"
		now=42 after=0
		;;
	esac
	assert_alive
	wait_value "$now"
	expect_value "$now"

	# the next list finishes an interrupted apply (rolled forward)
	list_patches
	[ "$LIST_N" -eq "$after" ] ||
		fail "after a kill at $point, list shows $LIST_N patches, expected $after"
	if [ "$after" -eq 1 ]; then
		json_expect "$LIST_JSON" '.processes[0].patches[0].id' "$id"
		json_expect "$LIST_JSON" '.processes[0].patches[0].state' applied
		wait_value 63
		expect_value 63
	fi

	# apply and revert work on whatever was left, and clean it up
	apply "$TARGET_PID" "$T/fix4.lpatch"
	expect_status 0 "apply after a kill at $point"
	wait_value 84
	run_livepatch revert "$TARGET_PID" --all
	expect_status 0 "revert --all after a kill at $point"
	wait_value 42
	expect_value 42
	run_livepatch list "$TARGET_PID"
	expect_maps "$T/maps.start" "after a kill at $point, an apply and a revert"
	stop_target "$TARGET_PID"
done
log "ok"
