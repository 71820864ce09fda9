/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 Image header (Documentation/arch/arm64/booting.rst) and entry: x0
 * holds the device tree's address, the MMU is off, DAIF masked. The
 * interrupts stay masked: the guest polls the GIC after WFI, so it needs
 * no vector table.
 */
	.section .head, "ax"
	.globl _start
_start:
	b	entry			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	_end - _start		/* image_size: bss and stack included */
	.quad	0x2			/* flags: little endian, 4 KiB pages */
	.quad	0, 0, 0
	.ascii	"ARM\x64"		/* magic */
	.long	0

entry:
	ldr	x1, =stack_top
	mov	sp, x1
	/* Zero the bss (the loader copies only the file). */
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	bl	guest_main
3:	wfi
	b	3b

	.bss
	.balign	16
	.space	16384
stack_top:
