#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion (doc/bash-completion/livepatch) offers the commands
# and options of livepatch and livepatch-build, the running PIDs, patch
# files, and the ids of the patches applied in the process named.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

command -v bash >/dev/null 2>&1 || skip "bash is not installed"

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$T/fix.lpatch" "$TARGETS/answer-patch.c"
: >"$T/notes.txt"
start_target "$T/hot" 1
wait_ready
apply "$TARGET_PID" "$T/fix.lpatch"
expect_status 0 "apply"
id=$("$LIVEPATCH" info "$T/fix.lpatch" | sed -n 's/^patch: *//p')

# complete WORDS...: what the completion offers for the last word
complete_words() {
	PATH="$top_builddir:$PATH" bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		if [[ $1 == livepatch ]]; then _livepatch; else _livepatch_build; fi
		printf "%s\n" "${COMPREPLY[@]}"' \
		sh "$top_srcdir/doc/bash-completion/livepatch" "$@" 2>&1
}

# expect_offer WANT WORDS...: WANT is among the offers
expect_offer() {
	_eo_want=$1
	shift
	complete_words "$@" >"$T/offers.txt"
	grep -qx -- "$_eo_want" "$T/offers.txt" ||
		fail "completing '$*' does not offer $_eo_want (offers: $(tr '\n' ' ' <"$T/offers.txt"))"
}

# expect_no_offer NOT WORDS...: NOT is not among the offers
expect_no_offer() {
	_eno=$1
	shift
	complete_words "$@" >"$T/offers.txt"
	! grep -qx -- "$_eno" "$T/offers.txt" ||
		fail "completing '$*' offers $_eno"
}

for c in apply revert list info check; do
	expect_offer "$c" livepatch ""
done
expect_offer --version livepatch --
expect_offer --replace livepatch apply --
expect_offer --json livepatch list --j
expect_offer --all livepatch revert --
expect_offer strict livepatch apply --mode ""
expect_offer "$TARGET_PID" livepatch apply --mode strict "$TARGET_PID"
expect_no_offer --replace livepatch revert --
expect_offer "$TARGET_PID" livepatch apply "$TARGET_PID"
expect_offer "$T/fix.lpatch" livepatch apply "$TARGET_PID" "$T/f"
expect_no_offer "$T/notes.txt" livepatch apply "$TARGET_PID" "$T/"
expect_offer "$id" livepatch revert "$TARGET_PID" ""
expect_offer --all livepatch revert "$TARGET_PID" ""
expect_offer "$T/fix.lpatch" livepatch info "$T/"
expect_offer "$T/fix.lpatch" livepatch apply --all "$T/f"
expect_offer --jobs livepatch apply --all --j
expect_offer --target livepatch-build --t
expect_offer "$T/notes.txt" livepatch-build -o "$T/n"
log "ok"
