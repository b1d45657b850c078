/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/blocking.sh: threads blocked in system calls
 * and futex waits while the process is patched and reverted over and over.
 *
 * Usage: blocking [MAIN]
 *
 * One thread each waits for something nothing completes until the test
 * says so:
 *
 *   read     read() on a pipe
 *   accept   accept() on a listening socket on 127.0.0.1 (port 0)
 *   epoll    epoll_wait(), timeout -1, on an eventfd
 *   cond     pthread_cond_wait() on a condition nobody signals
 *   sem      sem_wait() on a semaphore at 0
 *   sleep    nanosleep() of SLEEP_MS, over and over, each one timed
 *
 * A "control" thread takes SIGUSR1 and SIGUSR2 (blocked in every thread)
 * with sigtimedwait() and 20 ms ticks, and a worker calls answer(21)
 * (libanswer.c) in bursts of 1000 calls with a 1 ms nanosleep() between
 * them.  MAIN (default "control") is the role of the main thread, which
 * livepatch borrows for its system calls when it sleeps; the other roles
 * get threads of their own.
 *
 * Every return of a call is checked.  A call that fails with EINTR prints
 * "EINTR NAME" and is made again; pthread_cond_wait() returning with the
 * condition still false prints "spurious cond"; any other early return
 * prints "unexpected NAME ERRNO".  The sleep thread prints "sleep-start K"
 * before sleep K and "slept K MS" after it, or "short-sleep K MS" when
 * less than SLEEP_MS went by on CLOCK_MONOTONIC.
 *
 * Output: "blocker NAME TID" for each waiting thread once it is in its
 * call, then "ready".  On SIGUSR2 the control thread prints "status SEQ
 * VALUE CALLS 0" (VALUE: the worker's latest answer(21); as hot.c does).
 * On SIGUSR1 it prints "waking" and completes the waits of read, accept,
 * epoll, cond and sem, which print "woke NAME" and end; the sleep thread
 * goes on.  Every line is flushed at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "libanswer.c"

#define SLEEP_MS 300

static volatile int input = 21;
static volatile int value;
static volatile unsigned long calls;

static int pipe_fd[2], listen_fd, event_fd, epoll_fd;
static unsigned short port;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_set;
static sem_t sem;

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

static void die(const char *what, int err)
{
	fprintf(stderr, "blocking: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the waiting threads ---------------------------------------------------- */

struct waiter {
	const char *name;
	void *(*run)(void *);
	long nr[2];                 /* the system calls it waits in */
	volatile pid_t tid;
};

static struct waiter *waiter(const char *name);

static void arm(const char *name)
{
	waiter(name)->tid = (pid_t)syscall(SYS_gettid);
}

static void *run_read(void *arg)
{
	char c;

	(void)arg;
	arm("read");
	for (;;) {
		ssize_t n = read(pipe_fd[0], &c, 1);

		if (n == 1) {
			say("woke read");
			return NULL;
		}
		if (n < 0 && errno == EINTR) {
			say("EINTR read");
			continue;
		}
		say("unexpected read %d", n < 0 ? errno : 0);
		return NULL;
	}
}

static void *run_accept(void *arg)
{
	(void)arg;
	arm("accept");
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd >= 0) {
			close(fd);
			say("woke accept");
			return NULL;
		}
		if (errno == EINTR) {
			say("EINTR accept");
			continue;
		}
		say("unexpected accept %d", errno);
		return NULL;
	}
}

static void *run_epoll(void *arg)
{
	struct epoll_event ev;

	(void)arg;
	arm("epoll");
	for (;;) {
		int n = epoll_wait(epoll_fd, &ev, 1, -1);

		if (n == 1) {
			say("woke epoll");
			return NULL;
		}
		if (n < 0 && errno == EINTR) {
			say("EINTR epoll");
			continue;
		}
		say("unexpected epoll %d", n < 0 ? errno : 0);
		return NULL;
	}
}

static void *run_cond(void *arg)
{
	(void)arg;
	arm("cond");
	pthread_mutex_lock(&cond_lock);
	while (!cond_set) {
		int err = pthread_cond_wait(&cond, &cond_lock);

		if (err) {
			say("unexpected cond %d", err);
			break;
		}
		if (!cond_set)
			say("spurious cond");
	}
	pthread_mutex_unlock(&cond_lock);
	say("woke cond");
	return NULL;
}

static void *run_sem(void *arg)
{
	(void)arg;
	arm("sem");
	for (;;) {
		if (sem_wait(&sem) == 0) {
			say("woke sem");
			return NULL;
		}
		if (errno == EINTR) {
			say("EINTR sem");
			continue;
		}
		say("unexpected sem %d", errno);
		return NULL;
	}
}

static void *run_sleep(void *arg)
{
	const struct timespec span = { SLEEP_MS / 1000, SLEEP_MS % 1000 * 1000000L };

	(void)arg;
	arm("sleep");
	for (unsigned long k = 1;; k++) {
		double t0, ms;
		int r;

		say("sleep-start %lu", k);
		t0 = now_ms();
		r = nanosleep(&span, NULL);
		ms = now_ms() - t0;
		if (r != 0 && errno == EINTR)
			say("EINTR sleep");
		else if (r != 0)
			say("unexpected sleep %d", errno);
		else if (ms < SLEEP_MS)
			say("short-sleep %lu %.1f", k, ms);
		else
			say("slept %lu %.1f", k, ms);
	}
	return NULL;
}

static void *run_control(void *arg);

static struct waiter waiters[] = {
	{ "read", run_read, { SYS_read, SYS_read }, 0 },
	{ "accept", run_accept, { SYS_accept, SYS_accept4 }, 0 },
	{ "epoll", run_epoll, { SYS_epoll_wait, SYS_epoll_pwait }, 0 },
	{ "cond", run_cond, { SYS_futex, SYS_futex }, 0 },
	{ "sem", run_sem, { SYS_futex, SYS_futex }, 0 },
	{ "sleep", run_sleep, { SYS_clock_nanosleep, SYS_nanosleep }, 0 },
};
#define NWAITERS (sizeof(waiters) / sizeof(waiters[0]))

static struct waiter *waiter(const char *name)
{
	for (size_t i = 0; i < NWAITERS; i++)
		if (strcmp(waiters[i].name, name) == 0)
			return &waiters[i];
	abort();
}

/* Whether thread W sits in one of its system calls. */
static int in_call(const struct waiter *w)
{
	char path[64], line[256];
	FILE *f;
	long nr;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)w->tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && sscanf(line, "%ld", &nr) == 1)
		ok = nr == w->nr[0] || nr == w->nr[1];
	fclose(f);
	return ok;
}

/* ---- the worker and the control thread -------------------------------------- */

static void *run_worker(void *arg)
{
	const struct timespec pause_1ms = { 0, 1000 * 1000 };

	(void)arg;
	for (;;) {
		for (int i = 0; i < 1000; i++) {
			value = answer(input);
			calls++;
		}
		if (nanosleep(&pause_1ms, NULL) == 0)
			continue;
		if (errno == EINTR)
			say("EINTR worker");
		else
			say("unexpected worker %d", errno);
	}
	return NULL;
}

static void wake_all(void)
{
	struct sockaddr_in sa;
	int fd;

	say("waking");
	if (write(pipe_fd[1], "x", 1) != 1)
		say("unexpected waking-read %d", errno);
	if (eventfd_write(event_fd, 1) != 0)
		say("unexpected waking-epoll %d", errno);
	pthread_mutex_lock(&cond_lock);
	cond_set = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&cond_lock);
	if (sem_post(&sem) != 0)
		say("unexpected waking-sem %d", errno);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		say("unexpected waking-accept %d", errno);
	/* fd stays open: the accepting side closes its end */
}

static void *run_control(void *arg)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned long seq = 0;
	double deadline = now_ms() + 30e3;
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	while (!value)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	for (size_t i = 0; i < NWAITERS; i++) {
		while (!waiters[i].tid || !in_call(&waiters[i])) {
			if (now_ms() > deadline) {
				say("not-blocked %s", waiters[i].name);
				exit(1);
			}
			nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
		}
		say("blocker %s %d", waiters[i].name, (int)waiters[i].tid);
	}
	say("ready");
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGUSR2)
			say("status %lu %d %lu 0", ++seq, value, calls);
		else if (sig == SIGUSR1)
			wake_all();
		else if (sig < 0 && errno == EINTR)
			say("EINTR control");
		else if (sig < 0 && errno != EAGAIN)
			say("unexpected control %d", errno);
	}
	return NULL;
}

/* ---- setup ------------------------------------------------------------------ */

static void setup(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct epoll_event ev = { .events = EPOLLIN };

	if (pipe2(pipe_fd, O_CLOEXEC) != 0)
		die("pipe2", errno);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("socket", errno);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(listen_fd, 16) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
		die("listen on 127.0.0.1", errno);
	port = ntohs(sa.sin_port);
	event_fd = eventfd(0, EFD_CLOEXEC);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (event_fd < 0 || epoll_fd < 0)
		die("eventfd/epoll_create1", errno);
	ev.data.fd = event_fd;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, event_fd, &ev) != 0)
		die("epoll_ctl", errno);
	if (sem_init(&sem, 0, 0) != 0)
		die("sem_init", errno);
}

int main(int argc, char **argv)
{
	const char *role = argc > 1 ? argv[1] : "control";
	void *(*main_run)(void *) = NULL;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t set;
	int err;

	if (argc > 2) {
		fprintf(stderr, "usage: blocking [control|read|accept|epoll|cond|sem|sleep]\n");
		return 2;
	}
	if (strcmp(role, "control") == 0)
		main_run = run_control;
	for (size_t i = 0; i < NWAITERS; i++)
		if (strcmp(role, waiters[i].name) == 0)
			main_run = waiters[i].run;
	if (!main_run) {
		fprintf(stderr, "blocking: unknown role '%s'\n", role);
		return 2;
	}
	setup();

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, run_worker, NULL);
	for (size_t i = 0; i < NWAITERS && !err; i++)
		if (waiters[i].run != main_run)
			err = pthread_create(&tid, &attr, waiters[i].run, NULL);
	if (!err && main_run != run_control)
		err = pthread_create(&tid, &attr, run_control, NULL);
	if (err)
		die("pthread_create", err);

	main_run(NULL);
	for (;;)
		pause();
	return 0;
}
