/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The second file of statics.c: another "static int count". */
#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA
#endif

static int count = 100;

__attribute__((noinline)) NOIPA int b_count(void)
{
	return count;
}

/* keeps count a variable (never written, it would become a constant) */
__attribute__((noinline)) NOIPA void b_reset(void)
{
	count = 100;
}
