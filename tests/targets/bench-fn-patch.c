/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch of the benchmark (tools/bench.sh): bench_fn() of bench-threads.c,
 * replaced by the same code. */
#include <livepatch/patch.h>

extern volatile unsigned long bench_calls;

static int bench_fn_new(int x)
{
	bench_calls++;
	return x * 2;
}

LIVEPATCH_REPLACE(bench_fn, bench_fn_new);
