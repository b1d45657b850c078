/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvd's store: a hash table of keys and values behind one mutex.
 *
 * Keys are 1 to KEY_MAX bytes without spaces (kvd.c parses them).  Values
 * are printable text: store_set() is meant to refuse a value that holds a
 * control character (a byte below 0x20, or 0x7f) with -EINVAL, so that
 * GET can send back every stored value as it is without letting a client
 * plant terminal escape sequences, carriage returns or tabs in what other
 * clients display or log.  That check is missing (bug c of kvd.c);
 * patches/kvd-set-validate.c adds it in front of this store_set().
 */
#define _POSIX_C_SOURCE 200809L /* strdup() */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvd.h"

#define NBUCKETS 256

struct entry {
	struct entry *next;
	char *key;
	char *value;
};

static struct entry *buckets[NBUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* The number of keys in the store, under lock.  stats.c has a "count"
 * of its own (the requests answered). */
static unsigned long count;

/* FNV-1a. */
static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % NBUCKETS;
}

/* The link that points to KEY's entry, or the null link at the end of its
 * bucket.  Called with lock held. */
static struct entry **find(const char *key)
{
	struct entry **p = &buckets[hash(key)];
	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

/*
 * Sets KEY to VALUE: 0, -ENOSPC if KEY is new and the store holds
 * MAX_KEYS keys already, -ENOMEM.
 */
KVD_PATCHABLE int store_set(const char *key, const char *value)
{
	/* BUG: VALUE is stored without checking that it is printable (see
	 * the top of this file): -EINVAL is never returned. */
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;

	pthread_mutex_lock(&lock);
	struct entry **p = find(key);
	if (*p) {
		free((*p)->value);
		(*p)->value = v;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	struct entry *e = count < MAX_KEYS ? malloc(sizeof(*e)) : NULL;
	char *k = e ? strdup(key) : NULL;
	if (!k) {
		int err = count < MAX_KEYS ? -ENOMEM : -ENOSPC;
		pthread_mutex_unlock(&lock);
		free(e);
		free(v);
		return err;
	}
	e->next = NULL;
	e->key = k;
	e->value = v;
	*p = e;
	count++;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* Copies KEY's value into BUF (SIZE bytes, truncated to fit): 0, or
 * -ENOENT if there is no such key. */
int store_get(const char *key, char *buf, size_t size)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&lock);
	struct entry *e = *find(key);
	if (e && size > 0) {
		size_t len = strlen(e->value);
		if (len >= size)
			len = size - 1;
		memcpy(buf, e->value, len);
		buf[len] = '\0';
		ret = 0;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* Removes KEY: 0, or -ENOENT if there is no such key. */
int store_del(const char *key)
{
	pthread_mutex_lock(&lock);
	struct entry **p = find(key), *e = *p;
	if (e) {
		*p = e->next;
		count--;
	}
	pthread_mutex_unlock(&lock);
	if (!e)
		return -ENOENT;
	free(e->key);
	free(e->value);
	free(e);
	return 0;
}

unsigned long store_keys(void)
{
	pthread_mutex_lock(&lock);
	unsigned long n = count;
	pthread_mutex_unlock(&lock);
	return n;
}
