/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target program of the integration tests: threads blocked in system calls
 * and futex waits while the process is patched (syscalls.sh), or patched
 * and reverted over and over (blocking.sh).
 *
 * Usage: blocked [-s SLEEP_MS] [-u] [MAIN]
 *
 * One thread each sits in a blocking call that nothing completes until the
 * test says so:
 *
 *   read     read() on a pipe nothing is written to
 *   accept   accept() on a listening socket on 127.0.0.1 (port 0)
 *   epoll    epoll_wait(), timeout -1, on an eventfd that never fires
 *   sleep    clock_nanosleep(CLOCK_MONOTONIC) of SLEEP_MS, over and over
 *   futex    a raw FUTEX_WAIT on a word nobody changes
 *   poll     poll(), timeout -1, on a second pipe nothing is written to
 *   ppoll    ppoll(), no timeout, on a third pipe, with a mask that adds
 *            SIGWINCH to the thread's own for the call's time: the kernel
 *            puts the thread's mask back when the call returns, and the
 *            thread checks that it did (a tool that reads the mask of a
 *            thread stopped in the call must get the thread's own, not
 *            the call's, and give that one back)
 *   cond     pthread_cond_wait() on a condition nobody signals
 *   sem      sem_wait() on a semaphore at 0
 *
 * With -u, SIGURG has a handler without SA_RESTART, and only the epoll
 * thread does not block it: a SIGURG ends that thread's epoll_wait() with
 * EINTR, which it prints (eintr.sh).  SIGTRAP then has a handler too,
 * which prints "trap" (handlers.sh).
 *
 * SLEEP_MS is 3000 unless -s says otherwise: long enough for the whole stop
 * of an apply to land inside one sleep.  A test that patches and reverts
 * many times in a row gives a shorter one (blocking.sh: -s 300), so that
 * many sleeps begin and end across its stops.
 *
 * A "control" thread waits for SIGUSR1 and SIGUSR2 with sigtimedwait()
 * (20 ms ticks); these two signals are blocked in every thread, and no
 * signal has a handler.  A worker thread calls answer(21) (libanswer.c) in
 * bursts of 1000 calls, 1 ms apart (its sleep is checked for EINTR too), so
 * that the process leaves the CPUs idle most of the time.  MAIN (default
 * "control") is the role the main thread takes itself, the others get
 * threads of their own: a tool that borrows the first sleeping thread of
 * the process (the main thread) gets one blocked in that call.
 *
 * Each blocking call is checked: a return with EINTR prints "EINTR NAME"
 * and the thread goes back into the call; pthread_cond_wait() returning
 * with its condition still false prints "spurious cond" and waits again;
 * any other return that is not the wake-up below prints "unexpected NAME
 * ERRNO" and ends the thread.  The sleep thread prints "sleep-start K"
 * before each sleep and "slept K MS" after it, or "short-sleep K MS" when
 * less than SLEEP_MS went by on CLOCK_MONOTONIC.
 *
 * The program prints "port N" (the listening port), then "blocker NAME TID"
 * for each blocking thread and, once every one of them is in its system
 * call (/proc/self/task/TID/syscall, or the thread state where that file is
 * not readable), "ready".  The control thread then prints "all-new VALUE"
 * the first time answer(21) no longer gives 42, and "regressed" if it gives
 * 42 again after that (as it does after a revert).  On SIGUSR2 it prints
 * "status SEQ VALUE CALLS 0" (as hot.c does).  On SIGUSR1 it prints
 * "waking" and completes the calls of read, accept, epoll, futex, poll, ppoll,
 * cond and sem, which print "woke NAME" and end; the sleep thread goes on.
 * Every line is flushed at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
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

#define OLD_VALUE 42

static volatile int input = 21;
static volatile int value;
static volatile unsigned long calls;

static long sleep_ms = 3000;
static int pipe_read[2], pipe_poll[2], pipe_ppoll[2], listen_fd, event_fd, epoll_fd;
static unsigned short port;
static uint32_t futex_word;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_set;
static sem_t sem;
static int urg; /* -u */

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
	fprintf(stderr, "blocked: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- the blocking threads ------------------------------------------------- */

struct blocker {
	const char *name;
	void *(*run)(void *);
	long nr[2];                 /* the system call(s) it blocks in */
	volatile pid_t tid;         /* set just before the first call */
};

static struct blocker *self_blocker(const char *name);

/* Note the thread's id before its first blocking call. */
static void arm(const char *name)
{
	self_blocker(name)->tid = (pid_t)syscall(SYS_gettid);
}

static void *run_read(void *arg)
{
	char c;

	(void)arg;
	arm("read");
	for (;;) {
		ssize_t n = read(pipe_read[0], &c, 1);

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
	if (urg) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGURG);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
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

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *run_sleep(void *arg)
{
	const struct timespec span = { sleep_ms / 1000,
				       sleep_ms % 1000 * 1000 * 1000 };
	unsigned long k;

	(void)arg;
	arm("sleep");
	for (k = 1;; k++) {
		double t0, ms;
		int err;

		say("sleep-start %lu", k);
		t0 = now_ms();
		err = clock_nanosleep(CLOCK_MONOTONIC, 0, &span, NULL);
		ms = now_ms() - t0;
		if (err == EINTR) {
			say("EINTR sleep");
		} else if (err) {
			say("unexpected sleep %d", err);
			return NULL;
		} else if (ms < sleep_ms) {
			say("short-sleep %lu %.1f", k, ms);
		} else {
			say("slept %lu %.1f", k, ms);
		}
	}
}

static void *run_futex(void *arg)
{
	(void)arg;
	arm("futex");
	while (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE)) {
		long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0,
				 NULL, NULL, 0);

		if (r == 0 || (r < 0 && errno == EAGAIN)) {
			/* woken, or the word changed: not before the wake-up */
			if (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE)) {
				say("unexpected futex %d", r < 0 ? errno : 0);
				return NULL;
			}
		} else if (r < 0 && errno == EINTR) {
			say("EINTR futex");
		} else {
			say("unexpected futex %d", r < 0 ? errno : 0);
			return NULL;
		}
	}
	say("woke futex");
	return NULL;
}

static int same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(a, sig) != sigismember(b, sig))
			return 0;
	return 1;
}

/* poll() on @fd, or with @own_mask ppoll() with SIGWINCH added to the
 * thread's mask for the call's time, checking after each return that the
 * thread's own mask is back. */
static void *poll_loop(const char *name, int fd, int own_mask)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	sigset_t own, during, after;

	pthread_sigmask(SIG_BLOCK, NULL, &own);
	during = own;
	sigaddset(&during, SIGWINCH);
	arm(name);
	for (;;) {
		int n = own_mask ? ppoll(&pfd, 1, NULL, &during) : poll(&pfd, 1, -1);
		int err = errno;

		pthread_sigmask(SIG_BLOCK, NULL, &after);
		if (own_mask && !same_mask(&own, &after)) {
			say("unexpected %s-mask: SIGWINCH %s", name, sigismember(&after, SIGWINCH) ?
			    "still blocked after the call" : "not blocked, other signals differ");
			return NULL;
		}
		if (n == 1 && (pfd.revents & POLLIN)) {
			say("woke %s", name);
			return NULL;
		}
		if (n < 0 && err == EINTR) {
			say("EINTR %s", name);
			continue;
		}
		say("unexpected %s %d", name, n < 0 ? err : 0);
		return NULL;
	}
}

static void *run_poll(void *arg)
{
	(void)arg;
	return poll_loop("poll", pipe_poll[0], 0);
}

static void *run_ppoll(void *arg)
{
	(void)arg;
	return poll_loop("ppoll", pipe_ppoll[0], 1);
}

/* pthread_cond_wait() may wake spuriously by its contract, but nothing
 * here gives it cause to: a wake-up with the condition false is reported,
 * as a stop of the process may be what made it. */
static void *run_cond(void *arg)
{
	(void)arg;
	arm("cond");
	pthread_mutex_lock(&cond_lock);
	while (!cond_set) {
		int err = pthread_cond_wait(&cond, &cond_lock);

		if (err) {
			pthread_mutex_unlock(&cond_lock);
			say("unexpected cond %d", err);
			return NULL;
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

static void *run_control(void *arg);

/* The system calls glibc may use for each function. */
static struct blocker blockers[] = {
	{ "read", run_read, { SYS_read, SYS_read }, 0 },
	{ "accept", run_accept, { SYS_accept, SYS_accept4 }, 0 },
	{ "epoll", run_epoll, { SYS_epoll_wait, SYS_epoll_pwait }, 0 },
	{ "sleep", run_sleep, { SYS_clock_nanosleep, SYS_nanosleep }, 0 },
	{ "futex", run_futex, { SYS_futex, SYS_futex }, 0 },
	{ "poll", run_poll, { SYS_poll, SYS_ppoll }, 0 },
	{ "ppoll", run_ppoll, { SYS_ppoll, SYS_ppoll }, 0 },
	{ "cond", run_cond, { SYS_futex, SYS_futex }, 0 },
	{ "sem", run_sem, { SYS_futex, SYS_futex }, 0 },
};
#define NBLOCKERS (sizeof(blockers) / sizeof(blockers[0]))

static struct blocker *self_blocker(const char *name)
{
	for (size_t i = 0; i < NBLOCKERS; i++)
		if (strcmp(blockers[i].name, name) == 0)
			return &blockers[i];
	abort();
}

/* ---- readiness ------------------------------------------------------------ */

/* 1 when thread TID sits in one of the system calls of B, 0 when not (yet),
 * -1 when neither /proc file tells. */
static int in_call(const struct blocker *b)
{
	char path[64], line[256];
	FILE *f;
	long nr;
	int ok = -1;

	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)b->tid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof line, f) && sscanf(line, "%ld", &nr) == 1)
			ok = nr == b->nr[0] || nr == b->nr[1];
		fclose(f);
		if (ok >= 0)
			return ok;
	}
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)b->tid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof line, f)) {
			char *p = strrchr(line, ')');

			if (p && p[1] == ' ')
				ok = p[2] == 'S';
		}
		fclose(f);
	}
	return ok;
}

static void wait_all_blocked(void)
{
	double deadline = now_ms() + 30e3;

	for (size_t i = 0; i < NBLOCKERS; i++) {
		struct blocker *b = &blockers[i];

		while (!b->tid || in_call(b) != 1) {
			if (now_ms() > deadline) {
				say("not-blocked %s", b->name);
				exit(1);
			}
			nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
		}
		say("blocker %s %d", b->name, (int)b->tid);
	}
}

/* ---- the worker and the control thread ------------------------------------ */

/* Bursts of calls with a 1 ms pause between them: the process is idle most
 * of the time, as one whose threads wait in system calls would be, so a
 * thread that livepatch lets go runs at once on a free CPU. */
static void *run_worker(void *arg)
{
	const struct timespec pause_ms = { 0, 1000 * 1000 };

	(void)arg;
	for (;;) {
		int err;

		for (int i = 0; i < 1000; i++) {
			value = answer(input);
			calls++;
		}
		err = clock_nanosleep(CLOCK_MONOTONIC, 0, &pause_ms, NULL);
		if (err == EINTR)
			say("EINTR worker");
		else if (err)
			say("unexpected worker %d", err);
	}
	return NULL;
}

/* Complete the calls of the blocked threads (but the sleep). */
static void wake_all(void)
{
	struct sockaddr_in sa;
	int fd;

	say("waking");
	if (write(pipe_read[1], "x", 1) != 1)
		say("unexpected waking-read %d", errno);
	if (write(pipe_poll[1], "x", 1) != 1)
		say("unexpected waking-poll %d", errno);
	if (write(pipe_ppoll[1], "x", 1) != 1)
		say("unexpected waking-ppoll %d", errno);
	if (eventfd_write(event_fd, 1) != 0)
		say("unexpected waking-epoll %d", errno);
	__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
	if (syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, INT_MAX,
		    NULL, NULL, 0) < 0)
		say("unexpected waking-futex %d", errno);
	pthread_mutex_lock(&cond_lock);
	cond_set = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&cond_lock);
	if (sem_post(&sem) != 0)
		say("unexpected waking-sem %d", errno);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		say("unexpected waking-accept %d", errno);
	/* fd stays open: the accepting side just closes its end */
}

static void *run_control(void *arg)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned long seq = 0;
	int all_new = 0, regressed = 0;
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);

	while (!value)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	wait_all_blocked();
	nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	say("ready");

	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);
		int v = value;

		if (sig == SIGUSR2)
			say("status %lu %d %lu 0", ++seq, v, calls);
		else if (sig == SIGUSR1)
			wake_all();
		else if (sig < 0 && errno == EINTR)
			say("EINTR control");
		else if (sig < 0 && errno != EAGAIN)
			say("unexpected control %d", errno);
		if (!all_new && v != OLD_VALUE) {
			all_new = 1;
			say("all-new %d", v);
		} else if (all_new && !regressed && v == OLD_VALUE) {
			regressed = 1;
			say("regressed");
		}
	}
	return NULL;
}

/* ---- setup ---------------------------------------------------------------- */

static void setup(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	struct epoll_event ev = { .events = EPOLLIN };

	if (pipe2(pipe_read, O_CLOEXEC) != 0 || pipe2(pipe_poll, O_CLOEXEC) != 0 ||
	    pipe2(pipe_ppoll, O_CLOEXEC) != 0)
		die("pipe2", errno);

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("socket", errno);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("bind 127.0.0.1", errno);
	if (listen(listen_fd, 16) != 0)
		die("listen", errno);
	if (getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
		die("getsockname", errno);
	port = ntohs(sa.sin_port);

	event_fd = eventfd(0, EFD_CLOEXEC);
	if (event_fd < 0)
		die("eventfd", errno);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		die("epoll_create1", errno);
	ev.data.fd = event_fd;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, event_fd, &ev) != 0)
		die("epoll_ctl", errno);

	if (sem_init(&sem, 0, 0) != 0)
		die("sem_init", errno);
}

/* -u: SIGURG ends the epoll thread's wait with EINTR (no SA_RESTART). */
static void on_urg(int sig)
{
	(void)sig;
}

/* -u: a handler livepatch's single steps must leave in place. */
static void on_trap(int sig)
{
	(void)sig;
	if (write(1, "trap\n", 5) != 5)
		_exit(3);
}

static int usage(void)
{
	fprintf(stderr, "usage: blocked [-s SLEEP_MS] [-u] "
		"[control|read|accept|epoll|sleep|futex|poll|cond|sem]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *main_role;
	void *(*main_run)(void *) = NULL;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t set;
	char *end;
	int opt, err;

	while ((opt = getopt(argc, argv, "s:u")) != -1) {
		if (opt == 'u') {
			urg = 1;
			continue;
		}
		if (opt != 's')
			return usage();
		errno = 0;
		sleep_ms = strtol(optarg, &end, 10);
		/* up to an hour: a longer sleep would end no test */
		if (errno || end == optarg || *end || sleep_ms < 1 ||
		    sleep_ms > 3600 * 1000)
			return usage();
	}
	if (argc - optind > 1)
		return usage();
	main_role = optind < argc ? argv[optind] : "control";
	if (strcmp(main_role, "control") == 0)
		main_run = run_control;
	for (size_t i = 0; i < NBLOCKERS; i++)
		if (strcmp(main_role, blockers[i].name) == 0)
			main_run = blockers[i].run;
	if (!main_run) {
		fprintf(stderr, "blocked: unknown role '%s'\n", main_role);
		return 2;
	}

	setup();
	say("port %u", (unsigned)port);

	/* SIGUSR1 and SIGUSR2 only ever go to the control thread's
	 * sigtimedwait(); every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (urg) {
		struct sigaction sa = { .sa_handler = on_urg };
		struct sigaction trap = { .sa_handler = on_trap, .sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGURG, &sa, NULL);
		sigemptyset(&trap.sa_mask);
		sigaction(SIGTRAP, &trap, NULL);
		sigaddset(&set, SIGURG); /* (the epoll thread unblocks it) */
	}
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, run_worker, NULL);
	if (err)
		die("pthread_create", err);
	for (size_t i = 0; i < NBLOCKERS; i++) {
		if (blockers[i].run == main_run)
			continue;
		err = pthread_create(&tid, &attr, blockers[i].run, NULL);
		if (err)
			die("pthread_create", err);
	}
	if (main_run != run_control) {
		err = pthread_create(&tid, &attr, run_control, NULL);
		if (err)
			die("pthread_create", err);
	}

	main_run(NULL);
	/* The main thread's call was completed: stay, the others go on. */
	for (;;)
		pause();
	return 0;
}
