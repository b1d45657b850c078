#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# patches/kvd-key-bounds.c on a live kvd (tests/servers/kvd, bug a): a GET
# with a key longer than 32 bytes overflows the stack of the server, and
# it aborts.  Shown first on a kvd of its own, which dies of SIGABRT.
# Then the patch is applied to another kvd with three connections open:
# the long keys are answered "error: key too long" and the server lives,
# keys of 32 bytes and less work as before, on the same connections of
# the same process.  After the revert, ordinary requests still work, and
# as the last step the long key aborts the server again: the original
# parse_key() is back.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
# shellcheck source-path=SCRIPTDIR source=kvd-common.sh
. "$top_srcdir/tests/integration/kvd-common.sh"

long=$(printf '%100s' '' | tr ' ' k)  # 100 bytes: overflows
k32=$(printf '%32s' '' | tr ' ' k)    # KEY_MAX: fits
k33=${k32}k                           # one too many

kvd_setup
build_patch "$KVD" "$T/bounds.lpatch" "$KVD_PATCHES/kvd-key-bounds.c" \
	-Wall -Wextra -Werror

# ---- the bug, on a kvd of its own ---------------------------------------------
start_kvd
victim=$TARGET_PID
kv_open 1 "$KVD_PORT"
kv_open 2 "$KVD_PORT"
kv_expect 1 "SET a 1" OK
kv_expect 1 "GET $long" "<closed>"
expect_killed_by "$victim" 6 # SIGABRT
grep -q 'stack smashing detected' "$TARGET_OUT" &&
	log "kvd $victim: $(grep 'stack smashing detected' "$TARGET_OUT")"
# Every client lost its connection with it.
kv_expect 2 "PING" "<closed>"
kv "-1"
kv "-2"

# ---- the fix, under open connections -------------------------------------------
start_kvd
pid=$TARGET_PID
started=$(start_time "$pid")
for c in 1 2 3; do
	kv_open "$c" "$KVD_PORT"
	kv_expect "$c" CLIENT "client $c pid $pid"
done
kv_expect 1 "SET $k32 thirty-two" OK
kv_expect 2 "SET a 1" OK

kvd_apply "$pid" "$T/bounds.lpatch"
id=$PATCH_ID
expect_patches "after the apply" "$id"

for c in 1 2 3; do
	kv_expect "$c" "GET $long" "error: key too long"
	kv_expect "$c" "SET $long x" "error: key too long"
	kv_expect "$c" "DEL $k33" "error: key too long"
done
assert_alive_for 0.3 "$pid"
kv_expect 1 "GET $k32" "VALUE thirty-two"
kv_expect 2 "GET a" "VALUE 1"
kv_expect 3 "SET b two words" OK
kv_expect 1 "GET b" "VALUE two words"
kv_expect 2 "GET" "error: missing key"
kv_expect 3 "DEL a" OK
kv_expect 1 "STATS" "keys 2 requests 0 errors 10"
# The same process serves the same connections.
for c in 1 2 3; do
	kv_expect "$c" CLIENT "client $c pid $pid"
done
[ "$(start_time "$pid")" = "$started" ] ||
	fail "pid $pid is no longer the kvd the test started"

# ---- revert ----------------------------------------------------------------------
kvd_revert "$pid" "$id"
expect_patches "after the revert"
kv_expect 1 "GET $k32" "VALUE thirty-two"
kv_expect 2 "SET c 3" OK
kv_expect 3 "CLIENT" "client 3 pid $pid"
# The original parse_key() is back: the long key kills kvd again.
kv_expect 2 "GET $long" "<closed>"
expect_killed_by "$pid" 6 # SIGABRT
kv_expect 1 "PING" "<closed>"

log "PASS"
exit 0
