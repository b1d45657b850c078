/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch for the integration tests: replaces both functions of two.c, f1(21)
 * becomes 121 and f2(21) 221, at the same instant.  With -DSHIFT=N both
 * results grow by N more (a different patch of the same functions). */
#include <livepatch/patch.h>

#ifndef SHIFT
#define SHIFT 0
#endif

static int f1_new(int x)
{
	return x + 100 + SHIFT;
}

static int f2_new(int x)
{
	return x + 200 + SHIFT;
}

LIVEPATCH_REPLACE(f1, f1_new);
LIVEPATCH_REPLACE(f2, f2_new);
