#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a function of a shared library loaded by a running program.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_lib "$T/libanswer.so" "$TARGETS/libanswer.c" "$NOCET_CFLAGS"
# The program itself has no answer(): it calls the library's, found next
# to it through its run path.
# shellcheck disable=SC2016
build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DUSE_LIB \
	-L"$T" -lanswer '-Wl,-rpath,$ORIGIN'
if command -v nm >/dev/null 2>&1; then
	nm "$T/hot" | grep -q ' T answer$' && fail "$T/hot defines answer() itself"
fi
patch_and_check "$T/libanswer.so" "$T/hot" 4
log "ok"
