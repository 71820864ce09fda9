/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants shared by the assembly entry code and the C part of the
 * lkvm test guest.
 */
#ifndef LKVMTEST_BOOT_H
#define LKVMTEST_BOOT_H

/* Where the protected-mode payload is linked and loaded. */
#define LOAD_ADDR	0x100000

/* Number of 512-byte setup sectors after the boot sector. */
#define SETUP_SECTS	8

/* Selectors of the guest's own GDT (see head.S). */
#define SEL_CODE32	0x10	/* same value as the boot protocol's __BOOT_CS */
#define SEL_DATA	0x18	/* same value as the boot protocol's __BOOT_DS */
#define SEL_CODE64	0x20

/* The IDT covers exceptions and a few interrupt vectors. */
#define IDT_VECTORS	96
#define ISR_STUB_SIZE	16

#define STACK_SIZE	16384

#endif
