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

/*
 * The LAPIC timer's interrupt: count it in this vCPU's status (the LAPIC
 * ID is the vCPU index) and signal end of interrupt.  The LAPIC is at its
 * reset address, 0xfee00000, identity-mapped like all of the low 4 GiB.
 */
	.text
	.globl	timer_isr
timer_isr:
	pushq	%rax
	pushq	%rdx
	movabsq	$0xfee00020, %rax
	movl	(%rax), %edx
	shrl	$24, %edx
	imulq	$64, %rdx
	lock incq 0x6000 + 40(%rdx)
	movabsq	$0xfee000b0, %rax
	movl	$0, (%rax)
	popq	%rdx
	popq	%rax
	iretq

/* A spurious interrupt needs no end of interrupt. */
	.globl	spurious_isr
spurious_isr:
	iretq

	.section .note.GNU-stack, "", @progbits
