/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch for tests/integration/preload.sh: answer(21) becomes 63 only if
 * the patch's getpid() binds to the preloaded one, as the program's does.
 */
#include <unistd.h>

#include <livepatch/patch.h>

static int answer_preload(int x)
{
	return x * 3 + (getpid() == 4242 ? 0 : 1000);
}

LIVEPATCH_REPLACE(answer, answer_preload);
