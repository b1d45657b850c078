/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvclient: the line-protocol client of the kvd tests
 * (tests/integration/kvd-*.sh), which run under sh, without /dev/tcp.
 * The test drives it through two FIFOs: it reads commands on its
 * standard input and answers each with exactly one line on its standard
 * output, so the test can keep connections open across steps (an apply,
 * a revert) and read each answer with a plain "read".
 *
 *     +N PORT     open connection N (0-9) to 127.0.0.1:PORT
 *                 -> "connected", or "<error: ...>"
 *     -N          close connection N -> "closed"
 *     N REQUEST   send REQUEST and a newline on connection N
 *                 -> the server's answer line, without its newline
 *
 * REQUEST may hold the escapes \\ \e \t \r and \xHH.  In an answer, bytes
 * outside 0x20-0x7e are written \xHH, and a backslash as \\.  Instead of an
 * answer: "<closed>" when the server closed or reset the connection first,
 * "<timeout>" after 20 seconds without a whole line, "<error: ...>".
 */
#define _POSIX_C_SOURCE 200809L /* getline() */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NCONN 10
#define TIMEOUT_MS 20000

static int conns[NCONN];

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escapes of S in place; returns the length, -1 if bad. */
static long unescape(char *s)
{
	char *out = s;
	for (const char *p = s; *p; p++) {
		if (*p != '\\') {
			*out++ = *p;
			continue;
		}
		switch (*++p) {
		case '\\': *out++ = '\\'; break;
		case 'e': *out++ = 0x1b; break;
		case 't': *out++ = '\t'; break;
		case 'r': *out++ = '\r'; break;
		case 'x':
			if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
				return -1;
			*out++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
			break;
		default:
			return -1;
		}
	}
	return out - s;
}

static void answer_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c > 0x7e)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
}

static void open_conn(int n, const char *port_s)
{
	char *end;
	long port = strtol(port_s, &end, 10);
	if (conns[n] >= 0 || *port_s == '\0' || *end != '\0' || port <= 0 ||
	    port > 65535) {
		printf("<error: bad open>\n");
		return;
	}
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		printf("<error: connect: %s>\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	conns[n] = fd;
	printf("connected\n");
}

/* Sends REQ (LEN bytes) and a newline on FD and prints the answer line. */
static void request(int fd, char *req, size_t len)
{
	req[len] = '\n';
	for (size_t done = 0; done < len + 1;) {
		ssize_t w = send(fd, req + done, len + 1 - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				printf("<closed>\n");
			else
				printf("<error: send: %s>\n", strerror(errno));
			return;
		}
		done += (size_t)w;
	}

	char line[4096];
	size_t n = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			printf("<timeout>\n");
			return;
		}
		/* One byte at a time: what follows the line stays for the
		 * next request. */
		char c;
		ssize_t got = r < 0 ? -1 : recv(fd, &c, 1, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0 || (got < 0 && errno == ECONNRESET)) {
			printf("<closed>\n");
			return;
		}
		if (got < 0) {
			printf("<error: recv: %s>\n", strerror(errno));
			return;
		}
		if (c == '\n')
			break;
		if (n < sizeof(line))
			line[n++] = c;
	}
	answer_escaped(line, n);
}

int main(void)
{
	char *cmd = NULL;
	size_t cap = 0;
	ssize_t len;

	for (int i = 0; i < NCONN; i++)
		conns[i] = -1;
	while ((len = getline(&cmd, &cap, stdin)) >= 0) {
		if (len > 0 && cmd[len - 1] == '\n')
			cmd[--len] = '\0';
		char sign = cmd[0] == '+' || cmd[0] == '-' ? cmd[0] : 0;
		const char *p = cmd + (sign != 0);
		int n = *p - '0';

		if (n < 0 || n >= NCONN) {
			printf("<error: bad command>\n");
		} else if (sign == '+' && p[1] == ' ') {
			open_conn(n, p + 2);
		} else if (sign == '-' && p[1] == '\0') {
			if (conns[n] >= 0)
				close(conns[n]);
			conns[n] = -1;
			printf("closed\n");
		} else if (!sign && p[1] == ' ') {
			/* getline() left room for the newline: cap > len. */
			long rlen = unescape(cmd + 2);
			if (conns[n] < 0)
				printf("<error: connection %d is not open>\n", n);
			else if (rlen < 0)
				printf("<error: bad escape>\n");
			else
				request(conns[n], cmd + 2, (size_t)rlen);
		} else {
			printf("<error: bad command>\n");
		}
		fflush(stdout);
	}
	free(cmd);
	return 0;
}
