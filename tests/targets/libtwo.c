/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * f2 of two.c in a shared library: two.c built with -DF2_LIB calls this
 * one (built with -shared -fPIC and the pad flags), so that one patch can
 * replace a function of the executable (f1) and one of a library (f2).
 */

#if defined(__GNUC__) && !defined(__clang__)
/* No clones: the callers must reach the symbol the patch replaces. */
#define TWO_NOIPA __attribute__((noipa))
#else
#define TWO_NOIPA
#endif

int f2(int x);

/* A side effect, so that calls cannot be hoisted out of the loops. */
volatile unsigned long f2_calls;

__attribute__((noinline)) TWO_NOIPA int f2(int x)
{
	f2_calls++;
	return x + 2;
}
