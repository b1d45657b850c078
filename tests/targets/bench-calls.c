/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The call-heavy micro-benchmark of tools/bench.sh ("make bench"): what
 * the pads cost a program that never gets a patch, and what a call costs
 * once its function is patched.  Built twice from this file, with and
 * without -fpatchable-function-entry=16,14.
 *
 * Usage: bench-calls once   time the kernels for about 0.3 s and print
 *                           "fib NS leaf NS": nanoseconds per call, the
 *                           median of the repetitions
 *        bench-calls loop   print "ready", then "fib NS leaf NS" about
 *                           every 100 ms, until killed (the benchmark
 *                           patches fib() and leaf() meanwhile)
 *
 * Kernels: fib(25) computed by recursion, every call through fib()'s
 * entry (242,785 calls), and a loop of 1,000,000 calls of leaf(), a
 * function of two instructions whose result feeds the next call.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA
#endif

#define FIB_N 25
#define FIB_CALLS 242785.0 /* calls of fib(25): 2 * fib(26) - 1 */
#define LEAF_CALLS 1000000

__attribute__((noinline)) NOIPA int fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) NOIPA unsigned int leaf(unsigned int x)
{
	return x * 3 + 1;
}

static volatile int fib_arg = FIB_N;
static volatile unsigned int sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One measurement: median ns per call of each kernel over @reps rounds. */
static void measure(int reps, double *fib_ns, double *leaf_ns)
{
	double f[64], l[64];
	int r;

	for (r = 0; r < reps; r++) {
		double t0 = now_ns(), t1, t2;
		unsigned int x = 1;
		int i;

		sink = (unsigned int)fib(fib_arg);
		t1 = now_ns();
		for (i = 0; i < LEAF_CALLS; i++)
			x = leaf(x);
		sink = x;
		t2 = now_ns();
		f[r] = (t1 - t0) / FIB_CALLS;
		l[r] = (t2 - t1) / LEAF_CALLS;
	}
	qsort(f, (size_t)reps, sizeof(double), cmp);
	qsort(l, (size_t)reps, sizeof(double), cmp);
	*fib_ns = f[reps / 2];
	*leaf_ns = l[reps / 2];
}

int main(int argc, char **argv)
{
	double fns, lns;
	if (argc != 2 || (strcmp(argv[1], "once") && strcmp(argv[1], "loop"))) {
		fprintf(stderr, "usage: bench-calls once|loop\n");
		return 2;
	}
	measure(8, &fns, &lns); /* warm up */
	if (!strcmp(argv[1], "once")) {
		measure(63, &fns, &lns);
		printf("fib %.4f leaf %.4f\n", fns, lns);
		return 0;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		measure(31, &fns, &lns);
		printf("fib %.4f leaf %.4f\n", fns, lns);
		fflush(stdout);
	}
	return 0;
}
