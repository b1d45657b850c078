#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Patches a running multi-threaded server under open connections: starts
# tests/servers/tempd, opens three connections and keeps them open,
# applies patches/tempd-c2f-fix.c, then checks on every one of those
# connections that the fix is live and the rest still works, in the same
# process.
#
# Run by "make check" with top_srcdir, top_builddir and
# LIVEPATCH_INCLUDEDIR in the environment.  Exit status: 0 pass, 1 fail,
# 77 skip (not allowed to ptrace the server).  Needs bash for /dev/tcp.

# The test harness starts tests with sh: switch to bash first.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
LIVEPATCH_INCLUDEDIR=${LIVEPATCH_INCLUDEDIR:-$top_srcdir/include}
export LIVEPATCH_INCLUDEDIR

tempd=$top_builddir/tests/servers/tempd
livepatch=$top_builddir/livepatch
livepatch_build=$top_builddir/livepatch-build
patch_src=$top_srcdir/patches/tempd-c2f-fix.c
conns="3 4 5" # the connections' file descriptors

pid=
tmp=

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# True while process $1 exists and is not a zombie.
alive() {
	local state
	state=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Start time of process $1 (field 22 of /proc/PID/stat): the same PID and
# start time mean the same process, not a restarted one.
start_time() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

cleanup() {
	local fd i=0
	for fd in $conns; do
		eval "exec $fd>&-"
	done
	if [ -n "$pid" ]; then
		# SIGCONT in case a failed apply left the server stopped.
		kill -TERM "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null
		while [ "$i" -lt 50 ] && alive "$pid"; do
			sleep 0.1
			i=$((i + 1))
		done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# expect FD REQUEST ANSWER: sends REQUEST on connection FD and checks that
# the one-line answer, which must come within 5 seconds, is ANSWER.
expect() {
	local got
	printf '%s\n' "$2" >&"$1" || fail "fd $1: cannot send '$2'"
	IFS= read -r -t 5 -u "$1" got || fail "fd $1: no answer to '$2'"
	[ "$got" = "$3" ] || fail "fd $1: '$2' answered '$got', expected '$3'"
	echo "fd $1: $2 -> $got"
}

[ -x "$tempd" ] || fail "$tempd not built"
[ -x "$livepatch" ] || fail "$livepatch not built"
[ -x "$livepatch_build" ] || fail "$livepatch_build not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lp-server.XXXXXX") ||
	fail "cannot create a temporary directory"

"$tempd" 0 "$tmp/port" >"$tmp/tempd.log" 2>&1 &
pid=$!
i=0
until [ -s "$tmp/port" ] && grep -q '^tempd: listening' "$tmp/tempd.log"; do
	alive "$pid" || fail "tempd exited: $(cat "$tmp/tempd.log")"
	[ "$i" -ge 100 ] && fail "tempd did not start within 10 seconds"
	sleep 0.1
	i=$((i + 1))
done
port=$(cat "$tmp/port")
started=$(start_time "$pid")
echo "tempd pid $pid on 127.0.0.1:$port"

for fd in $conns; do
	{ eval "exec $fd<>/dev/tcp/127.0.0.1/$port"; } 2>/dev/null ||
		fail "cannot open connection $fd to 127.0.0.1:$port"
done

# Each connection is served by its own worker thread; the bug shows on all.
for fd in $conns; do
	expect "$fd" "c2f 100" 180
done

"$livepatch_build" -t "$tempd" -o "$tmp/fix.lpatch" "$patch_src" ||
	fail "livepatch-build failed"

timeout 120 "$livepatch" apply -v "$pid" "$tmp/fix.lpatch"
status=$?
case $status in
0) ;;
4) skip "not allowed to ptrace tempd (livepatch apply status 4): run as" \
	"root, or as the same user with kernel.yama.ptrace_scope = 0" ;;
124) fail "livepatch apply did not finish within 120 seconds" ;;
*) fail "livepatch apply failed with status $status" ;;
esac

for fd in $conns; do
	expect "$fd" "c2f 100" 212
	expect "$fd" "c2f -40" -40
	expect "$fd" "f2c 212" 100
	expect "$fd" "ping" pong
done

alive "$pid" || fail "tempd (pid $pid) is gone"
[ "$(start_time "$pid")" = "$started" ] ||
	fail "pid $pid is no longer the tempd process the test started"
echo "PASS: tempd patched under 3 open connections, pid $pid unchanged"
exit 0
