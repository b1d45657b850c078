/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of the benchmark (tools/bench.sh, "make bench"): a process with
 * a given number of threads, all blocked in system calls or all busy
 * calling the function the benchmark patches.
 *
 * Usage: bench-threads blocked|busy THREADS [FUNCS]
 *
 * THREADS counts every thread of the process, the main thread included.
 *   blocked  the threads wait in read() on a pipe, a futex wait,
 *            clock_nanosleep() of an hour and epoll_wait() (as a
 *            server's threads wait; our stop ends it with EINTR, and
 *            livepatch issues it again), in turn; the main thread in
 *            read() on another pipe.  Nothing ever wakes them.
 *   busy     every thread but the main thread calls bench_fn() (or,
 *            with FUNCS, bench_f0() to bench_fFUNCS-1 in turn) in a
 *            tight loop, once all are started; the main thread waits in
 *            read() from the start, as a server's main thread waits for
 *            its workers, and a thread of its own starts the others.
 *            With THREADS 1 the main thread is the busy one.
 *
 * The main thread of a busy target runs at nice -20.  livepatch borrows
 * a sleeping thread to load the patch, before the pause, and each single
 * step of its system calls wakes it up.  At the default priority a thread
 * that wakes up waits for its turn behind every busy thread (Linux 6.6
 * and later, EEVDF): with 1,000 busy threads on 2 CPUs, about 1.5 s a
 * step, a minute an apply.  The pause is the same either way.
 * FUNCS (default 0) asks for the FUNCS generated functions of
 * bench-funcs.h (built with -DBENCH_FUNCS, see tools/bench.sh) instead of
 * bench_fn().  Thread stacks are 64 KiB, so that 4,000 threads take
 * 272 MiB of address space and little memory.
 *
 * Prints "fn ADDRESS" (bench_fn(), for the gdb baseline), then "ready"
 * once every thread has started and the blocked ones have had 100 ms to
 * reach their call.  Runs until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA
#endif

/* A side effect, so that the calls stay in the loop. */
volatile unsigned long bench_calls;

__attribute__((noinline)) NOIPA int bench_fn(int x)
{
	bench_calls++;
	return x * 2;
}

#ifdef BENCH_FUNCS
#include "bench-funcs.h" /* bench_f0..bench_fN-1 and bench_funcs[] */
#else
static int (*const bench_funcs[1])(int) = { bench_fn };
#define BENCH_NFUNCS 1
#endif

static volatile int input = 21;
static int nfuncs;
static int pipe_a[2], pipe_b[2], epfd;
static uint32_t futex_word;
static volatile unsigned long started;

static __attribute__((noreturn)) void die(const char *what, int err)
{
	fprintf(stderr, "bench-threads: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint32_t go;

static void *busy(void *arg)
{
	volatile int sink;
	int i = 0;

	(void)arg;
	__atomic_add_fetch(&started, 1, __ATOMIC_RELAXED);
	/* not before all are started: 4,000 busy threads would starve the
	 * one starting them */
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	for (;;) {
		sink = bench_funcs[i](input);
		if (++i >= nfuncs)
			i = 0;
	}
	(void)sink;
	return NULL;
}

static void *blocked(void *arg)
{
	long k = (long)(intptr_t)arg;
	char c;

	__atomic_add_fetch(&started, 1, __ATOMIC_RELAXED);
	for (;;) {
		switch (k % 4) {
		case 0:
			if (read(pipe_a[0], &c, 1) < 0 && errno != EINTR)
				die("read", errno);
			break;
		case 1:
			syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
			break;
		case 2: {
			struct timespec hour = { 3600, 0 };

			clock_nanosleep(CLOCK_MONOTONIC, 0, &hour, NULL);
			break;
		}
		default: {
			struct epoll_event ev;

			if (epoll_wait(epfd, &ev, 1, -1) < 0 && errno != EINTR)
				die("epoll_wait", errno);
			break;
		}
		}
	}
	return NULL;
}

static long nthreads;
static int thread_kind;

/* Starts the others, says "ready", and is one of them. */
static void *starter(void *arg)
{
	pthread_attr_t attr;
	long i;
	int err;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 2; i < nthreads; i++) {
		pthread_t tid;

		err = pthread_create(&tid, &attr, thread_kind ? busy : blocked,
				     (void *)(intptr_t)i);
		if (err)
			die("pthread_create", err);
	}
	while (__atomic_load_n(&started, __ATOMIC_RELAXED) < (unsigned long)(nthreads - 2))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	/* the main thread, at -20, lets them go and says "ready".  Each
	 * thread woken preempts a waker at their own priority, which then
	 * waits its turn among those already woken: waking 4,000 busy
	 * threads from here took 15 to 30 s, and now and then longer than
	 * the two minutes the benchmark waits for "ready". */
	if (write(pipe_b[1], "r", 1) != 1)
		die("write", errno);
	return thread_kind ? busy(NULL) : blocked((void *)(intptr_t)1);
}

int main(int argc, char **argv)
{
	long n;
	int is_busy, err;
	char c;

	if (argc < 3 || argc > 4 ||
	    (strcmp(argv[1], "blocked") && strcmp(argv[1], "busy"))) {
		fprintf(stderr, "usage: bench-threads blocked|busy THREADS [FUNCS]\n");
		return 2;
	}
	is_busy = !strcmp(argv[1], "busy");
	n = strtol(argv[2], NULL, 10);
	nfuncs = argc > 3 ? atoi(argv[3]) : 0;
	if (n < 1 || nfuncs < 0 || nfuncs > BENCH_NFUNCS) {
		fprintf(stderr, "bench-threads: bad THREADS or FUNCS (at most %d)\n",
			BENCH_NFUNCS);
		return 2;
	}
	if (!nfuncs)
		nfuncs = 1;
	epfd = epoll_create1(0);
	if (epfd < 0)
		die("epoll_create1", errno);
	if (pipe(pipe_a) || pipe(pipe_b))
		die("pipe", errno);
	printf("fn %p\n", (void *)(uintptr_t)bench_fn);
	fflush(stdout);

	nthreads = n;
	thread_kind = is_busy;
	if (n == 1) {
		printf("ready\n");
		fflush(stdout);
		go = 1;
		if (is_busy)
			busy(NULL);
	} else {
		pthread_t tid;
		pthread_attr_t attr;

		/* threads take their creator's priority: the others start at
		 * the default even if this process was started at -20 (the
		 * benchmark lowers ours only once we run) */
		if (is_busy)
			setpriority(PRIO_PROCESS, 0, 0);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&tid, &attr, starter, NULL);
		if (err)
			die("pthread_create", err);
		/* the main thread only (Linux: per thread), after the
		 * starter took the default */
		if (is_busy && setpriority(PRIO_PROCESS, 0, -20))
			fprintf(stderr, "bench-threads: cannot raise the main thread's priority: %s\n",
				strerror(errno));
	}
	for (;;) {
		ssize_t r = read(pipe_b[0], &c, 1);

		if (r < 0 && errno != EINTR)
			die("read", errno);
		if (r == 1) {
			__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
			syscall(SYS_futex, &go, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			printf("ready\n");
			fflush(stdout);
		}
	}
	return 0;
}
