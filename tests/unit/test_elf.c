/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ELF reading (src/lib/elf.c) on fixture files built by make from
 * tests/fixtures: padded.elf (PIE, pads, build-id FIXTURE_BUILD_ID),
 * padded-cet.elf (-fcf-protection), nopie.elf (non-PIE, md5 build-id),
 * nopad.elf (no pads, no build-id), clang.elf and clang-cet.elf (built by
 * clang, empty when clang is missing) and libpadded.so (stripped shared
 * library: .dynsym only).
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

/* The entry NOPs of the compiler that built the fixtures, which is the one
 * that builds this file: gcc writes 90 90, clang 66 90. */
#ifdef __clang__
#define CC_NOP_ENDS 0x5u
#else
#define CC_NOP_ENDS 0x7u
#endif

static struct lp_elf *open_fixture(const char *name)
{
	char path[4096];
	struct lp_elf *elf = NULL;
	int err;

	unit_fixture(path, sizeof(path), name);
	err = lp_elf_open(unit_ctx, path, &elf);
	ck_assert_msg(err == 0, "lp_elf_open %s: %d (%s)", path, err,
		      lp_ctx_errmsg(unit_ctx));
	ck_assert_ptr_nonnull(elf);
	return elf;
}

static struct lp_sym find(const struct lp_elf *elf, const char *name)
{
	struct lp_sym sym;
	int err;

	memset(&sym, 0, sizeof(sym));
	err = lp_elf_find_symbol(elf, name, &sym);
	ck_assert_msg(err == 0, "%s: lp_elf_find_symbol %s: %d", lp_elf_name(elf),
		      name, err);
	ck_assert_str_eq(sym.name, name);
	return sym;
}

static int is_hex(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/* ---- opening ---------------------------------------------------------- */

START_TEST(test_open_pie)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	const struct lp_segment *segs;
	char path[4096];
	size_t n, i, size, file_size;
	uint64_t lo, hi;
	bool exec = false;
	uint8_t *file;

	unit_fixture(path, sizeof(path), "padded.elf");
	ck_assert_str_eq(lp_elf_name(elf), path);
	ck_assert(lp_elf_is_x86_64(elf));
	ck_assert(lp_elf_is_dyn(elf));
	ck_assert_uint_eq(lp_elf_min_vaddr(elf), 0);
	ck_assert_ptr_null(lp_elf_soname(elf));
	n = lp_elf_segments(elf, &segs);
	ck_assert_uint_ge(n, 2);
	for (i = 0; i < n; i++) {
		ck_assert_uint_le(segs[i].filesz, segs[i].memsz);
		if (segs[i].flags & PF_X)
			exec = true;
		if (i)
			ck_assert_uint_gt(segs[i].vaddr, segs[i - 1].vaddr);
	}
	ck_assert(exec);
	lp_elf_text_range(elf, &lo, &hi);
	ck_assert_uint_lt(lo, hi);
	/* the image is the file */
	file = unit_read_file(path, &file_size);
	ck_assert_mem_eq(lp_elf_image(elf, &size), file, file_size);
	ck_assert_uint_eq(size, file_size);
	free(file);
	lp_elf_close(elf);
}
END_TEST

START_TEST(test_open_nopie)
{
	struct lp_elf *elf = open_fixture("nopie.elf");
	struct lp_sym sym = find(elf, "lp_fix_global");
	uint64_t lo, hi;

	ck_assert(lp_elf_is_x86_64(elf));
	ck_assert(!lp_elf_is_dyn(elf));
	ck_assert_uint_ge(lp_elf_min_vaddr(elf), 0x10000);
	ck_assert_uint_eq(lp_elf_min_vaddr(elf) & 0xfff, 0);
	lp_elf_text_range(elf, &lo, &hi);
	ck_assert_uint_ge(sym.value, lo);
	ck_assert_uint_lt(sym.value, hi);
	lp_elf_close(elf);
}
END_TEST

START_TEST(test_open_shlib)
{
	struct lp_elf *elf = open_fixture("libpadded.so");

	ck_assert(lp_elf_is_x86_64(elf));
	ck_assert(lp_elf_is_dyn(elf));
	ck_assert_str_eq(lp_elf_soname(elf), "libpadded.so");
	/* stripped: only .dynsym is left */
	ck_assert_ptr_null(lp_elf_section(elf, ".symtab", NULL, NULL, NULL));
	ck_assert_ptr_nonnull(lp_elf_section(elf, ".dynsym", NULL, NULL, NULL));
	lp_elf_close(elf);
}
END_TEST

START_TEST(test_open_errors)
{
	char path[4096], src[4096];
	struct lp_elf *elf = NULL;

	/* missing */
	snprintf(path, sizeof(path), "%s/no-such-file.elf", unit_tmp);
	ck_assert_int_eq(lp_elf_open(unit_ctx, path, &elf), -ENOENT);
	ck_assert_ptr_null(elf);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), path));
	/* not ELF: a C source */
	snprintf(src, sizeof(src), "%s/tests/fixtures/padded.c", SRCDIR);
	ck_assert_int_eq(lp_elf_open(unit_ctx, src, &elf), -ENOEXEC);
	ck_assert_ptr_null(elf);
	ck_assert_str_ne(lp_ctx_errmsg(unit_ctx), "");
	/* empty */
	snprintf(path, sizeof(path), "%s/empty", unit_tmp);
	unit_write_file(path, "", 0);
	ck_assert_int_eq(lp_elf_open(unit_ctx, path, &elf), -ENOEXEC);
	/* the ELF magic and nothing else */
	snprintf(path, sizeof(path), "%s/magic", unit_tmp);
	unit_write_file(path, ELFMAG, SELFMAG);
	ck_assert_int_eq(lp_elf_open(unit_ctx, path, &elf), -ENOEXEC);
	/* not a regular file */
	ck_assert_int_eq(lp_elf_open(unit_ctx, unit_tmp, &elf), -ENOEXEC);
	ck_assert_int_eq(lp_elf_open(unit_ctx, "/dev/null", &elf), -ENOEXEC);
	ck_assert_ptr_null(elf);
}
END_TEST

START_TEST(test_open_mem)
{
	char path[4096], id[84];
	struct lp_elf *elf = NULL;
	size_t len;
	uint8_t *buf;

	buf = unit_read_file(unit_fixture(path, sizeof(path), "padded.elf"), &len);
	ck_assert_int_eq(lp_elf_open_mem(unit_ctx, buf, len, "in memory", &elf), 0);
	/* the image is a copy: the caller's buffer may go */
	memset(buf, 0, len);
	free(buf);
	ck_assert_str_eq(lp_elf_name(elf), "in memory");
	ck_assert_int_eq(lp_elf_build_id(elf, id, sizeof(id)), 0);
	ck_assert_str_eq(id, FIXTURE_BUILD_ID);
	find(elf, "lp_fix_global");
	lp_elf_close(elf);

	/* not ELF */
	elf = NULL;
	ck_assert_int_eq(lp_elf_open_mem(unit_ctx, "hello, world\n", 13, "text", &elf),
			 -ENOEXEC);
	ck_assert_ptr_null(elf);
	ck_assert_int_eq(lp_elf_open_mem(unit_ctx, "", 0, "nothing", &elf), -ENOEXEC);
	ck_assert_ptr_null(elf);
	lp_elf_close(NULL);
}
END_TEST

/* An ELF file for another machine is still ELF, but not x86-64. */
START_TEST(test_open_other_machine)
{
	char path[4096];
	struct lp_elf *elf = NULL;
	Elf64_Ehdr eh;
	size_t len;
	uint8_t *buf;

	buf = unit_read_file(unit_fixture(path, sizeof(path), "padded.elf"), &len);
	memcpy(&eh, buf, sizeof(eh));
	eh.e_machine = EM_AARCH64;
	memcpy(buf, &eh, sizeof(eh));
	ck_assert_int_eq(lp_elf_open_mem(unit_ctx, buf, len, "aarch64", &elf), 0);
	ck_assert(!lp_elf_is_x86_64(elf));
	lp_elf_close(elf);
	free(buf);
}
END_TEST

/* ---- build-id ------------------------------------------------------------ */

START_TEST(test_build_id)
{
	static const struct {
		const char *file;
		size_t hex_len;
	} cases[] = {
		{ "padded.elf", 40 },     /* explicit: FIXTURE_BUILD_ID */
		{ "padded-cet.elf", 40 }, /* sha1 */
		{ "nopie.elf", 32 },      /* md5 */
		{ "libpadded.so", 40 },
	};
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(cases); i++) {
		struct lp_elf *elf = open_fixture(cases[i].file);
		char id[84], id2[84], path[4096];

		memset(id, 'x', sizeof(id));
		ck_assert_int_eq(lp_elf_build_id(elf, id, sizeof(id)), 0);
		ck_assert_msg(is_hex(id, cases[i].hex_len), "%s: build-id \"%s\"",
			      cases[i].file, id);
		/* the public helper agrees */
		unit_fixture(path, sizeof(path), cases[i].file);
		ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, path, id2, sizeof(id2)), 0);
		ck_assert_str_eq(id, id2);
		/* room for the digits and the NUL, not one byte less */
		ck_assert_int_eq(lp_elf_build_id(elf, id2, cases[i].hex_len + 1), 0);
		ck_assert_str_eq(id, id2);
		ck_assert_int_eq(lp_elf_build_id(elf, id2, cases[i].hex_len), -ERANGE);
		ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, path, id2, cases[i].hex_len),
				 -ERANGE);
		lp_elf_close(elf);
	}
}
END_TEST

/* The fixture linked with -Wl,--build-id=0x<FIXTURE_BUILD_ID>: the hex
 * that readelf -n prints. */
START_TEST(test_build_id_explicit)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	char id[84], path[4096];

	ck_assert_int_eq(lp_elf_build_id(elf, id, sizeof(id)), 0);
	ck_assert_str_eq(id, FIXTURE_BUILD_ID);
	ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, unit_fixture(path, sizeof(path),
								 "padded.elf"),
					      id, sizeof(id)), 0);
	ck_assert_str_eq(id, FIXTURE_BUILD_ID);
	lp_elf_close(elf);
}
END_TEST

START_TEST(test_build_id_none)
{
	struct lp_elf *elf = open_fixture("nopad.elf");
	char id[84], path[4096];

	ck_assert_int_eq(lp_elf_build_id(elf, id, sizeof(id)), -LP_ENOBUILDID);
	lp_elf_close(elf);
	ck_assert_str_eq(lp_ctx_errmsg(unit_ctx), "");
	ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, unit_fixture(path, sizeof(path),
								 "nopad.elf"),
					      id, sizeof(id)), -LP_ENOBUILDID);
	ck_assert_str_ne(lp_ctx_errmsg(unit_ctx), "");
	/* missing file */
	snprintf(path, sizeof(path), "%s/missing.elf", unit_tmp);
	ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, path, id, sizeof(id)), -ENOENT);
}
END_TEST

/* ---- symbols ---------------------------------------------------------- */

START_TEST(test_symbol_global)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym = find(elf, "lp_fix_global"), g;
	uint64_t lo, hi;

	ck_assert(sym.is_func);
	ck_assert(!sym.is_ifunc);
	ck_assert_uint_gt(sym.size, 0);
	lp_elf_text_range(elf, &lo, &hi);
	ck_assert_uint_ge(sym.value, lo + LP_PAD_LEN);
	ck_assert_uint_lt(sym.value, hi);
	ck_assert_str_eq(lp_elf_symbol_at(elf, sym.value), "lp_fix_global");
	ck_assert_ptr_null(lp_elf_symbol_at(elf, sym.value + 1));
	/* global, so lp_elf_find_global finds the same */
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_fix_global", &g), 0);
	ck_assert_uint_eq(g.value, sym.value);
	ck_assert_uint_eq(g.size, sym.size);
	/* out may be NULL */
	ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_fix_global", NULL), 0);
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_fix_global", NULL), 0);
	lp_elf_close(elf);
}
END_TEST

START_TEST(test_symbol_local)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym = find(elf, "lp_fix_local"), g;

	ck_assert(sym.is_func);
	ck_assert_uint_gt(sym.value, 0);
	ck_assert_str_eq(lp_elf_symbol_at(elf, sym.value), "lp_fix_local");
	/* local: not global */
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_fix_local", &g), -LP_ENOSYM);
	lp_elf_close(elf);
}
END_TEST

/*
 * A .symtab whose string table does not end in a NUL: its names are then
 * read through elf_strptr(), one at a time, and the lookups (the check
 * that refuses an ambiguous local name too) work as before.
 */
START_TEST(test_symbol_strtab_unended)
{
	char path[4096], out[] = "/tmp/lp-unit-strtab-XXXXXX";
	struct lp_elf *elf;
	struct lp_sym sym;
	unsigned char *b;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	long size;
	size_t i;
	FILE *f = fopen(unit_fixture(path, sizeof(path), "padded.elf"), "rb");
	int fd, done = 0;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	b = malloc((size_t)size);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(fread(b, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	eh = (const Elf64_Ehdr *)b;
	sh = (const Elf64_Shdr *)(b + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB) {
			const Elf64_Shdr *st = &sh[sh[i].sh_link];

			ck_assert_uint_eq(b[st->sh_offset + st->sh_size - 1], 0);
			b[st->sh_offset + st->sh_size - 1] = 'x';
			done = 1;
		}
	ck_assert(done);
	fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, (size_t)size), size);
	close(fd);
	free(b);
	ck_assert_int_eq(lp_elf_open(unit_ctx, out, &elf), 0);
	unlink(out);
	ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_fix_local", &sym), 0);
	ck_assert_str_eq(sym.name, "lp_fix_local");
	ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_fix_dup", &sym), -ENOTUNIQ);
	lp_elf_close(elf);
}
END_TEST

/* lp_fix_dup is static in padded.c and in padded-dup.c. */
START_TEST(test_symbol_twice)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym;
	char path[4096];

	ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_fix_dup", &sym), -ENOTUNIQ);
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_fix_dup", &sym), -LP_ENOSYM);
	lp_elf_close(elf);
	ck_assert_int_eq(lp_elf_file_check_function(unit_ctx, unit_fixture(path, sizeof(path),
								       "padded.elf"),
						    "lp_fix_dup"), -ENOTUNIQ);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), "lp_fix_dup"));
}
END_TEST

START_TEST(test_symbol_missing)
{
	static const char *const files[] = { "padded.elf", "nopie.elf", "nopad.elf",
					     "libpadded.so" };
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(files); i++) {
		struct lp_elf *elf = open_fixture(files[i]);
		struct lp_sym sym;

		ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_fix_missing", &sym), -LP_ENOSYM);
		ck_assert_int_eq(lp_elf_find_global(elf, "lp_fix_missing", &sym), -LP_ENOSYM);
		ck_assert_int_eq(lp_elf_find_symbol(elf, "", &sym), -LP_ENOSYM);
		/* a prefix of a name is not the name */
		ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_fix_glob", &sym), -LP_ENOSYM);
		ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_lib_fun", &sym), -LP_ENOSYM);
		lp_elf_close(elf);
	}
}
END_TEST

START_TEST(test_symbol_kinds)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym = find(elf, "lp_fix_data");

	ck_assert(!sym.is_func);
	ck_assert(!sym.is_ifunc);
	ck_assert_uint_eq(sym.size, sizeof(int));
	sym = find(elf, "lp_fix_ifunc");
	ck_assert(sym.is_func);
	ck_assert(sym.is_ifunc);
	lp_elf_close(elf);
}
END_TEST

/* The stripped library: functions come from .dynsym. */
START_TEST(test_symbol_dynsym)
{
	struct lp_elf *elf = open_fixture("libpadded.so");
	struct lp_sym g, s;
	uint64_t lo, hi;

	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_lib_func", &g), 0);
	ck_assert_str_eq(g.name, "lp_lib_func");
	ck_assert(g.is_func);
	ck_assert(!g.is_ifunc);
	ck_assert_uint_gt(g.size, 0);
	lp_elf_text_range(elf, &lo, &hi);
	ck_assert_uint_ge(g.value, lo + LP_PAD_LEN);
	ck_assert_uint_lt(g.value, hi);
	/* lp_elf_find_symbol falls back on .dynsym */
	s = find(elf, "lp_lib_func");
	ck_assert_uint_eq(s.value, g.value);
	ck_assert_str_eq(lp_elf_symbol_at(elf, g.value), "lp_lib_func");
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_lib_caller", &g), 0);
	ck_assert_uint_ne(g.value, s.value);
	/* the local function went with .symtab; undefined ones do not count */
	ck_assert_int_eq(lp_elf_find_symbol(elf, "lp_lib_local", &s), -LP_ENOSYM);
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_lib_local", &s), -LP_ENOSYM);
	ck_assert_int_eq(lp_elf_find_global(elf, "__cxa_finalize", &s), -LP_ENOSYM);
	lp_elf_close(elf);
}
END_TEST

/* ---- pads in files ------------------------------------------------------ */

START_TEST(test_pad_listed)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym = find(elf, "lp_fix_global");

	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 1);
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value), 0);
	ck_assert_int_eq(lp_elf_pad_listed(elf, 0), 0);
	sym = find(elf, "lp_fix_local");
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 1);
	sym = find(elf, "main");
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 1);
	/* the function that opted out of its pad */
	sym = find(elf, "lp_fix_nopad");
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 0);
	lp_elf_close(elf);

	elf = open_fixture("libpadded.so");
	ck_assert_int_eq(lp_elf_find_global(elf, "lp_lib_func", &sym), 0);
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 1);
	lp_elf_close(elf);

	elf = open_fixture("nopie.elf");
	sym = find(elf, "lp_fix_global");
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 1);
	lp_elf_close(elf);

	/* no list at all: the bytes decide */
	elf = open_fixture("nopad.elf");
	sym = find(elf, "lp_fix_global");
	ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), -ENOENT);
	lp_elf_close(elf);
}
END_TEST

/* lp_check_pad on given bytes: the list of pads has the last word. */
START_TEST(test_check_pad)
{
	uint8_t good[LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN];
	uint8_t patched[sizeof(good)];
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym = find(elf, "lp_fix_global");
	struct lp_entry e;

	memset(good, 0x90, sizeof(good));
	memcpy(patched, good, sizeof(good));
	lp_encode_pad_jump(patched, 0x7f0000001000ULL);
	lp_encode_entry_jump(patched + LP_PAD_LEN, 0);

	ck_assert_int_eq(lp_check_pad(unit_ctx, elf, "f", sym.value, good, sizeof(good), &e), 0);
	ck_assert_uint_eq(e.entry_off, 0);
	ck_assert_uint_eq(e.nop_ends, 0x7);
	ck_assert_int_eq(lp_check_pad(unit_ctx, elf, "f", sym.value, patched, sizeof(patched), &e),
			 -LP_EPATCHED);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), "f is already patched"));
	/* NOP bytes, but not on the list: alignment, not a pad */
	sym = find(elf, "lp_fix_nopad");
	ck_assert_int_eq(lp_check_pad(unit_ctx, elf, "nopad_fn", sym.value, good, sizeof(good), &e),
			 -LP_ENOPAD);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), "nopad_fn"));
	/* on the list, but not NOPs */
	sym = find(elf, "lp_fix_global");
	good[3] = 0xc3;
	ck_assert_int_eq(lp_check_pad(unit_ctx, elf, "ret_fn", sym.value, good, sizeof(good), &e),
			 -LP_ENOPAD);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), "ret_fn"));
	good[3] = 0x90;
	lp_elf_close(elf);

	/* a file without the list: the bytes decide */
	elf = open_fixture("nopad.elf");
	sym = find(elf, "lp_fix_global");
	ck_assert_int_eq(lp_check_pad(unit_ctx, elf, "f", sym.value, good, sizeof(good), &e), 0);
	lp_elf_close(elf);
}
END_TEST

struct file_func {
	const char *file;
	const char *sym;
	int want;               /* of lp_elf_file_check_function */
	unsigned int entry_off; /* when want == 0 */
	unsigned int nop_ends;
};

static const struct file_func file_funcs[] = {
	{ "padded.elf", "lp_fix_global", 0, 0, CC_NOP_ENDS },
	{ "padded.elf", "lp_fix_local", 0, 0, CC_NOP_ENDS },
	{ "padded.elf", "lp_fix_dup_other", 0, 0, CC_NOP_ENDS },
	{ "padded.elf", "main", 0, 0, CC_NOP_ENDS },
	{ "padded.elf", "lp_fix_nopad", -LP_ENOPAD, 0, 0 },
	{ "padded.elf", "lp_fix_data", -LP_ENOPAD, 0, 0 },
	{ "padded.elf", "lp_fix_ifunc", -LP_ENOPAD, 0, 0 },
	{ "padded.elf", "lp_fix_dup", -ENOTUNIQ, 0, 0 },
	{ "padded.elf", "lp_fix_missing", -LP_ENOSYM, 0, 0 },
	{ "padded-cet.elf", "lp_fix_global", 0, 4, CC_NOP_ENDS },
	/* a local function whose address is never taken gets no endbr64 */
	{ "padded-cet.elf", "lp_fix_local", 0, 0, CC_NOP_ENDS },
	{ "padded-cet.elf", "lp_fix_nopad", -LP_ENOPAD, 0, 0 },
	{ "nopie.elf", "lp_fix_global", 0, 0, CC_NOP_ENDS },
	{ "nopie.elf", "lp_fix_local", 0, 0, CC_NOP_ENDS },
	{ "nopie.elf", "lp_fix_nopad", -LP_ENOPAD, 0, 0 },
	{ "nopad.elf", "lp_fix_global", -LP_ENOPAD, 0, 0 },
	{ "nopad.elf", "lp_fix_local", -LP_ENOPAD, 0, 0 },
	{ "nopad.elf", "lp_fix_dup_other", -LP_ENOPAD, 0, 0 },
	{ "nopad.elf", "main", -LP_ENOPAD, 0, 0 },
	{ "nopad.elf", "lp_fix_missing", -LP_ENOSYM, 0, 0 },
	{ "clang.elf", "lp_fix_global", 0, 0, 0x5 },
	{ "clang.elf", "lp_fix_local", 0, 0, 0x5 },
	{ "clang.elf", "lp_fix_nopad", -LP_ENOPAD, 0, 0 },
	{ "clang-cet.elf", "lp_fix_global", 0, 4, 0x5 },
	{ "clang-cet.elf", "lp_fix_local", 0, 0, 0x5 },
	{ "clang-cet.elf", "lp_fix_nopad", -LP_ENOPAD, 0, 0 },
	{ "libpadded.so", "lp_lib_func", 0, 0, CC_NOP_ENDS },
	{ "libpadded.so", "lp_lib_caller", 0, 0, CC_NOP_ENDS },
	{ "libpadded.so", "lp_lib_local", -LP_ENOSYM, 0, 0 },
};

/* Pad verification of real compiler output: every fixture function. */
START_TEST(test_file_check_function)
{
	const struct file_func *c = &file_funcs[_i];
	char path[4096];
	int err;

	if (unit_fixture_missing(c->file)) {
		fprintf(stderr, "%s: %s not built (no clang): skipped\n",
			c->file, c->sym);
		return;
	}
	unit_fixture(path, sizeof(path), c->file);
	unit_ctx->err[0] = 0;
	err = lp_elf_file_check_function(unit_ctx, path, c->sym);
	ck_assert_msg(err == c->want, "%s: %s: %d (%s), want %d", c->file, c->sym,
		      err, lp_ctx_errmsg(unit_ctx), c->want);
	if (err) {
		ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), c->sym));
		return;
	}
	{
		/* the bytes the check saw, decoded: the entry form of the compiler */
		struct lp_elf *elf = open_fixture(c->file);
		struct lp_sym sym = find(elf, c->sym);
		uint8_t code[LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN];
		struct lp_entry e;
		const char *why = NULL;

		ck_assert(sym.is_func);
		ck_assert_int_eq(lp_elf_read(elf, sym.value - LP_PAD_LEN, code,
					     sizeof(code)), 0);
		ck_assert_int_eq(lp_decode_pad(code, sizeof(code), &e, &why), 0);
		ck_assert_msg(e.entry_off == c->entry_off, "%s: %s: entry_off %u, want %u",
			      c->file, c->sym, e.entry_off, c->entry_off);
		ck_assert_msg(e.nop_ends == c->nop_ends, "%s: %s: nop_ends %#x, want %#x",
			      c->file, c->sym, e.nop_ends, c->nop_ends);
		ck_assert_int_eq(lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN), 1);
		lp_elf_close(elf);
	}
}
END_TEST

START_TEST(test_file_check_errors)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/missing.elf", unit_tmp);
	ck_assert_int_eq(lp_elf_file_check_function(unit_ctx, path, "main"), -ENOENT);
	snprintf(path, sizeof(path), "%s/tests/fixtures/padded.c", SRCDIR);
	ck_assert_int_eq(lp_elf_file_check_function(unit_ctx, path, "main"), -ENOEXEC);
	unit_fixture(path, sizeof(path), "padded.elf");
	ck_assert_int_eq(lp_elf_file_check_function(unit_ctx, path, "lp_fix_missing"),
			 -LP_ENOSYM);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), "lp_fix_missing"));
}
END_TEST

/* ---- reading ---------------------------------------------------------- */

START_TEST(test_read)
{
	struct lp_elf *elf = open_fixture("padded.elf");
	struct lp_sym sym = find(elf, "lp_fix_global");
	const struct lp_segment *segs;
	const uint8_t *img;
	size_t n, i, size;
	uint8_t buf[64];

	n = lp_elf_segments(elf, &segs);
	img = lp_elf_image(elf, &size);
	ck_assert_int_eq(lp_elf_read(elf, sym.value, buf, sizeof(buf)), 0);
	for (i = 0; i < n; i++) {
		if (sym.value >= segs[i].vaddr &&
		    sym.value < segs[i].vaddr + segs[i].filesz) {
			ck_assert_mem_eq(buf, img + segs[i].offset +
					      (sym.value - segs[i].vaddr), sizeof(buf));
			break;
		}
	}
	ck_assert_uint_lt(i, n);
	/* nothing maps there */
	ck_assert_int_eq(lp_elf_read(elf, 0x7ff000000000ULL, buf, 1), -EFAULT);
	/* past the file bytes of the last segment */
	ck_assert_int_eq(lp_elf_read(elf, segs[n - 1].vaddr + segs[n - 1].filesz - 4,
				     buf, 8), -EFAULT);
	ck_assert_int_eq(lp_elf_read(elf, segs[n - 1].vaddr + segs[n - 1].filesz - 4,
				     buf, 4), 0);
	ck_assert_int_eq(lp_elf_read(elf, sym.value, buf, 0), 0);
	lp_elf_close(elf);
}
END_TEST

START_TEST(test_eh_frame_hdr)
{
	static const char *const files[] = { "padded.elf", "nopie.elf", "libpadded.so" };
	size_t f;

	for (f = 0; f < LP_ARRAY_SIZE(files); f++) {
		struct lp_elf *elf = open_fixture(files[f]);
		struct lp_eh_frame_hdr h;
		size_t size;
		uint64_t addr, i;
		int32_t *table, prev = INT32_MIN;

		memset(&h, 0, sizeof(h));
		ck_assert_int_eq(lp_elf_eh_frame_hdr(elf, &h), 0);
		ck_assert_ptr_nonnull(lp_elf_section(elf, ".eh_frame_hdr", &size, &addr, NULL));
		ck_assert_uint_eq(h.vaddr, addr);
		ck_assert_uint_eq(h.table_vaddr, h.vaddr + 12);
		/* at least the fixture's own functions, and a table that fits */
		ck_assert_uint_ge(h.fde_count, 3);
		ck_assert_uint_lt(h.fde_count, 1000);
		ck_assert_uint_eq(12 + 8 * h.fde_count, size);
		table = malloc(8 * h.fde_count);
		ck_assert_ptr_nonnull(table);
		ck_assert_int_eq(lp_elf_read(elf, h.table_vaddr, table, 8 * h.fde_count), 0);
		/* sorted by start address */
		for (i = 0; i < h.fde_count; i++) {
			ck_assert_int_gt(table[2 * i], prev);
			prev = table[2 * i];
		}
		free(table);
		lp_elf_close(elf);
	}
}
END_TEST

START_TEST(test_dyn_relocs)
{
	struct lp_elf *elf = open_fixture("libpadded.so");
	struct lp_reloc *rel = NULL;
	size_t n = 0, i, relative = 0;

	ck_assert_int_eq(lp_elf_dyn_relocs(elf, &rel, &n), 0);
	ck_assert_uint_gt(n, 0);
	for (i = 0; i < n; i++)
		if (rel[i].type == R_X86_64_RELATIVE)
			relative++;
	/* at least the three entries of __patchable_function_entries */
	ck_assert_uint_ge(relative, 3);
	free(rel);
	lp_elf_close(elf);
}
END_TEST

/* ---- damaged files ------------------------------------------------------ */

/* Everything a reader may ask of a file: must not crash on any input. */
static void poke(const struct lp_elf *elf)
{
	static const char *const names[] = { "lp_fix_global", "lp_fix_local",
					     "lp_fix_dup", "main", "lp_fix_ifunc" };
	const struct lp_segment *segs;
	struct lp_eh_frame_hdr h;
	struct lp_reloc *rel;
	uint64_t lo, hi, addr, off;
	size_t n, i, size, isize;
	char id[84];
	const uint8_t *img = lp_elf_image(elf, &isize);

	(void)lp_elf_is_x86_64(elf);
	(void)lp_elf_is_dyn(elf);
	(void)lp_elf_build_id(elf, id, sizeof(id));
	(void)lp_elf_soname(elf);
	n = lp_elf_segments(elf, &segs);
	for (i = 0; i < n; i++) {
		uint8_t b[16];

		(void)lp_elf_read(elf, segs[i].vaddr, b, sizeof(b));
	}
	(void)lp_elf_min_vaddr(elf);
	lp_elf_text_range(elf, &lo, &hi);
	for (i = 0; i < LP_ARRAY_SIZE(names); i++) {
		struct lp_sym sym;
		uint8_t code[LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN];
		struct lp_entry e;

		if (lp_elf_find_global(elf, names[i], &sym) == 0)
			(void)strlen(sym.name);
		if (lp_elf_find_symbol(elf, names[i], &sym) == 0) {
			(void)strlen(sym.name);
			(void)lp_elf_symbol_at(elf, sym.value);
			(void)lp_elf_pad_listed(elf, sym.value - LP_PAD_LEN);
			if (sym.value >= LP_PAD_LEN &&
			    lp_elf_read(elf, sym.value - LP_PAD_LEN, code, sizeof(code)) == 0)
				(void)lp_check_pad(unit_ctx, elf, names[i], sym.value, code,
						   sizeof(code), &e);
		}
	}
	(void)lp_elf_eh_frame_hdr(elf, &h);
	if (lp_elf_section(elf, ".text", &size, &addr, &off)) {
		ck_assert_ptr_nonnull(img);
		ck_assert_uint_le(off + size, isize);
	}
	if (lp_elf_dyn_relocs(elf, &rel, &n) == 0) {
		for (i = 0; i < n; i++)
			if (rel[i].sym)
				(void)strlen(rel[i].sym);
		free(rel);
	}
}

/* One byte changed in the headers and tables of the ELF file, at each
 * offset: lp_elf_open_mem either refuses it or gives an ELF that every
 * reader handles. */
START_TEST(test_damaged_headers)
{
	static const uint8_t xors[] = { 0xff, 0x01, 0x80 };
	char path[4096];
	struct lp_elf *elf;
	size_t len, off, x, opened = 0;
	uint8_t *orig, *buf;
	Elf64_Ehdr eh;
	struct {
		size_t start, end;
	} ranges[3];
	size_t r;

	orig = unit_read_file(unit_fixture(path, sizeof(path), "padded.elf"), &len);
	memcpy(&eh, orig, sizeof(eh));
	ranges[0].start = 0;
	ranges[0].end = sizeof(eh);
	ranges[1].start = eh.e_phoff;
	ranges[1].end = eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize;
	ranges[2].start = eh.e_shoff;
	ranges[2].end = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
	ck_assert_uint_le(ranges[2].end, len);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, orig, len);
	for (r = 0; r < LP_ARRAY_SIZE(ranges); r++) {
		for (off = ranges[r].start; off < ranges[r].end; off++) {
			for (x = 0; x < LP_ARRAY_SIZE(xors); x++) {
				buf[off] ^= xors[x];
				elf = NULL;
				if (lp_elf_open_mem(unit_ctx, buf, len, "damaged", &elf) == 0) {
					opened++;
					poke(elf);
					lp_elf_close(elf);
				} else {
					ck_assert_ptr_null(elf);
				}
				buf[off] = orig[off];
			}
		}
	}
	/* most of those still open: the readers ran */
	ck_assert_uint_gt(opened, 0);
	free(buf);
	free(orig);
}
END_TEST

/* The file cut short at many lengths. */
START_TEST(test_truncated)
{
	char path[4096];
	struct lp_elf *elf;
	size_t len, cut;
	uint8_t *orig;

	orig = unit_read_file(unit_fixture(path, sizeof(path), "padded.elf"), &len);
	for (cut = 0; cut < len; cut += cut < 128 ? 1 : 37) {
		uint8_t *buf = unit_dup(orig, cut);

		elf = NULL;
		if (lp_elf_open_mem(unit_ctx, buf, cut, "truncated", &elf) == 0) {
			poke(elf);
			lp_elf_close(elf);
		}
		free(buf);
	}
	free(orig);
}
END_TEST

Suite *elf_suite(void)
{
	Suite *s = suite_create("elf");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_open_pie);
	tcase_add_test(tc, test_open_nopie);
	tcase_add_test(tc, test_open_shlib);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_open_mem);
	tcase_add_test(tc, test_open_other_machine);
	suite_add_tcase(s, tc);

	tc = tcase_create("build-id");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_build_id);
	tcase_add_test(tc, test_build_id_explicit);
	tcase_add_test(tc, test_build_id_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("symbols");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_symbol_global);
	tcase_add_test(tc, test_symbol_local);
	tcase_add_test(tc, test_symbol_twice);
	tcase_add_test(tc, test_symbol_strtab_unended);
	tcase_add_test(tc, test_symbol_missing);
	tcase_add_test(tc, test_symbol_kinds);
	tcase_add_test(tc, test_symbol_dynsym);
	suite_add_tcase(s, tc);

	tc = tcase_create("pads");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_pad_listed);
	tcase_add_test(tc, test_check_pad);
	tcase_add_loop_test(tc, test_file_check_function, 0,
			    (int)LP_ARRAY_SIZE(file_funcs));
	tcase_add_test(tc, test_file_check_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_eh_frame_hdr);
	tcase_add_test(tc, test_dyn_relocs);
	suite_add_tcase(s, tc);

	tc = tcase_create("damaged");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_damaged_headers);
	tcase_add_test(tc, test_truncated);
	suite_add_tcase(s, tc);
	return s;
}
