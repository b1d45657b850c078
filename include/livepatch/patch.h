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

/*
 * Call the original of a target function: its code as the target was
 * built, past the entry bytes a patch changes, so the call never comes
 * back to a replacement.  Declare it once with the function's prototype,
 * then call it like a function:
 *
 *     int LIVEPATCH_ORIGINAL(parse)(const char *req, size_t len);
 *
 *     static int parse_checked(const char *req, size_t len)
 *     {
 *             if (len > MAX_REQUEST)
 *                     return -1;
 *             return LIVEPATCH_ORIGINAL(parse)(req, len);
 *     }
 *     LIVEPATCH_REPLACE(parse, parse_checked);
 *
 * It is the target's own version, never an earlier patch's (which a
 * revert could unmap).  The function must have a patchable pad.
 */
#define LIVEPATCH_ORIGINAL(old_symbol) livepatch_original__##old_symbol

/* One entry of the .livepatch.symbols section (read by src/lib/patch.c). */
struct livepatch_symbol {
	const char *alias;   /* the name the patch uses */
	const char *file;    /* source file of the target that defines it */
	const char *symbol;  /* its name in the target's symbol table */
};

/*
 * Use a symbol of the target that is not exported (a static variable or
 * function, or a function-local static) by its name in the target's
 * symbol table, when that name alone is ambiguous: it is defined in
 * several source files, and @file (as the compiler was given it, or its
 * last components, e.g. "server.c" or "src/net/server.c") says which.
 * Declare the alias as usual, then map it:
 *
 *     extern unsigned long requests_net;
 *     LIVEPATCH_SYMBOL(requests_net, "net.c", "requests");
 *
 *     extern int hits_0;                          // static int hits; in
 *     LIVEPATCH_SYMBOL(hits_0, "cache.c", "hits.0"); // a function of cache.c
 *
 * A name the target defines only once needs no macro: declare it extern
 * under its own name.  The target must not be stripped.
 */
#define LIVEPATCH_SYMBOL(alias_name, file_name, symbol_name)                  \
	static const struct livepatch_symbol                                  \
	LIVEPATCH__CAT(livepatch__symbol_, __LINE__)                          \
	__attribute__((used, section(".livepatch.symbols"), aligned(8))) = {  \
		#alias_name, file_name, symbol_name                           \
	}

#endif /* LIVEPATCH_PATCH_H */
