/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch for tests/integration/check.sh: plain_a(1) gives 101 instead of 2. */
#include <livepatch/patch.h>

static int plain_a_new(int x)
{
	return x + 100;
}

LIVEPATCH_REPLACE(plain_a, plain_a_new);
