/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch for the integration tests of two.c, built with -DF1_ADD=N and/or
 * -DF2_ADD=M: replaces f1 by x + N (f1(21) = 21 + N) when F1_ADD is
 * defined, and f2 by x + M when F2_ADD is defined.
 */
#include <livepatch/patch.h>

#if !defined(F1_ADD) && !defined(F2_ADD)
#error "define F1_ADD, F2_ADD or both"
#endif

#ifdef F1_ADD
static int f1_var(int x)
{
	return x + F1_ADD;
}

LIVEPATCH_REPLACE(f1, f1_var);
#endif

#ifdef F2_ADD
static int f2_var(int x)
{
	return x + F2_ADD;
}

LIVEPATCH_REPLACE(f2, f2_var);
#endif
