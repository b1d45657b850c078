/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch files.  A patch is a shared object built by livepatch-build with
 * two extra sections: .livepatch.info (target build-id and module name,
 * and a checksum of the whole file) and .livepatch.replace (one
 * struct livepatch_replace per replaced function, see patch.h).  A patch
 * is plain ELF, so readelf and objdump work on it; the checksum catches a
 * truncated or damaged file before anything touches the target.
 * Covered by tests/unit/test_patch.c.
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

/* Functions one patch may replace (and LIVEPATCH_SYMBOL lines). */
#define LP_MAX_FUNCS 20000

uint64_t lp_fnv1a64(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Checksum of an image with the checksum field (at @field) taken as zero. */
static uint64_t image_checksum(const uint8_t *img, size_t size, size_t field)
{
	static const uint8_t zero[8];
	uint64_t h = LP_FNV_INIT;

	h = lp_fnv1a64(h, img, field);
	h = lp_fnv1a64(h, zero, 8);
	return lp_fnv1a64(h, img + field + 8, size - field - 8);
}

/* Locate .livepatch.info; its file offset in *off. */
static int find_info(struct lp_ctx *ctx, const struct lp_elf *elf,
		     const char *path, const uint8_t **info, uint64_t *off,
		     size_t *size)
{
	*info = lp_elf_section(elf, LP_INFO_SECTION, size, NULL, off);
	if (!*info || *size < LP_INFO_SIZE || memcmp(*info, LP_INFO_MAGIC, 8))
		return lp_fail(ctx, -LP_EBADPATCH,
			       "%s is not a patch file (no %s section): build patches with livepatch-build",
			       path, LP_INFO_SECTION);
	return 0;
}

/* One entry per target module, LP_INFO_SIZE bytes each. */
static int read_targets(struct lp_ctx *ctx, struct lp_patch *p, const char *path,
			const uint8_t *info, size_t size)
{
	size_t i;

	if (size % LP_INFO_SIZE || size / LP_INFO_SIZE > 64)
		return lp_fail(ctx, -LP_EBADPATCH, "%s: bad %s section", path,
			       LP_INFO_SECTION);
	p->ntargets = size / LP_INFO_SIZE;
	p->targets = calloc(p->ntargets, sizeof(*p->targets));
	if (!p->targets)
		return -ENOMEM;
	for (i = 0; i < p->ntargets; i++) {
		struct lp_patch_target *t = &p->targets[i];
		const uint8_t *e = info + i * LP_INFO_SIZE;

		memcpy(t->build_id, e + LP_INFO_OFF_BUILD_ID, sizeof(t->build_id) - 1);
		memcpy(t->module, e + LP_INFO_OFF_MODULE, sizeof(t->module) - 1);
		if (!t->build_id[0] ||
		    strspn(t->build_id, "0123456789abcdef") != strlen(t->build_id))
			return lp_fail(ctx, -LP_EBADPATCH, "%s: bad target build-id", path);
		if (!t->module[0] || strchr(t->module, '/'))
			return lp_fail(ctx, -LP_EBADPATCH, "%s: bad target module name", path);
	}
	return 0;
}

/* The journal records the file's absolute path and a short name. */
static int name_patch(struct lp_patch *p, const char *path)
{
	const char *base;
	size_t n;

	p->path = realpath(path, NULL);
	if (!p->path)
		p->path = strdup(path);
	if (!p->path)
		return -ENOMEM;
	base = strrchr(p->path, '/');
	base = base ? base + 1 : p->path;
	n = strlen(base);
	if (n > 7 && !strcmp(base + n - 7, ".lpatch"))
		n -= 7;
	p->name = strndup(base, n ? n : strlen(base));
	return p->name ? 0 : -ENOMEM;
}

/* Value stored at link-time address @slot once relocated (base 0). */
static int slot_value(const struct lp_elf *elf, const struct lp_reloc *rel,
		      size_t nrel, uint64_t slot, uint64_t *val)
{
	size_t i;

	for (i = 0; i < nrel; i++) {
		if (rel[i].offset != slot)
			continue;
		if (rel[i].type == R_X86_64_RELATIVE) {
			*val = (uint64_t)rel[i].addend;
			return 0;
		}
		if (rel[i].type == R_X86_64_64 && rel[i].sym_defined) {
			*val = rel[i].sym_value + (uint64_t)rel[i].addend;
			return 0;
		}
		return -EINVAL;
	}
	return lp_elf_read(elf, slot, val, 8);
}

static int read_string(const struct lp_elf *elf, uint64_t vaddr, char **out)
{
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(buf); i++) {
		if (lp_elf_read(elf, vaddr + i, &buf[i], 1))
			return -EINVAL;
		if (!buf[i])
			break;
		/* a name goes into one-line messages and the journal */
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return -EINVAL;
	}
	if (i == 0 || i == sizeof(buf))
		return -EINVAL;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* The symbols the patch takes from the process: its undefined ones, once each. */
static int read_refs(struct lp_patch *p, const struct lp_reloc *rel, size_t nrel)
{
	size_t i, k;

	p->refs = calloc(nrel ? nrel : 1, sizeof(*p->refs));
	if (!p->refs)
		return -ENOMEM;
	for (i = 0; i < nrel; i++) {
		if (!rel[i].sym || rel[i].sym_defined)
			continue;
		for (k = 0; k < p->nrefs && strcmp(p->refs[k], rel[i].sym); k++)
			;
		if (k < p->nrefs)
			continue;
		p->refs[p->nrefs] = strdup(rel[i].sym);
		if (!p->refs[p->nrefs])
			return -ENOMEM;
		p->nrefs++;
	}
	return 0;
}

/* LIVEPATCH_SYMBOL entries: { alias, file, symbol }, three pointers. */
static int read_syms(struct lp_ctx *ctx, struct lp_patch *p, const char *path,
		     const struct lp_reloc *rel, size_t nrel)
{
	size_t size, i, k;
	uint64_t addr;

	if (!lp_elf_section(p->elf, LP_SYMBOLS_SECTION, &size, &addr, NULL) || !size)
		return 0;
	if (size % 24 || size / 24 > LP_MAX_FUNCS)
		return lp_fail(ctx, -LP_EBADPATCH, "%s: bad %s section", path,
			       LP_SYMBOLS_SECTION);
	p->nsyms = size / 24;
	p->syms = calloc(p->nsyms, sizeof(*p->syms));
	if (!p->syms)
		return -ENOMEM;
	for (i = 0; i < p->nsyms; i++) {
		struct lp_patch_sym *ps = &p->syms[i];
		uint64_t va[3];

		for (k = 0; k < 3; k++)
			if (slot_value(p->elf, rel, nrel, addr + 24 * i + 8 * k, &va[k]))
				return lp_fail(ctx, -LP_EBADPATCH,
					       "%s: symbol entry %zu is corrupt", path, i);
		if (read_string(p->elf, va[0], &ps->alias) ||
		    read_string(p->elf, va[1], &ps->file) ||
		    read_string(p->elf, va[2], &ps->symbol))
			return lp_fail(ctx, -LP_EBADPATCH,
				       "%s: symbol entry %zu is corrupt", path, i);
		for (k = 0; k < i; k++)
			if (!strcmp(p->syms[k].alias, ps->alias))
				return lp_fail(ctx, -LP_EBADPATCH,
					       "%s: LIVEPATCH_SYMBOL names %s twice", path,
					       ps->alias);
	}
	return 0;
}

size_t lp_patch_nsymbols(const struct lp_patch *p)
{
	return p->nsyms;
}

int lp_patch_symbol(const struct lp_patch *p, size_t i, const char **alias,
		    const char **file, const char **symbol)
{
	if (i >= p->nsyms)
		return -EINVAL;
	if (alias)
		*alias = p->syms[i].alias;
	if (file)
		*file = p->syms[i].file;
	if (symbol)
		*symbol = p->syms[i].symbol;
	return 0;
}

const struct lp_patch_sym *lp_patch_sym_of(const struct lp_patch *p, const char *alias)
{
	size_t i;

	for (i = 0; i < p->nsyms; i++)
		if (!strcmp(p->syms[i].alias, alias))
			return &p->syms[i];
	return NULL;
}

static int read_funcs(struct lp_ctx *ctx, struct lp_patch *p, const char *path)
{
	struct lp_reloc *rel = NULL;
	size_t nrel = 0, size, i;
	uint64_t addr;
	int err;

	if (!lp_elf_section(p->elf, LP_REPLACE_SECTION, &size, &addr, NULL) ||
	    !size || size % 16)
		return lp_fail(ctx, -LP_EBADPATCH,
			       "%s replaces no function (no LIVEPATCH_REPLACE line)", path);
	err = lp_elf_dyn_relocs(p->elf, &rel, &nrel);
	if (err)
		return lp_fail(ctx, -LP_EBADPATCH, "%s: unreadable relocations", path);
	/* Refuse what the loader (load.c) cannot do, before any target sees it. */
	for (i = 0; i < nrel; i++) {
		const char *what = NULL;

		switch (rel[i].type) {
		case R_X86_64_NONE: case R_X86_64_64: case R_X86_64_RELATIVE:
		case R_X86_64_GLOB_DAT: case R_X86_64_JUMP_SLOT:
			break;
		case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64: case R_X86_64_TPOFF64:
			/* the target's thread-local variables, by name; a
			 * patch cannot bring its own (no TLS block for it) */
			if (!rel[i].sym || rel[i].sym_defined)
				what = "thread-local variables of its own";
			break;
		case R_X86_64_IRELATIVE:
			what = "an ifunc";
			break;
		default:
			what = "an unsupported relocation";
		}
		if (what) {
			err = lp_fail(ctx, -LP_ERELOC, "%s uses %s (type %u%s%s), which a patch cannot",
				      path, what, rel[i].type, rel[i].sym ? ", symbol " : "",
				      rel[i].sym ? rel[i].sym : "");
			free(rel);
			return err;
		}
	}
	/* reading the entries is quadratic in their number: bound it */
	if (size / 16 > LP_MAX_FUNCS) {
		free(rel);
		return lp_fail(ctx, -LP_EBADPATCH, "%s replaces %zu functions, more than %d",
			       path, size / 16, LP_MAX_FUNCS);
	}
	p->nfuncs = size / 16;
	p->funcs = calloc(p->nfuncs, sizeof(*p->funcs));
	if (!p->funcs) {
		free(rel);
		return -ENOMEM;
	}
	for (i = 0; i < p->nfuncs; i++) {
		struct lp_patch_func *f = &p->funcs[i];
		uint64_t name_va;
		const char *n;

		if (slot_value(p->elf, rel, nrel, addr + 16 * i, &name_va) ||
		    slot_value(p->elf, rel, nrel, addr + 16 * i + 8, &f->new_vaddr) ||
		    read_string(p->elf, name_va, &f->old_name)) {
			free(rel);
			return lp_fail(ctx, -LP_EBADPATCH,
				       "%s: replace entry %zu is corrupt", path, i);
		}
		/* the replacement must be a function of the patch's code: a
		 * damaged or crafted address would send the target's calls
		 * anywhere */
		n = lp_elf_symbol_at(p->elf, f->new_vaddr);
		if (!n || !lp_elf_in_exec_segment(p->elf, f->new_vaddr)) {
			free(rel);
			return lp_fail(ctx, -LP_EBADPATCH,
				       "%s: the replacement of %s is not a function of the patch",
				       path, f->old_name);
		}
		f->new_name = strdup(n);
		if (!f->new_name) {
			free(rel);
			return -ENOMEM;
		}
	}
	err = read_refs(p, rel, nrel);
	if (!err)
		err = read_syms(ctx, p, path, rel, nrel);
	free(rel);
	return err;
}

/* Read from @file; say @path in messages (they differ for an open fd). */
static int patch_open(struct lp_ctx *ctx, const char *file, const char *path,
		      struct lp_patch **out)
{
	struct lp_patch *p;
	const uint8_t *info, *img;
	uint64_t off, stored;
	size_t size, info_size;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = lp_elf_open_as(ctx, file, path, &p->elf);
	if (err == -ENOENT) {
		err = lp_fail(ctx, -ENOENT, "patch file %s does not exist", path);
		goto fail;
	}
	if (err) {
		char why[sizeof(ctx->err)];

		/* say what the ELF reader found, in the one line */
		snprintf(why, sizeof(why), "%s", ctx->err[0] ? ctx->err : lp_strerror(err));
		err = lp_fail(ctx, err == -ENOMEM ? err : -LP_EBADPATCH,
			      "not a patch file: %s", why);
		goto fail;
	}
	if (!lp_elf_is_x86_64(p->elf) || !lp_elf_is_dyn(p->elf)) {
		err = lp_fail(ctx, -LP_EBADPATCH,
			      "%s is not a patch file (not an x86-64 shared object)", path);
		goto fail;
	}
	err = find_info(ctx, p->elf, path, &info, &off, &info_size);
	if (err)
		goto fail;
	img = lp_elf_image(p->elf, &size);
	memcpy(&stored, info + LP_INFO_OFF_CSUM, 8);
	if (image_checksum(img, size, off + LP_INFO_OFF_CSUM) != stored) {
		err = lp_fail(ctx, -LP_EBADPATCH,
			      "%s is corrupt (checksum mismatch): rebuild it with livepatch-build",
			      path);
		goto fail;
	}
	snprintf(p->id, sizeof(p->id), "%016llx", (unsigned long long)stored);
	err = read_targets(ctx, p, path, info, info_size);
	if (err)
		goto fail;
	err = name_patch(p, file);
	if (err)
		goto fail;
	err = read_funcs(ctx, p, path);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	lp_patch_close(p);
	return err;
}

int lp_patch_open(struct lp_ctx *ctx, const char *path, struct lp_patch **out)
{
	return patch_open(ctx, path, path, out);
}

int lp_patch_open_fd(struct lp_ctx *ctx, int fd, const char *name, struct lp_patch **out)
{
	char file[64];

	snprintf(file, sizeof(file), "/proc/self/fd/%d", fd);
	return patch_open(ctx, file, name ? name : file, out);
}

void lp_patch_close(struct lp_patch *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nfuncs; i++) {
		free(p->funcs[i].old_name);
		free(p->funcs[i].new_name);
	}
	free(p->funcs);
	for (i = 0; i < p->nrefs; i++)
		free(p->refs[i]);
	free(p->refs);
	for (i = 0; i < p->nsyms; i++) {
		free(p->syms[i].alias);
		free(p->syms[i].file);
		free(p->syms[i].symbol);
	}
	free(p->syms);
	free(p->targets);
	free(p->path);
	free(p->name);
	lp_elf_close(p->elf);
	free(p);
}

const char *lp_patch_id(const struct lp_patch *p) { return p->id; }
const char *lp_patch_target_build_id(const struct lp_patch *p) { return p->targets[0].build_id; }
const char *lp_patch_target_name(const struct lp_patch *p) { return p->targets[0].module; }
size_t lp_patch_ntargets(const struct lp_patch *p) { return p->ntargets; }

int lp_patch_target(const struct lp_patch *p, size_t i, const char **build_id,
		    const char **name)
{
	if (i >= p->ntargets)
		return -EINVAL;
	if (build_id)
		*build_id = p->targets[i].build_id;
	if (name)
		*name = p->targets[i].module;
	return 0;
}
size_t lp_patch_nfuncs(const struct lp_patch *p) { return p->nfuncs; }

const char *lp_patch_func_old(const struct lp_patch *p, size_t i)
{
	return i < p->nfuncs ? p->funcs[i].old_name : NULL;
}

const char *lp_patch_func_new(const struct lp_patch *p, size_t i)
{
	return i < p->nfuncs ? p->funcs[i].new_name : NULL;
}

size_t lp_patch_nrefs(const struct lp_patch *p) { return p->nrefs; }

const char *lp_patch_ref(const struct lp_patch *p, size_t i)
{
	return i < p->nrefs ? p->refs[i] : NULL;
}

int lp_patch_seal(struct lp_ctx *ctx, const char *path)
{
	struct lp_elf *elf = NULL;
	const uint8_t *info, *img;
	uint64_t off, sum;
	size_t size, info_size;
	int fd = -1, err;

	err = lp_elf_open(ctx, path, &elf);
	if (err)
		return err;
	err = find_info(ctx, elf, path, &info, &off, &info_size);
	if (err)
		goto out;
	img = lp_elf_image(elf, &size);
	sum = image_checksum(img, size, off + LP_INFO_OFF_CSUM);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = lp_fail(ctx, -errno, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	errno = EIO; /* a short write sets no errno */
	if (pwrite(fd, &sum, 8, (off_t)(off + LP_INFO_OFF_CSUM)) != 8) {
		err = lp_fail(ctx, -errno, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (fsync(fd)) {
		err = lp_fail(ctx, -errno, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	lp_elf_close(elf);
	return err;
}
