/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tempd-load: the load generator of the soak test (tools/soak.sh) for the
 * sample server tests/servers/tempd.
 *
 *     tempd-load PORT CONNS
 *
 * Opens CONNS connections to 127.0.0.1:PORT, one thread each, and sends
 * requests one after the other on each until SIGTERM or SIGINT: "c2f N",
 * "f2c N" and "ping" in turn, N from -1000 to 1000.  Every answer is
 * checked: "pong" for ping, (N - 32) * 5 / 9 for f2c, and for c2f either
 * N * 9 / 5 (the server's bug) or N * 9 / 5 + 32 (patches/tempd-c2f-fix.c
 * applied), counted as old and new.  A wrong answer, an error, no answer
 * within 5 s or a lost connection is a failed request; the thread then
 * connects again.  The first 10 failures are described on standard error.
 *
 * Every second it prints "progress REQUESTS FAILED" (the totals so far);
 * at the end one line:
 *
 *     requests N failed F old O new W reconnects R max-ms M mean-us U
 *
 * M is the longest time a request took, U the mean.  Exits 0 if no
 * request failed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define TIMEOUT_MS 5000

static unsigned short port;
static volatile sig_atomic_t done;
static unsigned long requests, failed, old_n, new_n, reconnects, total_us, max_us;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void on_stop(int sig)
{
	(void)sig;
	done = 1;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void failure(long conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failure(long conn, const char *fmt, ...)
{
	unsigned long n = __atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
	va_list ap;

	if (n > 10)
		return;
	pthread_mutex_lock(&lock);
	fprintf(stderr, "tempd-load: connection %ld: ", conn);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&lock);
}

static int connect_server(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one line (without its newline) into BUF; 0, or -1 on a timeout, an
 * error or the end of the connection. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		if (++len == size)
			return -1;
	}
}

static void *client(void *arg)
{
	long conn = (long)arg;
	unsigned int seed = (unsigned int)conn * 2654435761u + 1;
	unsigned long k = 0;
	int fd = -1;

	while (!done) {
		char req[64], ans[128], want[32], want_new[32];
		double t0, us;
		int n, kind = (int)(k++ % 3);

		if (fd < 0) {
			fd = connect_server();
			if (fd < 0) {
				failure(conn, "cannot connect: %s", strerror(errno));
				sleep(1);
				continue;
			}
		}
		n = (int)(rand_r(&seed) % 2001) - 1000;
		want_new[0] = '\0';
		if (kind == 0) {
			snprintf(req, sizeof(req), "c2f %d\n", n);
			snprintf(want, sizeof(want), "%d", n * 9 / 5);
			snprintf(want_new, sizeof(want_new), "%d", n * 9 / 5 + 32);
		} else if (kind == 1) {
			snprintf(req, sizeof(req), "f2c %d\n", n);
			snprintf(want, sizeof(want), "%d", (n - 32) * 5 / 9);
		} else {
			snprintf(req, sizeof(req), "ping\n");
			snprintf(want, sizeof(want), "pong");
		}
		t0 = now_us();
		if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
		    read_line(fd, ans, sizeof(ans)) != 0) {
			failure(conn, "no answer to '%.*s' (connection lost or 5 s timeout)",
				(int)strlen(req) - 1, req);
			close(fd);
			fd = -1;
			__atomic_add_fetch(&reconnects, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&requests, 1, __ATOMIC_RELAXED);
			continue;
		}
		us = now_us() - t0;
		__atomic_add_fetch(&requests, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&total_us, (unsigned long)us, __ATOMIC_RELAXED);
		pthread_mutex_lock(&lock);
		if ((unsigned long)us > max_us)
			max_us = (unsigned long)us;
		pthread_mutex_unlock(&lock);
		if (strcmp(ans, want) == 0) {
			if (kind == 0)
				__atomic_add_fetch(&old_n, 1, __ATOMIC_RELAXED);
		} else if (kind == 0 && strcmp(ans, want_new) == 0) {
			__atomic_add_fetch(&new_n, 1, __ATOMIC_RELAXED);
		} else {
			failure(conn, "'%.*s' answered '%s', expected '%s'%s%s",
				(int)strlen(req) - 1, req, ans, want,
				want_new[0] ? " or " : "", want_new);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[MAX_CONNS];
	struct sigaction sa;
	long conns;
	unsigned long req;

	if (argc != 3 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535 ||
	    (conns = strtol(argv[2], NULL, 10)) < 1 || conns > MAX_CONNS) {
		fprintf(stderr, "usage: tempd-load PORT CONNS (1-%d)\n", MAX_CONNS);
		return 2;
	}
	port = (unsigned short)atoi(argv[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (long i = 0; i < conns; i++) {
		int err = pthread_create(&tids[i], NULL, client, (void *)i);

		if (err) {
			fprintf(stderr, "tempd-load: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	while (!done) {
		sleep(1);
		printf("progress %lu %lu\n", __atomic_load_n(&requests, __ATOMIC_RELAXED),
		       __atomic_load_n(&failed, __ATOMIC_RELAXED));
		fflush(stdout);
	}
	for (long i = 0; i < conns; i++)
		pthread_join(tids[i], NULL);
	req = requests;
	printf("requests %lu failed %lu old %lu new %lu reconnects %lu max-ms %.1f mean-us %.0f\n",
	       req, failed, old_n, new_n, reconnects, max_us / 1e3,
	       req ? (double)total_us / (double)req : 0.0);
	fflush(stdout);
	return failed ? 1 : 0;
}
