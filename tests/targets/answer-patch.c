/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch for the integration tests: answer(21) becomes 63 instead of 42. */
#include <livepatch/patch.h>

static int answer_new(int x)
{
	return x * 3;
}

LIVEPATCH_REPLACE(answer, answer_new);
