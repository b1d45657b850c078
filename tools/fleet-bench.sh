#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/fleet-bench.sh [N]: time livepatch apply --all on N processes (1000
# by default) that map libgreet (tests/servers/libgreet.c), with -j 1 and
# with the default number of jobs, and the revert --all of each.  Prints
# one line per run and the speed-up.  Run from a built tree, as root
# ("make fleet-bench").
set -eu

n=${1:-1000}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${LIVEPATCH_BUILDDIR:-$top}
cc=${CC:-cc}
work=$(mktemp -d)
pids=
cleanup() {
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

$cc -shared -fPIC -O2 -fpatchable-function-entry=16,14 -Wl,--build-id \
	-o "$work/libgreet.so" "$top/tests/servers/libgreet.c"
$cc -O2 -o "$work/greet" "$top/tests/servers/greet-a.c" -L"$work" -lgreet
LIVEPATCH_INCLUDEDIR=$top/include "$bin/livepatch-build" -t "$work/libgreet.so" \
	-o "$work/fix.lpatch" "$top/patches/greet-fix.c" >/dev/null
id=$("$bin/livepatch" info "$work/fix.lpatch" | sed -n 's/^patch: *//p')

echo "fleet-bench: starting $n processes"
i=0
while [ "$i" -lt "$n" ]; do
	LD_LIBRARY_PATH=$work "$work/greet" >/dev/null 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
sleep 2

now() { date +%s.%N; }
run() {
	_t0=$(now)
	"$@" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
	_t1=$(now)
	awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.2f", b - a }'
}

for jobs in 1 default; do
	if [ "$jobs" = 1 ]; then set -- -j 1; else set --; fi
	t_apply=$(run "$bin/livepatch" apply --all "$@" "$work/fix.lpatch")
	summary=$(tail -n 1 "$work/out")
	t_revert=$(run "$bin/livepatch" revert --all "$@" "$id")
	echo "fleet-bench: $n processes, jobs $jobs: apply --all $t_apply s, revert --all $t_revert s ($summary)"
	eval "apply_$jobs=\$t_apply"
done
# shellcheck disable=SC2154
awk -v a="$apply_1" -v b="$apply_default" \
	'BEGIN { printf "fleet-bench: default jobs (%d) %.1fx faster than -j 1\n", 0, a / b }' |
	sed "s/(0)/($(( $(getconf _NPROCESSORS_ONLN) * 2 )))/"
