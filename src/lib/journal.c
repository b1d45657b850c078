/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal: what is applied to a process, kept inside the process.
 *
 * It lives in a private mapping of a memfd named "livepatch:journal"
 * (so /proc/PID/maps shows "/memfd:livepatch:journal"), read-only for the
 * process and written by us through /proc/PID/mem.  Being private, it is
 * copied into a child at fork along with the patched code it describes,
 * and the two then go their own ways.  Nothing is kept on disk, so
 * nothing can go stale: any later run reads the truth from the process.
 *
 * Layout: a 64-byte header, then text.
 *   0  magic "LPJRNL01"
 *   8  u64 generation (each write adds one; the highest valid copy wins)
 *  16  u64 length of the text
 *  24  u64 FNV-1a 64 of the text
 * The text is one line per item, fields separated by spaces, strings
 * escaped as %XX (so a path may hold anything):
 *   patch ID STATE SEQ TIME MAP_START MAP_SIZE NFUNCS NAME PATH
 *   func ADDR ENTRY_OFF NEW_ADDR ORIG_HEX NAME MODULE      (NFUNCS lines)
 * ORIG_HEX holds the function's bytes from its pad to its entry NOPs as
 * they were before any patch: what a revert to the original writes back.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HDR_SIZE 64
#define MAGIC LP_JOURNAL_MAGIC
#define MAX_TEXT (64u << 20)

void lp_jpatch_clear(struct lp_jpatch *p)
{
	size_t i;

	for (i = 0; i < p->nfuncs; i++) {
		free(p->funcs[i].name);
		free(p->funcs[i].module);
	}
	free(p->funcs);
	free(p->name);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

void lp_journal_free(struct lp_journal *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++)
		lp_jpatch_clear(&j->p[i]);
	free(j->p);
	free(j->maps);
	free(j);
}

/* ---- text ------------------------------------------------------------- */

struct buf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		char *ns;

		while (nc < b->len + n + 1)
			nc *= 2;
		ns = realloc(b->s, nc);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void putf(struct buf *b, const char *fmt, ...) LP_PRINTF(2, 3);
static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n >= 0)
		put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A string as one field: %XX for '%', blanks and anything unprintable. */
static void put_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(b, " ", 1);
	if (!*s) {
		put(b, "%", 1); /* "%" alone: the empty string */
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || c == '%') {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			put(b, e, 3);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
}

int lp_journal_serialize(const struct lp_journal *j, char **out, size_t *len)
{
	struct buf b = { 0 };
	size_t i, k, x;

	put(&b, "", 0);
	for (i = 0; i < j->n; i++) {
		const struct lp_jpatch *p = &j->p[i];

		putf(&b, "patch %s %u %u %" PRId64 " %#" PRIx64 " %#" PRIx64 " %zu", p->id,
		     p->state, p->seq, p->time, p->map_start, p->map_size, p->nfuncs);
		put_str(&b, p->name);
		put_str(&b, p->path);
		put(&b, "\n", 1);
		for (k = 0; k < p->nfuncs; k++) {
			const struct lp_jfunc *f = &p->funcs[k];

			putf(&b, "func %#" PRIx64 " %u %#" PRIx64 " ", f->addr, f->entry_off,
			     f->new_addr);
			for (x = 0; x < LP_CODE_LEN; x++)
				putf(&b, "%02x", f->orig[x]);
			put_str(&b, f->name);
			put_str(&b, f->module);
			put(&b, "\n", 1);
		}
	}
	if (b.oom) {
		free(b.s);
		return -ENOMEM;
	}
	*out = b.s;
	*len = b.len;
	return 0;
}

size_t lp_journal_image_size(size_t text_len)
{
	return HDR_SIZE + text_len;
}

/* The header and text, ready to be written at the mapping's start. */
int lp_journal_image(const struct lp_journal *j, uint64_t gen, uint8_t **out,
		     size_t *len)
{
	char *text;
	size_t tlen;
	uint64_t sum, tl;
	uint8_t *img;
	int err = lp_journal_serialize(j, &text, &tlen);

	if (err)
		return err;
	img = calloc(1, HDR_SIZE + tlen);
	if (!img) {
		free(text);
		return -ENOMEM;
	}
	sum = lp_fnv1a64(LP_FNV_INIT, text, tlen);
	tl = tlen;
	memcpy(img, MAGIC, 8);
	memcpy(img + 8, &gen, 8);
	memcpy(img + 16, &tl, 8);
	memcpy(img + 24, &sum, 8);
	memcpy(img + HDR_SIZE, text, tlen);
	free(text);
	*out = img;
	*len = HDR_SIZE + tlen;
	return 0;
}

/* Next space-separated field of *s (NUL-terminated in place). */
static char *field(char **s)
{
	char *f = *s, *e;

	if (!f || !*f)
		return NULL;
	e = strchr(f, ' ');
	if (e) {
		*e = 0;
		*s = e + 1;
	} else {
		*s = NULL;
	}
	return f;
}

static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	if (!strcmp(s, "%")) {
		*o = 0;
		return out;
	}
	while (*s) {
		unsigned int c;

		if (*s == '%') {
			if (sscanf(s + 1, "%2x", &c) != 1 || !s[1] || !s[2]) {
				free(out);
				return NULL;
			}
			*o++ = (char)c;
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

static int parse_u64(const char *f, uint64_t *v)
{
	char *end;

	if (!f)
		return -1;
	errno = 0;
	*v = strtoull(f, &end, 0);
	return errno || *end || end == f ? -1 : 0;
}

static int parse_patch(char *line, struct lp_jpatch *p)
{
	char *s = line, *f;
	uint64_t v[6];
	int i;

	f = field(&s);
	if (!f || strlen(f) != 16 || strspn(f, "0123456789abcdef") != 16)
		return -1;
	memcpy(p->id, f, 17);
	/* state seq time map_start map_size nfuncs */
	for (i = 0; i < 6; i++)
		if (parse_u64(field(&s), &v[i]))
			return -1;
	if (v[0] < LP_PATCH_APPLIED || v[0] > LP_J_REVERTING || v[5] > 100000)
		return -1;
	p->state = (unsigned int)v[0];
	p->seq = (uint32_t)v[1];
	p->time = (int64_t)v[2];
	p->map_start = v[3];
	p->map_size = v[4];
	p->nfuncs = 0;
	p->funcs = calloc(v[5] ? v[5] : 1, sizeof(*p->funcs));
	if (!p->funcs)
		return -1;
	p->cap = v[5];
	f = field(&s);
	p->name = f ? unescape(f) : NULL;
	f = field(&s);
	p->path = f ? unescape(f) : NULL;
	return p->name && p->path ? 0 : -1;
}

static int parse_func(char *line, struct lp_jfunc *fn)
{
	char *s = line, *f;
	uint64_t off;
	size_t x;

	if (parse_u64(field(&s), &fn->addr) || parse_u64(field(&s), &off) || off > 4 ||
	    parse_u64(field(&s), &fn->new_addr))
		return -1;
	fn->entry_off = (unsigned int)off;
	f = field(&s);
	if (!f || strlen(f) != LP_CODE_LEN * 2)
		return -1;
	for (x = 0; x < LP_CODE_LEN; x++) {
		unsigned int c;

		if (sscanf(f + 2 * x, "%2x", &c) != 1)
			return -1;
		fn->orig[x] = (uint8_t)c;
	}
	f = field(&s);
	fn->name = f ? unescape(f) : NULL;
	f = field(&s);
	fn->module = f ? unescape(f) : NULL;
	return fn->name && fn->module ? 0 : -1;
}

/* Parse the text into j->p (oldest first). */
int lp_journal_parse(struct lp_journal *j, char *text)
{
	char *line = text, *next;

	for (; line && *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			return -1;
		*next++ = 0;
		if (!strncmp(line, "patch ", 6)) {
			struct lp_jpatch *np = realloc(j->p, (j->n + 1) * sizeof(*np));

			if (!np)
				return -ENOMEM;
			j->p = np;
			memset(&j->p[j->n], 0, sizeof(*np));
			j->n++;
			if (parse_patch(line + 6, &j->p[j->n - 1]))
				return -1;
			if (j->p[j->n - 1].seq >= j->next_seq)
				j->next_seq = j->p[j->n - 1].seq + 1;
		} else if (!strncmp(line, "func ", 5)) {
			struct lp_jpatch *p = j->n ? &j->p[j->n - 1] : NULL;

			if (!p || p->nfuncs >= p->cap)
				return -1;
			/* counted first: a half-parsed entry is freed with the rest */
			if (parse_func(line + 5, &p->funcs[p->nfuncs++]))
				return -1;
		} else {
			return -1;
		}
	}
	for (size_t i = 0; i < j->n; i++)
		if (j->p[i].nfuncs != j->p[i].cap)
			return -1;
	return 0;
}

/* ---- in the process ----------------------------------------------------- */

static int add_map(struct lp_journal *j, uint64_t start, uint64_t end, uint64_t ino,
		   const char *name)
{
	struct lp_jmap *nm = realloc(j->maps, (j->nmaps + 1) * sizeof(*nm));

	if (!nm)
		return -ENOMEM;
	j->maps = nm;
	nm = &j->maps[j->nmaps++];
	memset(nm, 0, sizeof(*nm));
	nm->start = start;
	nm->end = end;
	nm->ino = ino;
	snprintf(nm->name, sizeof(nm->name), "%.31s", name);
	return 0;
}

/* Every mapping of ours: the journal copies and the patches' code. */
static int scan_maps(struct lp_proc *proc, struct lp_journal *j)
{
	char path[96], line[4352];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/maps", proc->dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (lp_maps_gets(line, sizeof(line), f) && !err) {
		struct lp_maps_line ml;
		char *id;

		if (lp_maps_parse(line, &ml) || strncmp(ml.name, "/memfd:livepatch:", 17))
			continue;
		id = ml.name + 17;
		id[strcspn(id, " ")] = 0;
		err = add_map(j, ml.start, ml.end, ml.inode, id);
	}
	fclose(f);
	return err;
}

/*
 * Read one copy of the journal at [start, end): 0 and *gen, *text on
 * success; 1 when it was never written; -1 when it is not a valid journal.
 */
static int read_copy(struct lp_proc *proc, uint64_t start, uint64_t end,
		     uint64_t *gen, char **text)
{
	uint8_t hdr[HDR_SIZE];
	uint64_t len, sum;
	char *t;

	static const uint8_t zero[8];

	if (lp_proc_read(proc, start, hdr, HDR_SIZE))
		return -1;
	if (!memcmp(hdr, zero, 8) || !memcmp(hdr, LP_JOURNAL_MOVED, 8))
		return 1; /* never written, or moved to a bigger mapping */
	if (memcmp(hdr, MAGIC, 8))
		return -1;
	memcpy(gen, hdr + 8, 8);
	memcpy(&len, hdr + 16, 8);
	memcpy(&sum, hdr + 24, 8);
	if (len > end - start - HDR_SIZE || len > MAX_TEXT)
		return -1;
	t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	if (lp_proc_read(proc, start + HDR_SIZE, t, len) ||
	    lp_fnv1a64(LP_FNV_INIT, t, len) != sum) {
		free(t);
		return -1;
	}
	t[len] = 0;
	*text = t;
	return 0;
}

int lp_journal_gen_at(struct lp_proc *proc, uint64_t addr, uint64_t *gen)
{
	uint8_t hdr[16];
	int err = lp_proc_read(proc, addr, hdr, sizeof(hdr));

	if (err)
		return err;
	if (memcmp(hdr, MAGIC, 8))
		return 1;
	memcpy(gen, hdr + 8, 8);
	return 0;
}

int lp_journal_maps(struct lp_proc *proc, struct lp_journal **out)
{
	struct lp_journal *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	err = scan_maps(proc, j);
	if (err) {
		lp_journal_free(j);
		return err;
	}
	*out = j;
	return 0;
}

const struct lp_jmap *lp_journal_map_at(const struct lp_journal *j, uint64_t start,
					const char *name)
{
	size_t i;

	for (i = 0; i < j->nmaps; i++)
		if (j->maps[i].start == start && !strcmp(j->maps[i].name, name))
			return &j->maps[i];
	return NULL;
}

int lp_journal_load(struct lp_proc *proc, struct lp_journal **out)
{
	struct lp_journal *j = calloc(1, sizeof(*j));
	char *best = NULL;
	size_t i;
	int err, bad = 0;

	if (!j)
		return -ENOMEM;
	err = scan_maps(proc, j);
	if (err) {
		lp_journal_free(j);
		return lp_fail(proc->ctx, err, "cannot read the mappings of process %d: %s",
			       proc->pid, lp_strerror(err));
	}
	/* the newest valid copy; the others are left-overs of an
	 * interrupted move to a bigger mapping */
	for (i = 0; i < j->nmaps; i++) {
		struct lp_jmap *m = &j->maps[i];
		uint64_t gen;
		char *text;

		if (strcmp(m->name, "journal"))
			continue;
		m->journal = true;
		err = read_copy(proc, m->start, m->end, &gen, &text);
		if (err == -ENOMEM) {
			free(best);
			lp_journal_free(j);
			return err;
		}
		if (err) {
			bad += err < 0;
			continue;
		}
		m->valid = true;
		if (!best || gen > j->gen) {
			free(best);
			best = text;
			j->gen = gen;
			j->addr = m->start;
			j->size = m->end - m->start;
			j->ino = m->ino;
		} else {
			free(text);
		}
	}
	if (!best && bad) {
		lp_journal_free(j);
		return lp_fail(proc->ctx, -LP_EJOURNAL,
			       "the patch journal of process %d is damaged: the process may have overwritten it",
			       proc->pid);
	}
	if (best) {
		err = lp_journal_parse(j, best);
		free(best);
		if (err) {
			lp_journal_free(j);
			return err == -ENOMEM ? err :
			       lp_fail(proc->ctx, -LP_EJOURNAL,
				       "the patch journal of process %d cannot be parsed",
				       proc->pid);
		}
	}
	*out = j;
	return 0;
}

/* ---- public listing ------------------------------------------------------ */

int lp_journal_read(struct lp_ctx *ctx, pid_t pid, struct lp_journal **out)
{
	struct lp_proc *proc;
	int err;

	ctx->err[0] = 0;
	err = lp_proc_open_light(ctx, pid, &proc);
	if (err)
		return err;
	err = lp_journal_load(proc, out);
	lp_proc_close(proc);
	return err;
}

size_t lp_journal_npatches(const struct lp_journal *j)
{
	return j->n;
}

/* Index i counts from the newest. */
static const struct lp_jpatch *nth(const struct lp_journal *j, size_t i)
{
	return i < j->n ? &j->p[j->n - 1 - i] : NULL;
}

int lp_journal_patch(const struct lp_journal *j, size_t i, struct lp_applied *out)
{
	const struct lp_jpatch *p = nth(j, i);
	struct lp_applied a;

	if (!p || !out || out->sz < sizeof(size_t))
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.sz = out->sz < sizeof(a) ? out->sz : sizeof(a);
	a.id = p->id;
	a.name = p->name;
	a.path = p->path;
	a.time = p->time;
	a.state = p->state == LP_PATCH_APPLIED || p->state == LP_PATCH_REVERTED_IN_USE ?
		  (enum lp_patch_state)p->state : LP_PATCH_INTERRUPTED;
	a.map_start = p->map_start;
	a.map_size = p->map_size;
	a.nfuncs = p->nfuncs;
	memcpy(out, &a, a.sz);
	return 0;
}

/* The patch whose version of the function at @addr runs now. */
const struct lp_jpatch *lp_journal_live(const struct lp_journal *j, uint64_t addr,
					size_t *fi)
{
	size_t i, k;

	for (i = j->n; i-- > 0;) {
		const struct lp_jpatch *p = &j->p[i];

		if (p->state != LP_PATCH_APPLIED)
			continue;
		for (k = 0; k < p->nfuncs; k++) {
			if (p->funcs[k].addr == addr) {
				if (fi)
					*fi = k;
				return p;
			}
		}
	}
	return NULL;
}

int lp_journal_func(const struct lp_journal *j, size_t i, size_t k,
		    struct lp_applied_func *out)
{
	const struct lp_jpatch *p = nth(j, i);
	struct lp_applied_func a;

	if (!p || k >= p->nfuncs || !out || out->sz < sizeof(size_t))
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.sz = out->sz < sizeof(a) ? out->sz : sizeof(a);
	a.name = p->funcs[k].name;
	a.module = p->funcs[k].module;
	a.addr = p->funcs[k].addr;
	a.new_addr = p->funcs[k].new_addr;
	a.live = lp_journal_live(j, a.addr, NULL) == p;
	memcpy(out, &a, a.sz);
	return 0;
}
