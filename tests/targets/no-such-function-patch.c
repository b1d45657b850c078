/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch for the integration tests: replaces a function no target has,
 * which livepatch-build must refuse. */
#include <livepatch/patch.h>

static int no_such_function_new(int x)
{
	return x * 3;
}

LIVEPATCH_REPLACE(no_such_function, no_such_function_new);
