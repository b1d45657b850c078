/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * livepatch: the command line.  The only place that prints and exits:
 * every failure is one line on stderr saying what is wrong and what to do,
 * with an exit status of its own (README, "Exit status").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	EX_APPLIED = 14,
	EX_NOTAPPLIED = 15,
	EX_UNTRUSTED = 16,
	EX_PARTIAL = 17,
	EX_NONE = 18,
};

static const char *prog = "livepatch";
static int verbosity;
static bool json;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s apply [-v] [--json] [--replace] [--mode MODE] [--timeout SECS]\n"
		"                 [--insecure-file] PID PATCH_FILE\n"
		"       %s apply --all [-j N] [options] PATCH_FILE\n"
		"       %s revert [-v] [--json] [--mode MODE] [--timeout SECS] PID PATCH_ID|--all\n"
		"       %s revert --all [-j N] [options] PATCH_ID\n"
		"       %s list [-v] [--json] [PID]\n"
		"       %s info PATCH_FILE\n"
		"       %s check [-v] [--json] FILE|PID\n"
		"       %s --help | --version\n\n"
		"apply: replace functions inside the running process PID with the\n"
		"ones in PATCH_FILE (built by livepatch-build), without restarting it.\n"
		"revert: give back the functions a patch replaced their previous version.\n"
		"list: the patches applied in PID (newest first), or in every process.\n"
		"info: show what PATCH_FILE is for and what it replaces.\n"
		"check: which functions of an ELF file, or of every module of process\n"
		"PID, can be patched, why the others cannot, and the compiler's copies\n"
		"of a function (.constprop, .isra, .part, .cold...) a patch does not reach.\n\n"
		"Options:\n"
		"  -v, --verbose        report the steps and the pause (twice: debug);\n"
		"                       (check) list every function\n"
		"      --json           print the result as one JSON document\n"
		"  -r, --replace        (apply) revert every patch applied so far, in the\n"
		"                       same stop as the apply: for cumulative patches\n"
		"  -a, --all            (apply) apply PATCH_FILE to every process that\n"
		"                       maps its target (by build-id); (revert) with\n"
		"                       PID, revert every patch of PID; with a 16-digit\n"
		"                       PATCH_ID, revert it in every process holding it\n"
		"  -j, --jobs N         (--all) handle N processes at a time (default:\n"
		"                       twice the number of CPUs)\n"
		"      --insecure-file  (apply, as root) accept a patch file that others\n"
		"                       may write or that root or the target's owner\n"
		"                       does not own\n"
		"  -t, --timeout SECS   give up finding a safe point after SECS seconds\n"
		"                       (default 10)\n"
		"  -m, --mode MODE      (apply, revert) what a safe point is: entry (the\n"
		"                       default: no thread in the bytes being changed)\n"
		"                       or strict (no thread in the old version of any\n"
		"                       function changed, at any depth of its stack)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n",
		prog, prog, prog, prog, prog, prog, prog, prog);
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
	case LP_EAPPLIED: return EX_APPLIED;
	case LP_ENOTAPPLIED: return EX_NOTAPPLIED;
	case EINVAL: return EX_USAGE;
	default: return EX_FAIL;
	}
}

/* ---- JSON --------------------------------------------------------------- */

static void json_str(const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");

	putchar('"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* "key": with a comma before it unless it is the first of its object */
static void json_key(const char *k, bool first)
{
	if (!first)
		putchar(',');
	json_str(k);
	putchar(':');
}

static void json_error(const char *cmd, pid_t pid, int status, const char *line)
{
	putchar('{');
	json_key("command", true);
	json_str(cmd);
	json_key("pid", false);
	printf("%d", (int)pid);
	json_key("status", false);
	json_str(status == EX_APPLIED ? "already-applied" : "error");
	json_key("exit_status", false);
	printf("%d", status);
	json_key("error", false);
	json_str(line);
	printf("}\n");
}

/* A failure of the CLI itself: the line, and with --json the document. */
static int fail_cmd(const char *cmd, pid_t pid, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_cmd(const char *cmd, pid_t pid, int status, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, line);
	if (json)
		json_error(cmd, pid, status, line);
	return status;
}

/* One line: the library's detail, and what to do where it helps; with
 * --json the same as a document on stdout too. */
static int report_cmd(struct lp_ctx *ctx, int err, const char *cmd, pid_t pid)
{
	const char *msg = lp_ctx_errmsg(ctx);
	const char *hint = "";
	int status = status_of(err);

	if (-err == EPERM || -err == EACCES)
		hint = " (run as root or as the process's user with CAP_SYS_PTRACE;"
		       " check kernel.yama.ptrace_scope)";
	else if (-err == LP_EUNSAFE)
		hint = " (retry later, or raise --timeout)";
	fprintf(stderr, "%s: %s%s\n", prog, *msg ? msg : lp_strerror(err), hint);
	if (json && cmd) {
		char line[1024];

		snprintf(line, sizeof(line), "%s%s", *msg ? msg : lp_strerror(err), hint);
		json_error(cmd, pid, status, line);
	}
	return status;
}

static int report(struct lp_ctx *ctx, int err)
{
	return report_cmd(ctx, err, NULL, 0);
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

static struct lp_ctx *new_ctx(void)
{
	struct lp_ctx *ctx;

	if (lp_ctx_new(&ctx)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return NULL;
	}
	if (verbosity)
		lp_ctx_set_log(ctx, log_cb, NULL, verbosity > 1 ? LP_LOG_DEBUG : LP_LOG_INFO);
	else
		lp_ctx_set_log(ctx, log_cb, NULL, LP_LOG_WARN);
	return ctx;
}

/* Ids of the patches in @pid in state @state, newest first ("" if none). */
static int applied_ids(struct lp_ctx *ctx, pid_t pid, const char *prefix, char ***ids,
		       size_t *n)
{
	struct lp_journal *j;
	size_t i;
	int err = lp_journal_read(ctx, pid, &j);

	*ids = NULL;
	*n = 0;
	if (err)
		return err;
	*ids = calloc(lp_journal_npatches(j) + 1, sizeof(**ids));
	for (i = 0; *ids && i < lp_journal_npatches(j); i++) {
		struct lp_applied a = { .sz = sizeof(a) };

		lp_journal_patch(j, i, &a);
		if (a.state != LP_PATCH_APPLIED ||
		    (prefix && strncmp(a.id, prefix, strlen(prefix))))
			continue;
		(*ids)[(*n)++] = strdup(a.id);
	}
	lp_journal_free(j);
	return *ids ? 0 : -ENOMEM;
}

/* Of @ids, is @id still mapped but reverted in @pid? */
static bool reverted_in_use(struct lp_ctx *ctx, pid_t pid, const char *id)
{
	struct lp_journal *j;
	bool in_use = false;
	size_t i;

	if (lp_journal_read(ctx, pid, &j))
		return false;
	for (i = 0; i < lp_journal_npatches(j); i++) {
		struct lp_applied a = { .sz = sizeof(a) };

		lp_journal_patch(j, i, &a);
		if (!strcmp(a.id, id) && a.state == LP_PATCH_REVERTED_IN_USE)
			in_use = true;
	}
	lp_journal_free(j);
	return in_use;
}

static void free_ids(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void json_ids(char **ids, size_t n)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_str(ids[i]);
	}
	putchar(']');
}

static void json_result(const struct lp_apply_result *res)
{
	json_key("pause_ms", false);
	printf("%.3f", res->pause_ms);
	json_key("threads", false);
	printf("%u", res->nthreads);
	json_key("attempts", false);
	printf("%u", res->attempts);
}

/* Options shared by apply and revert. */
struct opts {
	struct lp_apply_opts ao;
	bool all;
	bool insecure;
	long jobs;
};

/*
 * The patch file as we will read it: opened once here, its owner and
 * mode checked on the open file, which lp_patch_open_fd then reads whole
 * into memory, so the bytes verified and loaded are those of the file
 * checked even if its path is replaced meanwhile.  Run as root, a file that group or others
 * may write, or that neither root nor the target's owner owns, could be
 * anybody's code running in the target: refused unless --insecure-file.
 * Returns 0, or an exit status after printing why.
 */
static int open_trusted(const char *file, pid_t pid, bool insecure, int *fd)
{
	struct stat st, pst;
	char proc[32];

	*fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return fail_cmd("apply", pid, errno == EACCES ? EX_PERM : EX_BADPATCH,
				"cannot open patch file %s: %s", file, strerror(errno));
	if (fstat(*fd, &st) || geteuid() != 0 || insecure)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return fail_cmd("apply", pid, EX_UNTRUSTED,
				"refusing patch file %s: it is writable by %s (chmod go-w it, or give --insecure-file)",
				file, st.st_mode & S_IWOTH ? "others" : "its group");
	if (st.st_uid != 0 && !pid)
		return fail_cmd("apply", pid, EX_UNTRUSTED,
				"refusing patch file %s: it belongs to uid %u, not root, and goes to every process (chown it, or give --insecure-file)",
				file, (unsigned int)st.st_uid);
	if (st.st_uid != 0 && (stat(proc, &pst) || st.st_uid != pst.st_uid))
		return fail_cmd("apply", pid, EX_UNTRUSTED,
				"refusing patch file %s: it belongs to uid %u, neither root nor the owner of process %d (chown it, or give --insecure-file)",
				file, (unsigned int)st.st_uid, (int)pid);
	return 0;
}

static int parse_opts(int argc, char **argv, bool is_apply, struct opts *o)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'J' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "replace", no_argument, NULL, 'r' },
		{ "all", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "insecure-file", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->ao.sz = sizeof(o->ao);
	optind = 1;
	while ((c = getopt_long(argc, argv, "vj:rat:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (!is_apply)
				goto bad;
			o->insecure = true;
			break;
		case 'm':
			if (!strcmp(optarg, "entry")) {
				o->ao.mode = LP_MODE_ENTRY;
			} else if (!strcmp(optarg, "strict")) {
				o->ao.mode = LP_MODE_STRICT;
			} else {
				fprintf(stderr, "%s: bad --mode '%s': give entry or strict\n",
					prog, optarg);
				return EX_USAGE;
			}
			break;
		case 'v':
			verbosity++;
			break;
		case 'J':
			json = true;
			break;
		case 'j':
			o->jobs = strtol(optarg, &end, 10);
			if (*end || end == optarg || o->jobs < 1 || o->jobs > 1024) {
				fprintf(stderr, "%s: bad --jobs '%s': give a number from 1 to 1024\n",
					prog, optarg);
				return EX_USAGE;
			}
			break;
		case 'r':
			if (!is_apply)
				goto bad;
			o->ao.flags |= LP_APPLY_REPLACE;
			break;
		case 'a':
			o->all = true;
			break;
		case 't':
			o->ao.timeout_s = strtod(optarg, &end);
			if (*end || end == optarg || o->ao.timeout_s <= 0) {
				fprintf(stderr, "%s: bad --timeout '%s': give seconds, e.g. 5 or 0.5\n",
					prog, optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			goto bad;
		}
	}
	return 0;
bad:
	usage(stderr);
	return EX_USAGE;
}

/* ---- many processes at once (apply --all, revert --all ID) -------------- */

enum outcome { OUT_DONE, OUT_ALREADY, OUT_SKIPPED, OUT_FAILED };

struct job {
	pid_t pid;
	pid_t worker;
	int fd;
	enum outcome out;
	int status;          /* exit status the run would have alone */
	double pause_ms;
	char detail[512];
	char exe[256];
	size_t len;
	char buf[700];
};

static const char *outcome_name(enum outcome o, bool revert)
{
	switch (o) {
	case OUT_DONE: return revert ? "reverted" : "patched";
	case OUT_ALREADY: return revert ? "not-applied" : "already-applied";
	case OUT_SKIPPED: return "skipped";
	default: return "failed";
	}
}

/* In the worker process: one apply or revert, its result on @fd. */
static void work_one(int fd, pid_t pid, const struct lp_patch *patch, const char *id,
		     const struct lp_apply_opts *ao)
{
	struct lp_apply_result res = { 0 };
	struct lp_ctx *ctx;
	int err;
	char line[700];

	if (lp_ctx_new(&ctx))
		_exit(1);
	lp_ctx_set_log(ctx, NULL, NULL, LP_LOG_ERROR);
	err = patch ? lp_apply(ctx, pid, patch, ao, &res) : lp_revert(ctx, pid, id, ao, &res);
	snprintf(line, sizeof(line), "%d %.3f %s\n", err < 0 ? err : 0, res.pause_ms,
		 err < 0 ? lp_ctx_errmsg(ctx) : "");
	if (write(fd, line, strlen(line)) < 0)
		_exit(1);
	lp_ctx_free(ctx);
	_exit(0);
}

static void classify(struct job *j, int err, bool revert)
{
	j->status = err ? status_of(err) : EX_OK;
	if (!err)
		j->out = OUT_DONE;
	else if (err == -LP_EAPPLIED || (revert && err == -LP_ENOTAPPLIED))
		j->out = OUT_ALREADY;
	else if (err == -ESRCH || err == -LP_EEXITED)
		j->out = OUT_SKIPPED;
	else
		j->out = OUT_FAILED;
}

static void progress(size_t done, size_t n, const size_t count[4], bool revert)
{
	char bar[31];
	size_t k, fill = n ? done * 30 / n : 30;

	for (k = 0; k < 30; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "\r%s: [%s] %zu/%zu: %zu %s, %zu %s, %zu skipped, %zu failed ", prog, bar,
		done, n, count[OUT_DONE], revert ? "reverted" : "patched", count[OUT_ALREADY],
		revert ? "not applied" : "already", count[OUT_SKIPPED], count[OUT_FAILED]);
	if (done == n)
		fputc('\n', stderr);
}

/*
 * Run one job per process, @jobs at a time, each in a process of its own
 * (it becomes the tracer of its target, and one target's trouble cannot
 * stall the others).  Jobs already decided (skipped) are not run.
 */
static void run_jobs(struct job *v, size_t n, long jobs, const struct lp_patch *patch,
		     const char *id, const struct lp_apply_opts *ao)
{
	bool tty = isatty(STDERR_FILENO) && !json;
	size_t next = 0, running = 0, done = 0, count[4] = { 0 }, i;
	bool revert = !patch;

	for (i = 0; i < n; i++)
		if (v[i].out == OUT_SKIPPED) {
			v[i].fd = -1;
			count[OUT_SKIPPED]++;
			done++;
		}
	while (done < n) {
		struct pollfd pfd[1024];
		size_t map[1024], np = 0;

		while (running < (size_t)jobs && next < n) {
			struct job *j = &v[next++];
			int p[2];

			if (j->out == OUT_SKIPPED)
				continue;
			if (pipe2(p, O_CLOEXEC)) {
				j->out = OUT_FAILED;
				snprintf(j->detail, sizeof(j->detail), "pipe: %s", strerror(errno));
				count[OUT_FAILED]++;
				done++;
				continue;
			}
			fflush(NULL);
			j->worker = fork();
			if (j->worker == 0) {
				close(p[0]);
				work_one(p[1], j->pid, patch, id, ao);
			}
			close(p[1]);
			if (j->worker < 0) {
				close(p[0]);
				j->out = OUT_FAILED;
				snprintf(j->detail, sizeof(j->detail), "fork: %s", strerror(errno));
				count[OUT_FAILED]++;
				done++;
				continue;
			}
			j->fd = p[0];
			j->len = 0;
			running++;
		}
		for (i = 0; i < next && np < 1024; i++)
			if (v[i].fd >= 0 && v[i].worker > 0) {
				pfd[np].fd = v[i].fd;
				pfd[np].events = POLLIN;
				map[np++] = i;
			}
		if (!np)
			break;
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue; /* (revents not set) */
			break;
		}
		for (i = 0; i < np; i++) {
			struct job *j = &v[map[i]];
			ssize_t r;
			int err = 0, st;

			if (!pfd[i].revents)
				continue;
			r = read(j->fd, j->buf + j->len, sizeof(j->buf) - 1 - j->len);
			if (r > 0) {
				j->len += (size_t)r;
				if (j->len < sizeof(j->buf) - 1)
					continue;
			}
			/* end of the worker's output */
			close(j->fd);
			j->fd = -1;
			while (waitpid(j->worker, &st, 0) < 0 && errno == EINTR)
				;
			j->worker = 0;
			running--;
			done++;
			j->buf[j->len] = 0;
			if (sscanf(j->buf, "%d %lf", &err, &j->pause_ms) == 2) {
				char *msg = strchr(j->buf, ' ');

				msg = msg ? strchr(msg + 1, ' ') : NULL;
				snprintf(j->detail, sizeof(j->detail), "%s", msg ? msg + 1 : "");
				j->detail[strcspn(j->detail, "\n")] = 0;
				classify(j, err, revert);
			} else {
				j->out = OUT_FAILED;
				j->status = EX_FAIL;
				snprintf(j->detail, sizeof(j->detail), "the worker died (%s)",
					 WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "no result");
			}
			count[j->out]++;
			if (tty)
				progress(done, n, count, revert);
		}
	}
}

static void exe_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
}

/* The table or the document, and the exit status: everything, something
 * or nothing succeeded. */
static int report_jobs(const struct job *v, size_t n, const char *id, bool revert)
{
	size_t count[4] = { 0 }, i;
	const char *verdict;
	int ret;

	for (i = 0; i < n; i++)
		count[v[i].out]++;
	if (count[OUT_FAILED] == 0 && count[OUT_DONE] + count[OUT_ALREADY] > 0) {
		verdict = "all";
		ret = EX_OK;
	} else if (count[OUT_DONE] + count[OUT_ALREADY] > 0) {
		verdict = "partial";
		ret = EX_PARTIAL;
	} else {
		verdict = "none";
		ret = EX_NONE;
	}
	if (json) {
		putchar('{');
		json_key("command", true);
		json_str(revert ? "revert" : "apply");
		json_key("all", false);
		printf("true");
		json_key("id", false);
		json_str(id);
		json_key("results", false);
		putchar('[');
		for (i = 0; i < n; i++) {
			if (i)
				putchar(',');
			putchar('{');
			json_key("pid", true);
			printf("%d", (int)v[i].pid);
			json_key("exe", false);
			json_str(v[i].exe);
			json_key("status", false);
			json_str(outcome_name(v[i].out, revert));
			json_key("exit_status", false);
			printf("%d", v[i].status);
			json_key("detail", false);
			json_str(v[i].detail);
			if (v[i].out == OUT_DONE) {
				json_key("pause_ms", false);
				printf("%.3f", v[i].pause_ms);
			}
			putchar('}');
		}
		putchar(']');
		json_key(revert ? "reverted" : "patched", false);
		printf("%zu", count[OUT_DONE]);
		json_key(revert ? "not_applied" : "already_applied", false);
		printf("%zu", count[OUT_ALREADY]);
		json_key("skipped", false);
		printf("%zu", count[OUT_SKIPPED]);
		json_key("failed", false);
		printf("%zu", count[OUT_FAILED]);
		json_key("status", false);
		json_str(verdict);
		printf("}\n");
		return ret;
	}
	if (n)
		printf("%-8s %-40s %-16s %s\n", "PID", "PROGRAM", "RESULT", "DETAIL");
	for (i = 0; i < n; i++) {
		char detail[600];

		if (v[i].out == OUT_DONE)
			snprintf(detail, sizeof(detail), "pause %.3f ms", v[i].pause_ms);
		else
			snprintf(detail, sizeof(detail), "%s", v[i].detail);
		printf("%-8d %-40s %-16s %s\n", (int)v[i].pid, v[i].exe,
		       outcome_name(v[i].out, revert), detail);
	}
	printf("%s: patch %s: %zu %s, %zu %s, %zu skipped, %zu failed (%zu process%s)\n", prog,
	       id, count[OUT_DONE], revert ? "reverted" : "patched", count[OUT_ALREADY],
	       revert ? "not applied" : "already applied", count[OUT_SKIPPED],
	       count[OUT_FAILED], n, n == 1 ? "" : "es");
	return ret;
}

static long default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? 2 * n : 4;
}

/* apply --all PATCH_FILE: every process mapping the patch's target. */
static int apply_all(struct lp_ctx *ctx, const struct lp_patch *patch, const struct opts *o)
{
	struct lp_match *m = NULL;
	struct job *v;
	const char *bid, *name;
	size_t n = 0, i;
	int err, ret;

	lp_patch_target(patch, 0, &bid, &name);
	err = lp_find_module(ctx, bid, name, &m, &n);
	if (err)
		return report_cmd(ctx, err, "apply", 0);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		free(m);
		return EX_FAIL;
	}
	for (i = 0; i < n; i++) {
		v[i].pid = m[i].pid;
		v[i].fd = -1;
		exe_of(v[i].pid, v[i].exe, sizeof(v[i].exe));
		if (!m[i].same_build) {
			v[i].out = OUT_SKIPPED;
			v[i].status = EX_BUILDID;
			snprintf(v[i].detail, sizeof(v[i].detail),
				 "%.200s is another build (build-id %.80s, the patch is for %.80s)", m[i].path,
				 m[i].build_id[0] ? m[i].build_id : "none", bid);
		}
	}
	free(m);
	if (!n && !json)
		fprintf(stderr, "%s: no process maps %s with build-id %s\n", prog, name, bid);
	run_jobs(v, n, o->jobs ? o->jobs : default_jobs(), patch, NULL, &o->ao);
	ret = report_jobs(v, n, lp_patch_id(patch), false);
	free(v);
	return ret;
}

/* revert --all PATCH_ID: every process whose journal holds it. */
static int revert_all(struct lp_ctx *ctx, const char *id, const struct opts *o)
{
	pid_t *pids = NULL;
	struct job *v;
	size_t n = 0, i;
	int err, ret;

	err = lp_find_patch(ctx, id, &pids, &n);
	if (err)
		return report_cmd(ctx, err, "revert", 0);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		free(pids);
		return EX_FAIL;
	}
	for (i = 0; i < n; i++) {
		v[i].pid = pids[i];
		v[i].fd = -1;
		exe_of(v[i].pid, v[i].exe, sizeof(v[i].exe));
	}
	free(pids);
	if (!n && !json)
		fprintf(stderr, "%s: no process holds patch %s\n", prog, id);
	run_jobs(v, n, o->jobs ? o->jobs : default_jobs(), NULL, id, &o->ao);
	ret = report_jobs(v, n, id, true);
	free(v);
	return ret;
}

static int cmd_apply(int argc, char **argv)
{
	int fd = -1;
	struct opts o;
	struct lp_apply_result res;
	struct lp_patch *patch = NULL;
	struct lp_ctx *ctx;
	char **replaced = NULL;
	size_t nreplaced = 0;
	pid_t pid;
	int err, ret;

	ret = parse_opts(argc, argv, true, &o);
	if (ret)
		return ret < 0 ? EX_OK : ret;
	if (o.all) {
		if (argc - optind != 1) {
			fprintf(stderr, "%s: apply --all needs PATCH_FILE alone (see --help)\n", prog);
			return EX_USAGE;
		}
		if (o.ao.flags & LP_APPLY_REPLACE) {
			fprintf(stderr, "%s: apply --all does not take --replace\n", prog);
			return EX_USAGE;
		}
		ctx = new_ctx();
		if (!ctx)
			return EX_FAIL;
		pid = 0;
		ret = open_trusted(argv[optind], 0, o.insecure, &fd);
		if (!ret) {
			err = lp_patch_open_fd(ctx, fd, argv[optind], &patch);
			ret = err ? report_cmd(ctx, err == -ENOENT ? -LP_EBADPATCH : err, "apply", 0) :
			      apply_all(ctx, patch, &o);
		}
		goto out;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: apply needs PID and PATCH_FILE (see --help)\n", prog);
		return EX_USAGE;
	}
	if (parse_pid(argv[optind], &pid)) {
		fprintf(stderr, "%s: '%s' is not a process id\n", prog, argv[optind]);
		return EX_USAGE;
	}
	ctx = new_ctx();
	if (!ctx)
		return EX_FAIL;
	err = open_trusted(argv[optind + 1], pid, o.insecure, &fd);
	if (err) {
		ret = err;
		goto out;
	}
	err = lp_patch_open_fd(ctx, fd, argv[optind + 1], &patch);
	if (err) {
		ret = report_cmd(ctx, err == -ENOENT ? -LP_EBADPATCH : err, "apply", pid);
		goto out;
	}
	if (o.ao.flags & LP_APPLY_REPLACE)
		applied_ids(ctx, pid, NULL, &replaced, &nreplaced);
	err = lp_apply(ctx, pid, patch, &o.ao, &res);
	if (err) {
		ret = report_cmd(ctx, err, "apply", pid);
		goto out;
	}
	if (json) {
		putchar('{');
		json_key("command", true);
		json_str("apply");
		json_key("pid", false);
		printf("%d", (int)pid);
		json_key("status", false);
		json_str("applied");
		json_key("id", false);
		json_str(lp_patch_id(patch));
		json_key("name", false);
		{
			const char *base = strrchr(argv[optind + 1], '/');
			char name[256];
			size_t n;

			snprintf(name, sizeof(name), "%s", base ? base + 1 : argv[optind + 1]);
			n = strlen(name);
			if (n > 7 && !strcmp(name + n - 7, ".lpatch"))
				name[n - 7] = 0;
			json_str(name);
		}
		json_key("functions", false);
		printf("%zu", lp_patch_nfuncs(patch));
		json_key("replaced", false);
		json_ids(replaced, nreplaced);
		json_result(&res);
		printf("}\n");
	} else {
		size_t i;

		for (i = 0; i < nreplaced; i++)
			printf("%s: reverted patch %s in process %d\n", prog, replaced[i], pid);
		printf("%s: applied patch %s to process %d (%zu function%s)\n", prog,
		       lp_patch_id(patch), pid, lp_patch_nfuncs(patch),
		       lp_patch_nfuncs(patch) == 1 ? "" : "s");
		if (verbosity)
			printf("pause %.3f ms, %u thread%s\n", res.pause_ms, res.nthreads,
			       res.nthreads == 1 ? "" : "s");
	}
	ret = EX_OK;
out:
	if (fd >= 0)
		close(fd);
	free_ids(replaced, nreplaced);
	lp_patch_close(patch);
	lp_ctx_free(ctx);
	return ret;
}

static int cmd_revert(int argc, char **argv)
{
	struct opts o;
	struct lp_apply_result res;
	struct lp_ctx *ctx;
	char **ids = NULL;
	const char *id = NULL;
	size_t nids = 0, i;
	pid_t pid;
	int err, ret;

	ret = parse_opts(argc, argv, false, &o);
	if (ret)
		return ret < 0 ? EX_OK : ret;
	/* --all with a whole patch id: that patch, in every process */
	if (o.all && argc - optind == 1 && strlen(argv[optind]) == 16 &&
	    strspn(argv[optind], "0123456789abcdef") == 16) {
		ctx = new_ctx();
		if (!ctx)
			return EX_FAIL;
		ret = revert_all(ctx, argv[optind], &o);
		lp_ctx_free(ctx);
		return ret;
	}
	if (argc - optind != 2 - o.all) {
		fprintf(stderr, "%s: revert needs PID and PATCH_ID, or PID and --all (see --help)\n",
			prog);
		return EX_USAGE;
	}
	if (parse_pid(argv[optind], &pid)) {
		fprintf(stderr, "%s: '%s' is not a process id\n", prog, argv[optind]);
		return EX_USAGE;
	}
	if (!o.all)
		id = argv[optind + 1];
	ctx = new_ctx();
	if (!ctx)
		return EX_FAIL;
	applied_ids(ctx, pid, id, &ids, &nids);
	err = lp_revert(ctx, pid, id, &o.ao, &res);
	if (err < 0) {
		ret = report_cmd(ctx, err, "revert", pid);
		goto out;
	}
	if (json) {
		size_t n = 0;
		char **in_use = calloc(nids + 1, sizeof(*in_use));

		for (i = 0; in_use && i < nids; i++)
			if (reverted_in_use(ctx, pid, ids[i]))
				in_use[n++] = ids[i];
		putchar('{');
		json_key("command", true);
		json_str("revert");
		json_key("pid", false);
		printf("%d", (int)pid);
		json_key("status", false);
		json_str("reverted");
		json_key("reverted", false);
		json_ids(ids, nids);
		json_key("still_mapped", false);
		json_ids(in_use, n);
		json_result(&res);
		printf("}\n");
		free(in_use);
	} else {
		for (i = 0; i < nids; i++)
			printf("%s: reverted patch %s in process %d%s\n", prog, ids[i], pid,
			       reverted_in_use(ctx, pid, ids[i]) ?
			       " (its code stays mapped while a thread runs it)" : "");
		if (!nids)
			printf("%s: no patch applied in process %d\n", prog, pid);
		if (verbosity && nids)
			printf("pause %.3f ms, %u thread%s\n", res.pause_ms, res.nthreads,
			       res.nthreads == 1 ? "" : "s");
	}
	ret = EX_OK;
out:
	free_ids(ids, nids);
	lp_ctx_free(ctx);
	return ret;
}

static const char *state_name(enum lp_patch_state st)
{
	switch (st) {
	case LP_PATCH_APPLIED: return "applied";
	case LP_PATCH_REVERTED_IN_USE: return "reverted-in-use";
	default: return "interrupted";
	}
}

/*
 * One process of the list.  Reverted patches whose code was still in use
 * are cleaned up first, when allowed.  Returns 1 if it was listed, 0 if it
 * holds no patches (and @all), or a negative error.
 */
static int list_one(struct lp_ctx *ctx, pid_t pid, bool all, bool *first)
{
	struct lp_journal *j;
	char exe[4096];
	size_t i, k, n;
	int err = lp_journal_read(ctx, pid, &j);

	if (err)
		return err;
	for (i = 0; i < lp_journal_npatches(j); i++) {
		struct lp_applied a = { .sz = sizeof(a) };

		lp_journal_patch(j, i, &a);
		if (a.state != LP_PATCH_APPLIED)
			break;
	}
	if (i < lp_journal_npatches(j)) {
		lp_journal_free(j);
		err = lp_cleanup(ctx, pid, NULL);
		if (err < 0 && verbosity)
			fprintf(stderr, "%s: process %d: clean-up not done: %s\n", prog, pid,
				lp_ctx_errmsg(ctx));
		err = lp_journal_read(ctx, pid, &j);
		if (err)
			return err;
	}
	n = lp_journal_npatches(j);
	if (all && !n) {
		lp_journal_free(j);
		return 0;
	}
	exe_of(pid, exe, sizeof(exe));
	if (json) {
		if (!*first)
			putchar(',');
		putchar('{');
		json_key("pid", true);
		printf("%d", (int)pid);
		json_key("exe", false);
		json_str(exe);
		json_key("patches", false);
		putchar('[');
	} else {
		printf("process %d %s: %zu patch%s\n", (int)pid, exe, n, n == 1 ? "" : "es");
	}
	*first = false;
	for (i = 0; i < n; i++) {
		struct lp_applied a = { .sz = sizeof(a) };
		char when[64];
		time_t t;

		lp_journal_patch(j, i, &a);
		t = (time_t)a.time;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
		if (json) {
			if (i)
				putchar(',');
			putchar('{');
			json_key("id", true);
			json_str(a.id);
			json_key("name", false);
			json_str(a.name);
			json_key("path", false);
			json_str(a.path);
			json_key("time", false);
			printf("%lld", (long long)a.time);
			json_key("state", false);
			json_str(state_name(a.state));
			json_key("map", false);
			printf("{\"start\":\"%#llx\",\"size\":%llu}",
			       (unsigned long long)a.map_start, (unsigned long long)a.map_size);
			json_key("functions", false);
			putchar('[');
		} else {
			printf("  %s  %s  %s %s  %s\n", a.id, a.name, state_name(a.state), when,
			       a.path);
		}
		for (k = 0; k < a.nfuncs; k++) {
			struct lp_applied_func f = { .sz = sizeof(f) };

			lp_journal_func(j, i, k, &f);
			if (json) {
				if (k)
					putchar(',');
				putchar('{');
				json_key("name", true);
				json_str(f.name);
				json_key("module", false);
				json_str(f.module);
				json_key("address", false);
				printf("\"%#llx\"", (unsigned long long)f.addr);
				json_key("new_address", false);
				printf("\"%#llx\"", (unsigned long long)f.new_addr);
				json_key("live", false);
				printf("%s", f.live ? "true" : "false");
				putchar('}');
			} else {
				printf("      %-24s %s  %s\n", f.name, f.live ? "live" :
				       a.state == LP_PATCH_APPLIED ? "superseded by a newer patch" :
				       "not live", f.module);
			}
		}
		if (json)
			printf("]}");
	}
	if (json)
		printf("]}");
	lp_journal_free(j);
	return 1;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lp_ctx *ctx;
	bool first = true;
	pid_t pid = 0;
	int c, err, ret = EX_OK, listed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': verbosity++; break;
		case 'J': json = true; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "%s: list takes at most one PID (see --help)\n", prog);
		return EX_USAGE;
	}
	if (argc - optind == 1 && parse_pid(argv[optind], &pid)) {
		fprintf(stderr, "%s: '%s' is not a process id\n", prog, argv[optind]);
		return EX_USAGE;
	}
	ctx = new_ctx();
	if (!ctx)
		return EX_FAIL;
	if (json)
		printf("{\"processes\":[");
	if (pid) {
		err = list_one(ctx, pid, false, &first);
		if (err < 0) {
			if (json)
				printf("]}\n");
			ret = report(ctx, err);
			goto out;
		}
	} else {
		DIR *d = opendir("/proc");
		struct dirent *de;

		while (d && (de = readdir(d))) {
			pid_t p;

			if (!isdigit((unsigned char)de->d_name[0]) || parse_pid(de->d_name, &p) ||
			    p == getpid())
				continue;
			/* processes we may not read, or that exit meanwhile,
			 * are not ours to list */
			if (list_one(ctx, p, true, &first) > 0)
				listed++;
		}
		if (d)
			closedir(d);
		if (!json && !listed)
			printf("%s: no process holds patches\n", prog);
	}
	if (json)
		printf("]}\n");
out:
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
	for (i = 0; i < lp_patch_ntargets(patch); i++) {
		const char *bid, *name;

		lp_patch_target(patch, i, &bid, &name);
		printf("target:    %s\n", name);
		printf("build-id:  %s\n", bid);
	}
	printf("replaces:  %zu function%s\n", lp_patch_nfuncs(patch),
	       lp_patch_nfuncs(patch) == 1 ? "" : "s");
	for (i = 0; i < lp_patch_nfuncs(patch); i++)
		printf("  %s -> %s\n", lp_patch_func_old(patch, i), lp_patch_func_new(patch, i));
	printf("uses:      %zu symbol%s of the process\n", lp_patch_nrefs(patch),
	       lp_patch_nrefs(patch) == 1 ? "" : "s");
	for (i = 0; i < lp_patch_nrefs(patch); i++) {
		static const char orig[] = "livepatch_original__";
		const char *ref = lp_patch_ref(patch, i), *alias, *file, *symbol;
		size_t k;

		for (k = 0; k < lp_patch_nsymbols(patch); k++) {
			lp_patch_symbol(patch, k, &alias, &file, &symbol);
			if (!strcmp(alias, ref))
				break;
		}
		if (k < lp_patch_nsymbols(patch))
			printf("  %s: static %s of %s\n", ref, symbol, file);
		else if (!strncmp(ref, orig, sizeof(orig) - 1))
			printf("  %s: the original %s\n", ref, ref + sizeof(orig) - 1);
		else
			printf("  %s\n", ref);
	}
	lp_patch_close(patch);
	lp_ctx_free(ctx);
	return EX_OK;
}

/* ---- check ---------------------------------------------------------------- */

/* What a status means, in the words of the report. */
static const char *check_reason(enum lp_check_status st)
{
	switch (st) {
	case LP_CHECK_PATCHABLE: return "patchable";
	case LP_CHECK_PATCHED: return "patched";
	case LP_CHECK_NO_PAD: return "no pad";
	case LP_CHECK_PAD_NOT_NOPS: return "pad not NOPs";
	case LP_CHECK_ASM: return "hand-written assembly";
	case LP_CHECK_IFUNC: return "ifunc";
	case LP_CHECK_OTHER_PAD: return "pad of another shape";
	case LP_CHECK_FOREIGN_PATCH: return "patched by another tool";
	case LP_CHECK_NO_ROOM: return "no room for a pad";
	}
	return "unknown";
}

/*
 * Tenths of a percent, rounded half up; but never 100.0 while a function
 * is not patchable, nor 0.0 while one is: the rounding must not hide the
 * one function that matters.
 */
static unsigned int permille(size_t part, size_t whole)
{
	unsigned long long v;

	if (!whole)
		return 0;
	v = ((unsigned long long)part * 2000 + whole) / (2ULL * whole);
	if (v == 1000 && part < whole)
		v = 999;
	if (v == 0 && part > 0)
		v = 1;
	return (unsigned int)v;
}

struct check_totals {
	size_t funcs, patchable, patched;
};

static void check_summary(const char *what, size_t patchable, size_t funcs)
{
	unsigned int pm = permille(patchable, funcs);

	printf("%s: %zu of %zu function%s hot-patchable (%u.%u%%)", what, patchable, funcs,
	       funcs == 1 ? "" : "s", pm / 10, pm % 10);
}

static void json_percent(size_t patchable, size_t funcs)
{
	unsigned int pm = permille(patchable, funcs);

	printf("%u.%u", pm / 10, pm % 10);
}

static void json_check_func(const struct lp_check_func *f)
{
	size_t k;

	putchar('{');
	json_key("name", true);
	json_str(f->name);
	json_key("address", false);
	printf("\"%#llx\"", (unsigned long long)f->addr);
	json_key("size", false);
	printf("%llu", (unsigned long long)f->size);
	json_key("status", false);
	json_str(lp_check_status_name(f->status));
	json_key("reason", false);
	json_str(check_reason(f->status));
	json_key("detail", false);
	json_str(f->detail);
	json_key("file", false);
	if (f->file)
		json_str(f->file);
	else
		printf("null");
	json_key("aliases", false);
	putchar('[');
	for (k = 0; k < f->naliases; k++) {
		if (k)
			putchar(',');
		json_str(f->aliases[k]);
	}
	printf("]}");
}

/* The functions of module @m whose status is @st (any not patchable one
 * when @st is -1, every one when -2), as a JSON array. */
static void json_check_funcs(const struct lp_check_report *r, size_t m, size_t n, int st)
{
	bool first = true;
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		struct lp_check_func f = { .sz = sizeof(f) };

		lp_check_func(r, m, i, &f);
		if ((st == -1 && f.patchable) || (st >= 0 && (int)f.status != st))
			continue;
		if (!first)
			putchar(',');
		first = false;
		json_check_func(&f);
	}
	putchar(']');
}

/* A copy as one line of text: what it is, and whether to patch it too. */
static void copy_text(const struct lp_check_report *r, size_t m,
		      const struct lp_check_copy *c, char *buf, size_t len)
{
	struct lp_check_func f = { .sz = sizeof(f) };

	if (!c->entry) {
		snprintf(buf, len, "%s part: not a function entry, cannot be patched on its own;"
			 " only the code it was split from jumps to it", c->kind);
		return;
	}
	lp_check_func(r, m, c->func, &f);
	if (c->same_entry)
		snprintf(buf, len, "%s: the same entry as %s, a patch of it reaches this one",
			 c->kind, c->base);
	else if (f.patchable && (!strcmp(c->kind, "lto_priv") || !strcmp(c->kind, "llvm")))
		snprintf(buf, len, "%s: %s; the function itself, renamed by LTO: patch it by this name",
			 c->kind, check_reason(f.status));
	else if (f.patchable)
		snprintf(buf, len, "%s: %s, patch it too", c->kind, check_reason(f.status));
	else
		snprintf(buf, len, "%s: not patchable (%s)", c->kind, check_reason(f.status));
}

static void json_check_copies(const struct lp_check_report *r, size_t m, size_t n)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		struct lp_check_copy c = { .sz = sizeof(c) }, prev = { .sz = sizeof(prev) };
		struct lp_check_func f = { .sz = sizeof(f) };

		lp_check_copy(r, m, i, &c);
		if (i)
			lp_check_copy(r, m, i - 1, &prev);
		if (!i || strcmp(prev.base, c.base)) {
			/* a new group: the base function, then its copies */
			if (i)
				printf("]},");
			putchar('{');
			json_key("function", true);
			json_str(c.base);
			json_key("status", false);
			if (c.base_func != (size_t)-1) {
				lp_check_func(r, m, c.base_func, &f);
				json_str(lp_check_status_name(f.status));
			} else {
				printf("null");
			}
			json_key("copies", false);
			putchar('[');
		} else {
			putchar(',');
		}
		putchar('{');
		json_key("name", true);
		json_str(c.name);
		json_key("kind", false);
		json_str(c.kind);
		json_key("address", false);
		printf("\"%#llx\"", (unsigned long long)c.addr);
		json_key("entry", false);
		printf("%s", c.entry ? "true" : "false");
		json_key("same_entry", false);
		printf("%s", c.same_entry ? "true" : "false");
		json_key("status", false);
		if (c.entry) {
			lp_check_func(r, m, c.func, &f);
			json_str(lp_check_status_name(f.status));
		} else {
			json_str("part");
		}
		putchar('}');
	}
	if (n)
		printf("]}");
	putchar(']');
}

static void json_check_module(const struct lp_check_report *r, size_t m,
			      const struct lp_check_module *mod)
{
	putchar('{');
	json_key("path", true);
	json_str(mod->path);
	json_key("build_id", false);
	json_str(mod->build_id);
	json_key("bias", false);
	printf("\"%#llx\"", (unsigned long long)mod->bias);
	json_key("stripped", false);
	printf("%s", mod->stripped ? "true" : "false");
	json_key("pad_list", false);
	printf("%s", mod->pad_list ? "true" : "false");
	json_key("functions", false);
	printf("%zu", mod->nfuncs);
	json_key("patchable", false);
	printf("%zu", mod->npatchable);
	json_key("patched", false);
	printf("%zu", mod->npatched);
	json_key("percent", false);
	json_percent(mod->npatchable, mod->nfuncs);
	json_key("not_patchable", false);
	json_check_funcs(r, m, mod->nfuncs, -1);
	json_key("patched_functions", false);
	json_check_funcs(r, m, mod->nfuncs, LP_CHECK_PATCHED);
	json_key("copies", false);
	json_check_copies(r, m, mod->ncopies);
	if (verbosity) {
		json_key("all", false);
		json_check_funcs(r, m, mod->nfuncs, -2);
	}
	putchar('}');
}

/* The lines of one status class: not patchable (-1), or @st. */
static void print_check_funcs(const struct lp_check_report *r, size_t m, size_t n,
			      int st, const char *title)
{
	bool first = true;
	size_t i;

	for (i = 0; i < n; i++) {
		struct lp_check_func f = { .sz = sizeof(f) };

		lp_check_func(r, m, i, &f);
		if ((st == -1 && f.patchable) || (st >= 0 && (int)f.status != st))
			continue;
		if (first)
			printf("  %s:\n", title);
		first = false;
		if (st == -2)
			printf("    %#-14llx %-28s %s%s%s\n", (unsigned long long)f.addr, f.name,
			       check_reason(f.status), *f.detail ? ": " : "", f.detail);
		else if (st == LP_CHECK_PATCHED)
			printf("    %-28s %s\n", f.name, f.detail);
		else
			printf("    %-28s %s%s%s\n", f.name, check_reason(f.status),
			       *f.detail ? ": " : "", f.detail);
	}
}

/* The statuses of a module's functions, counted, on one line. */
static void print_check_counts(const struct lp_check_report *r, size_t m, size_t n)
{
	size_t count[LP_CHECK_NO_ROOM + 1] = { 0 }, i;
	const char *sep = "";
	int st;

	for (i = 0; i < n; i++) {
		struct lp_check_func f = { .sz = sizeof(f) };

		lp_check_func(r, m, i, &f);
		if ((unsigned int)f.status <= LP_CHECK_NO_ROOM)
			count[f.status]++;
	}
	printf("  built without -fpatchable-function-entry=16,14: ");
	for (st = 0; st <= LP_CHECK_NO_ROOM; st++) {
		if (!count[st])
			continue;
		printf("%s%zu %s", sep, count[st], check_reason((enum lp_check_status)st));
		sep = ", ";
	}
	printf(" (-v lists them)\n");
}

static void print_check_module(const struct lp_check_report *r, size_t m,
			       const struct lp_check_module *mod)
{
	char line[512];
	size_t i;

	check_summary(mod->path, mod->npatchable, mod->nfuncs);
	if (mod->npatched)
		printf(", %zu of them patched", mod->npatched);
	if (mod->stripped)
		printf(" (stripped: exported functions only)");
	putchar('\n');
	if (!mod->pad_list && !mod->npatchable && mod->nfuncs && !verbosity)
		/* a module built without pads (libc...): why, not a page of "no pad" */
		print_check_counts(r, m, mod->nfuncs);
	else
		print_check_funcs(r, m, mod->nfuncs, -1, "not patchable");
	print_check_funcs(r, m, mod->nfuncs, LP_CHECK_PATCHED, "patched");
	for (i = 0; i < mod->ncopies; i++) {
		struct lp_check_copy c = { .sz = sizeof(c) }, prev = { .sz = sizeof(prev) };

		lp_check_copy(r, m, i, &c);
		if (!i)
			printf("  copies that a patch of their function does not reach:\n");
		if (i)
			lp_check_copy(r, m, i - 1, &prev);
		if (!i || strcmp(prev.base, c.base)) {
			if (c.base_func != (size_t)-1) {
				struct lp_check_func f = { .sz = sizeof(f) };

				lp_check_func(r, m, c.base_func, &f);
				printf("    %s (%s)\n", c.base, check_reason(f.status));
			} else {
				printf("    %s (no function of this name: only its copies)\n", c.base);
			}
		}
		copy_text(r, m, &c, line, sizeof(line));
		printf("      %-26s %s\n", c.name, line);
	}
	if (verbosity)
		print_check_funcs(r, m, mod->nfuncs, -2, "functions");
}

/* An error as one line on stderr, and with --json as a document too. */
static int check_error(struct lp_ctx *ctx, int err, int status, const char *file, pid_t pid)
{
	const char *msg = lp_ctx_errmsg(ctx);

	if (!*msg)
		msg = lp_strerror(err);
	fprintf(stderr, "%s: %s%s\n", prog, msg,
		status == EX_PERM ? " (run as root or as the process's user with"
				    " CAP_SYS_PTRACE; check kernel.yama.ptrace_scope)" : "");
	if (json) {
		putchar('{');
		json_key("command", true);
		json_str("check");
		if (file) {
			json_key("file", false);
			json_str(file);
		} else {
			json_key("pid", false);
			printf("%d", (int)pid);
		}
		json_key("status", false);
		json_str("error");
		json_key("exit_status", false);
		printf("%d", status);
		json_key("error", false);
		json_str(msg);
		printf("}\n");
	}
	return status;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lp_check_report *r = NULL;
	struct check_totals tot = { 0, 0, 0 };
	struct lp_ctx *ctx;
	const char *file = NULL;
	size_t m, n;
	pid_t pid = 0;
	int c, err, ret = EX_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': verbosity++; break;
		case 'J': json = true; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "%s: check needs one FILE or PID (see --help)\n", prog);
		return EX_USAGE;
	}
	/* digits name a process; write ./123 for a file of that name */
	if (parse_pid(argv[optind], &pid))
		file = argv[optind];
	ctx = new_ctx();
	if (!ctx)
		return EX_FAIL;
	err = file ? lp_check_file(ctx, file, &r) : lp_check_process(ctx, pid, &r);
	if (err) {
		int status = status_of(err);

		if (file && (err == -ENOENT || err == -ENOTDIR))
			status = EX_USAGE; /* names neither a file nor a process */
		else if (err == -ENOEXEC || err == -LP_EARCH)
			status = EX_ARCH;
		ret = check_error(ctx, err, status, file, pid);
		goto out;
	}
	n = lp_check_nmodules(r);
	for (m = 0; m < n; m++) {
		struct lp_check_module mod = { .sz = sizeof(mod) };

		lp_check_module(r, m, &mod);
		tot.funcs += mod.nfuncs;
		tot.patchable += mod.npatchable;
		tot.patched += mod.npatched;
	}
	if (json) {
		putchar('{');
		json_key("command", true);
		json_str("check");
		if (file) {
			json_key("file", false);
			json_str(file);
		} else {
			json_key("pid", false);
			printf("%d", (int)pid);
		}
		json_key("status", false);
		json_str("checked");
		json_key("total", false);
		printf("{\"modules\":%zu,\"functions\":%zu,\"patchable\":%zu,\"patched\":%zu,"
		       "\"percent\":", n, tot.funcs, tot.patchable, tot.patched);
		json_percent(tot.patchable, tot.funcs);
		putchar('}');
		json_key("modules", false);
		putchar('[');
		for (m = 0; m < n; m++) {
			struct lp_check_module mod = { .sz = sizeof(mod) };

			lp_check_module(r, m, &mod);
			if (m)
				putchar(',');
			json_check_module(r, m, &mod);
		}
		printf("]}\n");
	} else {
		for (m = 0; m < n; m++) {
			struct lp_check_module mod = { .sz = sizeof(mod) };

			lp_check_module(r, m, &mod);
			print_check_module(r, m, &mod);
		}
		if (n != 1) {
			check_summary("total", tot.patchable, tot.funcs);
			printf(" in %zu modules", n);
			if (tot.patched)
				printf(", %zu of them patched", tot.patched);
			putchar('\n');
		}
	}
out:
	lp_check_free(r);
	lp_ctx_free(ctx);
	return ret;
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
	if (!strcmp(argv[1], "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (!strcmp(argv[1], "revert"))
		return cmd_revert(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s' (see --help)\n", prog, argv[1]);
	return EX_USAGE;
}
