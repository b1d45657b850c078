/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of liblivepatch, with the Check framework.  Runs every suite
 * and exits 1 if any test failed.  CK_RUN_SUITE, CK_RUN_CASE, CK_FORK and
 * CK_VERBOSITY select and show tests as usual with Check.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livepatch/livepatch.h"
#include "unit.h"

const char *unit_fixture(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", FIXTURE_DIR, name);

	ck_assert_msg(n > 0 && (size_t)n < len, "fixture path too long: %s", name);
	return buf;
}

int unit_fixture_missing(const char *name)
{
	char path[4096];
	struct stat st;

	unit_fixture(path, sizeof(path), name);
	ck_assert_msg(!stat(path, &st), "fixture %s is missing: run make check",
		      path);
	return st.st_size == 0;
}

char *unit_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	ck_assert_int_gt(asprintf(&dir, "%s/lp-unit.XXXXXX", tmp), 0);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

void unit_rmdir(char *dir)
{
	DIR *d;
	struct dirent *de;

	if (!dir)
		return;
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			char *p;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
				continue;
			if (unlink(p) && errno == EISDIR)
				rmdir(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

uint8_t *unit_read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	ck_assert_ptr_nonnull(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		ck_assert_msg(n > 0, "read %s: %s", path, strerror(errno));
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

void unit_write_file(const char *path, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		ck_assert_msg(n > 0, "write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	ck_assert_int_eq(close(fd), 0);
}

uint8_t *unit_dup(const void *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	if (len)
		memcpy(p, buf, len);
	return p;
}

struct lp_ctx *unit_ctx;
char *unit_tmp;

void unit_setup_ctx(void)
{
	ck_assert_int_eq(lp_ctx_new(&unit_ctx), 0);
}

void unit_teardown_ctx(void)
{
	lp_ctx_free(unit_ctx);
	unit_ctx = NULL;
}

void unit_setup_tmp(void)
{
	unit_tmp = unit_mkdtemp();
}

void unit_teardown_tmp(void)
{
	unit_rmdir(unit_tmp);
	unit_tmp = NULL;
}

int main(void)
{
	SRunner *sr = srunner_create(decode_suite());
	int failed;

	srunner_add_suite(sr, elf_suite());
	srunner_add_suite(sr, patch_suite());
	srunner_add_suite(sr, journal_suite());
	srunner_add_suite(sr, sched_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
