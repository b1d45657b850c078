/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch of tests/integration/strict.sh: step() returns 2, or, with
 * -DFOREVER, forever() is replaced (a thread never leaves the old one). */
#include <time.h>

#include <livepatch/patch.h>

#ifdef FOREVER
static void forever_new(void)
{
	const struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (;;)
		nanosleep(&ts, NULL);
}
LIVEPATCH_REPLACE(forever, forever_new);
#else
int nanosleep(const struct timespec *req, struct timespec *rem);

static int step_new(void)
{
	const struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	return 2;
}
LIVEPATCH_REPLACE(step, step_new);
#endif
