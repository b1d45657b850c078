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
 *
 * Variants (compile-time):
 *   -DF2_LIB     f2 comes from the shared library libtwo.c.
 *   -DREVERT_OK  the old results coming back is expected (the revert
 *                tests): never print "regressed".  As a revert must change
 *                both functions back at one instant, the workers also
 *                report the opposite tear: an old f1 then a new f2
 *                ("order f1-old-f2-new V1 V2"), an old f2 then a new f1
 *                ("order f2-old-f1-new V2 V1").  Every "order" line ends
 *                with " epoch N".  On SIGUSR1 the main thread starts the
 *                next epoch: the workers forget what they reported, and
 *                once all of them are in the new epoch it prints "epoch
 *                N".  A call in flight at the instant of an apply returns
 *                the old result, at the instant of a revert the new one;
 *                so a test starts an epoch before an apply and looks for
 *                "-new-...-old" lines in it, and before a revert for
 *                "-old-...-new" lines.
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

#ifdef REVERT_OK
#define WATCH_REGRESSION 0
#else
#define WATCH_REGRESSION 1
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

#ifndef F2_LIB
__attribute__((noinline)) TWO_NOIPA int f2(int x)
{
	f_calls++;
	return x + 2;
}
#endif

struct slot {
	volatile int v1, v2;
	volatile unsigned long calls;
	volatile unsigned long epoch; /* REVERT_OK: the worker's epoch */
} __attribute__((aligned(64)));

#ifdef REVERT_OK
/* The current epoch, started by SIGUSR1. */
static volatile unsigned long epoch;
#define REPORT(kind, x, y) say("order " kind " %d %d epoch %lu", x, y, my_epoch)
#else
#define REPORT(kind, x, y) say("order " kind " %d %d", x, y)
#endif

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
#ifdef REVERT_OK
	int said_old12 = 0, said_old21 = 0;
	unsigned long my_epoch = 0;
#endif

	for (;;) {
		int a, b, c, d;

#ifdef REVERT_OK
		if (my_epoch != epoch) {
			my_epoch = epoch;
			said12 = said21 = said_old12 = said_old21 = 0;
			s->epoch = my_epoch;
		}
#endif
		a = f1(input);
		b = f2(input);
		c = f2(input);
		d = f1(input);

		if (a != OLD1 && b == OLD2 && !said12) {
			said12 = 1;
			REPORT("f1-new-f2-old", a, b);
		}
		if (c != OLD2 && d == OLD1 && !said21) {
			said21 = 1;
			REPORT("f2-new-f1-old", c, d);
		}
#ifdef REVERT_OK
		if (a == OLD1 && b != OLD2 && !said_old12) {
			said_old12 = 1;
			REPORT("f1-old-f2-new", a, b);
		}
		if (c == OLD2 && d != OLD1 && !said_old21) {
			said_old21 = 1;
			REPORT("f2-old-f1-new", c, d);
		}
#endif
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

#ifdef REVERT_OK
static int all_in_epoch(void)
{
	for (long i = 0; i < nslots; i++)
		if (slots[i].epoch != epoch)
			return 0;
	return 1;
}
#endif

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
#ifdef REVERT_OK
	int epoch_said = 1;
#endif
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

	/* SIGUSR2 (and SIGUSR1, REVERT_OK) is taken by sigtimedwait() in the
	 * main thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
#ifdef REVERT_OK
	sigaddset(&set, SIGUSR1);
#endif
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
#ifdef REVERT_OK
		if (sig == SIGUSR1) {
			epoch++;
			epoch_said = 0;
		}
		if (!epoch_said && all_in_epoch()) {
			epoch_said = 1;
			say("epoch %lu", epoch);
		}
#endif
		if (!all_new && !any_old()) {
			all_new = 1;
			say("all-new %s", common(buf, sizeof buf));
		} else if (WATCH_REGRESSION && all_new && !regressed && any_old()) {
			regressed = 1;
			say("regressed");
		}
	}
	return 0;
}
