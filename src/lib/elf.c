/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ELF reading: symbols, build-ids, segments, pads, unwind tables and
 * dynamic relocations.  The only file that uses libelf.
 *
 * Files are read whole into memory: the target's modules may be deleted or
 * replaced on disk while the process runs (they are opened through
 * /proc/PID/map_files), and a copy in memory cannot change under us.
 * Covered by tests/unit/test_elf.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define LP_MAX_ELF_SIZE (1ULL << 31)

struct lp_elf {
	char *name;
	uint8_t *image;
	size_t size;
	bool mapped;     /* image is a private mapping of the file */
	Elf *e;
	GElf_Ehdr ehdr;
	struct lp_segment *segs;
	size_t nsegs;
	Elf_Scn *symtab, *dynsym, *versym;
	uint64_t *pads;  /* __patchable_function_entries, relocated */
	size_t npads;
	int pads_err;    /* 0 until read; then 1, or -ENOENT if absent */
};

static int elf_init_once(void)
{
	static int done;

	if (!done) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			return -EINVAL;
		done = 1;
	}
	return 0;
}

static Elf_Scn *find_scn_type(Elf *e, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	return NULL;
}

static Elf_Scn *find_scn_name(const struct lp_elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf->e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf->e, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(elf->e, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

static void free_image(uint8_t *image, size_t len, bool mapped)
{
	if (mapped)
		munmap(image, len ? len : 1);
	else
		free(image);
}

/* lp_elf_open_mem() of @image (malloc()ed, or mapped), which the ELF takes
 * over. */
static int open_image(struct lp_ctx *ctx, uint8_t *image, size_t len, bool mapped,
		      const char *name, struct lp_elf **out)
{
	struct lp_elf *elf;
	size_t nph, i;
	int err = -LP_EBADPATCH;

	if (elf_init_once()) {
		free_image(image, len, mapped);
		return lp_fail(ctx, -EINVAL, "libelf is unusable");
	}
	elf = calloc(1, sizeof(*elf));
	if (!elf) {
		free_image(image, len, mapped);
		return -ENOMEM;
	}
	elf->image = image;
	elf->mapped = mapped;
	elf->size = len;
	elf->name = strdup(name);
	if (!elf->name) {
		err = -ENOMEM;
		goto fail;
	}
	elf->e = elf_memory((char *)elf->image, len);
	if (!elf->e || elf_kind(elf->e) != ELF_K_ELF ||
	    !gelf_getehdr(elf->e, &elf->ehdr)) {
		err = lp_fail(ctx, -ENOEXEC, "%s: not an ELF file", name);
		goto fail;
	}
	if (elf_getphdrnum(elf->e, &nph))
		nph = 0;
	elf->segs = calloc(nph ? nph : 1, sizeof(*elf->segs));
	if (!elf->segs) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;
		struct lp_segment *s;

		if (!gelf_getphdr(elf->e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr ||
		    ph.p_memsz > LP_MAX_ELF_SIZE) {
			err = lp_fail(ctx, -ENOEXEC,
				      "%s: program header %zu is malformed", name, i);
			goto fail;
		}
		s = &elf->segs[elf->nsegs++];
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->flags = ph.p_flags;
	}
	elf->symtab = find_scn_type(elf->e, SHT_SYMTAB);
	elf->dynsym = find_scn_type(elf->e, SHT_DYNSYM);
	elf->versym = find_scn_type(elf->e, SHT_GNU_versym);
	*out = elf;
	return 0;
fail:
	lp_elf_close(elf);
	return err;
}

int lp_elf_open_mem(struct lp_ctx *ctx, const void *buf, size_t len,
		    const char *name, struct lp_elf **out)
{
	uint8_t *image = malloc(len ? len : 1);

	if (!image)
		return -ENOMEM;
	memcpy(image, buf, len);
	return open_image(ctx, image, len, false, name, out);
}

static int open_file(struct lp_ctx *ctx, const char *path, const char *name, bool map,
		     struct lp_elf **out)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, err;

	/* O_NONBLOCK: a FIFO given by mistake must not block the open */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		return lp_fail(ctx, err, "cannot open %s: %s", name, strerror(-err));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > LP_MAX_ELF_SIZE) {
		close(fd);
		return lp_fail(ctx, -ENOEXEC, "%s: not a regular file of sane size", name);
	}
	if (map && st.st_size) {
		/* writable and private: libelf may write to its image */
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			       fd, 0);

		if (p != MAP_FAILED) {
			close(fd);
			return open_image(ctx, p, (size_t)st.st_size, true, name, out);
		}
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			close(fd);
			free(buf);
			return lp_fail(ctx, err, "cannot read %s", name);
		}
		got += (size_t)n;
	}
	close(fd);
	/* the bytes read are the image: no second copy (2 MiB for libc, and
	 * as many page faults, at each run) */
	return open_image(ctx, buf, got, false, name, out);
}

int lp_elf_open_as(struct lp_ctx *ctx, const char *path, const char *name,
		   struct lp_elf **out)
{
	return open_file(ctx, path, name, false, out);
}

int lp_elf_open(struct lp_ctx *ctx, const char *path, struct lp_elf **out)
{
	return open_file(ctx, path, path, false, out);
}

/*
 * The files of a process's modules are mapped, not read: reading libc
 * and the rest cost each run 2 to 3 ms of copies and page faults (most
 * of the command's CPU time, which the target's own threads wait behind
 * on a small machine); a private mapping shares the page cache's pages.
 * Only the files a process maps, through /proc: the kernel keeps their
 * inodes.  (A patch file, or a module's file found by its path, is read:
 * it may be anyone's, and one truncated under a mapping would kill us
 * with SIGBUS.)
 */
int lp_elf_open_mapped(struct lp_ctx *ctx, const char *path, struct lp_elf **out)
{
	return open_file(ctx, path, path, true, out);
}

void lp_elf_close(struct lp_elf *elf)
{
	if (!elf)
		return;
	if (elf->e)
		elf_end(elf->e);
	free(elf->segs);
	free(elf->pads);
	free_image(elf->image, elf->size, elf->mapped);
	free(elf->name);
	free(elf);
}

const char *lp_elf_name(const struct lp_elf *elf)
{
	return elf->name;
}

bool lp_elf_is_x86_64(const struct lp_elf *elf)
{
	return elf->ehdr.e_ident[EI_CLASS] == ELFCLASS64 &&
	       elf->ehdr.e_ident[EI_DATA] == ELFDATA2LSB &&
	       elf->ehdr.e_machine == EM_X86_64;
}

bool lp_elf_is_dyn(const struct lp_elf *elf)
{
	return elf->ehdr.e_type == ET_DYN;
}

const uint8_t *lp_elf_image(const struct lp_elf *elf, size_t *size)
{
	*size = elf->size;
	return elf->image;
}

size_t lp_elf_segments(const struct lp_elf *elf, const struct lp_segment **segs)
{
	*segs = elf->segs;
	return elf->nsegs;
}

uint64_t lp_elf_min_vaddr(const struct lp_elf *elf)
{
	uint64_t lo = UINT64_MAX;
	size_t i;

	for (i = 0; i < elf->nsegs; i++)
		if (elf->segs[i].vaddr < lo)
			lo = elf->segs[i].vaddr;
	return lo == UINT64_MAX ? 0 : lo & ~0xfffULL;
}

void lp_elf_text_range(const struct lp_elf *elf, uint64_t *lo, uint64_t *hi)
{
	size_t i;

	*lo = UINT64_MAX;
	*hi = 0;
	for (i = 0; i < elf->nsegs; i++) {
		const struct lp_segment *s = &elf->segs[i];

		if (!(s->flags & PF_X))
			continue;
		if (s->vaddr < *lo)
			*lo = s->vaddr;
		if (s->vaddr + s->memsz > *hi)
			*hi = s->vaddr + s->memsz;
	}
	if (*lo == UINT64_MAX)
		*lo = 0;
}

int lp_elf_read(const struct lp_elf *elf, uint64_t vaddr, void *buf, size_t len)
{
	size_t i;

	for (i = 0; i < elf->nsegs; i++) {
		const struct lp_segment *s = &elf->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->filesz &&
		    len <= s->filesz - (vaddr - s->vaddr)) {
			memcpy(buf, elf->image + s->offset + (vaddr - s->vaddr), len);
			return 0;
		}
	}
	return -EFAULT;
}

const void *lp_elf_section(const struct lp_elf *elf, const char *name,
			   size_t *size, uint64_t *addr, uint64_t *offset)
{
	Elf_Scn *scn = find_scn_name(elf, name);
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
	    sh.sh_offset > elf->size || sh.sh_size > elf->size - sh.sh_offset)
		return NULL;
	if (size)
		*size = sh.sh_size;
	if (addr)
		*addr = sh.sh_addr;
	if (offset)
		*offset = sh.sh_offset;
	return elf->image + sh.sh_offset;
}

/* The build-id note, from the section or from a PT_NOTE segment. */
int lp_elf_build_id(const struct lp_elf *elf, char *buf, size_t len)
{
	size_t nph, i;

	if (elf_getphdrnum(elf->e, &nph))
		nph = 0;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(elf->e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > elf->size || ph.p_filesz > elf->size - ph.p_offset)
			continue;
		d = elf_getdata_rawchunk(elf->e, (int64_t)ph.p_offset, ph.p_filesz,
					 ELF_T_NHDR);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const uint8_t *desc = (const uint8_t *)d->d_buf + desc_off;
			size_t j;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((const char *)d->d_buf + name_off, "GNU", 4))
				continue;
			if (!nh.n_descsz || len < nh.n_descsz * 2 + 1)
				return -ERANGE;
			for (j = 0; j < nh.n_descsz; j++)
				snprintf(buf + 2 * j, 3, "%02x", desc[j]);
			return 0;
		}
	}
	return -LP_ENOBUILDID;
}

const char *lp_elf_soname(const struct lp_elf *elf)
{
	Elf_Scn *scn = find_scn_type(elf->e, SHT_DYNAMIC);
	Elf_Data *d;
	GElf_Shdr sh;
	size_t i;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)))
		return NULL;
	for (i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
		GElf_Dyn dyn;

		if (!gelf_getdyn(d, (int)i, &dyn))
			break;
		if (dyn.d_tag == DT_SONAME)
			return elf_strptr(elf->e, sh.sh_link, dyn.d_un.d_val);
	}
	return NULL;
}

/*
 * Look for @name in one symbol table.  mode 0: global or weak only;
 * mode 1: local only.  Returns the number of matches (the first in *out).
 */
static int scan_symtab(const struct lp_elf *elf, Elf_Scn *scn, const char *name,
		       int mode, bool default_version_only, struct lp_sym *out)
{
	Elf_Data *d, *vd = NULL, *sd = NULL;
	Elf_Scn *strscn;
	GElf_Shdr sh, ssh;
	size_t i, n;
	int found = 0;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) ||
	    !sh.sh_entsize)
		return 0;
	/*
	 * The names straight from the string table, not through
	 * elf_strptr(), whose checks on each of the table's thousands of
	 * symbols were a tenth of the command's instructions.  What
	 * elf_strptr() checks, once: a string table, ending in a NUL (so that
	 * every name in it ends), and each name's offset inside it.  Any
	 * other table (compressed, or not ending in a NUL) goes through
	 * elf_strptr(), as before.
	 */
	strscn = elf_getscn(elf->e, sh.sh_link);
	if (strscn && gelf_getshdr(strscn, &ssh) && ssh.sh_type == SHT_STRTAB &&
	    !(ssh.sh_flags & SHF_COMPRESSED)) {
		sd = elf_getdata(strscn, NULL);
		if (sd && (!sd->d_buf || !sd->d_size || sd->d_type != ELF_T_BYTE ||
			   ((const char *)sd->d_buf)[sd->d_size - 1]))
			sd = NULL;
	}
	if (default_version_only && elf->versym)
		vd = elf_getdata(elf->versym, NULL);
	n = sh.sh_size / sh.sh_entsize;
	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *sn;
		int bind;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		bind = GELF_ST_BIND(sym.st_info);
		if (mode == 0 && bind != STB_GLOBAL && bind != STB_WEAK &&
		    bind != STB_GNU_UNIQUE)
			continue;
		if (mode == 1 && bind != STB_LOCAL)
			continue;
		if (GELF_ST_TYPE(sym.st_info) == STT_SECTION ||
		    GELF_ST_TYPE(sym.st_info) == STT_FILE)
			continue;
		if (sd)
			sn = sym.st_name < sd->d_size ? (const char *)sd->d_buf + sym.st_name : NULL;
		else
			sn = elf_strptr(elf->e, sh.sh_link, sym.st_name);
		if (!sn || strcmp(sn, name))
			continue;
		if (vd && i < vd->d_size / 2) {
			uint16_t v = ((const uint16_t *)vd->d_buf)[i];

			if (v & 0x8000) /* hidden: not the default version */
				continue;
		}
		if (!found++ && out) {
			out->name = sn;
			out->value = sym.st_value;
			out->size = sym.st_size;
			out->is_func = GELF_ST_TYPE(sym.st_info) == STT_FUNC ||
				       GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC;
			out->is_ifunc = GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC;
			out->is_tls = GELF_ST_TYPE(sym.st_info) == STT_TLS;
		}
	}
	return found;
}

/* Does the FILE symbol @have name the source file @want?  The same path,
 * or @want's path being the last components of @have's, or the other way
 * round ("net.c" and "src/net.c"). */
static bool same_file(const char *have, const char *want)
{
	size_t h = strlen(have), w = strlen(want);

	if (!strcmp(have, want))
		return true;
	if (h > w)
		return have[h - w - 1] == '/' && !strcmp(have + h - w, want);
	return w > h && want[w - h - 1] == '/' && !strcmp(want + w - h, have);
}

int lp_elf_find_local(const struct lp_elf *elf, const char *file, const char *name,
		      struct lp_sym *out)
{
	Elf_Scn *scn = elf->symtab;
	Elf_Data *d;
	GElf_Shdr sh;
	const char *cur = NULL;
	size_t i, n;
	int found = 0;

	if (!scn)
		return -ENOENT;
	if (!gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return -LP_ENOSYM;
	n = sh.sh_size / sh.sh_entsize;
	/* the locals of each file follow its STT_FILE entry */
	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *sn;

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		sn = elf_strptr(elf->e, sh.sh_link, sym.st_name);
		if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			cur = sn;
			continue;
		}
		if (GELF_ST_BIND(sym.st_info) != STB_LOCAL)
			break; /* the globals come after every local */
		if (!cur || !sn || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) == STT_SECTION || strcmp(sn, name) ||
		    !same_file(cur, file))
			continue;
		if (!found++ && out) {
			out->name = sn;
			out->value = sym.st_value;
			out->size = sym.st_size;
			out->is_func = GELF_ST_TYPE(sym.st_info) == STT_FUNC ||
				       GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC;
			out->is_ifunc = GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC;
			out->is_tls = GELF_ST_TYPE(sym.st_info) == STT_TLS;
		}
	}
	return found == 1 ? 0 : found ? -ENOTUNIQ : -LP_ENOSYM;
}

bool lp_elf_has_symtab(const struct lp_elf *elf)
{
	return elf->symtab != NULL;
}

int lp_elf_tls(const struct lp_elf *elf, uint64_t *memsz, uint64_t *align)
{
	size_t nph, i;

	if (elf_getphdrnum(elf->e, &nph))
		return -ENOENT;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf->e, (int)i, &ph) && ph.p_type == PT_TLS) {
			*memsz = ph.p_memsz;
			*align = ph.p_align ? ph.p_align : 1;
			return 0;
		}
	}
	return -ENOENT;
}

int lp_elf_find_global(const struct lp_elf *elf, const char *name,
		       struct lp_sym *out)
{
	if (scan_symtab(elf, elf->dynsym, name, 0, true, out) ||
	    scan_symtab(elf, elf->symtab, name, 0, false, out))
		return 0;
	return -LP_ENOSYM;
}

int lp_elf_find_dynamic(const struct lp_elf *elf, const char *name,
			struct lp_sym *out)
{
	return scan_symtab(elf, elf->dynsym, name, 0, true, out) ? 0 : -LP_ENOSYM;
}

uint64_t lp_elf_dynamic_vaddr(const struct lp_elf *elf)
{
	size_t nph, i;

	if (elf_getphdrnum(elf->e, &nph))
		return 0;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf->e, (int)i, &ph) && ph.p_type == PT_DYNAMIC)
			return ph.p_vaddr;
	}
	return 0;
}

int lp_elf_find_symbol(const struct lp_elf *elf, const char *name,
		       struct lp_sym *out)
{
	int n;

	if (scan_symtab(elf, elf->symtab, name, 0, false, out))
		return 0;
	n = scan_symtab(elf, elf->symtab, name, 1, false, out);
	if (n == 1)
		return 0;
	if (n > 1)
		return -ENOTUNIQ;
	if (scan_symtab(elf, elf->dynsym, name, 0, true, out))
		return 0;
	return -LP_ENOSYM;
}

/*
 * The list of pads, as the process sees it once relocated.  GNU ld writes
 * the addresses into the section as well as into its R_X86_64_RELATIVE
 * relocations; lld leaves the section zero, so the relocations decide.
 */
static int read_pads(struct lp_elf *elf)
{
	struct lp_reloc *rel = NULL;
	size_t size, nrel = 0, i, k;
	uint64_t addr;
	const uint8_t *p = lp_elf_section(elf, "__patchable_function_entries",
					  &size, &addr, NULL);

	if (!p)
		return -ENOENT;
	if (size % 8)
		return -EINVAL;
	elf->npads = size / 8;
	elf->pads = calloc(elf->npads ? elf->npads : 1, sizeof(*elf->pads));
	if (!elf->pads)
		return -ENOMEM;
	for (i = 0; i < elf->npads; i++)
		memcpy(&elf->pads[i], p + 8 * i, 8);
	if (lp_elf_dyn_relocs(elf, &rel, &nrel))
		return 1;
	for (k = 0; k < nrel; k++) {
		const struct lp_reloc *r = &rel[k];

		if (r->offset < addr || r->offset - addr >= size || (r->offset - addr) % 8)
			continue;
		if (r->type == R_X86_64_RELATIVE)
			elf->pads[(r->offset - addr) / 8] = (uint64_t)r->addend;
		else if (r->type == R_X86_64_64 && r->sym_defined)
			elf->pads[(r->offset - addr) / 8] = r->sym_value + (uint64_t)r->addend;
	}
	free(rel);
	return 1;
}

int lp_elf_pad_listed(const struct lp_elf *elf, uint64_t pad_vaddr)
{
	struct lp_elf *e = (struct lp_elf *)elf; /* the list is a cache */
	size_t i;

	if (!e->pads_err)
		e->pads_err = read_pads(e);
	if (e->pads_err == -EINVAL)
		return 0; /* a malformed list vouches for nothing */
	if (e->pads_err < 0)
		return e->pads_err == -ENOMEM ? -ENOMEM : -ENOENT;
	for (i = 0; i < e->npads; i++)
		if (e->pads[i] == pad_vaddr)
			return 1;
	return 0;
}

int lp_elf_eh_frame_hdr(const struct lp_elf *elf, struct lp_eh_frame_hdr *out)
{
	size_t nph, i;
	uint8_t h[12];
	uint32_t count;

	if (elf_getphdrnum(elf->e, &nph))
		return -ENOENT;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf->e, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		if (lp_elf_read(elf, ph.p_vaddr, h, sizeof(h)))
			return -EFAULT;
		/* version 1; fde_count as udata4; table as datarel sdata4:
		 * the only encoding the linkers emit for the search table. */
		if (h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b)
			return -ENOTSUP;
		memcpy(&count, h + 8, 4);
		out->vaddr = ph.p_vaddr;
		out->table_vaddr = ph.p_vaddr + 12;
		out->fde_count = count;
		return 0;
	}
	return -ENOENT;
}

static int add_relocs(const struct lp_elf *elf, Elf_Scn *scn,
		      struct lp_reloc **out, size_t *n, size_t *cap)
{
	GElf_Shdr sh;
	Elf_Data *d, *symd;
	Elf_Scn *symscn;
	GElf_Shdr symsh;
	size_t i, cnt;

	if (!gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) ||
	    !sh.sh_entsize)
		return -EINVAL;
	symscn = elf_getscn(elf->e, sh.sh_link);
	if (!symscn || !gelf_getshdr(symscn, &symsh) ||
	    !(symd = elf_getdata(symscn, NULL)))
		return -EINVAL;
	cnt = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < cnt; i++) {
		GElf_Rela ra;
		struct lp_reloc *r;
		size_t symi;

		if (!gelf_getrela(d, (int)i, &ra))
			return -EINVAL;
		if (lp_grow(out, cap, *n, sizeof(**out), 64))
			return -ENOMEM;
		r = &(*out)[(*n)++];
		memset(r, 0, sizeof(*r));
		r->offset = ra.r_offset;
		r->type = (uint32_t)GELF_R_TYPE(ra.r_info);
		r->addend = ra.r_addend;
		symi = GELF_R_SYM(ra.r_info);
		if (symi) {
			GElf_Sym sym;

			if (!gelf_getsym(symd, (int)symi, &sym))
				return -EINVAL;
			r->sym = elf_strptr(elf->e, symsh.sh_link, sym.st_name);
			if (!r->sym)
				return -EINVAL;
			r->sym_defined = sym.st_shndx != SHN_UNDEF;
			r->sym_value = sym.st_value;
			r->sym_weak = GELF_ST_BIND(sym.st_info) == STB_WEAK;
		}
	}
	return 0;
}

int lp_elf_dyn_relocs(const struct lp_elf *elf, struct lp_reloc **out, size_t *n)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	GElf_Shdr sh;
	int err;

	*out = NULL;
	*n = 0;
	while ((scn = elf_nextscn(elf->e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_REL) {
			err = -ENOTSUP; /* x86-64 uses RELA */
			goto fail;
		}
		if (sh.sh_type != SHT_RELA || !(sh.sh_flags & SHF_ALLOC))
			continue;
		err = add_relocs(elf, scn, out, n, &cap);
		if (err)
			goto fail;
	}
	return 0;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return err;
}

int lp_check_pad(struct lp_ctx *ctx, const struct lp_elf *elf, const char *name,
		 uint64_t value, const uint8_t *code, size_t len,
		 struct lp_entry *entry)
{
	const char *why = NULL;
	int err;

	err = lp_decode_pad(code, len, entry, &why);
	if (err == -LP_EPATCHED)
		return lp_fail(ctx, err, "%s is already patched", name);
	if (err)
		return lp_fail(ctx, -LP_ENOPAD,
			       "%s has no patchable pad (%s): build it with -fpatchable-function-entry=16,14",
			       name, why);
	/* Alignment NOPs can look like a pad: where the compiler left its
	 * list of pads, the function must be on it. */
	if (lp_elf_pad_listed(elf, value - LP_PAD_LEN) == 0)
		return lp_fail(ctx, -LP_ENOPAD,
			       "%s has no patchable pad (not in __patchable_function_entries): build it with -fpatchable-function-entry=16,14",
			       name);
	return 0;
}

int lp_elf_file_build_id(struct lp_ctx *ctx, const char *path, char *buf,
			 size_t len)
{
	struct lp_elf *elf;
	int err = lp_elf_open(ctx, path, &elf);

	if (err)
		return err;
	err = lp_elf_build_id(elf, buf, len);
	if (err == -LP_ENOBUILDID)
		lp_fail(ctx, err, "%s has no build-id: link it with -Wl,--build-id", path);
	lp_elf_close(elf);
	return err;
}

int lp_elf_file_check_function(struct lp_ctx *ctx, const char *path,
			       const char *symbol)
{
	struct lp_elf *elf;
	struct lp_sym sym;
	struct lp_entry entry;
	uint8_t code[LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN];
	int err = lp_elf_open(ctx, path, &elf);

	if (err)
		return err;
	err = lp_elf_find_symbol(elf, symbol, &sym);
	if (err == -ENOTUNIQ) {
		err = lp_fail(ctx, -ENOTUNIQ, "%s is defined more than once in %s",
			      symbol, path);
		goto out;
	}
	if (err) {
		err = lp_fail(ctx, -LP_ENOSYM, elf->symtab ? "%s: no such symbol in %s" :
			      "%s: no such symbol in %s, which is stripped (build the target with a symbol table, or keep it)",
			      symbol, path);
		goto out;
	}
	if (!sym.is_func || sym.is_ifunc) {
		err = lp_fail(ctx, -LP_ENOPAD, "%s in %s is not a plain function",
			      symbol, path);
		goto out;
	}
	if (sym.value < LP_PAD_LEN ||
	    lp_elf_read(elf, sym.value - LP_PAD_LEN, code, sizeof(code))) {
		err = lp_fail(ctx, -LP_ENOPAD, "%s: no room for a pad before it", symbol);
		goto out;
	}
	err = lp_check_pad(ctx, elf, symbol, sym.value, code, sizeof(code), &entry);
out:
	lp_elf_close(elf);
	return err;
}

int lp_elf_file_check_symbol(struct lp_ctx *ctx, const char *path, const char *file,
			     const char *symbol)
{
	struct lp_elf *elf;
	struct lp_sym sym;
	int err = lp_elf_open(ctx, path, &elf);

	if (err)
		return err;
	if (file) {
		err = lp_elf_find_local(elf, file, symbol, &sym);
		if (err == -ENOENT)
			err = lp_fail(ctx, -ENOENT,
				      "%s is stripped: its static symbols (%s of %s) cannot be found",
				      path, symbol, file);
		else if (err == -ENOTUNIQ)
			err = lp_fail(ctx, -ENOTUNIQ, "%s is defined more than once in %s of %s",
				      symbol, file, path);
		else if (err)
			err = lp_fail(ctx, -LP_ENOSYM, "%s has no static symbol %s in %s", path,
				      symbol, file);
		goto out;
	}
	/* what lp_apply would bind: an exported symbol, else a unique one */
	err = lp_elf_find_dynamic(elf, symbol, &sym);
	if (!err)
		goto out;
	err = lp_elf_find_symbol(elf, symbol, &sym);
	if (err == -ENOTUNIQ)
		err = lp_fail(ctx, -ENOTUNIQ,
			      "%s is defined more than once in %s (static in several files): say which with LIVEPATCH_SYMBOL",
			      symbol, path);
	else if (err && !elf->symtab)
		err = lp_fail(ctx, -ENOENT, "%s is stripped: %s is not among its exported symbols",
			      path, symbol);
	else if (err)
		err = lp_fail(ctx, -LP_ENOSYM, "%s: no such symbol in %s", symbol, path);
out:
	lp_elf_close(elf);
	return err;
}

bool lp_elf_in_exec_segment(const struct lp_elf *elf, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < elf->nsegs; i++)
		if ((elf->segs[i].flags & PF_X) && vaddr >= elf->segs[i].vaddr &&
		    vaddr - elf->segs[i].vaddr < elf->segs[i].filesz)
			return true;
	return false;
}

const char *lp_elf_symbol_at(const struct lp_elf *elf, uint64_t vaddr)
{
	Elf_Scn *tabs[2] = { elf->symtab, elf->dynsym };
	size_t t;

	for (t = 0; t < 2; t++) {
		Elf_Data *d;
		GElf_Shdr sh;
		size_t i;

		if (!tabs[t] || !gelf_getshdr(tabs[t], &sh) ||
		    !(d = elf_getdata(tabs[t], NULL)) || !sh.sh_entsize)
			continue;
		for (i = 1; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			if (gelf_getsym(d, (int)i, &sym) && sym.st_value == vaddr &&
			    sym.st_shndx != SHN_UNDEF &&
			    GELF_ST_TYPE(sym.st_info) == STT_FUNC)
				return elf_strptr(elf->e, sh.sh_link, sym.st_name);
		}
	}
	return NULL;
}

uint64_t lp_elf_func_size(const struct lp_elf *elf, uint64_t vaddr)
{
	Elf_Scn *tabs[2] = { elf->symtab, elf->dynsym };
	size_t t;

	for (t = 0; t < 2; t++) {
		Elf_Data *d;
		GElf_Shdr sh;
		size_t i;

		if (!tabs[t] || !gelf_getshdr(tabs[t], &sh) ||
		    !(d = elf_getdata(tabs[t], NULL)) || !sh.sh_entsize)
			continue;
		for (i = 1; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			if (gelf_getsym(d, (int)i, &sym) && sym.st_value == vaddr &&
			    sym.st_shndx != SHN_UNDEF && sym.st_size &&
			    GELF_ST_TYPE(sym.st_info) == STT_FUNC)
				return sym.st_size;
		}
	}
	return 0;
}

/* ---- check.c: every function symbol, the list of pads ------------------ */

int lp_elf_func_syms(const struct lp_elf *elf, struct lp_func_sym **out, size_t *n,
		     bool *symtab)
{
	/* A stripped file keeps only .dynsym: its exported functions. */
	Elf_Scn *scn = elf->symtab ? elf->symtab : elf->dynsym;
	struct lp_func_sym *v = NULL;
	const char *file = NULL;
	Elf_Data *d;
	GElf_Shdr sh;
	size_t i, cnt, cap = 0;

	*out = NULL;
	*n = 0;
	*symtab = elf->symtab != NULL;
	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) ||
	    !sh.sh_entsize)
		return 0;
	cnt = sh.sh_size / sh.sh_entsize;
	for (i = 1; i < cnt; i++) {
		GElf_Sym sym;
		const char *name;
		int type, bind;

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		name = elf_strptr(elf->e, sh.sh_link, sym.st_name);
		/* the locals of each object file follow its STT_FILE entry;
		 * the globals, after every local, belong to no file */
		if (type == STT_FILE) {
			file = name && *name ? name : NULL;
			continue;
		}
		if (bind != STB_LOCAL)
			file = NULL;
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !name || !*name ||
		    sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS)
			continue;
		if (lp_grow(&v, &cap, *n, sizeof(*v), 256)) {
			free(v);
			*n = 0;
			return -ENOMEM;
		}
		v[*n].name = name;
		v[*n].file = bind == STB_LOCAL ? file : NULL;
		v[*n].value = sym.st_value;
		v[*n].size = sym.st_size;
		v[*n].ifunc = type == STT_GNU_IFUNC;
		v[*n].local = bind == STB_LOCAL;
		(*n)++;
	}
	*out = v;
	return 0;
}

int lp_elf_pad_list(const struct lp_elf *elf, const uint64_t **pads, size_t *n)
{
	struct lp_elf *e = (struct lp_elf *)elf; /* the list is a cache */

	*pads = NULL;
	*n = 0;
	if (!e->pads_err)
		e->pads_err = read_pads(e);
	if (e->pads_err == -EINVAL)
		return 0; /* a malformed list vouches for nothing, as in lp_elf_pad_listed */
	if (e->pads_err < 0)
		return e->pads_err == -ENOMEM ? -ENOMEM : -ENOENT;
	*pads = e->pads;
	*n = e->npads;
	return 0;
}
