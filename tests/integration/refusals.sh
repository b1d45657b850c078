#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every refusal of livepatch apply exits with its own status and leaves the
# target exactly as it was; livepatch-build refuses patches it cannot make.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

good=$T/answer.lpatch

# refused STATUS WHAT ARGS...: livepatch ARGS... must exit with STATUS and
# not touch the target.
refused() {
	_want=$1
	_what=$2
	shift 2
	run_livepatch "$@"
	expect_status "$_want" "$_what"
	expect_unchanged "$_what"
}

# flip_byte FILE OFFSET: invert every bit of one byte of FILE.
flip_byte() {
	_old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $((_old ^ 255)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
	[ "$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')" -eq $((_old ^ 255)) ] ||
		fail "cannot change byte $2 of $1"
}

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$good" "$TARGETS/answer-patch.c"
start_target "$T/hot" 4
wait_ready
expect_value 42
target=$TARGET_PID

# ---- usage errors (2)
refused 2 "no arguments"
refused 2 "unknown command" frobnicate "$target" "$good"
refused 2 "apply without a patch" apply "$target"
refused 2 "apply to a PID that is not a number" apply not-a-pid "$good"

# ---- no such process (3)
refused 3 "no such process" apply "$(dead_pid)" "$good"

# ---- not a patch, or a damaged one (6)
refused 6 "missing patch file" apply "$target" "$T/no-such-file.lpatch"
: >"$T/empty.lpatch"
refused 6 "empty patch file" apply "$target" "$T/empty.lpatch"
echo "this is not a patch" >"$T/text.lpatch"
refused 6 "text file as patch" apply "$target" "$T/text.lpatch"
true_elf=$(command -v true)
case $true_elf in
/*) refused 6 "ELF program ($true_elf) as patch" apply "$target" "$true_elf" ;;
esac
refused 6 "target executable as patch" apply "$target" "$T/hot"

size=$(wc -c <"$good")
cp "$good" "$T/flipped.lpatch"
flip_byte "$T/flipped.lpatch" $((size / 2))
cmp -s "$good" "$T/flipped.lpatch" && fail "flip_byte changed nothing"
refused 6 "patch with byte $((size / 2)) of $size flipped" \
	apply "$target" "$T/flipped.lpatch"
head -c $((size / 2)) "$good" >"$T/truncated.lpatch"
refused 6 "patch truncated to $((size / 2)) of $size bytes" \
	apply "$target" "$T/truncated.lpatch"

# ---- build-id mismatch (7): the patch is for another build of the target
build_target "$T/hot-different" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DDIFFERENT
id1=$(build_id "$T/hot")
id2=$(build_id "$T/hot-different")
log "build-ids: $id1 (target), $id2 (other build)"
[ -z "$id1" ] || [ "$id1" != "$id2" ] || fail "both builds have build-id $id1"
build_patch "$T/hot-different" "$T/different.lpatch" "$TARGETS/answer-patch.c"
refused 7 "patch built for another build" \
	apply "$target" "$T/different.lpatch"

# ---- target traced by another process (13)
compile_target "$CC" "$T/tracer" "$TARGETS/tracer.c"
"$T/tracer" "$target" >"$T/tracer.out" 2>&1 &
tracer=$!
if wait_for_line "$T/tracer.out" '^tracing$' 10 "$tracer"; then
	run_livepatch apply "$target" "$T/answer.lpatch"
	kill -TERM "$tracer" 2>/dev/null
	wait "$tracer" 2>/dev/null
	expect_status 13 "target traced by another process"
	expect_unchanged "target traced by another process"
else
	kill -TERM "$tracer" 2>/dev/null
	wait "$tracer" 2>/dev/null
	sed 's/^/  | /' "$T/tracer.out"
	log "cannot trace the target: not testing 'traced by another process'"
fi

# ---- permission denied (4): livepatch as nobody against a root process
if [ "$(id -u)" -ne 0 ]; then
	log "not root: not testing 'permission denied'"
elif ! command -v setpriv >/dev/null 2>&1; then
	log "no setpriv: not testing 'permission denied'"
else
	as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	# The libtool wrapper may want to write in .libs: run the real program.
	if [ -x "$top_builddir/.libs/livepatch" ]; then
		lp_bin=$top_builddir/.libs/livepatch
	else
		lp_bin=$LIVEPATCH
	fi
	lp_libs=$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	cp "$good" "$T/public.lpatch"
	chmod 755 "$T"
	chmod 644 "$T/public.lpatch"
	# shellcheck disable=SC2086
	if $as_nobody test -x "$lp_bin" -a -r "$T/public.lpatch" 2>/dev/null; then
		LP_OUT=$T/nobody.out
		log "as nobody: livepatch apply $target $T/public.lpatch"
		# shellcheck disable=SC2086
		with_timeout $as_nobody env LD_LIBRARY_PATH="$lp_libs" \
			"$lp_bin" apply "$target" "$T/public.lpatch" >"$LP_OUT" 2>&1
		LP_STATUS=$?
		sed 's/^/  | /' "$LP_OUT"
		expect_status 4 "apply as nobody to a process of root"
		expect_unchanged "permission denied"
	else
		log "nobody cannot run $lp_bin: not testing 'permission denied'"
	fi
fi

# ---- not an x86-64 process (5), when this system can build 32-bit programs
if $CC -m32 -O2 -pthread -o "$T/hot32" "$TARGETS/hot.c" >"$T/m32.log" 2>&1 &&
	{ "$T/hot32" bad-argument >/dev/null 2>&1; [ $? -eq 2 ]; }; then
	start_target "$T/hot32" 1
	wait_ready
	run_livepatch apply "$TARGET_PID" "$good"
	expect_status 5 "apply to a 32-bit process"
	stop_target "$TARGET_PID"
	TARGET_PID=$target
	TARGET_OUT=$T/target1.out
	expect_unchanged "32-bit process"
else
	log "cannot build and run 32-bit programs: not testing a 32-bit process"
fi

# ---- not an ELF process at all (5): a kernel thread has no executable
kthread=$(ps -e -o pid=,comm= 2>/dev/null | awk '$2 == "kthreadd" { print $1; exit }')
if [ -n "$kthread" ] && [ "$(id -u)" = 0 ]; then
	run_livepatch apply "$kthread" "$good"
	expect_status 5 "apply to the kernel thread $kthread"
	grep -q 'kernel thread' "$LP_OUT" || fail "the refusal does not say what the process is"
else
	log "no kernel thread visible (or not root): not testing a process without an executable"
fi

# ---- livepatch-build: symbol not found
try_build_patch "$T/hot" "$T/nosym.lpatch" "$TARGETS/no-such-function-patch.c"
[ "$BUILD_STATUS" -ne 0 ] ||
	fail "livepatch-build accepted a patch of no_such_function"
grep -q no_such_function "$BUILD_OUT" ||
	fail "livepatch-build did not name no_such_function"
[ ! -e "$T/nosym.lpatch" ] || fail "livepatch-build left $T/nosym.lpatch behind"

# ---- livepatch-build: function not patchable
# Whether livepatch-build's output names the function answer (not just the
# file answer-patch.c).
names_answer() {
	sed 's/answer-patch//g' "$BUILD_OUT" |
		grep -Eq '(^|[^_[:alnum:]])answer([^_[:alnum:]]|$)'
}
# A target built without the pad flags at all ...
compile_target "$CC" "$T/hot-nopad" "$TARGETS/hot.c" "$NOCET_CFLAGS"
try_build_patch "$T/hot-nopad" "$T/nopad.lpatch" "$TARGETS/answer-patch.c"
[ "$BUILD_STATUS" -ne 0 ] ||
	fail "livepatch-build accepted a target built without pads"
names_answer || fail "livepatch-build did not name answer"
[ ! -e "$T/nopad.lpatch" ] || fail "livepatch-build left $T/nopad.lpatch behind"
# ... and one where only answer() has no pad.
build_target "$T/hot-nopad1" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DANSWER_NO_PAD
try_build_patch "$T/hot-nopad1" "$T/nopad1.lpatch" "$TARGETS/answer-patch.c"
[ "$BUILD_STATUS" -ne 0 ] ||
	fail "livepatch-build accepted answer() without a pad"
names_answer || fail "livepatch-build did not name answer"
[ ! -e "$T/nopad1.lpatch" ] || fail "livepatch-build left $T/nopad1.lpatch behind"

# ---- after all that the good patch still applies, but only once (14)
apply "$target" "$good"
expect_status 0 "apply the good patch"
wait_all_new 63
run_livepatch apply "$target" "$good"
expect_status 14 "apply the same patch again"
assert_alive_for 0.5
expect_value 63
log "ok"
