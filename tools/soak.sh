#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The soak test ("make soak"; not part of "make check"):
#
#     tools/soak.sh BUILDDIR SRCDIR
#
# Starts the sample server tests/servers/tempd, puts it under continuous
# load from several connections (tools/tempd-load.c: every answer is
# checked, c2f answers may come from the old or the fixed c_to_f()), and
# applies and reverts patches/tempd-c2f-fix.c 1,000 times (LP_SOAK_CYCLES)
# while the load goes on.  It then reports the requests served, the failed
# requests, crashes, the server's resident size and number of mappings
# before and after, and the timings of the applies and reverts.
#
# Passes (exit 0) when every apply and revert succeeded, no request
# failed, the server ran throughout (same process) and answered right,
# its mappings are the same as before the first apply, and its resident
# size grew by at most LP_SOAK_MAX_RSS_KB (default 512) KiB.  Exit 77
# when ptrace is not allowed, 1 otherwise.  Environment: CC (to build
# the load generator), LIVEPATCH_INCLUDEDIR, LP_SOAK_CYCLES (1000),
# LP_SOAK_CONNS (4, the server's number of workers).

set -u
builddir=$(cd "${1:-.}" && pwd)
srcdir=$(cd "${2:-.}" && pwd)
CYCLES=${LP_SOAK_CYCLES:-1000}
CONNS=${LP_SOAK_CONNS:-4}
MAX_RSS_KB=${LP_SOAK_MAX_RSS_KB:-512}
: "${LIVEPATCH_INCLUDEDIR:=$srcdir/include}"
export LIVEPATCH_INCLUDEDIR

tempd=$builddir/tests/servers/tempd
livepatch=$builddir/livepatch
livepatch_build=$builddir/livepatch-build
pid=
load=
tmp=

say() {
	echo "soak: $*"
}

fail() {
	echo "soak: FAIL: $*"
	exit 1
}

alive() {
	case $(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null) in
	'' | Z | X) return 1 ;;
	esac
	return 0
}

start_time() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"
}

now_ns() {
	date +%s%N
}

# count GLOB: the number of files GLOB names.
count() {
	# shellcheck disable=SC2086
	set -- $1
	echo "$#"
}

cleanup() {
	rc=$?
	trap - EXIT
	for p in $load $pid; do
		kill -TERM "$p" 2>/dev/null
		kill -CONT "$p" 2>/dev/null
	done
	for p in $load $pid; do
		wait "$p" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

[ -x "$tempd" ] || fail "$tempd is not built (make)"
[ -x "$livepatch" ] || fail "$livepatch is not built (make)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/livepatch-soak.XXXXXX") || fail "no temporary directory"

# A run takes a while: use a copy of livepatch and its library, so that a
# rebuild of the tree meanwhile (libtool relinks) cannot break it.
if [ -x "$builddir/.libs/livepatch" ] && [ -e "$builddir/.libs/liblivepatch.so.0" ]; then
	mkdir "$tmp/bin" || fail "cannot make $tmp/bin"
	cp "$builddir/.libs/livepatch" "$builddir"/.libs/liblivepatch.so.0* "$tmp/bin/" ||
		fail "cannot copy livepatch"
	LD_LIBRARY_PATH=$tmp/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
	livepatch=$tmp/bin/livepatch
fi
"$livepatch" --version >/dev/null || fail "$livepatch does not run"

${CC:-cc} -O2 -pthread -Wall -Wextra -o "$tmp/tempd-load" "$srcdir/tools/tempd-load.c" ||
	fail "cannot build the load generator"
"$livepatch_build" -t "$tempd" -o "$tmp/fix.lpatch" "$srcdir/patches/tempd-c2f-fix.c" >"$tmp/build.out" 2>&1 ||
	fail "livepatch-build failed: $(cat "$tmp/build.out")"
id=$("$livepatch" info "$tmp/fix.lpatch" | sed -n 's/^patch: *\([0-9a-f]*\)$/\1/p')
[ -n "$id" ] || fail "no patch id from livepatch info"

"$tempd" 0 "$tmp/port" >"$tmp/tempd.out" 2>&1 &
pid=$!
i=0
until [ -s "$tmp/port" ] && grep -q '^tempd: listening' "$tmp/tempd.out"; do
	alive "$pid" || fail "tempd exited: $(cat "$tmp/tempd.out")"
	[ "$i" -lt 100 ] || fail "tempd did not start within 10 s"
	sleep 0.1
	i=$((i + 1))
done
port=$(cat "$tmp/port")
started=$(start_time "$pid")
say "tempd $pid on 127.0.0.1:$port; $CYCLES cycles under the load of $CONNS connections"

"$tmp/tempd-load" "$port" "$CONNS" >"$tmp/load.out" 2>"$tmp/load.err" &
load=$!
i=0
until grep -q '^progress [1-9]' "$tmp/load.out" 2>/dev/null; do
	if ! alive "$load" || [ "$i" -ge 100 ]; then
		fail "the load generator does not get answers: $(cat "$tmp/load.err")"
	fi
	sleep 0.1
	i=$((i + 1))
done

cp "/proc/$pid/maps" "$tmp/maps.before"
maps_before=$(wc -l <"$tmp/maps.before")
rss_before=$(rss_kb "$pid")
threads_before=$(count "/proc/$pid/task/*")
fds_before=$(count "/proc/$pid/fd/*")

# One cycle: apply and revert, each must succeed; the wall times of the
# two runs (ms, three decimals) and the pauses they report go to
# $tmp/times, one line a cycle: APPLY_MS REVERT_MS APPLY_PAUSE REVERT_PAUSE.
cycle() {
	t0=$(now_ns)
	"$livepatch" apply -v "$pid" "$tmp/fix.lpatch" >"$tmp/apply.out" 2>&1
	st=$?
	t1=$(now_ns)
	if [ "$st" -eq 4 ]; then
		echo "soak: SKIP: livepatch may not trace tempd here: $(cat "$tmp/apply.out")"
		exit 77
	fi
	[ "$st" -eq 0 ] || fail "apply of cycle $1 failed (status $st): $(cat "$tmp/apply.out")"
	"$livepatch" revert -v "$pid" "$id" >"$tmp/revert.out" 2>&1
	st=$?
	t2=$(now_ns)
	[ "$st" -eq 0 ] || fail "revert of cycle $1 failed (status $st): $(cat "$tmp/revert.out")"
	pa=$(sed -n 's/^pause \([0-9.]*\) ms.*$/\1/p' "$tmp/apply.out")
	pr=$(sed -n 's/^pause \([0-9.]*\) ms.*$/\1/p' "$tmp/revert.out")
	echo "$(((t1 - t0) / 1000)) $(((t2 - t1) / 1000)) ${pa:-0} ${pr:-0}" |
		awk '{ printf "%.3f %.3f %s %s\n", $1 / 1000, $2 / 1000, $3, $4 }' >>"$tmp/times"
}

: >"$tmp/times"
t_start=$(now_ns)
c=1
while [ "$c" -le "$CYCLES" ]; do
	cycle "$c"
	if [ $((c % 100)) -eq 0 ]; then
		alive "$pid" || fail "tempd died in cycle $c: $(tail -n 5 "$tmp/tempd.out")"
		alive "$load" || fail "the load generator ended in cycle $c: $(cat "$tmp/load.err")"
		say "cycle $c: $(tail -n 1 "$tmp/load.out" | awk '{ print $2 " requests, " $3 " failed" }')," \
			"RSS $(rss_kb "$pid") kB, $(wc -l <"/proc/$pid/maps") maps"
	fi
	c=$((c + 1))
done
t_end=$(now_ns)
sleep 1

# Under the same load as before the cycles: the server as it is now.
crashes=0
if ! alive "$pid" || [ "$(start_time "$pid")" != "$started" ]; then
	crashes=1
fi
cp "/proc/$pid/maps" "$tmp/maps.after" 2>/dev/null
maps_after=$(wc -l <"$tmp/maps.after")
rss_after=$(rss_kb "$pid")
threads_after=$(count "/proc/$pid/task/*")
fds_after=$(count "/proc/$pid/fd/*")

# The load ends: its last line sums up.
kill -TERM "$load"
wait "$load"
load_status=$?
load=
summary=$(grep '^requests ' "$tmp/load.out")
[ -n "$summary" ] || fail "the load generator gave no summary: $(cat "$tmp/load.err")"
# shellcheck disable=SC2086
set -- $summary
requests=$2 failed=$4 old=$6 new=$8 reconnects=${10} max_ms=${12} mean_us=${14}

# Reverted: a second load for a second gets the old c2f only.
"$tmp/tempd-load" "$port" "$CONNS" >"$tmp/load2.out" 2>"$tmp/load2.err" &
load=$!
sleep 1
kill -TERM "$load"
wait "$load"
load2_status=$?
load=
# shellcheck disable=SC2046
set -- $(grep '^requests ' "$tmp/load2.out")
after_requests=${2:-0} after_failed=${4:-0} after_new=${8:-0}

say "---- results"
say "cycles:        $CYCLES applies and $CYCLES reverts in $(((t_end - t_start) / 1000000)) ms"
awk '
	{ a += $1; r += $2; pa += $3; pr += $4
	  if ($1 > am) am = $1; if ($2 > rm) rm = $2
	  if ($3 > pam) pam = $3; if ($4 > prm) prm = $4 }
	END {
		printf "soak: apply:         mean %.1f ms, max %.1f ms (pause mean %.3f ms, max %.3f ms)\n",
			a / NR, am, pa / NR, pam
		printf "soak: revert:        mean %.1f ms, max %.1f ms (pause mean %.3f ms, max %.3f ms)\n",
			r / NR, rm, pr / NR, prm
	}' "$tmp/times"
say "requests:      $requests ($old old and $new fixed c2f answers), $reconnects reconnects"
say "latency:       max $max_ms ms, mean $mean_us us"
say "failed:        $failed"
say "crashes:       $crashes"
say "RSS:           $rss_before kB before, $rss_after kB after"
say "maps:          $maps_before before, $maps_after after"
say "threads, fds:  $threads_before and $fds_before before, $threads_after and $fds_after after"
say "after:         $after_requests requests, $after_failed failed, $after_new fixed c2f answers"

bad=
if [ "$load_status" -ne 0 ] || [ "$failed" -ne 0 ]; then
	bad="$bad; $failed failed requests: $(head -n 10 "$tmp/load.err")"
fi
[ "$crashes" -eq 0 ] || bad="$bad; tempd $pid crashed or was replaced"
if [ "$old" -eq 0 ] || [ "$new" -eq 0 ]; then
	bad="$bad; the load never saw both versions of c2f"
fi
cmp -s "$tmp/maps.before" "$tmp/maps.after" ||
	bad="$bad; the maps differ: $(diff "$tmp/maps.before" "$tmp/maps.after" | head -n 10)"
[ "$rss_after" -le $((rss_before + MAX_RSS_KB)) ] ||
	bad="$bad; RSS grew by $((rss_after - rss_before)) kB (limit $MAX_RSS_KB)"
if [ "$threads_after" -ne "$threads_before" ] || [ "$fds_after" -ne "$fds_before" ]; then
	bad="$bad; threads or descriptors changed"
fi
if [ "$load2_status" -ne 0 ] || [ "$after_requests" -eq 0 ] || [ "$after_new" -ne 0 ]; then
	bad="$bad; after the last revert: $(cat "$tmp/load2.out" "$tmp/load2.err" | tail -n 5)"
fi
[ -z "$bad" ] || fail "${bad#; }"
say "PASS"
