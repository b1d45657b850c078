#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a function of a running executable built with clang (PIE, no CET),
# four threads calling it nonstop.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

need_clang
build_target_clang "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
patch_and_check "$T/hot" "$T/hot" 4
log "ok"
