/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch files (src/lib/patch.c) and error reporting (src/lib/log.c).
 *
 * good.lpatch (two functions of padded.elf) and lib.lpatch (one of
 * libpadded.so) are built by make with the in-tree livepatch-build.  The
 * damaged patches are copies made here in a temporary directory: one byte
 * changed at every offset, cut at many lengths, grown, and files whose
 * structure was edited and then sealed again so that the checksum passes
 * and the deeper checks are reached.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

static const char *tmp_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", unit_tmp, name);

	ck_assert(n > 0 && (size_t)n < len);
	return buf;
}

static struct lp_patch *open_patch(const char *path)
{
	struct lp_patch *p = NULL;
	int err = lp_patch_open(unit_ctx, path, &p);

	ck_assert_msg(err == 0, "lp_patch_open %s: %d (%s)", path, err,
		      lp_ctx_errmsg(unit_ctx));
	ck_assert_ptr_nonnull(p);
	return p;
}

/* lp_patch_open must refuse @path with @want, and say why. */
static void refuse(const char *path, int want, const char *what)
{
	struct lp_patch *p = NULL;
	int err;

	unit_ctx->err[0] = 0;
	err = lp_patch_open(unit_ctx, path, &p);
	ck_assert_msg(err == want, "%s: lp_patch_open returned %d (%s), want %d",
		      what, err, lp_ctx_errmsg(unit_ctx), want);
	ck_assert_msg(p == NULL, "%s: patch returned on failure", what);
	ck_assert_msg(lp_ctx_errmsg(unit_ctx)[0], "%s: no error message", what);
}

static uint8_t *read_fixture(const char *name, size_t *len)
{
	char path[4096];

	return unit_read_file(unit_fixture(path, sizeof(path), name), len);
}

/* ---- raw ELF access, to damage patches on purpose ------------------------ */

static Elf64_Ehdr get_ehdr(const uint8_t *img, size_t len)
{
	Elf64_Ehdr eh;

	ck_assert_uint_ge(len, sizeof(eh));
	memcpy(&eh, img, sizeof(eh));
	return eh;
}

static void put_ehdr(uint8_t *img, const Elf64_Ehdr *eh)
{
	memcpy(img, eh, sizeof(*eh));
}

static Elf64_Shdr get_shdr(const uint8_t *img, size_t len, size_t i)
{
	Elf64_Ehdr eh = get_ehdr(img, len);
	Elf64_Shdr sh;
	size_t off = eh.e_shoff + i * sizeof(sh);

	ck_assert_uint_lt(i, eh.e_shnum);
	ck_assert_uint_le(off + sizeof(sh), len);
	memcpy(&sh, img + off, sizeof(sh));
	return sh;
}

static void put_shdr(uint8_t *img, size_t len, size_t i, const Elf64_Shdr *sh)
{
	Elf64_Ehdr eh = get_ehdr(img, len);

	memcpy(img + eh.e_shoff + i * sizeof(*sh), sh, sizeof(*sh));
}

/* Index of the section called @name. */
static size_t find_shdr(const uint8_t *img, size_t len, const char *name)
{
	Elf64_Ehdr eh = get_ehdr(img, len);
	Elf64_Shdr strs = get_shdr(img, len, eh.e_shstrndx);
	size_t i;

	for (i = 1; i < eh.e_shnum; i++) {
		Elf64_Shdr sh = get_shdr(img, len, i);

		ck_assert_uint_lt(strs.sh_offset + sh.sh_name, len);
		if (!strcmp((const char *)img + strs.sh_offset + sh.sh_name, name))
			return i;
	}
	ck_abort_msg("no section %s", name);
	return 0;
}

/* File offset of .livepatch.info. */
static size_t info_offset(const uint8_t *img, size_t len)
{
	Elf64_Shdr sh = get_shdr(img, len, find_shdr(img, len, LP_INFO_SECTION));

	ck_assert_uint_ge(sh.sh_size, LP_INFO_SIZE);
	ck_assert_mem_eq(img + sh.sh_offset, LP_INFO_MAGIC, 8);
	return sh.sh_offset;
}

/* The dynamic relocation of the name pointer of replace entry 0. */
static size_t name_reloc_offset(const uint8_t *img, size_t len)
{
	Elf64_Shdr rep = get_shdr(img, len, find_shdr(img, len, LP_REPLACE_SECTION));
	Elf64_Shdr rela = get_shdr(img, len, find_shdr(img, len, ".rela.dyn"));
	size_t off;

	for (off = rela.sh_offset; off + sizeof(Elf64_Rela) <= rela.sh_offset + rela.sh_size;
	     off += sizeof(Elf64_Rela)) {
		Elf64_Rela r;

		memcpy(&r, img + off, sizeof(r));
		if (r.r_offset == rep.sh_addr)
			return off;
	}
	ck_abort_msg("no relocation for the first replace entry");
	return 0;
}

/* The FNV-1a 64 checksum of the file with its checksum field as zero. */
static uint64_t checksum(const uint8_t *img, size_t len)
{
	uint8_t *copy = unit_dup(img, len);
	size_t field = info_offset(img, len) + LP_INFO_OFF_CSUM;
	uint64_t h;

	memset(copy + field, 0, 8);
	h = lp_fnv1a64(LP_FNV_INIT, copy, len);
	free(copy);
	return h;
}

/* ---- good patches ------------------------------------------------------ */

static int is_hex(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

START_TEST(test_open_good)
{
	char path[4096], build_id[84], id[17];
	struct lp_patch *p, *again;
	bool seen_global = false, seen_local = false;
	size_t i, len;
	uint8_t *img;
	uint64_t stored;

	p = open_patch(unit_fixture(path, sizeof(path), "good.lpatch"));
	ck_assert_uint_eq(lp_patch_nfuncs(p), 2);
	for (i = 0; i < lp_patch_nfuncs(p); i++) {
		const char *old = lp_patch_func_old(p, i), *new = lp_patch_func_new(p, i);

		ck_assert_ptr_nonnull(old);
		ck_assert_ptr_nonnull(new);
		if (!strcmp(old, "lp_fix_global")) {
			ck_assert_str_eq(new, "lp_fix_global_v2");
			seen_global = true;
		} else if (!strcmp(old, "lp_fix_local")) {
			ck_assert_str_eq(new, "lp_fix_local_v2");
			seen_local = true;
		} else {
			ck_abort_msg("unexpected function %s -> %s", old, new);
		}
		/* the replacement lies in the patch's code */
		ck_assert_str_eq(lp_elf_symbol_at(p->elf, p->funcs[i].new_vaddr), new);
	}
	ck_assert(seen_global && seen_local);
	ck_assert_ptr_null(lp_patch_func_old(p, 2));
	ck_assert_ptr_null(lp_patch_func_new(p, 2));

	/* the target: padded.elf and its build-id */
	ck_assert_str_eq(lp_patch_target_name(p), "padded.elf");
	ck_assert_str_eq(lp_patch_target_build_id(p), FIXTURE_BUILD_ID);
	ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, unit_fixture(path, sizeof(path),
								 "padded.elf"),
					      build_id, sizeof(build_id)), 0);
	ck_assert_str_eq(lp_patch_target_build_id(p), build_id);

	/* the id: 16 hex digits, the checksum of the content */
	ck_assert(is_hex(lp_patch_id(p), 16));
	img = read_fixture("good.lpatch", &len);
	memcpy(&stored, img + info_offset(img, len) + LP_INFO_OFF_CSUM, 8);
	ck_assert_uint_eq(stored, checksum(img, len));
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)stored);
	ck_assert_str_eq(lp_patch_id(p), id);
	free(img);

	/* stable: the same file gives the same id */
	again = open_patch(unit_fixture(path, sizeof(path), "good.lpatch"));
	ck_assert_str_eq(lp_patch_id(again), lp_patch_id(p));
	lp_patch_close(again);
	lp_patch_close(p);
	lp_patch_close(NULL);
}
END_TEST

START_TEST(test_open_lib)
{
	char path[4096], build_id[84];
	struct lp_patch *p, *good;

	p = open_patch(unit_fixture(path, sizeof(path), "lib.lpatch"));
	ck_assert_uint_eq(lp_patch_nfuncs(p), 1);
	ck_assert_str_eq(lp_patch_func_old(p, 0), "lp_lib_func");
	ck_assert_str_eq(lp_patch_func_new(p, 0), "lp_lib_func_v2");
	ck_assert_str_eq(lp_patch_target_name(p), "libpadded.so");
	ck_assert_int_eq(lp_elf_file_build_id(unit_ctx, unit_fixture(path, sizeof(path),
								 "libpadded.so"),
					      build_id, sizeof(build_id)), 0);
	ck_assert_str_eq(lp_patch_target_build_id(p), build_id);
	ck_assert(is_hex(lp_patch_id(p), 16));
	/* another patch, another id */
	good = open_patch(unit_fixture(path, sizeof(path), "good.lpatch"));
	ck_assert_str_ne(lp_patch_id(p), lp_patch_id(good));
	lp_patch_close(good);
	lp_patch_close(p);
}
END_TEST

/* A copy elsewhere is the same patch. */
START_TEST(test_open_copy)
{
	char path[4096], copy[4096];
	struct lp_patch *p, *q;
	size_t len;
	uint8_t *img = read_fixture("good.lpatch", &len);

	unit_write_file(tmp_path(copy, sizeof(copy), "copy.lpatch"), img, len);
	free(img);
	p = open_patch(unit_fixture(path, sizeof(path), "good.lpatch"));
	q = open_patch(copy);
	ck_assert_str_eq(lp_patch_id(p), lp_patch_id(q));
	ck_assert_str_eq(lp_patch_target_build_id(p), lp_patch_target_build_id(q));
	ck_assert_str_eq(lp_patch_target_name(p), lp_patch_target_name(q));
	lp_patch_close(q);
	lp_patch_close(p);
}
END_TEST

/* ---- files that are not patches ---------------------------------------- */

START_TEST(test_not_patches)
{
	static const char *const elves[] = { "padded.elf", "nopie.elf", "nopad.elf",
					     "libpadded.so" };
	char path[4096];
	size_t i;

	refuse(tmp_path(path, sizeof(path), "missing.lpatch"), -ENOENT, "missing file");
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), path));
	unit_write_file(tmp_path(path, sizeof(path), "empty.lpatch"), "", 0);
	refuse(path, -LP_EBADPATCH, "empty file");
	unit_write_file(tmp_path(path, sizeof(path), "text.lpatch"), "not a patch\n", 12);
	refuse(path, -LP_EBADPATCH, "text file");
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), path));
	refuse(unit_tmp, -LP_EBADPATCH, "directory");
	snprintf(path, sizeof(path), "%s/tests/fixtures/good-patch.c", SRCDIR);
	refuse(path, -LP_EBADPATCH, "patch source");
	/* ELF files that are not patches */
	for (i = 0; i < LP_ARRAY_SIZE(elves); i++)
		refuse(unit_fixture(path, sizeof(path), elves[i]), -LP_EBADPATCH, elves[i]);
}
END_TEST

/* ---- damaged patches ---------------------------------------------------- */

/* One byte changed, at every offset of the file: always refused. */
START_TEST(test_flipped)
{
	static const uint8_t xors[] = { 0xff, 0x01 };
	char path[4096];
	size_t len, off, x;
	uint8_t *img = read_fixture("good.lpatch", &len);
	int fd;

	unit_write_file(tmp_path(path, sizeof(path), "flipped.lpatch"), img, len);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	for (x = 0; x < LP_ARRAY_SIZE(xors); x++) {
		for (off = 0; off < len; off++) {
			uint8_t b = img[off] ^ xors[x];
			struct lp_patch *p = NULL;
			int err;

			ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
			err = lp_patch_open(unit_ctx, path, &p);
			ck_assert_msg(err == -LP_EBADPATCH,
				      "byte %#zx ^ %#x: lp_patch_open returned %d (%s)",
				      off, xors[x], err, lp_ctx_errmsg(unit_ctx));
			ck_assert_ptr_null(p);
			ck_assert_int_eq(pwrite(fd, &img[off], 1, (off_t)off), 1);
		}
	}
	close(fd);
	/* restored: good again */
	lp_patch_close(open_patch(path));
	free(img);
}
END_TEST

/* Cut short: always refused. */
START_TEST(test_truncated)
{
	char path[4096];
	size_t len, cut, n = 0;
	uint8_t *img = read_fixture("good.lpatch", &len);

	tmp_path(path, sizeof(path), "truncated.lpatch");
	for (cut = 0; cut < len; cut += cut < 512 || cut + 64 >= len ? 1 : 7) {
		char what[64];

		unit_write_file(path, img, cut);
		snprintf(what, sizeof(what), "cut at %zu of %zu", cut, len);
		refuse(path, -LP_EBADPATCH, what);
		n++;
	}
	ck_assert_uint_gt(n, 512);
	free(img);
}
END_TEST

/* Grown: refused too (the checksum covers the whole file). */
START_TEST(test_grown)
{
	static const size_t extra[] = { 1, 8, 4096 };
	char path[4096];
	size_t len, i;
	uint8_t *img = read_fixture("good.lpatch", &len);

	tmp_path(path, sizeof(path), "grown.lpatch");
	for (i = 0; i < LP_ARRAY_SIZE(extra); i++) {
		uint8_t *big = calloc(1, len + extra[i]);

		ck_assert_ptr_nonnull(big);
		memcpy(big, img, len);
		unit_write_file(path, big, len + extra[i]);
		refuse(path, -LP_EBADPATCH, "grown");
		free(big);
	}
	free(img);
}
END_TEST

/* ---- sealing ------------------------------------------------------------ */

START_TEST(test_seal_round_trip)
{
	char path[4096];
	struct lp_patch *orig, *p;
	size_t len, info, len2;
	uint8_t *img = read_fixture("good.lpatch", &len), *img2;
	char orig_id[17];

	orig = open_patch(unit_fixture(path, sizeof(path), "good.lpatch"));
	snprintf(orig_id, sizeof(orig_id), "%s", lp_patch_id(orig));
	lp_patch_close(orig);
	info = info_offset(img, len);

	/* as the compiler leaves it: no checksum yet */
	memset(img + info + LP_INFO_OFF_CSUM, 0, 8);
	unit_write_file(tmp_path(path, sizeof(path), "unsealed.lpatch"), img, len);
	refuse(path, -LP_EBADPATCH, "unsealed");
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), 0);
	p = open_patch(path);
	ck_assert_str_eq(lp_patch_id(p), orig_id);
	ck_assert_str_eq(lp_patch_target_name(p), "padded.elf");
	lp_patch_close(p);
	/* the file is the original again, byte for byte */
	img2 = read_fixture("good.lpatch", &len2);
	free(img);
	img = unit_read_file(path, &len);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(img, img2, len);
	free(img2);

	/* sealing twice changes nothing */
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), 0);
	p = open_patch(path);
	ck_assert_str_eq(lp_patch_id(p), orig_id);
	lp_patch_close(p);

	/* changed content, sealed again: another patch */
	img[info + LP_INFO_OFF_MODULE + strlen("padded.el")] = 'X';
	unit_write_file(path, img, len);
	refuse(path, -LP_EBADPATCH, "changed");
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), 0);
	p = open_patch(path);
	ck_assert_str_eq(lp_patch_target_name(p), "padded.elX");
	ck_assert_str_ne(lp_patch_id(p), orig_id);
	ck_assert(is_hex(lp_patch_id(p), 16));
	lp_patch_close(p);
	free(img);
}
END_TEST

START_TEST(test_seal_errors)
{
	char path[4096];
	size_t len, len2;
	uint8_t *img = read_fixture("padded.elf", &len), *after;

	ck_assert_int_eq(lp_patch_seal(unit_ctx, tmp_path(path, sizeof(path), "missing")),
			 -ENOENT);
	unit_write_file(tmp_path(path, sizeof(path), "text"), "text\n", 5);
	ck_assert_int_lt(lp_patch_seal(unit_ctx, path), 0);
	/* an ELF file that is not a patch is left alone */
	unit_write_file(tmp_path(path, sizeof(path), "padded.elf"), img, len);
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), -LP_EBADPATCH);
	ck_assert_str_ne(lp_ctx_errmsg(unit_ctx), "");
	after = unit_read_file(path, &len2);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(after, img, len);
	free(after);
	free(img);
}
END_TEST

/* Damage that the checksum does not see, because the file was sealed after
 * it: the structural checks must catch it. */
enum edit {
	EDIT_MACHINE, EDIT_TYPE, EDIT_REPLACE_EMPTY, EDIT_REPLACE_ODD,
	EDIT_REPLACE_NOBITS, EDIT_REPLACE_GONE, EDIT_BUILD_ID_EMPTY,
	EDIT_BUILD_ID_NOT_HEX, EDIT_BUILD_ID_UPPER, EDIT_NAME_OUTSIDE,
	EDIT_NAME_RELOC_NONE, EDIT_RELOC_TPOFF, EDIT_RELOC_DTPMOD,
	EDIT_RELOC_IRELATIVE, EDIT_RELOC_PC32, EDIT_NAME_EMPTY,
	EDIT_COUNT
};

static const struct {
	const char *name;
	int want;
} edits[EDIT_COUNT] = {
	[EDIT_MACHINE] = { "machine aarch64", -LP_EBADPATCH },
	[EDIT_TYPE] = { "type ET_EXEC", -LP_EBADPATCH },
	[EDIT_REPLACE_EMPTY] = { "replace section empty", -LP_EBADPATCH },
	[EDIT_REPLACE_ODD] = { "replace section of 24 bytes", -LP_EBADPATCH },
	[EDIT_REPLACE_NOBITS] = { "replace section NOBITS", -LP_EBADPATCH },
	[EDIT_REPLACE_GONE] = { "replace section renamed", -LP_EBADPATCH },
	[EDIT_BUILD_ID_EMPTY] = { "build-id empty", -LP_EBADPATCH },
	[EDIT_BUILD_ID_NOT_HEX] = { "build-id not hex", -LP_EBADPATCH },
	[EDIT_BUILD_ID_UPPER] = { "build-id upper case", -LP_EBADPATCH },
	[EDIT_NAME_OUTSIDE] = { "name pointer outside", -LP_EBADPATCH },
	[EDIT_NAME_RELOC_NONE] = { "name relocation R_X86_64_NONE", -LP_EBADPATCH },
	[EDIT_RELOC_TPOFF] = { "relocation R_X86_64_TPOFF64", -LP_ERELOC },
	[EDIT_RELOC_DTPMOD] = { "relocation R_X86_64_DTPMOD64", -LP_ERELOC },
	[EDIT_RELOC_IRELATIVE] = { "relocation R_X86_64_IRELATIVE", -LP_ERELOC },
	[EDIT_RELOC_PC32] = { "relocation R_X86_64_PC32", -LP_ERELOC },
	[EDIT_NAME_EMPTY] = { "name pointer at a NUL", -LP_EBADPATCH },
};

static void set_reloc(uint8_t *img, size_t len, uint32_t type, int64_t addend,
		      bool set_addend)
{
	size_t off = name_reloc_offset(img, len);
	Elf64_Rela r;

	memcpy(&r, img + off, sizeof(r));
	ck_assert_uint_eq(ELF64_R_TYPE(r.r_info), R_X86_64_RELATIVE);
	r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), type);
	if (set_addend)
		r.r_addend = addend;
	memcpy(img + off, &r, sizeof(r));
}

START_TEST(test_edited_and_sealed)
{
	char path[4096];
	size_t len, rep, info;
	uint8_t *img = read_fixture("good.lpatch", &len);
	Elf64_Ehdr eh = get_ehdr(img, len);
	Elf64_Shdr sh;
	int err;

	rep = find_shdr(img, len, LP_REPLACE_SECTION);
	sh = get_shdr(img, len, rep);
	info = info_offset(img, len);
	switch (_i) {
	case EDIT_MACHINE:
		eh.e_machine = EM_AARCH64;
		put_ehdr(img, &eh);
		break;
	case EDIT_TYPE:
		eh.e_type = ET_EXEC;
		put_ehdr(img, &eh);
		break;
	case EDIT_REPLACE_EMPTY:
		sh.sh_size = 0;
		put_shdr(img, len, rep, &sh);
		break;
	case EDIT_REPLACE_ODD:
		sh.sh_size = 24;
		put_shdr(img, len, rep, &sh);
		break;
	case EDIT_REPLACE_NOBITS:
		sh.sh_type = SHT_NOBITS;
		put_shdr(img, len, rep, &sh);
		break;
	case EDIT_REPLACE_GONE: {
		Elf64_Shdr strs = get_shdr(img, len, eh.e_shstrndx);

		img[strs.sh_offset + sh.sh_name + 1] = 'L';
		break;
	}
	case EDIT_BUILD_ID_EMPTY:
		img[info + LP_INFO_OFF_BUILD_ID] = 0;
		break;
	case EDIT_BUILD_ID_NOT_HEX:
		img[info + LP_INFO_OFF_BUILD_ID + 5] = 'g';
		break;
	case EDIT_BUILD_ID_UPPER:
		img[info + LP_INFO_OFF_BUILD_ID + 10] = 'A';
		break;
	case EDIT_NAME_OUTSIDE:
		set_reloc(img, len, R_X86_64_RELATIVE, 0x7ff000000000LL, true);
		break;
	case EDIT_NAME_RELOC_NONE:
		set_reloc(img, len, R_X86_64_NONE, 0, false);
		break;
	case EDIT_RELOC_TPOFF:
		set_reloc(img, len, R_X86_64_TPOFF64, 0, false);
		break;
	case EDIT_RELOC_DTPMOD:
		set_reloc(img, len, R_X86_64_DTPMOD64, 0, false);
		break;
	case EDIT_RELOC_IRELATIVE:
		set_reloc(img, len, R_X86_64_IRELATIVE, 0, false);
		break;
	case EDIT_RELOC_PC32:
		set_reloc(img, len, R_X86_64_PC32, 0, false);
		break;
	case EDIT_NAME_EMPTY: {
		/* the last byte of the module name field is always NUL */
		Elf64_Shdr ish = get_shdr(img, len, find_shdr(img, len, LP_INFO_SECTION));

		ck_assert_uint_eq(img[info + LP_INFO_SIZE - 1], 0);
		set_reloc(img, len, R_X86_64_RELATIVE,
			  (int64_t)(ish.sh_addr + LP_INFO_SIZE - 1), true);
		break;
	}
	default:
		ck_abort_msg("no edit %d", _i);
	}
	unit_write_file(tmp_path(path, sizeof(path), "edited.lpatch"), img, len);
	/* unsealed: the checksum catches it */
	refuse(path, -LP_EBADPATCH, edits[_i].name);
	err = lp_patch_seal(unit_ctx, path);
	ck_assert_msg(err == 0, "%s: lp_patch_seal: %d (%s)", edits[_i].name, err,
		      lp_ctx_errmsg(unit_ctx));
	refuse(path, edits[_i].want, edits[_i].name);
	free(img);
}
END_TEST

/* Without its .livepatch.info a file cannot be sealed either. */
START_TEST(test_info_damaged)
{
	char path[4096];
	size_t len, info, idx;
	uint8_t *img = read_fixture("good.lpatch", &len);
	Elf64_Shdr sh;

	tmp_path(path, sizeof(path), "info.lpatch");
	info = info_offset(img, len);
	idx = find_shdr(img, len, LP_INFO_SECTION);
	/* bad magic */
	img[info + 3] ^= 0x20;
	unit_write_file(path, img, len);
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), -LP_EBADPATCH);
	refuse(path, -LP_EBADPATCH, "info magic");
	img[info + 3] ^= 0x20;
	/* too short */
	sh = get_shdr(img, len, idx);
	sh.sh_size = LP_INFO_SIZE - 1;
	put_shdr(img, len, idx, &sh);
	unit_write_file(path, img, len);
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), -LP_EBADPATCH);
	refuse(path, -LP_EBADPATCH, "info too short");
	/* outside the file */
	sh.sh_size = LP_INFO_SIZE;
	sh.sh_offset = len - 8;
	put_shdr(img, len, idx, &sh);
	unit_write_file(path, img, len);
	ck_assert_int_eq(lp_patch_seal(unit_ctx, path), -LP_EBADPATCH);
	refuse(path, -LP_EBADPATCH, "info outside the file");
	free(img);
}
END_TEST

/* ---- errors and their texts -------------------------------------------- */

START_TEST(test_strerror)
{
	int e, f;

	for (e = LP_EBADPATCH; e < LP_EMAX; e++) {
		const char *s = lp_strerror(-e);

		ck_assert_ptr_nonnull(s);
		ck_assert_msg(*s, "empty text for %d", e);
		ck_assert_msg(strncmp(s, "Unknown error", 13), "no text for %d: %s", e, s);
		/* the sign does not matter */
		ck_assert_str_eq(lp_strerror(e), s);
		/* one text per error */
		for (f = LP_EBADPATCH; f < e; f++)
			ck_assert_str_ne(lp_strerror(-f), s);
	}
	/* system errors: the C library's text */
	ck_assert_str_eq(lp_strerror(-ENOENT), strerror(ENOENT));
	ck_assert_str_eq(lp_strerror(-EPERM), strerror(EPERM));
	ck_assert_str_eq(lp_strerror(ESRCH), strerror(ESRCH));
	/* out of range: some text, no crash */
	ck_assert_ptr_nonnull(lp_strerror(-LP_EMAX));
	ck_assert_ptr_nonnull(lp_strerror(-LP_ERRNO_BASE));
	ck_assert_ptr_nonnull(lp_strerror(0));
}
END_TEST

struct log_seen {
	int n;
	enum lp_log_level level;
	char last[256];
};

static void log_fn(enum lp_log_level level, const char *msg, void *user)
{
	struct log_seen *seen = user;

	seen->n++;
	seen->level = level;
	snprintf(seen->last, sizeof(seen->last), "%s", msg);
}

START_TEST(test_ctx_errmsg)
{
	char path[4096];
	struct lp_patch *p = NULL;
	struct log_seen seen;

	ck_assert_str_eq(lp_ctx_errmsg(unit_ctx), "");
	tmp_path(path, sizeof(path), "missing.lpatch");
	ck_assert_int_eq(lp_patch_open(unit_ctx, path, &p), -ENOENT);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), path));

	/* failures reach the log callback at the debug level */
	memset(&seen, 0, sizeof(seen));
	lp_ctx_set_log(unit_ctx, log_fn, &seen, LP_LOG_DEBUG);
	ck_assert_int_eq(lp_patch_open(unit_ctx, path, &p), -ENOENT);
	ck_assert_int_ge(seen.n, 1);
	ck_assert_int_eq(seen.level, LP_LOG_DEBUG);
	ck_assert_ptr_nonnull(strstr(seen.last, path));
	/* and not above it */
	memset(&seen, 0, sizeof(seen));
	lp_ctx_set_log(unit_ctx, log_fn, &seen, LP_LOG_WARN);
	ck_assert_int_eq(lp_patch_open(unit_ctx, path, &p), -ENOENT);
	ck_assert_int_eq(seen.n, 0);
	lp_ctx_set_log(unit_ctx, NULL, NULL, LP_LOG_DEBUG);
	ck_assert_int_eq(lp_patch_open(unit_ctx, path, &p), -ENOENT);
	ck_assert_ptr_null(p);

	/* a later failure replaces the message */
	unit_write_file(path, "x", 1);
	ck_assert_int_eq(lp_patch_open(unit_ctx, path, &p), -LP_EBADPATCH);
	ck_assert_ptr_nonnull(strstr(lp_ctx_errmsg(unit_ctx), "not a patch file"));
}
END_TEST

START_TEST(test_fnv1a64)
{
	/* published FNV-1a 64 test vectors */
	ck_assert_uint_eq(lp_fnv1a64(LP_FNV_INIT, "", 0), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(lp_fnv1a64(LP_FNV_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(lp_fnv1a64(LP_FNV_INIT, "foobar", 6), 0x85944171f73967e8ULL);
	/* in pieces, the same */
	ck_assert_uint_eq(lp_fnv1a64(lp_fnv1a64(LP_FNV_INIT, "foo", 3), "bar", 3),
			  0x85944171f73967e8ULL);
}
END_TEST

Suite *patch_suite(void)
{
	Suite *s = suite_create("patch");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_open_good);
	tcase_add_test(tc, test_open_lib);
	tcase_add_test(tc, test_open_copy);
	tcase_add_test(tc, test_not_patches);
	suite_add_tcase(s, tc);

	tc = tcase_create("damaged");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_flipped);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_grown);
	tcase_add_loop_test(tc, test_edited_and_sealed, 0, EDIT_COUNT);
	tcase_add_test(tc, test_info_damaged);
	suite_add_tcase(s, tc);

	tc = tcase_create("seal");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_seal_round_trip);
	tcase_add_test(tc, test_seal_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_unchecked_fixture(tc, unit_setup_tmp, unit_teardown_tmp);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_ctx_errmsg);
	tcase_add_test(tc, test_fnv1a64);
	suite_add_tcase(s, tc);
	return s;
}
