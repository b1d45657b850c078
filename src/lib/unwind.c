/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote stack walks.  The only file that uses libunwind.
 *
 * The stock ptrace accessors re-read the maps and re-open ELF files for
 * every thread and read memory one word per system call.  Ours read what
 * cannot change from the ELF files opened before the stop, and the rest
 * of the target's memory through a cache of 1 KiB blocks that lives for
 * one stop: nothing can change while every thread is stopped.
 *
 *  - The non-writable segments of the modules (their code, .eh_frame_hdr
 *    and .eh_frame) are read from the module's ELF image, read through
 *    /proc/PID/map_files before the stop: unwinding reads no unwind table
 *    from the target inside the pause.  The bytes a patch changes (pads
 *    and entries) are the exception: at_pad_jump() reads them from the
 *    target.
 *  - The stacks: lp_unwinder_prefetch() reads the two blocks at each
 *    stopped thread's stack pointer with process_vm_readv(), 1,024
 *    blocks a call;
 *    a frame further up is read when the walk needs it.
 *
 * A walk is reliable or it fails: a frame without unwind information, an
 * error of a step (see step()), or a stack too deep make the walk fail, and a failed
 * walk counts as unsafe (tests/integration/signal.sh, threads.sh).
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>

#include <libunwind.h>

#include "internal.h"

/* Exported by libunwind, not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define BLOCK 1024ULL
#define MAX_DEPTH 1024
#define IOV_BATCH 1024

struct block {
	uint64_t addr; /* 0: empty slot */
	int err;
	struct block *next; /* in the free list */
	uint8_t data[BLOCK];
};

/* Blocks come in chunks, kept for the unwinder's life: a stop reuses the
 * blocks of the one before, and lp_unwinder_reserve() allocates and
 * touches them before the stop (a page fault costs microseconds, and a
 * stop of 100 threads took 50 of them inside the pause). */
#define CHUNK_BLOCKS 64

struct chunk {
	struct chunk *next;
	struct block b[CHUNK_BLOCKS];
};

/* Bytes of the target at [lo, hi), as the ELF file of a module has them. */
struct image {
	uint64_t lo, hi;
	const uint8_t *bytes; /* at lo */
};

/* A batch of blocks to read in one process_vm_readv(). */
struct batch {
	struct iovec local[IOV_BATCH], remote[IOV_BATCH], merged[IOV_BATCH];
	struct block *b[IOV_BATCH];
	size_t n;
};

struct lp_unwinder {
	struct lp_proc *proc;
	unw_addr_space_t as;
	struct block **blocks; /* open addressing on the block address */
	size_t cap, used;
	struct block *free;    /* blocks not in the table */
	size_t nfree;
	struct chunk *chunks;
	struct image *img;     /* sorted, not overlapping */
	size_t nimg, last;
	struct batch *bt;
	bool learning;         /* in lp_unwinder_learn() */
	/* register states of the code seen so far (see step()) */
	struct rs_range *rr;   /* sorted, not overlapping */
	size_t nrr, rrcap, rrlast;
	uint8_t *rs;           /* the states, rs_size bytes apart */
	size_t rs_size, nrs, rscap;
};

/* Addresses [lo, hi) of a function, and their register state in u->rs. */
struct rs_range {
	uint64_t lo, hi;
	size_t idx;
};

struct walk {
	struct lp_unwinder *u;
	const struct lp_thread *t;
	bool no_info; /* a frame had no unwind information */
	uint64_t rip; /* where the walk starts (see at_pad_jump) */
};

static size_t block_hash(uint64_t addr, size_t cap)
{
	return (size_t)((addr / BLOCK) * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
}

static int cache_grow(struct lp_unwinder *u)
{
	size_t ncap = u->cap ? u->cap * 2 : 256, i;
	struct block **nb = malloc(ncap * sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	/* (written, not calloc'ed: its pages are faulted in here) */
	memset(nb, 0, ncap * sizeof(*nb));
	for (i = 0; i < u->cap; i++) {
		struct block *b = u->blocks[i];
		size_t h;

		if (!b)
			continue;
		for (h = block_hash(b->addr, ncap); nb[h]; h = (h + 1) & (ncap - 1))
			;
		nb[h] = b;
	}
	free(u->blocks);
	u->blocks = nb;
	u->cap = ncap;
	return 0;
}

static struct block *cache_find(struct lp_unwinder *u, uint64_t addr)
{
	size_t h;

	if (!u->cap)
		return NULL;
	for (h = block_hash(addr, u->cap); u->blocks[h]; h = (h + 1) & (u->cap - 1))
		if (u->blocks[h]->addr == addr)
			return u->blocks[h];
	return NULL;
}

static int add_chunk(struct lp_unwinder *u)
{
	struct chunk *c = malloc(sizeof(*c));
	size_t i;

	if (!c)
		return -ENOMEM;
	c->next = u->chunks;
	u->chunks = c;
	/* touched now, not in the pause that reads into it */
	memset(c->b, 0, sizeof(c->b));
	for (i = 0; i < CHUNK_BLOCKS; i++) {
		c->b[i].next = u->free;
		u->free = &c->b[i];
	}
	u->nfree += CHUNK_BLOCKS;
	return 0;
}

/* A new block for @addr (aligned), in the table; its data is to be read. */
static struct block *cache_add(struct lp_unwinder *u, uint64_t addr)
{
	struct block *b;
	size_t h;

	if ((u->used + 1) * 2 > u->cap && cache_grow(u))
		return NULL;
	if (!u->free && add_chunk(u))
		return NULL;
	b = u->free;
	u->free = b->next;
	u->nfree--;
	b->addr = addr;
	b->err = 0;
	for (h = block_hash(addr, u->cap); u->blocks[h]; h = (h + 1) & (u->cap - 1))
		;
	u->blocks[h] = b;
	u->used++;
	return b;
}

static const struct block *cache_block(struct lp_unwinder *u, uint64_t addr)
{
	struct block *b;

	addr &= ~(BLOCK - 1);
	b = cache_find(u, addr);
	if (b)
		return b;
	b = cache_add(u, addr);
	if (b && u->learning) {
		/* (process_vm_readv(), not lp_proc_read()'s pread(): how much a
		 * look at the running target reads varies from run to run, and
		 * the fault tests number our preads, exitrace.sh) */
		struct iovec l = { b->data, BLOCK }, r = { (void *)(uintptr_t)addr, BLOCK };

		b->err = process_vm_readv(u->proc->pid, &l, 1, &r, 1, 0) == BLOCK ? 0 : -EFAULT;
	} else if (b) {
		b->err = lp_proc_read(u->proc, addr, b->data, BLOCK);
	}
	return b;
}

/* Read target memory through the cache of this stop. */
static int mem_read(struct lp_unwinder *u, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		const struct block *b = cache_block(u, addr);
		size_t off = addr & (BLOCK - 1), n = BLOCK - off;

		if (!b || b->err)
			return -EFAULT;
		if (n > len)
			n = len;
		memcpy(out, b->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* The module file's bytes at [addr, addr + len), or NULL. */
static const uint8_t *image_at(struct lp_unwinder *u, uint64_t addr, size_t len)
{
	size_t lo = 0, hi = u->nimg;
	const struct image *m = u->nimg ? &u->img[u->last] : NULL;

	if (!m || addr < m->lo || addr >= m->hi) {
		m = NULL;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (addr < u->img[mid].lo) {
				hi = mid;
			} else if (addr >= u->img[mid].hi) {
				lo = mid + 1;
			} else {
				m = &u->img[mid];
				u->last = mid;
				break;
			}
		}
	}
	if (!m || len > m->hi - addr)
		return NULL;
	return m->bytes + (addr - m->lo);
}

/* What a walk reads: a module's file, or else the target's memory. */
static int cached_read(struct lp_unwinder *u, uint64_t addr, void *buf, size_t len)
{
	const uint8_t *p = image_at(u, addr, len);

	if (p) {
		memcpy(buf, p, len);
		return 0;
	}
	return mem_read(u, addr, buf, len);
}

int lp_unwinder_read(struct lp_unwinder *u, uint64_t addr, void *buf, size_t len)
{
	return mem_read(u, addr, buf, len);
}

void lp_unwinder_flush(struct lp_unwinder *u)
{
	size_t i;

	for (i = 0; i < u->cap; i++) {
		struct block *b = u->blocks[i];

		if (!b)
			continue;
		b->next = u->free;
		u->free = b;
		u->nfree++;
		u->blocks[i] = NULL;
	}
	u->used = 0;
	/* (the register states learnt stay: they come from the modules'
	 * unwind tables, which do not change) */
}

int lp_unwinder_reserve(struct lp_unwinder *u, size_t n)
{
	while (u->nfree < n)
		if (add_chunk(u))
			return -ENOMEM;
	while ((u->used + n) * 2 > u->cap)
		if (cache_grow(u))
			return -ENOMEM;
	/* touch what the stop will write (add_chunk() touched the blocks) */
	memset(u->bt, 0, sizeof(*u->bt));
	return 0;
}

/*
 * Can the target hold a pad's jump at @pc?  A patch writes its jump only
 * over a pad of NOPs: where the module's file has a byte no NOP starts
 * with (no NOP opcode, prefix or REX), the target has that byte too, and
 * no jump.  Else only the target can tell.
 */
static bool pad_jump_possible(struct lp_unwinder *u, uint64_t pc)
{
	const uint8_t *file = image_at(u, pc, 1);

	return !file || *file == 0x90 || *file == 0x0f || (*file & 0xf0) == 0x40 ||
	       *file == 0x26 || *file == 0x2e || *file == 0x36 || *file == 0x3e ||
	       (*file >= 0x64 && *file <= 0x67) || *file == 0xf2 || *file == 0xf3;
}


/* Read @n blocks, already in the table, with as few calls as the
 * target's mappings allow; a block that cannot be read this way is read
 * again by lp_proc_read() if a walk needs it. */
static void read_blocks(struct lp_unwinder *u, struct block **b, struct iovec *local,
			struct iovec *remote, size_t n)
{
	size_t done = 0, i;

	while (done < n) {
		/* neighbouring blocks in one remote iovec: the kernel pins each
		 * iovec's pages separately (a stop's reads: 300 to 100 us) */
		struct iovec *rv = u->bt->merged;
		size_t nr = 0;
		ssize_t r;
		size_t k;

		for (i = done; i < n; i++) {
			if (nr && (char *)rv[nr - 1].iov_base + rv[nr - 1].iov_len ==
				  (char *)remote[i].iov_base)
				rv[nr - 1].iov_len += remote[i].iov_len;
			else
				rv[nr++] = remote[i];
		}
		r = process_vm_readv(u->proc->pid, local + done, n - done, rv, nr, 0);
		if (r < 0 && errno != EFAULT) {
			/* not the address: the call itself (a process whose
			 * main thread has ended has no memory to read by its
			 * PID); lp_proc_read() goes through a live thread */
			for (i = done; i < n; i++)
				b[i]->err = lp_proc_read(u->proc, b[i]->addr, b[i]->data, BLOCK);
			return;
		}
		/* blocks do not cross pages: each is read whole or not at all;
		 * the one that stopped the call is read alone, and the call
		 * goes on after it */
		k = r < 0 ? 0 : (size_t)r / BLOCK;
		done += k;
		if (done < n) {
			b[done]->err = lp_proc_read(u->proc, b[done]->addr, b[done]->data, BLOCK);
			done++;
		}
	}
}

static void batch_add(struct lp_unwinder *u, struct batch *bt, uint64_t addr)
{
	struct block *nb;

	if (!addr || cache_find(u, addr) || !(nb = cache_add(u, addr)))
		return;
	bt->b[bt->n] = nb;
	bt->local[bt->n] = (struct iovec){ nb->data, BLOCK };
	bt->remote[bt->n] = (struct iovec){ (void *)(uintptr_t)addr, BLOCK };
	if (++bt->n == IOV_BATCH) {
		read_blocks(u, bt->b, bt->local, bt->remote, bt->n);
		bt->n = 0;
	}
}

/* The top of @t's stack (and the red zone below it, which a scan for
 * pointers reads), and its code if at_pad_jump() will have to look. */
static void batch_thread(struct lp_unwinder *u, struct batch *bt, const struct lp_thread *t)
{
	uint64_t top = t->regs.rsp & ~(BLOCK - 1);

	if (!t->stopped || t->gone)
		return;
	/* in address order, so that read_blocks() can merge them */
	batch_add(u, bt, (t->regs.rsp - 128) & ~(BLOCK - 1));
	batch_add(u, bt, top);
	batch_add(u, bt, top + BLOCK);
	if (pad_jump_possible(u, t->regs.rip))
		batch_add(u, bt, t->regs.rip & ~(BLOCK - 1));
}

void lp_unwinder_prefetch(struct lp_unwinder *u, const struct lp_world *w)
{
	struct batch *bt = u->bt;
	size_t i;

	bt->n = 0;
	for (i = 0; i < w->n; i++)
		batch_thread(u, bt, &w->th[i]);
	read_blocks(u, bt->b, bt->local, bt->remote, bt->n);
}

void lp_unwinder_prefetch_ranges(struct lp_unwinder *u, const uint64_t (*r)[2], size_t n)
{
	struct batch *bt = u->bt;
	size_t i;

	bt->n = 0;
	for (i = 0; i < n; i++) {
		uint64_t a;

		for (a = r[i][0] & ~(BLOCK - 1); a < r[i][1]; a += BLOCK)
			batch_add(u, bt, a);
	}
	read_blocks(u, bt->b, bt->local, bt->remote, bt->n);
}

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip,
			      unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	struct walk *w = arg;
	struct lp_module *m = lp_proc_module_at(w->u->proc, ip);
	unw_dyn_info_t di;
	int ret;

	if (!m || !m->eh_table) {
		w->no_info = true;
		return -UNW_ENOINFO;
	}
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->text_lo;
	di.end_ip = m->text_hi;
	di.u.rti.segbase = m->eh_hdr;
	di.u.rti.table_data = m->eh_table;
	di.u.rti.table_len = m->eh_count * 8 / sizeof(unw_word_t);
	ret = _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	if (ret == -UNW_ENOINFO)
		w->no_info = true;
	return ret;
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as;
	(void)pi;
	(void)arg;
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr,
				      void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
			  int write, void *arg)
{
	struct walk *w = arg;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	return cached_read(w->u, addr, val, sizeof(*val)) ? -UNW_EINVAL : 0;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
			  int write, void *arg)
{
	const struct user_regs_struct *r = &((struct walk *)arg)->t->regs;

	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = ((struct walk *)arg)->rip; break;
	default:
		return -UNW_EBADREG;
	}
	return 0;
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			    unw_fpreg_t *val, int write, void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static int acc_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			     size_t len, unw_word_t *off, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)off;
	(void)arg;
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = acc_find_proc_info,
	.put_unwind_info = acc_put_unwind_info,
	.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
	.access_mem = acc_access_mem,
	.access_reg = acc_access_reg,
	.access_fpreg = acc_access_fpreg,
	.resume = acc_resume,
	.get_proc_name = acc_get_proc_name,
};

static int image_cmp(const void *a, const void *b)
{
	const struct image *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/*
 * The non-writable, file-backed segments of the modules: what a walk
 * reads of them comes from the ELF images opened before the stop (a
 * module's text and unwind tables do not change but where a patch writes,
 * see at_pad_jump()).  Writable segments (and their relocated data) are
 * read from the target.
 */
static int add_images(struct lp_unwinder *u)
{
	struct lp_proc *proc = u->proc;
	size_t i, k, n = 0;

	for (i = 0; i < proc->nmods; i++) {
		const struct lp_segment *segs;

		if (proc->mods[i].elf)
			n += lp_elf_segments(proc->mods[i].elf, &segs);
	}
	u->img = calloc(n + 1, sizeof(*u->img));
	if (!u->img)
		return -ENOMEM;
	for (i = 0; i < proc->nmods; i++) {
		const struct lp_module *m = &proc->mods[i];
		const struct lp_segment *segs;
		const uint8_t *image;
		size_t size, nsegs;

		if (!m->elf)
			continue;
		image = lp_elf_image(m->elf, &size);
		nsegs = lp_elf_segments(m->elf, &segs);
		for (k = 0; k < nsegs; k++) {
			const struct lp_segment *g = &segs[k];

			if ((g->flags & PF_W) || !g->filesz || g->offset > size ||
			    g->filesz > size - g->offset)
				continue;
			u->img[u->nimg++] = (struct image){ g->vaddr + m->bias,
							    g->vaddr + m->bias + g->filesz,
							    image + g->offset };
		}
	}
	qsort(u->img, u->nimg, sizeof(*u->img), image_cmp);
	/* two modules never overlap in the process; drop what would */
	for (i = 1, k = 1; i < u->nimg; i++)
		if (u->img[i].lo >= u->img[k - 1].hi)
			u->img[k++] = u->img[i];
	if (u->nimg)
		u->nimg = k;
	return 0;
}

int lp_unwinder_new(struct lp_proc *proc, struct lp_unwinder **out)
{
	struct lp_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->proc = proc;
	u->bt = malloc(sizeof(*u->bt));
	if (!u->bt || add_images(u)) {
		free(u->bt);
		free(u);
		return -ENOMEM;
	}
	u->as = unw_create_addr_space(&accessors, 0);
	if (!u->as) {
		free(u->img);
		free(u->bt);
		free(u);
		return -ENOMEM;
	}
	/* (step() keeps the cache: libunwind's would take a lock a frame) */
	unw_set_caching_policy(u->as, UNW_CACHE_NONE);
	*out = u;
	return 0;
}

void lp_unwinder_free(struct lp_unwinder *u)
{
	if (!u)
		return;
	lp_unwinder_flush(u);
	while (u->chunks) {
		struct chunk *c = u->chunks;

		u->chunks = c->next;
		free(c);
	}
	free(u->blocks);
	free(u->img);
	free(u->bt);
	free(u->rr);
	free(u->rs);
	unw_destroy_addr_space(u->as);
	free(u);
}

/* The kernel's signal return trampoline (glibc's __restore_rt):
 * mov $15, %rax; syscall */
static bool is_sigreturn(struct lp_unwinder *u, uint64_t pc)
{
	static const uint8_t code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00,
					0x0f, 0x05 };
	uint8_t buf[sizeof(code)];

	return !cached_read(u, pc, buf, sizeof(buf)) && !memcmp(buf, code, sizeof(code));
}

/*
 * A thread that took a patched function's entry jump and is about to run
 * the pad's jump (jmp *0(%rip) at f-14) is in bytes no unwind table covers:
 * the compiler's tables start at the function.  Nothing has run since the
 * call, so the frame is the one at the function's start: walk from there.
 */
static bool at_pad_jump(struct lp_unwinder *u, uint64_t pc)
{
	static const uint8_t jmp[] = { 0xff, 0x25, 0, 0, 0, 0 };
	uint8_t buf[sizeof(jmp)];

	return pad_jump_possible(u, pc) && !mem_read(u, pc, buf, sizeof(buf)) &&
	       !memcmp(buf, jmp, sizeof(jmp));
}

/* Is there unwind information for @pc? */
static bool has_info(struct lp_unwinder *u, const struct lp_thread *t, uint64_t pc)
{
	struct walk probe = { .u = u, .t = t, .rip = pc };
	unw_proc_info_t pi;

	return acc_find_proc_info(u->as, pc, &pi, 0, &probe) == 0 && !probe.no_info;
}

/*
 * A thread stopped just after the syscall instruction of clone() or
 * clone3() (the kernel stops a new thread on its way out of its first
 * system call, and its creator on the way out of the same call) may be in
 * bytes no unwind table covers: glibc's clone3 ends its table at the
 * syscall instruction and starts the next one after the return to the
 * creator.
 *  - The new thread (rax 0) has run nothing yet: its stack holds no
 *    frame at all, and its walk is the one frame where it is.
 *  - Its creator: the system call changed no register the frame's rule
 *    uses (only rax, rcx and r11), so the rule of the instruction before
 *    the syscall holds; the walk starts there.
 * Returns 1 for a new thread, 0 otherwise (*rip moved for a creator).
 */
static int after_clone(struct lp_unwinder *u, const struct lp_thread *t, uint64_t *rip)
{
	uint64_t pc = t->regs.rip;
	uint8_t sc[2];

	if ((t->regs.orig_rax != SYS_clone && t->regs.orig_rax != SYS_clone3) || pc < 3 ||
	    cached_read(u, pc - 2, sc, sizeof(sc)) || sc[0] != 0x0f || sc[1] != 0x05)
		return 0;
	if (t->regs.rax == 0)
		return 1;
	if (!has_info(u, t, pc) && has_info(u, t, pc - 3))
		*rip = pc - 3;
	return 0;
}

/*
 * A thread in a pad's NOPs (it took the entry jump of a patch that was
 * reverted before it ran on, and now slides through the NOPs into the
 * function) is in bytes no unwind table covers.  NOPs change nothing but
 * the PC: the frame is the one at the first byte after them, the
 * function's first, so the walk starts there.
 */
static uint64_t past_pad_nops(struct lp_unwinder *u, const struct lp_thread *t, uint64_t pc)
{
	const uint8_t *file = image_at(u, pc, 1);
	uint8_t b[LP_PAD_LEN];
	size_t k;

	if (!file || *file != 0x90 || mem_read(u, pc, b, sizeof(b)) || has_info(u, t, pc))
		return pc;
	for (k = 0; k < LP_PAD_LEN && b[k] == 0x90; k++)
		if (has_info(u, t, pc + k + 1))
			return pc + k + 1;
	return pc;
}

/*
 * Walking a frame up.  unw_step() takes a lock around libunwind's cache of
 * register states, and that lock blocks and unblocks every signal: two
 * system calls a frame, which were most of the cost of a walk (10 threads:
 * 30 of 55 us in the pause; 1,000 threads: 2 ms).  The walks keep their
 * own cache instead, free of locks: the first time an address of a
 * function is seen, unw_reg_states_iterate() gives the register state of
 * each of its address ranges (the rules unw_step() would derive from the
 * same unwind table), and a step applies the one of its range with
 * unw_apply_reg_state().
 */
static struct rs_range *rs_find(struct lp_unwinder *u, uint64_t x)
{
	size_t lo = 0, hi = u->nrr;

	if (u->nrr && x >= u->rr[u->rrlast].lo && x < u->rr[u->rrlast].hi)
		return &u->rr[u->rrlast];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x < u->rr[mid].lo) {
			hi = mid;
		} else if (x >= u->rr[mid].hi) {
			lo = mid + 1;
		} else {
			u->rrlast = mid;
			return &u->rr[mid];
		}
	}
	return NULL;
}

/* unw_reg_states_iterate()'s callback: one range, kept unless it overlaps
 * one already known. */
static int rs_add(void *token, void *rs, size_t size, unw_word_t lo, unw_word_t hi)
{
	struct lp_unwinder *u = token;
	size_t a = 0, b = u->nrr;

	if (lo >= hi)
		return 0;
	if (!u->rs_size)
		u->rs_size = (size + 15) & ~(size_t)15;
	if (size > u->rs_size)
		return -UNW_EINVAL;
	while (a < b) {
		size_t mid = (a + b) / 2;

		if (u->rr[mid].lo < lo)
			a = mid + 1;
		else
			b = mid;
	}
	if ((a < u->nrr && u->rr[a].lo < hi) || (a > 0 && u->rr[a - 1].hi > lo))
		return 0;
	if (lp_grow(&u->rr, &u->rrcap, u->nrr, sizeof(*u->rr), 256) ||
	    lp_grow(&u->rs, &u->rscap, u->nrs, u->rs_size, 256))
		return -UNW_ENOMEM;
	memcpy(u->rs + u->nrs * u->rs_size, rs, size);
	memmove(&u->rr[a + 1], &u->rr[a], (u->nrr - a) * sizeof(*u->rr));
	u->rr[a] = (struct rs_range){ lo, hi, u->nrs++ };
	u->nrr++;
	u->rrlast = a;
	return 0;
}

/* Learn the register states of the function at @x. */
static int rs_learn(struct lp_unwinder *u, struct walk *w, uint64_t x)
{
	struct walk probe = { .u = u, .t = w->t, .rip = x };
	unw_cursor_t c;
	int ret;

	/* a cursor at @x: its first lookup is @x itself */
	if (unw_init_remote(&c, u->as, &probe) < 0)
		return -UNW_EUNSPEC;
	ret = unw_reg_states_iterate(&c, rs_add, u);
	if (probe.no_info)
		w->no_info = true;
	return ret;
}

/*
 * One frame up from @cur, at @ip: exact (where the thread is, or was when
 * a signal came) or a return address, whose call is the byte before.  As
 * unw_step(): 1, 0 at the end of the stack, or an error.
 */
static int step(struct lp_unwinder *u, struct walk *w, unw_cursor_t *cur, uint64_t ip,
		bool exact)
{
	uint64_t x = exact ? ip : ip - 1;
	struct rs_range *r = rs_find(u, x);
	unw_save_loc_t sl;
	int ret;

	if (!r) {
		ret = rs_learn(u, w, x);
		if (ret < 0)
			return ret;
		r = rs_find(u, x);
		if (!r) {
			w->no_info = true;
			return -UNW_ENOINFO;
		}
	}
	ret = unw_apply_reg_state(cur, u->rs + r->idx * u->rs_size);
	if (ret <= 0)
		return ret;
	/* the x86-64 ABI's other mark of the stack's end: RBP undefined */
	if (!unw_get_save_loc(cur, UNW_X86_64_RBP, &sl) && sl.type == UNW_SLT_NONE)
		return 0;
	return ret;
}

void lp_unwinder_learn(struct lp_unwinder *u, const struct user_regs_struct *regs)
{
	struct lp_thread t = { .stopped = true, .regs = *regs };
	struct walk w = { .u = u, .t = &t, .rip = regs->rip };
	unw_cursor_t cur;
	unsigned int depth;

	u->learning = true;
	if (!regs->rsp) {
		if (!rs_find(u, regs->rip))
			rs_learn(u, &w, regs->rip);
	} else if (unw_init_remote(&cur, u->as, &w) >= 0) {
		for (depth = 0; depth < 64; depth++) {
			unw_word_t ip;

			if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 ||
			    step(u, &w, &cur, ip, depth == 0) <= 0 || w.no_info)
				break;
		}
	}
	u->learning = false;
	/* (what was read of the target is not kept: it may run on) */
	lp_unwinder_flush(u);
}

/*
 * A thread that runs cannot be asked where it is (its registers need a
 * stop), so the walk of a busy thread met the functions of its call chain
 * for the first time inside the pause: 4 of them, 11 to 22 us of a 0.2
 * ms pause of 10 busy threads.  Every pthread's stack starts with the
 * same frames (clone3, start_thread, the thread's function), at the top
 * of a mapping that has the stack's guard page right below it: the words
 * there that point just after a call instruction in a module's code are
 * return addresses, whose functions are learnt before the stop.  Nothing
 * here decides anything: a word taken for a return address that is not
 * one costs the learning of a function, no more.
 */
#define STACKS_LOOKED 4
#define STACK_TOP_BYTES 16384
#define STACK_LEARNS 32

/* The bytes before @ra in the module's file make a call instruction. */
static bool after_call(struct lp_unwinder *u, uint64_t ra)
{
	const uint8_t *b = image_at(u, ra - 7, 7);

	/* call rel32; then call *r/m (ff /2) of 2 to 7 bytes: *%reg,
	 * *(%reg), *disp8(%reg), the same with a SIB byte, *disp32(%reg)
	 * or *disp32(%rip), and *disp32 with a SIB byte */
	return b && (b[2] == 0xe8 || (b[5] == 0xff && ((b[6] >> 3) & 7) == 2) ||
		     (b[4] == 0xff && ((b[5] >> 3) & 7) == 2) ||
		     (b[3] == 0xff && ((b[4] >> 3) & 7) == 2) ||
		     (b[1] == 0xff && ((b[2] >> 3) & 7) == 2) ||
		     (b[0] == 0xff && ((b[1] >> 3) & 7) == 2));
}

/* Up to @max stacks of threads: [lo, hi) of the mappings right above a
 * guard page, as pthread_create() maps them. */
static size_t thread_stacks(const struct lp_proc *proc, uint64_t (*st)[2], size_t max)
{
	char path[96], line[512];
	uint64_t guard_end = 0;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maps", proc->dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && lp_maps_gets(line, sizeof(line), f)) {
		struct lp_maps_line ml;

		if (lp_maps_parse(line, &ml) || ml.inode || ml.name[0]) {
			guard_end = 0;
			continue;
		}
		if (!strcmp(ml.perms, "---p")) {
			guard_end = ml.end;
			continue;
		}
		if (!strcmp(ml.perms, "rw-p") && ml.start == guard_end) {
			st[n][0] = ml.start;
			st[n][1] = ml.end;
			n++;
		}
		guard_end = 0;
	}
	fclose(f);
	return n;
}

void lp_unwinder_learn_stacks(struct lp_unwinder *u)
{
	struct lp_thread t = { .stopped = true };
	struct walk w = { .u = u, .t = &t };
	uint64_t st[STACKS_LOOKED][2], *top, lo = UINT64_MAX, hi = 0;
	size_t n, i, k, learnt = 0;

	/* (most words are no code address: one look at the span of every
	 * module's code before the search for the module) */
	for (i = 0; i < u->proc->nmods; i++) {
		const struct lp_module *m = &u->proc->mods[i];

		if (m->eh_table && m->text_lo < lo)
			lo = m->text_lo;
		if (m->eh_table && m->text_hi > hi)
			hi = m->text_hi;
	}
	n = lo < hi ? thread_stacks(u->proc, st, STACKS_LOOKED) : 0;
	top = n ? malloc(STACK_TOP_BYTES) : NULL;
	if (!top)
		return;
	u->learning = true;
	for (i = 0; i < n && learnt < STACK_LEARNS; i++) {
		uint64_t len = st[i][1] - st[i][0];
		struct iovec l, r;
		ssize_t got;

		if (len > STACK_TOP_BYTES)
			len = STACK_TOP_BYTES;
		l = (struct iovec){ top, len };
		r = (struct iovec){ (void *)(uintptr_t)(st[i][1] - len), len };
		got = process_vm_readv(u->proc->pid, &l, 1, &r, 1, 0);
		for (k = 0; got > 0 && k < (size_t)got / 8 && learnt < STACK_LEARNS; k++) {
			const struct lp_module *m;
			uint64_t x = top[k] - 1;

			if (top[k] <= lo || top[k] > hi)
				continue;
			m = lp_proc_module_at(u->proc, top[k]);
			if (!m || !m->eh_table || top[k] <= m->text_lo || top[k] > m->text_hi ||
			    rs_find(u, x) || !after_call(u, top[k]))
				continue;
			w.rip = t.regs.rip = x;
			w.no_info = false;
			rs_learn(u, &w, x);
			learnt++;
		}
	}
	u->learning = false;
	lp_unwinder_flush(u);
	free(top);
}

int lp_unwind_thread(struct lp_unwinder *u, const struct lp_thread *t,
		     lp_frame_fn fn, void *arg)
{
	struct walk w = { .u = u, .t = t, .rip = t->regs.rip };
	unw_cursor_t cur;
	struct lp_frame f = { .exact = true };
	unsigned int depth;
	int ret;

	if (after_clone(u, t, &w.rip) == 1) {
		f.pc = t->regs.rip;
		f.sp = t->regs.rsp;
		return fn(arg, &f, 0);
	}
	if (at_pad_jump(u, w.rip))
		w.rip += LP_PAD_LEN;
	else
		w.rip = past_pad_nops(u, t, w.rip);
	ret = unw_init_remote(&cur, u->as, &w);
	if (ret < 0)
		return -EIO;
	for (depth = 0; depth < MAX_DEPTH; depth++) {
		unw_word_t ip, sp;
		bool sig;

		unw_word_t at;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cur, UNW_REG_SP, &sp) < 0)
			return -EIO;
		at = ip;
		if (depth == 0)
			ip = t->regs.rip; /* the frame is where the thread is */
		f.pc = ip;
		f.sp = sp;
		ret = fn(arg, &f, depth);
		if (ret)
			return ret;
		sig = is_sigreturn(u, ip);
		ret = step(u, &w, &cur, at, f.exact);
		if (w.no_info)
			return -ENOENT;
		if (ret <= 0)
			return ret < 0 ? -EIO : 0;
		/*
		 * Below a signal frame the PC is exact (where the thread was
		 * interrupted), saved in the ucontext that starts at the
		 * trampoline frame's stack pointer.
		 */
		f.exact = sig;
		f.pc_slot = sig ? sp + offsetof(ucontext_t, uc_mcontext.gregs) +
				  REG_RIP * sizeof(greg_t) : 0;
		if (sig) {
			uint64_t saved;

			if (cached_read(u, f.pc_slot, &saved, 8) ||
			    unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || saved != ip)
				return -EIO; /* not the frame layout we know */
		}
	}
	return -E2BIG;
}
