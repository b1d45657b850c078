/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Refused: "count" is a static of two files of statics.c. */
#include <livepatch/patch.h>

extern int count;

static int work_new(int x)
{
	return x + count;
}

LIVEPATCH_REPLACE(work, work_new);
