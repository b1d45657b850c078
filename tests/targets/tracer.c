/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helper of the integration tests: traces the main thread of process PID
 * (PTRACE_SEIZE, so the process keeps running), prints "tracing" and stays
 * attached, passing on any signal, until it is killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	pid_t pid;
	int status;

	if (argc != 2 || (pid = (pid_t)atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: tracer PID\n");
		return 2;
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0) {
		fprintf(stderr, "tracer: PTRACE_SEIZE %d: %s\n", (int)pid,
			strerror(errno));
		return 1;
	}
	printf("tracing\n");
	fflush(stdout);
	for (;;) {
		int sig = 0;

		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (!WIFSTOPPED(status))
			continue;
		/* A signal-delivery-stop: deliver the signal.  A group-stop
		 * (PTRACE_EVENT_STOP) or other event: just go on. */
		if ((status >> 16) == 0)
			sig = WSTOPSIG(status);
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
}
