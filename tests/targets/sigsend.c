/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sigsend PID N: queue N SIGRTMIN signals with value 42 to PID, as fast as
 * the queue takes them; prints "sent N". */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	union sigval sv = { .sival_int = 42 };
	long n, i = 0;
	pid_t pid;

	if (argc != 3)
		return 2;
	pid = (pid_t)atoi(argv[1]);
	n = atol(argv[2]);
	while (i < n) {
		if (!sigqueue(pid, SIGRTMIN, sv))
			i++;
		else if (errno == EAGAIN)
			usleep(50); /* the queue is full: let it drain */
		else
			return 1;
	}
	printf("sent %ld\n", i);
	return 0;
}
