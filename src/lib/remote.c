/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * System calls run inside the target, by a stopped thread, without running
 * any of the target's code: point the thread at an existing "syscall"
 * instruction, single-step it, read rax, and put every register back.
 * orig_rax = -1 keeps the kernel from treating the step as the restart of
 * a system call the thread was in; restoring the saved registers (with
 * their orig_rax and rax) lets that interrupted call restart as it would
 * have: a sleep finishes its full time, with no EINTR.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "internal.h"

/*
 * Every signal blocked while the thread runs our calls, but SIGTRAP: the
 * trap of each single step is forced on the thread, and a forced signal
 * that is blocked has its handler reset to the default (kernel:
 * force_sig_info_to_task()), which took a SIGTRAP handler from the
 * target for good (tests/integration/handlers.sh).
 *
 * The mask we save and give back is the thread's own even when it sits in
 * a call that has one of its own for the call's time (ppoll(),
 * epoll_pwait(), sigsuspend()...): PTRACE_GETSIGMASK gives the mask the
 * call will put back, and PTRACE_SETSIGMASK sets it in place of the
 * call's; the call, issued again, sets its own once more
 * (tests/integration/syscalls.sh, the ppoll thread).  /proc's SigBlk
 * would give the call's.
 */
int lp_remote_begin(struct lp_proc *proc, struct lp_thread *t, uint64_t *saved_mask)
{
	uint64_t all = ~(1ULL << (SIGTRAP - 1));

	if (ptrace(PTRACE_GETSIGMASK, t->tid, (void *)sizeof(*saved_mask), saved_mask) ||
	    ptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(all), &all))
		return lp_fail(proc->ctx, -errno, "thread %d: cannot set its signal mask: %s",
			       t->tid, strerror(errno));
	return 0;
}

int lp_remote_end(struct lp_proc *proc, struct lp_thread *t, uint64_t saved_mask)
{
	if (ptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(saved_mask), &saved_mask))
		return lp_fail(proc->ctx, -errno, "thread %d: cannot restore its signal mask: %s",
			       t->tid, strerror(errno));
	return 0;
}

int lp_remote_syscall(struct lp_proc *proc, struct lp_thread *t,
		      uint64_t insn, long nr, const uint64_t args[6],
		      int64_t *ret)
{
	struct user_regs_struct saved = t->regs, r = t->regs, cur;
	int tries, err = -EIO;

	r.rax = (uint64_t)nr;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	r.rip = insn;
	r.orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r))
		return -errno;
	for (tries = 0; tries < 64; tries++) {
		int status, sig;

		if (ptrace(PTRACE_SINGLESTEP, t->tid, NULL, NULL)) {
			err = -errno;
			break;
		}
		while (waitpid(t->tid, &status, __WALL) < 0)
			if (errno != EINTR) {
				t->gone = true;
				return -ESRCH;
			}
		if (!WIFSTOPPED(status)) {
			t->gone = true;
			return -ESRCH;
		}
		if (ptrace(PTRACE_GETREGS, t->tid, NULL, &cur)) {
			err = -errno;
			break;
		}
		sig = WSTOPSIG(status);
		/* Every signal is blocked (lp_remote_begin) but SIGTRAP and
		 * those that cannot be: keep one for the detach all the
		 * same.  (A SIGTRAP sent meanwhile passes for a step's.) */
		if ((status >> 16) == 0 && sig != SIGTRAP && !t->owed_sig) {
			t->owed_sig = sig;
			t->has_siginfo = !ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &t->siginfo);
		} else if ((status >> 16) == 0 && sig != SIGTRAP) {
			lp_warn(proc->ctx, "thread %d: second signal %d during a remote call",
				t->tid, sig);
		}
		if (cur.rip == insn + 2) {
			*ret = (int64_t)cur.rax;
			err = 0;
			break;
		}
	}
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &saved) && !err)
		err = -errno;
	return err;
}
