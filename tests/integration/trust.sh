#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run as root, livepatch apply refuses a patch file that its group or
# others may write, or that belongs to neither root nor the target's
# owner (exit status 16, one line saying why), unless --insecure-file is
# given; a file of the target's owner is accepted.  The target is left
# unchanged by each refusal.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

[ "$(id -u)" -eq 0 ] || skip "the checks apply to root only"
command -v setpriv >/dev/null 2>&1 || skip "setpriv is not installed"
user=4242

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/fix.lpatch" "$TARGETS/answer-patch.c"
chmod 755 "$T"
start_target "$T/hot" 1
wait_ready

# refused: writable by the group, by others, owned by a stranger
for how in g+w o+w chown; do
	cp "$T/fix.lpatch" "$T/$how.lpatch"
	chmod 644 "$T/$how.lpatch"
	if [ "$how" = chown ]; then
		chown "$user" "$T/$how.lpatch"
	else
		chmod "$how" "$T/$how.lpatch"
	fi
	run_livepatch_split apply --json "$TARGET_PID" "$T/$how.lpatch"
	expect_status 16 "apply of a patch file made $how"
	expect_one_error_line "apply of a patch file made $how"
	grep -q 'insecure-file' "$LP_STDERR" || fail "the refusal does not name the override"
	json_expect "$LP_STDOUT" .exit_status 16
	expect_unchanged "patch file made $how"
done

# the override
apply --insecure-file "$TARGET_PID" "$T/chown.lpatch"
expect_status 0 "apply with --insecure-file"
wait_all_new 63
stop_target "$TARGET_PID"

# a file of the target's owner, the target running as that user
cp "$T/hot" "$T/hot-user"
chown "$user" "$T/hot-user"
start_target setpriv --reuid="$user" --regid="$user" --clear-groups "$T/hot-user" 1
wait_ready
cp "$T/fix.lpatch" "$T/user.lpatch"
chown "$user" "$T/user.lpatch"
chmod 644 "$T/user.lpatch"
apply "$TARGET_PID" "$T/user.lpatch"
expect_status 0 "apply of the target owner's file"
wait_all_new 63
log "ok"
