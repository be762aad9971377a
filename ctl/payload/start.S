/* SPDX-License-Identifier: GPL-2.0 */
/* Payload entry: the VMM already set up 64-bit mode, stack and arguments. */
	.section .text.start, "ax"
	.globl _start
_start:
	cld
	call	payload_main
1:	cli
	hlt
	jmp	1b
	.section .note.GNU-stack, "", @progbits
