/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvd's request statistics, reported by STATS and at shutdown.
 *
 * Every request answered should count in "count", and those answered
 * with an error also in "failures".  stats_record() only counts the
 * failures (bug b of kvd.c): STATS always reports "requests 0".
 * patches/kvd-stats-fix.c replaces stats_record(); as store.c has a
 * static "count" too, the patch names this one by its file.
 */
#include <stdatomic.h>

#include "kvd.h"

/* Updated by every connection's thread, hence atomic. */
static atomic_ulong count;    /* requests answered */
static atomic_ulong failures; /* requests answered with an error */

/* Called once per request answered; FAILED if the answer is an error. */
KVD_PATCHABLE void stats_record(int failed)
{
	/* BUG: the request is not counted in "count". */
	if (failed)
		atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
}

void stats_get(unsigned long *requests, unsigned long *errors)
{
	*requests = atomic_load_explicit(&count, memory_order_relaxed);
	*errors = atomic_load_explicit(&failures, memory_order_relaxed);
}

void stats_reset(void)
{
	atomic_store_explicit(&count, 0, memory_order_relaxed);
	atomic_store_explicit(&failures, 0, memory_order_relaxed);
}
