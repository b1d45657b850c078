/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Our time slice (src/lib/stop.c): an operation takes short slices and
 * gives the caller's back, whatever the caller had (the kernel's default
 * or a slice of its own), on every path.  On a kernel without slices for
 * SCHED_OTHER threads (before 6.12) nothing may change.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "internal.h"
#include "livepatch/livepatch.h"
#include "unit.h"

static struct sched_attr_v0 get_attr(void)
{
	struct sched_attr_v0 a;

	memset(&a, 0, sizeof(a));
	ck_assert_msg(!syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0), "sched_getattr: %s",
		      strerror(errno));
	return a;
}

static void set_runtime(uint64_t ns)
{
	struct sched_attr_v0 a = get_attr();

	a.size = sizeof(a);
	a.sched_flags = 0;
	a.sched_runtime = ns;
	ck_assert_msg(!syscall(SYS_sched_setattr, 0, &a, 0), "sched_setattr: %s", strerror(errno));
}

/* Does this kernel give SCHED_OTHER threads a slice of their own? */
static bool has_slices(void)
{
	return get_attr().sched_runtime != 0;
}

START_TEST(test_slice_default)
{
	struct sched_attr_v0 before, during, after;
	uint64_t was;

	set_runtime(0); /* the kernel's default */
	before = get_attr();
	was = lp_slice_shorten(unit_ctx);
	during = get_attr();
	lp_slice_restore(was);
	after = get_attr();
	if (!has_slices()) {
		ck_assert_uint_eq(was, 0);
		ck_assert_uint_eq(during.sched_runtime, before.sched_runtime);
		return;
	}
	ck_assert_uint_eq(was, before.sched_runtime);
	ck_assert_uint_eq(during.sched_runtime, 100000);
	ck_assert_uint_eq(during.sched_policy, before.sched_policy);
	ck_assert_int_eq(during.sched_nice, before.sched_nice);
	ck_assert_uint_eq(after.sched_runtime, before.sched_runtime);
	ck_assert_uint_eq(after.sched_policy, before.sched_policy);
	ck_assert_int_eq(after.sched_nice, before.sched_nice);
}
END_TEST

/* A caller's own slice comes back as it was, even one that is not the
 * default's value. */
START_TEST(test_slice_custom)
{
	uint64_t was;

	if (!has_slices())
		return;
	set_runtime(3000000);
	ck_assert_uint_eq(get_attr().sched_runtime, 3000000);
	was = lp_slice_shorten(unit_ctx);
	ck_assert_uint_eq(was, 3000000);
	ck_assert_uint_eq(get_attr().sched_runtime, 100000);
	lp_slice_restore(was);
	ck_assert_uint_eq(get_attr().sched_runtime, 3000000);
	/* one as short as ours already: nothing to do */
	set_runtime(100000);
	ck_assert_uint_eq(lp_slice_shorten(unit_ctx), 0);
	ck_assert_uint_eq(get_attr().sched_runtime, 100000);
	set_runtime(0);
}
END_TEST

/*
 * SCHED_IDLE: a slice means nothing there; left alone.  (In a child: a
 * thread without privileges may not go back from SCHED_IDLE.)
 */
START_TEST(test_slice_idle)
{
	struct sched_param p = { .sched_priority = 0 };
	pid_t child;
	int status;

	child = fork();
	ck_assert_int_ge(child, 0);
	if (!child) {
		struct sched_attr_v0 before;

		if (sched_setscheduler(0, SCHED_IDLE, &p))
			_exit(2);
		before = get_attr();
		if (lp_slice_shorten(unit_ctx) != 0)
			_exit(3);
		if (get_attr().sched_policy != SCHED_IDLE || get_attr().sched_runtime != before.sched_runtime)
			_exit(4);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "at SCHED_IDLE: status %#x (2: SCHED_IDLE refused, 3: a slice was set, 4: the attributes changed)",
		      status);
}
END_TEST

/* The public calls give the caller's slice back on their error paths. */
START_TEST(test_slice_after_errors)
{
	struct lp_apply_result res;
	uint64_t mine = has_slices() ? 2000000 : 0;
	pid_t gone;
	int status;

	gone = fork();
	ck_assert_int_ge(gone, 0);
	if (!gone)
		_exit(0);
	ck_assert_int_eq(waitpid(gone, &status, 0), gone);
	set_runtime(mine);
	ck_assert_int_lt(lp_revert(unit_ctx, gone, "0123456789abcdef", NULL, &res), 0);
	ck_assert_int_lt(lp_cleanup(unit_ctx, gone, NULL), 0);
	ck_assert_uint_eq(get_attr().sched_runtime, mine);
	set_runtime(0);
}
END_TEST

Suite *sched_suite(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("slice");

	tcase_add_checked_fixture(tc, unit_setup_ctx, unit_teardown_ctx);
	tcase_add_test(tc, test_slice_default);
	tcase_add_test(tc, test_slice_custom);
	tcase_add_test(tc, test_slice_idle);
	tcase_add_test(tc, test_slice_after_errors);
	suite_add_tcase(s, tc);
	return s;
}
