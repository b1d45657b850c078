#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One patch spans two modules: it replaces f1 of the executable and f2 of
# a shared library the executable calls (livepatch-build -t EXE -t LIB).
# It applies as one unit (both functions change at the same instant in
# every thread), list --json shows each function with its own module, and
# it reverts as one unit: both old functions at the same instant, and the
# maps as before.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

NTHREADS=4

EPOCH=0

# new_epoch: start the next epoch of the tear reports of two.c (see
# REVERT_OK there) and wait until every worker is in it.
new_epoch() {
	EPOCH=$((EPOCH + 1))
	kill -USR1 "$TARGET_PID" || assert_alive
	wait_for_line "$TARGET_OUT" "^epoch $EPOCH\$" 20 "$TARGET_PID" ||
		{ assert_alive; fail "the workers did not start epoch $EPOCH"; }
}

# assert_not_torn WHAT KIND: no worker saw in this epoch a call of one
# function give its new result and then a call of the other its old one
# (KIND new-old: what an apply must never show), or the other way round
# (old-new: what a revert must never show).  A call in flight at the
# instant of the change still gives the result from before it: that is
# the opposite kind.
assert_not_torn() {
	_ant=$(grep -E "^order f[12]-${2%-*}-f[12]-${2#*-} .* epoch $EPOCH\$" "$TARGET_OUT" |
		sed 's/ epoch.*//' | sort | uniq -c | sed 's/^ *//' | tr '\n' ';' | sed 's/;$//')
	[ -z "$_ant" ] || fail "$1: a worker saw one function changed and not the other: $_ant"
	log "$1: no worker saw one function changed and not the other"
}

# check_function I NAME MODULE: function I of the only listed patch.
check_function() {
	_cf=".processes[0].patches[0].functions[$1]"
	json_expect "$LIST_JSON" "$_cf.name" "$2"
	json_expect "$LIST_JSON" "$_cf.module" "$(canonical "$3")"
	json_expect "$LIST_JSON" "$_cf.live" true
}

build_lib "$T/libtwo.so" "$TARGETS/libtwo.c" "$NOCET_CFLAGS"
# shellcheck disable=SC2016
build_target "$T/two" "$TARGETS/two.c" "$NOCET_CFLAGS" -DF2_LIB -DREVERT_OK \
	-L"$T" -ltwo '-Wl,-rpath,$ORIGIN'
if command -v nm >/dev/null 2>&1; then
	nm "$T/two" | grep -q ' T f2$' && fail "$T/two defines f2() itself"
	nm "$T/two" | grep -q ' T f1$' || fail "$T/two does not define f1()"
fi

# Both targets, in this order: f1 is found in the executable, f2 (only
# imported there) in the library.
patch=$T/both.lpatch
BUILD_OUT=$T/build.both.log
log "livepatch-build -t $T/two -t $T/libtwo.so -o $patch $TARGETS/two-patch.c"
with_timeout "$LIVEPATCH_BUILD" -t "$T/two" -t "$T/libtwo.so" -o "$patch" \
	"$TARGETS/two-patch.c" >"$BUILD_OUT" 2>&1
BUILD_STATUS=$?
sed 's/^/  | /' "$BUILD_OUT"
[ "$BUILD_STATUS" -eq 0 ] || fail "livepatch-build with two targets failed (status $BUILD_STATUS)"
[ -s "$patch" ] || fail "livepatch-build did not write $patch"
patch_id "$patch"
id=$PATCH_ID

start_target "$T/two" "$NTHREADS"
wait_ready
expect_value 22/23
save_maps "$T/maps.before"
grep -q "/libtwo.so\$" "$T/maps.before" || fail "the target has not loaded libtwo.so"

# ---- apply: both new at once
new_epoch
run_livepatch_split apply --json "$TARGET_PID" "$patch"
expect_status 0 "apply of the patch of two modules"
json_expect "$LP_STDOUT" .status applied
json_expect "$LP_STDOUT" .id "$id"
json_expect "$LP_STDOUT" .functions 2
wait_value 121/221
expect_value 121/221
assert_not_torn "apply" new-old

expect_patches "after apply" "$id"
json_expect "$LIST_JSON" '.processes[0].patches[0].functions|length' 2
json_get "$LIST_JSON" '.processes[0].patches[0].functions[0].name'
if [ "$JSON_VALUE" = f1 ]; then
	check_function 0 f1 "$T/two"
	check_function 1 f2 "$T/libtwo.so"
else
	check_function 0 f2 "$T/libtwo.so"
	check_function 1 f1 "$T/two"
fi
run_livepatch list "$TARGET_PID"
expect_status 0 "list (human format)"

# ---- revert: both old at once
new_epoch
run_livepatch revert "$TARGET_PID" "$id"
expect_status 0 "revert of the patch of two modules"
wait_value 22/23
expect_value 22/23
assert_not_torn "revert" old-new
expect_patches "after revert"
expect_maps "$T/maps.before" "after revert"

# ---- and again, with revert --all
new_epoch
apply "$TARGET_PID" "$patch"
expect_status 0 "second apply"
wait_value 121/221
expect_value 121/221
assert_not_torn "second apply" new-old
new_epoch
run_livepatch revert --all "$TARGET_PID"
expect_status 0 "revert --all"
wait_value 22/23
expect_value 22/23
assert_not_torn "revert --all" old-new
expect_patches "after revert --all"
expect_maps "$T/maps.before" "after revert --all"
assert_alive_for 0.3
log "ok"
