/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch for tests/integration/libc.sh: the replacement calls libc (malloc,
 * snprintf, strtol, strlen -- an ifunc --, free, printf with stdout) and a
 * function the target exports, and keeps data of its own.  answer(21)
 * becomes 63, and the first call prints "patch-libc 63 2".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <livepatch/patch.h>

int triple(int x); /* in the target */

static int printed;

static int answer_libc(int x)
{
	char *buf = malloc(32);
	size_t n;
	int v;

	if (!buf)
		return -1;
	snprintf(buf, 32, "%d", triple(x));
	v = (int)strtol(buf, NULL, 10);
	n = strlen(buf);
	if (!__atomic_exchange_n(&printed, 1, __ATOMIC_SEQ_CST)) {
		printf("patch-libc %s %zu\n", buf, n);
		fflush(stdout);
	}
	free(buf);
	return v + (int)n - 2;
}

LIVEPATCH_REPLACE(answer, answer_libc);
