/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch of the benchmark (tools/bench.sh): fib() and leaf() of
 * bench-calls.c, replaced by the same code.  The new fib() calls fib() by
 * its name, the old entry, so that every call of the recursion goes
 * through the patched entry and the pad's jump.
 */
#include <livepatch/patch.h>

int fib(int n);

static int fib_new(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static unsigned int leaf_new(unsigned int x)
{
	return x * 3 + 1;
}

LIVEPATCH_REPLACE(fib, fib_new);
LIVEPATCH_REPLACE(leaf, leaf_new);
