/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fix for libgreet (tests/servers/libgreet.c): greet() cut every name to
 * four characters, as it sized the copy by its prefix instead of by the
 * caller's buffer.  One patch fixes every process that maps this build of
 * the library:
 *
 *     livepatch-build -t libgreet.so -o greet-fix.lpatch greet-fix.c
 *     livepatch apply --all greet-fix.lpatch
 */
#include <stddef.h>
#include <stdio.h>

#include <livepatch/patch.h>

extern volatile unsigned long greet_calls;

static int greet_fixed(char *out, size_t len, const char *name)
{
	greet_calls++;
	return snprintf(out, len, "hello, %s", name);
}

LIVEPATCH_REPLACE(greet, greet_fixed);
