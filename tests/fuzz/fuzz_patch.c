/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness of the patch file reader: lp_patch_open()
 * (src/lib/patch.c) on top of the ELF reader (src/lib/elf.c, libelf), then
 * every accessor of the patch it returns, then lp_patch_close().
 *
 * Each input is written to a file and opened with lp_patch_open(), the
 * entry point of "livepatch info", so the whole path from open() to the
 * structural checks is covered.  Most changes to a patch break its
 * checksum, which lp_patch_open() checks before anything else: the input
 * is then sealed (the checksum recomputed, as lp_patch_seal() does) and
 * opened a second time, with lp_patch_open_fd() as "livepatch apply"
 * does, so that the checks behind the checksum see the damage too.
 *
 * Besides the sanitizers, the harness checks what callers rely on: a
 * refusal returns a negative error, no patch, and a message; an accepted
 * patch has a 16-digit id, at least one function and one target, and
 * every accessor answers in range (and refuses out of range).  A broken
 * rule aborts, which libFuzzer reports as a crash with the input.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by "make fuzz" and
 * make check (tests/integration/fuzz.sh); see README.md, "Fuzzing".
 * FUZZ_PATCH_STATS=1 in the environment prints at exit how many inputs
 * were opened, and how many were accepted.  FUZZ_PATCH_STRICT=1 adds a
 * rule that does not hold yet: the message of a refusal, and the names an
 * accepted patch gives, hold no control character (a newline would break
 * the one-line error of the livepatch command).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lp_ctx *ctx;
static char dir[4096], path[4096 + 32];
static unsigned long n_open, n_ok, n_sealed, n_sealed_ok;
static int strict;

#define require(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_patch: broken rule: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

static void at_exit(void)
{
	/* (not in the parent of libFuzzer's -fork mode, which runs none) */
	if (getenv("FUZZ_PATCH_STATS") && n_open)
		fprintf(stderr, "fuzz_patch: %lu opened, %lu accepted; %lu sealed, %lu accepted\n",
			n_open, n_ok, n_sealed, n_sealed_ok);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (lp_ctx_new(&ctx)) {
		fprintf(stderr, "fuzz_patch: out of memory\n");
		exit(1);
	}
	snprintf(dir, sizeof(dir), "%s/fuzz_patch.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "fuzz_patch: cannot make a directory %s: %s\n", dir,
			strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/input.lpatch", dir);
	strict = getenv("FUZZ_PATCH_STRICT") && atoi(getenv("FUZZ_PATCH_STRICT"));
	atexit(at_exit);
	return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0) {
		fprintf(stderr, "fuzz_patch: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			fprintf(stderr, "fuzz_patch: cannot write %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
		done += (size_t)n;
	}
	close(fd);
}

static int is_hex(const char *s)
{
	return *s && strspn(s, "0123456789abcdef") == strlen(s);
}

/* No control character (strict mode only). */
static int printable(const char *s)
{
	if (!strict)
		return 1;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Every accessor, in range and just out of it. */
static void walk(struct lp_patch *p)
{
	const char *a, *b, *c;
	size_t i, n;

	require(strlen(lp_patch_id(p)) == 16 && is_hex(lp_patch_id(p)), "id %s",
		lp_patch_id(p));

	n = lp_patch_ntargets(p);
	require(n >= 1 && n <= 64, "%zu targets", n);
	require(is_hex(lp_patch_target_build_id(p)), "build-id");
	require(*lp_patch_target_name(p), "target name");
	for (i = 0; i < n; i++) {
		a = b = NULL;
		require(lp_patch_target(p, i, &a, &b) == 0, "target %zu", i);
		require(a && is_hex(a) && b && *b && !strchr(b, '/'), "target %zu", i);
	}
	require(lp_patch_target(p, n, &a, &b) == -EINVAL, "target %zu of %zu", n, n);
	require(lp_patch_target(p, (size_t)-1, NULL, NULL) == -EINVAL, "target -1");

	n = lp_patch_nfuncs(p);
	require(n >= 1, "no function");
	for (i = 0; i < n; i++) {
		a = lp_patch_func_old(p, i);
		b = lp_patch_func_new(p, i);
		/* the replacement's symbol may have no name: "" */
		require(a && *a && b, "function %zu", i);
		require(printable(a) && printable(b), "function %zu: names", i);
		require(strlen(a) < 256, "function %zu: name of %zu bytes", i, strlen(a));
		require(lp_elf_in_exec_segment(p->elf, p->funcs[i].new_vaddr),
			"function %zu: replacement outside the code", i);
	}
	require(!lp_patch_func_old(p, n) && !lp_patch_func_new(p, n), "function %zu", n);
	require(!lp_patch_func_old(p, (size_t)-1), "function -1");

	n = lp_patch_nrefs(p);
	for (i = 0; i < n; i++) {
		a = lp_patch_ref(p, i);
		require(a && printable(a), "ref %zu", i);
	}
	require(!lp_patch_ref(p, n), "ref %zu of %zu", n, n);

	n = lp_patch_nsymbols(p);
	for (i = 0; i < n; i++) {
		a = b = c = NULL;
		require(lp_patch_symbol(p, i, &a, &b, &c) == 0, "symbol %zu", i);
		require(a && *a && b && *b && c && *c, "symbol %zu", i);
		require(printable(a) && printable(b) && printable(c), "symbol %zu: names", i);
		require(lp_patch_sym_of(p, a) == &p->syms[i], "symbol %zu: alias %s", i, a);
	}
	require(lp_patch_symbol(p, n, &a, &b, &c) == -EINVAL, "symbol %zu of %zu", n, n);
	require(lp_patch_symbol(p, n, NULL, NULL, NULL) == -EINVAL, "symbol %zu", n);
}

/* By path, or (@by_fd) as "livepatch apply" does: lp_patch_open_fd(). */
static int open_one(int by_fd)
{
	struct lp_patch *p = NULL;
	int err, fd = -1;

	ctx->err[0] = 0;
	if (by_fd) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "fuzz_patch: cannot open %s: %s\n", path, strerror(errno));
			exit(1);
		}
		err = lp_patch_open_fd(ctx, fd, "input.lpatch", &p);
		close(fd);
	} else {
		err = lp_patch_open(ctx, path, &p);
	}
	if (err) {
		require(err < 0, "returned %d", err);
		require(!p, "a patch returned with error %d", err);
		require(err == -LP_EBADPATCH || err == -LP_ERELOC || err == -ENOMEM,
			"unexpected error %d (%s)", err, ctx->err);
		require(err == -ENOMEM || ctx->err[0], "no message for error %d", err);
		require(printable(ctx->err), "message: %s", ctx->err);
		return err;
	}
	require(p, "no patch returned");
	walk(p);
	lp_patch_close(p);
	return 0;
}

/*
 * Seal the input in memory: the offset of .livepatch.info as
 * lp_patch_open() finds it, and the checksum as lp_patch_seal() writes
 * it.  0 if there is nothing to seal, or it is sealed already.
 */
static int seal(const uint8_t *data, size_t size, uint8_t **out)
{
	struct lp_elf *elf = NULL;
	const uint8_t *info;
	size_t info_size;
	uint64_t off, sum;
	uint8_t *copy;
	static const uint8_t zero[8];

	*out = NULL;
	if (lp_elf_open_mem(ctx, data, size, "input", &elf))
		return 0;
	info = lp_elf_section(elf, LP_INFO_SECTION, &info_size, NULL, &off);
	lp_elf_close(elf);
	if (!info || info_size < LP_INFO_SIZE)
		return 0;
	/* the same sum as image_checksum() in patch.c */
	off += LP_INFO_OFF_CSUM;
	sum = lp_fnv1a64(LP_FNV_INIT, data, off);
	sum = lp_fnv1a64(sum, zero, 8);
	sum = lp_fnv1a64(sum, data + off + 8, size - off - 8);
	if (!memcmp(&sum, data + off, 8))
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memcpy(copy + off, &sum, 8);
	*out = copy;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *sealed;

	write_input(data, size);
	n_open++;
	if (!open_one(0))
		n_ok++;
	if (seal(data, size, &sealed)) {
		write_input(sealed, size);
		free(sealed);
		n_sealed++;
		if (!open_one(1))
			n_sealed_ok++;
	}
	return 0;
}
