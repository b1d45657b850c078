#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every option and command that --help shows is in the manual page: for
# livepatch (livepatch(1)) and livepatch-build (livepatch-build(1)); the
# page on writing patches names every macro of patch.h.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# in_page PAGE WORD: WORD (an option like --json, or a name) is in PAGE's
# source, where roff writes each "-" as "\-".
in_page() {
	_ip=$(printf '%s' "$2" | sed 's/-/\\\\-/g')
	grep -q -- "$_ip" "$1" || grep -q -- "$2" "$1"
}

check_help() {
	_ch_prog=$1
	_ch_page=$2
	"$_ch_prog" --help >"$T/help.txt" 2>&1 || fail "$_ch_prog --help failed"
	_ch_opts=$(grep -o -- '--[a-z][a-z-]*' "$T/help.txt" | sort -u)
	[ -n "$_ch_opts" ] || fail "$_ch_prog --help shows no option"
	for _ch_o in $_ch_opts; do
		in_page "$_ch_page" "$_ch_o" ||
			fail "$(basename "$_ch_prog") option $_ch_o is not in $(basename "$_ch_page")"
	done
	log "$(basename "$_ch_prog"): $(echo "$_ch_opts" | wc -l) options, all in $(basename "$_ch_page")"
}

check_help "$LIVEPATCH" "$top_srcdir/doc/livepatch.1"
check_help "$LIVEPATCH_BUILD" "$top_srcdir/doc/livepatch-build.1"

# the commands of livepatch, from its usage lines
cmds=$("$LIVEPATCH" --help | sed -n 's/^\(Usage:\)\{0,1\} *livepatch \([a-z][a-z]*\) .*$/\2/p' | sort -u)
[ -n "$cmds" ] || fail "livepatch --help shows no command"
for c in $cmds; do
	grep -q "^\.B livepatch $c" "$top_srcdir/doc/livepatch.1" ||
		fail "command $c is not in the synopsis of livepatch.1"
	"$LIVEPATCH" "$c" --help >/dev/null 2>&1 || fail "livepatch $c --help fails"
done
log "commands: $(echo "$cmds" | tr '\n' ' ')"

# every macro of patch.h is in livepatch-patch(7)
macros=$(sed -n 's/^#define \(LIVEPATCH_[A-Z]*\)(.*/\1/p' "$top_srcdir/include/livepatch/patch.h")
[ -n "$macros" ] || fail "no macro found in patch.h"
for m in $macros; do
	grep -q "$m" "$top_srcdir/doc/livepatch-patch.7" ||
		fail "macro $m is not in livepatch-patch.7"
done
log "macros: $(echo "$macros" | tr '\n' ' ')"
log "ok"
