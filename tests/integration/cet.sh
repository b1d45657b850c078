#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a function that starts with endbr64 (-fcf-protection), built with
# gcc and, when there is one, with clang.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# check_endbr ELF: answer() must start with endbr64 followed by the pad.
check_endbr() {
	_insns=$(entry_insns "$1" answer 2)
	if [ -z "$_insns" ]; then
		log "no objdump: not checking the entry of answer()"
		return
	fi
	echo "$_insns" | sed 's/^/  | /'
	echo "$_insns" | head -n 1 | grep -q endbr64 ||
		fail "answer() in $1 does not start with endbr64"
	echo "$_insns" | sed -n 2p | grep -Eq 'nop|xchg +%ax,%ax' ||
		fail "answer() in $1 has no NOP after endbr64"
}

build_target "$T/hot-gcc" "$TARGETS/hot.c" -fcf-protection=full
check_endbr "$T/hot-gcc"
patch_and_check "$T/hot-gcc" "$T/hot-gcc" 4

if [ -z "$CLANG" ]; then
	log "no clang: only the gcc part ran"
	exit 0
fi
build_target_clang "$T/hot-clang" "$TARGETS/hot.c" -fcf-protection=full
check_endbr "$T/hot-clang"
patch_and_check "$T/hot-clang" "$T/hot-clang" 4
log "ok"
