/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch of tests/integration/internals.sh: a wrapper of work() that calls
 * the original, updates statics of two files (one needs its file named),
 * reads a function-local static, updates thread-local variables of the
 * program and of a library, and keeps a counter of its own.
 */
#include <livepatch/patch.h>

extern int count_b;
LIVEPATCH_SYMBOL(count_b, "statics-b.c", "count");
extern int count_a;
LIVEPATCH_SYMBOL(count_a, "statics.c", "count");
extern int calls_0;
LIVEPATCH_SYMBOL(calls_0, "statics.c", CALLS_SYMBOL);
extern __thread int tls_exe;
extern __thread int tls_lib;

int LIVEPATCH_ORIGINAL(work)(int x);

/* the patch's own data: kept as long as the patch is applied */
static int mine;

static int work_new(int x)
{
	int r = LIVEPATCH_ORIGINAL(work)(x); /* 2 * x, and counts the call */

	mine++;
	count_b = 1000 + mine;
	count_a += 100;
	tls_exe = 500 + mine;
	tls_lib = 700 + mine;
	return r + 1000 + (calls_0 > 0);
}

LIVEPATCH_REPLACE(work, work_new);
