#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: run.sh SECONDS DIR
#
# Fuzz the patch file reader for SECONDS with tests/fuzz/fuzz_patch (see
# fuzz_patch.c), used by "make fuzz" (DIR tests/fuzz of the build tree)
# and by tests/integration/fuzz.sh (DIR its temporary directory).  The
# seeds are made afresh in DIR/seeds (seeds.sh); the inputs the fuzzer
# finds interesting are kept in DIR/corpus, and the next run starts from
# them too.  An input that crashes the reader, hangs it for 10 s, leaks,
# or breaks a rule of the harness is saved in
# $top_builddir/tests/fuzz/artifacts/, and the run fails.
#
# Environment: as for the tests (top_srcdir, top_builddir, CC, CLANG,
# LIVEPATCH_INCLUDEDIR); FUZZ_JOBS=N runs N fuzzing processes at once
# (libFuzzer's -fork=N; default 1).
#
# Exit status: 0 clean, 1 a finding or an error, 77 when the fuzzer could
# not be built here (no clang, or no libFuzzer: the program is a stub that
# says which package is missing).
set -u
: "${top_srcdir:?top_srcdir is not set}"
: "${top_builddir:?top_builddir is not set}"

secs=${1:?usage: run.sh SECONDS DIR}
dir=${2:?usage: run.sh SECONDS DIR}
fuzzer=$top_builddir/tests/fuzz/fuzz_patch
artifacts=$top_builddir/tests/fuzz/artifacts
log=$dir/fuzz.log
jobs=${FUZZ_JOBS:-1}
excused=

if [ ! -x "$fuzzer" ]; then
	echo "fuzz: $fuzzer is not built (make tests/fuzz/fuzz_patch)" >&2
	exit 1
fi
mkdir -p "$dir/corpus" "$artifacts" || exit 1
"$fuzzer" -help=1 >/dev/null 2>"$dir/stub.out" </dev/null
status=$?
if [ "$status" -eq 77 ]; then
	cat "$dir/stub.out" >&2
	rm -f "$dir/stub.out"
	exit 77
fi
rm -f "$dir/stub.out"
rm -rf "$dir/seeds"
sh "$top_srcdir/tests/fuzz/seeds.sh" "$dir/seeds" || exit 1

# fuzz [OPTION...]: one run; its output in $log, its status returned.
fuzz() {
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
		-dict="$top_srcdir/tests/fuzz/patch.dict" \
		-artifact_prefix="$artifacts/" "$@"
	[ "$jobs" -le 1 ] || set -- -fork="$jobs" "$@"
	echo "fuzz: $fuzzer $* $dir/corpus $dir/seeds"
	FUZZ_PATCH_STATS=1 "$fuzzer" "$@" "$dir/corpus" "$dir/seeds" >"$log" 2>&1
}

# replays FILE: whether the input FILE fails again, run on its own
replays() {
	! "$fuzzer" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 "$1" \
		>"$dir/replay.log" 2>&1
}

echo "fuzz: fuzzing the patch file reader for $secs s (output in $log)"
: >"$dir/start.stamp"
start=$(date +%s)
fuzz
status=$?
# LeakSanitizer stops the threads with ptrace: where that is not allowed
# (some containers), fuzz without the leak check rather than not at all.
if [ "$status" -ne 0 ] && grep -q 'LeakSanitizer has encountered a fatal error' "$log"; then
	echo "fuzz: LeakSanitizer cannot run here (ptrace): again without the leak check"
	fuzz -detect_leaks=0
	status=$?
fi
end=$(date +%s)

# A timeout on a loaded machine (the suite runs tests side by side) may be
# no hang of the reader: one that does not happen again on its own is
# reported, and is no finding.  -fork mode goes on after a timeout.
if [ "$status" -ne 0 ] && grep -q 'ERROR: libFuzzer: timeout' "$log" ||
	{ [ "$status" -eq 0 ] && [ "$jobs" -gt 1 ]; }; then
	find "$artifacts" -type f -name 'timeout-*' -newer "$dir/start.stamp" >"$dir/timeouts"
	if [ -s "$dir/timeouts" ]; then
		status=0
		excused=1
	fi
	while read -r a; do
		if replays "$a"; then
			echo "fuzz: $a hangs the reader:"
			tail -n 40 "$dir/replay.log"
			status=1
			break
		fi
		echo "fuzz: $a timed out but runs at once on its own: a loaded machine, not a hang"
	done <"$dir/timeouts"
fi
rm -f "$dir/start.stamp" "$dir/replay.log" "$dir/timeouts"

if [ "$status" -ne 0 ]; then
	echo "fuzz: FAILED after $((end - start)) s (status $status); the end of $log:"
	tail -n 60 "$log"
	sed -n 's/^.*Test unit written to \(.*\)$/\1/p' "$log" | while read -r a; do
		echo "fuzz: the input is $a ($(wc -c <"$a" | tr -d ' ') bytes); to reproduce:"
		echo "fuzz:   $fuzzer $a"
	done
	exit 1
fi
# the harness's counts (fuzz_patch.c): some inputs must get through the
# reader to the accessors, or the fuzzer does not test them
# shellcheck disable=SC2046
set -- $(sed -n 's/^fuzz_patch: \([0-9]*\) opened, \([0-9]*\) accepted; \([0-9]*\) sealed, \([0-9]*\) accepted$/\1 \2 \3 \4/p' "$log" | tail -n 1)
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE|INFO: exiting)' "$log"
if [ "$#" -ne 4 ]; then
	# none from -fork mode, nor after a timeout
	[ "$jobs" -gt 1 ] || [ -n "$excused" ] ||
		{ echo "fuzz: the harness printed no counts"; exit 1; }
elif [ "$2" -eq 0 ] || [ "$4" -eq 0 ]; then
	echo "fuzz: no input got through lp_patch_open ($1 opened, $2 accepted;" \
		"$3 sealed, $4 accepted): the seeds are broken"
	exit 1
else
	echo "fuzz: $1 inputs opened, $2 accepted; $3 sealed again, $4 of them accepted"
fi
echo "fuzz: corpus $dir/corpus: $(find "$dir/corpus" -type f | wc -l | tr -d ' ') inputs"
echo "fuzz: no finding in $((end - start)) s"
exit 0
