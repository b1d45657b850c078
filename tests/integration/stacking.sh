#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patches stack: three patches of the same function, each with its own
# result, applied one on top of the other; reverting any of them, in any
# order, leaves the newest of the others live (or the original when none
# is left), as the target computes and as list --json says (newest first,
# only the live one marked live).  Once all are reverted the maps are as
# before and the function can be patched again.  A unique prefix of an id
# is enough to revert it.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# expect_stack WHAT VALUE [ID...]: answer() gives VALUE in the target,
# which holds the patches ID... (newest first); the newest one's answer()
# is live, the others' are not.
expect_stack() {
	_es_what=$1
	_es_value=$2
	shift 2
	wait_value "$_es_value"
	expect_value "$_es_value"
	expect_patches "$_es_what" "$@"
	_es_i=0
	while [ "$_es_i" -lt "$#" ]; do
		_es_p=".processes[0].patches[$_es_i]"
		json_expect "$LIST_JSON" "$_es_p.state" applied
		json_expect "$LIST_JSON" "$_es_p.functions|length" 1
		json_expect "$LIST_JSON" "$_es_p.functions[0].name" answer
		if [ "$_es_i" -eq 0 ]; then
			json_expect "$LIST_JSON" "$_es_p.functions[0].live" true
		else
			json_expect "$LIST_JSON" "$_es_p.functions[0].live" false
		fi
		_es_i=$((_es_i + 1))
	done
	log "$_es_what: answer() gives $_es_value, patches '$*'"
}

# apply_ok PATCH: apply must succeed.
apply_ok() {
	apply "$TARGET_PID" "$1"
	expect_status 0 "apply $(basename "$1")"
}

# revert_ok ID: revert must succeed and say so.
revert_ok() {
	run_livepatch_split revert "$TARGET_PID" "$1"
	expect_status 0 "revert $1"
	expect_reverted "$LP_STDOUT" "$1[0-9a-f]*" "$TARGET_PID"
}

# unique_prefix ID OTHER...: the shortest prefix of ID, 4 digits at least,
# that no OTHER starts with.
unique_prefix() {
	_up_id=$1
	shift
	_up_n=4
	while [ "$_up_n" -lt 16 ]; do
		_up_p=$(echo "$_up_id" | cut -c "1-$_up_n")
		_up_clash=
		for _up_o in "$@"; do
			case $_up_o in "$_up_p"*) _up_clash=1 ;; esac
		done
		[ -n "$_up_clash" ] || break
		_up_n=$((_up_n + 1))
	done
	echo "$_up_p"
}

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
# answer(21) = 21 * FACTOR: 63, 84, 105.
for f in 3 4 5; do
	build_patch "$T/rev" "$T/times$f.lpatch" "$TARGETS/answer-n-patch.c" "-DFACTOR=$f"
done
patch_id "$T/times3.lpatch"
p1=$PATCH_ID
patch_id "$T/times4.lpatch"
p2=$PATCH_ID
patch_id "$T/times5.lpatch"
p3=$PATCH_ID
{ [ "$p1" != "$p2" ] && [ "$p2" != "$p3" ] && [ "$p1" != "$p3" ]; } ||
	fail "patches of different code have the same id ($p1 $p2 $p3)"

start_target "$T/rev" 2
wait_ready
expect_value 42
save_maps "$T/maps.before"

# ---- revert the middle one, then the newest, then the oldest
apply_ok "$T/times3.lpatch"
expect_stack "1 applied" 63 "$p1"
apply_ok "$T/times4.lpatch"
expect_stack "1, 2 applied" 84 "$p2" "$p1"
apply_ok "$T/times5.lpatch"
expect_stack "1, 2, 3 applied" 105 "$p3" "$p2" "$p1"
revert_ok "$p2"
expect_stack "2 reverted (the middle one)" 105 "$p3" "$p1"
revert_ok "$p3"
expect_stack "3 reverted (the newest)" 63 "$p1"
revert_ok "$p1"
expect_stack "1 reverted (the last one)" 42
expect_maps "$T/maps.before" "all reverted, first order"

# ---- the oldest first, then the newest, then the middle one; by prefix
apply_ok "$T/times3.lpatch"
apply_ok "$T/times4.lpatch"
apply_ok "$T/times5.lpatch"
expect_stack "1, 2, 3 applied again" 105 "$p3" "$p2" "$p1"
revert_ok "$(unique_prefix "$p1" "$p2" "$p3")"
expect_stack "1 reverted (the oldest)" 105 "$p3" "$p2"
revert_ok "$(unique_prefix "$p3" "$p1" "$p2")"
expect_stack "3 reverted (the newest)" 84 "$p2"
revert_ok "$(unique_prefix "$p2" "$p1" "$p3")"
expect_stack "2 reverted (the last one)" 42
expect_maps "$T/maps.before" "all reverted, second order"

# ---- patched again after all was reverted, then revert --all
apply_ok "$T/times4.lpatch"
expect_stack "2 applied after all were reverted" 84 "$p2"
apply_ok "$T/times3.lpatch"
expect_stack "1 on top of 2" 63 "$p1" "$p2"
run_livepatch_split revert --all "$TARGET_PID"
expect_status 0 "revert --all"
for p in "$p1" "$p2"; do
	expect_reverted "$LP_STDOUT" "$p" "$TARGET_PID"
done
[ "$(wc -l <"$LP_STDOUT" | tr -d ' ')" -eq 2 ] || fail "revert --all reported other than 2 patches"
expect_stack "revert --all" 42
expect_maps "$T/maps.before" "after revert --all"
assert_alive_for 0.3
log "ok"
