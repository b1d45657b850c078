/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pad decoding and jump encoding (src/lib/decode.c) on byte fixtures.
 *
 * A fixture is the 14 bytes before a function symbol followed by the bytes
 * from the symbol on.  One positive case per row of the compiler table
 * (gcc, gcc -fcf-protection, clang, clang -fcf-protection), pads made of
 * multi-byte NOPs, then everything that must not pass for a pad: real
 * instructions, NOPs crossing the symbol or the entry, our own jumps.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unit.h"

/* A string literal as (bytes, length). */
#define B(s) (const uint8_t *)(s), sizeof(s) - 1

#define NOP1x14 "\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90"
#define ENDBR64 "\xf3\x0f\x1e\xfa"
#define NOP3 "\x0f\x1f\x00"
#define NOP4 "\x0f\x1f\x40\x00"
#define NOP5 "\x0f\x1f\x44\x00\x00"
#define NOP6 "\x66\x0f\x1f\x44\x00\x00"
#define NOP7 "\x0f\x1f\x80\x00\x00\x00\x00"
#define NOP10 "\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00"
#define NOP11 "\x66\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00"
#define PAD_JUMP "\xff\x25\x00\x00\x00\x00\x88\x77\x66\x55\x44\x33\x22\x11"
/* lea (%rdi,%rdi,2),%eax; ret: the body after the entry */
#define BODY "\x8d\x04\x7f\xc3"

/* nop_ends of the two entry forms: 90 90 and 66 90 */
#define ENDS_90_90 0x7u
#define ENDS_66_90 0x5u

struct pad_case {
	const char *name;
	const uint8_t *pad;
	size_t pad_len;
	const uint8_t *fn; /* from the symbol: [endbr64] entry [body] */
	size_t fn_len;
	int want;
	unsigned int entry_off;
	unsigned int nop_ends;
};

static const struct pad_case good_cases[] = {
	/* the compiler table */
	{ "gcc", B(NOP1x14), B("\x90\x90" BODY), 0, 0, ENDS_90_90 },
	{ "gcc -fcf-protection", B(NOP1x14), B(ENDBR64 "\x90\x90" BODY), 0, 4, ENDS_90_90 },
	{ "clang", B(NOP1x14), B("\x66\x90" BODY), 0, 0, ENDS_66_90 },
	{ "clang -fcf-protection", B(NOP1x14), B(ENDBR64 "\x66\x90" BODY), 0, 4, ENDS_66_90 },
	/* pads of multi-byte NOPs */
	{ "pad 10+4", B(NOP10 NOP4), B("\x90\x90" BODY), 0, 0, ENDS_90_90 },
	{ "pad 7+7", B(NOP7 NOP7), B("\x66\x90" BODY), 0, 0, ENDS_66_90 },
	{ "pad 6+6+2", B(NOP6 NOP6 "\x66\x90"), B("\x90\x90" BODY), 0, 0, ENDS_90_90 },
	{ "pad 3+3+3+3+2", B(NOP3 NOP3 NOP3 NOP3 "\x66\x90"), B(ENDBR64 "\x90\x90" BODY), 0, 4, ENDS_90_90 },
	{ "pad 7+6+1", B(NOP7 NOP6 "\x90"), B(ENDBR64 "\x66\x90" BODY), 0, 4, ENDS_66_90 },
	{ "pad 10+3+1", B(NOP10 NOP3 "\x90"), B("\x66\x90" BODY), 0, 0, ENDS_66_90 },
	{ "pad 1+5+6+2", B("\x90" NOP5 NOP6 "\x66\x90"), B("\x90\x90" BODY), 0, 0, ENDS_90_90 },
	{ "pad 11+3", B(NOP11 NOP3), B("\x90\x90" BODY), 0, 0, ENDS_90_90 },
	{ "pad 2x7", B("\x66\x90\x66\x90\x66\x90\x66\x90\x66\x90\x66\x90\x66\x90"), B("\x66\x90" BODY), 0, 0, ENDS_66_90 },
	/* nothing after the entry: the minimum length */
	{ "gcc -fcf-protection, minimum length", B(NOP1x14), B(ENDBR64 "\x90\x90"), 0, 4, ENDS_90_90 },
};

static const struct pad_case bad_cases[] = {
	/* the entry is a real instruction */
	{ "entry push %rbp", B(NOP1x14), B("\x55\x48\x89\xe5\x90\x90"), -LP_ENOPAD, 0, 0 },
	{ "entry mov %rsp,%rbp", B(NOP1x14), B("\x48\x89\xe5\x90\x90\x90"), -LP_ENOPAD, 0, 0 },
	{ "entry lea", B(NOP1x14), B(BODY "\x90\x90"), -LP_ENOPAD, 0, 0 },
	{ "entry int3", B(NOP1x14), B("\xcc\xcc" BODY), -LP_ENOPAD, 0, 0 },
	{ "entry ret", B(NOP1x14), B("\xc3\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "entry pause", B(NOP1x14), B("\xf3\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "entry xchg %eax,%eax", B(NOP1x14), B("\x87\xc0" BODY), -LP_ENOPAD, 0, 0 },
	{ "entry nop then push", B(NOP1x14), B("\x90\x55" BODY), -LP_ENOPAD, 0, 0 },
	{ "endbr64 then push", B(NOP1x14), B(ENDBR64 "\x55\x48\x89\xe5"), -LP_ENOPAD, 4, 0 },
	{ "endbr64 then one nop", B(NOP1x14), B(ENDBR64 "\x90\xc3"), -LP_ENOPAD, 4, 0 },
	{ "two endbr64", B(NOP1x14), B(ENDBR64 ENDBR64 "\x90\x90"), -LP_ENOPAD, 4, 0 },
	/* entry NOPs that do not end at 2 bytes */
	{ "entry nopl (3 bytes)", B(NOP1x14), B(NOP3 BODY), -LP_ENOPAD, 0, 0 },
	{ "entry nopl (4 bytes)", B(NOP1x14), B(NOP4 BODY), -LP_ENOPAD, 0, 0 },
	{ "endbr64 then nopl (3 bytes)", B(NOP1x14), B(ENDBR64 NOP3 BODY), -LP_ENOPAD, 4, 0 },
	{ "entry 66 66 90", B(NOP1x14), B("\x66\x66\x90" BODY), -LP_ENOPAD, 0, 0 },
	/* pad NOPs crossing the symbol */
	{ "pad nopl (3 bytes) at 13", B("\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x0f"),
	  B("\x1f\x00" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad nopw (6 bytes) at 10", B("\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x66\x0f\x1f\x44"),
	  B("\x00\x00" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad 66 prefix at 13", B("\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x66"),
	  B("\x90\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad 66 66 90 from 13", B("\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x66"),
	  B("\x66\x90" BODY), -LP_ENOPAD, 0, 0 },
	/* the pad holds code */
	{ "pad is the end of a function", B("\x90\x90\x90\x90\x90\x90\x90\x90\x8d\x04\x7f\xc3\x66\x90"),
	  B("\x90\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad of int3", B("\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc"),
	  B("\x90\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad of zeros", B("\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), B("\x90\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad of pause", B("\xf3\x90\xf3\x90\xf3\x90\xf3\x90\xf3\x90\xf3\x90\xf3\x90"),
	  B("\x90\x90" BODY), -LP_ENOPAD, 0, 0 },
	/* half of our jumps, or jumps that are not ours */
	{ "pad jump, entry nops", B(PAD_JUMP), B("\x90\x90" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad nops, entry jump", B(NOP1x14), B("\xeb\xf0" BODY), -LP_ENOPAD, 0, 0 },
	{ "pad nops, endbr64 entry jump", B(NOP1x14), B(ENDBR64 "\xeb\xec" BODY), -LP_ENOPAD, 4, 0 },
	{ "entry jump to the wrong place", B(PAD_JUMP), B("\xeb\xee" BODY), -LP_ENOPAD, 0, 0 },
	{ "entry jump for endbr64, no endbr64", B(PAD_JUMP), B("\xeb\xec" BODY), -LP_ENOPAD, 0, 0 },
	{ "endbr64, entry jump without it", B(PAD_JUMP), B(ENDBR64 "\xeb\xf0" BODY), -LP_ENOPAD, 4, 0 },
	{ "pad jump with a displacement",
	  B("\xff\x25\x01\x00\x00\x00\x88\x77\x66\x55\x44\x33\x22\x11"), B("\xeb\xf0" BODY),
	  -LP_ENOPAD, 0, 0 },
	{ "pad call instead of jump", B("\xff\x15\x00\x00\x00\x00\x88\x77\x66\x55\x44\x33\x22\x11"),
	  B("\xeb\xf0" BODY), -LP_ENOPAD, 0, 0 },
	/* our jumps */
	{ "patched", B(PAD_JUMP), B("\xeb\xf0" BODY), -LP_EPATCHED, 0, 0 },
	{ "patched, endbr64", B(PAD_JUMP), B(ENDBR64 "\xeb\xec" BODY), -LP_EPATCHED, 4, 0 },
	{ "patched, minimum length", B(PAD_JUMP), B(ENDBR64 "\xeb\xec"), -LP_EPATCHED, 4, 0 },
};

/* pad + fn in a buffer of exactly that size */
static uint8_t *case_bytes(const struct pad_case *c, size_t *len)
{
	uint8_t *buf;

	ck_assert_msg(c->pad_len == LP_PAD_LEN, "%s: fixture pad is %zu bytes",
		      c->name, c->pad_len);
	*len = c->pad_len + c->fn_len;
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, c->pad, c->pad_len);
	memcpy(buf + c->pad_len, c->fn, c->fn_len);
	return buf;
}

static void run_case(const struct pad_case *c)
{
	struct lp_entry e = { 99, 0xdead };
	const char *why = "unset";
	size_t len;
	uint8_t *buf = case_bytes(c, &len);
	int err;

	ck_assert_uint_ge(len, LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN);
	err = lp_decode_pad(buf, len, &e, &why);
	ck_assert_msg(err == c->want, "%s: lp_decode_pad returned %d (%s), want %d",
		      c->name, err, why ? why : "no reason", c->want);
	ck_assert_msg(e.entry_off == c->entry_off, "%s: entry_off %u, want %u",
		      c->name, e.entry_off, c->entry_off);
	if (c->want == 0) {
		ck_assert_msg(why == NULL, "%s: why set on success: %s", c->name, why);
		ck_assert_msg(e.nop_ends == c->nop_ends, "%s: nop_ends %#x, want %#x",
			      c->name, e.nop_ends, c->nop_ends);
		/* the reason is optional */
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(lp_decode_pad(buf, len, &e, NULL), 0);
		ck_assert_uint_eq(e.entry_off, c->entry_off);
		ck_assert_uint_eq(e.nop_ends, c->nop_ends);
	} else {
		ck_assert_msg(why != NULL && *why, "%s: no reason given", c->name);
		ck_assert_int_eq(lp_decode_pad(buf, len, &e, NULL), c->want);
	}
	free(buf);
}

START_TEST(test_pad_good)
{
	run_case(&good_cases[_i]);
}
END_TEST

START_TEST(test_pad_bad)
{
	run_case(&bad_cases[_i]);
}
END_TEST

/* One byte of a gcc pad (14 single-byte NOPs) replaced by an instruction
 * that is not a NOP, at each offset. */
START_TEST(test_pad_bad_byte)
{
	static const uint8_t bad[] = { 0xc3, 0xcc, 0x55, 0x00, 0xff };
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(bad); i++) {
		uint8_t code[LP_PAD_LEN + 6] = { 0 };
		struct lp_entry e;
		const char *why = NULL;
		uint8_t *buf;
		int err;

		memset(code, 0x90, LP_PAD_LEN);
		memcpy(code + LP_PAD_LEN, "\x90\x90" BODY, 6);
		code[_i] = bad[i];
		buf = unit_dup(code, sizeof(code));
		err = lp_decode_pad(buf, sizeof(code), &e, &why);
		ck_assert_msg(err == -LP_ENOPAD, "byte %#x at %d: %d, want -LP_ENOPAD",
			      bad[i], _i, err);
		ck_assert_ptr_nonnull(why);
		free(buf);
	}
}
END_TEST

/* Too few bytes: an error, and no byte read past the end. */
START_TEST(test_pad_short)
{
	uint8_t code[LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN];
	struct lp_entry e;
	const char *why = NULL;
	size_t len = (size_t)_i;
	uint8_t *buf;
	int err;

	memset(code, 0x90, sizeof(code));
	buf = unit_dup(code, len);
	err = lp_decode_pad(buf, len, &e, &why);
	ck_assert_msg(err < 0 && err != -LP_EPATCHED, "length %zu: returned %d", len, err);
	ck_assert_ptr_nonnull(why);
	free(buf);
	/* one byte more than the longest short buffer is enough */
	buf = unit_dup(code, sizeof(code));
	ck_assert_int_eq(lp_decode_pad(buf, sizeof(code), &e, &why), 0);
	ck_assert_uint_eq(e.nop_ends, 0x7);
	free(buf);
}
END_TEST

START_TEST(test_encode_pad_jump)
{
	static const struct {
		uint64_t target;
		const char *bytes;
	} cases[] = {
		{ 0x1122334455667788ULL, "\xff\x25\x00\x00\x00\x00\x88\x77\x66\x55\x44\x33\x22\x11" },
		{ 0, "\xff\x25\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" },
		{ 0x00007f0012345678ULL, "\xff\x25\x00\x00\x00\x00\x78\x56\x34\x12\x00\x7f\x00\x00" },
		{ UINT64_MAX, "\xff\x25\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff" },
	};
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(cases); i++) {
		uint8_t out[LP_PAD_LEN + 2];

		memset(out, 0xa5, sizeof(out));
		lp_encode_pad_jump(out, cases[i].target);
		ck_assert_mem_eq(out, cases[i].bytes, LP_PAD_LEN);
		/* nothing written past the pad */
		ck_assert_uint_eq(out[LP_PAD_LEN], 0xa5);
		ck_assert_uint_eq(out[LP_PAD_LEN + 1], 0xa5);
		/* jmp *0(%rip) is one 6-byte instruction */
		ck_assert_int_eq(lp_decode_insn_len(out, LP_PAD_LEN), 6);
	}
}
END_TEST

START_TEST(test_encode_entry_jump)
{
	uint8_t out[LP_ENTRY_LEN + 1];
	unsigned int off;

	memset(out, 0xa5, sizeof(out));
	lp_encode_entry_jump(out, 0);
	ck_assert_mem_eq(out, "\xeb\xf0", 2);
	ck_assert_uint_eq(out[2], 0xa5);
	lp_encode_entry_jump(out, LP_ENDBR_LEN);
	ck_assert_mem_eq(out, "\xeb\xec", 2);
	ck_assert_uint_eq(out[2], 0xa5);
	for (off = 0; off <= LP_ENDBR_LEN; off += LP_ENDBR_LEN) {
		/* from the end of the jump at symbol+off back to symbol-14 */
		long from = (long)off + LP_ENTRY_LEN;

		lp_encode_entry_jump(out, off);
		ck_assert_int_eq(lp_decode_insn_len(out, LP_ENTRY_LEN), 2);
		ck_assert_int_eq(from + (int8_t)out[1], -LP_PAD_LEN);
	}
}
END_TEST

/* What the encoders write is what the decoder calls patched. */
START_TEST(test_encode_is_patched)
{
	static const uint64_t targets[] = { 0, 0x7f0012345678ULL, UINT64_MAX };
	size_t t;
	int cet;

	for (t = 0; t < LP_ARRAY_SIZE(targets); t++) {
		for (cet = 0; cet < 2; cet++) {
			uint8_t code[LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN + 4];
			unsigned int off = cet ? LP_ENDBR_LEN : 0;
			struct lp_entry e = { 99, 0 };
			const char *why = NULL;
			uint8_t *buf;

			/* start from a valid pad, then patch it */
			memset(code, 0x90, sizeof(code));
			if (cet)
				memcpy(code + LP_PAD_LEN, ENDBR64, LP_ENDBR_LEN);
			memcpy(code + LP_PAD_LEN + off + LP_ENTRY_LEN, BODY, 4);
			buf = unit_dup(code, sizeof(code));
			ck_assert_int_eq(lp_decode_pad(buf, sizeof(code), &e, &why), 0);
			ck_assert_uint_eq(e.entry_off, off);
			lp_encode_pad_jump(buf, targets[t]);
			lp_encode_entry_jump(buf + LP_PAD_LEN + off, e.entry_off);
			ck_assert_int_eq(lp_decode_pad(buf, sizeof(code), &e, &why),
					 -LP_EPATCHED);
			ck_assert_uint_eq(e.entry_off, off);
			ck_assert_ptr_nonnull(why);
			free(buf);
		}
	}
}
END_TEST

START_TEST(test_insn_len)
{
	static const struct {
		const char *name;
		const uint8_t *code;
		size_t len;
		int want;
	} cases[] = {
		{ "nop", B("\x90"), 1 },
		{ "push %rbp", B("\x55"), 1 },
		{ "ret", B("\xc3"), 1 },
		{ "xchg %ax,%ax", B("\x66\x90"), 2 },
		{ "mov %rsp,%rbp", B("\x48\x89\xe5"), 3 },
		{ "nopl (%rax)", B(NOP3), 3 },
		{ "endbr64", B(ENDBR64), 4 },
		{ "call rel32", B("\xe8\x00\x00\x00\x00"), 5 },
		{ "nopw 0(%rax,%rax)", B(NOP6), 6 },
		{ "jmp *0(%rip)", B("\xff\x25\x00\x00\x00\x00"), 6 },
		{ "nopl 0(%rax)", B(NOP7), 7 },
		{ "movabs $imm64,%rax", B("\x48\xb8\x01\x02\x03\x04\x05\x06\x07\x08"), 10 },
		{ "nopw %cs:0(%rax,%rax)", B(NOP10), 10 },
		{ "first of two", B("\x48\x89\xe5\x55"), 3 },
		{ "ud2", B("\x0f\x0b"), 2 },
		{ "jmp rel8", B("\xeb\xf0"), 2 },
		/* cut short, or not an instruction in 64-bit mode */
		{ "mov cut short", B("\x48\x89"), -1 },
		{ "call cut short", B("\xe8\x00\x00"), -1 },
		{ "push %es", B("\x06"), -1 },
		{ "lone prefix", B("\x66"), -1 },
		{ "empty", (const uint8_t *)"\x90", 0, -1 },
	};
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(cases); i++) {
		uint8_t *buf = unit_dup(cases[i].code, cases[i].len);
		int n = lp_decode_insn_len(buf, cases[i].len);

		ck_assert_msg(n == cases[i].want, "%s: length %d, want %d",
			      cases[i].name, n, cases[i].want);
		free(buf);
	}
}
END_TEST

Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc;

	tc = tcase_create("pad");
	tcase_add_loop_test(tc, test_pad_good, 0, (int)LP_ARRAY_SIZE(good_cases));
	tcase_add_loop_test(tc, test_pad_bad, 0, (int)LP_ARRAY_SIZE(bad_cases));
	tcase_add_loop_test(tc, test_pad_bad_byte, 0, LP_PAD_LEN);
	tcase_add_loop_test(tc, test_pad_short, 0,
			    LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, test_encode_pad_jump);
	tcase_add_test(tc, test_encode_entry_jump);
	tcase_add_test(tc, test_encode_is_patched);
	tcase_add_test(tc, test_insn_len);
	suite_add_tcase(s, tc);
	return s;
}
