/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/rtsig.sh: counts the queued real-time
 * signals it receives and checks that each arrives with the siginfo it
 * was sent with (SI_QUEUE, value 42).  Its main thread sleeps 100 us at a
 * time and calls answer(21); it prints "ready", then "value V" each time
 * answer's result changes, and "got N bad M" on SIGUSR1.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int input = 21, calls;

__attribute__((noinline)) int answer(int x)
{
	calls++;
	return x * 2;
}

static volatile sig_atomic_t got, bad, report;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got++;
	if (si->si_code != SI_QUEUE || si->si_value.sival_int != 42)
		bad++;
}

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

int main(void)
{
	struct sigaction sa;
	int last = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct timespec ts = { 0, 100000 };
		int v;

		nanosleep(&ts, NULL);
		v = answer(input);
		if (v != last) {
			printf("value %d\n", v);
			fflush(stdout);
			last = v;
		}
		if (report) {
			report = 0;
			printf("got %ld bad %ld\n", (long)got, (long)bad);
			fflush(stdout);
		}
	}
}
