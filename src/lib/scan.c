/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding the processes a patch is for, on the whole machine: those that
 * map a module with the patch's target build-id (by build-id, not by path:
 * a container's copy of the same library counts, another build does not),
 * and those whose journal holds a given patch.
 *
 * Thousands of processes map the same few files, so a module's build-id
 * is read once per file (device and inode, from /proc/PID/maps).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct bid_cache {
	struct bid_entry {
		char key[48];        /* "dev inode" */
		char build_id[84];   /* "" when unreadable or absent */
	} *e;
	size_t n, cap;
};

static const char *cached(struct bid_cache *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].key, key))
			return c->e[i].build_id;
	return NULL;
}

static const char *remember(struct bid_cache *c, const char *key, const char *bid)
{
	if (lp_grow(&c->e, &c->cap, c->n, sizeof(*c->e), 64))
		return bid;
	snprintf(c->e[c->n].key, sizeof(c->e[c->n].key), "%s", key);
	snprintf(c->e[c->n].build_id, sizeof(c->e[c->n].build_id), "%s", bid);
	return c->e[c->n++].build_id;
}

/* Build-id of the file mapped at [s, e) in @pid: through map_files (the
 * process's own file, even deleted or in another mount namespace), else
 * through its root. */
static void read_build_id(struct lp_ctx *ctx, pid_t pid, unsigned long long s,
			  unsigned long long e, const char *path, char *out, size_t len)
{
	struct lp_ctx quiet = *ctx;
	char file[4200];

	quiet.log = NULL; /* unreadable files are not errors here */
	out[0] = 0;
	snprintf(file, sizeof(file), "/proc/%d/map_files/%llx-%llx", (int)pid, s, e);
	if (!lp_elf_file_build_id(&quiet, file, out, len))
		return;
	snprintf(file, sizeof(file), "/proc/%d/root%s", (int)pid, path);
	if (lp_elf_file_build_id(&quiet, file, out, len))
		out[0] = 0;
}

/* The match of one process, if any: 1 found (in *m), 0 none. */
static int scan_one(struct lp_ctx *ctx, struct bid_cache *cache, pid_t pid,
		    const char *build_id, const char *name, struct lp_match *m)
{
	char path[64], line[4400];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* gone, or not ours to read */
	while (lp_maps_gets(line, sizeof(line), f)) {
		struct lp_maps_line ml;
		const char *bid, *base;
		char key[48], *file;

		if (lp_maps_parse(line, &ml) || ml.name[0] != '/' || ml.offset != 0 || !ml.inode)
			continue;
		file = ml.name;
		lp_maps_undelete(file);
		snprintf(key, sizeof(key), "%s %" PRIu64, ml.dev, ml.inode);
		bid = cached(cache, key);
		if (!bid) {
			char b[84];

			read_build_id(ctx, pid, ml.start, ml.end, file, b, sizeof(b));
			bid = remember(cache, key, b);
		}
		base = strrchr(file, '/');
		base = base ? base + 1 : file;
		if (strcmp(bid, build_id) && (!name || strcmp(base, name)))
			continue;
		memset(m, 0, sizeof(*m));
		m->pid = pid;
		m->same_build = !strcmp(bid, build_id);
		snprintf(m->build_id, sizeof(m->build_id), "%s", bid);
		snprintf(m->path, sizeof(m->path), "%s", file);
		found = 1;
		if (m->same_build)
			break; /* else a later mapping may be the right build */
	}
	fclose(f);
	return found;
}

int lp_find_module(struct lp_ctx *ctx, const char *build_id, const char *name,
		   struct lp_match **out, size_t *n)
{
	struct bid_cache cache = { 0 };
	struct lp_match *v = NULL, m;
	size_t cap = 0, np, i;
	pid_t *pids;
	int err;

	*out = NULL;
	*n = 0;
	err = lp_proc_list(&pids, &np);
	if (err)
		return lp_fail(ctx, err, "cannot read /proc: %s", strerror(-err));
	for (i = 0; i < np; i++) {
		if (pids[i] == getpid() || !scan_one(ctx, &cache, pids[i], build_id, name, &m))
			continue;
		if (lp_grow(&v, &cap, *n, sizeof(*v), 64)) {
			free(v);
			v = NULL;
			*n = 0;
			err = -ENOMEM;
			break;
		}
		v[(*n)++] = m;
	}
	free(pids);
	free(cache.e);
	*out = v;
	return err;
}

int lp_find_patch(struct lp_ctx *ctx, const char *id, pid_t **out, size_t *n)
{
	pid_t *pids;
	size_t np, i;
	int err;

	*out = NULL;
	*n = 0;
	err = lp_proc_list(&pids, &np);
	if (err)
		return lp_fail(ctx, err, "cannot read /proc: %s", strerror(-err));
	/* keep, in place, the processes where the patch is applied */
	for (i = 0; i < np; i++) {
		struct lp_journal *j;
		struct lp_ctx quiet = *ctx;
		size_t k;
		bool has = false;

		quiet.log = NULL;
		if (pids[i] == getpid() || lp_journal_read(&quiet, pids[i], &j))
			continue;
		for (k = 0; k < j->n; k++)
			if (!strcmp(j->p[k].id, id) && j->p[k].state != LP_PATCH_REVERTED_IN_USE)
				has = true;
		lp_journal_free(j);
		if (has)
			pids[(*n)++] = pids[i];
	}
	*out = pids;
	return 0;
}
