/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch for the stacking tests: answer(21) becomes 21 * FACTOR (build with
 * -DFACTOR=N; 3 by default, as answer-patch.c), so that patches of the same
 * function built from this one source are told apart by their result.
 */
#include <livepatch/patch.h>

#ifndef FACTOR
#define FACTOR 3
#endif

static int answer_times(int x)
{
	return x * FACTOR;
}

LIVEPATCH_REPLACE(answer, answer_times);
