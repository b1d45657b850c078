/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hand-written functions of tests/targets/check.c, for livepatch check:
 *   asm_add     global, no pad, no unwind information
 *   asm_local   local, the same
 *   asm_badpad  listed in __patchable_function_entries like a padded
 *               function, but the 14 bytes before it are int3, not NOPs
 */
	.text

	.globl	asm_add
	.type	asm_add, @function
	.p2align 4
asm_add:
	leal	(%rdi,%rsi), %eax
	addl	asm_local_bias(%rip), %eax
	ret
	.size	asm_add, .-asm_add

	.type	asm_local, @function
	.p2align 4
asm_local:
	xorl	%eax, %eax
	ret
	.size	asm_local, .-asm_local

	.p2align 4
.Lbad_pad:
	.fill	14, 1, 0xcc
	.globl	asm_badpad
	.type	asm_badpad, @function
asm_badpad:
	nop
	nop
	leal	1(%rdi), %eax
	ret
	.size	asm_badpad, .-asm_badpad

	.section __patchable_function_entries, "aw", @progbits
	.p2align 3
	.quad	.Lbad_pad

	.data
	.p2align 2
asm_local_bias:
	.long	0

	.section .note.GNU-stack, "", @progbits
