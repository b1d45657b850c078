/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interfaces of liblivepatch: one section per source file. */
#ifndef LP_INTERNAL_H
#define LP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <sys/types.h>
#include <sys/user.h>

#include "livepatch/livepatch.h"

#define LP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Pad layout of -fpatchable-function-entry=16,14 (see design notes). */
#define LP_PAD_LEN 14   /* bytes before the function symbol */
#define LP_ENTRY_LEN 2  /* NOP bytes at the entry (after endbr64 if any) */
#define LP_ENDBR_LEN 4
/* bytes we may change: the pad, then an optional endbr64 and the entry */
#define LP_CODE_LEN (LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN)

/* ---- log.c ------------------------------------------------------------ */

struct lp_ctx {
	lp_log_fn log;
	void *log_user;
	enum lp_log_level log_level;
	char err[512];
};

void lp_log(struct lp_ctx *ctx, enum lp_log_level level, const char *fmt, ...)
	LP_PRINTF(3, 4);
#define lp_warn(ctx, ...) lp_log(ctx, LP_LOG_WARN, __VA_ARGS__)
#define lp_info(ctx, ...) lp_log(ctx, LP_LOG_INFO, __VA_ARGS__)
#define lp_debug(ctx, ...) lp_log(ctx, LP_LOG_DEBUG, __VA_ARGS__)
/* Record the one-line detail of a failure and return @code (negative). */
int lp_fail(struct lp_ctx *ctx, int code, const char *fmt, ...) LP_PRINTF(3, 4);
double lp_now_ms(void);
/* Room for element @n of an array of @size-byte elements at *@pp (a
 * pointer to the array's pointer) with capacity *@cap, doubled from
 * @first: 0, or -ENOMEM with the array as it was. */
int lp_grow(void *pp, size_t *cap, size_t n, size_t size, size_t first);
/* Test hook: SIGKILL ourselves here if LIVEPATCH_FAULT names @point. */
void lp_fault_point(struct lp_ctx *ctx, const char *point);

/* ---- decode.c (the only user of Zydis) -------------------------------- */

struct lp_entry {
	unsigned int entry_off; /* offset of the entry NOPs from the symbol: 0, or 4 after endbr64 */
	unsigned int nop_ends;  /* bitmask of offsets (from the entry NOPs) where a NOP instruction ends */
};

/*
 * Verify the bytes around a function: @code holds LP_PAD_LEN bytes before
 * the function symbol followed by at least LP_ENDBR_LEN + LP_ENTRY_LEN
 * bytes from it.  Returns 0 when the pad is all NOPs ending exactly at the
 * symbol and the entry (after an optional endbr64) is NOPs of exactly
 * LP_ENTRY_LEN bytes; -LP_EPATCHED when the bytes hold our jumps;
 * -LP_ENOPAD otherwise, with *why saying what was found.
 */
int lp_decode_pad(const uint8_t *code, size_t len, struct lp_entry *entry,
		  const char **why);
/* The absolute jump written into the pad: ff 25 00000000 <addr64>. */
void lp_encode_pad_jump(uint8_t out[LP_PAD_LEN], uint64_t target);
/* The short jump written over the entry NOPs, back to the pad start. */
void lp_encode_entry_jump(uint8_t out[LP_ENTRY_LEN], unsigned int entry_off);
/* Length of the instruction at @code, or -1 if it does not decode. */
int lp_decode_insn_len(const uint8_t *code, size_t len);

/* ---- elf.c (the only user of libelf) ---------------------------------- */

struct lp_elf;

struct lp_sym {
	const char *name;
	uint64_t value;   /* link-time address */
	uint64_t size;
	bool is_func;
	bool is_ifunc;  /* STT_GNU_IFUNC: value is the resolver */
	bool is_tls;    /* STT_TLS: value is the offset in the TLS block */
};

struct lp_segment {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags; /* PF_R|PF_W|PF_X */
};

struct lp_eh_frame_hdr {
	uint64_t vaddr;       /* of .eh_frame_hdr */
	uint64_t table_vaddr; /* of its binary search table */
	uint64_t fde_count;
};

/* Open an ELF file, or an image in memory (copied). */
int lp_elf_open(struct lp_ctx *ctx, const char *path, struct lp_elf **out);
/* As lp_elf_open(), the file mapped rather than read: the file a process
 * maps (/proc/PID/map_files, /proc/PID/exe), not one anyone may rewrite. */
int lp_elf_open_mapped(struct lp_ctx *ctx, const char *path, struct lp_elf **out);
/* The same, named @name in messages and by lp_elf_name() (an open fd's
 * /proc path read under the name the caller knows the file by). */
int lp_elf_open_as(struct lp_ctx *ctx, const char *path, const char *name,
		   struct lp_elf **out);
int lp_elf_open_mem(struct lp_ctx *ctx, const void *buf, size_t len,
		    const char *name, struct lp_elf **out);
void lp_elf_close(struct lp_elf *elf);
const char *lp_elf_name(const struct lp_elf *elf);
/* ET_EXEC (fixed address) or ET_DYN (PIE, library); false otherwise */
bool lp_elf_is_x86_64(const struct lp_elf *elf);
bool lp_elf_is_dyn(const struct lp_elf *elf);
/* Hex build-id; -LP_ENOBUILDID if none. */
int lp_elf_build_id(const struct lp_elf *elf, char *buf, size_t len);
const char *lp_elf_soname(const struct lp_elf *elf);
/* PT_LOAD segments, in file order. */
size_t lp_elf_segments(const struct lp_elf *elf, const struct lp_segment **segs);
/* Lowest PT_LOAD vaddr, rounded down to the page. */
uint64_t lp_elf_min_vaddr(const struct lp_elf *elf);
/*
 * Find a defined symbol: .symtab first (global, then local when it is the
 * only one of that name), then .dynsym (the default version).
 * 0, or -LP_ENOSYM.
 */
int lp_elf_find_symbol(const struct lp_elf *elf, const char *name,
		       struct lp_sym *out);
/* Global symbols only (.dynsym, default version; then global .symtab). */
int lp_elf_find_global(const struct lp_elf *elf, const char *name,
		       struct lp_sym *out);
/*
 * A local (static) symbol of the source file @file (as the compiler was
 * given it, or its last components): 0, -LP_ENOSYM, -ENOTUNIQ, or
 * -ENOENT when the file has no symbol table (stripped).
 */
int lp_elf_find_local(const struct lp_elf *elf, const char *file, const char *name,
		      struct lp_sym *out);
bool lp_elf_has_symtab(const struct lp_elf *elf);
/* Size and alignment of the PT_TLS segment; -ENOENT if none. */
int lp_elf_tls(const struct lp_elf *elf, uint64_t *memsz, uint64_t *align);
/* Exported symbols only: .dynsym, default version. */
int lp_elf_find_dynamic(const struct lp_elf *elf, const char *name,
			struct lp_sym *out);
/* Link-time address of the dynamic section, 0 if none. */
uint64_t lp_elf_dynamic_vaddr(const struct lp_elf *elf);
/* Copy file bytes backing [vaddr, vaddr+len); -EFAULT if not all backed. */
int lp_elf_read(const struct lp_elf *elf, uint64_t vaddr, void *buf, size_t len);
/*
 * Is @pad_vaddr listed in __patchable_function_entries?  1 yes, 0 no,
 * -ENOENT if the file has no such section (then the bytes decide).
 */
int lp_elf_pad_listed(const struct lp_elf *elf, uint64_t pad_vaddr);
int lp_elf_eh_frame_hdr(const struct lp_elf *elf, struct lp_eh_frame_hdr *out);
/* Address range of the executable PT_LOAD segments. */
void lp_elf_text_range(const struct lp_elf *elf, uint64_t *lo, uint64_t *hi);

/* Section contents by name (NULL if absent); *addr gets sh_addr. */
const void *lp_elf_section(const struct lp_elf *elf, const char *name,
			   size_t *size, uint64_t *addr, uint64_t *offset);
/* Does @vaddr lie in an executable PT_LOAD segment's file bytes? */
bool lp_elf_in_exec_segment(const struct lp_elf *elf, uint64_t vaddr);
/* Name of the function symbol at @vaddr, or NULL. */
const char *lp_elf_symbol_at(const struct lp_elf *elf, uint64_t vaddr);
/* Size of the function symbol at @vaddr, 0 if none. */
uint64_t lp_elf_func_size(const struct lp_elf *elf, uint64_t vaddr);
/* Raw image as opened. */
const uint8_t *lp_elf_image(const struct lp_elf *elf, size_t *size);

/* Dynamic relocations of a shared object (patches). */
struct lp_reloc {
	uint64_t offset; /* vaddr patched */
	uint32_t type;   /* R_X86_64_* */
	int64_t addend;
	const char *sym; /* NULL for none */
	uint64_t sym_value; /* defined symbol's value, 0 if undefined */
	bool sym_defined;
	bool sym_weak;
};
int lp_elf_dyn_relocs(const struct lp_elf *elf, struct lp_reloc **out,
		      size_t *n);

/*
 * Check that the function at link-time address @value in @elf, whose
 * bytes are @code (LP_PAD_LEN before it, then the entry), has a pad.
 * Shared by the file check and the apply.  0, -LP_ENOPAD, -LP_EPATCHED.
 */
int lp_check_pad(struct lp_ctx *ctx, const struct lp_elf *elf, const char *name,
		 uint64_t value, const uint8_t *code, size_t len,
		 struct lp_entry *entry);

/* ---- proc.c: /proc and memory of the target --------------------------- */

struct lp_module {
	char *path;          /* as in /proc/PID/maps ("[vdso]" for the vDSO) */
	uint64_t start, end; /* lowest and highest mapped address */
	uint64_t bias;       /* runtime address = link-time address + bias */
	struct lp_elf *elf;
	char build_id[84];
	bool exec;           /* has an executable mapping */
	struct lp_reloc *rels; /* dynamic relocations, read on first use */
	size_t nrels;
	bool rels_read;
	uint64_t eh_hdr;     /* runtime address of .eh_frame_hdr, 0 if none */
	uint64_t eh_table;   /* runtime address of its search table */
	uint64_t eh_count;
	uint64_t text_lo, text_hi; /* runtime range of executable segments */
	unsigned int rank;   /* place in the dynamic linker's search order */
};

struct lp_proc {
	struct lp_ctx *ctx;
	pid_t pid;
	int mem_fd;       /* /proc/PID/mem, O_RDWR */
	struct lp_module *mods;
	size_t nmods;
	unsigned long long start_time; /* from /proc/PID/stat: detects PID reuse */
	/* /proc/PID, or /proc/PID/task/TID of a live thread when the main
	 * thread has exited (its exe, maps and mem are then empty) */
	char dir[64];
};

/* One line of /proc/PID/maps. */
struct lp_maps_line {
	uint64_t start, end, offset, inode;
	char perms[5];
	char dev[16]; /* "major:minor", in hex */
	char *name; /* in the line, its newline cut off; "" for none */
};

/* Parse @line (as fgets() read it) into @m: 0, or -1 when it is not a
 * maps line. */
int lp_maps_parse(char *line, struct lp_maps_line *m);

/* fgets() for /proc/PID/maps, whole lines only: a line longer than @size
 * is skipped with the rest of it. */
char *lp_maps_gets(char *buf, int size, FILE *f);

/* Cut a " (deleted)" off the end of a maps line's name. */
void lp_maps_undelete(char *name);

/* Open the process: checks it exists, is x86-64 ELF, maps its modules. */
int lp_proc_open(struct lp_ctx *ctx, pid_t pid, struct lp_proc **out);
/* Only its memory and /proc directory (no modules): enough to read it. */
int lp_proc_open_light(struct lp_ctx *ctx, pid_t pid, struct lp_proc **out);
void lp_proc_close(struct lp_proc *proc);
/* Still the same process (not exited, PID not reused)? 0 or -LP_EEXITED. */
int lp_proc_check_alive(struct lp_proc *proc);
int lp_proc_read(struct lp_proc *proc, uint64_t addr, void *buf, size_t len);
int lp_proc_write(struct lp_proc *proc, uint64_t addr, const void *buf,
		  size_t len);
/* The tracer of any thread of @pid that is not us, or 0. */
pid_t lp_proc_other_tracer(pid_t pid);
/* Is @pid a run of livepatch (our executable, or named livepatch)? */
bool lp_proc_is_livepatch(pid_t pid);
/* Has the process gone, or is it exiting?  (After a failure.) */
bool lp_proc_dying(struct lp_proc *proc);
struct lp_module *lp_proc_module_at(struct lp_proc *proc, uint64_t addr);
struct lp_module *lp_proc_module_by_build_id(struct lp_proc *proc,
					     const char *build_id);
/* The PIDs of /proc (every process we can see); caller frees *pids. */
int lp_proc_list(pid_t **pids, size_t *n);
/* Thread ids of the process; caller frees *tids. */
int lp_proc_tasks(pid_t pid, pid_t **tids, size_t *n);
/* State letter of a thread (R, S, D, T, t, Z...), or 0. */
char lp_proc_task_state(pid_t pid, pid_t tid);
/* Where a thread that is not running sits (/proc/.../syscall): its stack
 * and instruction pointers; -EAGAIN while it runs. */
int lp_proc_task_blocked_at(pid_t pid, pid_t tid, uint64_t *sp, uint64_t *pc);
/* Is the thread there and not exiting (not a zombie)? */
bool lp_proc_task_alive(pid_t pid, pid_t tid);
/* Is the thread gone, a zombie, or on its way out (PF_EXITING)?  Such a
 * thread never stops for a tracer any more. */
bool lp_proc_task_exiting(pid_t pid, pid_t tid);
/* Pid of the process tracing @pid (0 if none). */
int lp_proc_tracer(pid_t pid, pid_t *tracer);
/* Resolve a symbol for the patch: target module first, then all modules. */
int lp_proc_resolve(struct lp_proc *proc, const struct lp_module *first,
		    const char *name, uint64_t *addr);
/* A thread-local variable: its module, TLS module id and offset. */
int lp_proc_resolve_tls(struct lp_proc *proc, const struct lp_module *first,
			const char *name, struct lp_module **mod, uint64_t *modid,
			uint64_t *offset);
/* Find a "syscall" instruction in executable memory (vDSO first). */
int lp_proc_find_syscall_insn(struct lp_proc *proc, uint64_t *addr);

/* ---- stop.c: seizing and stopping threads ----------------------------- */

struct lp_thread {
	pid_t tid;
	bool seized;
	bool stopped;
	bool gone;          /* exited meanwhile */
	bool leader;        /* the main thread (its end is reported late) */
	bool group_stop;    /* in a group-stop: must stay stopped */
	int owed_sig;       /* signal to deliver at detach */
	bool rax_dirty;     /* regs.rax changed (only it): written back at the detach */
	bool has_siginfo;   /* siginfo of owed_sig, restored at detach */
	siginfo_t siginfo;
	struct user_regs_struct regs;
};

struct lp_world {
	struct lp_proc *proc;
	struct lp_thread *th;
	size_t n, cap;
	double t_first_stop, t_last_resume;
	size_t released; /* threads resumed by the last release */
	/* SIGCHLD blocked while the world stops (stop.c), and our mask */
	bool chld_blocked;
	sigset_t saved_mask;
	/* or waits that a timer's SIGCHLD cuts short (stop.c) */
	bool timed;
	timer_t timer;
	struct sigaction saved_chld;
	/* our scheduling policy before the stop raised it (stop.c) */
	bool raised;
	int policy;
	struct sched_param param;
};

/* Seize one thread (not stopped): -ESRCH if gone, -EPERM if not allowed. */
int lp_thread_seize(struct lp_ctx *ctx, struct lp_thread *t);
/* Interrupt and wait for a seized thread to stop; records owed signals. */
int lp_thread_stop(struct lp_ctx *ctx, struct lp_thread *t);
/* Write t->regs to the stopped thread now. */
int lp_thread_set_regs(struct lp_ctx *ctx, struct lp_thread *t);
/* Write back regs if dirty, detach with the owed signal. */
int lp_thread_release(struct lp_ctx *ctx, struct lp_thread *t);

/* Seize every thread (the target keeps running). */
int lp_world_seize(struct lp_world *w);
/* Stop every thread, re-reading the thread list until stable. */
int lp_world_stop(struct lp_world *w);
/* Detach every thread; the pause ends here. */
void lp_world_release(struct lp_world *w);
void lp_world_free(struct lp_world *w);
/*
 * Undo an EINTR our interrupt caused: some calls (epoll_wait,
 * rt_sigtimedwait...) return EINTR on any stop instead of restarting.
 * The thread will issue the call again, unless a signal handler runs
 * when it resumes (then it sees EINTR, as without us).  Every stop must
 * do this.
 */
void lp_thread_fix_eintr(struct lp_proc *proc, struct lp_thread *t);
void lp_world_fix_eintr(struct lp_world *w);

/* (glibc 2.36 has no sched_setattr(): the kernel's struct, its first
 * version) */
struct sched_attr_v0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

/*
 * Short time slices for the calling thread during an operation (a
 * SCHED_OTHER or SCHED_BATCH thread, Linux 6.12 and later); returns what
 * to give lp_slice_restore() at its end, 0 when nothing changed.
 */
uint64_t lp_slice_shorten(struct lp_ctx *ctx);
void lp_slice_restore(uint64_t was);

/* ---- remote.c: system calls in the target ----------------------------- */

/*
 * Borrow stopped thread @t for remote calls: block every signal in it, so
 * that none is dequeued (and lost) while it single-steps; lp_remote_end()
 * puts its mask back.
 */
int lp_remote_begin(struct lp_proc *proc, struct lp_thread *t, uint64_t *saved_mask);
int lp_remote_end(struct lp_proc *proc, struct lp_thread *t, uint64_t saved_mask);
/* Run a system call in stopped thread @t; regs are restored after. */
int lp_remote_syscall(struct lp_proc *proc, struct lp_thread *t,
		      uint64_t insn, long nr, const uint64_t args[6],
		      int64_t *ret);

/* ---- unwind.c (the only user of libunwind) ---------------------------- */

struct lp_unwinder;

struct lp_frame {
	uint64_t pc;
	uint64_t sp;
	bool exact;       /* pc is where the thread resumes, not a return address */
	uint64_t pc_slot; /* where pc is saved (0 = thread registers) */
};

typedef int (*lp_frame_fn)(void *arg, const struct lp_frame *f, unsigned depth);

int lp_unwinder_new(struct lp_proc *proc, struct lp_unwinder **out);
void lp_unwinder_free(struct lp_unwinder *u);
/* Forget the target's memory cached so far (call before each stop). */
void lp_unwinder_flush(struct lp_unwinder *u);
/* Room for @n more blocks, allocated and touched now (before a stop). */
int lp_unwinder_reserve(struct lp_unwinder *u, size_t n);
/* Before a stop: learn the unwind rules of the functions on the stack of
 * a thread with @regs (of the function at regs->rip alone if regs->rsp is
 * 0).  The thread may be running: what this reads of its stack may be
 * torn, and only guides which rules to learn. */
void lp_unwinder_learn(struct lp_unwinder *u, const struct user_regs_struct *regs);
/* Learn the functions of the return addresses atop a few thread stacks
 * (the call chains of threads that run, which no register tells). */
void lp_unwinder_learn_stacks(struct lp_unwinder *u);
/* Read the top of the stack of every stopped thread of @w, in few calls. */
void lp_unwinder_prefetch(struct lp_unwinder *u, const struct lp_world *w);
/* Read the memory of ranges [r[i][0], r[i][1]), in few calls. */
void lp_unwinder_prefetch_ranges(struct lp_unwinder *u, const uint64_t (*r)[2], size_t n);
/* Read the stopped target's memory through the cache of this stop. */
int lp_unwinder_read(struct lp_unwinder *u, uint64_t addr, void *buf, size_t len);
/* Walk @t's stack (stopped), calling @fn per frame; stops early if fn != 0.
 * Returns fn's value, 0 at the end of the stack, or a negative error. */
int lp_unwind_thread(struct lp_unwinder *u, const struct lp_thread *t,
		     lp_frame_fn fn, void *arg);

/* ---- patch.c: patch files --------------------------------------------- */

#define LP_INFO_SECTION ".livepatch.info"
#define LP_REPLACE_SECTION ".livepatch.replace"
#define LP_SYMBOLS_SECTION ".livepatch.symbols"
/* undefined symbols of a patch named so stand for an original function */
#define LP_ORIGINAL_PREFIX "livepatch_original__"
#define LP_INFO_MAGIC "LPINFO01"
#define LP_INFO_SIZE 256
/* The section holds one LP_INFO_SIZE entry per target module; the first
 * has the layout below, the others only the build-id and module fields.
 * Layout of .livepatch.info (little endian):
 *   0  magic "LPINFO01"
 *   8  u32 format version (1)
 *  12  u32 flags (0)
 *  16  u64 checksum: FNV-1a 64 of the whole file with these 8 bytes zero
 *  24  char build_id[80]  hex, NUL padded
 * 104  char module[152]   file name of the target module, NUL padded */
#define LP_INFO_OFF_CSUM 16
#define LP_INFO_OFF_BUILD_ID 24
#define LP_INFO_OFF_MODULE 104

struct lp_patch_func {
	char *old_name;
	char *new_name;      /* symbol of the replacement, if named */
	uint64_t new_vaddr;  /* in the patch's image */
};

struct lp_patch_target {
	char build_id[81];
	char module[153];
};

/* A LIVEPATCH_SYMBOL line: the patch's @alias is @symbol of @file. */
struct lp_patch_sym {
	char *alias, *file, *symbol;
};

struct lp_patch {
	struct lp_elf *elf;
	char id[17];
	char *path;    /* absolute path of the file, as opened */
	char *name;    /* its file name without ".lpatch" */
	/* targets[0] is the main target: the patch's symbols bind from it */
	struct lp_patch_target *targets;
	size_t ntargets;
	struct lp_patch_func *funcs;
	size_t nfuncs;
	char **refs;   /* symbols taken from the process */
	size_t nrefs;
	struct lp_patch_sym *syms;
	size_t nsyms;
};

const struct lp_patch_sym *lp_patch_sym_of(const struct lp_patch *p, const char *alias);

uint64_t lp_fnv1a64(uint64_t h, const void *buf, size_t len);
#define LP_FNV_INIT 0xcbf29ce484222325ULL

/* ---- load.c: mapping a patch into the target -------------------------- */

struct lp_load {
	uint64_t base;   /* runtime address of the patch's vaddr 0 */
	uint64_t size;   /* bytes reserved */
	uint64_t *new_addr; /* runtime address of each replacement */
	uint64_t ino;    /* the inode of the memfd it is mapped from (0: none) */
};

/* Map @patch into the process through borrowed thread @t (stopped). */
int lp_load_patch(struct lp_proc *proc, struct lp_thread *t,
		  const struct lp_patch *patch, const struct lp_module *target,
		  struct lp_load *out);
int lp_unload_patch(struct lp_proc *proc, struct lp_thread *t,
		    struct lp_load *load);
void lp_load_free(struct lp_load *load);
/* A new, empty journal mapping of @size bytes in the process. */
int lp_map_journal(struct lp_proc *proc, struct lp_thread *t, uint64_t size,
		   uint64_t *addr, uint64_t *ino);
int lp_remote_unmap(struct lp_proc *proc, struct lp_thread *t, uint64_t addr,
		    uint64_t size);

/* ---- journal.c: what is applied, recorded inside the process ---------- */

#define LP_JOURNAL_MAGIC "LPJRNL01"
#define LP_JOURNAL_MOVED "LPJMOVED" /* over the magic of a copy left behind */

/* Record states: the public ones (LP_PATCH_APPLIED, _REVERTED_IN_USE),
 * and two that only an interrupted apply or revert leaves behind. */
#define LP_J_APPLYING 3
#define LP_J_REVERTING 4

struct lp_jfunc {
	char *name;
	char *module;          /* path of the module defining it */
	uint64_t addr;         /* the function symbol, runtime */
	uint64_t new_addr;     /* this patch's version */
	unsigned int entry_off;
	uint8_t orig[LP_CODE_LEN]; /* from addr - LP_PAD_LEN, before any patch */
};

struct lp_jpatch {
	char id[17];
	char *name, *path;
	int64_t time;
	unsigned int state;
	uint32_t seq;          /* order of application */
	uint64_t map_start, map_size;
	struct lp_jfunc *funcs;
	size_t nfuncs, cap;
};

/*
 * A mapping of ours in the process: a journal copy or a patch's code.
 * Its memfd's inode tells it from a later mapping of the same name at the
 * same address: runs unmap and map again all the time, and mmap() hands
 * out the hole that was just freed.
 */
struct lp_jmap {
	uint64_t start, end;
	uint64_t ino;
	char name[32];         /* "journal" or the patch id */
	bool journal;
	bool valid;            /* a journal copy with a valid header and text */
};

struct lp_journal {
	uint64_t gen;          /* of the copy read */
	uint64_t addr, size;   /* its mapping; 0 if the process has none */
	uint64_t ino;          /* its memfd's inode */
	struct lp_jpatch *p;   /* oldest first */
	size_t n;
	uint32_t next_seq;
	struct lp_jmap *maps;  /* every /memfd:livepatch: mapping */
	size_t nmaps;
};

int lp_journal_load(struct lp_proc *proc, struct lp_journal **out);
/* Only the mappings (j->maps), not the journal's content. */
int lp_journal_maps(struct lp_proc *proc, struct lp_journal **out);
/* The generation of the journal copy at @addr in the target: 0, or 1 when
 * it holds none (never written, moved, not a journal), or an error. */
int lp_journal_gen_at(struct lp_proc *proc, uint64_t addr, uint64_t *gen);
/* The mapping of @j named @name that starts at @start, or NULL. */
const struct lp_jmap *lp_journal_map_at(const struct lp_journal *j, uint64_t start,
					const char *name);
int lp_journal_serialize(const struct lp_journal *j, char **out, size_t *len);
int lp_journal_parse(struct lp_journal *j, char *text);
size_t lp_journal_image_size(size_t text_len);
int lp_journal_image(const struct lp_journal *j, uint64_t gen, uint8_t **out,
		     size_t *len);
void lp_jpatch_clear(struct lp_jpatch *p);
/* The applied patch whose version of the function at @addr runs now
 * (the newest), and the function's index in it. */
const struct lp_jpatch *lp_journal_live(const struct lp_journal *j, uint64_t addr,
					size_t *fi);

/* ---- check.c: what it reads of ELF files (in elf.c) -------------------- */

struct lp_func_sym {
	const char *name;  /* in the ELF file's strings: valid while it is open */
	const char *file;  /* STT_FILE of a local symbol's object; NULL for globals */
	uint64_t value, size;
	bool ifunc;        /* STT_GNU_IFUNC: value is the resolver */
	bool local;        /* STB_LOCAL */
};

/*
 * Every defined function symbol (STT_FUNC, STT_GNU_IFUNC) of .symtab, in
 * table order, or of .dynsym when the file is stripped (*symtab false).
 * The caller frees *out.
 */
int lp_elf_func_syms(const struct lp_elf *elf, struct lp_func_sym **out, size_t *n,
		     bool *symtab);
/*
 * The pads listed in __patchable_function_entries: the link-time address
 * of each pad's first byte, as the process sees it once relocated, in the
 * section's order.  Valid while @elf is open; -ENOENT if there is no list.
 */
int lp_elf_pad_list(const struct lp_elf *elf, const uint64_t **pads, size_t *n);

#endif /* LP_INTERNAL_H */
