#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# liblivepatch exports exactly its public API, each symbol versioned: the
# list in src/lib/liblivepatch.sym, nothing of its internals.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

lib=$top_builddir/.libs/liblivepatch.so
[ -e "$lib" ] || skip "no $lib (static build?)"
command -v nm >/dev/null 2>&1 || skip "nm is not installed"

nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort >"$T/exported"
sed -n 's/^[[:space:]]*\(lp_[a-z_]*\);$/\1/p' "$top_srcdir/src/lib/liblivepatch.sym" |
	sort >"$T/expected"
[ -s "$T/expected" ] || fail "no symbol read from liblivepatch.sym"
diff -u "$T/expected" "$T/exported" || fail "the exported symbols differ from liblivepatch.sym"
grep -v '^lp_' "$T/exported" && fail "a symbol outside the lp_ API is exported"
# every public function is declared in the public header
while read -r sym; do
	grep -q "$sym(" "$top_srcdir/include/livepatch/livepatch.h" ||
		fail "$sym is exported but not declared in livepatch.h"
done <"$T/expected"
objdump -T "$lib" 2>/dev/null | grep -q 'LIVEPATCH_0' ||
	fail "the exported symbols carry no version"
log "$(wc -l <"$T/exported") symbols, all public, versioned LIVEPATCH_0"
log "ok"
