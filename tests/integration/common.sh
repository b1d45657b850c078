# shellcheck shell=sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Helpers for the integration tests.  Each tests/integration/*.sh sources
# this file; the test harness exports top_srcdir, top_builddir, CC, CLANG
# and LIVEPATCH_INCLUDEDIR.  A test exits 0 on success, 1 on failure and
# 77 when it cannot run here.
#
# Every test gets its own temporary directory $T, removed on exit (set
# LP_KEEP_TMP=1 to keep it); every target started with start_target is
# killed on exit.  The "current target" ($TARGET_PID, $TARGET_OUT) is the
# one started last; most helpers act on it.

: "${top_srcdir:?top_srcdir is not set}"
: "${top_builddir:?top_builddir is not set}"
: "${CC:=cc}"
: "${CLANG:=}"
: "${LIVEPATCH_INCLUDEDIR:=$top_srcdir/include}"
export LIVEPATCH_INCLUDEDIR

TEST_NAME=$(basename "$0" .sh)
TARGETS=$top_srcdir/tests/targets
LIVEPATCH=$top_builddir/livepatch
LIVEPATCH_BUILD=$top_builddir/livepatch-build
# The JSON checker of the tests (tests/tools/jsonq.c, built by make check).
JSONQ=$top_builddir/tests/tools/jsonq
PAD_CFLAGS=-fpatchable-function-entry=16,14
# shellcheck disable=SC2034 # used by the tests
NOCET_CFLAGS=-fcf-protection=none
# Upper bound for one run of livepatch or livepatch-build, in seconds.
TOOL_TIMEOUT=${LP_TOOL_TIMEOUT:-120}

TARGET_PIDS=
TARGET_PID=
TARGET_OUT=
TARGET_SEQ=0
LP_SEQ=0
LP_STATUS=
LP_OUT=
BUILD_STATUS=
BUILD_OUT=
LP_STDOUT=
LP_STDERR=
JSON_VALUE=
PATCH_ID=
LIST_JSON=
LIST_IDS=
LIST_N=

# ---- reporting ---------------------------------------------------------------

log() {
	echo "$TEST_NAME: $*"
}

# Show the output of the current target and of the last tool run.
dump_state() {
	if [ -n "$TARGET_OUT" ] && [ -f "$TARGET_OUT" ]; then
		echo "--- output of target $TARGET_PID (last 20 lines):"
		tail -n 20 "$TARGET_OUT"
	fi
	if [ -n "$LP_OUT" ] && [ -f "$LP_OUT" ]; then
		echo "--- output of the last livepatch run (status $LP_STATUS):"
		cat "$LP_OUT"
	fi
	echo "---"
}

fail() {
	echo "FAIL: $TEST_NAME: $*"
	dump_state
	exit 1
}

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

# ---- process helpers -----------------------------------------------------

# The state letter of process (or thread) PID from /proc, empty if none.
proc_state() {
	sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null
}

# Whether PID exists and is not a zombie.
is_alive() {
	case $(proc_state "$1") in
	'' | Z | X | x) return 1 ;;
	esac
	return 0
}

# Fail unless the current target runs normally: it exists, is not a zombie,
# none of its threads is left stopped or traced, and it has not seen a slot
# go back to the old value after the patch (unless REGRESS_OK is set: a
# test that reverts sets it).
assert_alive() {
	_aa_pid=${1:-$TARGET_PID}
	if ! is_alive "$_aa_pid"; then
		wait "$_aa_pid" 2>/dev/null
		_aa_rc=$?
		if [ "$_aa_rc" -gt 128 ]; then
			fail "target $_aa_pid died: killed by signal $((_aa_rc - 128))" \
				"($(kill -l "$_aa_rc" 2>/dev/null))"
		fi
		fail "target $_aa_pid is gone (exit status $_aa_rc)"
	fi
	# A thread that a livepatch run holds right now is not left stopped:
	# with tests run side by side, another test's "livepatch list" (of
	# every process) may be cleaning up this target.  Wait for it (10 s
	# at most).  One stopped and held by none must stay so for 0.5 s (it
	# may have been let go between the two looks).
	_aa_i=0
	_aa_free=0
	while :; do
		_aa_stopped=$(cat /proc/"$_aa_pid"/task/*/stat 2>/dev/null |
			sed -n 's/^\([0-9]*\) .*) [Tt] .*$/\1/p' | head -n 5 | tr '\n' ' ' |
			sed 's/ $//')
		[ -n "$_aa_stopped" ] || break
		_aa_held=1
		for _aa_t in $_aa_stopped; do
			_aa_tr=$(sed -n 's/^TracerPid:[[:space:]]*//p' \
				"/proc/$_aa_pid/task/$_aa_t/status" 2>/dev/null)
			case $(cat "/proc/${_aa_tr:-0}/comm" 2>/dev/null) in
			livepatch | lt-livepatch) ;;
			*) _aa_held=0 ;;
			esac
		done
		if [ "$_aa_held" = 1 ]; then _aa_free=0; else _aa_free=$((_aa_free + 1)); fi
		[ "$_aa_free" -lt 5 ] && [ "$_aa_i" -lt 100 ] ||
			fail "thread(s) $_aa_stopped of target $_aa_pid left stopped"
		_aa_i=$((_aa_i + 1))
		sleep 0.1
	done
	if [ -z "${REGRESS_OK:-}" ] && [ -n "$TARGET_OUT" ] &&
		grep -q '^regressed' "$TARGET_OUT"; then
		fail "target $_aa_pid went back to the old function"
	fi
}

# assert_alive_for SECONDS [PID]: check every 0.1 s for SECONDS (may be a
# fraction) that the target keeps running.
assert_alive_for() {
	_aaf_n=$(awk "BEGIN { print int($1 * 10 + 0.5) }")
	_aaf_i=0
	while [ "$_aaf_i" -lt "$_aaf_n" ]; do
		assert_alive "${2:-$TARGET_PID}"
		sleep 0.1
		_aaf_i=$((_aaf_i + 1))
	done
	assert_alive "${2:-$TARGET_PID}"
}

# start_target CMD...: run CMD in the background, stdout and stderr to a
# fresh file; sets TARGET_PID and TARGET_OUT.  The busy threads of the
# targets run at the lowest priority, so that the test and livepatch still
# get the CPU (a shell among 220 busy threads of equal weight would crawl).
start_target() {
	TARGET_SEQ=$((TARGET_SEQ + 1))
	TARGET_OUT=$T/target$TARGET_SEQ.out
	: >"$TARGET_OUT"
	if command -v nice >/dev/null 2>&1; then
		set -- nice -n 19 "$@"
	fi
	exec "$@" >"$TARGET_OUT" 2>&1 &
	TARGET_PID=$!
	TARGET_PIDS="$TARGET_PIDS $TARGET_PID"
	log "started target $TARGET_PID: $*"
}

# Kill PID (default: the current target) and reap it.
stop_target() {
	_st_pid=${1:-$TARGET_PID}
	kill -TERM "$_st_pid" 2>/dev/null
	kill -CONT "$_st_pid" 2>/dev/null
	_st_i=0
	while is_alive "$_st_pid" && [ "$_st_i" -lt 50 ]; do
		sleep 0.1
		_st_i=$((_st_i + 1))
	done
	kill -KILL "$_st_pid" 2>/dev/null
	wait "$_st_pid" 2>/dev/null
	forget_target "$_st_pid"
}

# forget_target PID: PID, reaped by the test, is no longer to be killed.
forget_target() {
	_ft=
	for _ft_p in $TARGET_PIDS; do
		[ "$_ft_p" = "$1" ] || _ft="$_ft $_ft_p"
	done
	TARGET_PIDS=$_ft
}

# A PID that no process has (one that just exited and was reaped).
dead_pid() {
	sleep 0 &
	_dp=$!
	wait "$_dp"
	is_alive "$_dp" && fail "cannot find an unused PID"
	echo "$_dp"
}

# wait_for_line FILE REGEX SECONDS [PID]: wait until a line of FILE matches
# the extended REGEX; gives up after SECONDS, or as soon as PID is gone.
wait_for_line() {
	_wfl_max=$(($3 * 10))
	_wfl_i=0
	while :; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		[ "$_wfl_i" -ge "$_wfl_max" ] && return 1
		if [ -n "${4:-}" ] && ! is_alive "$4"; then
			grep -Eq -- "$2" "$1" 2>/dev/null
			return
		fi
		sleep 0.1
		_wfl_i=$((_wfl_i + 1))
	done
}

wait_ready() {
	wait_for_line "$TARGET_OUT" '^ready$' 60 "$TARGET_PID" ||
		{ assert_alive; fail "target $TARGET_PID never printed ready"; }
}

# wait_all_new VALUE: the target must report that every slot now holds
# VALUE (the patched function runs everywhere).
wait_all_new() {
	if ! wait_for_line "$TARGET_OUT" '^all-new ' 30 "$TARGET_PID"; then
		assert_alive
		fail "target $TARGET_PID still calls the old function"
	fi
	_wan=$(sed -n 's/^all-new //p' "$TARGET_OUT" | head -n 1)
	[ "$_wan" = "$1" ] || fail "target reported all-new $_wan, expected $1"
	log "target $TARGET_PID: all-new $_wan"
}

# query_status: ask the current target for a status line; sets
# STATUS_VALUE (common result of answer(), or "mixed"), STATUS_CALLS and
# STATUS_SIGNALS.
query_status() {
	_qs_n=$(grep -c '^status ' "$TARGET_OUT")
	kill -USR2 "$TARGET_PID" 2>/dev/null || assert_alive
	_qs_i=0
	while [ "$(grep -c '^status ' "$TARGET_OUT")" -le "$_qs_n" ]; do
		[ "$_qs_i" -lt 100 ] || { assert_alive; fail "target does not answer SIGUSR2"; }
		sleep 0.1
		_qs_i=$((_qs_i + 1))
	done
	# shellcheck disable=SC2046
	set -- $(grep '^status ' "$TARGET_OUT" | tail -n 1)
	STATUS_VALUE=$3
	STATUS_CALLS=$4
	STATUS_SIGNALS=$5
}

# expect_value VALUE: the current target runs, answer() returns VALUE in
# every thread (and signal handler), and the threads make progress (and
# keep handling signals, if they did).  On a loaded machine the low-priority
# workers may get no CPU for a while: wait up to 20 s for progress.
expect_value() {
	assert_alive
	query_status
	_ev_calls=$STATUS_CALLS
	_ev_sigs=$STATUS_SIGNALS
	_ev_i=0
	while :; do
		sleep 0.2
		query_status
		[ "$STATUS_VALUE" = "$1" ] ||
			fail "answer() gives $STATUS_VALUE in the target, expected $1"
		if [ "$STATUS_CALLS" -gt "$_ev_calls" ] &&
			{ [ "$_ev_sigs" -eq 0 ] || [ "$STATUS_SIGNALS" -gt "$_ev_sigs" ]; }; then
			break
		fi
		_ev_i=$((_ev_i + 1))
		[ "$_ev_i" -lt 100 ] ||
			fail "the target makes no progress in 20 s ($_ev_calls calls," \
				"$_ev_sigs signals, then $STATUS_CALLS, $STATUS_SIGNALS)"
	done
	assert_alive
}

# wait_value VALUE: poll the current target (10 s at most) until answer()
# gives VALUE in every thread: the low-priority workers may take a moment
# to run again after an apply.
wait_value() {
	_wv_i=0
	while :; do
		query_status
		[ "$STATUS_VALUE" = "$1" ] && return 0
		[ "$_wv_i" -lt 50 ] ||
			fail "the workers report $STATUS_VALUE, expected $1"
		sleep 0.2
		_wv_i=$((_wv_i + 1))
	done
}

# After a refused apply: the target must behave exactly as before.
expect_unchanged() {
	if grep -q '^all-new' "$TARGET_OUT"; then
		fail "refused apply ($*) changed the target anyway"
	fi
	expect_value 42
}

# ---- building ------------------------------------------------------------------

# compile_target COMPILER OUT SRC [FLAGS...]: build a target program (no pad
# flags unless given).  COMPILER may hold options, like $CC.
compile_target() {
	_ct_cc=$1
	_ct_out=$2
	_ct_src=$3
	shift 3
	log "compile $_ct_out: $_ct_cc -O2 -pthread $* $_ct_src"
	# shellcheck disable=SC2086
	if ! $_ct_cc -O2 -pthread -Wall -Wextra -Wl,--build-id \
		-o "$_ct_out" "$_ct_src" "$@" >"$T/compile.log" 2>&1; then
		cat "$T/compile.log"
		fail "cannot build $_ct_out"
	fi
	cat "$T/compile.log"
}

# build_target OUT SRC [FLAGS...]: with $CC and the pad flags.
build_target() {
	_bt_out=$1
	_bt_src=$2
	shift 2
	compile_target "$CC" "$_bt_out" "$_bt_src" "$PAD_CFLAGS" "$@"
}

# build_target_clang OUT SRC [FLAGS...]: with $CLANG and the pad flags.
build_target_clang() {
	need_clang
	_btc_out=$1
	_btc_src=$2
	shift 2
	compile_target "$CLANG" "$_btc_out" "$_btc_src" "$PAD_CFLAGS" "$@"
}

# build_lib OUT SRC [FLAGS...]: a shared library with $CC and the pad flags.
build_lib() {
	_bl_out=$1
	_bl_src=$2
	shift 2
	compile_target "$CC" "$_bl_out" "$_bl_src" -shared -fPIC "$PAD_CFLAGS" "$@"
}

need_clang() {
	[ -n "$CLANG" ] || skip "no clang (CLANG is empty)"
}

# Run a tool with an upper bound on its run time.
with_timeout() {
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 10 "$TOOL_TIMEOUT" "$@"
	else
		"$@"
	fi
}

# try_build_patch TARGET_ELF OUT PATCH.c [CFLAGS...]: run livepatch-build;
# sets BUILD_STATUS and BUILD_OUT (a file with its output).
try_build_patch() {
	[ -x "$LIVEPATCH_BUILD" ] || fail "$LIVEPATCH_BUILD is not built"
	_tbp_target=$1
	_tbp_out=$2
	_tbp_src=$3
	shift 3
	BUILD_OUT=$T/build.$(basename "$_tbp_out").log
	log "livepatch-build -t $_tbp_target -o $_tbp_out $_tbp_src $*"
	with_timeout "$LIVEPATCH_BUILD" -t "$_tbp_target" -o "$_tbp_out" \
		"$_tbp_src" "$@" >"$BUILD_OUT" 2>&1
	BUILD_STATUS=$?
	sed 's/^/  | /' "$BUILD_OUT"
	log "livepatch-build: status $BUILD_STATUS"
}

# build_patch TARGET_ELF OUT PATCH.c [CFLAGS...]: as above, must succeed.
build_patch() {
	try_build_patch "$@"
	[ "$BUILD_STATUS" -eq 0 ] || fail "livepatch-build failed (status $BUILD_STATUS)"
	[ -s "$2" ] || fail "livepatch-build did not write $2"
}

# ---- applying ------------------------------------------------------------------

# run_livepatch ARGS...: run the livepatch program; sets LP_STATUS and
# LP_OUT (a file with its stdout and stderr).  Through $LP_WRAP (words: a
# command such as "chrt --idle 0") when set.
run_livepatch() {
	[ -x "$LIVEPATCH" ] || fail "$LIVEPATCH is not built"
	LP_SEQ=$((LP_SEQ + 1))
	LP_OUT=$T/livepatch$LP_SEQ.out
	log "${LP_WRAP:+$LP_WRAP }livepatch $*"
	# shellcheck disable=SC2086 # $LP_WRAP: a command and its words
	with_timeout $LP_WRAP "$LIVEPATCH" "$@" >"$LP_OUT" 2>&1
	LP_STATUS=$?
	sed 's/^/  | /' "$LP_OUT"
	log "livepatch: status $LP_STATUS"
	[ "$LP_STATUS" -ne 124 ] || fail "livepatch did not finish in $TOOL_TIMEOUT s"
}

# apply [OPTIONS] PID PATCH: livepatch apply.  Permission denied (4) means
# this environment does not let us trace processes: skip the test.
apply() {
	run_livepatch apply "$@"
	if [ "$LP_STATUS" -eq 4 ]; then
		skip "livepatch cannot trace processes here (permission denied): $(cat "$LP_OUT")"
	fi
}

# expect_status WANT WHAT: the last livepatch run exited with WANT.
expect_status() {
	[ "$LP_STATUS" -eq "$1" ] ||
		fail "$2: livepatch exited with $LP_STATUS, expected $1"
	log "$2: status $1 as expected"
}

# run_livepatch_split ARGS...: as run_livepatch, with the standard output
# in the file LP_STDOUT (the document, with --json) and the standard error
# in LP_STDERR; LP_OUT holds both, for the logs.  Permission denied (4) on
# apply skips the test, as apply does.
run_livepatch_split() {
	[ -x "$LIVEPATCH" ] || fail "$LIVEPATCH is not built"
	LP_SEQ=$((LP_SEQ + 1))
	LP_STDOUT=$T/livepatch$LP_SEQ.stdout
	LP_STDERR=$T/livepatch$LP_SEQ.stderr
	LP_OUT=$T/livepatch$LP_SEQ.out
	log "livepatch $*"
	with_timeout "$LIVEPATCH" "$@" >"$LP_STDOUT" 2>"$LP_STDERR"
	LP_STATUS=$?
	cat "$LP_STDOUT" "$LP_STDERR" >"$LP_OUT"
	sed 's/^/  | /' "$LP_OUT"
	log "livepatch: status $LP_STATUS"
	[ "$LP_STATUS" -ne 124 ] || fail "livepatch did not finish in $TOOL_TIMEOUT s"
	if [ "$LP_STATUS" -eq 4 ] && [ "$1" = apply ]; then
		skip "livepatch cannot trace processes here (permission denied): $(cat "$LP_STDERR")"
	fi
}

# expect_one_error_line WHAT: the last run_livepatch_split wrote exactly
# one line to its standard error.
expect_one_error_line() {
	_eoel=$(wc -l <"$LP_STDERR" | tr -d ' ')
	[ "$_eoel" -eq 1 ] ||
		fail "$1: livepatch wrote $_eoel lines to stderr, expected one"
}

# expect_reverted FILE ID PID: FILE (the standard output of a revert) has
# the line "livepatch: reverted patch ID in process PID".  A remark in
# parentheses may follow, e.g. that the code stays mapped while in use.
expect_reverted() {
	grep -Eq "^livepatch: reverted patch $2 in process $3( \(.*\))?\$" "$1" ||
		fail "revert did not print 'livepatch: reverted patch $2 in process $3'"
}

# ---- JSON -----------------------------------------------------------------------

# json_get FILE EXPR: the value at EXPR (a jsonq path, e.g.
# .processes[0].patches[1].id, or .patches|length; see tests/tools/jsonq.c)
# of the JSON document FILE, in JSON_VALUE (strings unquoted, arrays and
# objects as compact JSON).  Returns 1, JSON_VALUE empty, if there is no
# such value.  Fails the test if FILE is not one valid JSON document.  The
# value is not printed: a fail inside $(...) would not end the test.
json_get() {
	[ -x "$JSONQ" ] || fail "$JSONQ is not built (make check builds it)"
	JSON_VALUE=
	"$JSONQ" "$1" "$2" >"$T/jsonq.out" 2>"$T/jsonq.err"
	_jg_status=$?
	case $_jg_status in
	0) JSON_VALUE=$(cat "$T/jsonq.out") ;;
	2) return 1 ;;
	3)
		echo "--- $1:"
		head -c 4000 "$1"
		echo
		fail "$(cat "$T/jsonq.err")"
		;;
	*) fail "jsonq $1 '$2' failed (status $_jg_status): $(cat "$T/jsonq.err")" ;;
	esac
	return 0
}

# json_expect FILE EXPR WANT: the value at EXPR of FILE is WANT.
json_expect() {
	json_get "$1" "$2" || fail "$(basename "$1"): no $2 in $(cat "$1")"
	[ "$JSON_VALUE" = "$3" ] ||
		fail "$(basename "$1"): $2 is '$JSON_VALUE', expected '$3'"
}

# json_expect_type FILE EXPR TYPE: the value at EXPR of FILE is a TYPE
# (object, array, string, number, boolean or null).
json_expect_type() {
	json_expect "$1" "$2|type" "$3"
}

# ---- applied patches --------------------------------------------------------------

# patch_id FILE: the id of the patch FILE, from the first line of livepatch
# info ("patch:     ID"), in PATCH_ID.
patch_id() {
	run_livepatch info "$1"
	expect_status 0 "info $1"
	PATCH_ID=$(head -n 1 "$LP_OUT" | sed -n 's/^patch: *\([0-9a-f]*\)$/\1/p')
	[ "${#PATCH_ID}" -eq 16 ] ||
		fail "livepatch info $1: no 16-digit patch id on the first line"
}

# list_patches [PID]: livepatch list --json PID (default: the current
# target) must succeed and describe that one process.  Sets LIST_JSON (the
# document), LIST_N (its number of patches) and LIST_IDS (their ids,
# newest first, separated by spaces).
list_patches() {
	_lsp_pid=${1:-$TARGET_PID}
	run_livepatch_split list --json "$_lsp_pid"
	expect_status 0 "list --json $_lsp_pid"
	LIST_JSON=$LP_STDOUT
	json_expect "$LIST_JSON" '.processes|length' 1
	json_expect "$LIST_JSON" '.processes[0].pid' "$_lsp_pid"
	json_expect_type "$LIST_JSON" '.processes[0].pid' number
	json_expect_type "$LIST_JSON" '.processes[0].patches' array
	json_get "$LIST_JSON" '.processes[0].patches|length'
	LIST_N=$JSON_VALUE
	LIST_IDS=
	_lsp_i=0
	while [ "$_lsp_i" -lt "$LIST_N" ]; do
		json_get "$LIST_JSON" ".processes[0].patches[$_lsp_i].id" ||
			fail "list --json $_lsp_pid: patch $_lsp_i has no id"
		LIST_IDS="$LIST_IDS${LIST_IDS:+ }$JSON_VALUE"
		_lsp_i=$((_lsp_i + 1))
	done
}

# mapped_patches [PID]: the ids of the patches whose code is mapped in PID
# (default: the current target), sorted, one a line.
mapped_patches() {
	sed -n 's|^.* /memfd:livepatch:\([0-9a-f]\{1,\}\) (deleted)$|\1|p' \
		"/proc/${1:-$TARGET_PID}/maps" | sort -u
}

# has_journal [PID]: whether the journal of the patches is mapped in PID.
has_journal() {
	grep -q ' /memfd:livepatch:journal (deleted)$' "/proc/${1:-$TARGET_PID}/maps"
}

# expect_patches WHAT [ID...]: livepatch list --json shows exactly the
# patches ID... (newest first) in the current target, and its maps hold
# the code of exactly these patches, and the journal if there are any.
expect_patches() {
	_ep_what=$1
	shift
	list_patches "$TARGET_PID"
	# a reverted patch whose code a thread was still running stays until
	# a list finds it out: a low-priority thread on a busy machine may
	# take a while to run again and leave it
	_ep_i=0
	while [ "$LIST_IDS" != "$*" ] && [ "$_ep_i" -lt 50 ] &&
		grep -q '"state":"reverted-in-use"' "$LIST_JSON"; do
		sleep 0.2
		list_patches "$TARGET_PID"
		_ep_i=$((_ep_i + 1))
	done
	[ "$LIST_IDS" = "$*" ] ||
		fail "$_ep_what: list shows patches '$LIST_IDS', expected '$*'"
	_ep_want=$(for _ep_id in "$@"; do echo "$_ep_id"; done | sort -u)
	_ep_mapped=$(mapped_patches "$TARGET_PID")
	[ "$_ep_mapped" = "$_ep_want" ] ||
		fail "$_ep_what: the process maps the code of patches" \
			"'$(echo "$_ep_mapped" | tr '\n' ' ')', expected '$*'"
	if [ "$#" -gt 0 ]; then
		has_journal "$TARGET_PID" || fail "$_ep_what: no journal mapping in the process"
	else
		! has_journal "$TARGET_PID" ||
			fail "$_ep_what: the journal is still mapped, with no patch"
	fi
	log "$_ep_what: patches '$*' listed and mapped"
}

# save_maps FILE [PID]: a copy of /proc/PID/maps (default: the current
# target).
save_maps() {
	cat "/proc/${2:-$TARGET_PID}/maps" >"$1" ||
		fail "cannot read /proc/${2:-$TARGET_PID}/maps"
}

# expect_maps FILE WHAT [PID]: /proc/PID/maps is exactly FILE again.
expect_maps() {
	save_maps "$T/maps.now" "${3:-}"
	if ! cmp -s "$1" "$T/maps.now"; then
		echo "--- diff $1 /proc/${3:-$TARGET_PID}/maps:"
		diff "$1" "$T/maps.now"
		fail "$2: the maps of process ${3:-$TARGET_PID} differ from $(basename "$1")"
	fi
	log "$2: maps as in $(basename "$1")"
}

# use_target PID OUT: make PID (started some other way, e.g. forked by a
# target), whose output goes to the file OUT, the current target; it is
# killed on exit too.
use_target() {
	TARGET_PID=$1
	TARGET_OUT=$2
	case " $TARGET_PIDS " in
	*" $1 "*) ;;
	*) TARGET_PIDS="$TARGET_PIDS $1" ;;
	esac
}

# canonical FILE: the absolute path of FILE without symbolic links in its
# directory.
canonical() {
	echo "$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
}

# vm_rss [PID]: the resident set size of PID (default: the current target)
# in KiB.
vm_rss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/${1:-$TARGET_PID}/status"
}

# ---- the gate thread of rev.c -g FIFO ------------------------------------------

GATE_TID=
GATE_FD=

# gate_found FIFO: after ready, find the gate thread of the current target
# and the descriptor on which it reads FIFO: GATE_TID, GATE_FD.
gate_found() {
	GATE_TID=$(sed -n 's/^gate-thread //p' "$TARGET_OUT")
	[ -n "$GATE_TID" ] || fail "the target did not name its gate thread"
	GATE_FD=$(for _gf_fd in "/proc/$TARGET_PID/fd/"*; do
		[ "$(readlink "$_gf_fd")" = "$(canonical "$1")" ] && basename "$_gf_fd"
	done | head -n 1)
	[ -n "$GATE_FD" ] || fail "the target has not opened $1"
	log "gate thread $GATE_TID, FIFO on fd $GATE_FD"
}

# gate_call K: send SIGHUP for the K-th call of gate() and wait until the
# gate thread has entered it.
gate_call() {
	kill -HUP "$TARGET_PID" || assert_alive
	wait_for_line "$TARGET_OUT" "^gate-enter $1\$" 10 "$TARGET_PID" ||
		{ assert_alive; fail "the gate thread did not take SIGHUP $1"; }
}

# gate_result K V: the K-th call of gate() returns V.
gate_result() {
	wait_for_line "$TARGET_OUT" "^gate-result $1 " 10 "$TARGET_PID" ||
		{ assert_alive; fail "call $1 of gate() did not return"; }
	_gr=$(sed -n "s/^gate-result $1 //p" "$TARGET_OUT")
	[ "$_gr" = "$2" ] || fail "call $1 of gate() returned $_gr, expected $2"
	log "call $1 of gate() returned $2"
}

# gate_in_read: whether the gate thread is in read() (system call 0 on
# x86-64) on the FIFO.
gate_in_read() {
	_gir=$(cat "/proc/$TARGET_PID/task/$GATE_TID/syscall" 2>/dev/null) || return 1
	case $_gir in
	"0 0x$(printf %x "$GATE_FD") "*) return 0 ;;
	esac
	return 1
}

# gate_still_parked CALL: the gate thread's call CALL of gate() has not
# returned, and the thread is (back) in read() on the FIFO.  A stop ends
# that read(), which the kernel issues again as the thread resumes: a look
# right after a livepatch run can find the thread between the two
# ("running"), and on a busy machine, the target at nice 19, for a while
# (parked.sh failed so 2 times in 10 with three CPU hogs).
gate_still_parked() {
	_gsp=0
	while :; do
		! grep -q "^gate-result $1 " "$TARGET_OUT" ||
			fail "the parked call $1 of gate() returned before it was released"
		gate_in_read && return 0
		[ "$_gsp" -lt 100 ] || fail "the gate thread left read() before it was released:" \
			"$(cat "/proc/$TARGET_PID/task/$GATE_TID/syscall" 2>&1)"
		sleep 0.1
		_gsp=$((_gsp + 1))
	done
}

# gate_wait_parked: wait until the gate thread blocks in read() on the
# FIFO (in the patched gate()).
gate_wait_parked() {
	_gwp=0
	until gate_in_read; do
		[ "$_gwp" -lt 100 ] || fail "the gate thread is not in read() on the FIFO:" \
			"$(cat "/proc/$TARGET_PID/task/$GATE_TID/syscall" 2>&1)"
		sleep 0.1
		_gwp=$((_gwp + 1))
	done
	log "the gate thread is parked in the patch's gate()"
}

# ---- the blocked calls of blocked.c ------------------------------------------

# assert_no_reports WHAT REGEX: fail if the current target printed a line
# starting with one of REGEX's words (blocked.c: "EINTR read", ...),
# counting each kind.
assert_no_reports() {
	_anr=$(grep -E "^($2)" "$TARGET_OUT" |
		sort | uniq -c | sed 's/^ *//' | tr '\n' ';' | sed 's/;$//')
	[ -z "$_anr" ] || fail "$1: the target reported: $_anr"
}

# wake_blocked NAMES...: none of the calls NAMES of blocked.c (the current
# target) has completed yet; SIGUSR1 makes the target complete them, and
# each must say so within 10 s.
wake_blocked() {
	for _wb_name in "$@"; do
		! grep -q "^woke $_wb_name\$" "$TARGET_OUT" ||
			fail "the $_wb_name call completed before it was woken"
	done
	kill -USR1 "$TARGET_PID"
	for _wb_name in "$@"; do
		wait_for_line "$TARGET_OUT" "^woke $_wb_name\$" 10 "$TARGET_PID" ||
			{ assert_alive; fail "the $_wb_name call did not complete when woken"; }
	done
}

# ---- inspecting binaries ---------------------------------------------------------

# entry_insns ELF SYMBOL N: the first N lines of the disassembly of SYMBOL
# ("ADDR: BYTES MNEMONIC ..."); empty when objdump is not available.
entry_insns() {
	command -v objdump >/dev/null 2>&1 || return 0
	objdump -d "$1" | awk -v sym="<$2>:" -v n="$3" '
		$2 == sym { on = 1; next }
		on && NF == 0 { exit }
		on && n-- > 0 { print }'
}

# build_id ELF: the GNU build-id of ELF, empty if readelf is missing.
build_id() {
	command -v readelf >/dev/null 2>&1 || return 0
	readelf -n "$1" 2>/dev/null | sed -n 's/^ *Build ID: *//p'
}

# ---- the usual scenario ---------------------------------------------------------

# patch_and_check PATCH_TARGET_ELF CMD...: build answer-patch.c against
# PATCH_TARGET_ELF, start CMD, check it computes 42, apply the patch and
# check that every thread then computes 63 and the process keeps running.
patch_and_check() {
	_pac_elf=$1
	shift
	build_patch "$_pac_elf" "$T/answer.lpatch" "$TARGETS/answer-patch.c"
	start_target "$@"
	wait_ready
	expect_value 42
	apply "$TARGET_PID" "$T/answer.lpatch"
	expect_status 0 "apply"
	wait_all_new 63
	assert_alive_for 0.5
	expect_value 63
	stop_target "$TARGET_PID"
}

# ---- setup ------------------------------------------------------------------------

cleanup() {
	_cl_status=$?
	trap - EXIT
	for _cl_pid in $TARGET_PIDS; do
		kill -TERM "$_cl_pid" 2>/dev/null
		kill -CONT "$_cl_pid" 2>/dev/null
	done
	for _cl_pid in $TARGET_PIDS; do
		_cl_i=0
		while is_alive "$_cl_pid" && [ "$_cl_i" -lt 30 ]; do
			sleep 0.1
			_cl_i=$((_cl_i + 1))
		done
		kill -KILL "$_cl_pid" 2>/dev/null
		wait "$_cl_pid" 2>/dev/null
	done
	if [ -n "${LP_KEEP_TMP:-}" ]; then
		echo "$TEST_NAME: kept $T"
	else
		rm -rf "$T"
	fi
	exit "$_cl_status"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/livepatch-$TEST_NAME.XXXXXX") ||
	{ echo "$TEST_NAME: cannot make a temporary directory"; exit 99; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# ---- stress tests: quiet runs, timing, threads -----------------------------------

# lp_quiet ARGS...: run livepatch ARGS... within the time bound, without
# logging it (for loops of hundreds of runs); sets LP_STATUS and LP_OUT
# (a file with its stdout and stderr, overwritten by the next run).
lp_quiet() {
	LP_OUT=$T/quiet.out
	with_timeout "$LIVEPATCH" "$@" >"$LP_OUT" 2>&1
	LP_STATUS=$?
}

# The --timeout (seconds) the stress tests give each apply and revert of
# their loops: they check what a run does, not how soon a target that may
# get no CPU for seconds on a busy machine stops.
# shellcheck disable=SC2034 # used by the tests
STRESS_TIMEOUT=${LP_STRESS_TIMEOUT:-30}

# lp_must WHAT ARGS...: lp_quiet ARGS...; it must succeed.
lp_must() {
	_lm_what=$1
	shift
	lp_quiet "$@"
	[ "$LP_STATUS" -eq 0 ] || fail "$_lm_what: livepatch $* exited with $LP_STATUS"
}

# now_ms: milliseconds since the epoch (GNU date).
now_ms() {
	date +%s%3N
}

# thread_states [PID]: the state letter of every thread of PID (default:
# the current target), sorted, one a line; empty if it is gone.
thread_states() {
	for _ts in "/proc/${1:-$TARGET_PID}/task/"*/stat; do
		sed -n 's/^.*) \(.\).*$/\1/p' "$_ts" 2>/dev/null
	done | sort
}

# livepatch_runs_of_test: the PIDs of livepatch processes (however they
# were started) whose command line names a file of this test's $T, one a
# line: after a run has ended, there must be none.
livepatch_runs_of_test() {
	for _lr in /proc/[0-9]*; do
		case $(cat "$_lr/comm" 2>/dev/null) in
		livepatch | lt-livepatch) ;;
		*) continue ;;
		esac
		{ tr '\0' '\n' <"$_lr/cmdline"; } 2>/dev/null | grep -qF "$T/" &&
			basename "$_lr"
	done
}

# watchdog SECONDS: end the test (as failed) if it still runs after
# SECONDS, e.g. blocked in a read from a target that no longer answers.
watchdog() {
	(
		trap 'kill "$_wd_sleep" 2>/dev/null; exit 0' TERM
		sleep "$1" &
		_wd_sleep=$!
		wait "$_wd_sleep" || exit 0
		echo "FAIL: $TEST_NAME: still running after $1 s (watchdog)"
		kill -TERM $$
	) &
	TARGET_PIDS="$TARGET_PIDS $!" # ended on exit
}
