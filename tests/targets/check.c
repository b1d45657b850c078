/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target program of tests/integration/check.sh (livepatch check): one
 * function of each kind the check tells apart.  Built with
 * tests/targets/check-asm.S, -O2 and the pad flags.
 *
 *   plain_a, plain_b, checked, main, ifunc_impl   ordinary, padded
 *   nopad          no pad: patchable_function_entry(0, 0)
 *   pick_ifunc     an ifunc (its resolver is resolve_pick)
 *   scale          static, called with the constant k = 7 from several
 *                  places: gcc makes scale.constprop.0
 *   checked        its unlikely branch goes to checked.cold
 *   total          static, reads one field of the struct it is given: gcc
 *                  makes total.isra.0
 *   asm_add, asm_local, asm_badpad   in check-asm.S (hand-written)
 *
 * Usage: check [once]: prints "ready" and then calls all of them every
 * 10 ms until it is killed; with "once", calls them once and exits.
 * plain_a(1) returns 2; a patch makes it return something else, which
 * the loop prints once as "plain_a VALUE".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile unsigned int sink;
static volatile int input = 1;

__attribute__((noinline)) int plain_a(int x)
{
	sink++;
	return x + 1;
}

__attribute__((noinline)) int plain_b(int x)
{
	sink++;
	return x * 2;
}

__attribute__((noinline, patchable_function_entry(0, 0))) int nopad(int x)
{
	sink++;
	return x - 1;
}

static __attribute__((noinline)) int scale(int x, int k)
{
	int r = 0;

	for (int i = 0; i < k; i++)
		r += x * i + input;
	return r;
}

static __attribute__((cold, noinline)) void complain(int x)
{
	fprintf(stderr, "checked: negative %d\n", x);
	abort();
}

__attribute__((noinline)) int checked(int x)
{
	if (__builtin_expect(x < 0, 0)) {
		complain(x);
		sink--;
	}
	sink++;
	return x + 3;
}

struct big {
	int a, b, c, d;
	char name[64];
};

static __attribute__((noinline)) int total(const struct big *p)
{
	sink++;
	return p->b * 3;
}

static int ifunc_impl(int x)
{
	sink++;
	return x + 5;
}

/* used: clang sees no call of the resolver */
static __attribute__((used)) int (*resolve_pick(void))(int)
{
	return ifunc_impl;
}

int pick_ifunc(int x) __attribute__((ifunc("resolve_pick")));

int asm_add(int a, int b);
int asm_badpad(int a);

static int round_of_calls(void)
{
	struct big b;
	int v = input;

	memset(&b, 0, sizeof(b));
	b.b = input;
	v += scale(v, 7);
	v += scale(v + 1, 7);
	v += scale(v + 2, 7);
	v &= 0xffff; /* checked() aborts on a negative number */
	v += plain_b(v) + nopad(v) + checked(v) + total(&b) + pick_ifunc(v);
	v += asm_add(v, 1) + asm_badpad(v);
	return v;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int last = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "once")) {
		printf("%d %d\n", round_of_calls(), plain_a(input));
		return 0;
	}
	printf("ready\n");
	for (;;) {
		int v = plain_a(input);

		if (v != last) {
			printf("plain_a %d\n", v);
			last = v;
		}
		sink += (unsigned int)round_of_calls();
		nanosleep(&ts, NULL);
	}
}
