#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One fix for every process that maps a library: 60 processes of two
# programs use libgreet (tests/servers/libgreet.c), 50 of them this build
# and 10 another build of it.  livepatch apply --all patches the 50 (by
# build-id) in parallel and skips the 10, saying why; each of the 50 then
# greets in full, the 10 as before.  A second apply --all counts them as
# already patched; a traced process fails alone (exit status 17, partial);
# a patch no process can take gives 18 (none); revert --all ID reverts
# the patch everywhere.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

SERVERS=$top_srcdir/tests/servers
mkdir -p "$T/lib1" "$T/lib2"
# builds of libgreet of this run only (the process id in them): apply
# --all must not meet the processes of another test running meanwhile
build_lib "$T/lib1/libgreet.so" "$SERVERS/libgreet.c" "$NOCET_CFLAGS" -DGREET_BUILD=1$$
build_lib "$T/lib2/libgreet.so" "$SERVERS/libgreet.c" "$NOCET_CFLAGS" -DGREET_BUILD=2$$
[ "$(build_id "$T/lib1/libgreet.so")" != "$(build_id "$T/lib2/libgreet.so")" ] ||
	fail "the two builds of libgreet have the same build-id"
compile_target "$CC" "$T/greet-a" "$SERVERS/greet-a.c" -L"$T/lib1" -lgreet
compile_target "$CC" "$T/greet-b" "$SERVERS/greet-b.c" -L"$T/lib1" -lgreet
build_patch "$T/lib1/libgreet.so" "$T/greet-fix.lpatch" "$top_srcdir/patches/greet-fix.c"
patch_id "$T/greet-fix.lpatch"
id=$PATCH_ID

# start_greeters N PROGRAM LIBDIR: N processes of PROGRAM with LIBDIR's
# libgreet; their PIDs are added to GREETERS_<LIBDIR's name>.
good= other=
start_greeters() {
	_sg_i=0
	while [ "$_sg_i" -lt "$1" ]; do
		LD_LIBRARY_PATH=$3 start_target "$2"
		if [ "$3" = "$T/lib1" ]; then
			good="$good $TARGET_PID:$TARGET_OUT"
		else
			other="$other $TARGET_PID:$TARGET_OUT"
		fi
		_sg_i=$((_sg_i + 1))
	done
}
start_greeters 25 "$T/greet-a" "$T/lib1"
start_greeters 25 "$T/greet-b" "$T/lib1"
start_greeters 10 "$T/greet-a" "$T/lib2"

# every_greeter LIST REGEX WHAT: each process of LIST lives, and its last
# line matches REGEX (waiting up to 10 s for it).
every_greeter() {
	for _eg in $1; do
		_eg_pid=${_eg%%:*}
		_eg_out=${_eg#*:}
		_eg_i=0
		until tail -n 1 "$_eg_out" | grep -Eq -- "$2"; do
			is_alive "$_eg_pid" || fail "$3: process $_eg_pid died"
			[ "$_eg_i" -lt 100 ] ||
				fail "$3: process $_eg_pid says $(tail -n 1 "$_eg_out")"
			sleep 0.1
			_eg_i=$((_eg_i + 1))
		done
		is_alive "$_eg_pid" || fail "$3: process $_eg_pid died"
	done
	log "$3: $(echo "$1" | wc -w) processes ok"
}
every_greeter "$good" '^greet: hello, (worl|live)$' "before the patch"
every_greeter "$other" '^greet: hello, (worl|live)$' "before the patch, other build"

# ---- apply --all: the 50 patched, the 10 skipped
run_livepatch_split apply --all --json "$T/greet-fix.lpatch"
expect_status 0 "apply --all"
doc=$LP_STDOUT
json_expect "$doc" .id "$id"
# (another test running meanwhile may have processes with a libgreet.so
# of its own build: they are skipped too, and not counted here)
json_expect "$doc" .patched 50
json_expect "$doc" .failed 0
json_expect "$doc" .status all
json_get "$doc" '.results|length'
n=$JSON_VALUE
[ "$n" -ge 60 ] || fail "apply --all reports $n processes, expected 60 at least"
skipped=0
i=0
while [ "$i" -lt "$n" ]; do
	json_get "$doc" ".results[$i].pid"
	pid=$JSON_VALUE
	json_get "$doc" ".results[$i].status"
	st=$JSON_VALUE
	case " $good $other " in
	*" $pid:"*) ;;
	*)
		i=$((i + 1))
		continue
		;;
	esac
	case " $good " in
	*" $pid:"*) [ "$st" = patched ] || fail "process $pid of the right build: $st" ;;
	*)
		[ "$st" = skipped ] || fail "process $pid of the other build: $st"
		skipped=$((skipped + 1))
		json_get "$doc" ".results[$i].detail"
		case $JSON_VALUE in
		*"another build"*) ;;
		*) fail "process $pid skipped without the reason: $JSON_VALUE" ;;
		esac
		;;
	esac
	i=$((i + 1))
done
[ "$skipped" -eq 10 ] || fail "$skipped processes of the other build skipped, expected 10"
every_greeter "$good" '^greet: hello, (world|livepatch)$' "after apply --all"
for g in $other; do
	tail -n 1 "${g#*:}" | grep -Eq '^greet: hello, (worl|live)$' ||
		fail "process ${g%%:*} of the other build changed"
done

# ---- again: already applied; the human table
run_livepatch apply --all "$T/greet-fix.lpatch"
expect_status 0 "apply --all again"
grep -q "0 patched, 50 already applied, [0-9]* skipped, 0 failed" "$LP_OUT" ||
	fail "the second apply --all does not count 50 already applied"

# ---- a traced process fails alone: partial (17)
compile_target "$CC" "$T/tracer" "$TARGETS/tracer.c"
LD_LIBRARY_PATH=$T/lib1 start_target "$T/greet-b"
traced=$TARGET_PID
wait_for_line "$TARGET_OUT" '^greet: ' 10 "$traced" || fail "greet-b did not start"
"$T/tracer" "$traced" >"$T/tracer.out" 2>&1 &
tracer=$!
TARGET_PIDS="$TARGET_PIDS $tracer"
wait_for_line "$T/tracer.out" '^tracing$' 10 "$tracer" || fail "the tracer did not attach"
run_livepatch_split apply --all --json -j 4 "$T/greet-fix.lpatch"
expect_status 17 "apply --all with a traced process"
json_expect "$LP_STDOUT" .failed 1
json_expect "$LP_STDOUT" .already_applied 50
json_expect "$LP_STDOUT" .status partial
kill "$tracer" 2>/dev/null
stop_target "$traced"

# ---- a patch for a build no process maps: none (18)
build_patch "$T/lib2/libgreet.so" "$T/greet-fix2.lpatch" "$top_srcdir/patches/greet-fix.c"
for g in $other; do
	stop_target "${g%%:*}"
done
run_livepatch apply --all "$T/greet-fix2.lpatch"
expect_status 18 "apply --all of a patch no process can take"

# ---- revert --all ID
run_livepatch_split revert --all --json "$id"
expect_status 0 "revert --all $id"
json_expect "$LP_STDOUT" .reverted 50
json_expect "$LP_STDOUT" .failed 0
REGRESS_OK=1
every_greeter "$good" '^greet: hello, (worl|live)$' "after revert --all"
run_livepatch revert --all "$id"
expect_status 18 "revert --all of a patch no process holds"
log "ok"
