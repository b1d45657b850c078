/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tempd: a small temperature-conversion server, used as the target of the
 * demo (tools/demo.sh) and of tests/integration/server.sh.
 *
 *     tempd PORT PORTFILE
 *
 * Listens on 127.0.0.1:PORT (0 picks a free port), writes the bound port
 * to PORTFILE and serves a line protocol:
 *
 *     c2f N   ->  N Celsius in Fahrenheit
 *     f2c N   ->  N Fahrenheit in Celsius
 *     ping    ->  pong
 *     quit    ->  the server closes the connection
 *
 * It carries a deliberate bug: c_to_f() forgets the "+ 32", so "c2f 100"
 * answers 180.  patches/tempd-c2f-fix.c fixes it in the running process.
 * Runs until SIGTERM or SIGINT, then exits 0.
 */
#define _POSIX_C_SOURCE 200809L /* dprintf() and sigwait() are POSIX.1-2008 */

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NWORKERS 4
#define QUEUE_LEN 64
/* Bounds the arithmetic below far away from int overflow. */
#define MAX_ABS_DEGREES 1000000L

int c_to_f(int c);
int f_to_c(int f);

/* Accepted connections waiting for a worker: a ring buffer.  Each worker
 * serves one connection until the client leaves, so a fifth simultaneous
 * client waits here until one of the first four disconnects. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	int fds[QUEUE_LEN];
	unsigned head, count;
} queue = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
};

/* Reported at shutdown.  Updated by every worker, hence atomic; it is
 * also a side effect next to each conversion call, which keeps the
 * compiler from merging or moving those calls. */
static atomic_ulong conversions;

/*
 * The conversions are separate, non-inlined functions with external
 * linkage: that keeps a real call to each of them, under its own symbol,
 * which is what a live patch replaces.  An inlined copy inside the
 * caller would not be reached by the patch.
 */
__attribute__((noinline)) int c_to_f(int c)
{
	return c * 9 / 5; /* BUG: the "+ 32" is missing. */
}

__attribute__((noinline)) int f_to_c(int f)
{
	return (f - 32) * 5 / 9;
}

static void queue_push(int fd)
{
	pthread_mutex_lock(&queue.lock);
	while (queue.count == QUEUE_LEN)
		pthread_cond_wait(&queue.not_full, &queue.lock);
	queue.fds[(queue.head + queue.count++) % QUEUE_LEN] = fd;
	pthread_cond_signal(&queue.not_empty);
	pthread_mutex_unlock(&queue.lock);
}

static int queue_pop(void)
{
	pthread_mutex_lock(&queue.lock);
	while (queue.count == 0)
		pthread_cond_wait(&queue.not_empty, &queue.lock);
	int fd = queue.fds[queue.head];
	queue.head = (queue.head + 1) % QUEUE_LEN;
	queue.count--;
	pthread_cond_signal(&queue.not_full);
	pthread_mutex_unlock(&queue.lock);
	return fd;
}

/* Parses a whole decimal integer in a range where c_to_f/f_to_c cannot
 * overflow. */
static int parse_degrees(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v > MAX_ABS_DEGREES ||
	    v < -MAX_ABS_DEGREES)
		return -1;
	*out = (int)v;
	return 0;
}

/* Answers one request line; returns 0 when the client asked to quit. */
static int handle_line(int fd, char *line)
{
	char cmd[8], arg[32];
	int n, fields = sscanf(line, "%7s %31s", cmd, arg);

	if (fields == 1 && strcmp(cmd, "ping") == 0) {
		dprintf(fd, "pong\n");
	} else if (fields == 1 && strcmp(cmd, "quit") == 0) {
		return 0;
	} else if (fields == 2 && (strcmp(cmd, "c2f") == 0 ||
				   strcmp(cmd, "f2c") == 0)) {
		if (parse_degrees(arg, &n) != 0) {
			dprintf(fd, "error: bad number\n");
			return 1;
		}
		atomic_fetch_add_explicit(&conversions, 1, memory_order_relaxed);
		dprintf(fd, "%d\n", cmd[0] == 'c' ? c_to_f(n) : f_to_c(n));
	} else {
		dprintf(fd, "error: unknown command\n");
	}
	return 1;
}

/* Serves one connection until the client quits or goes away. */
static void serve(int fd)
{
	FILE *in = fdopen(fd, "r");
	char line[128];

	if (!in) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), in)) {
		size_t len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(in)) {
			/* No end of line within the buffer: drop the rest of
			 * it rather than read it as further commands. */
			int ch;
			while ((ch = getc(in)) != EOF && ch != '\n')
				;
			dprintf(fd, "error: line too long\n");
			continue;
		}
		line[len] = '\0';
		if (!handle_line(fd, line))
			break;
	}
	fclose(in); /* also closes fd */
}

static void *worker(void *unused)
{
	(void)unused;
	for (;;)
		serve(queue_pop());
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0) {
			queue_push(fd);
		} else if (errno != ECONNABORTED && errno != EINTR) {
			/* Out of descriptors or memory: wait for clients to
			 * leave instead of spinning on the error. */
			perror("tempd: accept");
			sleep(1);
		}
	}
	return NULL;
}

/* Writes the port through a temporary name and rename(), so a reader
 * polling for the file never sees it half-written. */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int bad = fprintf(f, "%u\n", port) < 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PORT PORTFILE\n", argv[0]);
		return 2;
	}
	char *end;
	long port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "tempd: bad port: %s\n", argv[1]);
		return 2;
	}

	/* A client that disconnects must not kill the server on write. */
	signal(SIGPIPE, SIG_IGN);
	/* Block the stop signals before any thread starts, so that every
	 * thread inherits the mask and only sigwait() below receives them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t alen = sizeof(addr);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen)) {
		perror("tempd: listen");
		return 1;
	}
	unsigned bound = ntohs(addr.sin_port);
	if (write_port_file(argv[2], bound) != 0) {
		perror("tempd: port file");
		return 1;
	}

	pthread_t tid;
	for (int i = 0; i < NWORKERS; i++)
		if (pthread_create(&tid, NULL, worker, NULL) != 0)
			goto no_thread;
	if (pthread_create(&tid, NULL, acceptor, &lfd) != 0)
		goto no_thread;

	printf("tempd: listening on 127.0.0.1:%u pid %ld\n", bound,
	       (long)getpid());
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	/* Nothing to save: returning from main ends the process, and the
	 * kernel closes the connections that are still open. */
	printf("tempd: %s, stopping after %lu conversions\n",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT",
	       atomic_load(&conversions));
	return 0;

no_thread:
	fprintf(stderr, "tempd: cannot start threads\n");
	return 1;
}
