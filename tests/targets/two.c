/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target program of the integration tests: two functions patched together.
 *
 * Usage: two [N]
 *
 * N worker threads (default 4) call f1(21) (21 + 1 = 22) and f2(21)
 * (21 + 2 = 23) nonstop, in both orders: f1 then f2, then f2 then f1.  A
 * patch that replaces both functions at one instant can never make a call
 * of f1 return a new value and a later call of f2, in the same thread,
 * the old one; the first time a worker sees that it prints
 * "order f1-new-f2-old V1 V2", and "order f2-new-f1-old V2 V1" for the
 * other order ("new" is anything but the old value).  Each worker keeps
 * the latest results in its slot.
 *
 * Once every worker has stored results the main thread prints "ready";
 * then, every 20 ms, it looks at the slots and the first time no slot
 * holds 22 for f1 or 23 for f2 it prints "all-new V1/V2" (V1/V2 the common
 * results, or "mixed" when the slots disagree).  If a slot holds an old
 * result again after that it prints "regressed".  On SIGUSR2 it prints
 * "status SEQ V1/V2 CALLS 0" (as hot.c does; "mixed" when the slots
 * disagree).  It runs until it is killed.  Every line is flushed at once.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) && !defined(__clang__)
/* No clones: the callers must reach the symbols the patch replaces. */
#define TWO_NOIPA __attribute__((noipa))
#else
#define TWO_NOIPA
#endif

#define OLD1 22
#define OLD2 23
#define MAX_THREADS 1024

int f1(int x);
int f2(int x);

/* A side effect, so that calls cannot be hoisted out of the loops. */
volatile unsigned long f_calls;

__attribute__((noinline)) TWO_NOIPA int f1(int x)
{
	f_calls++;
	return x + 1;
}

__attribute__((noinline)) TWO_NOIPA int f2(int x)
{
	f_calls++;
	return x + 2;
}

struct slot {
	volatile int v1, v2;
	volatile unsigned long calls;
} __attribute__((aligned(64)));

static struct slot *slots;
static long nslots;
static volatile int input = 21;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	pthread_mutex_lock(&lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
	struct slot *s = arg;
	int said12 = 0, said21 = 0;

	for (;;) {
		int a = f1(input);
		int b = f2(input);
		int c = f2(input);
		int d = f1(input);

		if (a != OLD1 && b == OLD2 && !said12) {
			said12 = 1;
			say("order f1-new-f2-old %d %d", a, b);
		}
		if (c != OLD2 && d == OLD1 && !said21) {
			said21 = 1;
			say("order f2-new-f1-old %d %d", c, d);
		}
		s->v1 = d;
		s->v2 = c;
		s->calls += 4;
	}
	return NULL;
}

/* The common results in BUF ("V1/V2"), or "mixed". */
static const char *common(char *buf, size_t size)
{
	int v1 = slots[0].v1, v2 = slots[0].v2;

	for (long i = 0; i < nslots; i++)
		if (slots[i].v1 != v1 || slots[i].v2 != v2)
			return "mixed";
	snprintf(buf, size, "%d/%d", v1, v2);
	return buf;
}

static int all_started(void)
{
	for (long i = 0; i < nslots; i++)
		if (slots[i].v1 == 0 || slots[i].v2 == 0)
			return 0;
	return 1;
}

static int any_old(void)
{
	for (long i = 0; i < nslots; i++)
		if (slots[i].v1 == OLD1 || slots[i].v2 == OLD2)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned long seq = 0;
	int all_new = 0, regressed = 0, err;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t set;
	char buf[64];

	nslots = 4;
	if (argc > 1) {
		char *end;

		nslots = strtol(argv[1], &end, 10);
		if (*end || nslots < 1 || nslots > MAX_THREADS) {
			fprintf(stderr, "usage: two [THREADS]\n");
			return 2;
		}
	}
	err = posix_memalign((void **)&slots, 64, nslots * sizeof *slots);
	if (err) {
		fprintf(stderr, "two: posix_memalign: %s\n", strerror(err));
		return 1;
	}
	memset(slots, 0, nslots * sizeof *slots);

	/* SIGUSR2 is taken by sigtimedwait() in the main thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < nslots; i++) {
		err = pthread_create(&tid, &attr, worker, &slots[i]);
		if (err) {
			fprintf(stderr, "two: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}

	while (!all_started())
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	say("ready");

	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGUSR2) {
			unsigned long calls = 0;

			for (long i = 0; i < nslots; i++)
				calls += slots[i].calls;
			say("status %lu %s %lu 0", ++seq, common(buf, sizeof buf), calls);
		}
		if (!all_new && !any_old()) {
			all_new = 1;
			say("all-new %s", common(buf, sizeof buf));
		} else if (all_new && !regressed && any_old()) {
			regressed = 1;
			say("regressed");
		}
	}
	return 0;
}
