/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Apply, revert and clean up: one transaction each, in the order of the
 * design notes:
 *   1. resolve (target running): the journal, modules, build-ids, every
 *      function's pad; what each changed function's bytes are now and
 *      what they must become;
 *   2. load (one thread borrowed): map and relocate the patch, and a
 *      bigger journal mapping if the record will not fit;
 *   3. stop the world;
 *   4. verify: the journal and the bytes are as read, and no frame of any
 *      thread is in the bytes about to change (a PC strictly inside the
 *      entry NOPs is moved past them instead); note which reverted
 *      patches' code some frame still runs in;
 *   5. commit: the journal says what is under way, then every pad that
 *      gets a jump, every entry, every pad that gets its NOPs back, and
 *      the journal says it is done;
 *   6. release; on "unsafe" back off and go to 3 until the timeout;
 *   7. clean up (one thread borrowed): unmap the code of reverted patches
 *      that no frame holds, and journal copies no longer in use.
 * On any failure before the commit the target runs on as it was, and what
 * step 2 mapped is unmapped.
 *
 * Stacking: a function has one pad, so the newest applied patch that
 * replaces it owns the pad's jump; reverting it points the pad at the
 * next newest, or puts the original bytes (kept in the journal) back.
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

/* One function whose bytes the transaction changes. */
struct change {
	const char *name;
	uint64_t addr;              /* runtime address of the symbol */
	uint64_t entry;             /* runtime address of the entry NOPs */
	unsigned int entry_off;
	struct lp_entry e;          /* NOP layout, when the entry is NOPs now */
	bool nops_now;
	bool jump_after;
	/* the version that stops running (strict mode): its body */
	uint64_t old_lo, old_hi;
	/* a run that was killed may have left the bytes as they were before
	 * its transaction, in part: each of pad and entry may hold these */
	bool has_alt;
	uint8_t alt[LP_CODE_LEN];
	uint8_t orig[LP_CODE_LEN];  /* before any patch */
	uint8_t now[LP_CODE_LEN];   /* what must be there now */
	uint8_t want[LP_CODE_LEN];  /* what we write */
};

/* A journal image made before the stop (journal_prepare()). */
struct jimage {
	uint8_t *img;
	size_t len;
	uint64_t gen, key;
	int64_t time;
	bool ok;
};

/* A patch's code that may be unmapped, if no frame is in it. */
struct unmap {
	uint64_t start, end;
	uint64_t ino;               /* of the mapping at start, as read */
	char id[32];                /* as in the mapping's name */
	ssize_t rec;                /* its journal record, -1 for none */
	uint64_t text_lo, text_hi;  /* its code, if it is a module */
	bool in_use;
};

struct pc_move {
	size_t thread;
	uint64_t slot; /* 0: the thread's registers */
	uint64_t to;
};

struct txn {
	struct lp_ctx *ctx;
	struct lp_proc *proc;
	struct lp_journal *j;
	const struct lp_patch *patch;  /* to apply, or NULL */
	struct lp_jpatch rec;          /* its record */
	bool *drop;                    /* per journal record: reverted now */
	bool *repair;                  /* per journal record: interrupted */
	struct change *c;
	size_t nc;
	struct unmap *um;
	size_t num;
	struct lp_load ld;
	uint64_t ld_ino;               /* its mapping's inode (0: anonymous) */
	uint64_t jaddr, jsize;         /* where the journal is written */
	uint64_t jino;                 /* that mapping's inode */
	bool jnew;                     /* a mapping made by this transaction */
	uint64_t jfinal;               /* generation of the final journal written */
	/* verification of one stop */
	struct lp_world *w;
	size_t thread;
	uint64_t last_pc;              /* the last frame walked */
	struct pc_move *moves;
	size_t nmoves, capmoves;
	uint64_t *sps;                 /* stack pointers of the frames walked */
	size_t nsps, capsps;
	uint64_t (*ranges)[2];         /* live parts of the stacks walked */
	size_t nranges, capranges;
	struct span *spans;            /* the code changed, in spans */
	size_t nspans;
	struct change **order;         /* the changes by address */
	struct jimage jpre[3];         /* the journal: applying, final (x2) */
	char why[256];                 /* why the stop is unsafe */
	char why_frame[256];           /* the last frame found in the way */
	enum lp_mode mode;
};

static void code_with_jump(uint8_t out[LP_CODE_LEN], const uint8_t orig[LP_CODE_LEN],
			   unsigned int entry_off, uint64_t target)
{
	memcpy(out, orig, LP_CODE_LEN);
	lp_encode_pad_jump(out, target);
	lp_encode_entry_jump(out + LP_PAD_LEN + entry_off, entry_off);
}

/* Are the pad's bytes from @pc up to the function NOPs now? */
static bool pad_nops_from(const struct change *c, uint64_t pc)
{
	size_t k;

	for (k = pc - (c->addr - LP_PAD_LEN); k < LP_PAD_LEN; k++)
		if (c->now[k] != 0x90)
			return false;
	return true;
}

static int add_move(struct txn *x, uint64_t slot, uint64_t to)
{
	if (lp_grow(&x->moves, &x->capmoves, x->nmoves, sizeof(*x->moves), 16))
		return -ENOMEM;
	x->moves[x->nmoves++] = (struct pc_move){ x->thread, slot, to };
	return 0;
}

/*
 * Per frame: 0 to go on, 1 when the frame is in the way.  A thread may
 * resume at the first byte of the pad or of the entry: both are the start
 * of an instruction before and after the write (the NOPs ran into the
 * function before, the jumps lead to its replacement after, and the other
 * way round for a revert).  Resuming strictly inside either range would
 * run half an instruction, unless the PC sits between two entry NOPs:
 * then it is moved past them.  A frame in a reverted patch's code keeps
 * that code mapped.
 */
static int check_frame(void *arg, const struct lp_frame *fr, unsigned int depth)
{
	struct txn *x = arg;
	const struct lp_thread *t = &x->w->th[x->thread];
	uint64_t pc = fr->pc;
	size_t i;

	x->last_pc = pc;
	for (i = 0; i < x->num; i++)
		if (pc >= x->um[i].start && pc < x->um[i].end)
			x->um[i].in_use = true;
	if (x->num) {
		/* the frames bound the part of the stack to scan for pointers */
		if (lp_grow(&x->sps, &x->capsps, x->nsps, sizeof(*x->sps), 64))
			return -ENOMEM;
		x->sps[x->nsps++] = fr->sp;
	}
	for (i = 0; i < x->nc; i++) {
		const struct change *c = &x->c[i];
		uint64_t pad = c->addr - LP_PAD_LEN;
		bool in_pad = pc > pad && pc < c->addr;
		bool in_entry = pc > c->entry && pc < c->entry + LP_ENTRY_LEN;

		if (fr->exact && in_entry && c->nops_now &&
		    (c->e.nop_ends & (1u << (pc - c->entry)))) {
			/* Between two NOPs: skipping the rest of them changes
			 * nothing, and the thread is out of the way. */
			if (add_move(x, fr->pc_slot, c->entry + LP_ENTRY_LEN))
				return -ENOMEM;
			continue;
		}
		if (depth == 0 && in_pad && pad_nops_from(c, pc)) {
			/* In the pad's NOPs, after the entry jump of a patch
			 * reverted since: they do nothing, and the function's
			 * first byte is where the thread goes next.  (Only
			 * where the thread is: a signal frame's PC there could
			 * not be walked past; the thread must leave first.) */
			if (add_move(x, fr->pc_slot, c->addr))
				return -ENOMEM;
			continue;
		}
		if (in_pad || in_entry) {
			snprintf(x->why, sizeof(x->why),
				 "thread %d is at %s%+" PRId64 " (frame %u), in the bytes being changed",
				 t->tid, c->name, (int64_t)(pc - c->addr), depth);
			return 1;
		}
		if (x->mode == LP_MODE_STRICT && c->old_hi) {
			/* a return address may be the first byte after a call
			 * that ends the function: the call is what counts */
			uint64_t at = fr->exact ? pc : pc - 1;

			if (at >= c->old_lo && at < c->old_hi) {
				snprintf(x->why, sizeof(x->why),
					 "thread %d is in %s (frame %u), whose old version must not be running (strict mode)",
					 t->tid, c->name, depth);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * A reverted patch's code may still be used without any frame in it: a
 * replacement that ended in a tail call leaves the callee running with
 * pointers to the patch's data (a format string, a table) in registers
 * or on the stack.  Conservatively, any word of a thread's registers or
 * of the live part of its stack that points into a candidate's data keeps
 * it mapped.
 */
static bool points_into_data(const struct unmap *u, uint64_t v)
{
	/* code is the unwinder's business: a stale return address left in
	 * a live frame would keep a patch mapped for ever */
	return v >= u->start && v < u->end && !(v >= u->text_lo && v < u->text_hi);
}

static void words_in_use(struct txn *x, const uint64_t *v, size_t n)
{
	size_t i, k;

	for (k = 0; k < x->num; k++) {
		struct unmap *um = &x->um[k];

		for (i = 0; i < n && !um->in_use; i++)
			if (points_into_data(um, v[i]))
				um->in_use = true;
	}
}

/* Scan [lo, hi) of the stopped target, up to the first unreadable block. */
static void range_in_use(struct lp_unwinder *u, struct txn *x, uint64_t lo, uint64_t hi)
{
	uint64_t buf[128];

	for (lo &= ~7ULL; lo < hi;) {
		/* (the unwinder reads 1 KiB blocks: never across one) */
		uint64_t end = (lo | (sizeof(buf) - 1)) + 1;
		size_t n;

		if (end > hi)
			end = (hi + 7) & ~7ULL;
		n = (size_t)(end - lo);
		if (lp_unwinder_read(u, lo, buf, n))
			return;
		words_in_use(x, buf, n / 8);
		lo = end;
	}
}

/*
 * The live part of a thread's stack is what its frames span: from its
 * stack pointer (less the red zone a leaf function may use below it) up
 * to the outermost frame, whose own locals are within SCAN_TOP above its
 * stack pointer.  A signal frame lies between the handler's frames and
 * the interrupted one; on another stack (sigaltstack), the frame below it
 * is elsewhere: SCAN_SWITCH bytes above the trampoline's stack pointer
 * hold the signal frame (ucontext, siginfo and the FPU state).  Stale
 * words above a popped frame are not looked at: reading 256 KiB of every
 * thread's stack cost 64 reads a thread inside the pause (150 ms for
 * 1,000 threads), where the live part is a few blocks the unwinder has
 * read already.  tests/integration/fleet.sh (a tail call holding the
 * patch's format string), parked.sh.
 */
#define SCAN_REDZONE 128
#define SCAN_TOP 1024
#define SCAN_SWITCH 16384
#define SCAN_MAX (8ULL << 20) /* a frame larger than this: another stack */

/* The registers of thread @t now; the live part of its stack is noted
 * and scanned with the others' (scan_ranges()), in few reads. */
static int pointers_in_use(struct txn *x, const struct lp_thread *t)
{
	size_t i;

	words_in_use(x, (const uint64_t *)&t->regs, sizeof(t->regs) / 8);
	for (i = 0; i < x->nsps; i++) {
		uint64_t sp = x->sps[i], next = i + 1 < x->nsps ? x->sps[i + 1] : 0;
		uint64_t lo = sp - SCAN_REDZONE;
		uint64_t hi = !next ? sp + SCAN_TOP :
			      next >= sp && next - sp <= SCAN_MAX ? next : sp + SCAN_SWITCH;

		if (i && lo >= x->ranges[x->nranges - 1][0] && lo <= x->ranges[x->nranges - 1][1]) {
			/* the frame above on the same stack: one range */
			if (hi > x->ranges[x->nranges - 1][1])
				x->ranges[x->nranges - 1][1] = hi;
			continue;
		}
		if (lp_grow(&x->ranges, &x->capranges, x->nranges, sizeof(*x->ranges), 256))
			return -ENOMEM;
		x->ranges[x->nranges][0] = lo;
		x->ranges[x->nranges++][1] = hi;
	}
	return 0;
}

/* The stacks' live parts: what the walks read of them is in the cache
 * already (the world is stopped: it has not changed); the rest is read. */
static void scan_ranges(struct lp_unwinder *u, struct txn *x)
{
	size_t i;

	lp_unwinder_prefetch_ranges(u, (const uint64_t (*)[2])x->ranges, x->nranges);
	for (i = 0; i < x->nranges; i++)
		range_in_use(u, x, x->ranges[i][0], x->ranges[i][1]);
}

/*
 * Before the first stop, the unwind rules its walks will need, as far as
 * they can be known while the target runs (lp_unwinder_learn()): those of
 * the functions patched, and of the call chains of threads that sit in
 * system calls, up to LEARN_THREADS different places among the first
 * LEARN_LOOKS threads, and, when one of those runs, of the frames atop a
 * few thread stacks (lp_unwinder_learn_stacks()).  A walk's first pass
 * through a function took 3 to 5 us inside the pause: 30 of the 100 us of
 * a one-thread pause.
 */
#define LEARN_THREADS 16
#define LEARN_LOOKS 64

static void learn(struct txn *x, struct lp_unwinder *u)
{
	uint64_t seen[LEARN_THREADS];
	size_t i, k, n = 0, looked = 0;
	bool running = false;
	int err;

	for (i = 0; i < x->nc; i++) {
		struct user_regs_struct r = { .rip = x->c[i].addr };

		lp_unwinder_learn(u, &r);
	}
	for (i = 0; i < x->w->n && n < LEARN_THREADS && looked < LEARN_LOOKS; i++) {
		const struct lp_thread *t = &x->w->th[i];
		uint64_t sp, pc;

		if (!t->seized || t->gone)
			continue;
		looked++;
		err = lp_proc_task_blocked_at(x->proc->pid, t->tid, &sp, &pc);
		if (err) {
			running |= err == -EAGAIN;
			continue;
		}
		for (k = 0; k < n && seen[k] != pc; k++)
			;
		if (k < n)
			continue;
		seen[n++] = pc;
		{
			struct user_regs_struct r = { .rip = pc, .rsp = sp };

			lp_unwinder_learn(u, &r);
		}
	}
	if (running)
		lp_unwinder_learn_stacks(u);
}

/* A new stop: nothing verified yet. */
static void verify_begin(struct txn *x, struct lp_unwinder *u)
{
	size_t i;

	x->nmoves = 0;
	x->nranges = 0;
	x->why[0] = 0;
	for (i = 0; i < x->num; i++)
		x->um[i].in_use = false;
	lp_unwinder_flush(u);
	/* what the prefetch reads (four blocks a thread at most), and more
	 * for the walks; a few new threads are read the slow way */
	lp_unwinder_reserve(u, (x->w->n + 16) * 6);
}

/* Walk stopped thread @i.  0 safe, 1 unsafe (x->why), <0 error. */
static int verify_thread(struct lp_unwinder *u, struct txn *x, size_t i)
{
	struct lp_thread *t = &x->w->th[i];
	int ret;

	const struct lp_module *m;
	char where[160];

	x->thread = i;
	x->nsps = 0;
	x->last_pc = t->regs.rip;
	ret = lp_unwind_thread(u, t, check_frame, x);
	if (ret == 0 && x->num)
		ret = pointers_in_use(x, t);
	if (ret == 1)
		memcpy(x->why_frame, x->why, sizeof(x->why));
	if (ret >= 0 || ret == -ENOMEM)
		return ret;
	m = lp_proc_module_at(x->proc, x->last_pc);
	if (m)
		snprintf(where, sizeof(where), "%s+0x%" PRIx64,
			 strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path,
			 x->last_pc - m->bias);
	else
		snprintf(where, sizeof(where), "0x%" PRIx64, x->last_pc);
	snprintf(x->why, sizeof(x->why),
		 "the stack of thread %d cannot be walked reliably (%s at %s)", t->tid,
		 ret == -ENOENT ? "code without unwind information" :
		 ret == -E2BIG ? "too deep" : "unwind error", where);
	return 1;
}

/* Walk every stopped thread.  0 safe, 1 unsafe (x->why), <0 error. */
static int verify_world(struct lp_unwinder *u, struct txn *x)
{
	size_t i;

	for (i = 0; i < x->w->n; i++) {
		const struct lp_thread *t = &x->w->th[i];
		int ret;

		if (t->seized && !t->stopped && !t->gone) {
			snprintf(x->why, sizeof(x->why), "thread %d did not stop (%s)", t->tid,
				 lp_proc_task_state(x->proc->pid, t->tid) == 'R' ?
				 "it got no CPU time: the machine is busy" :
				 "it is in an uninterruptible wait");
			return 1;
		}
		if (!t->stopped || t->gone)
			continue;
		ret = verify_thread(u, x, i);
		if (ret)
			return ret;
	}
	if (x->num)
		scan_ranges(u, x);
	return 0;
}

/* Move the PCs recorded by the verification past the entry NOPs. */
static int apply_moves(struct txn *x)
{
	size_t i;

	for (i = 0; i < x->nmoves; i++) {
		struct lp_thread *t = &x->w->th[x->moves[i].thread];

		if (!x->moves[i].slot) {
			uint64_t was = t->regs.rip;
			int err;

			/* now, not at release: if it fails, nothing is written */
			t->regs.rip = x->moves[i].to;
			err = lp_thread_set_regs(x->ctx, t);
			if (err) {
				t->regs.rip = was;
				return err;
			}
		} else {
			int err = lp_proc_write(x->proc, x->moves[i].slot, &x->moves[i].to, 8);

			if (err)
				return err;
		}
		lp_debug(x->ctx, "thread %d: pc moved past the entry NOPs to %#" PRIx64 "%s",
			 t->tid, x->moves[i].to, x->moves[i].slot ? " (in a signal frame)" : "");
	}
	return 0;
}

/* Does any function go back to its original bytes in this transaction? */
static bool reverting(const struct txn *x)
{
	size_t i;

	for (i = 0; i < x->nc; i++)
		if (!x->c[i].jump_after && memcmp(x->c[i].now, x->c[i].want, LP_CODE_LEN))
			return true;
	return false;
}

/*
 * The code changes of one transaction, gathered into spans: changes less
 * than SPAN_GAP bytes apart are read and written with one call each,
 * their bytes in between written back as they are (every thread is
 * stopped).  1,000 functions in a row were 3,000 reads and writes of
 * /proc/PID/mem inside the pause (12 ms, 17 times the pause of one
 * function); they are now one read and three writes.
 */
#define SPAN_GAP 512

static bool bytes_as_expected(const struct change *c, const uint8_t *found);

struct span {
	uint64_t start, end;
	size_t first, n;  /* its changes: x->order[first .. first + n) */
	uint8_t *now;     /* the bytes found at the stop */
	uint8_t *buf;     /* the bytes being written */
};

static int order_cmp(const void *a, const void *b)
{
	const struct change *x = *(const struct change *const *)a;
	const struct change *y = *(const struct change *const *)b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void spans_free(struct txn *x)
{
	size_t i;

	for (i = 0; i < x->nspans; i++) {
		free(x->spans[i].now);
		free(x->spans[i].buf);
	}
	free(x->spans);
	free(x->order);
	x->spans = NULL;
	x->order = NULL;
	x->nspans = 0;
}

/* Before the stop: which bytes each span covers. */
static int spans_plan(struct txn *x)
{
	size_t i;

	x->order = calloc(x->nc + 1, sizeof(*x->order));
	x->spans = calloc(x->nc + 1, sizeof(*x->spans));
	if (!x->order || !x->spans)
		return -ENOMEM;
	for (i = 0; i < x->nc; i++)
		x->order[i] = &x->c[i];
	qsort(x->order, x->nc, sizeof(*x->order), order_cmp);
	for (i = 0; i < x->nc; i++) {
		uint64_t lo = x->order[i]->addr - LP_PAD_LEN, hi = lo + LP_CODE_LEN;
		struct span *s = x->nspans ? &x->spans[x->nspans - 1] : NULL;

		if (s && lo <= s->end + SPAN_GAP) {
			if (hi > s->end)
				s->end = hi;
			s->n++;
			continue;
		}
		s = &x->spans[x->nspans++];
		s->start = lo;
		s->end = hi;
		s->first = i;
		s->n = 1;
	}
	for (i = 0; i < x->nspans; i++) {
		struct span *s = &x->spans[i];

		s->now = malloc(s->end - s->start);
		s->buf = malloc(s->end - s->start);
		if (!s->now || !s->buf)
			return -ENOMEM;
	}
	return 0;
}

/* In the stop: the code is as we expect it (one read a span). */
static int spans_read(struct txn *x)
{
	size_t i, k;

	for (i = 0; i < x->nspans; i++) {
		struct span *s = &x->spans[i];

		if (lp_proc_read(x->proc, s->start, s->now, s->end - s->start))
			return lp_fail(x->ctx, -LP_EPATCHED,
				       "the code of %s changed during the operation",
				       x->order[s->first]->name);
		for (k = s->first; k < s->first + s->n; k++) {
			const struct change *c = x->order[k];

			if (!bytes_as_expected(c, s->now + (c->addr - LP_PAD_LEN - s->start)))
				return lp_fail(x->ctx, -LP_EPATCHED,
					       "the code of %s changed during the operation",
					       c->name);
		}
		memcpy(s->buf, s->now, s->end - s->start);
	}
	return 0;
}

/*
 * Write the changed bytes: first the pads that get a jump (no thread can
 * reach them yet), then every entry, then the pads that get their NOPs
 * back (no entry leads to them any more): should we be killed between two
 * writes, every function is whole.  On failure, put back the bytes found.
 */
static int write_code(struct txn *x)
{
	struct lp_proc *proc = x->proc;
	size_t i, k, written = 0;
	int err = 0, phase;

	for (phase = 0; phase < 3 && !err; phase++) {
		if (phase == 1)
			lp_fault_point(x->ctx, "pad");
		if (phase == 2 && reverting(x))
			lp_fault_point(x->ctx, "revert");
		for (i = 0; i < x->nspans && !err; i++) {
			struct span *s = &x->spans[i];
			bool changed = false;

			for (k = s->first; k < s->first + s->n; k++) {
				const struct change *c = x->order[k];
				uint8_t *at = s->buf + (c->addr - LP_PAD_LEN - s->start);
				size_t off = 0, len = LP_PAD_LEN;

				if (phase == 1) {
					off = LP_PAD_LEN + c->entry_off;
					len = LP_ENTRY_LEN;
				} else if (c->jump_after != (phase == 0)) {
					continue;
				}
				if (memcmp(at + off, c->want + off, len)) {
					memcpy(at + off, c->want + off, len);
					changed = true;
				}
			}
			if (!changed)
				continue;
			err = lp_proc_write(proc, s->start, s->buf, s->end - s->start);
			if (!err && i + 1 > written)
				written = i + 1;
		}
	}
	if (!err)
		return 0;
	for (i = written; i-- > 0;)
		lp_proc_write(proc, x->spans[i].start, x->spans[i].now,
			      x->spans[i].end - x->spans[i].start);
	return lp_fail(x->ctx, err, "writing the jumps into process %d failed: %s",
		       proc->pid, strerror(-err));
}

/* ---- the journal written by a transaction ------------------------------ */

/*
 * The records after this transaction.  @final false: the ones under way
 * are marked so (applying, reverting), for a reader that finds the
 * transaction interrupted.  @final true: reverted patches whose code a
 * frame holds stay as "reverted, in use"; the others go.
 */
static int next_journal(const struct txn *x, bool final, struct lp_journal *out)
{
	size_t i, k;

	memset(out, 0, sizeof(*out));
	out->p = calloc(x->j->n + 1, sizeof(*out->p));
	if (!out->p)
		return -ENOMEM;
	for (i = 0; i < x->j->n; i++) {
		const struct lp_jpatch *p = &x->j->p[i];
		unsigned int state = p->state;

		if (x->drop[i])
			state = final ? LP_PATCH_REVERTED_IN_USE : LP_J_REVERTING;
		if (final && state == LP_PATCH_REVERTED_IN_USE) {
			bool keep = false;

			for (k = 0; k < x->num; k++)
				if (x->um[k].rec == (ssize_t)i)
					keep = x->um[k].in_use;
			if (!keep)
				continue;
		}
		out->p[out->n] = *p; /* shallow: the strings stay x->j's */
		out->p[out->n++].state = state;
	}
	if (x->patch) {
		out->p[out->n] = x->rec;
		out->p[out->n++].state = final ? LP_PATCH_APPLIED : LP_J_APPLYING;
	}
	return 0;
}

static int journal_image(const struct txn *x, bool final, uint64_t gen, uint8_t **img,
			 size_t *len)
{
	struct lp_journal nj;
	int err = next_journal(x, final, &nj);

	if (err)
		return err;
	err = lp_journal_image(&nj, gen, img, len);
	free(nj.p);
	return err;
}

/* The flags of the reverted patches whose code a frame holds: what the
 * final journal depends on (a stray mapping, which no record names, is
 * not in it, and must not send the commit to a new serialization). */
static uint64_t in_use_key(const struct txn *x)
{
	uint64_t key = 0;
	size_t i;

	for (i = 0; i < x->num; i++)
		if (x->um[i].in_use && x->um[i].rec >= 0)
			key |= 1ULL << i;
	return key;
}

/*
 * Before the stop: the journal images the commit writes, the final one
 * both for no reverted patch's code held by a frame and for all of them
 * held (threads busy in a patch being reverted); it is made again for a
 * mix.  Serializing a patch of 1,000
 * functions takes about a millisecond, twice, which was inside the pause.
 */
static void journal_prepare(struct txn *x, uint64_t gen0)
{
	int f;

	for (f = 0; f < 3; f++) {
		struct jimage *p = &x->jpre[f];
		bool final = f > 0, all = f == 2;
		size_t i;

		free(p->img);
		p->img = NULL;
		p->ok = false;
		if (x->num > 63 || (all && !x->num))
			continue;
		for (i = 0; i < x->num; i++)
			x->um[i].in_use = all;
		p->gen = gen0 + 1 + final;
		p->time = x->rec.time;
		p->key = in_use_key(x);
		p->ok = !journal_image(x, final, p->gen, &p->img, &p->len);
	}
}

/* Write the journal for this transaction; the generation grows by one. */
static int write_journal(struct txn *x, bool final)
{
	const struct jimage *p = &x->jpre[final];
	uint64_t gen = ++x->j->gen, key = final ? in_use_key(x) : 0;
	uint8_t *img = NULL;
	size_t len;
	int err = 0;

	if (final && x->jpre[2].ok && key == x->jpre[2].key)
		p = &x->jpre[2];
	if (p->ok && p->gen == gen && p->time == x->rec.time && (!final || key == p->key)) {
		len = p->len;
	} else {
		err = journal_image(x, final, gen, &img, &len);
		if (err)
			return err;
	}
	if (len > x->jsize)
		err = -ENOSPC; /* (sized before the stop, from the largest case) */
	else
		err = lp_proc_write(x->proc, x->jaddr, img ? img : p->img, len);
	free(img);
	if (err)
		return lp_fail(x->ctx, err, "cannot write the patch journal of process %d: %s",
			       x->proc->pid, strerror(-err));
	return 0;
}

/* ---- borrowing a thread ------------------------------------------------- */

/*
 * Borrow a thread of the target (stopped) for remote system calls.  A
 * sleeping thread is best: a busy one must wait for its turn on a CPU at
 * each step, behind all its busy siblings (tests/integration/threads.sh).
 */
static int borrow_once(struct lp_proc *proc, struct lp_thread *t)
{
	pid_t *tids;
	size_t n, i, pick;
	int err;

	err = lp_proc_tasks(proc->pid, &tids, &n);
	if (err)
		return lp_fail(proc->ctx, -LP_EEXITED, "process %d exited", proc->pid);
	/* a sleeping thread first; failing that, not one in an
	 * uninterruptible wait (a vfork() parent), which no interrupt stops
	 * until it leaves the wait (tests/integration/nostop.sh) */
	for (i = 0, pick = n; i < n; i++) {
		char st = lp_proc_task_state(proc->pid, tids[i]);

		if (st == 'S' || (pick == n && st && !strchr("DZX", st)))
			pick = i;
		if (st == 'S')
			break;
	}
	if (pick < n) {
		pid_t tmp = tids[0];

		tids[0] = tids[pick];
		tids[pick] = tmp;
	}
	err = -ESRCH;
	for (i = 0; i < n && err == -ESRCH; i++) {
		memset(t, 0, sizeof(*t));
		t->tid = tids[i];
		t->leader = t->tid == proc->pid;
		err = lp_thread_seize(proc->ctx, t);
		if (!err && lp_proc_check_alive(proc)) {
			/* the PID was taken by another process before the seize:
			 * let that one go untouched */
			lp_thread_release(proc->ctx, t);
			free(tids);
			return lp_fail(proc->ctx, -LP_EEXITED,
				       "process %d exited (its PID now names another process)",
				       proc->pid);
		}
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

static int refuse_tracer(struct lp_ctx *ctx, pid_t pid, pid_t tracer, double timeout_ms);

/*
 * @tracer, which traced a thread of @pid, or the tracer now if it is gone
 * meanwhile: a livepatch run that ended between the two looks has no
 * /proc entry left to tell what it was, and is not a debugger.  0 for
 * none; *lp says whether it is a livepatch run.
 */
static pid_t tracer_now(pid_t pid, pid_t tracer, bool *lp)
{
	int looks;

	*lp = false;
	for (looks = 0; tracer && looks < 8; looks++) {
		pid_t again;

		*lp = lp_proc_is_livepatch(tracer);
		if (*lp || (again = lp_proc_other_tracer(pid)) == tracer)
			break;
		tracer = again;
	}
	return tracer;
}

/* Seizes refused (EPERM) with no tracer to be seen: we may not trace it. */
#define MAX_UNSEEN 3

/*
 * After a seize of a thread of @pid failed with EPERM: is it held by
 * another livepatch run, which ends soon?  Then wait for it (until
 * @deadline) and return 0 to seize again.  A seize that fails while no
 * tracer is to be seen came a moment after one let go: it is tried
 * again, up to MAX_UNSEEN times in a row (*unseen counts them), then it
 * is a refusal.  A debugger is one at once.  (Taking the first miss for
 * a refusal said "not allowed to trace" (status 4) beside lists.)
 */
static int wait_for_tracer(struct lp_ctx *ctx, pid_t pid, double deadline, int *unseen)
{
	bool lp;
	pid_t tracer = tracer_now(pid, lp_proc_other_tracer(pid), &lp);

	if (!tracer)
		return ++*unseen > MAX_UNSEEN ? -EPERM : 0;
	*unseen = 0;
	if (!lp)
		return -EPERM;
	return refuse_tracer(ctx, pid, tracer, deadline - lp_now_ms());
}

/* The borrow; if another livepatch run holds the process, after it. */
static int borrow_thread(struct lp_proc *proc, struct lp_thread *t)
{
	double deadline = lp_now_ms() + 10000;
	int err, unseen = 0, werr = 0;

	while ((err = borrow_once(proc, t)) == -EPERM &&
	       !(werr = wait_for_tracer(proc->ctx, proc->pid, deadline, &unseen)))
		;
	/* (the refusal's message is borrow_once()'s) */
	return err == -EPERM && werr != -EPERM ? werr : err;
}

/* Size of the largest journal this transaction can write. */
static int journal_need(struct txn *x, size_t *need)
{
	struct lp_journal nj;
	char *text;
	size_t len, i;
	int err = next_journal(x, false, &nj);

	if (err)
		return err;
	for (i = 0; i < nj.n; i++)
		nj.p[i].state = LP_J_REVERTING; /* the widest of the states */
	err = lp_journal_serialize(&nj, &text, &len);
	free(nj.p);
	if (err)
		return err;
	free(text);
	*need = lp_journal_image_size(len);
	return 0;
}

/* Step 2: load the patch and make room for the journal. */
static int load(struct txn *x, struct lp_unwinder *u)
{
	struct lp_proc *proc = x->proc;
	const struct lp_module *first = NULL;
	struct lp_thread t;
	uint64_t mask;
	size_t need = 0, i;
	int err, end_err;

	if (x->patch)
		first = lp_proc_module_by_build_id(proc, x->patch->targets[0].build_id);
	err = borrow_thread(proc, &t);
	if (err)
		return err;
	/* a thread that holds still: its stack's unwind rules (see learn()) */
	lp_unwinder_learn(u, &t.regs);
	err = lp_remote_begin(proc, &t, &mask);
	if (err)
		goto out;
	if (x->patch) {
		err = lp_load_patch(proc, &t, x->patch, first, &x->ld);
		if (err)
			goto out_end;
		x->rec.map_start = x->ld.base;
		x->rec.map_size = x->ld.size;
		for (i = 0; i < x->rec.nfuncs; i++)
			x->rec.funcs[i].new_addr = x->ld.new_addr[i];
	}
	err = journal_need(x, &need);
	if (err)
		goto out_end;
	if (x->j->addr && x->j->size >= need) {
		x->jaddr = x->j->addr;
		x->jsize = x->j->size;
	} else {
		/* room to grow, so that most applies write in place */
		x->jsize = need * 2 < 16384 ? 16384 : need * 2;
		err = lp_map_journal(proc, &t, x->jsize, &x->jaddr, &x->jino);
		if (!err)
			x->jnew = true;
	}
	/* the inodes of what we use, so that no other run's mapping made at
	 * the same address since is taken for ours (a patch in anonymous
	 * memory has none, and no other run would take it for ours) */
	x->ld_ino = x->ld.size ? x->ld.ino : 0;
	if (!x->jnew)
		x->jino = x->j->ino;
	if (err && x->jnew) {
		lp_remote_unmap(proc, &t, x->jaddr, x->jsize);
		x->jnew = false;
	}
	if (err && x->ld.size)
		lp_unload_patch(proc, &t, &x->ld);
out_end:
	end_err = lp_remote_end(proc, &t, mask);
	if (end_err && !err) { /* (the thread is gone, in practice) */
		if (x->ld.size)
			lp_unload_patch(proc, &t, &x->ld);
		err = end_err;
	}
out:
	lp_thread_release(proc->ctx, &t);
	return err;
}

/*
 * Is the mapping named @name that started at @start, of inode @ino, in
 * the maps read just before the unmaps (@now)?  So that we never unmap
 * memory the process reused, nor a mapping of the same name that another
 * run made at the same address since (its memfd is another inode).
 */
static bool still_mapped(const struct lp_journal *now, uint64_t start, const char *name,
			 uint64_t ino)
{
	const struct lp_jmap *m;

	if (!ino || !now)
		return false;
	m = lp_journal_map_at(now, start, name);
	return m && m->ino == ino;
}

struct range {
	uint64_t start, end;
	uint64_t ino;
	const char *name;
	bool journal;     /* a journal copy */
};

/*
 * After our commit, with a thread borrowed: has no other run committed
 * since?  Then the journal we wrote is the process's, and the copies we
 * were to unmap are left-overs.  Else the run that committed uses the
 * journal mapping (it writes in place), and may have made it bigger.
 */
static bool journal_still_ours(struct txn *x, const struct lp_journal *now)
{
	uint64_t gen;

	return x->jfinal && still_mapped(now, x->jaddr, "journal", x->jino) &&
	       !lp_journal_gen_at(x->proc, x->jaddr, &gen) && gen == x->jfinal;
}

/*
 * Step 7 (@x: the transaction that committed), and the unload after a
 * failure (@x NULL: our own mappings): unmap what is listed.  The step
 * runs after the release: another run may have committed meanwhile.
 */
static void unmap_ranges(struct lp_proc *proc, const struct range *r, size_t n,
			 struct txn *x)
{
	struct lp_journal *now = NULL;
	struct lp_thread t;
	uint64_t mask;
	bool journals = true;
	size_t i;
	int err;

	if (!n)
		return;
	err = borrow_thread(proc, &t);
	if (err == -LP_EEXITED) {
		/* (its memory went with it) */
		lp_debug(proc->ctx, "nothing to unmap: %s", lp_ctx_errmsg(proc->ctx));
		return;
	}
	if (err) {
		lp_warn(proc->ctx, "could not unmap unused patch memory in process %d: %s",
			proc->pid, lp_ctx_errmsg(proc->ctx));
		return;
	}
	/* (no run can commit while we hold the thread: one read of the
	 * maps serves every check) */
	if (lp_journal_maps(proc, &now))
		now = NULL;
	if (x && !journal_still_ours(x, now)) {
		lp_debug(proc->ctx, "another run committed since: its journal stays");
		journals = false;
	}
	if (!lp_remote_begin(proc, &t, &mask)) {
		for (i = 0; i < n; i++) {
			if ((r[i].journal && !journals) ||
			    !still_mapped(now, r[i].start, r[i].name, r[i].ino))
				continue;
			if (lp_remote_unmap(proc, &t, r[i].start, r[i].end - r[i].start))
				lp_warn(proc->ctx, "could not unmap %s at %#" PRIx64
					" in process %d", r[i].name, r[i].start, proc->pid);
			else
				lp_debug(proc->ctx, "unmapped %s at %#" PRIx64, r[i].name,
					 r[i].start);
		}
		lp_remote_end(proc, &t, mask);
	}
	lp_journal_free(now);
	lp_thread_release(proc->ctx, &t);
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- step 1: what changes ------------------------------------------------- */

/* The module of target @i of the patch in the process, or NULL (error set). */
static struct lp_module *find_target(struct lp_proc *proc, const struct lp_patch *patch,
				     size_t ti)
{
	const struct lp_patch_target *pt = &patch->targets[ti];
	struct lp_module *m = lp_proc_module_by_build_id(proc, pt->build_id);
	size_t i;

	if (m)
		return m;
	for (i = 0; i < proc->nmods; i++) {
		const char *base = strrchr(proc->mods[i].path, '/');

		if (base && !strcmp(base + 1, pt->module)) {
			lp_fail(proc->ctx, -LP_EBUILDID,
				"build-id mismatch: the patch is for %s build-id %s, process %d runs %s build-id %s: rebuild the patch against the running binary",
				pt->module, pt->build_id, proc->pid, proc->mods[i].path,
				proc->mods[i].build_id[0] ? proc->mods[i].build_id : "(none)");
			return NULL;
		}
	}
	lp_fail(proc->ctx, -LP_EBUILDID,
		"build-id mismatch: process %d has no module with build-id %s (%s)",
		proc->pid, pt->build_id, pt->module);
	return NULL;
}

static struct change *change_at(struct txn *x, uint64_t addr)
{
	size_t i;

	for (i = 0; i < x->nc; i++)
		if (x->c[i].addr == addr)
			return &x->c[i];
	return NULL;
}

/* The bytes a function has now, as the journal says: a jump to the newest
 * applied version, or the original. */
static void journal_bytes(const struct lp_journal *j, const bool *skip,
			  const uint8_t orig[LP_CODE_LEN], uint64_t addr,
			  unsigned int entry_off, uint8_t out[LP_CODE_LEN])
{
	size_t i, k;

	for (i = j->n; i-- > 0;) {
		const struct lp_jpatch *p = &j->p[i];

		if (p->state != LP_PATCH_APPLIED || (skip && skip[i]))
			continue;
		for (k = 0; k < p->nfuncs; k++) {
			if (p->funcs[k].addr == addr) {
				code_with_jump(out, orig, entry_off, p->funcs[k].new_addr);
				return;
			}
		}
	}
	memcpy(out, orig, LP_CODE_LEN);
}

/*
 * The body of the version of a function that runs now, for strict mode:
 * the replacement a journal record points the pad at, or the function's
 * own symbol.  0 and 0 if it cannot be told (no symbol size).
 */
static void live_body(struct txn *x, const struct change *c, uint64_t sym_size,
		      uint64_t *lo, uint64_t *hi)
{
	const struct lp_jpatch *p;
	size_t fi;

	*lo = *hi = 0;
	p = lp_journal_live(x->j, c->addr, &fi);
	if (p) {
		uint64_t at = p->funcs[fi].new_addr;
		const struct lp_module *m = lp_proc_module_at(x->proc, at);
		uint64_t size = m ? lp_elf_func_size(m->elf, at - m->bias) : 0;

		if (size) {
			*lo = at;
			*hi = at + size;
		}
		return;
	}
	if (sym_size) {
		*lo = c->addr;
		*hi = c->addr + sym_size;
	}
}

/* A function of the new patch: find it, and check it can take a jump. */
static int resolve_new(struct txn *x, size_t i, struct lp_jfunc *jf)
{
	struct lp_proc *proc = x->proc;
	const char *name = x->patch->funcs[i].old_name;
	struct lp_module *m = NULL;
	const struct lp_jpatch *live;
	struct change *c;
	struct lp_sym sym;
	size_t ti, fi;
	int err = -LP_ENOSYM;

	/* the first target that defines it, as livepatch-build chose */
	for (ti = 0; ti < x->patch->ntargets && err == -LP_ENOSYM; ti++) {
		m = find_target(proc, x->patch, ti);
		if (!m)
			return -LP_EBUILDID;
		err = lp_elf_find_symbol(m->elf, name, &sym);
		if (err == -ENOTUNIQ)
			return lp_fail(x->ctx, -LP_ENOSYM, "%s is defined more than once in %s",
				       name, m->path);
		if (err)
			err = -LP_ENOSYM;
	}
	if (err && !lp_elf_has_symtab(m->elf))
		return lp_fail(x->ctx, -LP_ENOSYM,
			       "symbol %s not found in %s, which is stripped: a patch needs the target's symbol table",
			       name, m->path);
	if (err)
		return lp_fail(x->ctx, -LP_ENOSYM, "symbol %s not found in %s", name,
			       x->patch->ntargets > 1 ? "the patch's targets" : m->path);
	if (!sym.is_func || sym.is_ifunc)
		return lp_fail(x->ctx, -LP_ENOPAD, "%s in %s is not a plain function", name,
			       m->path);
	jf->addr = sym.value + m->bias;
	jf->name = strdup(name);
	jf->module = strdup(m->path);
	if (!jf->name || !jf->module)
		return -ENOMEM;
	if (change_at(x, jf->addr))
		return lp_fail(x->ctx, -LP_EBADPATCH, "the patch replaces %s twice", name);
	c = &x->c[x->nc++];
	c->name = jf->name;
	c->addr = jf->addr;
	live = lp_journal_live(x->j, jf->addr, &fi);
	if (live) {
		/* stacked on an applied patch: its pad is ours already */
		memcpy(jf->orig, live->funcs[fi].orig, LP_CODE_LEN);
		jf->entry_off = live->funcs[fi].entry_off;
		memcpy(c->orig, jf->orig, LP_CODE_LEN);
		c->entry_off = jf->entry_off;
		journal_bytes(x->j, NULL, c->orig, c->addr, c->entry_off, c->now);
	} else {
		err = lp_proc_read(proc, jf->addr - LP_PAD_LEN, c->orig, LP_CODE_LEN);
		if (err)
			return lp_fail(x->ctx, -LP_ENOPAD, "cannot read the code of %s: %s", name,
				       strerror(-err));
		err = lp_check_pad(x->ctx, m->elf, name, sym.value, c->orig, LP_CODE_LEN,
				   &c->e);
		if (err == -LP_EPATCHED)
			return lp_fail(x->ctx, err,
				       "%s in process %d is patched already, but not by any patch its journal records: revert that first",
				       name, proc->pid);
		if (err)
			return err;
		c->nops_now = true;
		c->entry_off = c->e.entry_off;
		memcpy(c->now, c->orig, LP_CODE_LEN);
		memcpy(jf->orig, c->orig, LP_CODE_LEN);
		jf->entry_off = c->entry_off;
	}
	c->entry = c->addr + c->entry_off;
	c->jump_after = true;
	live_body(x, c, sym.size, &c->old_lo, &c->old_hi);
	return 0;
}

/* A change of a function the journal knows: from its bytes now to those
 * once the patches reverted in this transaction are gone. */
static struct change *journal_change(struct txn *x, const struct lp_jfunc *f)
{
	struct change *c = &x->c[x->nc++];

	c->name = f->name;
	c->addr = f->addr;
	c->entry_off = f->entry_off;
	c->entry = c->addr + c->entry_off;
	memcpy(c->orig, f->orig, LP_CODE_LEN);
	journal_bytes(x->j, NULL, c->orig, c->addr, c->entry_off, c->now);
	journal_bytes(x->j, x->drop, c->orig, c->addr, c->entry_off, c->want);
	c->jump_after = memcmp(c->want, c->orig, LP_CODE_LEN) != 0;
	return c;
}

/* The functions of the patches reverted now, not replaced by the new one. */
static int resolve_dropped(struct txn *x)
{
	size_t i, k;

	for (i = 0; i < x->j->n; i++) {
		const struct lp_jpatch *p = &x->j->p[i];

		if (!x->drop[i])
			continue;
		for (k = 0; k < p->nfuncs; k++) {
			const struct lp_jfunc *f = &p->funcs[k];
			struct change *c = change_at(x, f->addr);

			if (c)
				continue; /* the new patch takes it over */
			c = journal_change(x, f);
			if (memcmp(c->now, c->want, LP_CODE_LEN))
				live_body(x, c, 0, &c->old_lo, &c->old_hi);
		}
	}
	return 0;
}

/*
 * Records a killed run left under way: its apply or revert is finished
 * now (rolled forward: the patch's code was loaded before its record was
 * written, and either end is a consistent state).  The bytes may be
 * anywhere between: each of pad and entry as before or as after.
 */
static int resolve_repaired(struct txn *x)
{
	bool *only = calloc(x->j->n + 1, sizeof(*only));
	size_t i, k;

	if (!only)
		return -ENOMEM;
	for (i = 0; i < x->j->n; i++) {
		const struct lp_jpatch *p = &x->j->p[i];

		if (!x->repair[i])
			continue;
		lp_info(x->ctx, "finishing the %s of patch %s, interrupted by a run that died",
			x->drop[i] ? "revert" : "apply", p->id);
		memset(only, 0, x->j->n * sizeof(*only));
		only[i] = true;
		for (k = 0; k < p->nfuncs; k++) {
			const struct lp_jfunc *f = &p->funcs[k];
			struct change *c = change_at(x, f->addr);

			if (!c)
				c = journal_change(x, f);
			c->nops_now = false; /* (the entry may be either) */
			c->has_alt = true;
			if (x->drop[i]) /* reverting: maybe done already */
				journal_bytes(x->j, x->drop, c->orig, c->addr, c->entry_off,
					      c->alt);
			else /* applying: maybe not begun */
				journal_bytes(x->j, only, c->orig, c->addr, c->entry_off,
					      c->alt);
		}
	}
	free(only);
	return 0;
}

/* The bytes found are those expected, or what a killed run left. */
static bool bytes_as_expected(const struct change *c, const uint8_t *found)
{
	size_t entry = LP_PAD_LEN + c->entry_off;
	uint8_t mixed[LP_CODE_LEN];

	if (!memcmp(found, c->now, LP_CODE_LEN))
		return true;
	if (!c->has_alt)
		return false;
	memcpy(mixed, c->now, LP_CODE_LEN);
	if (!memcmp(found, c->alt, LP_PAD_LEN))
		memcpy(mixed, c->alt, LP_PAD_LEN);
	if (!memcmp(found + entry, c->alt + entry, LP_ENTRY_LEN))
		memcpy(mixed + entry, c->alt + entry, LP_ENTRY_LEN);
	return !memcmp(found, mixed, LP_CODE_LEN);
}

/*
 * Reverted patches' code, and stray mappings of ours: unmap candidates.
 * A patch's code is the whole range it reserved (holes between segments
 * too), as its record says: a patch applied again after a revert has two
 * copies of one name, told apart by address.
 */
static int find_unmaps(struct txn *x)
{
	const struct lp_jmap *jm;
	size_t i, k, n = 0;

	x->um = calloc(x->j->n + x->j->nmaps + 1, sizeof(*x->um));
	if (!x->um)
		return -ENOMEM;
	for (i = 0; i < x->j->n; i++) {
		const struct lp_jpatch *p = &x->j->p[i];

		if (!p->map_size ||
		    (p->state != LP_PATCH_REVERTED_IN_USE && !x->drop[i]))
			continue;
		jm = lp_journal_map_at(x->j, p->map_start, p->id);
		x->um[n].start = p->map_start;
		x->um[n].end = p->map_start + p->map_size;
		x->um[n].ino = jm ? jm->ino : 0;
		x->um[n].rec = (ssize_t)i;
		memcpy(x->um[n].id, p->id, sizeof(p->id));
		n++;
	}
	for (k = 0; k < x->j->nmaps; k++) {
		bool owned = false;

		jm = &x->j->maps[k];
		if (jm->journal)
			continue;
		for (i = 0; i < x->j->n && !owned; i++)
			owned = jm->start >= x->j->p[i].map_start &&
				jm->start < x->j->p[i].map_start + x->j->p[i].map_size;
		if (owned)
			continue;
		/* a mapping no record owns is left by a run that died between
		 * its journal write and its unmap: one mapping at a time, as
		 * nothing says how far its reservation went.  (Or it is the
		 * load of a run under way: our commit makes that run start
		 * over, see check_journal().) */
		x->um[n].start = jm->start;
		x->um[n].end = jm->end;
		x->um[n].ino = jm->ino;
		x->um[n].rec = -1;
		snprintf(x->um[n].id, sizeof(x->um[n].id), "%.31s", jm->name);
		n++;
	}
	x->num = n;
	for (i = 0; i < n; i++) {
		const struct lp_module *m = lp_proc_module_at(x->proc, x->um[i].start);

		if (m) {
			x->um[i].text_lo = m->text_lo;
			x->um[i].text_hi = m->text_hi;
		}
	}
	return 0;
}

static int prepare(struct txn *x)
{
	const struct lp_patch *patch = x->patch;
	size_t nmax = patch ? patch->nfuncs : 0, i;
	int err;

	for (i = 0; i < x->j->n; i++)
		if (x->drop[i] || x->repair[i])
			nmax += x->j->p[i].nfuncs;
	x->c = calloc(nmax + 1, sizeof(*x->c));
	if (!x->c)
		return -ENOMEM;
	if (patch) {
		struct lp_jpatch *r = &x->rec;

		memcpy(r->id, patch->id, sizeof(r->id));
		r->name = strdup(patch->name);
		r->path = strdup(patch->path);
		r->funcs = calloc(patch->nfuncs + 1, sizeof(*r->funcs));
		if (!r->name || !r->path || !r->funcs)
			return -ENOMEM;
		r->seq = x->j->next_seq;
		r->state = LP_PATCH_APPLIED;
		r->cap = patch->nfuncs;
		for (i = 0; i < patch->nfuncs; i++) {
			err = resolve_new(x, i, &r->funcs[i]);
			r->nfuncs = i + 1;
			if (err)
				return err;
		}
	}
	err = resolve_dropped(x);
	if (!err)
		err = resolve_repaired(x);
	if (!err)
		err = find_unmaps(x);
	return err;
}

/* The new patch's jumps, once it is loaded. */
static void fill_new(struct txn *x)
{
	size_t i;

	for (i = 0; x->patch && i < x->rec.nfuncs; i++) {
		struct change *c = change_at(x, x->rec.funcs[i].addr);

		code_with_jump(c->want, c->orig, c->entry_off, x->rec.funcs[i].new_addr);
		lp_info(x->ctx, "%s at %#" PRIx64 " -> %s at %#" PRIx64, c->name, c->addr,
			x->patch->funcs[i].new_name, x->rec.funcs[i].new_addr);
	}
}

/* ---- steps 3 to 7 ------------------------------------------------------------ */

/*
 * Is the journal as we read it?  Another run may have committed since:
 * then the copy we read holds another generation, is marked moved, or is
 * gone, or a copy that was no journal when we looked (a new mapping, or
 * one mapped, never written, by a run under way then) is one now.  Or
 * such a run's clean-up took what we mapped for a run's left-over and
 * unmapped it, and unmapped its own journal as it held no patch: then
 * the journal reads as it did, but our mappings are gone.  Every mapping
 * is known by its inode: the process may have a mapping of the same name
 * at the same address that another run made since (a journal made anew
 * starts again at generation 1).
 */
static int check_journal(struct txn *x, uint64_t gen)
{
	const struct lp_jmap *m;
	struct lp_journal *now;
	bool changed = false, found = !x->j->addr;
	size_t i;
	int err = lp_journal_maps(x->proc, &now);

	if (err)
		return lp_fail(x->ctx, err, "cannot read the mappings of process %d: %s",
			       x->proc->pid, lp_strerror(err));
	if (x->ld_ino) {
		m = lp_journal_map_at(now, x->ld.base, x->patch->id);
		changed = !m || m->ino != x->ld_ino;
	}
	if (x->jnew) {
		m = lp_journal_map_at(now, x->jaddr, "journal");
		changed |= !m || m->ino != x->jino;
	}
	for (i = 0; i < now->nmaps && !changed; i++) {
		const struct lp_jmap *then;
		uint64_t g = 0;
		bool valid;

		m = &now->maps[i];
		if (strcmp(m->name, "journal") ||
		    (x->jnew && m->start == x->jaddr && m->ino == x->jino))
			continue;
		valid = !lp_journal_gen_at(x->proc, m->start, &g);
		if (x->j->addr && m->start == x->j->addr && m->ino == x->j->ino) {
			found = true;
			changed = !valid || g != gen;
			continue;
		}
		/* (a valid copy then is one a killed run left behind) */
		then = lp_journal_map_at(x->j, m->start, "journal");
		changed = valid && !(then && then->ino == m->ino && then->valid);
	}
	lp_journal_free(now);
	if (changed || !found)
		return lp_fail(x->ctx, -EBUSY,
			       "the patches of process %d changed meanwhile (another livepatch run?): try again",
			       x->proc->pid);
	return 0;
}

/*
 * Seize every thread.  Another livepatch run (a list cleaning up, a second
 * apply) may hold one since our load: let go of ours, wait for it to end,
 * and seize again; whether it changed anything, check_journal() tells.
 * Giving up the load and starting over instead lost every time, five
 * times in a row, against lists run nonstop.
 */
static int seize_world(struct txn *x, struct lp_world *w, double deadline)
{
	int err, unseen = 0, werr = 0;

	while ((err = lp_world_seize(w)) == -EPERM) {
		lp_world_release(w);
		werr = wait_for_tracer(x->ctx, x->proc->pid, deadline, &unseen);
		if (werr)
			break;
	}
	/* (the refusal's message is the seize's) */
	return err == -EPERM && werr != -EPERM ? werr : err;
}

static int run(struct txn *x, double timeout_ms, struct lp_apply_result *res)
{
	struct lp_proc *proc = x->proc;
	struct lp_unwinder *u = NULL;
	struct lp_world w = { 0 };
	struct range *r = NULL;
	double deadline, backoff = 1;
	unsigned int attempts = 0;
	uint64_t gen0 = x->j->gen;
	size_t i, nr = 0;
	bool committed = false;
	int err;

	err = lp_unwinder_new(proc, &u);
	if (err)
		return err;
	r = calloc(x->num + x->j->nmaps + 4, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto out;
	}

	/* 2. load */
	lp_debug(x->ctx, "resolved; loading");
	err = load(x, u);
	if (err)
		goto out;
	lp_fault_point(x->ctx, "load");
	fill_new(x);
	err = spans_plan(x);
	if (err)
		goto fail_unload;
	x->rec.time = (int64_t)time(NULL);
	journal_prepare(x, gen0);

	lp_debug(x->ctx, "loaded; stopping the world");
	w.proc = proc;
	x->w = &w;
	deadline = lp_now_ms() + timeout_ms;
	for (;;) {
		int safe;

		/* 3. stop the world */
		if (attempts++) {
			/* the time the journal records is the last attempt's
			 * (its images are made again, before the stop) */
			x->rec.time = (int64_t)time(NULL);
			journal_prepare(x, gen0);
		}
		err = seize_world(x, &w, deadline);
		/*
		 * Is the journal as we read it?  Checked once every thread is
		 * seized, before the stop, not inside it (reading the maps of
		 * a process takes 50 us, a quarter of the pause of a process
		 * of one thread): no other run can stop the world, so none
		 * can change the journal, until we let go of the threads.
		 */
		if (!err)
			err = check_journal(x, gen0);
		if (!err && attempts == 1)
			learn(x, u);
		verify_begin(x, u);
		if (!err)
			err = lp_world_stop(&w);
		if (err)
			goto fail_release;
		lp_fault_point(x->ctx, "seize");
		lp_debug(x->ctx, "attempt %u: %zu threads stopped in %.3f ms", attempts, w.n,
			 lp_now_ms() - w.t_first_stop);
		lp_world_fix_eintr(&w);
		lp_unwinder_prefetch(u, &w);

		/* 4. verify */
		err = spans_read(x);
		if (err)
			goto fail_release;
		safe = verify_world(u, x);
		if (safe < 0) {
			err = lp_fail(x->ctx, safe, "stack check failed: %s", strerror(-safe));
			goto fail_release;
		}
		lp_debug(x->ctx, "attempt %u: stacks walked (%s)", attempts,
			 safe ? "unsafe" : "safe");
		if (safe == 0)
			break;
		lp_world_release(&w);
		lp_info(x->ctx, "attempt %u unsafe: %s", attempts, x->why);
		if (lp_now_ms() + backoff > deadline) {
			/* a frame in the way says more than a thread that was
			 * slow to stop at the last attempt */
			err = lp_fail(x->ctx, -LP_EUNSAFE, "no safe point within %.1f s: %s",
				      timeout_ms / 1000, x->why_frame[0] ? x->why_frame : x->why);
			goto fail_unload;
		}
		sleep_ms(backoff);
		if (backoff < 50)
			backoff *= 2;
	}

	/* 5. commit (the time recorded is that of the images made before
	 * the stop: setting it again here made a second's turn between the
	 * two serialize the journal again inside the pause) */
	x->j->gen = gen0;
	err = apply_moves(x);
	if (!err)
		err = write_journal(x, false);
	if (!err) {
		err = write_code(x);
		if (err && x->jnew) {
			/* the code is as it was, and so is the copy we read
			 * (or there was none): the new one must not be read,
			 * nor written in place by a run that comes before our
			 * unmap (which would take its journal with it) */
			lp_proc_write(proc, x->jaddr, LP_JOURNAL_MOVED, 8);
		} else if (err) {
			/* the code is as it was: so must the journal be */
			const struct lp_patch *patch = x->patch;

			memset(x->drop, 0, x->j->n * sizeof(*x->drop));
			x->patch = NULL;
			x->jpre[0].ok = false;
			write_journal(x, false);
			x->patch = patch;
		}
	}
	if (!err) {
		committed = true;
		err = write_journal(x, true);
		if (err)
			lp_warn(x->ctx, "%s", lp_ctx_errmsg(x->ctx));
		else
			x->jfinal = x->j->gen;
		if (!err && x->j->addr && x->jaddr != x->j->addr)
			/* moved to a bigger mapping: a run that read the old
			 * copy must see that it is out of date */
			lp_proc_write(proc, x->j->addr, LP_JOURNAL_MOVED, 8);
		err = 0;
	}
	if (err)
		goto fail_release;

	/* 6. release */
	lp_debug(x->ctx, "written %zu function%s; releasing", x->nc, x->nc == 1 ? "" : "s");
	lp_fault_point(x->ctx, "detach");
	lp_world_release(&w);
	lp_debug(x->ctx, "released %zu threads: pause %.3f ms", w.released,
		 w.t_last_resume - w.t_first_stop);
	if (res) {
		res->pause_ms = w.t_last_resume - w.t_first_stop;
		res->attempts = attempts;
		res->moved_pcs = (unsigned int)x->nmoves;
		res->nthreads = (unsigned int)w.released;
	}

	/* 7. clean up: code no frame holds, and journal copies left over */
	for (i = 0; i < x->num; i++) {
		if (x->um[i].in_use) {
			lp_info(x->ctx, "patch %s stays mapped: a thread still runs its code",
				x->um[i].id);
			continue;
		}
		r[nr++] = (struct range){ x->um[i].start, x->um[i].end, x->um[i].ino,
					  x->um[i].id, false };
	}
	{
		struct lp_journal nj;
		bool empty = !next_journal(x, true, &nj) && nj.n == 0;

		free(nj.p);
		for (i = 0; i < x->j->nmaps; i++) {
			const struct lp_jmap *m = &x->j->maps[i];

			if (m->journal && (m->start != x->jaddr || empty))
				r[nr++] = (struct range){ m->start, m->end, m->ino, "journal",
							  true };
		}
		if (empty && x->jnew)
			r[nr++] = (struct range){ x->jaddr, x->jaddr + ((x->jsize + 4095) & ~4095ULL),
						  x->jino, "journal", true };
	}
	unmap_ranges(proc, r, nr, x);
	goto out;

fail_release:
	lp_world_release(&w);
fail_unload:
	if (committed)
		goto out;
	if (lp_proc_check_alive(proc)) {
		err = lp_fail(x->ctx, -LP_EEXITED, "process %d exited during the operation",
			      proc->pid);
		goto out;
	}
	if (x->ld.size)
		r[nr++] = (struct range){ x->ld.base, x->ld.base + x->ld.size, x->ld_ino,
					  x->patch->id, false };
	if (x->jnew)
		r[nr++] = (struct range){ x->jaddr, x->jaddr + ((x->jsize + 4095) & ~4095ULL),
					  x->jino, "journal", false };
	{
		/* keep the failure's message over any from the clean-up */
		char msg[sizeof(x->ctx->err)];

		memcpy(msg, x->ctx->err, sizeof(msg));
		unmap_ranges(proc, r, nr, NULL);
		memcpy(x->ctx->err, msg, sizeof(msg));
	}
out:
	free(r);
	free(x->moves);
	free(x->sps);
	free(x->ranges);
	spans_free(x);
	free(x->jpre[0].img);
	free(x->jpre[1].img);
	free(x->jpre[2].img);
	lp_world_free(&w);
	lp_unwinder_free(u);
	return err;
}

static double timeout_of(const struct lp_apply_opts *opts)
{
	if (opts && opts->sz >= offsetof(struct lp_apply_opts, timeout_s) + sizeof(double) &&
	    opts->timeout_s > 0)
		return opts->timeout_s * 1000;
	return 10000;
}

static enum lp_mode mode_of(const struct lp_apply_opts *opts)
{
	if (opts && opts->sz >= offsetof(struct lp_apply_opts, mode) + sizeof(opts->mode))
		return opts->mode;
	return LP_MODE_ENTRY;
}

static unsigned int flags_of(const struct lp_apply_opts *opts)
{
	if (opts && opts->sz >= offsetof(struct lp_apply_opts, flags) + sizeof(unsigned int))
		return opts->flags;
	return 0;
}

/*
 * The process is traced by @tracer.  Another livepatch run on it (an
 * operator's list cleaning it up, a second apply) ends soon: wait for it,
 * for @timeout_ms at most, and return 0 once the process is free.  A
 * debugger is refused at once.
 */
static int refuse_tracer(struct lp_ctx *ctx, pid_t pid, pid_t tracer, double timeout_ms)
{
	double deadline = lp_now_ms() + timeout_ms;
	bool said = false, lp;

	while ((tracer = tracer_now(pid, tracer, &lp)) && lp && lp_now_ms() < deadline) {
		if (!said)
			lp_info(ctx, "process %d is being worked on by another livepatch run (process %d): waiting",
				pid, tracer);
		said = true;
		sleep_ms(5);
		tracer = lp_proc_other_tracer(pid);
	}
	if (!tracer)
		return 0;
	if (lp)
		return lp_fail(ctx, -LP_ETRACED,
			       "process %d is being worked on by another livepatch run (process %d): try again when it ends",
			       pid, tracer);
	return lp_fail(ctx, -LP_ETRACED,
		       "process %d is already traced by process %d (a debugger?): detach it first",
		       pid, tracer);
}

/* Open the process and its journal; refuse one traced by someone else. */
static int begin(struct lp_ctx *ctx, pid_t pid, double timeout_ms, struct txn *x)
{
	pid_t tracer = 0;
	size_t i;
	int err;

	memset(x, 0, sizeof(*x));
	x->ctx = ctx;
	ctx->err[0] = 0;
	err = lp_proc_open(ctx, pid, &x->proc);
	if (err)
		return err;
	if (!lp_proc_tracer(pid, &tracer) && tracer && tracer != getpid() &&
	    (err = refuse_tracer(ctx, pid, tracer, timeout_ms)))
		return err;
	err = lp_journal_load(x->proc, &x->j);
	if (err)
		return err;
	x->drop = calloc(x->j->n + 1, sizeof(*x->drop));
	x->repair = calloc(x->j->n + 1, sizeof(*x->repair));
	if (!x->drop || !x->repair)
		return -ENOMEM;
	for (i = 0; i < x->j->n; i++) {
		struct lp_jpatch *p = &x->j->p[i];

		if (p->state == LP_J_APPLYING || p->state == LP_J_REVERTING) {
			x->repair[i] = true;
			x->drop[i] = p->state == LP_J_REVERTING;
			p->state = LP_PATCH_APPLIED;
		}
	}
	return 0;
}

/*
 * A failure while the target died is its death, whichever of our calls
 * saw it first (a thread gone under a ptrace call, memory gone under a
 * write, a journal that cannot be written): one status for all of them.
 * "Not applied" too: a process on its way out may have no memory left,
 * and so no journal to read (exitrace.sh: a revert right after an apply
 * said "not applied" when a worker's _exit() took the process down).
 */
static int death_or(struct txn *x, int err)
{
	if (err >= 0 || err == -LP_EEXITED || err == -LP_EAPPLIED || err == -EINVAL ||
	    !x->proc || !lp_proc_dying(x->proc))
		return err;
	return lp_fail(x->ctx, -LP_EEXITED, "process %d exited during the operation",
		       x->proc->pid);
}

static void end(struct txn *x)
{
	lp_load_free(&x->ld);
	lp_jpatch_clear(&x->rec);
	free(x->c);
	free(x->um);
	free(x->drop);
	free(x->repair);
	lp_journal_free(x->j);
	lp_proc_close(x->proc);
}

static bool any_in_use(const struct txn *x)
{
	size_t i;

	for (i = 0; i < x->num; i++)
		if (x->um[i].in_use)
			return true;
	return false;
}

/*
 * A thread that was running a reverted patch's code at the stop is
 * usually out of it a moment later, as no call enters it any more: one
 * more look then, so that the clean-up is rarely left for later.  Its
 * failure is not the operation's: it only means the code stays mapped.
 */
static void retry_cleanup(struct lp_ctx *ctx, pid_t pid, const struct lp_apply_opts *opts)
{
	char msg[sizeof(ctx->err)];
	int n;

	memcpy(msg, ctx->err, sizeof(msg));
	sleep_ms(1);
	n = lp_cleanup(ctx, pid, opts);
	if (n > 0)
		lp_debug(ctx, "unmapped %d patch%s left in use", n, n == 1 ? "" : "es");
	memcpy(ctx->err, msg, sizeof(msg));
}

static int apply_once(struct lp_ctx *ctx, pid_t pid, const struct lp_patch *patch,
		      const struct lp_apply_opts *opts, struct lp_apply_result *res)
{
	struct txn x;
	bool again;
	size_t i;
	int err;

	if (res)
		memset(res, 0, sizeof(*res));
	err = begin(ctx, pid, timeout_of(opts), &x);
	x.mode = mode_of(opts);
	if (err)
		goto out;
	for (i = 0; i < x.j->n; i++) {
		if (!strcmp(x.j->p[i].id, patch->id) &&
		    x.j->p[i].state == LP_PATCH_APPLIED) {
			/* an apply of it that a killed run left half done is
			 * finished first: then it is applied indeed */
			if (x.repair[i] && (err = prepare(&x)) == 0)
				err = run(&x, timeout_of(opts), NULL);
			if (!err)
				err = lp_fail(ctx, -LP_EAPPLIED,
					      "patch %s is already applied to process %d: nothing to do",
					      patch->id, pid);
			goto out;
		}
	}
	if (flags_of(opts) & LP_APPLY_REPLACE)
		for (i = 0; i < x.j->n; i++)
			x.drop[i] = x.j->p[i].state == LP_PATCH_APPLIED;
	x.patch = patch;
	err = prepare(&x);
	if (!err)
		err = run(&x, timeout_of(opts), res);
	if (!err)
		lp_info(ctx, "applied %s to process %d: %zu function%s, %u attempt%s", patch->id,
			pid, patch->nfuncs, patch->nfuncs == 1 ? "" : "s",
			res ? res->attempts : 0, res && res->attempts == 1 ? "" : "s");
out:
	err = death_or(&x, err);
	again = !err && any_in_use(&x);
	end(&x);
	if (again)
		retry_cleanup(ctx, pid, opts);
	return err;
}

static int revert_once(struct lp_ctx *ctx, pid_t pid, const char *id,
		       const struct lp_apply_opts *opts, struct lp_apply_result *res)
{
	struct txn x;
	size_t i, found = 0, idlen = id ? strlen(id) : 0;
	const struct lp_jpatch *in_use = NULL;
	bool again;
	int err;

	if (res)
		memset(res, 0, sizeof(*res));
	if (id && (idlen < 4 || idlen > 16 || strspn(id, "0123456789abcdef") != idlen))
		return lp_fail(ctx, -EINVAL,
			       "'%s' is not a patch id: give its hex digits, as livepatch list shows them",
			       id);
	err = begin(ctx, pid, timeout_of(opts), &x);
	x.mode = mode_of(opts);
	if (err)
		goto out;
	for (i = 0; i < x.j->n; i++) {
		const struct lp_jpatch *p = &x.j->p[i];

		if (id && strncmp(p->id, id, idlen))
			continue;
		if (p->state == LP_PATCH_APPLIED) {
			x.drop[i] = true;
			found++;
		} else if (p->state == LP_PATCH_REVERTED_IN_USE) {
			in_use = p;
		}
	}
	if (id && !found && in_use) {
		err = lp_fail(ctx, -LP_ENOTAPPLIED,
			      "patch %s is reverted already in process %d (its code is still in use and will be unmapped later)",
			      in_use->id, pid);
		goto out;
	}
	if (id && found > 1) {
		err = lp_fail(ctx, -EINVAL, "'%s' matches %zu patches: give more digits", id,
			      found);
		goto out;
	}
	if (id && !found) {
		err = lp_fail(ctx, -LP_ENOTAPPLIED, "patch %s is not applied to process %d", id,
			      pid);
		goto out;
	}
	if (!found && !x.num) {
		/* --all with nothing applied */
		err = 0;
		goto out;
	}
	err = prepare(&x);
	if (!err)
		err = run(&x, timeout_of(opts), res);
	if (!err)
		err = (int)found;
out:
	err = death_or(&x, err);
	again = err > 0 && any_in_use(&x);
	end(&x);
	if (again)
		retry_cleanup(ctx, pid, opts);
	return err;
}

static int cleanup_once(struct lp_ctx *ctx, pid_t pid, const struct lp_apply_opts *opts)
{
	struct txn x;
	size_t i, n = 0;
	int err;

	err = begin(ctx, pid, timeout_of(opts), &x);
	x.mode = mode_of(opts);
	if (!err)
		err = prepare(&x);
	for (i = 0; !err && i < x.j->n; i++)
		if (x.repair[i]) {
			/* a run killed under way: finish its work */
			err = run(&x, timeout_of(opts), NULL);
			goto out;
		}
	if (!err && (x.num || x.j->nmaps)) {
		bool stale = false;

		/* only if there is anything to do: a reverted patch, a stray
		 * mapping, or a journal copy left over */
		for (i = 0; i < x.j->nmaps; i++)
			if (x.j->maps[i].journal && x.j->maps[i].start != x.j->addr)
				stale = true;
		if (x.num || stale || (x.j->addr && !x.j->n)) {
			err = run(&x, timeout_of(opts), NULL);
		}
	}
out:
	err = death_or(&x, err);
	for (i = 0; !err && i < x.num; i++)
		n += !x.um[i].in_use;
	end(&x);
	return err ? err : (int)n;
}

/*
 * A transaction that finds that another run changed the process's patches
 * since it read them, or took the process after its load (-EBUSY), has
 * written nothing: it starts over from the journal, which now tells it
 * what is there.
 */
#define MAX_TRIES 5

int lp_apply(struct lp_ctx *ctx, pid_t pid, const struct lp_patch *patch,
	     const struct lp_apply_opts *opts, struct lp_apply_result *res)
{
	uint64_t slice = lp_slice_shorten(ctx);
	int err, tries = 0;

	while ((err = apply_once(ctx, pid, patch, opts, res)) == -EBUSY && ++tries < MAX_TRIES)
		lp_debug(ctx, "another run changed the patches of process %d: starting over", pid);
	lp_slice_restore(slice);
	return err;
}

int lp_revert(struct lp_ctx *ctx, pid_t pid, const char *id,
	      const struct lp_apply_opts *opts, struct lp_apply_result *res)
{
	uint64_t slice = lp_slice_shorten(ctx);
	int err, tries = 0;

	while ((err = revert_once(ctx, pid, id, opts, res)) == -EBUSY && ++tries < MAX_TRIES)
		lp_debug(ctx, "another run changed the patches of process %d: starting over", pid);
	lp_slice_restore(slice);
	return err;
}

int lp_cleanup(struct lp_ctx *ctx, pid_t pid, const struct lp_apply_opts *opts)
{
	uint64_t slice = lp_slice_shorten(ctx);
	int err, tries = 0;

	while ((err = cleanup_once(ctx, pid, opts)) == -EBUSY && ++tries < MAX_TRIES)
		lp_debug(ctx, "another run changed the patches of process %d: starting over", pid);
	lp_slice_restore(slice);
	return err;
}
