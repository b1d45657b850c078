/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target of tests/integration/threadbomb.sh: threads are created and end
 * nonstop while the process is patched and reverted, and each checks that
 * it ran the code it should have.
 *
 * Usage: threadbomb SPAWNERS CMD_FIFO REPLY_FIFO [PAUSE_US]
 *
 * SPAWNERS threads create short-lived detached threads as fast as they
 * can (or with a nanosleep() of PAUSE_US microseconds after each), up to
 * MAX_LIVE at a time; every 16th of those creates one more thread itself
 * before it ends.  Each short-lived thread reads the phase,
 * calls answer(21) (libanswer.c: 42, or 63 once
 * tests/targets/answer-patch.c is applied), reads the phase again, and
 * ends.  The phase is set by the test through CMD_FIFO, one command a
 * line, each answered on REPLY_FIFO with one line:
 *
 *   begin      an apply or revert is about to start: any thread whose call
 *              overlaps this phase may see either value.  -> "ok EPOCH"
 *   expect V   the apply or revert has ended: answer(21) is V from now on.
 *              -> "ok EPOCH"
 *   report     -> "threads N checked C old O new W escaped E bad B
 *              create-failed F"
 *
 * A thread that read the same "expect V" phase before and after its call
 * made the whole call after the command, so after the apply or revert
 * that came before it: it is "checked", and it "escaped" if the call did
 * not give V (the first one prints "escape epoch E expected V got W" on
 * stdout).  O and W count the checked calls that gave 42 and 63.  A call
 * that gives neither 42 nor 63 is "bad", whatever the phase.  Threads that
 * could not be created (EAGAIN: too many at once) count in F and are
 * retried.  The program opens both FIFOs read-write (so that no open
 * blocks, and the test's reads see an end of file if it dies), prints
 * "ready" once the spawners have created threads, and runs until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libanswer.c"

#define OLD_VALUE 42
#define NEW_VALUE 63
#define MAX_LIVE 32
#define MAX_SPAWNERS 16

/* The phase: epoch << 16 | stable << 15 | expected value. */
static uint64_t phase;
static volatile int input = 21;
static unsigned long threads, checked, old_n, new_n, escaped, bad, create_failed;
static int live;
static long pause_us;
static pthread_attr_t attr;

#define PHASE_EPOCH(p) ((p) >> 16)
#define PHASE_STABLE(p) (((p) >> 15) & 1)
#define PHASE_VALUE(p) ((int)((p) & 0x7fff))

static void *short_lived(void *arg);

/* Start one short-lived thread if fewer than MAX_LIVE run; 0 if none
 * could be started. */
static int spawn(void)
{
	pthread_t tid;
	int err;

	if (__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED) > MAX_LIVE) {
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
		return 0;
	}
	err = pthread_create(&tid, &attr, short_lived, NULL);
	if (err) {
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&create_failed, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return 1;
}

static void *short_lived(void *arg)
{
	uint64_t before, after;
	unsigned long n;
	int v;

	(void)arg;
	before = __atomic_load_n(&phase, __ATOMIC_ACQUIRE);
	v = answer(input);
	after = __atomic_load_n(&phase, __ATOMIC_ACQUIRE);
	n = __atomic_add_fetch(&threads, 1, __ATOMIC_RELAXED);
	if (v != OLD_VALUE && v != NEW_VALUE) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	} else if (before == after && PHASE_STABLE(before)) {
		__atomic_fetch_add(&checked, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(v == OLD_VALUE ? &old_n : &new_n, 1, __ATOMIC_RELAXED);
		if (v != PHASE_VALUE(before) &&
		    __atomic_fetch_add(&escaped, 1, __ATOMIC_RELAXED) == 0) {
			printf("escape epoch %llu expected %d got %d\n",
			       (unsigned long long)PHASE_EPOCH(before), PHASE_VALUE(before), v);
			fflush(stdout);
		}
	}
	if (n % 16 == 0)
		spawn(); /* a thread that creates a thread */
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	for (;;) {
		if (!spawn())
			nanosleep(&(struct timespec){ 0, 20 * 1000 }, NULL);
		else if (pause_us)
			nanosleep(&(struct timespec){ pause_us / 1000000,
						      pause_us % 1000000 * 1000 }, NULL);
	}
	return NULL;
}

static void set_phase(int stable, int value)
{
	uint64_t p = __atomic_load_n(&phase, __ATOMIC_RELAXED);

	p = (PHASE_EPOCH(p) + 1) << 16 | (uint64_t)stable << 15 | (uint64_t)value;
	__atomic_store_n(&phase, p, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	FILE *cmd, *reply;
	char line[128];
	long nspawners;
	pthread_t tid;
	int fd, err;

	if (argc < 4 || argc > 5 || (nspawners = strtol(argv[1], NULL, 10)) < 1 ||
	    nspawners > MAX_SPAWNERS) {
		fprintf(stderr, "usage: threadbomb SPAWNERS CMD_FIFO REPLY_FIFO [PAUSE_US]\n");
		return 2;
	}
	if (argc == 5)
		pause_us = strtol(argv[4], NULL, 10);
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0 || !(cmd = fdopen(fd, "r"))) {
		perror(argv[2]);
		return 1;
	}
	fd = open(argv[3], O_RDWR | O_CLOEXEC);
	if (fd < 0 || !(reply = fdopen(fd, "w"))) {
		perror(argv[3]);
		return 1;
	}
	/* Before any phase is set, no call is checked. */
	set_phase(0, 0);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < nspawners; i++) {
		err = pthread_create(&tid, &attr, spawner, NULL);
		if (err) {
			fprintf(stderr, "threadbomb: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	while (__atomic_load_n(&threads, __ATOMIC_RELAXED) < 100)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	printf("ready\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), cmd)) {
		int v;

		if (strcmp(line, "begin\n") == 0) {
			set_phase(0, 0);
		} else if (sscanf(line, "expect %d", &v) == 1 && v > 0 && v < 0x8000) {
			set_phase(1, v);
		} else if (strcmp(line, "report\n") == 0) {
			fprintf(reply, "threads %lu checked %lu old %lu new %lu escaped %lu bad %lu "
				"create-failed %lu\n",
				__atomic_load_n(&threads, __ATOMIC_RELAXED),
				__atomic_load_n(&checked, __ATOMIC_RELAXED),
				__atomic_load_n(&old_n, __ATOMIC_RELAXED),
				__atomic_load_n(&new_n, __ATOMIC_RELAXED),
				__atomic_load_n(&escaped, __ATOMIC_RELAXED),
				__atomic_load_n(&bad, __ATOMIC_RELAXED),
				__atomic_load_n(&create_failed, __ATOMIC_RELAXED));
			fflush(reply);
			continue;
		} else {
			fprintf(reply, "error: %s", line);
			fflush(reply);
			continue;
		}
		fprintf(reply, "ok %llu\n",
			(unsigned long long)PHASE_EPOCH(__atomic_load_n(&phase, __ATOMIC_RELAXED)));
		fflush(reply);
	}
	return 0;
}
