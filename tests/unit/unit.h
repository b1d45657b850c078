/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests: suite constructors and helpers shared by the test files. */
#ifndef LP_UNIT_H
#define LP_UNIT_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

Suite *decode_suite(void);
Suite *elf_suite(void);
Suite *patch_suite(void);
Suite *journal_suite(void);
Suite *sched_suite(void);

/* A context per test (checked fixture: in the test's process). */
extern struct lp_ctx *unit_ctx;
void unit_setup_ctx(void);
void unit_teardown_ctx(void);
/* A temporary directory per test case (unchecked fixture: in the runner,
 * so that it is removed even when a test fails). */
extern char *unit_tmp;
void unit_setup_tmp(void);
void unit_teardown_tmp(void);

/* Path of a fixture built by make (FIXTURE_DIR) into @buf. */
const char *unit_fixture(char *buf, size_t len, const char *name);
/* Is the fixture an empty placeholder (a clang fixture without clang)? */
int unit_fixture_missing(const char *name);
/* A new temporary directory (free with unit_rmdir). */
char *unit_mkdtemp(void);
/* Remove the files in @dir, then @dir, and free it. */
void unit_rmdir(char *dir);
/* Whole file into a malloc'd buffer (at least 1 byte allocated). */
uint8_t *unit_read_file(const char *path, size_t *len);
void unit_write_file(const char *path, const void *buf, size_t len);
/* A malloc'd copy of @len bytes, exactly @len long, so that the sanitizer
 * catches any read past the end. */
uint8_t *unit_dup(const void *buf, size_t len);

#endif /* LP_UNIT_H */
