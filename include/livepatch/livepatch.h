/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liblivepatch: replace functions inside a running x86-64 Linux process.
 *
 * Targets are built with -fpatchable-function-entry=16,14: 14 spare bytes
 * before each function and 2 NOP bytes at its entry.  Applying a patch
 * writes an absolute jump to the new code into the spare bytes and then a
 * short jump to it over the entry NOPs, while every thread of the target is
 * stopped and proven to be outside the bytes being changed.
 *
 * Conventions: every function returns 0 (or a count) on success and a
 * negative error code on failure: -errno for system errors (-ESRCH: no such
 * process, -EPERM: not allowed to trace it, ...) or -LP_E* below for the
 * project's own.  lp_strerror() names any of them; lp_ctx_errmsg() gives the
 * one-line detail of the last failure (which symbol, which thread...).
 * The library never prints and never exits: it reports through the log
 * callback set with lp_ctx_set_log().  A context is not thread-safe: use one
 * per thread.
 */
#ifndef LIVEPATCH_LIVEPATCH_H
#define LIVEPATCH_LIVEPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the library exports (it is built with hidden visibility). */
#define LP_API __attribute__((visibility("default")))

#define LP_ERRNO_BASE 4000

enum lp_error {
	LP_EBADPATCH = LP_ERRNO_BASE + 1, /* not a patch file, or corrupt */
	LP_EBUILDID,                      /* target module has another build-id */
	LP_ENOSYM,                        /* symbol not found in the target */
	LP_ENOPAD,                        /* function has no patchable pad */
	LP_EUNSAFE,                       /* no safe point before the timeout */
	LP_EARCH,                         /* target is not an x86-64 ELF process */
	LP_EPATCHED,                      /* function is already patched */
	LP_EEXITED,                       /* target exited during the operation */
	LP_ERELOC,                        /* patch needs an unsupported relocation */
	LP_ENOBUILDID,                    /* ELF file carries no build-id */
	LP_ETRACED,                       /* target is traced by another process */
	LP_EAPPLIED,                      /* the patch is already applied */
	LP_ENOTAPPLIED,                   /* no such patch is applied */
	LP_EJOURNAL,                      /* the target's journal is unreadable */
	LP_EMAX
};

enum lp_log_level {
	LP_LOG_ERROR = 0,
	LP_LOG_WARN = 1,
	LP_LOG_INFO = 2,
	LP_LOG_DEBUG = 3,
};

struct lp_ctx;
struct lp_patch;

typedef void (*lp_log_fn)(enum lp_log_level level, const char *msg, void *user);

/* Context: logging and the last error's detail. */
LP_API int lp_ctx_new(struct lp_ctx **out);
LP_API void lp_ctx_free(struct lp_ctx *ctx);
/* Messages up to max_level go to fn; fn == NULL silences the library. */
LP_API void lp_ctx_set_log(struct lp_ctx *ctx, lp_log_fn fn, void *user,
		    enum lp_log_level max_level);
/* One line describing the last failure of a call on ctx ("" if none). */
LP_API const char *lp_ctx_errmsg(const struct lp_ctx *ctx);
/* Static text for an error code (negative or positive). */
LP_API const char *lp_strerror(int err);

/* Patch files, as written by livepatch-build. */
LP_API int lp_patch_open(struct lp_ctx *ctx, const char *path, struct lp_patch **out);
LP_API void lp_patch_close(struct lp_patch *patch);
/* Hex digest of the patch file's content: identifies the patch. */
LP_API const char *lp_patch_id(const struct lp_patch *patch);
/* Build-id (hex) and file name of the module the patch was built for. */
LP_API const char *lp_patch_target_build_id(const struct lp_patch *patch);
LP_API const char *lp_patch_target_name(const struct lp_patch *patch);
/* A patch may replace functions of several modules (the executable and
 * libraries): target 0 is the one above, the others follow. */
LP_API size_t lp_patch_ntargets(const struct lp_patch *patch);
LP_API int lp_patch_target(const struct lp_patch *patch, size_t i,
			   const char **build_id, const char **name);
LP_API size_t lp_patch_nfuncs(const struct lp_patch *patch);
/* Name of the i-th replaced function, and of its replacement. */
LP_API const char *lp_patch_func_old(const struct lp_patch *patch, size_t i);
LP_API const char *lp_patch_func_new(const struct lp_patch *patch, size_t i);
/* Symbols the patch takes from the process (functions it calls, data it
 * uses), resolved when it is applied. */
LP_API size_t lp_patch_nrefs(const struct lp_patch *patch);
LP_API const char *lp_patch_ref(const struct lp_patch *patch, size_t i);
/* LIVEPATCH_SYMBOL lines: the patch's @alias is the static @symbol of the
 * target's source file @file. */
LP_API size_t lp_patch_nsymbols(const struct lp_patch *patch);
LP_API int lp_patch_symbol(const struct lp_patch *patch, size_t i, const char **alias,
			   const char **file, const char **symbol);

/* lp_apply_opts.flags */
#define LP_APPLY_REPLACE 0x1u /* revert every applied patch in the same stop */

struct lp_apply_opts {
	size_t sz;          /* sizeof(struct lp_apply_opts) */
	double timeout_s;   /* give up finding a safe point after this; <= 0: 10 s */
	unsigned int flags; /* LP_APPLY_* */
};

struct lp_apply_result {
	double pause_ms;        /* first thread stopped to last thread resumed */
	unsigned int nthreads;  /* threads stopped in the final stop */
	unsigned int attempts;  /* stops needed to find a safe point */
	unsigned int moved_pcs; /* threads moved past the entry NOPs */
};

/*
 * Apply @patch to process @pid: every replaced function or none.  A
 * function replaced by an earlier patch gets the new version on top of it
 * (reverting the new patch brings the earlier one back).  The patch is
 * recorded in a journal inside the process.  On any failure the target
 * keeps running as it was, with nothing of the patch left mapped.
 * -LP_EAPPLIED if the same patch is applied already (nothing is done).
 * @opts and @res may be NULL.
 */
LP_API int lp_apply(struct lp_ctx *ctx, pid_t pid, const struct lp_patch *patch,
	     const struct lp_apply_opts *opts, struct lp_apply_result *res);
/*
 * Revert the patch @id (its hex id, or a unique prefix of at least 4
 * digits; NULL: every applied patch) in process @pid, under the same stop
 * and checks as lp_apply.  Each function it replaced gets its previous
 * version back: the next newest patch's, or the original.  The patch's
 * code is unmapped once no thread's stack holds it; until then it stays,
 * and a later lp_apply, lp_revert or lp_cleanup unmaps it.
 * Returns the number of patches reverted (0 when @id is NULL and none
 * was applied), -LP_ENOTAPPLIED if no such patch is applied.
 */
LP_API int lp_revert(struct lp_ctx *ctx, pid_t pid, const char *id,
		     const struct lp_apply_opts *opts, struct lp_apply_result *res);
/*
 * Unmap the code of reverted patches that no thread's stack holds any
 * more.  Returns how many were unmapped (0 when nothing was pending).
 */
LP_API int lp_cleanup(struct lp_ctx *ctx, pid_t pid,
		      const struct lp_apply_opts *opts);

/*
 * The journal of a process: what is applied, as recorded inside the
 * process itself.  Patches are indexed newest first.
 */
struct lp_journal;

enum lp_patch_state {
	LP_PATCH_APPLIED = 1,
	LP_PATCH_REVERTED_IN_USE = 2, /* reverted; code still on a stack */
	LP_PATCH_INTERRUPTED = 3,     /* an apply or revert did not finish */
};

struct lp_applied {
	size_t sz;            /* sizeof(struct lp_applied), set by the caller */
	const char *id;
	const char *name;     /* the patch file's name without .lpatch */
	const char *path;     /* the patch file, as applied */
	int64_t time;         /* when it was applied, seconds since the epoch */
	enum lp_patch_state state;
	uint64_t map_start;   /* the patch's code and data in the process */
	uint64_t map_size;
	size_t nfuncs;
};

struct lp_applied_func {
	size_t sz;            /* sizeof(struct lp_applied_func), set by the caller */
	const char *name;     /* the function replaced */
	const char *module;   /* path of the module defining it */
	uint64_t addr;        /* its address in the process */
	uint64_t new_addr;    /* the patch's version */
	int live;             /* 1 if the patch's version is the one running now */
};

/* Read the journal of @pid (an empty one if it holds no patches). */
LP_API int lp_journal_read(struct lp_ctx *ctx, pid_t pid, struct lp_journal **out);
LP_API void lp_journal_free(struct lp_journal *j);
LP_API size_t lp_journal_npatches(const struct lp_journal *j);
LP_API int lp_journal_patch(const struct lp_journal *j, size_t i,
			    struct lp_applied *out);
LP_API int lp_journal_func(const struct lp_journal *j, size_t i, size_t k,
			   struct lp_applied_func *out);

/* ELF helpers used by livepatch-build. */

/* Hex build-id of an ELF file into buf; -LP_ENOBUILDID if it has none. */
LP_API int lp_elf_file_build_id(struct lp_ctx *ctx, const char *path, char *buf,
			 size_t len);
/*
 * 0 if @symbol is a function of the ELF file at @path with a verified
 * patchable pad; -LP_ENOSYM, -ENOTUNIQ (static in several files),
 * -LP_ENOPAD (detail in lp_ctx_errmsg) otherwise.
 */
LP_API int lp_elf_file_check_function(struct lp_ctx *ctx, const char *path,
			       const char *symbol);
/*
 * Can a patch use @symbol of the ELF file at @path?  With @file NULL, as
 * a plain name: 0 if exported, or defined once; -ENOTUNIQ if defined in
 * several source files; -ENOENT if the file is stripped and does not
 * export it; -LP_ENOSYM if absent.  With @file, as a static symbol of
 * that source file (LIVEPATCH_SYMBOL).  The detail is in lp_ctx_errmsg.
 */
LP_API int lp_elf_file_check_symbol(struct lp_ctx *ctx, const char *path,
				    const char *file, const char *symbol);
/*
 * Finish a patch file written by the compiler: fill in its target and its
 * checksum, so that lp_patch_open() can tell a damaged file.
 */
LP_API int lp_patch_seal(struct lp_ctx *ctx, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_LIVEPATCH_H */
