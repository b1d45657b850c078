/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A seed of the fuzzer (tests/fuzz/seeds.sh): one patch with every part a
 * patch file can have, built against two modules (the unit test fixtures
 * padded.elf and libpadded.so): two .livepatch.info entries, two
 * .livepatch.replace entries, a .livepatch.symbols entry, a call to an
 * original function and references to the target's data and to libc.
 */
#include <livepatch/patch.h>

extern int lp_fix_data;
int getpid(void); /* of libc */

/* the second static lp_fix_dup(), of padded-dup.c */
int other_dup(int x);
LIVEPATCH_SYMBOL(other_dup, "padded-dup.c", "lp_fix_dup");

int LIVEPATCH_ORIGINAL(lp_fix_global)(int x);

static int lp_fix_global_fuzz(int x)
{
	return LIVEPATCH_ORIGINAL(lp_fix_global)(x) + other_dup(x) + lp_fix_data;
}

static int lp_lib_func_fuzz(int x)
{
	return x * 23 + getpid();
}

LIVEPATCH_REPLACE(lp_fix_global, lp_fix_global_fuzz);
LIVEPATCH_REPLACE(lp_lib_func, lp_lib_func_fuzz);
