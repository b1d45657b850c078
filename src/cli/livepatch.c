/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * livepatch: the command line.  The only place that prints and exits:
 * every failure is one line on stderr saying what is wrong and what to do,
 * with an exit status of its own (README, "Exit status").
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livepatch/livepatch.h"

enum exit_status {
	EX_OK = 0,
	EX_FAIL = 1,
	EX_USAGE = 2,
	EX_NOPROC = 3,
	EX_PERM = 4,
	EX_ARCH = 5,
	EX_BADPATCH = 6,
	EX_BUILDID = 7,
	EX_NOSYM = 8,
	EX_NOPAD = 9,
	EX_UNSAFE = 10,
	EX_EXITED = 11,
	EX_PATCHED = 12,
	EX_TRACED = 13,
};

static const char *prog = "livepatch";
static int verbosity;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s apply [-v] [--timeout SECS] PID PATCH_FILE\n"
		"       %s info PATCH_FILE\n"
		"       %s --help | --version\n\n"
		"apply: replace functions inside the running process PID with the\n"
		"ones in PATCH_FILE (built by livepatch-build), without restarting it.\n"
		"info: show what PATCH_FILE is for and what it replaces.\n\n"
		"Options of apply:\n"
		"  -v, --verbose        report the steps and the pause (twice: debug)\n"
		"  -t, --timeout SECS   give up finding a safe point after SECS seconds\n"
		"                       (default 10)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n",
		prog, prog, prog);
}

static void log_cb(enum lp_log_level level, const char *msg, void *user)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	static double t0;
	struct timespec ts;
	double now;

	(void)user;
	if (verbosity > 1) {
		/* with -vv, milliseconds since the first message: where time goes */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
		if (!t0)
			t0 = now;
		fprintf(stderr, "%s: [%9.3f] %s: %s\n", prog, now - t0, names[level], msg);
		return;
	}
	fprintf(stderr, "%s: %s: %s\n", prog, names[level], msg);
}

static int status_of(int err)
{
	switch (-err) {
	case ESRCH: return EX_NOPROC;
	case EPERM: case EACCES: return EX_PERM;
	case LP_EARCH: return EX_ARCH;
	case ENOENT: case LP_EBADPATCH: case LP_ERELOC: return EX_BADPATCH;
	case LP_EBUILDID: return EX_BUILDID;
	case LP_ENOSYM: return EX_NOSYM;
	case LP_ENOPAD: return EX_NOPAD;
	case LP_EUNSAFE: return EX_UNSAFE;
	case LP_EEXITED: return EX_EXITED;
	case LP_EPATCHED: return EX_PATCHED;
	case LP_ETRACED: return EX_TRACED;
	default: return EX_FAIL;
	}
}

/* One line: the library's detail, and what to do where it helps. */
static int report(struct lp_ctx *ctx, int err)
{
	const char *msg = lp_ctx_errmsg(ctx);
	const char *hint = "";

	if (-err == EPERM || -err == EACCES)
		hint = " (run as root or as the process's user with CAP_SYS_PTRACE;"
		       " check kernel.yama.ptrace_scope)";
	else if (-err == LP_EUNSAFE)
		hint = " (retry later, or raise --timeout)";
	fprintf(stderr, "%s: %s%s\n", prog, *msg ? msg : lp_strerror(err), hint);
	return status_of(err);
}

/*
 * A target whose threads are all busy would otherwise starve us: the
 * scheduler shares the CPUs fairly between our one thread and its
 * hundreds, so each of our steps waits a full round of them, and the
 * target stays stopped that much longer (220 busy threads: a 244 ms pause
 * at normal priority, 7 ms at real-time priority).  Run at a real-time
 * priority when allowed (we block in the kernel, never spin); carry on at
 * normal priority when not.
 */
static void raise_priority(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp))
		(void)setpriority(PRIO_PROCESS, 0, -10);
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > INT_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

static int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lp_apply_opts ao = { .sz = sizeof(ao) };
	struct lp_apply_result res;
	struct lp_patch *patch = NULL;
	struct lp_ctx *ctx;
	pid_t pid;
	char *end;
	int c, err, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbosity++;
			break;
		case 't':
			ao.timeout_s = strtod(optarg, &end);
			if (*end || end == optarg || ao.timeout_s <= 0) {
				fprintf(stderr, "%s: bad --timeout '%s': give seconds, e.g. 5 or 0.5\n",
					prog, optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: apply needs PID and PATCH_FILE (see --help)\n", prog);
		return EX_USAGE;
	}
	if (parse_pid(argv[optind], &pid)) {
		fprintf(stderr, "%s: '%s' is not a process id\n", prog, argv[optind]);
		return EX_USAGE;
	}
	if (lp_ctx_new(&ctx)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EX_FAIL;
	}
	if (verbosity)
		lp_ctx_set_log(ctx, log_cb, NULL, verbosity > 1 ? LP_LOG_DEBUG : LP_LOG_INFO);
	else
		lp_ctx_set_log(ctx, log_cb, NULL, LP_LOG_WARN);

	err = lp_patch_open(ctx, argv[optind + 1], &patch);
	if (err) {
		ret = report(ctx, err == -ENOENT ? -LP_EBADPATCH : err);
		goto out;
	}
	err = lp_apply(ctx, pid, patch, &ao, &res);
	if (err) {
		ret = report(ctx, err);
		goto out;
	}
	printf("%s: applied patch %s to process %d (%zu function%s)\n", prog,
	       lp_patch_id(patch), pid, lp_patch_nfuncs(patch),
	       lp_patch_nfuncs(patch) == 1 ? "" : "s");
	if (verbosity)
		printf("pause %.3f ms, %u thread%s\n", res.pause_ms, res.nthreads,
		       res.nthreads == 1 ? "" : "s");
	ret = EX_OK;
out:
	lp_patch_close(patch);
	lp_ctx_free(ctx);
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	struct lp_patch *patch = NULL;
	struct lp_ctx *ctx;
	size_t i;
	int err;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return EX_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "%s: info needs PATCH_FILE (see --help)\n", prog);
		return EX_USAGE;
	}
	if (lp_ctx_new(&ctx)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EX_FAIL;
	}
	err = lp_patch_open(ctx, argv[1], &patch);
	if (err) {
		err = report(ctx, err == -ENOENT ? -LP_EBADPATCH : err);
		lp_ctx_free(ctx);
		return err;
	}
	printf("patch:     %s\n", lp_patch_id(patch));
	printf("target:    %s\n", lp_patch_target_name(patch));
	printf("build-id:  %s\n", lp_patch_target_build_id(patch));
	printf("replaces:  %zu function%s\n", lp_patch_nfuncs(patch),
	       lp_patch_nfuncs(patch) == 1 ? "" : "s");
	for (i = 0; i < lp_patch_nfuncs(patch); i++)
		printf("  %s -> %s\n", lp_patch_func_old(patch, i), lp_patch_func_new(patch, i));
	printf("uses:      %zu symbol%s of the process\n", lp_patch_nrefs(patch),
	       lp_patch_nrefs(patch) == 1 ? "" : "s");
	for (i = 0; i < lp_patch_nrefs(patch); i++)
		printf("  %s\n", lp_patch_ref(patch, i));
	lp_patch_close(patch);
	lp_ctx_free(ctx);
	return EX_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("livepatch %s\n", PACKAGE_VERSION);
		return EX_OK;
	}
	if (!strcmp(argv[1], "apply")) {
		raise_priority();
		return cmd_apply(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s' (see --help)\n", prog, argv[1]);
	return EX_USAGE;
}
