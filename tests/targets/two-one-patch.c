/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch for the integration tests: replaces only one function of two.c,
 * f2 (f2(21) becomes 221), or f1 when built with -DPATCH_F1 (f1(21) becomes
 * 121), so that two-patch.c, which replaces both, is refused afterwards.
 */
#include <livepatch/patch.h>

#ifdef PATCH_F1
static int f1_alone_new(int x)
{
	return x + 100;
}

LIVEPATCH_REPLACE(f1, f1_alone_new);
#else
static int f2_alone_new(int x)
{
	return x + 200;
}

LIVEPATCH_REPLACE(f2, f2_alone_new);
#endif
