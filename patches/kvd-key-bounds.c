/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixes a stack overflow in kvd (tests/servers/kvd) that lets any client
 * kill the server: parse_key() copies the key of a SET, GET or DEL into
 * handle_request()'s buffer of KEY_MAX + 1 bytes without checking its
 * length, so a key longer than 32 bytes overwrites the stack, and the
 * stack protector aborts the whole server ("stack smashing detected").
 *
 * The replacement is parse_key() with the missing check: a key longer than
 * KEY_MAX is not copied, and parse_key() returns KEY_TOO_LONG, which
 * handle_request() already answers with "error: key too long".  Keys of
 * up to 32 bytes are parsed exactly as before.
 *
 *     livepatch-build -t tests/servers/kvd -o kvd-key-bounds.lpatch \
 *         patches/kvd-key-bounds.c
 *     livepatch apply -v PID kvd-key-bounds.lpatch
 */
#include <string.h>

#include <livepatch/patch.h>

/* As in tests/servers/kvd.h. */
#define KEY_MAX 32
#define KEY_MISSING (-1)
#define KEY_TOO_LONG (-2)

static int parse_key_bounded(const char **req, char *key)
{
	const char *s = *req;
	size_t len = strcspn(s, " ");

	if (len == 0)
		return KEY_MISSING;
	if (len > KEY_MAX)
		return KEY_TOO_LONG;
	memcpy(key, s, len);
	key[len] = '\0';
	*req = s + len + (s[len] == ' ');
	return (int)len;
}

LIVEPATCH_REPLACE(parse_key, parse_key_bounded);
