/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixes tempd's Celsius-to-Fahrenheit conversion: its c_to_f() leaves out
 * the "+ 32", so "c2f 100" answers 180 instead of 212.
 *
 * Build it against the exact tempd binary that is running, then apply it:
 *
 *     livepatch-build -t tests/servers/tempd -o tempd-c2f-fix.lpatch \
 *         patches/tempd-c2f-fix.c
 *     livepatch apply -v PID tempd-c2f-fix.lpatch
 *
 * Connections that are already open get the right answer from their next
 * request on.
 */
#include <livepatch/patch.h>

static int c_to_f_fixed(int c)
{
	return c * 9 / 5 + 32;
}

LIVEPATCH_REPLACE(c_to_f, c_to_f_fixed);
