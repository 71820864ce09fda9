/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry code of the test guest payload, linked at LOAD_ADDR.
 *
 *   LOAD_ADDR + 0x000  32-bit entry (paging off, ESI = zero page), used by
 *                      BIOS-based loaders; builds an identity map of the
 *                      first 4 GiB and switches to long mode.
 *   LOAD_ADDR + 0x200  64-bit entry of the boot protocol (what lkvm uses):
 *                      long mode, identity map from the loader, RSI = zero
 *                      page.  The loader's page tables are kept.
 *
 * Both paths end in guest_main(zero_page, path, cs, ds, ss, rflags), where
 * path is 32 or 64 and cs/ds/ss/rflags are the values found at entry.
 */
#include "boot.h"

#define MSR_EFER	0xc0000080
#define EFER_LME	0x100
#define CR0_PE		0x1
#define CR0_PG		0x80000000
#define CR4_PAE		0x20

/* @count 64-bit page table entries at @table: @first, @first + @step, ... */
.macro fill_entries table, first, step, count
	movl	$\first, %eax
	movl	$\table, %edi
	movl	$\count, %ecx
1:	movl	%eax, (%edi)
	addl	$\step, %eax
	addl	$8, %edi
	loop	1b
.endm

	.section .head.text, "ax"
	.code32
	.globl	startup_32
startup_32:
	cli
	cld
	/* The loader's GDT has flat data at SEL_DATA; lgdt needs a flat DS. */
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	lgdt	boot_gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:

	/* Clear the page tables: PML4, one PDPT, four page directories. */
	movl	$pgt_pml4, %edi
	movl	$(6 * 4096 / 4), %ecx
	xorl	%eax, %eax
	rep stosl

	movl	$(pgt_pdpt + 3), pgt_pml4

	/* The four page directories: present, writable. */
	fill_entries pgt_pdpt, (pgt_pd + 3), 4096, 4
	/* 2048 entries of 2 MiB: present, writable, large page. */
	fill_entries pgt_pd, 0x83, 0x200000, 2048

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pgt_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $from_32

	.code64
	.org	0x200
	.globl	startup_64
startup_64:
	movl	$64, %r12d
	jmp	common_64

from_32:
	movl	$32, %r12d
	movl	%esi, %esi

common_64:
	cli
	cld
	xorl	%r8d, %r8d
	movw	%cs, %r8w
	xorl	%r9d, %r9d
	movw	%ds, %r9w
	xorl	%r10d, %r10d
	movw	%ss, %r10w
	movq	$stack_top, %rsp
	pushfq
	popq	%r11

	/* Clear .bss (the stack and page tables live outside of it). */
	movq	$__bss_start, %rdi
	movq	$__bss_qwords, %rcx
	xorl	%eax, %eax
	rep stosq

	/* Switch to our own GDT so that the selectors are known. */
	lgdt	boot_gdt_ptr
	pushq	$SEL_CODE64
	pushq	$4f
	lretq
4:	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	movq	%rsi, %rdi
	movl	%r12d, %esi
	movl	%r8d, %edx
	movl	%r9d, %ecx
	movl	%r10d, %r8d
	movq	%r11, %r9
	call	guest_main
	jmp	fail_stop

/*
 * End the VM the hard way: with an IDT of limit 0 the breakpoint cannot be
 * delivered, nor can the #GP and #DF that follow, so the CPU shuts down.
 */
	.globl	fail_stop
fail_stop:
	cli
	lidt	null_idt_ptr
	int3
5:	hlt
	jmp	5b

/*
 * Interrupt and exception stubs, ISR_STUB_SIZE bytes apart.  Each pushes a
 * zero error code when the CPU does not push one, then the vector number.
 */
	.altmacro
	.macro	isr_stub v
	.balign	ISR_STUB_SIZE
	.if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq	$0
	.endif
	pushq	$\v
	jmp	isr_common
	.endm

	.balign	ISR_STUB_SIZE
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	IDT_VECTORS
	isr_stub %vec
	.set	vec, vec + 1
	.endr
	.noaltmacro

/* Frame layout must match struct trap_frame in guest.h. */
isr_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	%rsp, %rdi
	cld
	call	trap
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	iretq

	.section .rodata
	.balign	16
	.globl	boot_gdt, boot_gdt_limit
boot_gdt:
	.quad	0
	.quad	0
	.quad	0x00cf9a000000ffff	/* SEL_CODE32: flat 32-bit code */
	.quad	0x00cf92000000ffff	/* SEL_DATA: flat data */
	.quad	0x00af9a000000ffff	/* SEL_CODE64: 64-bit code */
boot_gdt_end:
	.set	boot_gdt_limit, boot_gdt_end - boot_gdt - 1

	/* Read as limit + 32-bit base in 32-bit mode, + 64-bit base in long mode. */
	.balign	8
boot_gdt_ptr:
	.word	boot_gdt_end - boot_gdt - 1
	.quad	boot_gdt

	.balign	8
null_idt_ptr:
	.word	0
	.quad	0

	.section .stack, "aw", @nobits
	.balign	16
	.skip	STACK_SIZE
stack_top:

	.section .pgtable, "aw", @nobits
	.balign	4096
pgt_pml4:
	.skip	4096
pgt_pdpt:
	.skip	4096
pgt_pd:
	.skip	4 * 4096
