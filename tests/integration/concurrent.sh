#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Several livepatch runs on one process at once: an operator's "list"
# (which cleans up reverted patches) while an apply runs, or two applies
# started together.  A run that finds the process held by another
# livepatch run waits for it instead of taking it for a debugger: each
# apply and revert of the loop succeeds while lists run nonstop beside
# it, two applies of one patch started together end with 0 and 14
# (already applied), two reverts with 0 and 15 (not applied), and the
# target computes right throughout.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

CYCLES=20
[ "${LP_LONG:-}" = 1 ] && CYCLES=200

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
patch=$T/answer.lpatch
build_patch "$T/rev" "$patch" "$TARGETS/answer-patch.c"
patch_id "$patch"
id=$PATCH_ID
start_target "$T/rev" 4
wait_ready
expect_value 42
pid=$TARGET_PID

# Lists of this process and of every process, nonstop, until told to end.
: >"$T/lists.run"
(
	while [ -e "$T/lists.run" ]; do
		"$LIVEPATCH" list "$pid" >/dev/null 2>>"$T/lists.err"
		"$LIVEPATCH" list >/dev/null 2>>"$T/lists.err"
	done
) &
lister=$!
TARGET_PIDS="$TARGET_PIDS $lister" # ended on exit

i=1
while [ "$i" -le "$CYCLES" ]; do
	lp_must "apply of cycle $i beside lists" apply "$pid" "$patch"
	lp_must "revert of cycle $i beside lists" revert "$pid" "$id"
	i=$((i + 1))
done
rm -f "$T/lists.run"
wait "$lister"
log "$CYCLES cycles beside nonstop lists: every run succeeded"
grep -v 'clean-up not done' "$T/lists.err" | grep . &&
	fail "a list failed beside the applies (above)"

# pair CMD ARGS...: run two "livepatch CMD ARGS..." at once; their
# statuses, sorted, in PAIR.
pair() {
	with_timeout "$LIVEPATCH" "$@" >"$T/a.out" 2>&1 &
	_pa=$!
	with_timeout "$LIVEPATCH" "$@" >"$T/b.out" 2>&1 &
	_pb=$!
	wait "$_pa"
	_sa=$?
	wait "$_pb"
	_sb=$?
	PAIR=$(printf '%s\n%s\n' "$_sa" "$_sb" | sort -n | tr '\n' ' ')
	log "two '$1' at once: statuses $PAIR"
	sed 's/^/  | /' "$T/a.out" "$T/b.out"
}

i=1
while [ "$i" -le 10 ]; do
	pair apply "$pid" "$patch"
	[ "$PAIR" = "0 14 " ] || fail "two applies at once: statuses $PAIR, not 0 and 14"
	expect_value 63
	pair revert "$pid" "$id"
	[ "$PAIR" = "0 15 " ] || fail "two reverts at once: statuses $PAIR, not 0 and 15"
	expect_value 42
	i=$((i + 1))
done
expect_patches ""
assert_alive
log ok
