#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# patches/kvd-stats-fix.c on a live kvd (tests/servers/kvd, bug b): STATS
# reports "requests 0" whatever the clients did.  The patch counts in
# stats.c's static "count", which it names with LIVEPATCH_SYMBOL because
# store.c has a static "count" too (the number of keys).  Applied with two
# connections open, the requests count from then on, and the number of
# keys stays right (the patch did not touch store.c's count); STATS RESET
# works with the patch, on the same connections of the same process.
# After the revert, requests are no longer counted.  Without the
# LIVEPATCH_SYMBOL line, livepatch-build refuses the patch's "count".
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
# shellcheck source-path=SCRIPTDIR source=kvd-common.sh
. "$top_srcdir/tests/integration/kvd-common.sh"

kvd_setup
build_patch "$KVD" "$T/stats.lpatch" "$KVD_PATCHES/kvd-stats-fix.c" \
	-Wall -Wextra -Werror

# Without its LIVEPATCH_SYMBOL line, the patch's plain "count" could be
# either static: livepatch-build refuses it and names it.
sed -e '/LIVEPATCH_SYMBOL/d' -e 's/stats_count/count/g' \
	"$KVD_PATCHES/kvd-stats-fix.c" >"$T/stats-ambiguous.c"
try_build_patch "$KVD" "$T/stats-ambiguous.lpatch" "$T/stats-ambiguous.c"
[ "$BUILD_STATUS" -ne 0 ] || fail "livepatch-build took an ambiguous 'count'"
grep -qw count "$BUILD_OUT" ||
	fail "livepatch-build refused the ambiguous patch without naming 'count'"

start_kvd
pid=$TARGET_PID
started=$(start_time "$pid")
for c in 1 2; do
	kv_open "$c" "$KVD_PORT"
	kv_expect "$c" CLIENT "client $c pid $pid"
done

# The bug: 6 requests answered so far, one of them an error.
kv_expect 1 "SET a 1" OK
kv_expect 2 "SET b 2" OK
kv_expect 1 "GET a" "VALUE 1"
kv_expect 2 "NOPE" "error: unknown command"
kv_expect 1 "STATS" "keys 2 requests 0 errors 1"

kvd_apply "$pid" "$T/stats.lpatch"
id=$PATCH_ID
expect_patches "after the apply" "$id"

# Each request answered from now on counts (STATS answers before its own
# request is counted), failures too, on either connection; the keys are
# still those of the store.
kv_expect 2 "GET b" "VALUE 2"
kv_expect 1 "DEL b" OK
kv_expect 2 "GET b" NOT_FOUND
kv_expect 1 "NOPE" "error: unknown command"
kv_expect 1 "STATS" "keys 1 requests 4 errors 2"
kv_expect 2 "STATS" "keys 1 requests 5 errors 2"
kv_expect 2 "SET c 3" OK
kv_expect 1 "STATS" "keys 2 requests 7 errors 2"
kv_expect 1 "STATS RESET" OK
kv_expect 2 "STATS" "keys 2 requests 1 errors 0"
kv_expect 1 "GET" "error: missing key"
kv_expect 2 "STATS" "keys 2 requests 3 errors 1"
# The same process serves the same connections.
for c in 1 2; do
	kv_expect "$c" CLIENT "client $c pid $pid"
done
[ "$(start_time "$pid")" = "$started" ] ||
	fail "pid $pid is no longer the kvd the test started"

# After the revert, the old stats_record(): failures only.  (The CLIENT
# requests above make it 6.)  The revert runs as the README suggests for
# a daemon whose latency matters, at the idle CPU priority: the stop
# itself still runs at a real-time priority when we may have one.
if command -v chrt >/dev/null 2>&1; then
	LP_WRAP="chrt --idle 0"
	run_livepatch revert -vv "$pid" "$id"
	LP_WRAP=
	expect_status 0 "revert $id in kvd $pid at SCHED_IDLE"
	expect_reverted "$LP_OUT" "$id" "$pid"
	assert_alive "$pid"
	if chrt --fifo 1 true 2>/dev/null; then # (allowed a real-time priority)
		grep -q "stopping at real-time priority (our policy was SCHED_IDLE)" "$LP_OUT" ||
			fail "the stop of a command at SCHED_IDLE did not run at real-time priority"
	fi
	! grep -q "cannot restore our scheduling policy" "$LP_OUT" ||
		fail "the command did not go back to SCHED_IDLE after the stop"
else
	kvd_revert "$pid" "$id"
fi
expect_patches "after the revert"
kv_expect 1 "GET a" "VALUE 1"
kv_expect 2 "NOPE" "error: unknown command"
kv_expect 1 "STATS" "keys 2 requests 6 errors 2"
kv_expect 2 "STATS" "keys 2 requests 6 errors 2"
assert_alive "$pid"
[ "$(start_time "$pid")" = "$started" ] ||
	fail "pid $pid is no longer the kvd the test started"

log "PASS"
exit 0
