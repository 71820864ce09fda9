/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sandbox's guest init (sandbox/init.c, built static for lkvm's own
 * architecture; the Makefile names the file in SANDBOX_INIT_BIN) inside lkvm.
 *
 * It is most of lkvm's read-only data and only `lkvm sandbox` reads it, so
 * it gets 64 KiB windows of its own: a read fault on a file mapping also
 * maps the cached pages of the 64 KiB around it (fault-around), and with
 * other data beside the blob every `lkvm run` would carry blob pages in
 * its resident set.
 */
	.section .rodata.sandbox_init, "a"
	.balign 65536
	.globl sandbox_init_start
	.globl sandbox_init_end
sandbox_init_start:
	.incbin SANDBOX_INIT_BIN
sandbox_init_end:
	.balign 65536
	.section .note.GNU-stack,"",%progbits
