/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch for the integration tests: replaces both functions of two.c, f1(21)
 * becomes 121 and f2(21) 221, at the same instant. */
#include <livepatch/patch.h>

static int f1_new(int x)
{
	return x + 100;
}

static int f2_new(int x)
{
	return x + 200;
}

LIVEPATCH_REPLACE(f1, f1_new);
LIVEPATCH_REPLACE(f2, f2_new);
