#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# apply --replace: a cumulative patch takes the place of every patch
# applied so far, in one stop.  With patch 1 (f1) and patch 2 (f2) of
# two.c applied, --replace with patch 3 (f1 only) leaves only patch 3
# listed and live: f1 gives patch 3's result and f2, which only patch 2
# replaced, the original one; reverting patch 3 then brings the original
# f1 back, not patch 1's.  The --json document names the patches replaced.
# --replace with nothing applied is a plain apply.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# expect_replaced ID...: the last apply --json replaced exactly ID...
expect_replaced() {
	json_expect "$LP_STDOUT" '.replaced|length' "$#"
	for _er_id in "$@"; do
		_er_i=0
		_er_found=
		while [ "$_er_i" -lt "$#" ]; do
			json_get "$LP_STDOUT" ".replaced[$_er_i]"
			[ "$JSON_VALUE" = "$_er_id" ] && _er_found=1
			_er_i=$((_er_i + 1))
		done
		[ -n "$_er_found" ] || fail "apply --replace --json does not list $_er_id as replaced"
	done
}

build_target "$T/two" "$TARGETS/two.c" "$NOCET_CFLAGS" -DREVERT_OK
build_patch "$T/two" "$T/f1-100.lpatch" "$TARGETS/two-var-patch.c" -DF1_ADD=100
patch_id "$T/f1-100.lpatch"
p1=$PATCH_ID
build_patch "$T/two" "$T/f2-200.lpatch" "$TARGETS/two-var-patch.c" -DF2_ADD=200
patch_id "$T/f2-200.lpatch"
p2=$PATCH_ID
build_patch "$T/two" "$T/f1-300.lpatch" "$TARGETS/two-var-patch.c" -DF1_ADD=300
patch_id "$T/f1-300.lpatch"
p3=$PATCH_ID
build_patch "$T/two" "$T/both.lpatch" "$TARGETS/two-var-patch.c" \
	-DF1_ADD=400 -DF2_ADD=500
patch_id "$T/both.lpatch"
p4=$PATCH_ID

start_target "$T/two" 4
wait_ready
expect_value 22/23
save_maps "$T/maps.before"

# ---- 1 and 2, then --replace with 3
apply "$TARGET_PID" "$T/f1-100.lpatch"
expect_status 0 "apply of patch 1 (f1)"
apply "$TARGET_PID" "$T/f2-200.lpatch"
expect_status 0 "apply of patch 2 (f2)"
wait_value 121/221
expect_patches "1 and 2 applied" "$p2" "$p1"

run_livepatch_split apply --json --replace "$TARGET_PID" "$T/f1-300.lpatch"
expect_status 0 "apply --replace of patch 3"
json_expect "$LP_STDOUT" .command apply
json_expect "$LP_STDOUT" .status applied
json_expect "$LP_STDOUT" .id "$p3"
json_expect "$LP_STDOUT" .functions 1
expect_replaced "$p1" "$p2"
wait_value 321/23
expect_value 321/23
expect_patches "3 replaced 1 and 2" "$p3"
json_expect "$LIST_JSON" '.processes[0].patches[0].functions[0].live' true

# Patch 1 is gone, not under patch 3: reverting 3 gives the original f1.
run_livepatch revert "$TARGET_PID" "$p3"
expect_status 0 "revert of patch 3"
wait_value 22/23
expect_value 22/23
expect_patches "3 reverted"
expect_maps "$T/maps.before" "3 reverted"
for p in "$p1" "$p2"; do
	run_livepatch revert "$TARGET_PID" "$p"
	expect_status 15 "revert of replaced patch $p"
done

# ---- --replace with nothing applied, then over a patch of both functions
run_livepatch_split apply --json --replace "$TARGET_PID" "$T/both.lpatch"
expect_status 0 "apply --replace with nothing applied"
json_expect "$LP_STDOUT" .id "$p4"
expect_replaced
wait_value 421/521
expect_patches "--replace with nothing applied" "$p4"

run_livepatch_split apply --json --replace "$TARGET_PID" "$T/f1-100.lpatch"
expect_status 0 "apply --replace of patch 1 over patch 4"
expect_replaced "$p4"
wait_value 121/23
expect_value 121/23
expect_patches "1 replaced 4" "$p1"

# The human output of --replace.
run_livepatch_split apply --replace "$TARGET_PID" "$T/f2-200.lpatch"
expect_status 0 "apply --replace of patch 2 over patch 1"
grep -q "^livepatch: applied patch $p2 to process $TARGET_PID (1 function)\$" "$LP_STDOUT" ||
	fail "apply --replace did not report patch 2 applied"
wait_value 22/221
expect_patches "2 replaced 1" "$p2"

run_livepatch revert --all "$TARGET_PID"
expect_status 0 "revert --all"
wait_value 22/23
expect_value 22/23
expect_patches "all reverted"
expect_maps "$T/maps.before" "all reverted"
assert_alive_for 0.3
log "ok"
