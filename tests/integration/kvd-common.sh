# shellcheck shell=sh disable=SC2154 # top_srcdir and the rest: common.sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Helpers for the tests of the kvd example patches (kvd-*.sh), sourced
# after common.sh.  kvd_setup builds the client (tests/targets/kvclient.c)
# and starts it behind two FIFOs: the test writes a command and reads the
# answer line with "read", so connections stay open from one step to the
# next (sh has no /dev/tcp).

KVD=$top_builddir/tests/servers/kvd
# shellcheck disable=SC2034 # used by the tests
KVD_PATCHES=$top_srcdir/patches
KV_PID=
KV_REPLY=
KVD_PORT=

kvd_setup() {
	[ -x "$KVD" ] || fail "$KVD is not built"
	# The crash demonstrations must not leave core files behind.
	# shellcheck disable=SC3045 # dash, bash and busybox sh have -c
	ulimit -c 0 2>/dev/null
	compile_target "$CC" "$T/kvclient" "$TARGETS/kvclient.c"
	mkfifo "$T/kv.in" "$T/kv.out" || fail "cannot make the client's FIFOs"
	"$T/kvclient" <"$T/kv.in" >"$T/kv.out" 2>"$T/kvclient.err" &
	KV_PID=$!
	TARGET_PIDS="$TARGET_PIDS $KV_PID" # killed on exit
	# Both ends open in the order the client opens them: no deadlock.
	exec 8>"$T/kv.in" 9<"$T/kv.out"
}

# kv COMMAND: send a command to the client (see kvclient.c: "N REQUEST",
# "+N PORT", "-N"); its one-line answer is in KV_REPLY.
kv() {
	is_alive "$KV_PID" || fail "kvclient is gone: $(cat "$T/kvclient.err")"
	printf '%s\n' "$1" >&8 || fail "cannot write to kvclient"
	IFS= read -r KV_REPLY <&9 ||
		fail "no answer from kvclient: $(cat "$T/kvclient.err")"
	# Long keys are logged as k*LENGTH.  Not with log(): the echo of sh
	# would interpret the backslashes.
	printf '%s: %s -> %s\n' "$TEST_NAME" "$1" "$KV_REPLY" | awk '{
		out = ""
		while (match($0, /kkkkkkkkkkkkkkkk+/)) {
			out = out substr($0, 1, RSTART - 1) "k*" RLENGTH
			$0 = substr($0, RSTART + RLENGTH)
		}
		print out $0
	}'
}

# kv_expect CONN REQUEST ANSWER: REQUEST on connection CONN is answered
# with ANSWER.
kv_expect() {
	kv "$1 $2"
	[ "$KV_REPLY" = "$3" ] ||
		fail "connection $1: '$2' answered '$KV_REPLY', expected '$3'"
}

# kv_open CONN PORT: open connection CONN to 127.0.0.1:PORT.
kv_open() {
	kv "+$1 $2"
	[ "$KV_REPLY" = connected ] ||
		fail "cannot open connection $1 to port $2: $KV_REPLY"
}

# start_kvd: start a kvd on a free port; it becomes the current target
# (TARGET_PID), and KVD_PORT its port.
start_kvd() {
	_sk_port=$T/kvd$((TARGET_SEQ + 1)).port
	start_target "$KVD" 0 "$_sk_port"
	# shellcheck disable=SC2153 # set by start_target
	wait_for_line "$TARGET_OUT" '^kvd: listening' 10 "$TARGET_PID" ||
		{ assert_alive; fail "kvd did not start within 10 seconds"; }
	KVD_PORT=$(cat "$_sk_port")
	[ -n "$KVD_PORT" ] || fail "kvd wrote no port to $_sk_port"
	log "kvd $TARGET_PID listens on 127.0.0.1:$KVD_PORT"
}

# start_time PID: the start time of PID (field 22 of /proc/PID/stat):
# the same PID and start time mean the same process, not a new one.
start_time() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# expect_killed_by PID SIGNUM: PID (a kvd the test started) dies within 10
# seconds, killed by signal number SIGNUM.
expect_killed_by() {
	_ekb_i=0
	while is_alive "$1"; do
		[ "$_ekb_i" -lt 100 ] || fail "process $1 did not die"
		sleep 0.1
		_ekb_i=$((_ekb_i + 1))
	done
	wait "$1" 2>/dev/null
	_ekb_rc=$?
	_ekb_sig=SIG$(kill -l "$2")
	[ "$_ekb_rc" -eq $((128 + $2)) ] ||
		fail "process $1 ended with status $_ekb_rc, expected $((128 + $2)) ($_ekb_sig)"
	log "process $1 was killed by $_ekb_sig"
}

# kvd_apply PID PATCH.lpatch: apply, which must succeed; sets PATCH_ID.
kvd_apply() {
	patch_id "$2"
	apply -v "$1" "$2"
	expect_status 0 "apply $(basename "$2") to kvd $1"
	assert_alive "$1"
}

# kvd_revert PID ID: revert, which must succeed.
kvd_revert() {
	run_livepatch revert -v "$1" "$2"
	expect_status 0 "revert $2 in kvd $1"
	expect_reverted "$LP_OUT" "$2" "$1"
	assert_alive "$1"
}
