/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading a patch into the target, the target running but for the one
 * borrowed thread.  The patch image is laid out and relocated here, in the
 * controller; the target only runs mmap system calls (remote.c).  Each
 * segment gets its final protection from its mmap (code PROT_READ|
 * PROT_EXEC, never writable), and its bytes are filled in through
 * /proc/PID/mem, which writes through read-only private mappings: no
 * mprotect is needed, so filters that forbid making memory executable
 * after the fact do not get in the way.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

#define PAGE 4096ULL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))

/* A system call in the target; its -errno result becomes the return value. */
static int remote_call(struct lp_proc *proc, struct lp_thread *t, uint64_t insn,
		       long nr, const uint64_t args[6], int64_t *ret)
{
	int err = lp_remote_syscall(proc, t, insn, nr, args, ret);

	if (err)
		return err;
	return *ret < 0 && *ret > -4096 ? (int)*ret : 0;
}

/* mmap in the target: of @fd at @off, or anonymous when @fd < 0. */
static int remote_mmap(struct lp_proc *proc, struct lp_thread *t, uint64_t insn,
		       uint64_t addr, uint64_t len, int prot, int flags, int fd,
		       uint64_t off, uint64_t *out)
{
	uint64_t args[6] = { addr, len, (uint64_t)prot,
			     (uint64_t)(flags | (fd < 0 ? MAP_ANONYMOUS : 0)),
			     (uint64_t)(int64_t)fd, fd < 0 ? 0 : off };
	int64_t ret;
	int err = remote_call(proc, t, insn, SYS_mmap, args, &ret);

	if (!err)
		*out = (uint64_t)ret;
	return err;
}

static int remote_munmap(struct lp_proc *proc, struct lp_thread *t,
			 uint64_t insn, uint64_t addr, uint64_t len)
{
	const uint64_t args[6] = { addr, len };
	int64_t ret;

	return remote_call(proc, t, insn, SYS_munmap, args, &ret);
}

static void remote_close(struct lp_proc *proc, struct lp_thread *t,
			 uint64_t insn, int fd)
{
	const uint64_t args[6] = { (uint64_t)fd };
	int64_t ret;

	remote_call(proc, t, insn, SYS_close, args, &ret);
}

/*
 * Put the patch file into the target as a memfd named after the patch,
 * so that its segments can be mapped from it like a library's: the
 * mappings then read "/memfd:livepatch:ID" in /proc/PID/maps, and a later
 * run finds the patch's ELF (and its unwind tables) through map_files,
 * which lets it walk the stack of a thread running in the patch's code.
 * The file's bytes are written by us, through /proc/PID/fd.  Returns the
 * target's fd, or a negative error (then plain anonymous memory is used);
 * *ino is the file's inode, which its mappings show in /proc/PID/maps.
 */
static int make_memfd(struct lp_proc *proc, struct lp_thread *t, uint64_t insn,
		      const char *suffix, const void *data, size_t len, uint64_t size,
		      uint64_t *ino)
{
	struct stat st;
	char name[64], path[96];
	size_t nlen;
	/* the name goes below the thread's red zone: unused stack, as the
	 * thread is stopped and runs nothing but our system calls */
	uint64_t name_at = ((t->regs.rsp - 128 - sizeof(name)) & ~15ULL);
	int64_t fd;
	int lfd, err;

	snprintf(name, sizeof(name), "livepatch:%s", suffix);
	nlen = strlen(name) + 1;
	err = lp_proc_write(proc, name_at, name, nlen);
	if (!err)
		err = remote_call(proc, t, insn, SYS_memfd_create,
				  (const uint64_t[6]){ name_at, 1 /* MFD_CLOEXEC */ }, &fd);
	if (err)
		return err;
	/* through the borrowed thread, which is stopped and cannot end: the
	 * main thread may have ended since the process was opened */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/fd/%d", proc->pid, t->tid, (int)fd);
	lfd = open(path, O_RDWR | O_CLOEXEC);
	err = lfd < 0 ? -errno : 0;
	if (!err && ((len && pwrite(lfd, data, len, 0) != (ssize_t)len) ||
		     ftruncate(lfd, (off_t)(size > len ? size : len)) || fstat(lfd, &st)))
		err = -EIO;
	if (!err)
		*ino = st.st_ino;
	if (lfd >= 0)
		close(lfd);
	if (err) {
		remote_close(proc, t, insn, (int)fd);
		return err;
	}
	return (int)fd;
}

static int prot_of(uint32_t pflags)
{
	return (pflags & PF_R ? PROT_READ : 0) | (pflags & PF_W ? PROT_WRITE : 0) |
	       (pflags & PF_X ? PROT_EXEC : 0);
}

/*
 * LIVEPATCH_ORIGINAL(name): the body of the target's own @name, past its
 * entry NOPs (and endbr64), so that the call never takes the entry jump
 * back to a replacement.  The bytes come from the module's file: they are
 * what the target was built with, patched or not.
 */
static int resolve_original(struct lp_proc *proc, const struct lp_patch *patch,
			    const char *name, uint64_t *out)
{
	uint8_t code[LP_CODE_LEN];
	struct lp_entry e;
	struct lp_sym sym;
	size_t i;
	int err;

	for (i = 0; i < patch->ntargets; i++) {
		struct lp_module *m = lp_proc_module_by_build_id(proc, patch->targets[i].build_id);

		if (!m || lp_elf_find_symbol(m->elf, name, &sym))
			continue;
		if (!sym.is_func || sym.is_ifunc || sym.value < LP_PAD_LEN ||
		    lp_elf_read(m->elf, sym.value - LP_PAD_LEN, code, sizeof(code)))
			return lp_fail(proc->ctx, -LP_ENOPAD,
				       "LIVEPATCH_ORIGINAL(%s): %s in %s is not a plain function",
				       name, name, m->path);
		err = lp_check_pad(proc->ctx, m->elf, name, sym.value, code, sizeof(code), &e);
		if (err)
			return err;
		*out = sym.value + m->bias + e.entry_off + LP_ENTRY_LEN;
		return 0;
	}
	return lp_fail(proc->ctx, -LP_ENOSYM,
		       "LIVEPATCH_ORIGINAL(%s): no target of the patch defines %s", name, name);
}

/* LIVEPATCH_SYMBOL(alias, file, symbol): a static symbol of one file. */
static int resolve_alias(struct lp_proc *proc, const struct lp_patch *patch,
			 const struct lp_patch_sym *ps, uint64_t *out)
{
	struct lp_sym sym;
	size_t i;
	int err;

	for (i = 0; i < patch->ntargets; i++) {
		struct lp_module *m = lp_proc_module_by_build_id(proc, patch->targets[i].build_id);

		if (!m)
			continue;
		err = lp_elf_find_local(m->elf, ps->file, ps->symbol, &sym);
		if (err == -ENOENT)
			return lp_fail(proc->ctx, -LP_ENOSYM,
				       "%s is stripped: its static symbol %s of %s cannot be found",
				       m->path, ps->symbol, ps->file);
		if (err == -ENOTUNIQ)
			return lp_fail(proc->ctx, -LP_ENOSYM,
				       "%s is defined more than once in %s of %s", ps->symbol,
				       ps->file, m->path);
		if (err)
			continue;
		if (sym.is_ifunc || sym.is_tls)
			return lp_fail(proc->ctx, -LP_ERELOC,
				       "%s of %s is an ifunc or thread-local: LIVEPATCH_SYMBOL cannot name it",
				       ps->symbol, ps->file);
		*out = sym.value + m->bias;
		return 0;
	}
	return lp_fail(proc->ctx, -LP_ENOSYM, "no static symbol %s in %s in the patch's targets",
		       ps->symbol, ps->file);
}

/* An undefined symbol of the patch, as the process has it. */
static int resolve_ref(struct lp_proc *proc, const struct lp_patch *patch,
		       const struct lp_module *target, const char *name, uint64_t *out)
{
	const struct lp_patch_sym *ps = lp_patch_sym_of(patch, name);

	if (!strncmp(name, LP_ORIGINAL_PREFIX, strlen(LP_ORIGINAL_PREFIX)))
		return resolve_original(proc, patch, name + strlen(LP_ORIGINAL_PREFIX), out);
	if (ps)
		return resolve_alias(proc, patch, ps, out);
	return lp_proc_resolve(proc, target, name, out);
}

/* Thread-local relocations: a variable of the executable or a library. */
static int relocate_tls(struct lp_proc *proc, const struct lp_module *target,
			const struct lp_reloc *r, uint64_t *v)
{
	struct lp_module *m = NULL;
	uint64_t modid = 0, off = 0, memsz, align;
	int err = lp_proc_resolve_tls(proc, target, r->sym, &m, &modid, &off);

	*v = 0;

	if (err)
		return err;
	switch (r->type) {
	case R_X86_64_DTPMOD64:
		*v = modid;
		return 0;
	case R_X86_64_DTPOFF64:
		*v = off + (uint64_t)r->addend;
		return 0;
	default: /* R_X86_64_TPOFF64: the initial-exec model */
		/* the executable's block ends at the thread pointer */
		if (m->rank != 0 || lp_elf_tls(m->elf, &memsz, &align))
			return lp_fail(proc->ctx, -LP_ERELOC,
				       "thread-local variable %s of %s: build the patch without -ftls-model=initial-exec",
				       r->sym, m->path);
		*v = off + (uint64_t)r->addend - ((memsz + align - 1) / align * align);
		return 0;
	}
}

/* Relocate the image, laid out at @img for runtime address @bias. */
static int relocate(struct lp_proc *proc, const struct lp_patch *patch,
		    const struct lp_module *target, uint8_t *img, uint64_t size,
		    uint64_t bias)
{
	struct lp_reloc *rel;
	size_t n, i;
	int err = lp_elf_dyn_relocs(patch->elf, &rel, &n);

	if (err)
		return lp_fail(proc->ctx, -LP_EBADPATCH, "unreadable relocations in patch");
	for (i = 0; i < n; i++) {
		const struct lp_reloc *r = &rel[i];
		uint64_t s = 0, v;

		if (r->type == R_X86_64_NONE)
			continue;
		if (r->offset + 8 > size || r->offset + 8 < r->offset) {
			err = lp_fail(proc->ctx, -LP_EBADPATCH,
				      "patch relocation outside its image");
			goto out;
		}
		if (r->type == R_X86_64_DTPMOD64 || r->type == R_X86_64_DTPOFF64 ||
		    r->type == R_X86_64_TPOFF64) {
			/* (lp_patch_open let only undefined symbols through) */
			err = relocate_tls(proc, target, r, &v);
			if (err)
				goto out;
			memcpy(img + r->offset, &v, 8);
			continue;
		}
		if (r->sym && r->sym_defined) {
			s = r->sym_value + bias;
		} else if (r->sym) {
			err = resolve_ref(proc, patch, target, r->sym, &s);
			if (err && !r->sym_weak)
				goto out;
			if (err) /* an unresolved weak reference is NULL */
				s = 0;
			err = 0;
			lp_debug(proc->ctx, "patch symbol %s = %#" PRIx64, r->sym, s);
		}
		switch (r->type) {
		case R_X86_64_RELATIVE:
			v = bias + (uint64_t)r->addend;
			break;
		case R_X86_64_64:
			v = s + (uint64_t)r->addend;
			break;
		case R_X86_64_GLOB_DAT:
		case R_X86_64_JUMP_SLOT:
			v = s;
			break;
		default:
			err = lp_fail(proc->ctx, -LP_ERELOC,
				      "patch relocation type %u is not supported", r->type);
			goto out;
		}
		memcpy(img + r->offset, &v, 8);
	}
out:
	free(rel);
	return err;
}

int lp_load_patch(struct lp_proc *proc, struct lp_thread *t,
		  const struct lp_patch *patch, const struct lp_module *target,
		  struct lp_load *out)
{
	const struct lp_segment *segs;
	size_t nsegs = lp_elf_segments(patch->elf, &segs), i, fsize;
	const uint8_t *file = lp_elf_image(patch->elf, &fsize);
	uint64_t hi = 0, size, base = 0, insn, span;
	uint8_t *img = NULL;
	int err, fd = -1;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nsegs; i++) {
		if (segs[i].vaddr + segs[i].memsz > hi)
			hi = segs[i].vaddr + segs[i].memsz;
		/* W and X on one page would make code writable */
		if ((segs[i].flags & PF_W) && (segs[i].flags & PF_X))
			return lp_fail(proc->ctx, -LP_EBADPATCH,
				       "patch has a writable code segment");
	}
	/* (lp_elf_open_mem bounds every segment's end) */
	for (i = 0; i + 1 < nsegs; i++)
		if (segs[i + 1].vaddr < segs[i].vaddr ||
		    PAGE_UP(segs[i].vaddr + segs[i].memsz) > PAGE_DOWN(segs[i + 1].vaddr))
			return lp_fail(proc->ctx, -LP_EBADPATCH,
				       "patch segments share a page: link it with -z separate-code");
	size = PAGE_UP(hi);
	if (!nsegs || hi > (1ULL << 30))
		return lp_fail(proc->ctx, -LP_EBADPATCH, "patch has no sane segments");
	img = calloc(1, size);
	out->new_addr = calloc(patch->nfuncs, sizeof(*out->new_addr));
	if (!img || !out->new_addr) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nsegs; i++)
		memcpy(img + segs[i].vaddr, file + segs[i].offset, segs[i].filesz);

	err = lp_proc_find_syscall_insn(proc, &insn);
	if (err)
		goto fail;
	/* Reserve the whole span first, so that the segments land at the
	 * distances the patch was linked for. */
	err = remote_mmap(proc, t, insn, 0, size, PROT_NONE, MAP_PRIVATE, -1, 0, &base);
	if (err) {
		err = lp_fail(proc->ctx, err, "mmap in process %d failed: %s", proc->pid,
			      strerror(-err));
		goto fail;
	}
	out->base = base;
	out->size = size;
	err = relocate(proc, patch, target, img, size, base);
	if (err)
		goto fail_unmap;
	/* the file must reach as far as any segment's pages map it */
	for (i = 0, span = 0; i < nsegs; i++) {
		uint64_t e = PAGE_DOWN(segs[i].offset) + PAGE_UP(segs[i].vaddr + segs[i].memsz) -
			     PAGE_DOWN(segs[i].vaddr);

		if (e > span)
			span = e;
	}
	fd = make_memfd(proc, t, insn, patch->id, file, fsize, span, &out->ino);
	if (fd < 0)
		lp_debug(proc->ctx, "no memfd for the patch (%s): anonymous memory instead",
			 strerror(-fd));
	for (i = 0; i < nsegs; i++) {
		uint64_t s = PAGE_DOWN(segs[i].vaddr), e = PAGE_UP(segs[i].vaddr + segs[i].memsz);
		uint64_t got;

		err = remote_mmap(proc, t, insn, base + s, e - s, prot_of(segs[i].flags),
				  MAP_PRIVATE | MAP_FIXED, fd, PAGE_DOWN(segs[i].offset), &got);
		if (!err && got != base + s)
			err = -EFAULT;
		if (err) {
			err = lp_fail(proc->ctx, err, "mapping the patch in process %d failed: %s",
				      proc->pid, strerror(-err));
			goto fail_unmap;
		}
		err = lp_proc_write(proc, base + s, img + s, e - s);
		if (err) {
			err = lp_fail(proc->ctx, err, "writing the patch into process %d failed: %s",
				      proc->pid, strerror(-err));
			goto fail_unmap;
		}
	}
	for (i = 0; i < patch->nfuncs; i++)
		out->new_addr[i] = base + patch->funcs[i].new_vaddr;
	lp_info(proc->ctx, "patch mapped at %#" PRIx64 " (%" PRIu64 " bytes)", base, size);
	if (fd >= 0) /* the mappings keep the file */
		remote_close(proc, t, insn, fd);
	free(img);
	return 0;

fail_unmap:
	if (fd >= 0)
		remote_close(proc, t, insn, fd);
	remote_munmap(proc, t, insn, base, size);
fail:
	free(img);
	lp_load_free(out);
	return err;
}

int lp_unload_patch(struct lp_proc *proc, struct lp_thread *t,
		    struct lp_load *load)
{
	uint64_t insn;
	int err;

	if (!load->size)
		return 0;
	err = lp_proc_find_syscall_insn(proc, &insn);
	if (!err)
		err = remote_munmap(proc, t, insn, load->base, load->size);
	if (!err)
		load->size = 0;
	return err;
}

void lp_load_free(struct lp_load *load)
{
	free(load->new_addr);
	load->new_addr = NULL;
}

int lp_map_journal(struct lp_proc *proc, struct lp_thread *t, uint64_t size,
		   uint64_t *addr, uint64_t *ino)
{
	uint64_t insn;
	int err = lp_proc_find_syscall_insn(proc, &insn), fd;

	if (err)
		return err;
	size = PAGE_UP(size);
	fd = make_memfd(proc, t, insn, "journal", NULL, 0, size, ino);
	if (fd < 0)
		return lp_fail(proc->ctx, fd, "cannot create the patch journal in process %d: %s",
			       proc->pid, strerror(-fd));
	/* read-only for the process: only we write it, through its memory
	 * file; private, so that a child forked later gets its own copy */
	err = remote_mmap(proc, t, insn, 0, size, PROT_READ, MAP_PRIVATE, fd, 0, addr);
	remote_close(proc, t, insn, fd);
	if (err)
		return lp_fail(proc->ctx, err, "cannot map the patch journal in process %d: %s",
			       proc->pid, strerror(-err));
	return 0;
}

int lp_remote_unmap(struct lp_proc *proc, struct lp_thread *t, uint64_t addr,
		    uint64_t size)
{
	uint64_t insn;
	int err = lp_proc_find_syscall_insn(proc, &insn);

	return err ? err : remote_munmap(proc, t, insn, addr, size);
}
