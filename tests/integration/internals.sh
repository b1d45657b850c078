#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A patch reaches into the target: it calls the original of the function
# it replaces (LIVEPATCH_ORIGINAL, without coming back to itself), reads
# and writes static variables by name (LIVEPATCH_SYMBOL naming the file
# when two files have a "static int count"; a function-local static by
# its symbol-table name), writes thread-local variables of the executable
# and of a library, and keeps data of its own while it is applied.
# Refused, saying why: an ambiguous plain name and a missing static (by
# livepatch-build), a patch with thread-local variables of its own, and
# statics of a stripped target (by livepatch-build, and by apply on a
# stripped process built from the same source).
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_lib "$T/libstatics.so" "$TARGETS/libstatics.c" "$NOCET_CFLAGS"
# shellcheck disable=SC2016
build_target "$T/statics" "$TARGETS/statics.c" "$TARGETS/statics-b.c" \
	"$NOCET_CFLAGS" -L"$T" -lstatics '-Wl,-rpath,$ORIGIN'
command -v nm >/dev/null 2>&1 || skip "nm is not installed"
# the local static's name: calls.0 with gcc, work.calls with clang
calls=$(nm "$T/statics" | sed -n 's/^[0-9a-f]* [bBdD] \(.*calls.*\)$/\1/p' | head -n 1)
[ -n "$calls" ] || fail "no symbol for the local static of work() in $T/statics"
[ "$(nm "$T/statics" | grep -c ' [dD] count$')" -eq 2 ] ||
	fail "$T/statics does not have two static counts"
log "the local static is $calls"

build_patch "$T/statics" "$T/statics.lpatch" "$TARGETS/statics-patch.c" \
	"-DCALLS_SYMBOL=\"$calls\""
run_livepatch info "$T/statics.lpatch"
grep -q 'count_b' "$LP_OUT" || fail "info does not show the statics the patch uses"

start_target "$T/statics"
wait_for_line "$TARGET_OUT" '^work 20 count [0-9]+ bcount 100 ' 20 "$TARGET_PID" ||
	fail "the target does not run as built"
apply "$TARGET_PID" "$T/statics.lpatch"
expect_status 0 "apply"

# work() went through the original (20) and the wrapper (+1000, +1 as
# calls > 0); bcount is 1000 + the patch's own counter, which grows.
wait_for_line "$TARGET_OUT" '^work 1021 ' 20 "$TARGET_PID" ||
	fail "the wrapper does not run, or did not call the original"
# two lines of the patched target at least (it may get little CPU)
i=0
while [ "$(grep -c '^work 1021 ' "$TARGET_OUT")" -lt 2 ]; do
	[ "$i" -lt 200 ] || fail "the patched target prints no second line"
	sleep 0.1
	i=$((i + 1))
done
grep '^work 1021 ' "$TARGET_OUT" >"$T/patched.lines"
line=$(tail -n 1 "$T/patched.lines")
log "after the apply: $line"
# shellcheck disable=SC2086
set -- $line
count=$4 bcount=$6 calls_now=$8 tls=${10} lib=${12}
[ "$bcount" -gt 1001 ] || fail "the patch's counter does not keep its value ($bcount)"
[ "$tls" -eq $((bcount - 500)) ] ||
	fail "the executable's thread-local variable is $tls, expected $((bcount - 500))"
[ "$lib" -eq $((bcount - 300)) ] ||
	fail "the library's thread-local variable is $lib, expected $((bcount - 300))"
before=$(grep '^work 20 ' "$TARGET_OUT" | tail -n 1 | cut -d' ' -f4)
[ "$count" -ge $((before + 100)) ] ||
	fail "the static count of statics.c was not updated ($before, then $count)"
[ "$calls_now" -gt 0 ] || fail "the original did not count its calls"
# one call of work() adds exactly one to calls: the original never
# re-entered the replacement
prev=$(tail -n 2 "$T/patched.lines" | head -n 1 | cut -d' ' -f8)
[ $((calls_now - prev)) -eq 1 ] ||
	fail "one call of work() counted $((calls_now - prev)) calls of the original"
assert_alive

# ---- refusals by livepatch-build
try_build_patch "$T/statics" "$T/amb.lpatch" "$TARGETS/statics-amb-patch.c"
[ "$BUILD_STATUS" -eq 8 ] || fail "an ambiguous static was accepted (status $BUILD_STATUS)"
grep -q 'count is defined more than once.*LIVEPATCH_SYMBOL' "$BUILD_OUT" ||
	fail "the refusal of the ambiguous count does not say so"
[ ! -e "$T/amb.lpatch" ] || fail "livepatch-build left $T/amb.lpatch behind"

try_build_patch "$T/statics" "$T/missing.lpatch" "$TARGETS/statics-patch.c" \
	'-DCALLS_SYMBOL="no_such_static"'
[ "$BUILD_STATUS" -eq 8 ] || fail "a missing static was accepted (status $BUILD_STATUS)"
grep -q 'no static symbol no_such_static in statics.c' "$BUILD_OUT" ||
	fail "the refusal of the missing static does not name it"

try_build_patch "$T/statics" "$T/tls.lpatch" "$TARGETS/statics-tls-patch.c"
[ "$BUILD_STATUS" -ne 0 ] || fail "a patch with thread-local variables of its own was accepted"
grep -q 'thread-local variables of its own' "$BUILD_OUT" ||
	fail "the refusal of the patch's own thread-local variable does not say why"

command -v strip >/dev/null 2>&1 || skip "strip is not installed"
strip -o "$T/statics-s" "$T/statics"
try_build_patch "$T/statics-s" "$T/stripped.lpatch" "$TARGETS/statics-patch.c" \
	"-DCALLS_SYMBOL=\"$calls\""
[ "$BUILD_STATUS" -eq 8 ] || fail "a stripped target was accepted (status $BUILD_STATUS)"
grep -q 'which is stripped' "$BUILD_OUT" ||
	fail "the refusal does not say the target is stripped"

# ---- refusal by apply: a stripped process with the same build-id
start_target "$T/statics-s"
wait_for_line "$TARGET_OUT" '^work 20 ' 20 "$TARGET_PID" || fail "the stripped target does not run"
run_livepatch apply "$TARGET_PID" "$T/statics.lpatch"
expect_status 8 "apply of statics to a stripped process"
grep -q 'which is stripped' "$LP_OUT" ||
	fail "apply does not say the process's binary is stripped"
sleep 0.2
grep -q '^work 1021 ' "$TARGET_OUT" && fail "the refused patch changed the stripped target"
assert_alive
log "ok"
