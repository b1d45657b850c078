/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote stack walks.  The only file that uses libunwind.
 *
 * The stock ptrace accessors re-read the maps and re-open ELF files for
 * every thread and read memory one word per system call.  Ours use the
 * module table built before the stop (each module's .eh_frame_hdr search
 * table), the registers already fetched for each thread, and a page cache
 * of the target's memory that lives for one stop: nothing can change
 * while every thread is stopped.
 *
 * A walk is reliable or it fails: a frame without unwind information, an
 * unw_step() error, or a stack too deep make the walk fail, and a failed
 * walk counts as unsafe (tests/integration/signal.sh, threads.sh).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <libunwind.h>

#include "internal.h"

/* Exported by libunwind, not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define PAGE 4096ULL
#define MAX_DEPTH 1024

struct page {
	uint64_t addr; /* 0: empty slot */
	int err;
	uint8_t data[PAGE];
};

struct lp_unwinder {
	struct lp_proc *proc;
	unw_addr_space_t as;
	struct page **pages; /* open addressing on the page address */
	size_t cap, used;
};

struct walk {
	struct lp_unwinder *u;
	const struct lp_thread *t;
	bool no_info; /* a frame had no unwind information */
	uint64_t rip; /* where the walk starts (see at_pad_jump) */
};

static size_t page_hash(uint64_t addr, size_t cap)
{
	return (size_t)((addr / PAGE) * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
}

static int cache_grow(struct lp_unwinder *u)
{
	size_t ncap = u->cap ? u->cap * 2 : 256, i;
	struct page **np = calloc(ncap, sizeof(*np));

	if (!np)
		return -ENOMEM;
	for (i = 0; i < u->cap; i++) {
		struct page *p = u->pages[i];
		size_t h;

		if (!p)
			continue;
		for (h = page_hash(p->addr, ncap); np[h]; h = (h + 1) & (ncap - 1))
			;
		np[h] = p;
	}
	free(u->pages);
	u->pages = np;
	u->cap = ncap;
	return 0;
}

static const struct page *cache_page(struct lp_unwinder *u, uint64_t addr)
{
	struct page *p;
	size_t h;

	addr &= ~(PAGE - 1);
	if (u->cap) {
		for (h = page_hash(addr, u->cap); u->pages[h]; h = (h + 1) & (u->cap - 1))
			if (u->pages[h]->addr == addr)
				return u->pages[h];
	}
	if ((u->used + 1) * 2 > u->cap && cache_grow(u))
		return NULL;
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	p->addr = addr;
	p->err = lp_proc_read(u->proc, addr, p->data, PAGE);
	for (h = page_hash(addr, u->cap); u->pages[h]; h = (h + 1) & (u->cap - 1))
		;
	u->pages[h] = p;
	u->used++;
	return p;
}

/* Read target memory through the cache of this stop. */
static int cached_read(struct lp_unwinder *u, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		const struct page *p = cache_page(u, addr);
		size_t off = addr & (PAGE - 1), n = PAGE - off;

		if (!p || p->err)
			return -EFAULT;
		if (n > len)
			n = len;
		memcpy(out, p->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

void lp_unwinder_flush(struct lp_unwinder *u)
{
	size_t i;

	for (i = 0; i < u->cap; i++) {
		free(u->pages[i]);
		u->pages[i] = NULL;
	}
	u->used = 0;
	unw_flush_cache(u->as, 0, 0);
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

int lp_unwinder_new(struct lp_proc *proc, struct lp_unwinder **out)
{
	struct lp_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->proc = proc;
	u->as = unw_create_addr_space(&accessors, 0);
	if (!u->as) {
		free(u);
		return -ENOMEM;
	}
	unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	*out = u;
	return 0;
}

void lp_unwinder_free(struct lp_unwinder *u)
{
	if (!u)
		return;
	lp_unwinder_flush(u);
	free(u->pages);
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

	return !cached_read(u, pc, buf, sizeof(buf)) && !memcmp(buf, jmp, sizeof(jmp));
}

int lp_unwind_thread(struct lp_unwinder *u, const struct lp_thread *t,
		     lp_frame_fn fn, void *arg)
{
	struct walk w = { .u = u, .t = t, .rip = t->regs.rip };
	unw_cursor_t cur;
	struct lp_frame f = { .exact = true };
	unsigned int depth;
	int ret;

	if (at_pad_jump(u, w.rip))
		w.rip += LP_PAD_LEN;
	ret = unw_init_remote(&cur, u->as, &w);
	if (ret < 0)
		return -EIO;
	for (depth = 0; depth < MAX_DEPTH; depth++) {
		unw_word_t ip, sp;
		bool sig;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cur, UNW_REG_SP, &sp) < 0)
			return -EIO;
		if (depth == 0)
			ip = t->regs.rip; /* the frame is where the thread is */
		f.pc = ip;
		f.sp = sp;
		ret = fn(arg, &f, depth);
		if (ret)
			return ret;
		sig = is_sigreturn(u, ip);
		ret = unw_step(&cur);
		if (ret == 0)
			return w.no_info ? -ENOENT : 0;
		if (ret < 0 || w.no_info)
			return ret < 0 ? -EIO : -ENOENT;
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
