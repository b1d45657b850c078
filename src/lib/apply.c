/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One apply, in the order of the design notes:
 *   1. resolve (target running): modules, build-id, every function's pad;
 *   2. load (one thread borrowed): map and relocate the patch;
 *   3. stop the world;
 *   4. verify: the bytes are as resolved, and no frame of any thread is in
 *      the bytes about to change (a PC strictly inside the entry NOPs is
 *      moved past them instead);
 *   5. commit: every pad, then every entry;
 *   6. release; on "unsafe" back off and go to 3 until the timeout.
 * On any failure the target runs on unpatched and the patch is unmapped.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define CODE_LEN (LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN)

struct func {
	const char *name;
	uint64_t addr;              /* runtime address of the symbol */
	uint64_t entry;             /* runtime address of the entry NOPs */
	struct lp_entry e;
	uint8_t orig[CODE_LEN];     /* bytes from addr - LP_PAD_LEN */
	uint8_t pad[LP_PAD_LEN];    /* what we write */
	uint8_t jmp[LP_ENTRY_LEN];
};

struct pc_move {
	size_t thread;
	uint64_t slot; /* 0: the thread's registers */
	uint64_t to;
};

struct verify {
	struct lp_world *w;
	struct func *f;
	size_t nf;
	size_t thread;
	struct pc_move *moves;
	size_t nmoves, capmoves;
	/* why the stop is unsafe */
	char why[256];
};

static int add_move(struct verify *v, uint64_t slot, uint64_t to)
{
	if (v->nmoves == v->capmoves) {
		size_t nc = v->capmoves ? v->capmoves * 2 : 16;
		struct pc_move *nm = realloc(v->moves, nc * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		v->moves = nm;
		v->capmoves = nc;
	}
	v->moves[v->nmoves++] = (struct pc_move){ v->thread, slot, to };
	return 0;
}

/*
 * Per frame: 0 to go on, 1 when the frame is in the way.  A thread may
 * resume at the first byte of the pad or of the entry: both are the start
 * of an instruction before and after the write (the NOPs ran into the
 * function before, the jumps lead to its replacement after).  Resuming
 * strictly inside either range would run half an instruction, unless the
 * PC sits between two entry NOPs: then it is moved past them.
 */
static int check_frame(void *arg, const struct lp_frame *fr, unsigned int depth)
{
	struct verify *v = arg;
	const struct lp_thread *t = &v->w->th[v->thread];
	size_t i;

	for (i = 0; i < v->nf; i++) {
		const struct func *f = &v->f[i];
		uint64_t pc = fr->pc, pad = f->addr - LP_PAD_LEN;
		bool in_pad = pc > pad && pc < f->addr;
		bool in_entry = pc > f->entry && pc < f->entry + LP_ENTRY_LEN;

		if (fr->exact && in_entry &&
		    (f->e.nop_ends & (1u << (pc - f->entry)))) {
			/* Between two NOPs: skipping the rest of them changes
			 * nothing, and the thread is out of the way. */
			if (add_move(v, fr->pc_slot, f->entry + LP_ENTRY_LEN))
				return -ENOMEM;
			continue;
		}
		if (in_pad || in_entry) {
			snprintf(v->why, sizeof(v->why),
				 "thread %d is at %s%+" PRId64 " (frame %u), in the bytes being changed",
				 t->tid, f->name, (int64_t)(pc - f->addr), depth);
			return 1;
		}
	}
	return 0;
}

/* Walk every stopped thread.  0 safe, 1 unsafe (v->why), <0 error. */
static int verify_world(struct lp_unwinder *u, struct verify *v)
{
	size_t i;

	v->nmoves = 0;
	v->why[0] = 0;
	for (i = 0; i < v->w->n; i++) {
		const struct lp_thread *t = &v->w->th[i];
		int ret;

		if (t->seized && !t->stopped && !t->gone) {
			snprintf(v->why, sizeof(v->why),
				 "thread %d did not stop (it is in an uninterruptible wait)",
				 t->tid);
			return 1;
		}
		if (!t->stopped || t->gone)
			continue;
		v->thread = i;
		ret = lp_unwind_thread(u, t, check_frame, v);
		if (ret == 1 || ret == -ENOMEM)
			return ret;
		if (ret < 0) {
			snprintf(v->why, sizeof(v->why),
				 "the stack of thread %d cannot be walked reliably (%s)",
				 t->tid, ret == -ENOENT ? "code without unwind information" :
				 ret == -E2BIG ? "too deep" : "unwind error");
			return 1;
		}
	}
	return 0;
}

/* Move the PCs recorded by the verification past the entry NOPs. */
static int apply_moves(struct lp_proc *proc, struct verify *v)
{
	size_t i;

	for (i = 0; i < v->nmoves; i++) {
		struct lp_thread *t = &v->w->th[v->moves[i].thread];

		if (!v->moves[i].slot) {
			uint64_t was = t->regs.rip;
			int err;

			/* now, not at release: if it fails, nothing is written */
			t->regs.rip = v->moves[i].to;
			err = lp_thread_set_regs(proc->ctx, t);
			if (err) {
				t->regs.rip = was;
				return err;
			}
		} else {
			int err = lp_proc_write(proc, v->moves[i].slot, &v->moves[i].to, 8);

			if (err)
				return err;
		}
		lp_debug(proc->ctx, "thread %d: pc moved past the entry NOPs to %#" PRIx64
			 "%s", t->tid, v->moves[i].to,
			 v->moves[i].slot ? " (in a signal frame)" : "");
	}
	return 0;
}

/* Write every pad, then every entry; on failure put back what was written. */
static int commit(struct lp_proc *proc, struct func *f, size_t nf)
{
	size_t i, pads = 0, entries = 0;
	int err = 0;

	for (i = 0; i < nf && !err; i++, pads++)
		err = lp_proc_write(proc, f[i].addr - LP_PAD_LEN, f[i].pad, LP_PAD_LEN);
	for (i = 0; i < nf && !err; i++, entries++)
		err = lp_proc_write(proc, f[i].entry, f[i].jmp, LP_ENTRY_LEN);
	if (!err)
		return 0;
	/* entries first, then pads: the reverse of the writes */
	for (i = 0; i < entries; i++)
		lp_proc_write(proc, f[i].entry, f[i].orig + LP_PAD_LEN + f[i].e.entry_off,
			      LP_ENTRY_LEN);
	for (i = 0; i < pads; i++)
		lp_proc_write(proc, f[i].addr - LP_PAD_LEN, f[i].orig, LP_PAD_LEN);
	return lp_fail(proc->ctx, err, "writing the jumps into process %d failed: %s",
		       proc->pid, strerror(-err));
}

/* Resolve every replaced function in the target module and check its pad. */
static int resolve_funcs(struct lp_proc *proc, const struct lp_patch *patch,
			 const struct lp_module *m, struct func *f)
{
	size_t i, j;
	int err;

	for (i = 0; i < patch->nfuncs; i++) {
		struct lp_sym sym;

		f[i].name = patch->funcs[i].old_name;
		err = lp_elf_find_symbol(m->elf, f[i].name, &sym);
		if (err == -ENOTUNIQ)
			return lp_fail(proc->ctx, -LP_ENOSYM, "%s is defined more than once in %s",
				       f[i].name, m->path);
		if (err)
			return lp_fail(proc->ctx, -LP_ENOSYM, "symbol %s not found in %s",
				       f[i].name, m->path);
		if (!sym.is_func || sym.is_ifunc)
			return lp_fail(proc->ctx, -LP_ENOPAD, "%s in %s is not a plain function",
				       f[i].name, m->path);
		f[i].addr = sym.value + m->bias;
		for (j = 0; j < i; j++)
			if (f[j].addr == f[i].addr)
				return lp_fail(proc->ctx, -LP_EBADPATCH,
					       "the patch replaces %s twice", f[i].name);
		err = lp_proc_read(proc, f[i].addr - LP_PAD_LEN, f[i].orig, CODE_LEN);
		if (err)
			return lp_fail(proc->ctx, -LP_ENOPAD, "cannot read the code of %s: %s",
				       f[i].name, strerror(-err));
		err = lp_check_pad(proc->ctx, m->elf, f[i].name, sym.value, f[i].orig,
				   CODE_LEN, &f[i].e);
		if (err)
			return err;
		f[i].entry = f[i].addr + f[i].e.entry_off;
	}
	return 0;
}

static struct lp_module *find_target(struct lp_proc *proc,
				     const struct lp_patch *patch)
{
	struct lp_module *m = lp_proc_module_by_build_id(proc, patch->build_id);
	size_t i;

	if (m)
		return m;
	for (i = 0; i < proc->nmods; i++) {
		const char *base = strrchr(proc->mods[i].path, '/');

		if (base && !strcmp(base + 1, patch->module)) {
			lp_fail(proc->ctx, -LP_EBUILDID,
				"build-id mismatch: the patch is for %s build-id %s, process %d runs %s build-id %s: rebuild the patch against the running binary",
				patch->module, patch->build_id, proc->pid,
				proc->mods[i].path,
				proc->mods[i].build_id[0] ? proc->mods[i].build_id : "(none)");
			return NULL;
		}
	}
	lp_fail(proc->ctx, -LP_EBUILDID,
		"build-id mismatch: process %d has no module with build-id %s (%s)",
		proc->pid, patch->build_id, patch->module);
	return NULL;
}

/*
 * Borrow a thread of the target (stopped) for remote system calls.  A
 * sleeping thread is best: a busy one must wait for its turn on a CPU at
 * each step, behind all its busy siblings (tests/integration/threads.sh).
 */
static int borrow_thread(struct lp_proc *proc, struct lp_thread *t)
{
	pid_t *tids;
	size_t n, i;
	int err;

	err = lp_proc_tasks(proc->pid, &tids, &n);
	if (err)
		return lp_fail(proc->ctx, -LP_EEXITED, "process %d exited", proc->pid);
	for (i = 0; i < n; i++) {
		if (lp_proc_task_state(proc->pid, tids[i]) == 'S') {
			pid_t tmp = tids[0];

			tids[0] = tids[i];
			tids[i] = tmp;
			break;
		}
	}
	err = -ESRCH;
	for (i = 0; i < n && err == -ESRCH; i++) {
		memset(t, 0, sizeof(*t));
		t->tid = tids[i];
		err = lp_thread_seize(proc->ctx, t);
		if (!err) {
			err = lp_thread_stop(proc->ctx, t);
			if (err)
				lp_thread_release(proc->ctx, t);
			else /* tests/integration/syscalls.sh */
				lp_thread_fix_eintr(proc, t);
		}
	}
	free(tids);
	if (err == -EPERM)
		return lp_fail(proc->ctx, -EPERM, "not allowed to trace process %d", proc->pid);
	if (err == -ESRCH)
		return lp_fail(proc->ctx, -LP_EEXITED, "process %d exited", proc->pid);
	if (err)
		return lp_fail(proc->ctx, err, "cannot stop process %d: %s", proc->pid,
			       strerror(-err));
	return 0;
}

static int load(struct lp_proc *proc, const struct lp_patch *patch,
		const struct lp_module *m, struct lp_load *ld)
{
	struct lp_thread t;
	uint64_t mask;
	int err = borrow_thread(proc, &t);

	if (err)
		return err;
	err = lp_remote_begin(proc, &t, &mask);
	if (!err) {
		int end_err;

		err = lp_load_patch(proc, &t, patch, m, ld);
		end_err = lp_remote_end(proc, &t, mask);
		if (end_err && !err) { /* (the thread is gone, in practice) */
			lp_unload_patch(proc, &t, ld);
			err = end_err;
		}
	}
	lp_thread_release(proc->ctx, &t);
	return err;
}

static void unload(struct lp_proc *proc, struct lp_load *ld)
{
	struct lp_thread t;
	uint64_t mask;

	if (!ld->size)
		return;
	if (borrow_thread(proc, &t)) {
		lp_warn(proc->ctx, "could not unmap the patch from process %d: %s", proc->pid,
			lp_ctx_errmsg(proc->ctx));
		return;
	}
	if (!lp_remote_begin(proc, &t, &mask)) {
		if (lp_unload_patch(proc, &t, ld))
			lp_warn(proc->ctx, "could not unmap the patch from process %d",
				proc->pid);
		lp_remote_end(proc, &t, mask);
	}
	lp_thread_release(proc->ctx, &t);
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int lp_apply(struct lp_ctx *ctx, pid_t pid, const struct lp_patch *patch,
	     const struct lp_apply_opts *opts, struct lp_apply_result *res)
{
	struct lp_proc *proc = NULL;
	struct lp_module *m;
	struct lp_unwinder *u = NULL;
	struct lp_world w = { 0 };
	struct lp_load ld = { 0 };
	struct verify v = { 0 };
	struct func *f = NULL;
	double timeout_ms = 10000, deadline, backoff = 1;
	unsigned int attempts = 0;
	pid_t tracer = 0;
	size_t i;
	int err;

	ctx->err[0] = 0;
	if (opts && opts->sz >= sizeof(*opts) && opts->timeout_s > 0)
		timeout_ms = opts->timeout_s * 1000;
	if (res)
		memset(res, 0, sizeof(*res));

	/* 1. resolve */
	err = lp_proc_open(ctx, pid, &proc);
	if (err)
		return err;
	if (!lp_proc_tracer(pid, &tracer) && tracer && tracer != getpid()) {
		err = lp_fail(ctx, -LP_ETRACED,
			      "process %d is already traced by process %d (a debugger?): detach it first",
			      pid, tracer);
		goto out;
	}
	m = find_target(proc, patch);
	if (!m) {
		err = -LP_EBUILDID;
		goto out;
	}
	f = calloc(patch->nfuncs, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		goto out;
	}
	err = resolve_funcs(proc, patch, m, f);
	if (err)
		goto out;
	err = lp_unwinder_new(proc, &u);
	if (err)
		goto out;

	/* 2. load */
	lp_debug(ctx, "resolved; loading");
	err = load(proc, patch, m, &ld);
	if (err)
		goto out;
	for (i = 0; i < patch->nfuncs; i++) {
		lp_encode_pad_jump(f[i].pad, ld.new_addr[i]);
		lp_encode_entry_jump(f[i].jmp, f[i].e.entry_off);
		lp_info(ctx, "%s at %#" PRIx64 " -> %s at %#" PRIx64, f[i].name, f[i].addr,
			patch->funcs[i].new_name, ld.new_addr[i]);
	}

	lp_debug(ctx, "loaded; stopping the world");
	w.proc = proc;
	v.w = &w;
	v.f = f;
	v.nf = patch->nfuncs;
	deadline = lp_now_ms() + timeout_ms;
	for (;;) {
		int safe;

		/* 3. stop the world */
		attempts++;
		err = lp_world_seize(&w);
		if (!err)
			err = lp_world_stop(&w);
		if (err)
			goto fail_release;
		lp_debug(ctx, "attempt %u: %zu threads stopped in %.3f ms", attempts, w.n,
			 lp_now_ms() - w.t_first_stop);
		lp_world_fix_eintr(&w);
		lp_unwinder_flush(u);

		/* 4. verify */
		for (i = 0; i < patch->nfuncs; i++) {
			uint8_t now[CODE_LEN];

			if (lp_proc_read(proc, f[i].addr - LP_PAD_LEN, now, CODE_LEN) ||
			    memcmp(now, f[i].orig, CODE_LEN)) {
				err = lp_fail(ctx, -LP_EPATCHED,
					      "the code of %s changed during the apply", f[i].name);
				goto fail_release;
			}
		}
		safe = verify_world(u, &v);
		if (safe < 0) {
			err = lp_fail(ctx, safe, "stack check failed: %s", strerror(-safe));
			goto fail_release;
		}
		lp_debug(ctx, "attempt %u: stacks walked (%s)", attempts,
			 safe ? "unsafe" : "safe");
		if (safe == 0)
			break;
		lp_world_release(&w);
		lp_info(ctx, "attempt %u unsafe: %s", attempts, v.why);
		if (lp_now_ms() + backoff > deadline) {
			err = lp_fail(ctx, -LP_EUNSAFE, "no safe point within %.1f s: %s",
				      timeout_ms / 1000, v.why);
			goto out_unload;
		}
		sleep_ms(backoff);
		if (backoff < 50)
			backoff *= 2;
	}

	/* 5. commit */
	err = apply_moves(proc, &v);
	if (!err)
		err = commit(proc, f, patch->nfuncs);
	if (err)
		goto fail_release;

	/* 6. release */
	lp_world_release(&w);
	if (res) {
		res->pause_ms = w.t_last_resume - w.t_first_stop;
		res->attempts = attempts;
		res->moved_pcs = (unsigned int)v.nmoves;
		res->nthreads = (unsigned int)w.released;
	}
	lp_info(ctx, "applied %s to process %d: %zu function%s, %u attempt%s", patch->id,
		pid, patch->nfuncs, patch->nfuncs == 1 ? "" : "s", attempts,
		attempts == 1 ? "" : "s");
	goto out;

fail_release:
	lp_world_release(&w);
out_unload:
	if (lp_proc_check_alive(proc) == 0)
		unload(proc, &ld);
	else
		err = lp_fail(ctx, -LP_EEXITED, "process %d exited during the apply", pid);
out:
	free(v.moves);
	lp_world_free(&w);
	lp_load_free(&ld);
	lp_unwinder_free(u);
	free(f);
	lp_proc_close(proc);
	return err;
}
