/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixes kvd's SET (tests/servers/kvd), which stores values with control
 * characters: "SET motd \e[2J..." succeeds, and every client that GETs
 * the key then prints the escape sequence (or a carriage return, a tab)
 * into its terminal or log.  store_set() should refuse such a value with
 * -EINVAL, which kvd answers with "error: bad value", but it never checks.
 *
 * The replacement checks the value and refuses any byte below 0x20 or
 * 0x7f, then hands the request to the original store_set(), which stores
 * it as before (and still refuses a new key when the store is full).
 * Values stored before the patch was applied are left as they are.
 *
 *     livepatch-build -t tests/servers/kvd -o kvd-set-validate.lpatch \
 *         patches/kvd-set-validate.c
 *     livepatch apply -v PID kvd-set-validate.lpatch
 */
#include <errno.h>

#include <livepatch/patch.h>

/* kvd's own store_set(), as it was built. */
int LIVEPATCH_ORIGINAL(store_set)(const char *key, const char *value);

static int store_set_checked(const char *key, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	return LIVEPATCH_ORIGINAL(store_set)(key, value);
}

LIVEPATCH_REPLACE(store_set, store_set_checked);
