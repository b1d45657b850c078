/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target program of the integration tests.
 *
 * Usage: hot [N]
 *
 * N worker threads (default 1) call answer(21) in a tight loop and store
 * the latest result in their own slot.  Once every worker has stored a
 * result the main thread prints "ready"; then, every 20 ms, it looks at the
 * slots and the first time none of them holds 42 any more it prints
 * "all-new VALUE" (VALUE is the common value, or "mixed" when the slots
 * disagree).  If a slot goes back to 42 after that it prints "regressed".
 * On SIGUSR2 it prints "status SEQ VALUE CALLS SIGNALS": VALUE as above
 * over the current slots (42 before a patch), CALLS the total number of
 * calls the workers made so far, SIGNALS the number of handled SIGUSR1
 * (SIGNAL_VARIANT only, else 0).  It runs until it is killed.  Every line
 * is flushed at once, so a test can poll the output file.
 *
 * Variants (compile-time):
 *   -DUSE_LIB         answer() comes from the shared library libanswer.c.
 *   -DSIGNAL_VARIANT  a helper thread sends SIGUSR1 to the workers nonstop;
 *                     the handler calls answer() too and stores its result
 *                     in a second slot of the worker, which counts like the
 *                     first one for "ready", "all-new" and "status".
 *   -DLOCKED_VARIANT  before anything else, lock the process down as
 *                     systemd's MemoryDenyWriteExecute does: the kernel's
 *                     PR_SET_MDWE (where there is one) and a seccomp
 *                     filter refusing mmap with PROT_WRITE|PROT_EXEC and
 *                     mprotect/pkey_mprotect with PROT_EXEC; prints
 *                     "locked" once an mprotect(PROT_EXEC) fails, or
 *                     "lock-failed".
 *   -DSTUCK_VARIANT   (usage: hot N [entry|pad]) an extra thread
 *                     single-steps itself into answer() and blocks in the
 *                     SIGTRAP handler once the first of two NOPs has
 *                     executed: its interrupted context sits between the
 *                     two entry NOPs ("entry", the default) or between the
 *                     last two NOPs of the pad, which it called into
 *                     ("pad"), until the process gets SIGHUP.  Needs the
 *                     gcc, non-CET layout.  Prints "stuck" when it is in
 *                     place (or "stuck-failed" if the layout differs) and
 *                     "released" after SIGHUP.
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
#include <ucontext.h>
#include <unistd.h>

#ifdef USE_LIB
int answer(int x);
#else
#include "libanswer.c"
#endif

#define OLD_VALUE 42

/* An exported function for patches to call (tests/targets/libc-patch.c). */
__attribute__((noinline, used)) int triple(int x)
{
	return x * 3;
}
#define MAX_THREADS 4096

struct slot {
	volatile int value;      /* latest answer(21) of the loop */
	volatile int sig_value;  /* latest answer(21) of the SIGUSR1 handler */
	volatile unsigned long calls;
	volatile unsigned long sigs;
	pthread_t tid;
} __attribute__((aligned(64)));

static struct slot *slots;
static long nslots;

/* Read through a volatile so the compiler cannot specialise the calls. */
static volatile int input = 21;

static __thread struct slot *my_slot;

static void *worker_loop(struct slot *s)
{
	for (;;) {
		s->value = answer(input);
		s->calls++;
	}
	return NULL;
}

static void *worker(void *arg)
{
	my_slot = arg;
	return worker_loop(arg);
}

#ifdef SIGNAL_VARIANT
static void on_usr1(int sig)
{
	struct slot *s = my_slot;

	(void)sig;
	if (s) {
		s->sig_value = answer(input);
		s->sigs++;
	}
}

/* Interrupt the workers as often as possible. */
static void *kicker(void *arg)
{
	long nworkers = (long)(intptr_t)arg;

	for (;;)
		for (long i = 0; i < nworkers; i++)
			pthread_kill(slots[i].tid, SIGUSR1);
	return NULL;
}
#endif

#ifdef STUCK_VARIANT
static volatile sig_atomic_t stuck, released, step_failed;
static volatile unsigned long steps;

static void on_hup(int sig)
{
	(void)sig;
	released = 1;
}

/* Where the stuck thread stops, and what it calls to get there. */
static uintptr_t stop_at;
static int (*volatile call_at)(int);

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	sigset_t wait_mask;

	(void)sig;
	(void)si;
	if ((uintptr_t)uc->uc_mcontext.gregs[REG_RIP] == stop_at) {
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;  /* TF off */
		stuck = 1;
		/* Everything but SIGHUP stays as it was in the thread. */
		pthread_sigmask(SIG_SETMASK, NULL, &wait_mask);
		sigdelset(&wait_mask, SIGHUP);
		while (!released)
			sigsuspend(&wait_mask);
		return;
	}
	if (++steps > 100000) {
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;
		step_failed = 1;
	}
}

static void *stuck_worker(void *arg)
{
	struct slot *s = arg;

	my_slot = s;
	for (int i = 0; i < 1000; i++) {
		s->value = answer(input);
		s->calls++;
	}
	if (!stop_at) {
		step_failed = 1;
		return worker_loop(s);
	}
	/* Set the trap flag: every instruction from here on raises SIGTRAP
	 * until the handler clears it at stop_at. */
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\t"  /* spare the red zone */
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "lea 128(%%rsp), %%rsp"
			 ::: "cc", "memory");
	s->value = call_at(input);
	s->calls++;
	return worker_loop(s);
}

/* "entry": stop after the first of two 1-byte entry NOPs of answer().
 * "pad": call the last two NOPs of the pad before answer(), which fall
 * through into it, and stop after the first of them: in the pad. */
static void set_stop(const char *where)
{
	/* Launder the address: to the compiler, answer() is an object of
	 * unknown size that bytes before it are no part of. */
	static volatile uintptr_t launder;
	uintptr_t addr = (launder = (uintptr_t)answer, launder);
	const unsigned char *entry = (const unsigned char *)addr;

	if (strcmp(where, "entry") == 0) {
		if (entry[0] == 0x90 && entry[1] == 0x90) {
			call_at = answer;
			stop_at = addr + 1;
		}
	} else if (strcmp(where, "pad") == 0) {
		if (entry[-2] == 0x90 && entry[-1] == 0x90) {
			call_at = (int (*)(int))(addr - 2);
			stop_at = addr - 1;
		}
	} else {
		fprintf(stderr, "hot: where to stop: entry or pad\n");
		exit(2);
	}
}
#endif

static void die(const char *what, int err)
{
	fprintf(stderr, "hot: %s: %s\n", what, strerror(err));
	exit(1);
}

#if defined(SIGNAL_VARIANT) || defined(STUCK_VARIANT)
static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction", errno);
}
#endif

/* The common value of all slots, or -1 when they disagree. */
static int common_value(void)
{
	int v = slots[0].value;

	for (long i = 0; i < nslots; i++) {
		if (slots[i].value != v)
			return -1;
#ifdef SIGNAL_VARIANT
		if (slots[i].sig_value != v)
			return -1;
#endif
	}
	return v;
}

static int all_started(void)
{
	for (long i = 0; i < nslots; i++) {
		if (slots[i].value == 0)
			return 0;
#ifdef SIGNAL_VARIANT
		if (slots[i].sig_value == 0)
			return 0;
#endif
	}
	return 1;
}

static int any_old(void)
{
	for (long i = 0; i < nslots; i++) {
		if (slots[i].value == OLD_VALUE)
			return 1;
#ifdef SIGNAL_VARIANT
		if (slots[i].sig_value == OLD_VALUE)
			return 1;
#endif
	}
	return 0;
}

static void print_value(void)
{
	int v = common_value();

	if (v < 0)
		printf("mixed");
	else
		printf("%d", v);
}

#ifdef LOCKED_VARIANT
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))

static void lock_down(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 5, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pkey_mprotect, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	void *page;

	/* the kernel's own switch: no mapping may become executable later */
	prctl(65 /* PR_SET_MDWE */, 1 /* PR_MDWE_REFUSE_EXEC_GAIN */, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		printf("lock-failed %s\n", strerror(errno));
		fflush(stdout);
		return;
	}
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page != MAP_FAILED && mprotect(page, 4096, PROT_READ | PROT_EXEC) &&
	    errno == EPERM)
		printf("locked\n");
	else
		printf("lock-failed\n");
	fflush(stdout);
}
#endif

int main(int argc, char **argv)
{
	long nworkers = 1;
	sigset_t set;
	pthread_attr_t attr;
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned long seq = 0;
	int all_new = 0, regressed = 0, err;

	if (argc > 1) {
		char *end;

		nworkers = strtol(argv[1], &end, 10);
		if (*end || nworkers < 1 || nworkers > MAX_THREADS) {
			fprintf(stderr, "usage: hot [THREADS]\n");
			return 2;
		}
	}
	nslots = nworkers;
#ifdef LOCKED_VARIANT
	lock_down();
#endif
#ifdef STUCK_VARIANT
	set_stop(argc > 2 ? argv[2] : "entry");
	nslots++;
#endif
	err = posix_memalign((void **)&slots, 64, nslots * sizeof *slots);
	if (err)
		die("posix_memalign", err);
	memset(slots, 0, nslots * sizeof *slots);

	/* SIGUSR2 is taken by sigtimedwait() in the main thread only; SIGHUP
	 * only ever reaches the stuck thread.  The threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGHUP);

#ifdef SIGNAL_VARIANT
	set_handler(SIGUSR1, on_usr1);
#endif
#ifdef STUCK_VARIANT
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_trap;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGTRAP, &sa, NULL) != 0)
			die("sigaction", errno);
		set_handler(SIGHUP, on_hup);
	}
#endif

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (long i = 0; i < nworkers; i++) {
		err = pthread_create(&slots[i].tid, &attr, worker, &slots[i]);
		if (err)
			die("pthread_create", err);
	}
#ifdef STUCK_VARIANT
	err = pthread_create(&slots[nworkers].tid, &attr, stuck_worker,
			     &slots[nworkers]);
	if (err)
		die("pthread_create", err);
#endif
#ifdef SIGNAL_VARIANT
	{
		pthread_t tid;

		err = pthread_create(&tid, &attr, kicker,
				     (void *)(intptr_t)nworkers);
		if (err)
			die("pthread_create", err);
	}
#endif

	while (!all_started())
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGUSR2) {
			unsigned long calls = 0, sigs = 0;

			for (long i = 0; i < nslots; i++) {
				calls += slots[i].calls;
				sigs += slots[i].sigs;
			}
			printf("status %lu ", ++seq);
			print_value();
			printf(" %lu %lu\n", calls, sigs);
			fflush(stdout);
		}
#ifdef STUCK_VARIANT
		{
			static int said_stuck, said_released, said_failed;

			if (stuck && !said_stuck) {
				said_stuck = 1;
				printf("stuck\n");
				fflush(stdout);
			}
			if (released && !said_released) {
				said_released = 1;
				printf("released\n");
				fflush(stdout);
			}
			if (step_failed && !said_failed) {
				said_failed = 1;
				printf("stuck-failed\n");
				fflush(stdout);
			}
		}
#endif
		if (!all_new && !any_old()) {
			all_new = 1;
			printf("all-new ");
			print_value();
			printf("\n");
			fflush(stdout);
		} else if (all_new && !regressed && any_old()) {
			regressed = 1;
			printf("regressed\n");
			fflush(stdout);
		}
	}
	return 0;
}
