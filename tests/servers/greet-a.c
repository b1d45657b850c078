/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * greet-a: a sample program using libgreet (see libgreet.c).  Every 50 ms
 * it greets "world" and prints "greet: RESULT" whenever the
 * result changes (the first one included).  Runs until killed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

int greet(char *out, size_t len, const char *name);

int main(void)
{
	const struct timespec ts = { 0, 50 * 1000 * 1000 };
	char last[64] = "", now[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		greet(now, sizeof(now), "world");
		if (strcmp(now, last)) {
			printf("greet: %s\n", now);
			memcpy(last, now, sizeof(last));
		}
		nanosleep(&ts, NULL);
	}
}
