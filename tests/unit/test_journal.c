/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal's text (src/lib/journal.c): what one run writes into the
 * target, the next must read back exactly, whatever the names and paths
 * hold; and anything else (a damaged or foreign text) must be refused,
 * never half read.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

static void make_patch(struct lp_jpatch *p, const char *id, const char *name,
		       const char *path, size_t nfuncs)
{
	size_t k, x;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->name = strdup(name);
	p->path = strdup(path);
	p->time = 1795000000;
	p->state = LP_PATCH_APPLIED;
	p->seq = 7;
	p->map_start = 0x7f0000001000ULL;
	p->map_size = 0x5000;
	p->funcs = calloc(nfuncs + 1, sizeof(*p->funcs));
	p->nfuncs = p->cap = nfuncs;
	for (k = 0; k < nfuncs; k++) {
		struct lp_jfunc *f = &p->funcs[k];

		f->name = strdup(k ? "helper.constprop.0" : "answer");
		f->module = strdup("/opt/my app/lib%20x.so");
		f->addr = 0x555500001000ULL + k * 64;
		f->new_addr = 0x7f000000200eULL + k * 32;
		f->entry_off = k % 2 ? 4 : 0;
		for (x = 0; x < LP_CODE_LEN; x++)
			f->orig[x] = (uint8_t)(0x90 + x + k);
	}
}

/* Serialize @j and parse the text back into a new journal. */
static struct lp_journal *round_trip(const struct lp_journal *j)
{
	struct lp_journal *back = calloc(1, sizeof(*back));
	char *text;
	size_t len;

	ck_assert_int_eq(lp_journal_serialize(j, &text, &len), 0);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_int_eq(lp_journal_parse(back, text), 0);
	free(text);
	return back;
}

START_TEST(test_round_trip)
{
	struct lp_journal j = { 0 };
	struct lp_journal *back;
	size_t i, k;

	j.p = calloc(3, sizeof(*j.p));
	make_patch(&j.p[0], "0123456789abcdef", "fix one", "/tmp/a b/fix one.lpatch", 1);
	make_patch(&j.p[1], "fedcba9876543210", "100%\nsure", "/p%41th\t/x", 3);
	make_patch(&j.p[2], "00000000000000ff", "", "/", 0);
	j.p[1].state = LP_PATCH_REVERTED_IN_USE;
	j.p[1].seq = 9;
	j.n = 3;

	back = round_trip(&j);
	ck_assert_uint_eq(back->n, 3);
	ck_assert_uint_eq(back->next_seq, 10);
	for (i = 0; i < j.n; i++) {
		const struct lp_jpatch *a = &j.p[i], *b = &back->p[i];

		ck_assert_str_eq(a->id, b->id);
		ck_assert_str_eq(a->name, b->name);
		ck_assert_str_eq(a->path, b->path);
		ck_assert_int_eq(a->time, b->time);
		ck_assert_uint_eq(a->state, b->state);
		ck_assert_uint_eq(a->seq, b->seq);
		ck_assert_uint_eq(a->map_start, b->map_start);
		ck_assert_uint_eq(a->map_size, b->map_size);
		ck_assert_uint_eq(a->nfuncs, b->nfuncs);
		for (k = 0; k < a->nfuncs; k++) {
			ck_assert_str_eq(a->funcs[k].name, b->funcs[k].name);
			ck_assert_str_eq(a->funcs[k].module, b->funcs[k].module);
			ck_assert_uint_eq(a->funcs[k].addr, b->funcs[k].addr);
			ck_assert_uint_eq(a->funcs[k].new_addr, b->funcs[k].new_addr);
			ck_assert_uint_eq(a->funcs[k].entry_off, b->funcs[k].entry_off);
			ck_assert_mem_eq(a->funcs[k].orig, b->funcs[k].orig, LP_CODE_LEN);
		}
	}
	lp_journal_free(back);
	for (i = 0; i < j.n; i++)
		lp_jpatch_clear(&j.p[i]);
	free(j.p);
}
END_TEST

/* The newest applied patch of a function is the live one. */
START_TEST(test_live)
{
	struct lp_journal j = { 0 };
	struct lp_applied_func f = { .sz = sizeof(f) };
	const struct lp_jpatch *p;
	size_t i;

	j.p = calloc(3, sizeof(*j.p));
	make_patch(&j.p[0], "1111111111111111", "one", "/one", 1);
	make_patch(&j.p[1], "2222222222222222", "two", "/two", 1);
	make_patch(&j.p[2], "3333333333333333", "three", "/three", 1);
	j.n = 3;
	p = lp_journal_live(&j, j.p[0].funcs[0].addr, NULL);
	ck_assert_ptr_eq(p, &j.p[2]);
	j.p[2].state = LP_PATCH_REVERTED_IN_USE;
	ck_assert_ptr_eq(lp_journal_live(&j, j.p[0].funcs[0].addr, NULL), &j.p[1]);
	ck_assert_ptr_null(lp_journal_live(&j, 0x1234, NULL));
	/* public view: index 0 is the newest */
	ck_assert_int_eq(lp_journal_func(&j, 1, 0, &f), 0);
	ck_assert_int_eq(f.live, 1);
	ck_assert_int_eq(lp_journal_func(&j, 2, 0, &f), 0);
	ck_assert_int_eq(f.live, 0);
	ck_assert_int_lt(lp_journal_func(&j, 3, 0, &f), 0);
	for (i = 0; i < j.n; i++)
		lp_jpatch_clear(&j.p[i]);
	free(j.p);
}
END_TEST

/* Every damaged text is refused as a whole. */
START_TEST(test_refuse)
{
	static const char *const bad[] = {
		"garbage\n",
		"patch 0123 1 1 0 0x1000 0x1000 0 a /b\n",              /* short id */
		"patch 0123456789abcdeg 1 1 0 0x1000 0x1000 0 a /b\n",  /* not hex */
		"patch 0123456789abcdef 9 1 0 0x1000 0x1000 0 a /b\n",  /* state */
		"patch 0123456789abcdef 1 1 0 0x1000 0x1000 2 a /b\n"   /* 1 of 2 funcs */
		"func 0x1000 0 0x2000 9090909090909090909090909090909090909090 f /m\n",
		"patch 0123456789abcdef 1 1 0 0x1000 0x1000 0 a /b\n"   /* too many */
		"func 0x1000 0 0x2000 9090909090909090909090909090909090909090 f /m\n",
		"func 0x1000 0 0x2000 9090909090909090909090909090909090909090 f /m\n",
		"patch 0123456789abcdef 1 1 0 0x1000 0x1000 1 a /b\n"   /* short bytes */
		"func 0x1000 0 0x2000 9090 f /m\n",
		"patch 0123456789abcdef 1 1 0 0x1000 0x1000 1 a /b\n"   /* bad escape */
		"func 0x1000 0 0x2000 9090909090909090909090909090909090909090 f% /m\n",
		"patch 0123456789abcdef 1 1 0 0x1000 0x1000 0 a /b",    /* no newline */
		"patch 0123456789abcdef 1 1 0 0x1000 0x1000 0 a\n",     /* no path */
	};
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(bad); i++) {
		struct lp_journal *j = calloc(1, sizeof(*j));
		char *t = strdup(bad[i]);

		ck_assert_msg(lp_journal_parse(j, t) != 0, "accepted: %s", bad[i]);
		free(t);
		lp_journal_free(j);
	}
}
END_TEST

/* The image: header, then the text with its checksum. */
START_TEST(test_image)
{
	struct lp_journal j = { 0 };
	uint8_t *img;
	size_t len, tlen;
	uint64_t gen, l, sum;
	char *text;

	j.p = calloc(1, sizeof(*j.p));
	make_patch(&j.p[0], "0123456789abcdef", "x", "/x", 2);
	j.n = 1;
	ck_assert_int_eq(lp_journal_image(&j, 42, &img, &len), 0);
	ck_assert_int_eq(lp_journal_serialize(&j, &text, &tlen), 0);
	ck_assert_uint_eq(len, lp_journal_image_size(tlen));
	ck_assert_mem_eq(img, LP_JOURNAL_MAGIC, 8);
	memcpy(&gen, img + 8, 8);
	memcpy(&l, img + 16, 8);
	memcpy(&sum, img + 24, 8);
	ck_assert_uint_eq(gen, 42);
	ck_assert_uint_eq(l, tlen);
	ck_assert_uint_eq(sum, lp_fnv1a64(LP_FNV_INIT, text, tlen));
	ck_assert_mem_eq(img + len - tlen, text, tlen);
	free(text);
	free(img);
	lp_jpatch_clear(&j.p[0]);
	free(j.p);
}
END_TEST

/* lp_grow(), which the journal's readers and every other array use. */
START_TEST(test_grow)
{
	uint64_t *v = NULL;
	size_t cap = 0, n;

	for (n = 0; n < 100; n++) {
		ck_assert_int_eq(lp_grow(&v, &cap, n, sizeof(*v), 4), 0);
		ck_assert_uint_gt(cap, n);
		v[n] = n * 3;
	}
	ck_assert_uint_eq(cap, 128);
	for (n = 0; n < 100; n++)
		ck_assert_uint_eq(v[n], n * 3);
	/* room left: nothing moves */
	{
		uint64_t *before = v;

		ck_assert_int_eq(lp_grow(&v, &cap, 100, sizeof(*v), 4), 0);
		ck_assert_ptr_eq(v, before);
	}
	/* a size that overflows: refused, the array as it was */
	ck_assert_int_eq(lp_grow(&v, &cap, cap, SIZE_MAX / 2, 4), -ENOMEM);
	ck_assert_uint_eq(cap, 128);
	ck_assert_uint_eq(v[99], 297);
	free(v);
}
END_TEST

/* lp_maps_parse(): the lines the kernel writes, and refusals. */
START_TEST(test_maps_line)
{
	char l1[] = "55d0c0a00000-55d0c0a02000 r-xp 00002000 fd:01 1234567                    /opt/my app/bin (deleted)\n";
	char l2[] = "7ffd1e9f0000-7ffd1e9f4000 r--p 00000000 00:00 0                          [vvar]\n";
	char l3[] = "7f00aa000000-7f00aa021000 rw-p 00000000 00:00 0 \n";
	char l4[] = "7f00aa000000-7f00aa021000 ---p 00000000 00:00 0\n";
	char l5[] = "7f0000001000-7f0000006000 r-xs 00000000 00:01 42 /memfd:livepatch:00ff (deleted)";
	char *bad[] = { "", "\n", "zz-10 r-xp 0 00:00 0\n", "1000-2000 r-xp\n",
			"1000 2000 r-xp 00000000 00:00 0\n", "1000-2000 r-x 00000000 00:00 0\n",
			"1000-2000 r-xp 00000000 00:00 x\n", "1000-2000 r-xp -1 00:00 0\n" };
	struct lp_maps_line m;
	size_t i;

	ck_assert_int_eq(lp_maps_parse(l1, &m), 0);
	ck_assert_uint_eq(m.start, 0x55d0c0a00000ULL);
	ck_assert_uint_eq(m.end, 0x55d0c0a02000ULL);
	ck_assert_str_eq(m.perms, "r-xp");
	ck_assert_uint_eq(m.offset, 0x2000);
	ck_assert_str_eq(m.dev, "fd:01");
	ck_assert_uint_eq(m.inode, 1234567);
	ck_assert_str_eq(m.name, "/opt/my app/bin (deleted)");
	ck_assert_int_eq(lp_maps_parse(l2, &m), 0);
	ck_assert_str_eq(m.name, "[vvar]");
	ck_assert_int_eq(lp_maps_parse(l3, &m), 0);
	ck_assert_str_eq(m.name, "");
	ck_assert_uint_eq(m.inode, 0);
	ck_assert_int_eq(lp_maps_parse(l4, &m), 0);
	ck_assert_str_eq(m.perms, "---p");
	ck_assert_str_eq(m.name, "");
	ck_assert_int_eq(lp_maps_parse(l5, &m), 0); /* (no newline: cut by fgets()) */
	ck_assert_uint_eq(m.inode, 42);
	ck_assert_str_eq(m.name, "/memfd:livepatch:00ff (deleted)");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "%s", bad[i]);
		ck_assert_msg(lp_maps_parse(line, &m) == -1, "parsed \"%s\"", bad[i]);
	}
}
END_TEST

/* Every line of our own maps, against what sscanf() reads of it. */
START_TEST(test_maps_self)
{
	char line[4352], copy[4352];
	FILE *f = fopen("/proc/self/maps", "re");
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off, ino;
		char perms[8], dev[16], name[4096] = "";
		struct lp_maps_line m;

		ck_assert_int_ge(sscanf(line, "%llx-%llx %7s %llx %15s %llu %4095[^\n]", &s, &e, perms,
					&off, dev, &ino, name), 6);
		memcpy(copy, line, sizeof(copy));
		ck_assert_msg(lp_maps_parse(copy, &m) == 0, "refused %s", line);
		ck_assert_uint_eq(m.start, s);
		ck_assert_uint_eq(m.end, e);
		ck_assert_str_eq(m.perms, perms);
		ck_assert_uint_eq(m.offset, off);
		ck_assert_str_eq(m.dev, dev);
		ck_assert_uint_eq(m.inode, ino);
		ck_assert_str_eq(m.name, name);
		n++;
	}
	fclose(f);
	ck_assert_uint_gt(n, 5);
}
END_TEST

/*
 * lp_maps_gets(): a line longer than the buffer is skipped whole, so
 * that a path chosen by the target cannot end in what reads like a line
 * of its own.
 */
START_TEST(test_maps_long_line)
{
	char buf[64], path[] = "/tmp/lp-unit-maps-XXXXXX";
	const char *first = "1000-2000 r-xp 00000000 00:00 0\n";
	const char *last = "9000-a000 rw-p 00000000 00:00 0\n";
	struct lp_maps_line m;
	int fd = mkstemp(path);
	FILE *f;
	size_t i;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w+");
	ck_assert_ptr_nonnull(f);
	fputs(first, f);
	/* 63 bytes fill the buffer; the forged line starts right after */
	fputs("3000-4000 r--p 00000000 fd:01 7 /", f);
	for (i = 33; i < sizeof(buf) - 1; i++)
		fputc('a', f);
	fputs("5000-6000 r-xp 00000000 fd:01 9 /forged/libc.so.6\n", f);
	fputs(last, f);
	fputs("b000-c000 r--p 00000000 00:00 0", f); /* last, unended */
	rewind(f);
	unlink(path);
	ck_assert_ptr_nonnull(lp_maps_gets(buf, sizeof(buf), f));
	ck_assert_str_eq(buf, first);
	ck_assert_ptr_nonnull(lp_maps_gets(buf, sizeof(buf), f));
	ck_assert_str_eq(buf, last);
	ck_assert_ptr_nonnull(lp_maps_gets(buf, sizeof(buf), f));
	ck_assert_int_eq(lp_maps_parse(buf, &m), 0);
	ck_assert_uint_eq(m.start, 0xb000);
	ck_assert_ptr_null(lp_maps_gets(buf, sizeof(buf), f));
	fclose(f);
}
END_TEST

START_TEST(test_maps_undelete)
{
	char a[] = "/opt/app (deleted)/lib.so (deleted)", b[] = "/opt/app (deleted)/lib.so",
	     c[] = " (deleted)", d[] = "";

	lp_maps_undelete(a);
	ck_assert_str_eq(a, "/opt/app (deleted)/lib.so");
	lp_maps_undelete(b);
	ck_assert_str_eq(b, "/opt/app (deleted)/lib.so");
	lp_maps_undelete(c);
	ck_assert_str_eq(c, "");
	lp_maps_undelete(d);
	ck_assert_str_eq(d, "");
}
END_TEST

Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_live);
	tcase_add_test(tc, test_refuse);
	tcase_add_test(tc, test_image);
	tcase_add_test(tc, test_grow);
	suite_add_tcase(s, tc);
	tc = tcase_create("maps");
	tcase_add_test(tc, test_maps_line);
	tcase_add_test(tc, test_maps_self);
	tcase_add_test(tc, test_maps_long_line);
	tcase_add_test(tc, test_maps_undelete);
	suite_add_tcase(s, tc);
	return s;
}
