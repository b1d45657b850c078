/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sigstream PID [MAX [RATE]]: queue SIGRTMIN signals to PID, with the
 * values 1, 2, 3..., as fast as the target's queue takes them (on EAGAIN,
 * the queue is full: wait 50 us and try the same value again), or RATE
 * signals a second at most (in bursts, one every millisecond), until
 * SIGTERM or SIGINT, or MAX signals (default, or 0: 50,000,000).  The
 * test and livepatch need some CPU time too.  Prints "sending" once the
 * first signal is queued, and "sent N" at the end; exits 1 if sigqueue()
 * fails otherwise (the target is gone).  tests/targets/sigflood.c checks
 * that every value arrives exactly once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	long max = 0, rate = 0, burst = 0, in_burst = 0, i = 0;
	struct timespec next;
	pid_t pid;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: sigstream PID [MAX [RATE]]\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	if (argc >= 3)
		max = atol(argv[2]);
	if (max <= 0)
		max = 50000000;
	if (argc == 4)
		rate = atol(argv[3]);
	if (rate > 0)
		burst = rate / 1000 > 0 ? rate / 1000 : 1;
	clock_gettime(CLOCK_MONOTONIC, &next);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!done && i < max) {
		union sigval sv = { .sival_int = (int)(i + 1) };

		if (burst && in_burst == burst) {
			/* the next burst one millisecond after the last */
			next.tv_nsec += 1000000;
			if (next.tv_nsec >= 1000000000) {
				next.tv_nsec -= 1000000000;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
			in_burst = 0;
			{
				/* late by more than 10 ms: no catching up */
				struct timespec now;

				clock_gettime(CLOCK_MONOTONIC, &now);
				if ((now.tv_sec - next.tv_sec) * 1000000000L +
				    (now.tv_nsec - next.tv_nsec) > 10000000L)
					next = now;
			}
			continue;
		}
		if (!sigqueue(pid, SIGRTMIN, sv)) {
			in_burst++;
			if (++i == 1) {
				printf("sending\n");
				fflush(stdout);
			}
		} else if (errno == EAGAIN) {
			usleep(50);
		} else if (errno != EINTR) {
			printf("sent %ld\nsigqueue: %s\n", i, strerror(errno));
			return 1;
		}
	}
	printf("sent %ld\n", i);
	return 0;
}
