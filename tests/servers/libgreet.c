/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgreet: a small shared library used by several sample programs
 * (greet-a.c, greet-b.c), to show one fix reaching every process that
 * maps it (livepatch apply --all; tests/integration/fleet.sh).
 *
 * greet() writes "hello, NAME" into the caller's buffer.  It carries a
 * deliberate bug: it sizes the copy with the length of the greeting's
 * prefix instead of the buffer, so every name is cut to 4 characters
 * ("hello, worl").  patches/greet-fix.c fixes it in the running processes.
 *
 * Build it with the pad flags, as a shared library:
 *     cc -shared -fPIC -O2 -fpatchable-function-entry=16,14 \
 *        -Wl,--build-id -o libgreet.so libgreet.c
 * -DGREET_BUILD=N makes another build of it (another build-id), which
 * the patch must leave alone.
 */
#include <stdio.h>
#include <string.h>

#ifndef GREET_BUILD
#define GREET_BUILD 1
#endif

#define PREFIX "hello, "

#define GREET_STR2(x) #x
#define GREET_STR(x) GREET_STR2(x)
const char greet_build[] = "libgreet build " GREET_STR(GREET_BUILD);

/* The number of greetings made, a side effect that keeps calls apart. */
volatile unsigned long greet_calls;

__attribute__((noinline)) int greet(char *out, size_t len, const char *name)
{
	size_t room = sizeof(PREFIX) + 4; /* the bug: not len */

	greet_calls++;
	if (room > len)
		room = len;
	return snprintf(out, room, "%s%s", PREFIX, name);
}
