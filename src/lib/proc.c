/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target process as /proc shows it: its modules (with their ELF files,
 * load bias, build-ids and unwind tables), its threads, its memory, and
 * the symbols a patch needs.  All of this is read before the world stops.
 */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Read a small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* One "Key:\tvalue" of /proc/PID[/task/TID]/status (which the kernel
 * writes whole, 14 us, for any field of it). */
static int status_field(pid_t pid, pid_t tid, const char *key, char *val, size_t len)
{
	char path[96], buf[4096], *p;
	size_t klen = strlen(key);
	int err;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	err = read_small(path, buf, sizeof(buf));
	if (err)
		return err;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			char *v = p + klen + 1, *e;

			v += strspn(v, " \t");
			e = strchr(v, '\n');
			snprintf(val, len, "%.*s", e ? (int)(e - v) : (int)strlen(v), v);
			return 0;
		}
	}
	return -ENOENT;
}

int lp_proc_tracer(pid_t pid, pid_t *tracer)
{
	char v[32];
	int err = status_field(pid, 0, "TracerPid", v, sizeof(v));

	if (err)
		return err;
	*tracer = (pid_t)atoi(v);
	return 0;
}

pid_t lp_proc_other_tracer(pid_t pid)
{
	pid_t *tids, tracer = 0;
	size_t n, i;
	char v[32];

	if (lp_proc_tasks(pid, &tids, &n))
		return 0;
	for (i = 0; i < n && !tracer; i++)
		if (!status_field(pid, tids[i], "TracerPid", v, sizeof(v)) && atoi(v) != getpid())
			tracer = (pid_t)atoi(v);
	free(tids);
	return tracer;
}

bool lp_proc_is_livepatch(pid_t pid)
{
	char path[64], comm[32];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (!stat(path, &a) && !stat("/proc/self/exe", &b) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, comm, sizeof(comm)))
		return false;
	comm[strcspn(comm, "\n")] = 0;
	return !strcmp(comm, "livepatch") || !strcmp(comm, "lt-livepatch");
}

static const char *stat_field(const char *buf, int k);

/* A thread's stat file, which the kernel writes in 9 us, not 14 as its
 * status file. */
static int task_stat(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	return read_small(path, buf, len);
}

char lp_proc_task_state(pid_t pid, pid_t tid)
{
	char buf[1024];
	const char *st;

	if (task_stat(pid, tid, buf, sizeof(buf)) || !(st = stat_field(buf, 3)))
		return 0;
	return *st;
}

int lp_proc_task_blocked_at(pid_t pid, pid_t tid, uint64_t *sp, uint64_t *pc)
{
	char path[96], buf[256], *p, *end;
	int k, skip, err;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	err = read_small(path, buf, sizeof(buf));
	if (err)
		return err;
	/* "NR ARG1 ... ARG6 SP PC", or "-1 SP PC", or "running" */
	p = buf;
	if (!strncmp(p, "running", 7))
		return -EAGAIN;
	skip = strncmp(p, "-1 ", 3) ? 7 : 1;
	for (k = 0; k < skip; k++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	*sp = strtoull(p, &end, 16);
	if (end == p || *end != ' ')
		return -EINVAL;
	p = end + 1;
	*pc = strtoull(p, &end, 16);
	return end == p ? -EINVAL : 0;
}

bool lp_proc_task_alive(pid_t pid, pid_t tid)
{
	char st = lp_proc_task_state(pid, tid);

	return st && st != 'Z' && st != 'X';
}

bool lp_proc_task_exiting(pid_t pid, pid_t tid)
{
	char buf[1024];
	const char *st, *flags;

	if (task_stat(pid, tid, buf, sizeof(buf)) || !(st = stat_field(buf, 3)) ||
	    !(flags = stat_field(buf, 9)))
		return true;
	return *st == 'Z' || *st == 'X' || *st == 'x' || (strtoul(flags, NULL, 10) & 0x4);
}

/* Field @k of a stat file's text (as proc(5) counts: 3 is the state), or
 * NULL.  comm may hold spaces and parentheses: fields are counted after
 * its last ')'. */
static const char *stat_field(const char *buf, int k)
{
	const char *p = strrchr(buf, ')');
	int i;

	for (i = 2; i < k && p; i++)
		p = strchr(p + 1, ' ');
	return p ? p + 1 : NULL;
}

static int start_time(pid_t pid, unsigned long long *out)
{
	char path[96], buf[4096];
	const char *p;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	err = read_small(path, buf, sizeof(buf));
	if (err)
		return err;
	p = stat_field(buf, 22);
	if (!p)
		return -EINVAL;
	*out = strtoull(p, NULL, 10);
	return 0;
}

/* The numeric entries of the directory @path: PIDs in /proc, thread ids
 * in /proc/PID/task.  -errno if it cannot be read. */
static int read_ids(const char *path, pid_t **ids, size_t *n)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 64;
	pid_t *v;

	d = opendir(path);
	if (!d)
		return -errno;
	v = malloc(cap * sizeof(*v));
	*n = 0;
	while (v && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (lp_grow(&v, &cap, *n, sizeof(*v), 64)) {
			free(v);
			v = NULL;
			break;
		}
		v[(*n)++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	if (!v)
		return -ENOMEM;
	*ids = v;
	return 0;
}

int lp_proc_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	err = read_ids(path, tids, n);
	return err == -ENOENT ? -ESRCH : err;
}

int lp_proc_list(pid_t **pids, size_t *n)
{
	return read_ids("/proc", pids, n);
}

int lp_proc_read(struct lp_proc *proc, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(proc->mem_fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EFAULT;
}

int lp_proc_write(struct lp_proc *proc, uint64_t addr, const void *buf,
		  size_t len)
{
	ssize_t n = pwrite(proc->mem_fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EFAULT;
}

int lp_proc_check_alive(struct lp_proc *proc)
{
	unsigned long long st;

	if (start_time(proc->pid, &st) || st != proc->start_time)
		return lp_fail(proc->ctx, -LP_EEXITED, "process %d exited", proc->pid);
	return 0;
}

/*
 * Has the process gone, or is it on its way out?  Asked after a failure,
 * to tell the target's death from our own error.  Its PID names another
 * process or none; or no thread of it can run any more: each is a zombie,
 * is exiting (PF_EXITING in its flags) or has SIGKILL pending (which the
 * kernel queues to every thread on a kill or an exit_group()).  A main
 * thread that ended alone (pthread_exit()) is a zombie while the others
 * run: that process is alive.
 */
bool lp_proc_dying(struct lp_proc *proc)
{
	pid_t *tids;
	size_t n, i;
	bool dying = true;

	if (lp_proc_check_alive(proc) || lp_proc_tasks(proc->pid, &tids, &n))
		return true;
	for (i = 0; i < n && dying; i++) {
		char v[32];

		if (lp_proc_task_exiting(proc->pid, tids[i]))
			continue;
		if (!status_field(proc->pid, tids[i], "SigPnd", v, sizeof(v)) &&
		    (strtoull(v, NULL, 16) & (1ULL << (SIGKILL - 1))))
			continue;
		dying = false;
	}
	free(tids);
	return dying;
}

struct lp_module *lp_proc_module_at(struct lp_proc *proc, uint64_t addr)
{
	size_t i;

	for (i = 0; i < proc->nmods; i++)
		if (addr >= proc->mods[i].start && addr < proc->mods[i].end)
			return &proc->mods[i];
	return NULL;
}

struct lp_module *lp_proc_module_by_build_id(struct lp_proc *proc,
					     const char *build_id)
{
	size_t i;

	for (i = 0; i < proc->nmods; i++)
		if (!strcmp(proc->mods[i].build_id, build_id))
			return &proc->mods[i];
	return NULL;
}

/*
 * The module @path's mappings belong to: the latest one of that path,
 * unless @fresh (a mapping of the file's start, once the latest already
 * has one: a second copy of the same file, such as a patch applied again
 * while its reverted copy is still mapped).
 */
static struct lp_module *module_get(struct lp_proc *proc, const char *path, bool fresh)
{
	struct lp_module *m;
	size_t i;

	for (i = proc->nmods; i-- > 0;)
		if (!strcmp(proc->mods[i].path, path)) {
			if (fresh)
				break;
			return &proc->mods[i];
		}
	m = realloc(proc->mods, (proc->nmods + 1) * sizeof(*m));
	if (!m)
		return NULL;
	proc->mods = m;
	m = &proc->mods[proc->nmods++];
	memset(m, 0, sizeof(*m));
	m->path = strdup(path);
	m->start = UINT64_MAX;
	if (!m->path) {
		proc->nmods--;
		return NULL;
	}
	return m;
}

/* Open the module's ELF file as the process sees it: through map_files
 * (works for deleted files), else through the process's root (works
 * across mount namespaces and chroots). */
static int module_open_elf(struct lp_proc *proc, struct lp_module *m,
			   uint64_t map_start, uint64_t map_end)
{
	char path[PATH_MAX + 64];
	int err;

	if (!strcmp(m->path, "[vdso]")) {
		size_t len = (size_t)(m->end - m->start);
		uint8_t *buf = malloc(len);

		if (!buf)
			return -ENOMEM;
		err = lp_proc_read(proc, m->start, buf, len);
		if (!err)
			err = lp_elf_open_mem(proc->ctx, buf, len, "[vdso]", &m->elf);
		free(buf);
		return err;
	}
	snprintf(path, sizeof(path), "%s/map_files/%" PRIx64 "-%" PRIx64,
		 proc->dir, map_start, map_end);
	if (!lp_elf_open_mapped(proc->ctx, path, &m->elf))
		return 0;
	/* (read, not mapped: the file at the path now may not be the one the
	 * target maps, and one rewritten in place under a mapping would kill
	 * us with SIGBUS) */
	snprintf(path, sizeof(path), "%s/root%s", proc->dir, m->path);
	return lp_elf_open(proc->ctx, path, &m->elf);
}

static int module_finish(struct lp_proc *proc, struct lp_module *m,
			 uint64_t base_map)
{
	struct lp_eh_frame_hdr eh;
	uint64_t lo, hi;

	m->bias = lp_elf_is_dyn(m->elf) ? base_map - lp_elf_min_vaddr(m->elf) : 0;
	if (lp_elf_build_id(m->elf, m->build_id, sizeof(m->build_id)))
		m->build_id[0] = 0;
	if (!lp_elf_eh_frame_hdr(m->elf, &eh)) {
		m->eh_hdr = eh.vaddr + m->bias;
		m->eh_table = eh.table_vaddr + m->bias;
		m->eh_count = eh.fde_count;
	}
	lp_elf_text_range(m->elf, &lo, &hi);
	m->text_lo = lo + m->bias;
	m->text_hi = hi + m->bias;
	lp_debug(proc->ctx, "module %s bias %#" PRIx64 " build-id %s", m->path,
		 m->bias, m->build_id[0] ? m->build_id : "-");
	(void)proc;
	return 0;
}

static void module_free(struct lp_module *m)
{
	lp_elf_close(m->elf);
	free(m->rels);
	free(m->path);
}

/* Where each module's mappings start: the lowest, and the one at file
 * offset 0 (its load base); the first is opened through map_files. */
struct module_maps {
	uint64_t first_start, first_end, base;
};

/*
 * By hand, not sscanf(): the maps are read two to three times an apply,
 * and sscanf() took 5,000 instructions a line, a sixth of the command's
 * own instructions on a small daemon.
 */
static char *num_field(char *s, uint64_t *v, int base)
{
	char *end;

	if (!((*s >= '0' && *s <= '9') || (base == 16 && ((*s >= 'a' && *s <= 'f') ||
							   (*s >= 'A' && *s <= 'F')))))
		return NULL;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno ? NULL : end;
}

int lp_maps_parse(char *line, struct lp_maps_line *m)
{
	char *s = line;
	size_t n;

	/* "start-end perms offset dev inode   name" */
	if (!(s = num_field(s, &m->start, 16)) || *s++ != '-' ||
	    !(s = num_field(s, &m->end, 16)) || *s++ != ' ')
		return -1;
	n = strcspn(s, " ");
	if (n != 4 || s[4] != ' ')
		return -1;
	memcpy(m->perms, s, 4);
	m->perms[4] = 0;
	s += 5;
	if (!(s = num_field(s, &m->offset, 16)) || *s++ != ' ')
		return -1;
	n = strcspn(s, " \n");
	if (!n || n >= sizeof(m->dev) || s[n] != ' ')
		return -1;
	memcpy(m->dev, s, n);
	m->dev[n] = 0;
	s += n + 1;
	if (!(s = num_field(s, &m->inode, 10)) || (*s != ' ' && *s != '\n' && *s))
		return -1;
	s += strspn(s, " \t\n");
	m->name = s;
	s[strcspn(s, "\n")] = 0;
	return 0;
}

/*
 * A target chooses the paths of the files it maps, so it can make a line
 * of its maps longer than our buffer, and the tail that fgets() returns
 * next can be written to read like a line of its own (a module, a thread
 * stack or one of our journal's mappings that is not there).  Such a
 * line is skipped whole.
 */
char *lp_maps_gets(char *buf, int size, FILE *f)
{
	while (fgets(buf, size, f)) {
		size_t n = strlen(buf);
		int c;

		if ((n && buf[n - 1] == '\n') || n + 1 < (size_t)size)
			return buf; /* whole, or the last line, unended */
		while ((c = getc(f)) != EOF && c != '\n')
			;
	}
	return NULL;
}

void lp_maps_undelete(char *name)
{
	size_t n = strlen(name);

	if (n >= 10 && !strcmp(name + n - 10, " (deleted)"))
		name[n - 10] = 0;
}

static int read_maps(struct lp_proc *proc)
{
	char path[96], line[PATH_MAX + 256];
	struct module_maps *mm = NULL;
	FILE *f;
	size_t i, j;
	int err = 0;

	snprintf(path, sizeof(path), "%s/maps", proc->dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (lp_maps_gets(line, sizeof(line), f)) {
		struct lp_maps_line ml;
		struct lp_module *m;
		size_t k;

		if (lp_maps_parse(line, &ml) || (ml.name[0] != '/' && strcmp(ml.name, "[vdso]")))
			continue;
		lp_maps_undelete(ml.name);
		for (k = proc->nmods; k-- > 0;)
			if (!strcmp(proc->mods[k].path, ml.name))
				break;
		m = module_get(proc, ml.name, k != SIZE_MAX && ml.offset == 0 && mm[k].base);
		if (m && m->start == UINT64_MAX) { /* new: one more entry in mm */
			struct module_maps *nm = realloc(mm, proc->nmods * sizeof(*mm));

			if (!nm)
				m = NULL;
			else
				mm = nm;
		}
		if (!m) {
			err = -ENOMEM;
			break;
		}
		k = (size_t)(m - proc->mods);
		if (m->start == UINT64_MAX) {
			mm[k].first_start = ml.start;
			mm[k].first_end = ml.end;
			mm[k].base = 0;
		}
		if (ml.start < m->start)
			m->start = ml.start;
		if (ml.end > m->end)
			m->end = ml.end;
		if (ml.perms[2] == 'x')
			m->exec = true;
		if (ml.offset == 0 && !mm[k].base)
			mm[k].base = ml.start;
	}
	fclose(f);
	if (err) {
		free(mm);
		return err;
	}
	/* Keep the modules that hold code and whose ELF can be read. */
	for (i = 0, j = 0; i < proc->nmods; i++) {
		struct lp_module *m = &proc->mods[i];

		if (!m->exec ||
		    module_open_elf(proc, m, mm[i].first_start, mm[i].first_end) ||
		    !lp_elf_is_x86_64(m->elf)) {
			module_free(m);
			continue;
		}
		module_finish(proc, m, mm[i].base ? mm[i].base : m->start);
		proc->mods[j++] = *m;
	}
	proc->nmods = j;
	free(mm);
	proc->ctx->err[0] = 0; /* files that are not ELF are not errors */
	return 0;
}

/*
 * Rank the modules in the order the dynamic linker searches them: the
 * executable, then its link map (LD_PRELOAD libraries first, then the
 * needed ones, then those loaded later), read from the process's r_debug.
 * A patch's symbols bind as the process's own do: a preloaded malloc wins
 * over libc's, so memory the patch allocates is memory the program frees.
 */
static void rank_modules(struct lp_proc *proc, const char *exe_path)
{
	uint64_t dyn = 0, rdebug = 0, lm = 0;
	struct lp_module *exe = NULL;
	unsigned int rank = 1;
	size_t i;

	for (i = 0; i < proc->nmods; i++) {
		proc->mods[i].rank = 100000 + (unsigned int)i; /* unknown: maps order */
		if (!exe && !strcmp(proc->mods[i].path, exe_path))
			exe = &proc->mods[i];
	}
	if (!exe)
		return;
	exe->rank = 0;
	if (!(dyn = lp_elf_dynamic_vaddr(exe->elf)))
		return;
	dyn += exe->bias;
	for (i = 0; i < 1024; i++) {
		uint64_t d[2];

		if (lp_proc_read(proc, dyn + 16 * i, d, sizeof(d)) || d[0] == DT_NULL)
			break;
		if (d[0] == DT_DEBUG) {
			rdebug = d[1];
			break;
		}
	}
	/* struct r_debug { int r_version; struct link_map *r_map; ... } */
	if (!rdebug || lp_proc_read(proc, rdebug + 8, &lm, 8))
		return;
	/* struct link_map { l_addr; l_name; l_ld; l_next; l_prev; } */
	for (i = 0; lm && i < 4096; i++) {
		uint64_t l[4];
		size_t k;

		if (lp_proc_read(proc, lm, l, sizeof(l)))
			break;
		for (k = 0; k < proc->nmods; k++) {
			struct lp_module *m = &proc->mods[k];
			uint64_t mdyn = lp_elf_dynamic_vaddr(m->elf);

			if (m != exe && mdyn && m->bias == l[0] && mdyn + m->bias == l[2])
				m->rank = rank++;
		}
		lm = l[3];
	}
}

static int proc_open(struct lp_ctx *ctx, pid_t pid, bool full, struct lp_proc **out)
{
	struct lp_proc *proc;
	char path[96], v[32];
	struct lp_elf *exe = NULL;
	int err;

	if (pid <= 0)
		return lp_fail(ctx, -ESRCH, "no such process: %d", pid);
	if (status_field(pid, 0, "Tgid", v, sizeof(v)))
		return lp_fail(ctx, -ESRCH, "no such process: %d", pid);
	if (atoi(v) != pid)
		return lp_fail(ctx, -ESRCH,
			       "%d is a thread of process %s: give the process id", pid, v);
	proc = calloc(1, sizeof(*proc));
	if (!proc)
		return -ENOMEM;
	proc->ctx = ctx;
	proc->pid = pid;
	proc->mem_fd = -1;
	if (start_time(pid, &proc->start_time)) {
		err = lp_fail(ctx, -ESRCH, "no such process: %d", pid);
		goto fail;
	}
	snprintf(proc->dir, sizeof(proc->dir), "/proc/%d", pid);
	if (!lp_proc_task_alive(pid, pid)) {
		pid_t *tids;
		size_t n, i;

		if (!lp_proc_tasks(pid, &tids, &n)) {
			for (i = 0; i < n; i++) {
				if (lp_proc_task_alive(pid, tids[i])) {
					snprintf(proc->dir, sizeof(proc->dir), "/proc/%d/task/%d",
						 pid, tids[i]);
					break;
				}
			}
			free(tids);
		}
	}
	if (!full) {
		snprintf(path, sizeof(path), "%s/mem", proc->dir);
		proc->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (proc->mem_fd < 0) {
			err = -errno;
			err = lp_fail(ctx, err == -EACCES ? -EPERM : err == -ENOENT ? -ESRCH : err,
				      "cannot read the memory of process %d: %s", pid,
				      strerror(-err));
			goto fail;
		}
		*out = proc;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/exe", proc->dir);
	err = lp_elf_open_mapped(ctx, path, &exe);
	if (err == -EACCES || err == -EPERM) {
		err = lp_fail(ctx, -EPERM, "not allowed to trace process %d", pid);
		goto fail;
	}
	if (err == -ENOENT) {
		err = lp_fail(ctx, -LP_EARCH, "process %d has no executable (a kernel thread?)", pid);
		goto fail;
	}
	if (err || !lp_elf_is_x86_64(exe)) {
		err = lp_fail(ctx, -LP_EARCH, "process %d is not an x86-64 ELF process", pid);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/mem", proc->dir);
	proc->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (proc->mem_fd < 0) {
		err = -errno;
		if (err == -EACCES || err == -EPERM)
			err = lp_fail(ctx, -EPERM, "not allowed to trace process %d", pid);
		else
			err = lp_fail(ctx, err == -ENOENT ? -ESRCH : err,
				      "cannot open %s: %s", path, strerror(-err));
		goto fail;
	}
	err = read_maps(proc);
	if (err) {
		err = lp_fail(ctx, err, "cannot read the mappings of process %d: %s", pid,
			      lp_strerror(err));
		goto fail;
	}
	{
		char exe_path[PATH_MAX];
		ssize_t n;

		snprintf(path, sizeof(path), "%s/exe", proc->dir);
		n = readlink(path, exe_path, sizeof(exe_path) - 1);
		if (n > 0) {
			exe_path[n] = 0;
			if (n > 10 && !strcmp(exe_path + n - 10, " (deleted)"))
				exe_path[n - 10] = 0;
			rank_modules(proc, exe_path);
		}
	}
	lp_elf_close(exe);
	*out = proc;
	return 0;
fail:
	/* a process on its way out loses its exe, maps and memory first */
	if (err != -ENOMEM && err != -EPERM && proc->start_time && lp_proc_dying(proc))
		err = lp_fail(ctx, -LP_EEXITED, "process %d exited during the operation", pid);
	lp_elf_close(exe);
	lp_proc_close(proc);
	return err;
}

int lp_proc_open(struct lp_ctx *ctx, pid_t pid, struct lp_proc **out)
{
	return proc_open(ctx, pid, true, out);
}

int lp_proc_open_light(struct lp_ctx *ctx, pid_t pid, struct lp_proc **out)
{
	return proc_open(ctx, pid, false, out);
}

void lp_proc_close(struct lp_proc *proc)
{
	size_t i;

	if (!proc)
		return;
	for (i = 0; i < proc->nmods; i++)
		module_free(&proc->mods[i]);
	free(proc->mods);
	if (proc->mem_fd >= 0)
		close(proc->mem_fd);
	free(proc);
}

static int module_relocs(struct lp_module *m)
{
	if (!m->rels_read) {
		int err = lp_elf_dyn_relocs(m->elf, &m->rels, &m->nrels);

		if (err)
			return err;
		m->rels_read = true;
	}
	return 0;
}

/*
 * An ifunc's symbol value is its resolver, which must not run in the
 * target (a stopped thread may hold the locks it needs).  The process has
 * already run it for itself: take the result from a GOT slot, the
 * defining module's own IRELATIVE slot first, else any module's slot bound
 * to the same name.
 */
static int resolve_ifunc(struct lp_proc *proc, struct lp_module *def,
			 const struct lp_sym *sym, uint64_t *addr)
{
	uint64_t resolver = sym->value + def->bias, v;
	size_t i, k;

	if (!module_relocs(def))
		for (k = 0; k < def->nrels; k++) {
			const struct lp_reloc *r = &def->rels[k];

			if (r->type == R_X86_64_IRELATIVE &&
			    (uint64_t)r->addend + def->bias == resolver &&
			    !lp_proc_read(proc, r->offset + def->bias, &v, 8) &&
			    v >= def->text_lo && v < def->text_hi && v != resolver) {
				*addr = v;
				return 0;
			}
		}
	for (i = 0; i < proc->nmods; i++) {
		struct lp_module *m = &proc->mods[i];

		if (module_relocs(m))
			continue;
		for (k = 0; k < m->nrels; k++) {
			const struct lp_reloc *r = &m->rels[k];

			if ((r->type == R_X86_64_GLOB_DAT || r->type == R_X86_64_JUMP_SLOT) &&
			    r->sym && !strcmp(r->sym, sym->name) &&
			    !lp_proc_read(proc, r->offset + m->bias, &v, 8) &&
			    v >= def->text_lo && v < def->text_hi && v != resolver) {
				*addr = v;
				return 0;
			}
		}
	}
	return lp_fail(proc->ctx, -LP_ENOSYM,
		       "%s is an ifunc that process %d has not resolved yet", sym->name,
		       proc->pid);
}

static int bind(struct lp_proc *proc, struct lp_module *m,
		const struct lp_sym *sym, uint64_t *addr)
{
	if (sym->is_ifunc)
		return resolve_ifunc(proc, m, sym, addr);
	*addr = sym->value + m->bias;
	return 0;
}

int lp_proc_resolve(struct lp_proc *proc, const struct lp_module *first,
		    const char *name, uint64_t *addr)
{
	struct lp_module *best = NULL, *tm;
	struct lp_sym sym, best_sym;
	size_t i;
	int err;

	/* 1. exported symbols, in the dynamic linker's order */
	for (i = 0; i < proc->nmods; i++) {
		struct lp_module *m = &proc->mods[i];

		if (!strcmp(m->path, "[vdso]") || (best && best->rank <= m->rank))
			continue;
		if (!lp_elf_find_dynamic(m->elf, name, &sym)) {
			best = m;
			best_sym = sym;
		}
	}
	if (best)
		return bind(proc, best, &best_sym, addr);
	/* 2. the patch's own module: its non-exported functions and data
	 * (static ones too when the name is unique there) */
	if (first) {
		tm = &proc->mods[first - proc->mods];
		err = lp_elf_find_symbol(tm->elf, name, &sym);
		if (err == -ENOTUNIQ)
			return lp_fail(proc->ctx, -LP_ENOSYM,
				       "%s is defined more than once in %s (static in several files): say which with LIVEPATCH_SYMBOL",
				       name, tm->path);
		if (!err)
			return bind(proc, tm, &sym, addr);
	}
	/* 3. the executable's global symbols (a program need not export them) */
	for (i = 0; i < proc->nmods; i++)
		if (proc->mods[i].rank == 0 &&
		    !lp_elf_find_global(proc->mods[i].elf, name, &sym))
			return bind(proc, &proc->mods[i], &sym, addr);
	if (first && !lp_elf_has_symtab(first->elf))
		return lp_fail(proc->ctx, -LP_ENOSYM,
			       "symbol %s not found in process %d (%s is stripped: its static symbols cannot be found)",
			       name, proc->pid, first->path);
	return lp_fail(proc->ctx, -LP_ENOSYM, "symbol %s not found in process %d",
		       name, proc->pid);
}

/*
 * A thread-local variable: the module defining it (exported, in the
 * dynamic linker's order, else a symbol of @first), its TLS module id and
 * the variable's offset in that module's TLS block.  The executable's id
 * is 1; a library's is read from a GOT slot that the dynamic linker filled
 * with it for the library's own thread-local variables.
 */
int lp_proc_resolve_tls(struct lp_proc *proc, const struct lp_module *first,
			const char *name, struct lp_module **mod, uint64_t *modid,
			uint64_t *offset)
{
	struct lp_module *best = NULL;
	struct lp_sym sym, best_sym;
	size_t i;

	for (i = 0; i < proc->nmods; i++) {
		struct lp_module *m = &proc->mods[i];

		if (!strcmp(m->path, "[vdso]") || (best && best->rank <= m->rank))
			continue;
		if (!lp_elf_find_dynamic(m->elf, name, &sym) && sym.is_tls) {
			best = m;
			best_sym = sym;
		}
	}
	if (!best && first && !lp_elf_find_symbol(first->elf, name, &sym) && sym.is_tls) {
		best = &proc->mods[first - proc->mods];
		best_sym = sym;
	}
	if (!best)
		return lp_fail(proc->ctx, -LP_ENOSYM,
			       "thread-local variable %s not found in process %d", name,
			       proc->pid);
	*mod = best;
	*offset = best_sym.value;
	if (best->rank == 0) {
		*modid = 1;
		return 0;
	}
	if (!module_relocs(best)) {
		for (i = 0; i < best->nrels; i++) {
			uint64_t v;

			if (best->rels[i].type != R_X86_64_DTPMOD64 ||
			    (best->rels[i].sym && !best->rels[i].sym_defined))
				continue;
			if (!lp_proc_read(proc, best->rels[i].offset + best->bias, &v, 8) && v) {
				*modid = v;
				return 0;
			}
		}
	}
	return lp_fail(proc->ctx, -LP_ERELOC,
		       "cannot find the TLS module id of %s for thread-local variable %s: a patch can use the thread-local variables of a library that accesses its own through __tls_get_addr (built -fPIC), and those of the executable",
		       best->path, name);
}

int lp_proc_find_syscall_insn(struct lp_proc *proc, uint64_t *addr)
{
	size_t i;

	/* The vDSO is the same in every process and never unmapped; libc's
	 * text is the fallback. */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < proc->nmods; i++) {
			struct lp_module *m = &proc->mods[i];
			const struct lp_segment *segs;
			size_t nsegs, s, size;
			const uint8_t *img = lp_elf_image(m->elf, &size);

			if ((pass == 0) != !strcmp(m->path, "[vdso]"))
				continue;
			nsegs = lp_elf_segments(m->elf, &segs);
			for (s = 0; s < nsegs; s++) {
				uint64_t k;

				if (!(segs[s].flags & PF_X))
					continue;
				for (k = 0; k + 1 < segs[s].filesz; k++) {
					const uint8_t *b = img + segs[s].offset + k;

					if (b[0] == 0x0f && b[1] == 0x05) {
						uint8_t live[2];

						*addr = segs[s].vaddr + k + m->bias;
						/* the file must match memory */
						if (!lp_proc_read(proc, *addr, live, 2) &&
						    live[0] == 0x0f && live[1] == 0x05)
							return 0;
					}
				}
			}
		}
	}
	return lp_fail(proc->ctx, -ENOENT, "no syscall instruction found in process %d",
		       proc->pid);
}
