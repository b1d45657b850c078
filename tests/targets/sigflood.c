/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/sigflood.sh: a process flooded with queued
 * real-time signals (tests/targets/sigstream.c) while it is patched and
 * reverted over and over.  The handler calls the patched function too.
 *
 * Usage: sigflood [N]
 *
 * N worker threads (default 2) call answer(21) (libanswer.c: 42, 63 once
 * tests/targets/answer-patch.c is applied) in bursts of 1000 calls, 200 us
 * apart, and count the results that are neither.  Every thread takes
 * SIGRTMIN (SA_SIGINFO, SA_RESTART); each signal must come with si_code
 * SI_QUEUE and a sequence number 1, 2, 3... as its value: the handler
 * marks the number in a bitmap (a number seen twice counts as a
 * duplicate, one outside 1..MAX_SEQ or without SI_QUEUE as bad), calls
 * answer(21) and counts the result as old (42), new (63) or other.
 *
 * The main thread prints "ready" once every worker has run, then takes
 * SIGUSR1 (blocked in every thread) with sigtimedwait() and answers each
 * with one line:
 *
 *     got G dups D bad B max M old O new W other X workers-other Y
 *
 * G signals handled, M the highest sequence number seen, O, W and X the
 * handler's results, Y the workers' results other than 42 and 63.  With
 * no signal lost or doubled, G == M == the number sent and D == 0.  Every
 * line is flushed at once.
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

#define OLD_VALUE 42
#define NEW_VALUE 63
#define MAX_SEQ (1L << 26)
#define MAX_WORKERS 64

static volatile int input = 21;
static uint64_t seen[MAX_SEQ / 64 + 1];
static unsigned long got, dups, bad, old_n, new_n, other_n, max_seq, workers_other;
static volatile int started[MAX_WORKERS];

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	long seq = si->si_value.sival_int;
	int v;

	(void)sig;
	(void)uc;
	__atomic_fetch_add(&got, 1, __ATOMIC_RELAXED);
	if (si->si_code != SI_QUEUE || seq < 1 || seq >= MAX_SEQ) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	} else {
		uint64_t bit = 1ULL << (seq % 64);
		unsigned long m = __atomic_load_n(&max_seq, __ATOMIC_RELAXED);

		if (__atomic_fetch_or(&seen[seq / 64], bit, __ATOMIC_RELAXED) & bit)
			__atomic_fetch_add(&dups, 1, __ATOMIC_RELAXED);
		while ((unsigned long)seq > m &&
		       !__atomic_compare_exchange_n(&max_seq, &m, (unsigned long)seq, 1,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
	v = answer(input);
	if (v == OLD_VALUE)
		__atomic_fetch_add(&old_n, 1, __ATOMIC_RELAXED);
	else if (v == NEW_VALUE)
		__atomic_fetch_add(&new_n, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&other_n, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	const struct timespec pause_200us = { 0, 200 * 1000 };
	long i = (long)(intptr_t)arg;

	for (;;) {
		for (int k = 0; k < 1000; k++) {
			int v = answer(input);

			if (v != OLD_VALUE && v != NEW_VALUE)
				__atomic_fetch_add(&workers_other, 1, __ATOMIC_RELAXED);
		}
		started[i] = 1;
		nanosleep(&pause_200us, NULL);
	}
	return NULL;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "sigflood: %s: %s\n", what, strerror(err));
	exit(1);
}

int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t usr1;
	long n = 2;
	int err;

	if (argc > 1) {
		n = strtol(argv[1], NULL, 10);
		if (n < 1 || n > MAX_WORKERS) {
			fprintf(stderr, "usage: sigflood [1-%d]\n", MAX_WORKERS);
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) != 0)
		die("sigaction", errno);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < n; i++) {
		err = pthread_create(&tid, &attr, worker, (void *)(intptr_t)i);
		if (err)
			die("pthread_create", err);
	}
	for (long i = 0; i < n; i++)
		while (!started[i])
			nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		int sig = sigtimedwait(&usr1, NULL, &tick);

		if (sig != SIGUSR1)
			continue; /* timeout, or EINTR from a SIGRTMIN handler */
		printf("got %lu dups %lu bad %lu max %lu old %lu new %lu other %lu "
		       "workers-other %lu\n",
		       __atomic_load_n(&got, __ATOMIC_RELAXED),
		       __atomic_load_n(&dups, __ATOMIC_RELAXED),
		       __atomic_load_n(&bad, __ATOMIC_RELAXED),
		       __atomic_load_n(&max_seq, __ATOMIC_RELAXED),
		       __atomic_load_n(&old_n, __ATOMIC_RELAXED),
		       __atomic_load_n(&new_n, __ATOMIC_RELAXED),
		       __atomic_load_n(&other_n, __ATOMIC_RELAXED),
		       __atomic_load_n(&workers_other, __ATOMIC_RELAXED));
		fflush(stdout);
	}
	return 0;
}
