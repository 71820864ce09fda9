// SPDX-License-Identifier: GPL-2.0
/*
 * bzImage header validation and zero page construction. Pure functions on
 * byte buffers, so they are unit-tested against truncated and corrupt images.
 */
#include <string.h>

#include "lkvm/bzimage.h"
#include "lkvm/guest-mem.h"

int bzimage_parse(const u8 *buf, size_t len, u64 file_size, struct bzimage *bz,
		  const char **err)
{
	u32 setup_sects;

	memset(bz, 0, sizeof(*bz));
	if (file_size < BZ_MIN_HEADER_LEN || len < BZ_MIN_HEADER_LEN) {
		*err = file_size ? "is truncated (no complete setup header)" : "is empty";
		return -1;
	}
	if (get_le32(buf + BZ_HEADER) != BZ_MAGIC || get_le16(buf + BZ_BOOT_FLAG) != 0xaa55) {
		*err = "is not a bzImage (no HdrS/0xAA55 setup header)";
		return -1;
	}
	bz->version = get_le16(buf + BZ_VERSION);
	if (bz->version < BZ_MIN_VERSION) {
		*err = "uses boot protocol older than 2.12, which lkvm cannot boot";
		return -1;
	}
	if (!(buf[BZ_LOADFLAGS] & BZ_LOADED_HIGH)) {
		*err = "is a zImage (not loaded high), which lkvm cannot boot";
		return -1;
	}
	if (!(get_le16(buf + BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64)) {
		*err = "has no 64-bit entry point (XLF_KERNEL_64 is clear)";
		return -1;
	}
	setup_sects = buf[BZ_SETUP_SECTS];
	if (!setup_sects)
		setup_sects = 4;
	bz->setup_size = (setup_sects + 1) * 512;
	if (file_size <= bz->setup_size) {
		*err = "is truncated (nothing after the setup sectors)";
		return -1;
	}
	bz->kernel_size = file_size - bz->setup_size;
	bz->init_size = get_le32(buf + BZ_INIT_SIZE);
	bz->initrd_addr_max = get_le32(buf + BZ_INITRD_ADDR_MAX);
	bz->cmdline_max = get_le32(buf + BZ_CMDLINE_SIZE);
	if (!bz->cmdline_max || bz->cmdline_max > X86_CMDLINE_MAX - 1)
		bz->cmdline_max = X86_CMDLINE_MAX - 1;

	/* The header ends where the jump at 0x200 lands; never trust it blindly. */
	bz->hdr_end = BZ_HEADER + buf[BZ_JUMP + 1];
	if (bz->hdr_end > BZ_HEADER_MAX_END)
		bz->hdr_end = BZ_HEADER_MAX_END;
	if (bz->hdr_end < BZ_MIN_HEADER_LEN)
		bz->hdr_end = BZ_MIN_HEADER_LEN;
	/* Nor past the bytes we were given (the rest of the header is absent). */
	if (bz->hdr_end > len)
		bz->hdr_end = len;
	return 0;
}

void bzimage_fill_zero_page(u8 *zp, const u8 *hdr, const struct bzimage *bz,
			    const struct zero_page_args *a)
{
	unsigned int i, n = min(a->nr_e820, (unsigned int)ZP_E820_MAX);

	memset(zp, 0, ZP_SIZE);
	memcpy(zp + BZ_SETUP_SECTS, hdr + BZ_SETUP_SECTS, bz->hdr_end - BZ_SETUP_SECTS);

	zp[BZ_TYPE_OF_LOADER] = 0xff;		/* undefined boot loader */
	put_le32(zp + BZ_CMD_LINE_PTR, (u32)a->cmdline_addr);
	put_le32(zp + ZP_EXT_CMD_LINE_PTR, (u32)(a->cmdline_addr >> 32));
	put_le32(zp + BZ_RAMDISK_IMAGE, (u32)a->initrd_addr);
	put_le32(zp + ZP_EXT_RAMDISK_IMAGE, (u32)(a->initrd_addr >> 32));
	put_le32(zp + BZ_RAMDISK_SIZE, (u32)a->initrd_size);
	put_le32(zp + ZP_EXT_RAMDISK_SIZE, (u32)(a->initrd_size >> 32));
	put_le64(zp + ZP_ACPI_RSDP_ADDR, a->rsdp_addr);

	zp[ZP_E820_ENTRIES] = n;
	for (i = 0; i < n; i++) {
		u8 *e = zp + ZP_E820_TABLE + i * 20;

		put_le64(e, a->e820[i].addr);
		put_le64(e + 8, a->e820[i].size);
		put_le32(e + 16, a->e820[i].type);
	}
}

int bzimage_place_initrd(const struct bzimage *bz, u64 ram_top, u64 kernel_end,
			 u64 size, u64 *addr)
{
	u64 top = ram_top;

	if (bz->initrd_addr_max && (u64)bz->initrd_addr_max + 1 < top)
		top = (u64)bz->initrd_addr_max + 1;
	if (!size || size > top)
		return -1;
	*addr = ALIGN_DOWN(top - size, SZ_4K);
	return *addr >= kernel_end ? 0 : -1;
}

static unsigned int add(struct e820_entry *e, unsigned int n, unsigned int max,
			u64 addr, u64 size, u32 type)
{
	if (n < max && size)
		e[n++] = (struct e820_entry){ addr, size, type };
	return n;
}

unsigned int x86_build_e820(const struct guest_mem *mem, struct e820_entry *e820,
			    unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < mem->nr_banks; i++) {
		const struct guest_bank *b = &mem->banks[i];
		u64 end = b->gpa + b->size;

		if (b->gpa >= X86_KERNEL_ADDR) {
			n = add(e820, n, max, b->gpa, b->size, E820_RAM);
			continue;
		}
		/* Below 1 MiB: RAM up to the EBDA, then the legacy reserved area. */
		n = add(e820, n, max, b->gpa, min(end, X86_EBDA_START) - b->gpa, E820_RAM);
		n = add(e820, n, max, X86_EBDA_START, X86_KERNEL_ADDR - X86_EBDA_START,
			E820_RESERVED);
		if (end > X86_KERNEL_ADDR)
			n = add(e820, n, max, X86_KERNEL_ADDR, end - X86_KERNEL_ADDR,
				E820_RAM);
	}
	return n;
}
