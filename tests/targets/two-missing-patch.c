/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch for the integration tests: replaces f1 of two.c and a function no
 * target has; livepatch-build must refuse the whole patch. */
#include <livepatch/patch.h>

static int f1_new(int x)
{
	return x + 100;
}

static int no_such_function_new(int x)
{
	return x + 300;
}

LIVEPATCH_REPLACE(f1, f1_new);
LIVEPATCH_REPLACE(no_such_function, no_such_function_new);
