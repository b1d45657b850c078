#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Apply and revert the same patch over and over (100 cycles; 1000 with
# LP_LONG=1, the long run) in a process whose four threads call the
# function nonstop: nothing is left behind.  Afterwards /proc/PID/maps is
# exactly as before the first apply (as many lines, the same lines), the
# resident size grew by at most 256 KiB since the first cycle, and the
# target still computes right, patched and unpatched.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

NTHREADS=4
CYCLES=100
[ "${LP_LONG:-}" = 1 ] && CYCLES=1000
# The most the resident size may grow from the end of the first cycle.
MAX_RSS_GROWTH_KB=256

# quietly WHAT ARGS...: run livepatch ARGS... without logging it; it must
# succeed.
quietly() {
	_q_what=$1
	shift
	LP_OUT=$T/cycle.out
	with_timeout "$LIVEPATCH" "$@" >"$LP_OUT" 2>&1
	LP_STATUS=$?
	[ "$LP_STATUS" -eq 0 ] || fail "$_q_what: livepatch $* exited with $LP_STATUS"
}

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
patch=$T/answer.lpatch
build_patch "$T/rev" "$patch" "$TARGETS/answer-patch.c"
patch_id "$patch"
id=$PATCH_ID
start_target "$T/rev" "$NTHREADS"
wait_ready
expect_value 42
pid=$TARGET_PID
save_maps "$T/maps.before"
lines_before=$(wc -l <"$T/maps.before" | tr -d ' ')

# ---- the first cycle, logged; then the reference resident size
apply "$pid" "$patch"
expect_status 0 "apply of cycle 1"
wait_value 63
run_livepatch revert "$pid" "$id"
expect_status 0 "revert of cycle 1"
wait_value 42
expect_patches "after cycle 1"
expect_maps "$T/maps.before" "after cycle 1"
rss_first=$(vm_rss "$pid")
log "VmRSS after cycle 1: $rss_first kB"

# ---- the other cycles; the target is checked every 10 cycles
log "$CYCLES cycles of apply and revert"
start=$(date +%s)
i=2
while [ "$i" -le "$CYCLES" ]; do
	quietly "apply of cycle $i" apply "$pid" "$patch"
	[ $((i % 10)) -eq 0 ] && wait_value 63
	quietly "revert of cycle $i" revert "$pid" "$id"
	if [ $((i % 10)) -eq 0 ]; then
		wait_value 42
		assert_alive
	fi
	[ $((i % 100)) -eq 0 ] && log "cycle $i"
	i=$((i + 1))
done
end=$(date +%s)
log "$CYCLES cycles in $((end - start)) s"

# ---- nothing left behind
expect_patches "after $CYCLES cycles"
lines_after=$(wc -l <"/proc/$pid/maps" | tr -d ' ')
[ "$lines_after" -eq "$lines_before" ] ||
	fail "the target has $lines_after lines of maps after $CYCLES cycles, $lines_before before"
expect_maps "$T/maps.before" "after $CYCLES cycles"
rss_last=$(vm_rss "$pid")
log "VmRSS after $CYCLES cycles: $rss_last kB (after cycle 1: $rss_first kB)"
[ "$rss_last" -le $((rss_first + MAX_RSS_GROWTH_KB)) ] ||
	fail "VmRSS grew from $rss_first kB to $rss_last kB in $CYCLES cycles"

# ---- and it still computes right
expect_value 42
apply "$pid" "$patch"
expect_status 0 "apply after the cycles"
wait_value 63
expect_value 63
expect_patches "applied after the cycles" "$id"
run_livepatch revert "$pid" "$id"
expect_status 0 "revert after the cycles"
wait_value 42
expect_value 42
expect_patches "reverted after the cycles"
assert_alive_for 0.3
log "ok ($CYCLES cycles in $((end - start)) s)"
