/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real-mode part of test.bzImage: the boot sector, the setup header and,
 * for BIOS-based loaders (QEMU's -kernel), a small 16-bit stub.
 *
 * lkvm never runs any of this code: it reads the setup header, loads the
 * payload at LOAD_ADDR and enters it at LOAD_ADDR + 0x200 in long mode.
 *
 * A BIOS-based loader copies these setup sectors to a real-mode segment
 * and jumps to offset 0x200 of it.  The stub then uses the first 4 KiB of
 * that copy as the zero page: the file keeps it zeroed except for the
 * setup header, and the stub adds the BIOS memory map before switching to
 * protected mode and jumping to the 32-bit entry with ESI = zero page.
 * The stub therefore lives above offset 0x1000.
 */
#include "boot.h"

	.section .header, "ax"
	.code16

	/* The boot sector area is part of the zero page: keep it zero. */
	.org	0x1f1
hdr:
	.byte	SETUP_SECTS		/* 0x1f1 setup_sects */
	.word	0			/* 0x1f2 root_flags */
	.long	__syssize		/* 0x1f4 syssize, in 16-byte units */
	.word	0			/* 0x1f8 ram_size (obsolete) */
	.word	0xffff			/* 0x1fa vid_mode: "normal" */
	.word	0			/* 0x1fc root_dev */
	.word	0xaa55			/* 0x1fe boot_flag */

	/*
	 * 0x200: entry of the real-mode setup code.  The displacement of
	 * this short jump also gives the end of the header (0x202 + disp).
	 */
	.byte	0xeb, hdr_end - hdr_magic
hdr_magic:
	.ascii	"HdrS"			/* 0x202 header */
	.word	0x020f			/* 0x206 version 2.15 */
	.long	0			/* 0x208 realmode_swtch */
	.word	0x1000			/* 0x20c start_sys_seg (obsolete) */
	.word	kernel_version - 0x200	/* 0x20e kernel_version */
	.byte	0			/* 0x210 type_of_loader */
	.byte	0x01			/* 0x211 loadflags: LOADED_HIGH */
	.word	0			/* 0x212 setup_move_size */
	.long	LOAD_ADDR		/* 0x214 code32_start */
	.long	0			/* 0x218 ramdisk_image */
	.long	0			/* 0x21c ramdisk_size */
	.long	0			/* 0x220 bootsect_kludge */
	.word	0			/* 0x224 heap_end_ptr */
	.byte	0			/* 0x226 ext_loader_ver */
	.byte	0			/* 0x227 ext_loader_type */
	.long	0			/* 0x228 cmd_line_ptr */
	.long	0x7fffffff		/* 0x22c initrd_addr_max */
	.long	0x200000		/* 0x230 kernel_alignment */
	.byte	0			/* 0x234 relocatable_kernel: no */
	.byte	12			/* 0x235 min_alignment (log2) */
	.word	0x0001			/* 0x236 xloadflags: XLF_KERNEL_64 */
	.long	4095			/* 0x238 cmdline_size */
	.long	0			/* 0x23c hardware_subarch */
	.quad	0			/* 0x240 hardware_subarch_data */
	.long	0			/* 0x248 payload_offset */
	.long	0			/* 0x24c payload_length */
	.quad	0			/* 0x250 setup_data */
	.quad	LOAD_ADDR		/* 0x258 pref_address */
	.long	__init_size		/* 0x260 init_size */
	.long	0			/* 0x264 handover_offset */
	.long	0			/* 0x268 kernel_info_offset */
hdr_end:
	.org	0x26c			/* fails to assemble if the header grew */
	jmp	bios_entry

	/* Keep the e820 table area (0x2d0..0xcd0) and the rest of the zero page free. */
	.org	0x1000
bios_entry:
	cli
	cld
	movw	%cs, %ax
	subw	$0x20, %ax		/* CS points at offset 0x200 */
	movw	%ax, %ds
	movw	%ax, %es

	/* Ask the BIOS for its memory map, into the zero page. */
	xorl	%ebx, %ebx
	xorw	%bp, %bp
	movw	$0x2d0, %di
1:	movl	$0xe820, %eax
	movl	$0x534d4150, %edx	/* "SMAP" */
	movl	$20, %ecx
	int	$0x15
	jc	2f
	cmpl	$0x534d4150, %eax
	jne	2f
	incw	%bp
	addw	$20, %di
	cmpw	$128, %bp
	jae	2f
	testl	%ebx, %ebx
	jnz	1b
2:	cli
	movw	%bp, %ax
	movb	%al, 0x1e8		/* e820_entries */

	/* Fast A20 gate. */
	inb	$0x92, %al
	orb	$0x02, %al
	andb	$0xfe, %al
	outb	%al, $0x92

	/* ESI = linear address of the zero page. */
	xorl	%esi, %esi
	movw	%ds, %si
	shll	$4, %esi

	lgdtl	gdt_ptr16
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $startup_32

	.balign	8
gdt_ptr16:
	.word	boot_gdt_limit
	.long	boot_gdt

kernel_version:
	.asciz	"lkvm-test-guest"
