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
 *
 * Signals: while it stops a target, the library waits for the ptrace stops
 * of its threads.  In a program of one thread whose SIGCHLD is at its
 * default and not blocked, it sets a SIGCHLD handler of its own for the
 * stop (restored at the end; a write() in the log callback may then fail
 * with EINTR) and a timer that cuts its waits short; otherwise it blocks
 * SIGCHLD in the calling thread for the stop, and may take one SIGCHLD
 * meant for the program.
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
/* The same from an open file (read once, from its start); @name is what
 * messages call it. */
LP_API int lp_patch_open_fd(struct lp_ctx *ctx, int fd, const char *name,
			    struct lp_patch **out);
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

/* What a safe point is (lp_apply_opts.mode). */
enum lp_mode {
	/* no frame of any thread in the bytes being changed (the default) */
	LP_MODE_ENTRY = 0,
	/* also no frame in the old body of any function replaced or
	 * reverted: no call of the old version is still running */
	LP_MODE_STRICT = 1,
};

struct lp_apply_opts {
	size_t sz;          /* sizeof(struct lp_apply_opts) */
	double timeout_s;   /* give up finding a safe point after this; <= 0: 10 s */
	unsigned int flags; /* LP_APPLY_* */
	enum lp_mode mode;
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

/*
 * The machine's processes a patch concerns.  lp_find_module: every process
 * mapping a module with @build_id (by build-id: a container's copy of the
 * same file counts), and, when @name is given, every process mapping a
 * module of that file name with another build-id (same_build 0: the patch
 * does not fit it).  lp_find_patch: every process whose journal has patch
 * @id applied.  The caller frees *out.
 */
struct lp_match {
	pid_t pid;
	int same_build;
	char build_id[84];   /* the module's ("" if it has none) */
	char path[512];      /* the module's path in the process */
};

LP_API int lp_find_module(struct lp_ctx *ctx, const char *build_id, const char *name,
			  struct lp_match **out, size_t *n);
LP_API int lp_find_patch(struct lp_ctx *ctx, const char *id, pid_t **out, size_t *n);

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

/*
 * What can be patched (livepatch check): for an ELF file, or for every
 * executable module of a running process (read, never stopped), which
 * functions are hot-patchable, why the others are not, and the copies the
 * compiler made of a function (NAME.constprop.N, NAME.isra.N, NAME.part.N,
 * NAME.cold...) that a patch of NAME does not reach.
 *
 * A function is one address: every STT_FUNC or STT_GNU_IFUNC symbol of
 * non-zero size in an executable segment, aliases counted once.  .cold
 * parts are not function entries: they are not counted, only listed among
 * the copies.  A stripped file shows only its exported functions.
 */
struct lp_check_report;

enum lp_check_status {
	LP_CHECK_PATCHABLE = 0, /* pad listed (where a list exists) and verified */
	LP_CHECK_PATCHED,       /* replaced by an applied patch: patchable too */
	LP_CHECK_NO_PAD,        /* built without the pad flag, or with
				 * patchable_function_entry(0, 0) */
	LP_CHECK_PAD_NOT_NOPS,  /* listed as padded, but the bytes differ */
	LP_CHECK_ASM,           /* no pad, and hand-written assembly: its file
				 * symbol names an assembly source, or it has
				 * no unwind information and no C source */
	LP_CHECK_IFUNC,         /* an ifunc: the address is its resolver */
	LP_CHECK_OTHER_PAD,     /* a pad of another -fpatchable-function-entry
				 * shape than 16,14 */
	LP_CHECK_FOREIGN_PATCH, /* holds a patch's jumps that no applied patch
				 * of the journal records */
	LP_CHECK_NO_ROOM,       /* less than the pad's 14 bytes before it */
};

struct lp_check_module {
	size_t sz;              /* sizeof(struct lp_check_module), set by the caller */
	const char *path;       /* the file, or the module as /proc/PID/maps names it */
	const char *build_id;   /* hex, "" if none */
	uint64_t bias;          /* process address = link-time address + bias */
	size_t nfuncs;          /* functions */
	size_t npatchable;      /* of them hot-patchable, the patched ones included */
	size_t npatched;        /* of them replaced by an applied patch */
	size_t ncopies;         /* compiler copies and parts (lp_check_copy) */
	int stripped;           /* no .symtab: only exported functions are seen */
	int pad_list;           /* has __patchable_function_entries */
};

struct lp_check_func {
	size_t sz;              /* sizeof(struct lp_check_func), set by the caller */
	const char *name;       /* one of its symbols: a global one before a local alias */
	const char *const *aliases; /* the other symbols at its address */
	size_t naliases;
	const char *file;       /* source file named by the STT_FILE symbol
				 * before a local symbol; NULL for a global */
	uint64_t addr;          /* in the process; link-time for a file */
	uint64_t size;
	enum lp_check_status status;
	const char *detail;     /* what was found, e.g. the decoder's reason
				 * and the bytes; "" if nothing to add */
	int patchable;          /* status is LP_CHECK_PATCHABLE or _PATCHED */
};

struct lp_check_copy {
	size_t sz;              /* sizeof(struct lp_check_copy), set by the caller */
	const char *name;       /* e.g. "scale.constprop.0" */
	const char *base;       /* the function it was made from: "scale" */
	const char *kind;       /* "constprop", "isra", "part", "cold",
				 * "lto_priv", "localalias", "llvm",
				 * "specialized", "clone", "default", "resolver" */
	uint64_t addr;
	int entry;              /* 1: a function entry, in the module's
				 * functions (func); 0: a .cold part, which
				 * only its function's own code jumps to */
	int same_entry;         /* 1: at the base function's address, so a
				 * patch of the base reaches it */
	size_t func;            /* its index among the module's functions,
				 * (size_t)-1 for a part */
	size_t base_func;       /* index of the base function, (size_t)-1 when
				 * the module has no function of that name */
};

/* Check the ELF file at @path: one module.  -ENOENT, -ENOEXEC (not ELF),
 * -LP_EARCH (not x86-64 code), with the detail in lp_ctx_errmsg. */
LP_API int lp_check_file(struct lp_ctx *ctx, const char *path,
			 struct lp_check_report **out);
/* Check every executable module of process @pid, reading the functions'
 * bytes from its memory (a function an applied patch replaced is
 * LP_CHECK_PATCHED).  The process is not stopped.  -ESRCH, -EPERM,
 * -LP_EARCH. */
LP_API int lp_check_process(struct lp_ctx *ctx, pid_t pid,
			    struct lp_check_report **out);
LP_API void lp_check_free(struct lp_check_report *r);
LP_API size_t lp_check_nmodules(const struct lp_check_report *r);
/* Module @m; its functions (by address) and copies (by base name, then
 * address) are indexed from 0.  -EINVAL if out of range.  The strings
 * live as long as the report. */
LP_API int lp_check_module(const struct lp_check_report *r, size_t m,
			   struct lp_check_module *out);
LP_API int lp_check_func(const struct lp_check_report *r, size_t m, size_t i,
			 struct lp_check_func *out);
LP_API int lp_check_copy(const struct lp_check_report *r, size_t m, size_t i,
			 struct lp_check_copy *out);
/* Short name of a status: "patchable", "patched", "no-pad",
 * "pad-not-nops", "asm", "ifunc", "other-pad", "foreign-patch",
 * "no-room". */
LP_API const char *lp_check_status_name(enum lp_check_status status);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_LIVEPATCH_H */
