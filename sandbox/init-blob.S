/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sandbox's guest init (sandbox/init.c, built static for lkvm's own
 * architecture; the Makefile names the file in SANDBOX_INIT_BIN) inside lkvm.
 */
	.section .rodata
	.balign 16
	.globl sandbox_init_start
	.globl sandbox_init_end
sandbox_init_start:
	.incbin SANDBOX_INIT_BIN
sandbox_init_end:
	.section .note.GNU-stack,"",%progbits
