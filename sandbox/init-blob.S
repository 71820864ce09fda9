/* SPDX-License-Identifier: GPL-2.0 */
/* The sandbox's guest init (sandbox/init.c, built static) inside lkvm. */
	.section .rodata
	.balign 16
	.globl sandbox_init_start
	.globl sandbox_init_end
sandbox_init_start:
	.incbin "sandbox/init.bin"
sandbox_init_end:
	.section .note.GNU-stack,"",%progbits
