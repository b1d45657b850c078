/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/strict.sh.  One thread runs forever() and
 * never leaves it (a main loop); another calls step() nonstop, which
 * sleeps 2 ms inside and returns, then sleeps 2 ms outside.  The main
 * thread prints "ready", then every 50 ms "step V" with step()'s latest
 * result (1 before a patch).
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA
#endif

static volatile int last;

static void nap(long ms)
{
	struct timespec ts = { 0, ms * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) NOIPA int step(void)
{
	nap(2);
	return 1;
}

__attribute__((noinline)) NOIPA void forever(void)
{
	for (;;)
		nap(10);
}

static void *run_forever(void *arg)
{
	(void)arg;
	forever();
	return NULL;
}

static void *run_steps(void *arg)
{
	(void)arg;
	for (;;) {
		last = step();
		nap(2);
	}
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_create(&a, NULL, run_forever, NULL);
	pthread_create(&b, NULL, run_steps, NULL);
	nap(20);
	puts("ready");
	for (;;) {
		printf("step %d\n", last);
		nap(50);
	}
}
