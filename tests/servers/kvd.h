/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvd, the sample key-value server (see kvd.c): what its source files
 * share.
 */
#ifndef KVD_H
#define KVD_H

#include <stddef.h>

#define KEY_MAX 32      /* the longest key, in bytes */
#define REQUEST_MAX 1024 /* the longest request line, with its newline */
#define MAX_KEYS 4096   /* SET refuses a new key beyond this */

/* What parse_key() returns instead of a length. */
#define KEY_MISSING (-1)
#define KEY_TOO_LONG (-2)

/*
 * The functions a live patch may replace: non-inlined, with external
 * linkage, and (gcc) kept from interprocedural optimisations such as
 * cloning or changing their calling convention, so that every caller
 * really calls them through their symbol.  An inlined or cloned copy
 * would never reach the patch (see README.md, "Building a patchable
 * target").
 */
#if defined(__GNUC__) && !defined(__clang__)
#define KVD_PATCHABLE __attribute__((noinline, noipa))
#else
#define KVD_PATCHABLE __attribute__((noinline))
#endif

/* kvd.c */
int parse_key(const char **req, char *key);

/* store.c: 0 or a negative errno value. */
int store_set(const char *key, const char *value);
int store_get(const char *key, char *buf, size_t size);
int store_del(const char *key);
unsigned long store_keys(void);

/* stats.c */
void stats_record(int failed);
void stats_get(unsigned long *requests, unsigned long *errors);
void stats_reset(void);

#endif /* KVD_H */
