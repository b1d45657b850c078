#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Targets that end while they are being patched.  Every livepatch run must
# end, within its time bound, with success or with a clear error: status
# 11 (the target exited during the operation) or 3 (no such process);
# never another status, never a hang.  Afterwards no livepatch run of the
# test is left, the target is not left stopped or traced, and it ends the
# way it chose to (exit status 23, or SIGKILL when the test killed it),
# not by a signal livepatch caused.
#
# 0. A process whose main thread has ended (pthread_exit(): a zombie thread
#    group leader) while its other threads run is alive: apply, list and
#    revert must work.
# 1. At random points: tests/targets/dying.c ends a few milliseconds after
#    the test tells it to (exit() from main, _exit() from a worker,
#    pthread_exit() of the main thread then exit() from a worker, the
#    workers ending one by one, or SIGKILL from the test) while the test
#    applies and reverts in a loop.  2 runs a mode (20 with LP_LONG=1).
# 2. At chosen points, deterministically (needs strace and unshare -p):
#    livepatch runs under strace, which holds it at one system call
#    (strace -e inject=SYSCALL:delay_enter=...:when=N) until the test
#    kills strace, which lets livepatch go on.  The points: the borrowing
#    of a thread for the load, two remote system calls of the load, the
#    stop of every thread, the first read of the stopped target, the
#    journal write of the commit, the writes of the pad and of the entry
#    jump.  While livepatch is held the test kills the target with
#    SIGKILL, and reaps it as soon as it can.  Each case runs in a PID
#    namespace of its own, whose /proc shows only its own processes.
# 3. The main thread ending alone (pthread_exit(), the other threads
#    running on) at a chosen point where livepatch holds it seized but not
#    yet stopped: at the borrow, and at the stop of every thread.  A main
#    thread that ends so reports no stop, and its end only once the whole
#    process has ended; livepatch must not wait for either, but patch the
#    process (status 0) and leave it running.
# 4. The same as 2 with PID reuse, where livepatch has no thread of the target
#    seized (before the first seize, and between the load and the stop; a
#    seized thread that dies stays a zombie, its PID taken, until
#    livepatch reaps it): once the target is killed and reaped, the test
#    sets /proc/sys/kernel/ns_last_pid of the namespace so that the next
#    process, a new copy of the target, gets the same PID.  livepatch must
#    notice that the process is not the one it started with (status 3 or
#    11, not 0) and leave the new one alone: not stopped, not traced,
#    nothing mapped, unpatched.
# The default run kills the target at 4 of the points, ends its main
# thread at both of 3, and reuses its PID at both of 4; the long run
# (LP_LONG=1) kills it at all 8.
#
# Every case runs before the verdict: the failures are listed together.

# ---- inside the PID namespace (parts 2 to 4) -----------------------------------
# exitrace.sh --pidns LIVEPATCH TARGET PATCH DIR REUSE SYSCALL NR WHEN HOW:
# run as PID 1 of a new PID namespace (with its own /proc): start "TARGET
# never 0 1" (tests/targets/dying.c, whose main thread always waits in the
# same call: livepatch makes the same calls each time), apply PATCH under
# strace held at call WHEN of SYSCALL (number NR), kill the target then
# (HOW kill), and with REUSE=1 start a new one with the same PID; or (HOW
# leader) start "TARGET zombie 0 1" and end its main thread then.  Prints
# "KEY VALUE" lines for the test.
if [ "${1:-}" = --pidns ]; then
	lp=$2 target=$3 patch=$4 d=$5 reuse=$6 sys=$7 nr=$8 when=$9 how=${10:-kill}

	# ready_in FILE: wait (5 s at most) for "ready" in FILE.
	ready_in() {
		_ri=0
		until grep -q '^ready$' "$1" 2>/dev/null; do
			[ "$_ri" -lt 500 ] || return 1
			sleep 0.01
			_ri=$((_ri + 1))
		done
	}
	# state_of DIR: the state letter in DIR/stat (/proc/PID or a task).
	state_of() {
		sed -n 's/^.*) \(.\).*$/\1/p' "$1/stat" 2>/dev/null
	}
	# The livepatch processes of this namespace.
	lp_pids() {
		for _p in /proc/[0-9]*; do
			[ "$(cat "$_p/comm" 2>/dev/null)" = livepatch ] && basename "$_p"
		done
	}

	mode=never
	[ "$how" = leader ] && mode=zombie
	"$target" "$mode" 0 1 >"$d/old.out" 2>&1 &
	old=$!
	ready_in "$d/old.out" || { echo "error the target did not start"; exit 1; }
	# livepatch, our child, stops itself before it starts, so that strace
	# is attached (-p) from its first system call on; strace holds it at
	# the chosen call for up to a minute, and the test ends the hold by
	# killing strace, which lets it go on.
	sh -c 'kill -STOP $$; exec "$@"' sh "$lp" apply "$old" "$patch" >"$d/lp.out" 2>&1 &
	lpp=$!
	n=0
	until [ "$(state_of "/proc/$lpp")" = T ]; do
		[ "$n" -lt 500 ] || { echo "error livepatch did not stop"; exit 1; }
		sleep 0.01
		n=$((n + 1))
	done
	strace -o "$d/strace.out" -p "$lpp" -e trace=ptrace,pread64,pwrite64 -e signal=none \
		-e inject="$sys:delay_enter=60000000:when=$when" 2>"$d/strace.err" &
	st=$!
	n=0
	until grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$lpp/status"; do
		[ "$n" -lt 500 ] || { echo "error strace did not attach"; exit 1; }
		sleep 0.01
		n=$((n + 1))
	done
	kill -CONT "$lpp"
	# Held: the same call in the same place, three times 20 ms apart.
	same=0 prev='' n=0 cur=''
	while [ "$same" -lt 2 ] && [ "$n" -lt 1000 ]; do
		sleep 0.02
		n=$((n + 1))
		read -r cur 2>/dev/null <"/proc/$lpp/syscall" || break
		case $cur in
		"$nr "*) if [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0; fi ;;
		*) same=0 ;;
		esac
		prev=$cur
	done
	if [ "$same" -ge 2 ]; then
		echo "held $cur"
	else
		echo "not-held"
	fi
	new=
	if [ "$reuse" = 1 ] && ! grep -q '^TracerPid:[[:space:]]*0$' "/proc/$old/status"; then
		# Never waits for a reaping that cannot come.
		echo "error the target is traced at this point: no PID reuse"
		reuse=0
	fi
	if [ "$how" = leader ]; then
		# its main thread ends (pthread_exit()): a zombie, or stopped
		# on its way out (traced by livepatch)
		kill -USR1 "$old"
		n=0
		until [ "$n" -ge 500 ]; do
			state=$(state_of "/proc/$old/task/$old")
			case $state in Z | t) break ;; esac
			sleep 0.01
			n=$((n + 1))
		done
		echo "leader-state $state"
	else
		kill -KILL "$old"
	fi
	if [ "$reuse" = 1 ]; then
		# At these points livepatch has no thread of the target seized:
		# the killed target is reaped at once and its PID is free.  (A
		# thread livepatch has seized stays a zombie, and keeps its PID,
		# until livepatch reaps it: no reuse is possible then.)
		wait "$old"
		echo "old $old $?"
		# The next PID is the old one; the PIDs after it come from
		# where they were, not from the bottom again: the guard below
		# must not get livepatch's PID, reaped by the wait for strace,
		# or "wait $lpp" waits for the guard (status 137 after 30 s).
		last=$(cat /proc/sys/kernel/ns_last_pid)
		echo $((old - 1)) >/proc/sys/kernel/ns_last_pid
		"$target" never 0 1 >"$d/new.out" 2>&1 &
		new=$!
		echo "$last" >/proc/sys/kernel/ns_last_pid
		echo "new $new"
		ready_in "$d/new.out" || echo "error the new target did not start"
	fi
	# Let livepatch go on; it has 30 s to end.
	kill -KILL "$st"
	wait "$st"
	(
		sleep 30
		kill -KILL "$lpp"
	) &
	guard=$!
	if [ "$reuse" != 1 ] && [ "$how" = kill ]; then
		# Reaped by its parent as soon as livepatch lets go of it.
		wait "$old"
		echo "old $old $?"
	fi
	wait "$lpp"
	echo "status $?"
	kill "$guard"
	echo "stray $(lp_pids | wc -l)"
	if [ "$how" = leader ]; then
		live=0 traced=0
		for t in "/proc/$old/task/"*; do
			case $(state_of "$t") in
			Z | X | x | '') continue ;;
			esac
			live=$((live + 1))
			grep -q '^TracerPid:[[:space:]]*0$' "$t/status" || traced=$((traced + 1))
		done
		echo "leader-live $live"
		echo "leader-traced $traced"
		echo "leader-mapped $(grep -c 'memfd:livepatch' "/proc/$old/task/$(ls "/proc/$old/task" | tail -n 1)/maps")"
		kill -KILL "$old"
		wait "$old"
	fi
	if [ -n "$new" ]; then
		echo "new-state $(state_of "/proc/$new")"
		echo "new-tracer $(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$new/status")"
		echo "new-mapped $(grep -c 'memfd:livepatch' "/proc/$new/maps")"
		kill -USR2 "$new"
		n=0
		until grep -q '^status ' "$d/new.out" || [ "$n" -ge 100 ]; do
			sleep 0.05
			n=$((n + 1))
		done
		echo "new-value $(sed -n 's/^status [0-9]* \([^ ]*\) .*$/\1/p' "$d/new.out" | head -n 1)"
		kill -KILL "$new"
		wait "$new"
	fi
	exit 0
fi

# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

RUNS=2
[ "${LP_LONG:-}" = 1 ] && RUNS=20
EXIT_STATUS=23
FAILURES=

# problem TEXT: note a failure, go on with the other cases.
problem() {
	echo "PROBLEM: $TEST_NAME: $*"
	FAILURES="$FAILURES
  - $*"
}

# live_threads PID: the number of threads of PID that are not dead.
live_threads() {
	thread_states "$1" | grep -cv '^[ZXx]$'
}

# dying PID: is process PID gone or on its way out, as livepatch's status
# 11 says (lp_proc_dying())?  Every thread is a zombie, or exiting
# (PF_EXITING, 0x4, in its flags), or has SIGKILL pending.  A process said
# to be dying may still have threads that have not finished their exit:
# they need a CPU to do it, which a busy machine gives them late.
dying() {
	for _dy in "/proc/$1/task/"*; do
		[ -d "$_dy" ] || continue
		_st=$(sed -n 's/^.*) \(.\) [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* \([0-9]*\) .*$/\1 \2/p' "$_dy/stat" 2>/dev/null)
		[ -n "$_st" ] || continue
		case ${_st% *} in Z | X | x) continue ;; esac
		[ $((${_st#* } & 4)) -eq 0 ] || continue
		_pnd=$(sed -n 's/^SigPnd:[[:space:]]*//p' "$_dy/status" 2>/dev/null)
		[ -n "$_pnd" ] || continue
		[ $((0x${_pnd#????????} & 0x100)) -eq 0 ] || continue
		return 1
	done
	return 0
}

# get KEY: VALUE of the line "KEY VALUE" the last run in a PID namespace
# printed.
get() {
	sed -n "s/^$1 //p" "$T/ns.out" | head -n 1
}

# no_stray WHAT: no livepatch run of this test is left.
no_stray() {
	_ns=$(livepatch_runs_of_test | tr '\n' ' ')
	[ -z "$_ns" ] || problem "$1: livepatch processes left: $_ns"
}

build_target "$T/dying" "$TARGETS/dying.c" "$NOCET_CFLAGS"
build_patch "$T/dying" "$T/dying.lpatch" "$TARGETS/answer-patch.c"
patch_id "$T/dying.lpatch"
dying_id=$PATCH_ID

# ---- 1. random points --------------------------------------------------------------
# A first apply, logged, skips the test where ptrace is not allowed.
start_target "$T/dying" never 0
wait_ready
apply "$TARGET_PID" "$T/dying.lpatch"
expect_status 0 "apply to a target that does not end"
stop_target "$TARGET_PID"

# ---- 0. a zombie thread group leader ---------------------------------------------
# The main thread has ended (pthread_exit), the others run on: the process
# is alive and can be patched, listed and reverted like any other.
start_target "$T/dying" zombie 0 2
wait_ready
pid=$TARGET_PID
kill -USR1 "$pid"
n=0
until [ "$(proc_state "$pid")" = Z ] || [ "$n" -ge 100 ]; do
	sleep 0.05
	n=$((n + 1))
done
[ "$(proc_state "$pid")" = Z ] || fail "the main thread of $pid did not end"
[ "$(live_threads "$pid")" -eq 2 ] || fail "the workers of $pid did not run on"
# mapped_in_threads: the livepatch mappings a live thread of $pid sees.
mapped_in_threads() {
	for _mt in "/proc/$pid/task/"*; do
		[ "$(proc_state "$pid/task/${_mt##*/}")" = Z ] && continue
		grep -c 'memfd:livepatch' "$_mt/maps"
		break
	done
}
for op in apply list revert; do
	case $op in
	apply) run_livepatch apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/dying.lpatch" ;;
	list) run_livepatch list "$pid" ;;
	revert) run_livepatch revert --timeout "$STRESS_TIMEOUT" "$pid" "$dying_id" ;;
	esac
	if [ "$LP_STATUS" -ne 0 ]; then
		problem "$op in a process whose main thread has ended: status $LP_STATUS:" \
			"$(head -n 2 "$LP_OUT" | tr '\n' ' ')"
	elif [ "$op" = apply ] && [ "$(mapped_in_threads)" -eq 0 ]; then
		problem "apply in a process whose main thread has ended: nothing is mapped"
	elif [ "$op" = list ] && ! grep -q "$dying_id" "$LP_OUT"; then
		problem "list in a process whose main thread has ended does not show the patch"
	elif [ "$op" = revert ] && [ "$(mapped_in_threads)" -ne 0 ]; then
		problem "revert in a process whose main thread has ended: the patch stays mapped"
	fi
done
stop_target "$pid"

statuses=
seed=${LP_EXITRACE_SEED:-1}
started=$(now_ms)
for mode in exit worker leader threads never; do
	run=1
	while [ "$run" -le "$RUNS" ]; do
		# A delay of 0 to 40 ms, from a fixed sequence.
		seed=$(((seed * 1103515245 + 12345) % 2147483648))
		delay=$((seed / 16 % 40000))
		what="$mode run $run (delay $delay us)"
		start_target "$T/dying" "$mode" "$delay" 2
		wait_ready
		pid=$TARGET_PID
		kill -USR1 "$pid"
		killer=
		if [ "$mode" = never ]; then
			(
				sleep "$(awk "BEGIN { print $delay / 1e6 }")"
				kill -KILL "$pid"
			) &
			killer=$!
		fi
		ops=0
		while [ "$ops" -lt 100 ]; do
			if [ $((ops % 2)) -eq 0 ]; then
				lp_quiet apply --timeout "$STRESS_TIMEOUT" "$pid" "$T/dying.lpatch"
			else
				lp_quiet revert --timeout "$STRESS_TIMEOUT" "$pid" "$dying_id"
			fi
			ops=$((ops + 1))
			statuses="$statuses $LP_STATUS"
			case $LP_STATUS in
			0) continue ;;
			3 | 11)
				dying "$pid" ||
					problem "$what: livepatch said status $LP_STATUS, but the" \
						"target runs on (threads: $(thread_states "$pid" | tr '\n' ' ')):" \
						"$(head -n 3 "$LP_OUT")"
				;;
			124 | 137) problem "$what: livepatch did not end within $TOOL_TIMEOUT s" ;;
			*) problem "$what: status $LP_STATUS: $(head -n 3 "$LP_OUT" | tr '\n' ' ')" ;;
			esac
			break
		done
		[ -z "$killer" ] || wait "$killer"
		no_stray "$what"
		# The target ends by itself; it must not stay stopped or traced.
		n=0
		while [ "$(live_threads "$pid")" -gt 0 ] && [ "$n" -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ "$(live_threads "$pid")" -gt 0 ]; then
			problem "$what: the target did not end; its threads are in states" \
				"$(thread_states "$pid" | tr '\n' ' ')"
			stop_target "$pid"
		else
			wait "$pid"
			rc=$?
			forget_target "$pid"
			want=$EXIT_STATUS
			[ "$mode" = never ] && want=137
			[ "$rc" -eq "$want" ] ||
				problem "$what: the target ended with status $rc, expected $want"
		fi
		run=$((run + 1))
	done
done
log "random points: $((5 * RUNS)) runs in $(($(now_ms) - started)) ms; statuses:$(echo "$statuses" | tr ' ' '\n' | sed '/^$/d' | sort | uniq -c |
	awk '{ printf " %s x%s", $2, $1 }')"

# ---- 2. and 3. chosen points, and PID reuse -----------------------------------------
points=
if ! command -v strace >/dev/null 2>&1 ||
	! strace -o /dev/null -e trace=none true 2>/dev/null; then
	log "no strace that can trace here: the chosen points and PID reuse are not tested"
elif ! command -v unshare >/dev/null 2>&1 ||
	! unshare -p -f --mount-proc sh -c 'echo 100 >/proc/sys/kernel/ns_last_pid' 2>/dev/null; then
	log "no PID namespace (unshare -p -f --mount-proc) here:" \
		"the chosen points and PID reuse are not tested"
else
	# A dry run numbers the calls: the same target, the same apply.
	"$T/dying" never 0 1 >"$T/dry.out" 2>&1 &
	dry=$!
	TARGET_PIDS="$TARGET_PIDS $dry"
	wait_for_line "$T/dry.out" '^ready$' 10 "$dry" || fail "dying did not start"
	strace -o "$T/dry.strace" -e trace=ptrace,pread64,pwrite64 -e signal=none \
		"$LIVEPATCH" apply "$dry" "$T/dying.lpatch" >"$T/dry.lp" 2>&1 ||
		fail "the apply under strace failed: $(cat "$T/dry.lp")"
	stop_target "$dry"
	# P_SEIZE2: the first seize of the stop; P_LOAD1 and P_LOAD2: calls a
	# third and two thirds through the load; R_VERIFY: the first read of
	# the stopped target (its journal and code are read again); W_COMMIT:
	# the first write of the stop (the journal); W_ENTRY: the write of the
	# entry jump, the third of the stop (after the journal and the pad).
	eval "$(awk '
		/^ptrace\(/ { np++ }
		/^pwrite64\(/ { nw++ }
		/^pread64\(/ { nr++ }
		/^pread64\(/ && s2 && !rv { rv = nr }
		/^ptrace\(PTRACE_SEIZE/ { if (++seizes == 2) s2 = np }
		/^ptrace\(PTRACE_INTERRUPT/ && !bi { bi = np }
		/^ptrace\(PTRACE_INTERRUPT/ && s2 && !si { si = np }
		/^ptrace\(PTRACE_DETACH/ && !det { det = np }
		/^pwrite64\(/ && s2 && !wc { wc = nw }
		/^pwrite64\(/ && s2 && ++ns == 3 { we = nw }
		END {
			printf "P_SEIZE2=%d P_LOAD1=%d P_LOAD2=%d R_VERIFY=%d W_COMMIT=%d W_ENTRY=%d P_BINT=%d P_SINT=%d\n",
				s2, int(det / 3), int(det * 2 / 3), rv, wc, we, bi, si
		}
	' "$T/dry.strace")"
	log "dry run: the stop begins at ptrace call $P_SEIZE2, its checks at" \
		"pread64 call $R_VERIFY, the commit at pwrite64 call $W_COMMIT; the" \
		"entry jump is pwrite64 call $W_ENTRY"
	if [ "$P_SEIZE2" -eq 0 ] || [ "$P_LOAD1" -lt 2 ] || [ "$R_VERIFY" -eq 0 ] || [ "$W_COMMIT" -eq 0 ] ||
		[ "$W_ENTRY" -eq 0 ] || [ "$P_BINT" -eq 0 ] || [ "$P_SINT" -le "$P_SEIZE2" ]; then
		fail "cannot number the calls of the dry run: $(head -c 2000 "$T/dry.strace")"
	fi
	# NAME:SYSCALL:NUMBER:WHEN:WAYS, WAYS k (killed), r (killed, and the
	# PID reused) and l (the main thread ended) in the default run, K and
	# R in the long run only.
	# PID reuse only where livepatch has no thread of the target seized,
	# before the first seize and between the load and the stop.
	points="borrow:ptrace:101:1:Kr load:ptrace:101:$P_LOAD1:K"
	points="$points load:ptrace:101:$P_LOAD2:k stop:ptrace:101:$P_SEIZE2:Kr"
	points="$points verify:pread64:17:$R_VERIFY:k"
	points="$points commit:pwrite64:18:$W_COMMIT:k pad:pwrite64:18:$((W_ENTRY - 1)):K"
	points="$points entry:pwrite64:18:$W_ENTRY:k"
	points="$points borrow-interrupt:ptrace:101:$P_BINT:l stop-interrupt:ptrace:101:$P_SINT:l"
	[ "${LP_LONG:-}" = 1 ] && points=$(echo "$points" | tr KR kr)
fi
started=$(now_ms)
for pass in kill reuse leader; do
	reuse=0 how=kill
	[ "$pass" = reuse ] && reuse=1
	[ "$pass" = leader ] && how=leader
	for point in $points; do
		name=$(echo "$point" | cut -d: -f1)
		sys=$(echo "$point" | cut -d: -f2)
		nr=$(echo "$point" | cut -d: -f3)
		when=$(echo "$point" | cut -d: -f4)
		ways=$(echo "$point" | cut -d: -f5)
		case $pass.$ways in
		kill.*k* | reuse.*r* | leader.*l*) ;;
		*) continue ;;
		esac
		what="killed at $name ($sys call $when)"
		[ "$reuse" = 1 ] && what="$what, PID reused"
		[ "$how" = leader ] && what="main thread ended at $name ($sys call $when)"
		log "--- $what"
		rm -rf "$T/ns"
		mkdir "$T/ns"
		timeout -k 5 60 unshare -p -f --mount-proc sh "$0" --pidns "$LIVEPATCH" \
			"$T/dying" "$T/dying.lpatch" "$T/ns" "$reuse" "$sys" "$nr" "$when" "$how" \
			>"$T/ns.out" 2>&1
		rc=$?
		sed 's/^/  | /' "$T/ns.out"
		sed 's/^/  | livepatch: /' "$T/ns/lp.out"
		[ "$rc" -eq 0 ] || { problem "$what: the run failed (status $rc)"; continue; }
		if grep -q '^error ' "$T/ns.out"; then
			problem "$what: $(sed -n 's/^error //p' "$T/ns.out" | head -n 1)"
			continue
		fi
		grep -q '^held ' "$T/ns.out" || problem "$what: livepatch was never held at that call"
		# Killed, the target may still be patched before it is gone (0);
		# a reused PID must be noticed.
		status=$(get status)
		case $pass.$status in
		kill.0 | kill.3 | kill.11 | reuse.3 | reuse.11 | leader.0) log "$what: status $status" ;;
		*) problem "$what: status $status: $(tr '\n' ' ' <"$T/ns/lp.out")" ;;
		esac
		[ "$(get stray)" = 0 ] || problem "$what: livepatch processes left"
		if [ "$how" = leader ]; then
			case $(get leader-state) in
			Z | t) ;;
			*) problem "$what: the main thread did not end (state '$(get leader-state)')" ;;
			esac
			[ "$(get leader-live)" = 1 ] ||
				problem "$what: $(get leader-live) threads run, expected the worker"
			[ "$(get leader-traced)" = 0 ] ||
				problem "$what: $(get leader-traced) threads are left traced"
			[ "$(get leader-mapped)" -gt 0 ] ||
				problem "$what: the patch is not mapped in the process"
			continue
		fi
		[ "$reuse" = 1 ] || continue
		old=$(get old | cut -d' ' -f1)
		new=$(get new)
		if [ "$new" != "$old" ]; then
			problem "$what: the new process got PID $new, not $old"
			continue
		fi
		state=$(get new-state)
		case $state in
		S | R) ;;
		*) problem "$what: the new process is in state '$state'" ;;
		esac
		tracer=$(get new-tracer)
		[ "$tracer" = 0 ] || problem "$what: the new process is traced by $tracer"
		mapped=$(get new-mapped)
		[ "$mapped" = 0 ] || problem "$what: the new process maps $mapped livepatch segments"
		value=$(get new-value)
		[ "$value" = 42 ] || problem "$what: answer() gives '$value' in the new process, expected 42"
	done
done

[ -z "$points" ] || log "chosen points: $(($(now_ms) - started)) ms"
[ -z "$FAILURES" ] || fail "$(echo "$FAILURES" | grep -c .) problems:$FAILURES"
log "ok"
