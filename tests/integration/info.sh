#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# livepatch info shows a patch's id, target module and build-id, the
# functions it replaces and the symbols it takes from the process; a file
# that is not a patch gets status 6.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/libc.lpatch" "$TARGETS/libc-patch.c"
id=$(sed -n 's/.*(patch \([0-9a-f]*\),.*/\1/p' "$BUILD_OUT")
[ -n "$id" ] || fail "livepatch-build printed no patch id"

run_livepatch info "$T/libc.lpatch"
expect_status 0 "info"
grep -q "^patch: *$id\$" "$LP_OUT" || fail "info shows another id than the build ($id)"
grep -q '^target: *hot$' "$LP_OUT" || fail "info does not name the target module"
bid=$(build_id "$T/hot")
if [ -n "$bid" ]; then
	grep -q "^build-id: *$bid\$" "$LP_OUT" || fail "info shows another build-id than $bid"
fi
grep -q '^  answer -> answer_libc$' "$LP_OUT" || fail "info does not list the replacement"
for sym in malloc snprintf strlen free printf triple; do
	grep -q "^  $sym\$" "$LP_OUT" || fail "info does not list $sym among the symbols used"
done

run_livepatch info "$TARGETS/hot.c"
expect_status 6 "info on a file that is not a patch"
run_livepatch info
expect_status 2 "info without a file"
log "ok"
