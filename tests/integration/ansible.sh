#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Ansible example (doc/ansible/) run against localhost: the rollout
# playbook copies a patch, applies it to every process that maps its
# target and decides the host's success from livepatch's JSON; run again
# it changes nothing; with a process that cannot be patched (traced) the
# host fails, naming why; the revert playbook takes the patch back.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

command -v ansible-playbook >/dev/null 2>&1 ||
	skip "ansible-playbook is not installed (Debian package ansible-core)"
PLAYBOOKS=$top_srcdir/doc/ansible
SERVERS=$top_srcdir/tests/servers

build_lib "$T/libgreet.so" "$SERVERS/libgreet.c" "$NOCET_CFLAGS" -DGREET_BUILD=3$$
compile_target "$CC" "$T/greet-a" "$SERVERS/greet-a.c" -L"$T" -lgreet
build_patch "$T/libgreet.so" "$T/greet-fix.lpatch" "$top_srcdir/patches/greet-fix.c"
patch_id "$T/greet-fix.lpatch"
id=$PATCH_ID
outs=
for i in 1 2 3 4 5; do
	LD_LIBRARY_PATH=$T start_target "$T/greet-a"
	outs="$outs $TARGET_PID:$TARGET_OUT"
	wait_for_line "$TARGET_OUT" '^greet: ' 10 "$TARGET_PID" || fail "greet-a did not start"
done

# all_say REGEX: the last line of every greeter matches REGEX (10 s)
all_say() {
	for _as in $outs; do
		_as_i=0
		until tail -n 1 "${_as#*:}" | grep -Eq "$1"; do
			is_alive "${_as%%:*}" || fail "greeter ${_as%%:*} died"
			[ "$_as_i" -lt 100 ] || fail "greeter ${_as%%:*}: $(tail -n 1 "${_as#*:}")"
			sleep 0.1
			_as_i=$((_as_i + 1))
		done
	done
}

# playbook NAME ARGS...: run doc/ansible/NAME on localhost; sets PB_STATUS
# and PB_OUT.
playbook() {
	_pb=$1
	shift
	PB_OUT=$T/$_pb.$LP_SEQ.out
	LP_SEQ=$((LP_SEQ + 1))
	log "ansible-playbook $_pb $*"
	ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
		with_timeout ansible-playbook -i localhost, -c local \
		-e ansible_become=false -e "livepatch=$LIVEPATCH" \
		-e "ansible_python_interpreter=auto_silent" \
		"$PLAYBOOKS/$_pb" "$@" >"$PB_OUT" 2>&1
	PB_STATUS=$?
	sed 's/^/  | /' "$PB_OUT"
	log "ansible-playbook: status $PB_STATUS"
}

all_say '^greet: hello, worl$'
playbook livepatch-rollout.yml -e "patch_src=$T/greet-fix.lpatch" -e "patch_dir=$T/deploy"
[ "$PB_STATUS" -eq 0 ] || fail "the rollout failed (status $PB_STATUS)"
grep -Eq 'localhost *: ok=[0-9]+ +changed=[1-9]' "$PB_OUT" ||
	fail "the rollout reports no change"
grep -q "5 patched" "$PB_OUT" || fail "the rollout does not report 5 patched"
[ -f "$T/deploy/greet-fix.lpatch" ] || fail "the patch was not copied"
all_say '^greet: hello, world$'

# again: nothing to change
playbook livepatch-rollout.yml -e "patch_src=$T/greet-fix.lpatch" -e "patch_dir=$T/deploy"
[ "$PB_STATUS" -eq 0 ] || fail "the second rollout failed (status $PB_STATUS)"
grep -Eq 'localhost *: ok=[0-9]+ +changed=0' "$PB_OUT" ||
	fail "the second rollout changed something"
grep -q "5 already applied" "$PB_OUT" || fail "the second rollout does not count 5 already applied"

# a process that cannot be patched fails the host
compile_target "$CC" "$T/tracer" "$TARGETS/tracer.c"
LD_LIBRARY_PATH=$T start_target "$T/greet-a"
wait_for_line "$TARGET_OUT" '^greet: ' 10 "$TARGET_PID" || fail "greet-a did not start"
"$T/tracer" "$TARGET_PID" >"$T/tracer.out" 2>&1 &
TARGET_PIDS="$TARGET_PIDS $!"
wait_for_line "$T/tracer.out" '^tracing$' 10 || fail "the tracer did not attach"
playbook livepatch-rollout.yml -e "patch_src=$T/greet-fix.lpatch" -e "patch_dir=$T/deploy"
[ "$PB_STATUS" -ne 0 ] || fail "the rollout succeeded with a process it could not patch"
grep -q 'already traced by process' "$PB_OUT" || fail "the failed host does not say why"

# the revert playbook
REGRESS_OK=1
playbook livepatch-revert.yml -e "patch_id=$id"
[ "$PB_STATUS" -eq 0 ] || fail "the revert failed (status $PB_STATUS)"
all_say '^greet: hello, worl$'
log "ok"
