#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A child forked by a patched process keeps the patch and its journal: its
# own threads run the patched function, list shows the patch in the child,
# and it can be reverted there without touching the parent; reverting in
# the parent does not touch a child either.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# fork_child: make the parent fork; the child becomes the current target.
fork_child() {
	use_target "$parent" "$parent_out"
	_fc_n=$(grep -c '^child ' "$parent_out")
	kill -USR1 "$parent" || assert_alive
	_fc_i=0
	while [ "$(grep -c '^child ' "$parent_out")" -le "$_fc_n" ]; do
		[ "$_fc_i" -lt 100 ] || { assert_alive; fail "the target did not fork"; }
		sleep 0.1
		_fc_i=$((_fc_i + 1))
	done
	child=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$parent_out" | tail -n 1)
	[ -n "$child" ] || fail "the target did not say which child it forked"
	use_target "$child" "$T/child.$child"
	log "the target forked child $child"
	wait_for_line "$TARGET_OUT" '^ready$' 30 "$child" ||
		{ assert_alive; fail "child $child never printed ready"; }
}

# in_list_of_all PID: whether list --json without a PID shows PID with
# the patch $id.
in_list_of_all() {
	run_livepatch_split list --json
	expect_status 0 "list --json of every process"
	json_get "$LP_STDOUT" '.processes|length'
	_ila_n=$JSON_VALUE
	_ila_i=0
	while [ "$_ila_i" -lt "$_ila_n" ]; do
		json_get "$LP_STDOUT" ".processes[$_ila_i].pid"
		if [ "$JSON_VALUE" = "$1" ]; then
			json_get "$LP_STDOUT" ".processes[$_ila_i].patches[0].id"
			[ "$JSON_VALUE" = "$id" ]
			return
		fi
		_ila_i=$((_ila_i + 1))
	done
	return 1
}

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
patch=$T/answer.lpatch
build_patch "$T/rev" "$patch" "$TARGETS/answer-patch.c"
patch_id "$patch"
id=$PATCH_ID
start_target "$T/rev" -f "$T/child" 2
wait_ready
expect_value 42
parent=$TARGET_PID
parent_out=$TARGET_OUT
save_maps "$T/maps.before"

apply "$parent" "$patch"
expect_status 0 "apply in the parent"
wait_value 63
expect_patches "parent after apply" "$id"

# ---- a child forked after the patch runs it and lists it
fork_child
child1=$child
expect_value 63
expect_patches "child 1" "$id"
json_expect "$LIST_JSON" '.processes[0].patches[0].state' applied
json_expect "$LIST_JSON" '.processes[0].patches[0].functions[0].live' true
json_expect "$LIST_JSON" '.processes[0].exe' "$(canonical "$T/rev")"
in_list_of_all "$parent" || fail "list --json without a PID does not show the parent"
in_list_of_all "$child1" || fail "list --json without a PID does not show child $child1"

# ---- revert in the child: the child is back to the original, not the parent
run_livepatch revert "$child1" "$id"
expect_status 0 "revert in child 1"
expect_reverted "$LP_OUT" "$id" "$child1"
wait_value 42
expect_value 42
expect_patches "child 1 after its revert"
use_target "$parent" "$parent_out"
expect_value 63
expect_patches "parent after the revert in child 1" "$id"
json_expect "$LIST_JSON" '.processes[0].patches[0].functions[0].live' true

# ---- a second child; revert in the parent leaves it patched
fork_child
child2=$child
expect_value 63
use_target "$parent" "$parent_out"
run_livepatch revert "$parent" "$id"
expect_status 0 "revert in the parent"
wait_value 42
expect_value 42
expect_patches "parent after its revert"
expect_maps "$T/maps.before" "parent after its revert"
use_target "$child2" "$T/child.$child2"
expect_value 63
expect_patches "child 2 after the revert in the parent" "$id"
run_livepatch revert --all "$child2"
expect_status 0 "revert --all in child 2"
wait_value 42
expect_patches "child 2 after its revert"

# ---- everyone still runs and computes the original
use_target "$child1" "$T/child.$child1"
assert_alive
expect_value 42
use_target "$parent" "$parent_out"
assert_alive_for 0.3
expect_value 42
log "ok"
