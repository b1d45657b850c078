/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * waitlog CHILD_OUT CMD [ARG...]: the parent of tests/integration/sigstop.sh.
 * Forks and runs CMD with its standard output and error in the file
 * CHILD_OUT (the child dies with SIGKILL if waitlog ends first), prints
 * "child PID", then waits for it with waitpid(WUNTRACED | WCONTINUED) and
 * prints every change it is told of, as its parent sees it:
 *
 *     stopped SIG      the child stopped, SIG the number of the signal
 *     continued        the child was continued (SIGCONT)
 *     exited N         the child exited with status N (waitlog exits N)
 *     killed SIG       a signal SIG killed it (waitlog exits 128 + SIG)
 *
 * Every line is flushed at once.  A tracer's stops (ptrace) must never
 * show here: only the stops and continues that a signal really caused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t parent = getpid(), pid;

	if (argc < 3) {
		fprintf(stderr, "usage: waitlog CHILD_OUT CMD [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("waitlog: fork");
		return 1;
	}
	if (pid == 0) {
		int fd;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(1);
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(1);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "waitlog: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	printf("child %ld\n", (long)pid);
	fflush(stdout);
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WUNTRACED | WCONTINUED);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("waitlog: waitpid");
			return 1;
		}
		if (WIFSTOPPED(status)) {
			printf("stopped %d\n", WSTOPSIG(status));
		} else if (WIFCONTINUED(status)) {
			printf("continued\n");
		} else if (WIFEXITED(status)) {
			printf("exited %d\n", WEXITSTATUS(status));
			fflush(stdout);
			return WEXITSTATUS(status);
		} else if (WIFSIGNALED(status)) {
			printf("killed %d\n", WTERMSIG(status));
			fflush(stdout);
			return 128 + WTERMSIG(status);
		}
		fflush(stdout);
	}
}
