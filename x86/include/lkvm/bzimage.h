/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BZIMAGE_H
#define LKVM_BZIMAGE_H

#include "lkvm/kvm-arch.h"
#include "lkvm/util.h"

/*
 * The parts of the Linux x86 boot protocol (Documentation/arch/x86/boot.rst)
 * lkvm uses. Offsets are into the bzImage file and into the zero page
 * (struct boot_params), which share the setup header layout.
 */
#define BZ_SETUP_SECTS		0x1f1
#define BZ_BOOT_FLAG		0x1fe
#define BZ_JUMP			0x200
#define BZ_HEADER		0x202
#define BZ_VERSION		0x206
#define BZ_TYPE_OF_LOADER	0x210
#define BZ_LOADFLAGS		0x211
#define BZ_RAMDISK_IMAGE	0x218
#define BZ_RAMDISK_SIZE		0x21c
#define BZ_CMD_LINE_PTR		0x228
#define BZ_INITRD_ADDR_MAX	0x22c
#define BZ_KERNEL_ALIGNMENT	0x230
#define BZ_RELOCATABLE		0x234
#define BZ_XLOADFLAGS		0x236
#define BZ_CMDLINE_SIZE		0x238
#define BZ_PREF_ADDRESS		0x258
#define BZ_INIT_SIZE		0x260
#define BZ_MIN_HEADER_LEN	0x264	/* through init_size */
#define BZ_HEADER_MAX_END	0x290	/* end of struct setup_header */

/* zero page only */
#define ZP_ACPI_RSDP_ADDR	0x070
#define ZP_EXT_RAMDISK_IMAGE	0x0c0
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_E820_TABLE		0x2d0
#define ZP_E820_MAX		128
#define ZP_SIZE			0x1000

#define BZ_MAGIC		0x53726448	/* "HdrS" */
#define BZ_LOADED_HIGH		0x01
#define BZ_XLF_KERNEL_64	0x01
#define BZ_MIN_VERSION		0x020c
#define BZ_ENTRY64_OFFSET	0x200

struct bzimage {
	u16 version;
	u32 setup_size;		/* bytes before the protected-mode kernel */
	u64 kernel_size;	/* protected-mode kernel bytes in the file */
	u32 init_size;		/* memory the kernel needs from its load address */
	u32 initrd_addr_max;
	u32 cmdline_max;	/* longest command line, without the NUL */
	u32 hdr_end;		/* setup header bytes [0x1f1, hdr_end) go to the zero page */
};

/*
 * Validate the setup header in @buf (the first @len bytes of a file of
 * @file_size bytes). On failure returns -1 and sets *@err to a phrase that
 * completes "the kernel ... ", e.g. "is not a bzImage (no HdrS magic)".
 */
int bzimage_parse(const u8 *buf, size_t len, u64 file_size, struct bzimage *bz,
		  const char **err);

struct zero_page_args {
	u64 cmdline_addr;
	u64 initrd_addr;
	u64 initrd_size;
	u64 rsdp_addr;
	const struct e820_entry *e820;
	unsigned int nr_e820;
};

/* Fill @zp (ZP_SIZE bytes) from the kernel's setup header @hdr and @a. */
void bzimage_fill_zero_page(u8 *zp, const u8 *hdr, const struct bzimage *bz,
			    const struct zero_page_args *a);

/*
 * Where to put an initrd of @size bytes: the highest page-aligned address
 * below both @ram_top and the kernel's initrd_addr_max and above
 * @kernel_end. Returns 0 and the address, or -1 when it does not fit.
 */
int bzimage_place_initrd(const struct bzimage *bz, u64 ram_top, u64 kernel_end,
			 u64 size, u64 *addr);

struct guest_mem;
/* The e820 map of @mem (low memory holes reserved); returns the count. */
unsigned int x86_build_e820(const struct guest_mem *mem, struct e820_entry *e820,
			    unsigned int max);

#endif
