#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One patch replaces two functions of a running executable, f1 and f2, that
# four threads call nonstop in both orders: both change at the same
# instant, in every thread (no thread ever sees a new f1 and then an old
# f2, or the other way round).  All or none: a patch of f1 and of a
# function the target lacks is refused by livepatch-build.  A patch of f1
# and f2 applied where one of them is already patched goes on top of that
# patch, still changing both at one instant; reverting it brings the
# earlier patch back.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

NTHREADS=4

# Fail if a worker of the current target saw one function patched and not
# the other (in the order given, or in both orders when none is given).
assert_not_torn() {
	_ant=$(grep -E "^order ${1:-}" "$TARGET_OUT" | sort | uniq -c |
		sed 's/^ *//' | tr '\n' ';' | sed 's/;$//')
	[ -z "$_ant" ] || fail "$2: a worker saw one function patched and not the other: $_ant"
}

build_target "$T/two" "$TARGETS/two.c" "$NOCET_CFLAGS"
build_patch "$T/two" "$T/two.lpatch" "$TARGETS/two-patch.c"
build_patch "$T/two" "$T/two-shift.lpatch" "$TARGETS/two-patch.c" -DSHIFT=1000
grep -q '2 functions' "$BUILD_OUT" ||
	fail "livepatch-build did not report 2 functions"
build_patch "$T/two" "$T/two-f2.lpatch" "$TARGETS/two-one-patch.c"
build_patch "$T/two" "$T/two-f1.lpatch" "$TARGETS/two-one-patch.c" -DPATCH_F1

# ---- both functions at once
start_target "$T/two" "$NTHREADS"
wait_ready
expect_value 22/23
apply -v "$TARGET_PID" "$T/two.lpatch"
expect_status 0 "apply -v of f1 and f2"
grep -Eq "^livepatch: applied patch [0-9a-f]+ to process $TARGET_PID \\(2 functions\\)\$" "$LP_OUT" ||
	fail "apply -v did not report 'applied patch ... (2 functions)'"
for f in f1 f2; do
	grep -Eq "(^|[^_[:alnum:]])$f at 0x[0-9a-f]+ -> ${f}_new at 0x[0-9a-f]+" "$LP_OUT" ||
		fail "apply -v did not report the replacement of $f"
done
line=$(grep -E '^pause [0-9.]+ ms, [0-9]+ threads$' "$LP_OUT")
[ -n "$line" ] || fail "apply -v printed no 'pause X ms, N threads' line"
n=$(echo "$line" | sed -E 's/^pause [0-9.]+ ms, ([0-9]+) threads$/\1/')
[ "$n" -eq $((NTHREADS + 1)) ] ||
	fail "livepatch stopped $n threads, the target has $((NTHREADS + 1))"
log "livepatch: $line"
wait_all_new 121/221
assert_alive_for 0.5
expect_value 121/221
assert_not_torn "" "apply of f1 and f2"
stop_target "$TARGET_PID"

# ---- all or none, when building: f1 and a function the target lacks
try_build_patch "$T/two" "$T/missing.lpatch" "$TARGETS/two-missing-patch.c"
[ "$BUILD_STATUS" -eq 8 ] ||
	fail "livepatch-build of f1 and no_such_function: status $BUILD_STATUS, expected 8"
grep -q no_such_function "$BUILD_OUT" ||
	fail "livepatch-build did not name no_such_function"
[ ! -e "$T/missing.lpatch" ] || fail "livepatch-build left $T/missing.lpatch behind"

# ---- stacked: one of the two is already patched (in turn each, as
# livepatch may handle them in either order); both still change at one
# instant, and the revert gives back the one patched before
for first in f2 f1; do
	if [ "$first" = f1 ]; then
		partial=121/23 torn=f2-new
	else
		partial=22/221 torn=f1-new
	fi
	log "--- $first is already patched"
	start_target "$T/two" "$NTHREADS"
	wait_ready
	expect_value 22/23
	apply "$TARGET_PID" "$T/two-$first.lpatch"
	expect_status 0 "apply of $first alone"
	wait_value "$partial"
	expect_value "$partial"
	apply "$TARGET_PID" "$T/two-shift.lpatch"
	expect_status 0 "apply of f1 and f2 with $first already patched"
	wait_value 1121/1221
	expect_value 1121/1221
	assert_not_torn "$torn" "apply of f1 and f2 on top of $first"
	id=$("$LIVEPATCH" info "$T/two-shift.lpatch" | sed -n 's/^patch: *//p')
	REGRESS_OK=1 # the revert brings old results back on purpose
	run_livepatch revert "$TARGET_PID" "$id"
	expect_status 0 "revert of the patch of f1 and f2"
	wait_value "$partial"
	expect_value "$partial"
	assert_alive_for 0.3
	stop_target "$TARGET_PID"
	REGRESS_OK=
done
log "ok"
