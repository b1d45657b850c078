#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Patch a function of a running non-PIE executable (gcc, fixed addresses).
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS" -no-pie -fno-pie
if command -v readelf >/dev/null 2>&1; then
	readelf -h "$T/hot" | grep -q 'Type: *EXEC' ||
		fail "$T/hot is not a non-PIE executable"
fi
patch_and_check "$T/hot" "$T/hot" 4
log "ok"
