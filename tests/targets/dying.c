/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/exitrace.sh: a process that ends while it is
 * being patched.
 *
 * Usage: dying MODE DELAY_US [N]
 *
 * N worker threads (default 2) call answer(21) (libanswer.c) nonstop; the
 * main thread prints "ready" and waits in sigwait() (no timeout, so that
 * it is always in the same system call) for SIGUSR1 and SIGUSR2, which
 * are blocked in every thread.  On SIGUSR2 it prints "status 1 VALUE 0
 * 0", VALUE the latest answer(21) of the first worker.  DELAY_US
 * microseconds after SIGUSR1 the process ends, as MODE says, with exit
 * status 23:
 *
 *   exit     the main thread calls exit(23)
 *   worker   a worker calls _exit(23) (exit_group from another thread)
 *   leader   the main thread ends with pthread_exit() (a zombie thread
 *            group leader, the workers run on); a worker calls exit(23)
 *            DELAY_US later
 *   threads  the workers end one by one with pthread_exit(), DELAY_US / N
 *            apart, then the main thread calls exit(23)
 *   never    it does not end by itself (the test kills it)
 *   zombie   the main thread ends with pthread_exit() (a zombie thread
 *            group leader) and the workers run on until the process is
 *            killed
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libanswer.c"

#define EXIT_STATUS 23
#define MAX_WORKERS 64

enum mode { M_EXIT, M_WORKER, M_LEADER, M_THREADS, M_NEVER, M_ZOMBIE };

static enum mode mode;
static long delay_us, nworkers = 2;
static volatile int input = 21;
static volatile int go, leader_gone, started[MAX_WORKERS], value;
static volatile int stop_worker[MAX_WORKERS];

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *worker(void *arg)
{
	long i = (long)(intptr_t)arg;
	unsigned long n = 0;

	for (;;) {
		int v = answer(input);

		if (i == 0)
			value = v;
		started[i] = 1;
		if (stop_worker[i])
			pthread_exit(NULL);
		if (i == 0 && ++n % 1024 == 0) {
			if (mode == M_WORKER && go) {
				sleep_us(delay_us);
				_exit(EXIT_STATUS);
			}
			if (mode == M_LEADER && leader_gone) {
				sleep_us(delay_us);
				exit(EXIT_STATUS);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t set;
	int sig, err;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: dying exit|worker|leader|threads|never|zombie DELAY_US [N]\n");
		return 2;
	}
	if (strcmp(argv[1], "exit") == 0)
		mode = M_EXIT;
	else if (strcmp(argv[1], "worker") == 0)
		mode = M_WORKER;
	else if (strcmp(argv[1], "leader") == 0)
		mode = M_LEADER;
	else if (strcmp(argv[1], "threads") == 0)
		mode = M_THREADS;
	else if (strcmp(argv[1], "never") == 0)
		mode = M_NEVER;
	else if (strcmp(argv[1], "zombie") == 0)
		mode = M_ZOMBIE;
	else {
		fprintf(stderr, "dying: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	delay_us = strtol(argv[2], NULL, 10);
	if (argc == 4)
		nworkers = strtol(argv[3], NULL, 10);
	if (delay_us < 0 || nworkers < 1 || nworkers > MAX_WORKERS) {
		fprintf(stderr, "dying: bad DELAY_US or N\n");
		return 2;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < nworkers; i++) {
		err = pthread_create(&tid, &attr, worker, (void *)(intptr_t)i);
		if (err) {
			fprintf(stderr, "dying: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (long i = 0; i < nworkers; i++)
		while (!started[i])
			sleep_us(1000);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR2) {
			printf("status 1 %d 0 0\n", value);
			fflush(stdout);
			continue;
		}
		if (go)
			continue;
		go = 1;
		if (mode != M_WORKER && mode != M_NEVER)
			break;
	}
	switch (mode) {
	case M_EXIT:
		sleep_us(delay_us);
		exit(EXIT_STATUS);
	case M_WORKER:
	case M_NEVER:
		break;
	case M_LEADER:
		sleep_us(delay_us);
		leader_gone = 1;
		pthread_exit(NULL);
	case M_ZOMBIE:
		sleep_us(delay_us);
		pthread_exit(NULL);
	case M_THREADS:
		for (long i = 0; i < nworkers; i++) {
			sleep_us(delay_us / nworkers);
			stop_worker[i] = 1;
		}
		exit(EXIT_STATUS);
	}
	return 1;
}
