/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Library of statics.c: a thread-local variable of a shared library. */
__thread int tls_lib = 7;

__attribute__((noinline)) int lib_get(void)
{
	return tls_lib;
}
