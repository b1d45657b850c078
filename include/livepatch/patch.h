/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Macros for patch authors.  A patch is a C file compiled by
 * livepatch-build against one target module (an executable or a shared
 * library):
 *
 *     #include <livepatch/patch.h>
 *
 *     static int c_to_f_fixed(int c) { return c * 9 / 5 + 32; }
 *     LIVEPATCH_REPLACE(c_to_f, c_to_f_fixed);
 *
 * One LIVEPATCH_REPLACE line per function the patch replaces; a patch may
 * replace several, and they all change in the same instant.  The
 * replacement must have the same prototype as the old function.  It may
 * call the target's exported functions and libc (declare them as usual);
 * they are resolved against the running process when the patch is applied.
 */
#ifndef LIVEPATCH_PATCH_H
#define LIVEPATCH_PATCH_H

/* One entry of the .livepatch.replace section; the layout is read by
 * liblivepatch (src/lib/patch.c), so keep it in step with it. */
struct livepatch_replace {
	const char *old_name;
	void *new_func;
};

#define LIVEPATCH__CAT2(a, b) a##b
#define LIVEPATCH__CAT(a, b) LIVEPATCH__CAT2(a, b)

/*
 * Replace the target's function old_symbol (a name in the target module's
 * symbol table) by new_function (a function of the patch).
 */
#define LIVEPATCH_REPLACE(old_symbol, new_function)                          \
	static const struct livepatch_replace                                 \
	LIVEPATCH__CAT(livepatch__replace_, __LINE__)                         \
	__attribute__((used, section(".livepatch.replace"), aligned(8))) = {  \
		#old_symbol, (void *)&new_function                            \
	}

#endif /* LIVEPATCH_PATCH_H */
