/* SPDX-License-Identifier: GPL-2.0 */
/* The built-in payloads' flat image (build/payload/payload.bin), linked in. */
	.section .rodata
	.balign 16
	.globl payload_image
	.globl payload_image_end
payload_image:
	.incbin "payload.bin"
payload_image_end:
	.section .note.GNU-stack, "", @progbits
