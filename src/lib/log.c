/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Context, logging and error texts.  The library never prints: messages
 * go to the caller's callback, and the detail of the last failure is kept
 * in the context for the caller to show as one line. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int lp_ctx_new(struct lp_ctx **out)
{
	struct lp_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	ctx->log_level = LP_LOG_WARN;
	*out = ctx;
	return 0;
}

void lp_ctx_free(struct lp_ctx *ctx)
{
	free(ctx);
}

void lp_ctx_set_log(struct lp_ctx *ctx, lp_log_fn fn, void *user,
		    enum lp_log_level max_level)
{
	ctx->log = fn;
	ctx->log_user = user;
	ctx->log_level = max_level;
}

const char *lp_ctx_errmsg(const struct lp_ctx *ctx)
{
	return ctx->err;
}

static void vlog(struct lp_ctx *ctx, enum lp_log_level level, const char *fmt,
		 va_list ap)
{
	char buf[1024];

	if (!ctx || !ctx->log || level > ctx->log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	ctx->log(level, buf, ctx->log_user);
}

void lp_log(struct lp_ctx *ctx, enum lp_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(ctx, level, fmt, ap);
	va_end(ap);
}

int lp_fail(struct lp_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	lp_log(ctx, LP_LOG_DEBUG, "error: %s", ctx->err);
	return code;
}

/*
 * A test hook: LIVEPATCH_FAULT=POINT in the environment kills the calling
 * process with SIGKILL at that point, so that tests can show what a
 * controller dying there leaves behind (tests/integration/faults.sh).
 */
void lp_fault_point(struct lp_ctx *ctx, const char *point)
{
	const char *want = getenv("LIVEPATCH_FAULT");

	if (!want || strcmp(want, point))
		return;
	lp_debug(ctx, "LIVEPATCH_FAULT=%s: killed here", point);
	raise(SIGKILL);
}

int lp_grow(void *pp, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t nc = *cap ? *cap * 2 : first;
	void *p, *np;

	if (n < *cap)
		return 0;
	if (nc < n + 1)
		nc = n + 1;
	if (nc > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&p, pp, sizeof(p));
	np = realloc(p, nc * size);
	if (!np)
		return -ENOMEM;
	memcpy(pp, &np, sizeof(np));
	*cap = nc;
	return 0;
}

double lp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *const lp_errors[] = {
	[LP_EBADPATCH - LP_ERRNO_BASE] = "not a valid patch file",
	[LP_EBUILDID - LP_ERRNO_BASE] = "build-id mismatch",
	[LP_ENOSYM - LP_ERRNO_BASE] = "symbol not found",
	[LP_ENOPAD - LP_ERRNO_BASE] = "function is not patchable",
	[LP_EUNSAFE - LP_ERRNO_BASE] = "no safe point before the timeout",
	[LP_EARCH - LP_ERRNO_BASE] = "not an x86-64 ELF process",
	[LP_EPATCHED - LP_ERRNO_BASE] = "function is already patched",
	[LP_EEXITED - LP_ERRNO_BASE] = "target exited",
	[LP_ERELOC - LP_ERRNO_BASE] = "unsupported relocation in patch",
	[LP_ENOBUILDID - LP_ERRNO_BASE] = "ELF file has no build-id",
	[LP_ETRACED - LP_ERRNO_BASE] = "target is traced by another process",
	[LP_EAPPLIED - LP_ERRNO_BASE] = "patch is already applied",
	[LP_ENOTAPPLIED - LP_ERRNO_BASE] = "no such patch is applied",
	[LP_EJOURNAL - LP_ERRNO_BASE] = "the process's patch journal is unreadable",
};

const char *lp_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err > LP_ERRNO_BASE && err < LP_EMAX &&
	    lp_errors[err - LP_ERRNO_BASE])
		return lp_errors[err - LP_ERRNO_BASE];
	return strerror(err);
}
