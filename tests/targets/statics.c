/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/internals.sh: what a patch may reach inside
 * a program.  statics.c and statics-b.c each have a "static int count";
 * work() has a function-local static "calls" (gcc names it calls.0); the
 * program has a thread-local variable and uses one of libstatics.so.
 *
 * Every 50 ms the main thread calls work(10) and prints
 *     work W count C bcount B calls N tls T lib L
 * W the result (20 before a patch), C and B the two counts, N the calls
 * made, T and L the main thread's thread-local values.  Runs until killed.
 */
#include <stdio.h>
#include <time.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA
#endif

static int count = 1;
__thread int tls_exe = 5;
int b_count(void);
int lib_get(void);
static int *calls_seen;

__attribute__((noinline)) NOIPA int work(int x)
{
	static int calls;

	calls++;
	calls_seen = &calls;
	count++;
	return x * 2;
}

int main(void)
{
	const struct timespec ts = { 0, 50 * 1000 * 1000 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		int w = work(10);

		printf("work %d count %d bcount %d calls %d tls %d lib %d\n", w, count,
		       b_count(), *calls_seen, tls_exe, lib_get());
		nanosleep(&ts, NULL);
	}
}
