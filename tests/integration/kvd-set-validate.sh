#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# patches/kvd-set-validate.c on a live kvd (tests/servers/kvd, bug c): SET
# stores values with control characters (an escape sequence, a tab),
# which GET hands to the other clients.  The patch wraps store_set(): it
# refuses such values with "error: bad value" and passes the others to
# the original store_set() through LIVEPATCH_ORIGINAL, which stores them
# as before (new keys counted, values replaced, UTF-8 kept).  Applied with
# two connections open; checked on the same connections of the same
# process.  After the revert, control characters are accepted again.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
# shellcheck source-path=SCRIPTDIR source=kvd-common.sh
. "$top_srcdir/tests/integration/kvd-common.sh"

kvd_setup
build_patch "$KVD" "$T/validate.lpatch" "$KVD_PATCHES/kvd-set-validate.c" \
	-Wall -Wextra -Werror

start_kvd
pid=$TARGET_PID
started=$(start_time "$pid")
for c in 1 2; do
	kv_open "$c" "$KVD_PORT"
	kv_expect "$c" CLIENT "client $c pid $pid"
done

# The bug (kvclient writes \e as ESC, and bytes outside 0x20-0x7e as \xHH).
kv_expect 1 'SET motd hello' OK
kv_expect 1 'SET motd \e[2Jhi' OK
kv_expect 2 'GET motd' 'VALUE \x1b[2Jhi'
kv_expect 2 'SET t a\tb' OK
kv_expect 1 'GET t' 'VALUE a\x09b'
kv_expect 1 'STATS' 'keys 2 requests 0 errors 0'

kvd_apply "$pid" "$T/validate.lpatch"
id=$PATCH_ID
expect_patches "after the apply" "$id"

kv_expect 1 'SET motd \e[2Jbye' 'error: bad value'
kv_expect 2 'SET t x\ty' 'error: bad value'
kv_expect 1 'SET new a\x7fb' 'error: bad value'
kv_expect 2 'SET new \x01' 'error: bad value'
# Refused values change nothing: the old ones stay (the patch does not
# clean what was stored before it), and no key was added.
kv_expect 2 'GET motd' 'VALUE \x1b[2Jhi'
kv_expect 1 'GET new' NOT_FOUND
# Good values go through the original store_set().
kv_expect 1 'SET motd hello again' OK
kv_expect 2 'GET motd' 'VALUE hello again'
kv_expect 2 'SET t tab-free' OK
kv_expect 1 'GET t' 'VALUE tab-free'
kv_expect 1 'SET new caf\xc3\xa9 ~!' OK
kv_expect 2 'GET new' 'VALUE caf\xc3\xa9 ~!'
kv_expect 2 'SET' 'error: missing key'
kv_expect 1 'STATS' 'keys 3 requests 0 errors 5'
kv_expect 2 'DEL new' OK
kv_expect 1 'STATS' 'keys 2 requests 0 errors 5'
# The same process serves the same connections.
for c in 1 2; do
	kv_expect "$c" CLIENT "client $c pid $pid"
done
[ "$(start_time "$pid")" = "$started" ] ||
	fail "pid $pid is no longer the kvd the test started"

kvd_revert "$pid" "$id"
expect_patches "after the revert"
kv_expect 1 'SET motd \e[2Jagain' OK
kv_expect 2 'GET motd' 'VALUE \x1b[2Jagain'
kv_expect 2 'SET new x' OK
kv_expect 1 'STATS' 'keys 3 requests 0 errors 5'
assert_alive "$pid"
[ "$(start_time "$pid")" = "$started" ] ||
	fail "pid $pid is no longer the kvd the test started"

log "PASS"
exit 0
