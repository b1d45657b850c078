/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Refused: a patch cannot bring thread-local variables of its own. */
#include <livepatch/patch.h>

static __thread int mine;

static int work_new(int x)
{
	return x + mine++;
}

LIVEPATCH_REPLACE(work, work_new);
