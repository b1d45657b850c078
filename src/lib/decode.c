/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pad verification and jump encoding.  The only file that uses Zydis.
 *
 * Pads are decoded, not compared byte for byte: toolchains fill them with
 * different NOP forms (90, 66 90, 0f 1f 00, 66 0f 1f 44 00 00, ...), and a
 * function without a pad may still be preceded by alignment NOPs, so both
 * the pad and the entry must be NOPs ending exactly at the right offsets.
 * Covered by tests/unit/test_decode.c (one case per compiler-table row).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "internal.h"

static const uint8_t endbr64[LP_ENDBR_LEN] = { 0xf3, 0x0f, 0x1e, 0xfa };

static int decoder_init(ZydisDecoder *dec)
{
	if (!ZYAN_SUCCESS(ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LONG_64,
					   ZYDIS_STACK_WIDTH_64)))
		return -EINVAL;
	return 0;
}

/* Decode one instruction; its length, or -1. */
static int decode_one(const ZydisDecoder *dec, const uint8_t *code, size_t len,
		      ZydisDecodedInstruction *insn)
{
	if (!len || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL, code,
								len, insn)))
		return -1;
	return insn->length;
}

static bool is_nop(const ZydisDecodedInstruction *insn, const uint8_t *code)
{
	if (insn->mnemonic == ZYDIS_MNEMONIC_NOP)
		return true;
	/* 66 90 is "xchg ax, ax": a no-op (clang's 2-byte entry NOP). */
	return insn->length == 2 && code[0] == 0x66 && code[1] == 0x90;
}

int lp_decode_insn_len(const uint8_t *code, size_t len)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction insn;

	if (decoder_init(&dec))
		return -1;
	return decode_one(&dec, code, len, &insn);
}

/*
 * Decode NOPs from code[0] on, exactly @want bytes of them.  Records in
 * *ends the offsets where each NOP ends.  0 on success, -1 if a non-NOP
 * comes first or a NOP crosses the end.
 */
static int nops_exactly(const ZydisDecoder *dec, const uint8_t *code,
			size_t want, unsigned int *ends)
{
	ZydisDecodedInstruction insn;
	size_t off = 0;

	if (ends)
		*ends = 1u; /* offset 0 is a boundary */
	while (off < want) {
		int n = decode_one(dec, code + off, want - off, &insn);

		if (n <= 0 || !is_nop(&insn, code + off))
			return -1;
		off += (size_t)n;
		if (ends && off < 32)
			*ends |= 1u << off;
	}
	return off == want ? 0 : -1;
}

int lp_decode_pad(const uint8_t *code, size_t len, struct lp_entry *entry,
		  const char **why)
{
	ZydisDecoder dec;
	const uint8_t *fn = code + LP_PAD_LEN;
	unsigned int off = 0;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (len < LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN) {
		*why = "not enough bytes";
		return -EINVAL;
	}
	if (decoder_init(&dec)) {
		*why = "decoder failed";
		return -EINVAL;
	}
	if (!memcmp(fn, endbr64, sizeof(endbr64)))
		off = LP_ENDBR_LEN;
	entry->entry_off = off;
	entry->nop_ends = 0;

	/* Our own jumps: ff 25 00000000 <addr> in the pad, eb xx at the entry. */
	if (code[0] == 0xff && code[1] == 0x25 && !code[2] && !code[3] &&
	    !code[4] && !code[5] && fn[off] == 0xeb &&
	    (int8_t)fn[off + 1] == -(int)(LP_PAD_LEN + off + LP_ENTRY_LEN)) {
		*why = "already patched";
		return -LP_EPATCHED;
	}
	if (nops_exactly(&dec, fn + off, LP_ENTRY_LEN, &entry->nop_ends)) {
		*why = "entry is not 2 bytes of NOPs";
		return -LP_ENOPAD;
	}
	if (nops_exactly(&dec, code, LP_PAD_LEN, NULL)) {
		*why = "the 14 bytes before the entry are not NOPs";
		return -LP_ENOPAD;
	}
	return 0;
}

void lp_encode_pad_jump(uint8_t out[LP_PAD_LEN], uint64_t target)
{
	/* jmp *0(%rip) followed by the 8-byte absolute target */
	out[0] = 0xff;
	out[1] = 0x25;
	memset(out + 2, 0, 4);
	memcpy(out + 6, &target, 8);
}

void lp_encode_entry_jump(uint8_t out[LP_ENTRY_LEN], unsigned int entry_off)
{
	/* jmp rel8 back to the pad start: from f+off+2 to f-14 */
	out[0] = 0xeb;
	out[1] = (uint8_t)(int8_t)-(int)(LP_PAD_LEN + entry_off + LP_ENTRY_LEN);
}
