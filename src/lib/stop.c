/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stopping the world: seize every thread while the target runs, then
 * interrupt them all and re-read the thread list until no new thread
 * appears (a stopped thread cannot create one, so this ends).  Whatever a
 * stop took from a thread is given back at release: a signal caught in a
 * signal-delivery stop is delivered with PTRACE_DETACH, a group-stopped
 * target stays stopped (the kernel re-enters the group stop on detach),
 * and a system call that our interrupt ended with EINTR is issued again
 * unless a signal handler runs (lp_world_fix_eintr()).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "internal.h"

int lp_thread_seize(struct lp_ctx *ctx, struct lp_thread *t)
{
	/*
	 * No PTRACE_O_EXITKILL: if we die, the kernel detaches and the
	 * target runs on.  PTRACE_O_TRACEEXIT: a thread that ends between
	 * its seize and its stop reports a stop on its way out, where we let
	 * it go; else a main thread that ended alone (pthread_exit(), the
	 * others running on) would report nothing until the whole process
	 * ends, and a wait for its stop would last as long
	 * (tests/integration/exitrace.sh, "main thread ended at").  A
	 * SIGKILL, which ends every thread, makes no such stop.
	 */
	if (ptrace(PTRACE_SEIZE, t->tid, NULL, (void *)(long)PTRACE_O_TRACEEXIT)) {
		int err = -errno;

		/* The kernel says EPERM, not ESRCH, for a thread that is
		 * exiting or a zombie main thread: only a live thread makes
		 * it a refusal (/proc/TID/task/TID names any thread). */
		if (err == -EPERM && !lp_proc_task_alive(t->tid, t->tid))
			err = -ESRCH;
		if (err == -ESRCH)
			t->gone = true;
		else
			lp_debug(ctx, "seize %d: %s", t->tid, strerror(-err));
		return err;
	}
	t->seized = true;
	return 0;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* How long a stop waits for a thread that does not come (a thread in an
 * uninterruptible or killable wait, such as a vfork parent, only stops
 * when that wait ends): the attempt is then unsafe, not stuck. */
#define STOP_WAIT_MS 250

enum wait_how {
	WAIT_BLOCK,  /* until the thread stops */
	WAIT_NOHANG, /* 1 if it has not stopped yet */
	WAIT_TIMED,  /* 1 if a signal (our timer's) cut the wait short */
};

/*
 * Wait for a seized thread to report a stop; fills in its state.  0, 1
 * "not stopped yet" (see enum wait_how), or an error.
 */
static int wait_stopped_flags(struct lp_ctx *ctx, struct lp_thread *t, enum wait_how how)
{
	int status;

	for (;;) {
		pid_t r = waitpid(t->tid, &status, __WALL | (how == WAIT_NOHANG ? WNOHANG : 0));

		if (r == 0)
			return 1;
		if (r < 0) {
			if (errno == EINTR && how == WAIT_TIMED)
				return 1;
			if (errno == EINTR)
				continue;
			t->gone = true;
			return -ESRCH;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->gone = true;
			return -ESRCH;
		}
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_EXIT) {
			/* on its way out (see lp_thread_seize()): it runs no
			 * more code of its own; let it finish */
			ptrace(PTRACE_DETACH, t->tid, NULL, NULL);
			lp_debug(ctx, "thread %d ended before its stop", t->tid);
			t->seized = false;
			t->gone = true;
			return -ESRCH;
		}
		if (WIFSTOPPED(status))
			break;
	}
	if ((status >> 16) == PTRACE_EVENT_STOP) {
		/* Our interrupt, or a group-stop (SIGSTOP and friends) */
		if (is_stop_signal(WSTOPSIG(status)))
			t->group_stop = true;
	} else if ((status >> 16) == 0) {
		/* Signal-delivery stop: the signal is owed to the thread. */
		t->owed_sig = WSTOPSIG(status);
		/* keep its siginfo: a later stop (a remote call's step) would
		 * otherwise turn it into a plain kill() from us at detach */
		t->has_siginfo = !ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &t->siginfo);
		lp_debug(ctx, "thread %d owes signal %d", t->tid, t->owed_sig);
	}
	t->stopped = true;
	if (ptrace(PTRACE_GETREGS, t->tid, NULL, &t->regs)) {
		int err = -errno;

		if (err == -ESRCH)
			t->gone = true;
		return err;
	}
	return 0;
}

static int wait_stopped(struct lp_ctx *ctx, struct lp_thread *t)
{
	return wait_stopped_flags(ctx, t, WAIT_BLOCK);
}

/* A thread that is runnable but gets no CPU (a low-priority thread on a
 * busy machine) stops as soon as it runs: it is waited for this long. */
#define RUNNABLE_WAIT_MS 3000

/* Is any thread still to stop in an uninterruptible or killable wait? */
static bool any_blocked(struct lp_world *w, size_t first)
{
	size_t i;

	for (i = first; i < w->n; i++) {
		const struct lp_thread *t = &w->th[i];

		if (t->seized && !t->stopped && !t->gone &&
		    lp_proc_task_state(w->proc->pid, t->tid) != 'R')
			return true;
	}
	return false;
}

/*
 * Collect the stops of threads [first, n), for STOP_WAIT_MS at most, or
 * RUNNABLE_WAIT_MS while those left are all merely waiting for a CPU.
 *
 * In the order they were interrupted, which is about the order they stop
 * in: one waitpid() a thread.
 *  - Timed (w->timed): a blocking waitpid(), as the floor's, which the
 *    kernel wakes only for the stop of the thread it waits for; our timer
 *    cuts it short at STOP_WAIT_MS, then every WAKE_MS, to look at the
 *    clock.  10 threads: 0.21 against 0.24 ms with the SIGCHLD sleeps.
 *  - Else, when the next thread is not there yet: with few threads left,
 *    a sleep until the kernel reports the next stop of any of them (each
 *    ptrace stop sends us SIGCHLD, which lp_world_stop() blocks, so that
 *    it stays pending until sigtimedwait() takes it; a nap would
 *    oversleep: 10 threads, 0.25 against 0.36 ms); with many, naps of 10
 *    us growing to 128 us, as a wake-up for every stop would take the CPU
 *    from the threads still on their way to theirs (1,000 busy threads,
 *    2 CPUs: 13 ms against 17 ms).
 * Never polling without a sleep: on a small machine the threads need the
 * CPU a poller would take from them.
 */
#define WAKE_MS 10
#define FEW 16
#define NAP_MIN_NS 10000L
#define NAP_MAX_NS 128000L

/* Sleep *@ns, and double it up to @max for the next nap. */
static void nap_grow(long *ns, long max)
{
	struct timespec ts = { 0, *ns };

	nanosleep(&ts, NULL);
	*ns = *ns * 2 > max ? max : *ns * 2;
}

static void arm(struct lp_world *w, long first_ms)
{
	struct itimerspec its = {
		.it_value = { first_ms / 1000, first_ms % 1000 * 1000000L },
		.it_interval = { 0, WAKE_MS * 1000000L },
	};

	if (w->timed)
		timer_settime(w->timer, 0, &its, NULL);
}

static void collect_stops(struct lp_world *w, size_t first)
{
	struct lp_ctx *ctx = w->proc->ctx;
	double start = lp_now_ms();
	long nap = NAP_MIN_NS;
	sigset_t chld;
	size_t i;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	arm(w, STOP_WAIT_MS);
	for (i = first; i < w->n; i++) {
		struct lp_thread *t = &w->th[i];

		while (t->seized && !t->stopped && !t->gone &&
		       wait_stopped_flags(ctx, t, w->timed ? WAIT_TIMED : WAIT_NOHANG) == 1) {
			/* (a tick, to look at the clock now and then) */
			struct timespec tick = { 0, WAKE_MS * 1000000L };
			double now = lp_now_ms();

			if (now > start + STOP_WAIT_MS &&
			    lp_proc_task_exiting(w->proc->pid, t->tid)) {
				/* it runs no more code of its own, and will not
				 * stop (see lp_thread_stop()) */
				t->gone = true;
				break;
			}
			if (now > start + STOP_WAIT_MS &&
			    (now > start + RUNNABLE_WAIT_MS || any_blocked(w, i)))
				goto late;
			if (w->timed) {
				continue;
			} else if (w->chld_blocked && w->n - i <= FEW) {
				sigtimedwait(&chld, NULL, &tick);
			} else {
				nap_grow(&nap, NAP_MAX_NS);
			}
		}
	}
	arm(w, 0);
	return;
late:
	arm(w, 0);
	/* the others had as long: one last look at each */
	for (; i < w->n; i++) {
		struct lp_thread *t = &w->th[i];

		if (t->seized && !t->stopped && !t->gone)
			wait_stopped_flags(ctx, t, WAIT_NOHANG);
	}
}

/*
 * A thread we seized that ends reports a stop on its way out (see
 * lp_thread_seize()), unless it was past that point at the seize: then it
 * never stops, and only a thread that is not the main one reports its
 * end at once.  Such a main thread is a zombie (or about to be one) until
 * the whole process ends: it is looked at now and then while we wait for
 * it, and counted gone.  (It stays traced by us, which cannot be undone:
 * the kernel lets it go when we end.)
 */
#define EXITING_LOOK_NS 1000000L

int lp_thread_stop(struct lp_ctx *ctx, struct lp_thread *t)
{
	long nap = 2000, slept = 0, slack;
	int r;

	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL)) {
		t->gone = true;
		return -ESRCH;
	}
	if (!t->leader)
		return wait_stopped(ctx, t);
	/* short naps, without the 50 us a sleep of ours gets added by
	 * default (PR_SET_TIMERSLACK is the calling thread's own) */
	slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
	while ((r = wait_stopped_flags(ctx, t, WAIT_NOHANG)) == 1) {
		if (slept >= EXITING_LOOK_NS && lp_proc_task_exiting(t->tid, t->tid)) {
			lp_debug(ctx, "thread %d ended before its stop", t->tid);
			t->gone = true;
			r = -ESRCH;
			break;
		}
		slept += nap;
		nap_grow(&nap, EXITING_LOOK_NS);
	}
	if (slack > 0)
		prctl(PR_SET_TIMERSLACK, slack, 0, 0, 0);
	return r;
}

int lp_thread_set_regs(struct lp_ctx *ctx, struct lp_thread *t)
{
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &t->regs)) {
		int err = -errno;

		lp_debug(ctx, "setregs %d: %s", t->tid, strerror(-err));
		return err;
	}
	t->rax_dirty = false;
	return 0;
}

/* One register, one word: a third of a PTRACE_SETREGS's cost (0.5 against
 * 1.4 us here), for each thread whose call is issued again. */
static int put_rax(struct lp_ctx *ctx, struct lp_thread *t)
{
	if (ptrace(PTRACE_POKEUSER, t->tid, (void *)offsetof(struct user_regs_struct, rax),
		   (void *)t->regs.rax)) {
		int err = -errno;

		lp_debug(ctx, "pokeuser %d: %s", t->tid, strerror(-err));
		return err;
	}
	t->rax_dirty = false;
	return 0;
}

int lp_thread_release(struct lp_ctx *ctx, struct lp_thread *t)
{
	int err = 0;

	if (!t->seized || t->gone)
		return 0;
	if (t->stopped && t->rax_dirty) {
		err = put_rax(ctx, t);
		if (err)
			lp_warn(ctx, "thread %d: cannot restore its registers: %s", t->tid,
				strerror(-err));
	}
	/* PTRACE_DETACH needs a stopped tracee; a running one (seized, never
	 * stopped) is interrupted first so that it can be detached. */
	if (!t->stopped && lp_thread_stop(ctx, t))
		return 0;
	if (t->owed_sig && t->has_siginfo &&
	    ptrace(PTRACE_SETSIGINFO, t->tid, NULL, &t->siginfo))
		lp_warn(ctx, "thread %d: cannot restore the siginfo of signal %d", t->tid,
			t->owed_sig);
	if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->owed_sig)) {
		if (errno != ESRCH)
			err = -errno;
		t->gone = true;
	}
	t->seized = t->stopped = t->rax_dirty = false;
	t->owed_sig = 0;
	t->has_siginfo = false;
	t->group_stop = false;
	return err;
}

static struct lp_thread *world_find(struct lp_world *w, pid_t tid)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->th[i].tid == tid)
			return &w->th[i];
	return NULL;
}

static struct lp_thread *world_add(struct lp_world *w, pid_t tid)
{
	struct lp_thread *t;

	if (lp_grow(&w->th, &w->cap, w->n, sizeof(*w->th), 64))
		return NULL;
	t = &w->th[w->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->leader = tid == w->proc->pid;
	return t;
}

/*
 * Seize the threads of the current thread list that are not seized yet;
 * with @stop, stop them as well.  *added counts them.
 */
static int seize_new(struct lp_world *w, bool stop, size_t *added)
{
	struct lp_ctx *ctx = w->proc->ctx;
	pid_t *tids;
	size_t n, i, first = w->n;
	int err;

	*added = 0;
	err = lp_proc_tasks(w->proc->pid, &tids, &n);
	if (err)
		return err == -ESRCH ? lp_fail(ctx, -LP_EEXITED, "process %d exited",
					       w->proc->pid) : err;
	for (i = 0; i < n; i++) {
		/* /proc lists the threads in the same order each time: try the
		 * same slot first, so that 4,000 threads are not 16M compares
		 * inside the pause */
		struct lp_thread *t = i < w->n && w->th[i].tid == tids[i] ?
				      &w->th[i] : world_find(w, tids[i]);

		if (t && (t->seized || t->gone))
			continue;
		if (!t && !(t = world_add(w, tids[i]))) {
			free(tids);
			return -ENOMEM;
		}
		err = lp_thread_seize(ctx, t);
		if (err == -ESRCH)
			continue;
		if (err) {
			free(tids);
			if (err == -EPERM)
				return lp_fail(ctx, -EPERM, "not allowed to trace process %d",
					       w->proc->pid);
			return lp_fail(ctx, err, "cannot seize thread %d: %s", tids[i],
				       strerror(-err));
		}
		(*added)++;
	}
	free(tids);
	if (stop) {
		/* interrupt them all first, then collect: the stops overlap */
		for (i = first; i < w->n; i++)
			if (w->th[i].seized && !w->th[i].stopped &&
			    ptrace(PTRACE_INTERRUPT, w->th[i].tid, NULL, NULL))
				w->th[i].gone = true;
		collect_stops(w, first);
	}
	return 0;
}

int lp_world_seize(struct lp_world *w)
{
	size_t added;
	int err, rounds = 0;

	/* The target runs meanwhile and may start threads: go round until a
	 * pass finds none (the stop catches any that come later). */
	do {
		err = seize_new(w, false, &added);
		if (err)
			return err;
	} while (added && ++rounds < 16);
	/* The PID may name another process since it was opened: now that
	 * threads are held it cannot change again; if it has, let them go. */
	if (lp_proc_check_alive(w->proc)) {
		lp_world_release(w);
		return lp_fail(w->proc->ctx, -LP_EEXITED,
			       "process %d exited (its PID now names another process)",
			       w->proc->pid);
	}
	return 0;
}

/*
 * Reading the thread list of a process of 4,000 threads takes 3 to 11 ms
 * (/proc/PID/task), inside the pause, and 30 us for a process of one
 * thread; its count of threads, the link count of that directory (the
 * kernel gives it as 2 + the number of threads), one stat() of 2 us.
 * When the count is that of the threads we hold stopped, no thread is
 * new: the stopped ones cannot start any, and one that exited after its
 * seize was reaped by our wait, which took it out of the count.  Else (a
 * new thread, one that did not stop, a zombie main thread) the list is
 * read.
 */
static bool none_new(struct lp_world *w)
{
	char path[80];
	struct stat st;
	size_t i, live = 0;

	for (i = 0; i < w->n; i++) {
		if (w->th[i].seized && !w->th[i].gone && !w->th[i].stopped)
			return false;
		if (w->th[i].stopped && !w->th[i].gone)
			live++;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", (int)w->proc->pid);
	if (stat(path, &st) || st.st_nlink < 2)
		return false;
	return st.st_nlink - 2 == live;
}

/*
 * While the world is stopped we run at a real-time priority, when we are
 * allowed to: a machine busy with other work (or with the target's own
 * threads that are not stopped yet) must not keep us off a CPU while the
 * target waits for us.  Only then: at other times a real-time controller
 * would take a CPU from the target's threads, whose requests would wait.
 * A caller already at a real-time priority keeps it.
 */
static void raise_priority(struct lp_world *w)
{
	struct sched_param rt = { .sched_priority = 1 };
	int policy;

	w->raised = false;
	w->policy = sched_getscheduler(0);
	policy = w->policy & ~SCHED_RESET_ON_FORK;
	if (w->policy < 0 || (policy != SCHED_OTHER && policy != SCHED_BATCH &&
			      policy != SCHED_IDLE) || sched_getparam(0, &w->param))
		return;
	w->raised = !sched_setscheduler(0, SCHED_FIFO | (w->policy & SCHED_RESET_ON_FORK), &rt);
	if (w->raised)
		lp_debug(w->proc->ctx, "stopping at real-time priority (our policy was %s)",
			 policy == SCHED_IDLE ? "SCHED_IDLE" :
			 policy == SCHED_BATCH ? "SCHED_BATCH" : "SCHED_OTHER");
}

static void lower_priority(struct lp_world *w)
{
	if (w->raised && sched_setscheduler(0, w->policy, &w->param))
		lp_warn(w->proc->ctx, "cannot restore our scheduling policy: %s", strerror(errno));
	w->raised = false;
}

/*
 * Outside the stop we ask for short time slices (Linux 6.12 and later:
 * sched_attr.sched_runtime is a SCHED_OTHER thread's slice).  Our work
 * before the stop (reading the target's maps and ELF files, loading the
 * patch) takes a CPU for a millisecond or more at a time.  With the
 * default slice (1.4 ms on 2 CPUs), a target thread woken on our CPU
 * waits for the end of it, and on a kernel that preempts only at its tick
 * (4 ms at HZ=250) for the next tick: kvd's requests due in the first
 * 4 ms of an apply were the slow ones (tools/lpbench, "latency").  With a
 * 0.1 ms slice the woken thread runs first.  Older kernels report no
 * slice and we leave them alone.
 */
#define SHORT_SLICE_NS 100000

#define LP_SCHED_FLAG_RESET_ON_FORK 0x01

/* Our attributes, if we are a SCHED_OTHER or SCHED_BATCH thread. */
static bool fair_attr(struct sched_attr_v0 *a)
{
	memset(a, 0, sizeof(*a));
	return !syscall(SYS_sched_getattr, 0, a, sizeof(*a), 0) &&
	       (a->sched_policy == SCHED_OTHER || a->sched_policy == SCHED_BATCH);
}

static bool put_slice(struct sched_attr_v0 *a, uint64_t ns)
{
	a->size = sizeof(*a);
	a->sched_flags &= LP_SCHED_FLAG_RESET_ON_FORK; /* (not the clamps') */
	a->sched_runtime = ns;
	return !syscall(SYS_sched_setattr, 0, a, 0);
}

uint64_t lp_slice_shorten(struct lp_ctx *ctx)
{
	struct sched_attr_v0 a;
	uint64_t was;

	if (!fair_attr(&a) || a.sched_runtime <= SHORT_SLICE_NS)
		return 0;
	was = a.sched_runtime;
	if (!put_slice(&a, SHORT_SLICE_NS))
		return 0;
	lp_debug(ctx, "time slices of %.1f ms until we are done (were %.1f ms)",
		 SHORT_SLICE_NS / 1e6, (double)was / 1e6);
	return was;
}

/*
 * Give back the slice @was.  A slice of 0 asks for the kernel's default
 * (which a caller that never chose one has): that, if it is @was, else
 * @was itself, which the caller had chosen.
 */
void lp_slice_restore(uint64_t was)
{
	struct sched_attr_v0 a;

	if (!was || !fair_attr(&a) || !put_slice(&a, 0))
		return;
	if (fair_attr(&a) && a.sched_runtime != was)
		put_slice(&a, was);
}

#ifndef sigev_notify_thread_id /* (glibc before 2.37 names it so) */
#define sigev_notify_thread_id _sigev_un._tid
#endif

static void on_timer(int sig)
{
	(void)sig;
}

/*
 * Timed waits, when the program that calls us cannot tell: its SIGCHLD is
 * at its default, without SA_NOCLDWAIT (a SIGCHLD is discarded, and its
 * children wait to be reaped), and not blocked (so not read through
 * signalfd() or sigwait()), and we are its only thread (no other thread
 * can take a SIGCHLD meant for ours).  For the stop, a handler that does
 * nothing, with SA_NOCLDSTOP so that the threads' ptrace stops send no
 * SIGCHLD (and queue none: the stops are cheaper), and without
 * SA_RESTART, so that the timer's SIGCHLD ends a waitpid().  (A log
 * callback's write() may then see EINTR.)  Otherwise the stop waits as
 * block_chld() describes.
 */
static void timed_begin(struct lp_world *w)
{
	struct sigaction sa = { .sa_handler = on_timer, .sa_flags = SA_NOCLDSTOP };
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGCHLD };
	struct stat st;
	sigset_t chld, cur;

	w->timed = false;
	if (w->chld_blocked || sigaction(SIGCHLD, NULL, &w->saved_chld) ||
	    (w->saved_chld.sa_flags & (SA_SIGINFO | SA_NOCLDWAIT)) ||
	    w->saved_chld.sa_handler != SIG_DFL || pthread_sigmask(SIG_BLOCK, NULL, &cur) ||
	    sigismember(&cur, SIGCHLD) || stat("/proc/self/task", &st) || st.st_nlink != 3)
		return;
	ev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &ev, &w->timer))
		return;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigaction(SIGCHLD, &sa, NULL) ||
	    pthread_sigmask(SIG_UNBLOCK, &chld, &w->saved_mask)) {
		sigaction(SIGCHLD, &w->saved_chld, NULL);
		timer_delete(w->timer);
		return;
	}
	w->timed = true;
}

static void timed_end(struct lp_world *w)
{
	if (!w->timed)
		return;
	timer_delete(w->timer);
	/* (back to SIG_DFL: a SIGCHLD still pending is discarded, as it
	 * would have been) */
	sigaction(SIGCHLD, &w->saved_chld, NULL);
	pthread_sigmask(SIG_SETMASK, &w->saved_mask, NULL);
	w->timed = false;
}

/*
 * SIGCHLD blocked in our thread while the world stops, so that each
 * thread's stop leaves it pending for collect_stops() to wait on (an
 * unblocked SIGCHLD at its default disposition is dropped when sent).
 * The caller's mask is back at the release.
 */
static void block_chld(struct lp_world *w)
{
	sigset_t chld;

	if (w->chld_blocked)
		return;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	w->chld_blocked = !pthread_sigmask(SIG_BLOCK, &chld, &w->saved_mask);
}

static void unblock_chld(struct lp_world *w)
{
	if (w->chld_blocked) {
		pthread_sigmask(SIG_SETMASK, &w->saved_mask, NULL);
		w->chld_blocked = false;
	}
}

int lp_world_stop(struct lp_world *w)
{
	size_t i, added, live = 0;
	int err;

	raise_priority(w);
	if (!w->timed)
		timed_begin(w);
	if (!w->timed)
		block_chld(w);
	w->t_first_stop = lp_now_ms();
	for (i = 0; i < w->n; i++)
		if (w->th[i].seized && !w->th[i].stopped &&
		    ptrace(PTRACE_INTERRUPT, w->th[i].tid, NULL, NULL))
			w->th[i].gone = true;
	collect_stops(w, 0);
	/* Threads started before their creator stopped: until none is new. */
	do {
		if (none_new(w))
			break;
		err = seize_new(w, true, &added);
		if (err)
			return err;
	} while (added);
	for (i = 0; i < w->n; i++)
		if (w->th[i].stopped && !w->th[i].gone)
			live++;
	if (!live)
		return lp_fail(w->proc->ctx, -LP_EEXITED, "process %d exited",
			       w->proc->pid);
	return 0;
}

/* Our priority, SIGCHLD and timer as they were before the stop. */
static void restore_self(struct lp_world *w)
{
	lower_priority(w);
	unblock_chld(w);
	timed_end(w);
}

/*
 * Threads that never stopped can only be detached once they do: they are
 * waited for after everyone else runs again, all of them at once, until
 * each has stopped or ended.  Not one after the other: the kernel reports
 * a main thread's exit only once every other thread of the process is
 * reaped, and a traced thread that ends waits for its tracer, us, to reap
 * it; a blocking wait for the main thread first waited for ever
 * (exitrace.sh, nostop.sh).  Our interrupt may have cut their system
 * call short as it did the others'.
 */
#define UNSTOPPED_NAP_MAX_NS 10000000L

static void release_unstopped(struct lp_world *w)
{
	struct lp_ctx *ctx = w->proc->ctx;
	long nap = NAP_MIN_NS;
	size_t i, left;

	for (i = 0; i < w->n; i++) {
		struct lp_thread *t = &w->th[i];

		if (t->seized && !t->stopped && !t->gone &&
		    ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL))
			t->gone = true;
	}
	do {
		left = 0;
		for (i = 0; i < w->n; i++) {
			struct lp_thread *t = &w->th[i];
			int r;

			if (!t->seized || t->stopped || t->gone)
				continue;
			r = wait_stopped_flags(ctx, t, WAIT_NOHANG);
			if (r == 1 && nap >= UNSTOPPED_NAP_MAX_NS &&
			    lp_proc_task_exiting(w->proc->pid, t->tid)) {
				/* (see lp_thread_stop()) */
				t->gone = true;
				continue;
			}
			if (r == 1) {
				left++;
				continue;
			}
			if (r == 0)
				lp_thread_fix_eintr(w->proc, t);
			lp_thread_release(ctx, t);
		}
		if (left)
			nap_grow(&nap, UNSTOPPED_NAP_MAX_NS);
	} while (left);
}

void lp_world_release(struct lp_world *w)
{
	size_t i;

	w->released = 0;
	for (i = 0; i < w->n; i++) {
		if (!w->th[i].stopped || w->th[i].gone)
			continue;
		w->released++;
		lp_thread_release(w->proc->ctx, &w->th[i]);
	}
	w->t_last_resume = lp_now_ms();
	release_unstopped(w);
	restore_self(w);
	/* forget the threads: the next stop starts afresh */
	w->n = 0;
}

void lp_world_free(struct lp_world *w)
{
	restore_self(w);
	free(w->th);
	w->th = NULL;
	w->n = w->cap = 0;
}

/*
 * The calls that end with a plain EINTR on a ptrace stop and can be issued
 * again as they were: waits that consumed nothing.  Not close() and the
 * like, whose EINTR may come after the work is done.
 */
static bool reissuable(long nr)
{
	switch (nr) {
	case SYS_epoll_wait: case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_rt_sigtimedwait: case SYS_io_getevents:
	/* sockets with SO_RCVTIMEO/SO_SNDTIMEO: EINTR means nothing moved */
	case SYS_read: case SYS_readv: case SYS_pread64: case SYS_recvfrom:
	case SYS_recvmsg: case SYS_recvmmsg: case SYS_write: case SYS_writev:
	case SYS_sendto: case SYS_sendmsg: case SYS_accept: case SYS_accept4:
		return true;
	default:
		return false;
	}
}

/*
 * The kernel's code for "restart this call unless a signal handler runs,
 * then fail it with EINTR" (include/linux/errno.h; not in the headers of
 * user space).
 */
#define LP_ERESTARTNOHAND 514

/*
 * Did a stop end @t's system call with an EINTR, of a call that can be
 * issued again?  Also a thread in a signal-delivery stop (t->owed_sig):
 * while we trace a thread the kernel queues even a signal it ignores
 * (SIGCHLD, SIGWINCH at their default...), which then ends the call; the
 * signal is handed back at the detach and the kernel decides as below.
 * Not a thread in a group stop: it stays stopped, and on SIGCONT sees
 * the EINTR it would have seen without us.
 */
static bool eintr_ours(struct lp_proc *proc, const struct lp_thread *t, uint64_t *seen)
{
	uint8_t insn[2];

	if (!t->stopped || t->gone || t->group_stop ||
	    (long long)t->regs.rax != -EINTR || !reissuable((long)t->regs.orig_rax))
		return false;
	/* (threads waiting in the same call of the same wrapper: its
	 * syscall instruction, read once, is @seen) */
	if (seen && *seen == t->regs.rip)
		return true;
	if (lp_proc_read(proc, t->regs.rip - 2, insn, 2) || insn[0] != 0x0f || insn[1] != 0x05)
		return false;
	if (seen)
		*seen = t->regs.rip;
	return true;
}

/*
 * The call's result becomes -ERESTARTNOHAND, and the kernel decides when
 * the thread runs again, as it does for the calls that restart by
 * themselves.  Every stop of ours happens inside the kernel's signal
 * handling on the way back from the call (get_signal(); a borrowed
 * thread's last stop, after its single steps, too), which, once we let
 * the thread go, takes any signal pending: one with a handler turns the
 * result into EINTR, as it would have without us; with none, or one
 * blocked or ignored, the kernel issues the call again.  So a signal
 * that came at any time in the pause, up to the detach, is seen, and
 * nothing is asked inside the pause.  (tests/integration/eintr.sh)
 */
static void reissue(struct lp_proc *proc, struct lp_thread *t)
{
	lp_debug(proc->ctx, "thread %d: system call %llu, which our stop interrupted, "
		 "to be issued again unless a handler runs",
		 t->tid, (unsigned long long)t->regs.orig_rax);
	t->regs.rax = (uint64_t)-LP_ERESTARTNOHAND;
	t->rax_dirty = true;
}

void lp_thread_fix_eintr(struct lp_proc *proc, struct lp_thread *t)
{
	if (eintr_ours(proc, t, NULL))
		reissue(proc, t);
}

void lp_world_fix_eintr(struct lp_world *w)
{
	uint64_t seen = 0;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (eintr_ours(w->proc, &w->th[i], &seen))
			reissue(w->proc, &w->th[i]);
}
