/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The function the integration tests patch.  Built on its own (with
 * -shared -fPIC and the pad flags) it is the shared library the USE_LIB
 * variant of hot.c calls into; otherwise hot.c includes this file so the
 * function lives in the executable.
 *
 * Compile-time switches used by the refusal tests:
 *   -DDIFFERENT       change the code (and so the build-id) of the target
 *   -DANSWER_NO_PAD   give answer() no patchable entry even though the rest
 *                     of the program is built with the pad flags
 */

#if defined(__GNUC__) && !defined(__clang__)
/* Keep gcc from cloning answer() (constant propagation and the like):
 * the callers must reach the symbol the patch replaces. */
#define ANSWER_NOIPA __attribute__((noipa))
#else
#define ANSWER_NOIPA
#endif

#ifdef ANSWER_NO_PAD
#define ANSWER_PAD __attribute__((patchable_function_entry(0, 0)))
#else
#define ANSWER_PAD
#endif

int answer(int x);

/* A side effect, so that calls cannot be hoisted out of the loops. */
volatile unsigned long answer_calls;

__attribute__((noinline)) ANSWER_NOIPA ANSWER_PAD int answer(int x)
{
	answer_calls++;
#ifdef DIFFERENT
	answer_calls += 2;
#endif
	return x * 2;
}
