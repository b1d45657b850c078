#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: demo.sh BUILDDIR SRCDIR
#
# Fixes a bug in a running server without restarting it: starts tempd
# (tests/servers/tempd.c), keeps one client connection open, shows the
# wrong answer, builds and applies patches/tempd-c2f-fix.c, and shows the
# right answer on that same connection, from the same process.
#
# Run by "make demo".  Needs bash for its /dev/tcp connections.

# "make demo" may start this with sh: switch to bash first.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILDDIR SRCDIR" >&2
	exit 2
fi
builddir=$1
srcdir=$2
tempd=$builddir/tests/servers/tempd
patch_src=$srcdir/patches/tempd-c2f-fix.c
# Lets livepatch-build find <livepatch/patch.h> in an uninstalled tree.
LIVEPATCH_INCLUDEDIR=${LIVEPATCH_INCLUDEDIR:-$srcdir/include}
export LIVEPATCH_INCLUDEDIR

pid=
tmp=

die() {
	echo "demo: FAILED: $*" >&2
	exit 1
}

# True while process $1 exists and is not a zombie.
alive() {
	local state
	state=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Field 22 of /proc/PID/stat: start time since boot.  The same PID with
# the same start time is the same process, not a restarted one.
start_time() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

cleanup() {
	exec 3>&-
	if [ -n "$pid" ]; then
		# SIGCONT in case a failed apply left it stopped.
		kill -TERM "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null
		local i=0
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
# Turn signals into a normal exit so that the EXIT trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Sends one request on the connection and prints the one-line answer;
# fails if none comes within 5 seconds.
ask() {
	local answer
	printf '%s\n' "$1" >&3 || return 1
	IFS= read -r -t 5 answer <&3 || return 1
	printf '%s\n' "$answer"
}

[ -x "$tempd" ] || die "$tempd not found: run make first"
[ -x "$builddir/livepatch" ] || die "$builddir/livepatch not found: run make first"
[ -x "$builddir/livepatch-build" ] || die "$builddir/livepatch-build not found: run make first"
[ -r "$patch_src" ] || die "$patch_src not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/livepatch-demo.XXXXXX") ||
	die "cannot create a temporary directory"

"$tempd" 0 "$tmp/port" >"$tmp/tempd.log" 2>&1 &
pid=$!

# tempd writes the port file, then prints its "listening" line once its
# threads run.  Wait for both, for at most 10 seconds.
i=0
until [ -s "$tmp/port" ] && grep -q '^tempd: listening' "$tmp/tempd.log"; do
	alive "$pid" || die "tempd exited: $(cat "$tmp/tempd.log")"
	[ "$i" -ge 100 ] && die "tempd did not start within 10 seconds"
	sleep 0.1
	i=$((i + 1))
done
port=$(cat "$tmp/port")
cat "$tmp/tempd.log"
started=$(start_time "$pid")

{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null ||
	die "cannot connect to 127.0.0.1:$port"
echo "demo: connected to 127.0.0.1:$port; this connection stays open"

before=$(ask "c2f 100") || die "no answer to 'c2f 100'"
echo "before: c2f 100 -> $before"
[ "$before" = 180 ] || die "expected the buggy answer 180, got '$before'"

echo "demo: building the patch"
"$builddir/livepatch-build" -t "$tempd" -o "$tmp/fix.lpatch" "$patch_src" ||
	die "livepatch-build failed"

echo "demo: applying it to pid $pid"
timeout 60 "$builddir/livepatch" apply -v "$pid" "$tmp/fix.lpatch"
status=$?
case $status in
0) ;;
4) die "livepatch apply: permission denied (status 4): run as root, or as" \
	"tempd's user with kernel.yama.ptrace_scope = 0" ;;
124) die "livepatch apply did not finish within 60 seconds" ;;
*) die "livepatch apply failed with status $status" ;;
esac

after=$(ask "c2f 100") || die "no answer to 'c2f 100' after the patch"
echo "after:  c2f 100 -> $after"
[ "$after" = 212 ] || die "expected 212 after the patch, got '$after'"

alive "$pid" || die "tempd (pid $pid) is no longer running"
[ "$(start_time "$pid")" = "$started" ] ||
	die "pid $pid is not the tempd process the demo started"

echo "demo: OK: tempd (pid $pid) fixed while running; same process," \
	"same open connection, no restart"
exit 0
