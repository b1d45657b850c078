/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target program of the revert tests.  Like hot.c, but the old function
 * coming back is what these tests want (it never prints "regressed"), and
 * on demand it forks, or parks a thread in a function a patch replaced.
 *
 * Usage: rev [-f CHILD_PREFIX] [-g FIFO] [-v MS [-V]] [N]
 *
 * N worker threads (default 2) call answer(21) (libanswer.c: 42 until it
 * is patched) in a tight loop and store the latest result in their own
 * slot.  Once every worker has stored a result (and the gate thread, with
 * -g, has started) the main thread prints "ready".  On SIGUSR2 it prints
 * "status SEQ VALUE CALLS 0", as hot.c does: VALUE is the common result
 * of the slots, or "mixed" when they disagree, CALLS the total number of
 * calls so far.  It runs until it is killed.
 *
 * -f CHILD_PREFIX: on SIGUSR1 the main thread forks.  The parent prints
 *    "child PID".  The child (only the main thread is copied) writes its
 *    output to the file CHILD_PREFIX.PID instead, starts N workers of its
 *    own and behaves as above: "ready", status lines on SIGUSR2, a fork of
 *    its own on SIGUSR1 (no gate thread).  A child is killed when its
 *    parent ends.
 * -g FIFO: a gate thread opens FIFO for reading and writing (so that
 *    neither the open nor a read ever sees an end of file) and prints
 *    "gate-thread TID".  On each SIGHUP it prints "gate-enter K", calls
 *    gate(fd) and prints "gate-result K V", V its result.  gate() returns
 *    1 at once; tests/targets/gate-patch.c replaces it by a version that
 *    blocks until it reads a byte from fd and returns 2, which parks the
 *    thread in the patch's code until the test writes to FIFO.
 *
 * -v MS: a thread calls vfork() once, and its child sleeps MS ms before it
 *    exits: the thread sits that long in an uninterruptible wait, where no
 *    ptrace interrupt stops it.  It prints "vfork-start TID" before the
 *    call and "vfork-end" after it.  The child dies with the process.
 * -V: with -v, the main thread does the same, after starting the others
 *    (before it takes any signal).
 *
 * SIGUSR1, SIGUSR2 and SIGHUP are blocked in every thread and taken with
 * sigwait (SIGHUP only with -g).  Every line is flushed at once, so that a
 * test can poll the output file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libanswer.c"

#if defined(__GNUC__) && !defined(__clang__)
#define REV_NOIPA __attribute__((noipa))
#else
#define REV_NOIPA
#endif

#define MAX_THREADS 1024

int gate(int fd);

/* A side effect, so that the call cannot be optimised away. */
volatile unsigned long gate_calls;

__attribute__((noinline)) REV_NOIPA int gate(int fd)
{
	(void)fd;
	gate_calls++;
	return 1;
}

struct slot {
	volatile int value;
	volatile unsigned long calls;
} __attribute__((aligned(64)));

static struct slot *slots;
static long nslots;
static volatile int input = 21;
static pthread_mutex_t say_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int gate_started;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&say_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&say_lock);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "rev: %s: %s\n", what, strerror(err));
	fflush(stderr);
	exit(1);
}

static void *worker(void *arg)
{
	struct slot *s = arg;

	for (;;) {
		s->value = answer(input);
		s->calls++;
	}
	return NULL;
}

static void *gate_loop(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned long k = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	say("gate-thread %ld", (long)syscall(SYS_gettid));
	gate_started = 1;
	for (;;) {
		int sig, v;

		if (sigwait(&set, &sig) != 0)
			continue;
		k++;
		say("gate-enter %lu", k);
		v = gate(fd);
		say("gate-result %lu %d", k, v);
	}
	return NULL;
}

static void *vfork_once(void *arg)
{
	long ms = (long)(intptr_t)arg;
	pid_t pid;

	say("vfork-start %ld", (long)syscall(SYS_gettid));
	pid = vfork();
	if (pid == 0) {
		struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		_exit(0);
	}
	if (pid < 0)
		die("vfork", errno);
	waitpid(pid, NULL, 0);
	say("vfork-end");
	return NULL;
}

static void start_threads(long nworkers, const char *fifo)
{
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	err = posix_memalign((void **)&slots, 64, nworkers * sizeof(*slots));
	if (err)
		die("posix_memalign", err);
	memset(slots, 0, nworkers * sizeof(*slots));
	nslots = nworkers;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < nworkers; i++) {
		err = pthread_create(&tid, &attr, worker, &slots[i]);
		if (err)
			die("pthread_create", err);
	}
	if (fifo) {
		int fd = open(fifo, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			die(fifo, errno);
		err = pthread_create(&tid, &attr, gate_loop, (void *)(intptr_t)fd);
		if (err)
			die("pthread_create", err);
	}
	pthread_attr_destroy(&attr);

	for (;;) {
		int started = !fifo || gate_started;

		for (long i = 0; i < nslots && started; i++)
			if (slots[i].value == 0)
				started = 0;
		if (started)
			break;
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	}
	say("ready");
}

static void print_status(unsigned long seq)
{
	unsigned long calls = 0;
	int v = slots[0].value, same = 1;

	for (long i = 0; i < nslots; i++) {
		calls += slots[i].calls;
		if (slots[i].value != v)
			same = 0;
	}
	if (same)
		say("status %lu %d %lu 0", seq, v, calls);
	else
		say("status %lu mixed %lu 0", seq, calls);
}

/* SIGUSR1: fork; the child carries on as a process of its own. */
static void fork_child(const char *prefix, long nworkers)
{
	pid_t parent = getpid(), pid;
	char path[4096];
	int fd;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		say("fork-failed %s", strerror(errno));
		return;
	}
	if (pid > 0) {
		say("child %ld", (long)pid);
		return;
	}
	/* The child: only this thread exists; the lock may have been held
	 * by the gate thread at the fork. */
	pthread_mutex_init(&say_lock, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(1);
	snprintf(path, sizeof(path), "%s.%ld", prefix, (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(1);
	close(fd);
	start_threads(nworkers, NULL);
}

int main(int argc, char **argv)
{
	const char *child_prefix = NULL, *fifo = NULL;
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned long seq = 0;
	long nworkers = 2, vfork_ms = 0;
	bool vfork_main = false;
	sigset_t block, wait_set;
	int opt;

	while ((opt = getopt(argc, argv, "f:g:v:V")) != -1) {
		switch (opt) {
		case 'f':
			child_prefix = optarg;
			break;
		case 'g':
			fifo = optarg;
			break;
		case 'v':
			vfork_ms = strtol(optarg, NULL, 10);
			break;
		case 'V':
			vfork_main = true;
			break;
		default:
			fprintf(stderr, "usage: rev [-f CHILD_PREFIX] [-g FIFO] [-v MS [-V]] [THREADS]\n");
			return 2;
		}
	}
	if (optind < argc) {
		char *end;

		nworkers = strtol(argv[optind], &end, 10);
		if (*end || nworkers < 1 || nworkers > MAX_THREADS || optind + 1 < argc) {
			fprintf(stderr, "usage: rev [-f CHILD_PREFIX] [-g FIFO] [-v MS [-V]] [THREADS]\n");
			return 2;
		}
	}

	/* Blocked everywhere (the threads inherit the mask); SIGUSR1 and
	 * SIGUSR2 are taken by the main thread, SIGHUP by the gate thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	if (fifo)
		sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGUSR2);
	if (child_prefix)
		sigaddset(&wait_set, SIGUSR1);

	start_threads(nworkers, fifo);
	if (vfork_ms > 0) {
		pthread_t tid;
		int err = pthread_create(&tid, NULL, vfork_once, (void *)(intptr_t)vfork_ms);

		if (err)
			die("pthread_create", err);
		pthread_detach(tid);
		if (vfork_main)
			vfork_once((void *)(intptr_t)vfork_ms);
	}

	for (;;) {
		int sig = sigtimedwait(&wait_set, NULL, &tick);

		if (sig == SIGUSR2)
			print_status(++seq);
		else if (sig == SIGUSR1)
			fork_child(child_prefix, nworkers);
		/* reap the children that were killed */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	return 0;
}
