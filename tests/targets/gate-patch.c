/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch for the revert tests (rev.c -g FIFO): answer(21) becomes 63, and
 * gate(fd) blocks until it reads a byte from fd, then returns 2 (the
 * original returns 1 at once).  A thread that calls the new gate() stays
 * in the patch's code, in read(), until the test writes to the FIFO.
 */
#include <unistd.h>

#include <livepatch/patch.h>

static int answer_gate(int x)
{
	return x * 3;
}

static int gate_blocking(int fd)
{
	char c;
	int tries = 0;

	/* The result is used, so read() is no tail call: this function's
	 * frame stays on the stack while the thread waits. */
	while (read(fd, &c, 1) != 1)
		if (++tries > 1000)
			return -1;
	return 2;
}

LIVEPATCH_REPLACE(answer, answer_gate);
LIVEPATCH_REPLACE(gate, gate_blocking);
