/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixes kvd's request counter (tests/servers/kvd): stats_record(), called
 * once for every request answered, only counts the failed ones, so STATS
 * always reports "requests 0".
 *
 * The replacement counts every request in stats.c's static "count", as
 * well as the failures.  kvd has two static variables named "count" (in
 * stats.c, the requests; in store.c, the number of keys), so the patch
 * names the one it means with LIVEPATCH_SYMBOL.  "failures" is defined
 * only once and needs no such line.  The requests answered before the
 * patch was applied stay uncounted; STATS RESET starts afresh.
 *
 *     livepatch-build -t tests/servers/kvd -o kvd-stats-fix.lpatch \
 *         patches/kvd-stats-fix.c
 *     livepatch apply -v PID kvd-stats-fix.lpatch
 */
#include <stdatomic.h>

#include <livepatch/patch.h>

/* static atomic_ulong count; in kvd's stats.c */
extern atomic_ulong stats_count;
LIVEPATCH_SYMBOL(stats_count, "stats.c", "count");

/* static atomic_ulong failures; in kvd's stats.c */
extern atomic_ulong failures;

static void stats_record_fixed(int failed)
{
	atomic_fetch_add_explicit(&stats_count, 1, memory_order_relaxed);
	if (failed)
		atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
}

LIVEPATCH_REPLACE(stats_record, stats_record_fixed);
