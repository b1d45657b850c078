/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvd: a small in-memory key-value server, the target of the example
 * patches patches/kvd-*.c and of the tests tests/integration/kvd-*.sh.
 *
 *     kvd PORT PORTFILE
 *
 * Listens on 127.0.0.1:PORT (0 picks a free port), writes the bound port
 * to PORTFILE and serves each connection in a thread of its own, one
 * request a line, one answer line per request:
 *
 *     SET KEY VALUE  ->  OK              (VALUE: the rest of the line)
 *     GET KEY        ->  VALUE VALUE, or NOT_FOUND
 *     DEL KEY        ->  OK, or NOT_FOUND
 *     STATS          ->  keys N requests N errors N
 *     STATS RESET    ->  OK              (zeroes requests and errors)
 *     CLIENT         ->  client ID pid PID (this connection's number)
 *     PING           ->  PONG
 *     QUIT           ->  the server closes the connection
 *
 * Errors answer "error: ..." and count in "errors".  A key is 1 to
 * KEY_MAX (32) bytes without spaces; a value is printable text.  Source:
 * kvd.c (network and protocol), store.c (the keys), stats.c (counters).
 * Runs until SIGTERM or SIGINT, then exits 0.
 *
 * It carries three deliberate bugs, each fixed by a live patch:
 *
 * a. parse_key() below copies the key of a request into the caller's
 *    buffer of KEY_MAX + 1 bytes without checking its length: a longer
 *    key overwrites the stack of handle_request().  kvd is built with
 *    -fstack-protector-strong, so when handle_request() returns the
 *    server aborts ("stack smashing detected", SIGABRT) before it sends
 *    the answer: one "GET" with a 100-byte key kills it, and every
 *    client's connection with it.  handle_request() expects
 *    KEY_TOO_LONG, which parse_key() never returns.
 *    Fix: patches/kvd-key-bounds.c.
 * b. stats_record() (stats.c) never counts the requests: STATS always
 *    says "requests 0".  The counter is stats.c's static "count", and
 *    store.c has a static "count" as well (the number of keys).
 *    Fix: patches/kvd-stats-fix.c.
 * c. store_set() (store.c) accepts values with control characters
 *    ("SET k a<ESC>[2Jb"), which GET then hands to every other client
 *    as they are; it should refuse them with -EINVAL ("error: bad
 *    value").  Fix: patches/kvd-set-validate.c.
 */
#define _POSIX_C_SOURCE 200809L /* sigwait() is POSIX.1-2008 */

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

#include "kvd.h"

/* Room for "VALUE " and the longest value a request can set. */
#define REPLY_MAX (REQUEST_MAX + 16)

struct client {
	int fd;
	unsigned long id;
};

static atomic_ulong last_client_id;

/*
 * Parses the key at *REQ, the rest of a request after the command and its
 * space: copies it into KEY (KEY_MAX + 1 bytes), advances *REQ past it and
 * the space that follows it, and returns its length; KEY_MISSING if there
 * is no key.
 */
KVD_PATCHABLE int parse_key(const char **req, char *key)
{
	const char *s = *req;
	size_t len = strcspn(s, " ");

	if (len == 0)
		return KEY_MISSING;
	/* BUG: len is not checked against KEY_MAX (should return
	 * KEY_TOO_LONG): a long key overflows KEY. */
	memcpy(key, s, len);
	key[len] = '\0';
	*req = s + len + (s[len] == ' ');
	return (int)len;
}

/* If LINE is the command NAME, alone or followed by a space, the rest of
 * the line after that space. */
static const char *args_of(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(line, name, n) != 0 || (line[n] != ' ' && line[n] != '\0'))
		return NULL;
	return line + n + (line[n] == ' ');
}

/*
 * Answers one request LINE of client C: writes the answer line, without
 * its newline, to REPLY (SIZE bytes).  Returns 0 when the client asked to
 * quit.  Not inlined: KEY lives in this function's own frame, whose stack
 * protector is checked each time it returns.
 */
static __attribute__((noinline)) int handle_request(const struct client *c,
						    const char *line,
						    char *reply, size_t size)
{
	char key[KEY_MAX + 1];
	const char *rest;
	unsigned long requests, errors;
	int r;

	if (strcmp(line, "PING") == 0) {
		snprintf(reply, size, "PONG");
		return 1;
	}
	if (strcmp(line, "QUIT") == 0)
		return 0;
	if (strcmp(line, "STATS") == 0) {
		stats_get(&requests, &errors);
		snprintf(reply, size, "keys %lu requests %lu errors %lu",
			 store_keys(), requests, errors);
		return 1;
	}
	if (strcmp(line, "STATS RESET") == 0) {
		stats_reset();
		snprintf(reply, size, "OK");
		return 1;
	}
	if (strcmp(line, "CLIENT") == 0) {
		snprintf(reply, size, "client %lu pid %ld", c->id,
			 (long)getpid());
		return 1;
	}

	char op = line[0];
	if (!(rest = args_of(line, "SET")) && !(rest = args_of(line, "GET")) &&
	    !(rest = args_of(line, "DEL"))) {
		snprintf(reply, size, "error: unknown command");
		return 1;
	}
	switch (parse_key(&rest, key)) {
	case KEY_MISSING:
		snprintf(reply, size, "error: missing key");
		return 1;
	case KEY_TOO_LONG:
		snprintf(reply, size, "error: key too long");
		return 1;
	}

	if (op == 'S') {
		r = store_set(key, rest);
		snprintf(reply, size, "%s",
			 r == 0 ? "OK" :
			 r == -EINVAL ? "error: bad value" :
			 r == -ENOSPC ? "error: store full" :
					"error: out of memory");
	} else if (*rest != '\0') {
		snprintf(reply, size, "error: too many arguments");
	} else if (op == 'G') {
		memcpy(reply, "VALUE ", 6);
		if (store_get(key, reply + 6, size - 6) != 0)
			snprintf(reply, size, "NOT_FOUND");
	} else {
		snprintf(reply, size, "%s", store_del(key) == 0 ? "OK" : "NOT_FOUND");
	}
	return 1;
}

/* Serves client C until it quits or goes away. */
static void serve(struct client *c)
{
	FILE *in = fdopen(c->fd, "r");
	/* On the heap, away from the stack that bug a overwrites. */
	char *line = malloc(REQUEST_MAX), *reply = malloc(REPLY_MAX);

	if (!in || !line || !reply) {
		if (in)
			fclose(in);
		else
			close(c->fd);
		free(line);
		free(reply);
		return;
	}
	while (fgets(line, REQUEST_MAX, in)) {
		size_t len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(in)) {
			/* No end of line within the buffer: drop the rest of
			 * it rather than read it as further requests. */
			int ch;
			while ((ch = getc(in)) != EOF && ch != '\n')
				;
			snprintf(reply, REPLY_MAX, "error: line too long");
		} else {
			line[len] = '\0';
			reply[0] = '\0';
			if (!handle_request(c, line, reply, REPLY_MAX))
				break;
		}
		/* Counted before the client has the answer, so that a STATS
		 * it sends next, on any connection, includes this request. */
		stats_record(strncmp(reply, "error:", 6) == 0);
		size_t n = strlen(reply);
		reply[n] = '\n';
		if (write(c->fd, reply, n + 1) != (ssize_t)(n + 1))
			break;
	}
	fclose(in); /* also closes the socket */
	free(line);
	free(reply);
}

static void *client_thread(void *arg)
{
	struct client *c = arg;
	serve(c);
	free(c);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno != ECONNABORTED && errno != EINTR) {
				/* Out of descriptors or memory: wait for
				 * clients to leave instead of spinning. */
				perror("kvd: accept");
				sleep(1);
			}
			continue;
		}
		struct client *c = malloc(sizeof(*c));
		pthread_t tid;
		if (c) {
			c->fd = fd;
			c->id = atomic_fetch_add(&last_client_id, 1) + 1;
		}
		if (!c || pthread_create(&tid, &attr, client_thread, c) != 0) {
			fprintf(stderr, "kvd: cannot serve a new client\n");
			free(c);
			close(fd);
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
		fprintf(stderr, "kvd: bad port: %s\n", argv[1]);
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
		perror("kvd: listen");
		return 1;
	}
	unsigned bound = ntohs(addr.sin_port);
	if (write_port_file(argv[2], bound) != 0) {
		perror("kvd: port file");
		return 1;
	}

	pthread_t tid;
	if (pthread_create(&tid, NULL, acceptor, &lfd) != 0) {
		fprintf(stderr, "kvd: cannot start threads\n");
		return 1;
	}
	printf("kvd: listening on 127.0.0.1:%u pid %ld\n", bound,
	       (long)getpid());
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	/* Nothing to save: returning from main ends the process, and the
	 * kernel closes the connections that are still open. */
	unsigned long requests, errors;
	stats_get(&requests, &errors);
	printf("kvd: %s, stopping with %lu keys after %lu requests "
	       "(%lu errors)\n",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT", store_keys(), requests,
	       errors);
	return 0;
}
