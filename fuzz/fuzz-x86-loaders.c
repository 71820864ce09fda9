// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the x86 kernel loaders' parsing (x86/bzimage.c,
 * x86/elf.c): the input is a kernel file. Its first bytes go through
 * bzimage_parse() and, when it takes them, the zero page and initrd
 * placement; and through the ELF/PVH probe, which reads the PT_NOTE
 * segments from the input at the offsets the headers give, then the
 * layout check against a RAM size taken from the input, the entry note
 * walk and the start info page. Any crash or sanitizer report is a bug.
 */
#include <string.h>

#include "lkvm/bzimage.h"
#include "lkvm/kvm.h"
#include "lkvm/x86-elf.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

struct file {
	const u8 *data;
	size_t size;
};

/* pvh_read_fn over the input; past its end reads come up short. */
static s64 file_read(void *ctx, void *buf, u64 len, u64 off)
{
	const struct file *f = ctx;

	if (off >= f->size)
		return 0;
	len = min(len, (u64)(f->size - off));
	memcpy(buf, f->data + off, len);
	return len;
}

static void bzimage(const u8 *data, size_t size, u64 file_size)
{
	static u8 zp[ZP_SIZE];
	struct e820_entry e820[4] = {
		{ 0, 0x9fc00, 1 }, { 0x100000, 0x7f00000, 1 },
		{ 0xfee00000, 0x1000, 2 }, { 0x100000000ULL, 0x40000000, 1 },
	};
	struct zero_page_args a = {
		.cmdline_addr = 0x20000, .initrd_addr = 0x4000000,
		.initrd_size = 0x100000, .e820 = e820, .nr_e820 = 4,
	};
	const char *err = NULL;
	struct bzimage bz;
	u64 addr;

	if (bzimage_parse(data, size, file_size, &bz, &err)) {
		if (!err)
			__builtin_trap();	/* a refusal always says why */
		return;
	}
	/* What the parse accepted, the loader uses as is. */
	if (bz.hdr_end > size || bz.hdr_end > BZ_HEADER_MAX_END ||
	    bz.setup_size > file_size)
		__builtin_trap();
	bzimage_fill_zero_page(zp, data, &bz, &a);
	bzimage_place_initrd(&bz, 0x8000000, 0x1000000 + bz.init_size,
			     file_size & 0xffffff, &addr);
}

static void pvh(const u8 *data, size_t size, u64 ram_top)
{
	static u8 page[PVH_INFO_PAGE];
	struct file f = { data, size };
	struct e820_entry e820[2] = { { 0, 0x9fc00, 1 }, { 0x100000, 0x7f00000, 1 } };
	struct pvh_boot_args a = {
		.info_addr = 0x6000, .cmdline_addr = 0x20000, .initrd_addr = 0x4000000,
		.initrd_size = size, .e820 = e820, .nr_e820 = 2,
	};
	const char *err = NULL;
	struct pvh_kernel k;
	size_t hlen = min(size, (size_t)KVM_KERNEL_PROBE_LEN);
	unsigned int i;
	u32 entry;

	if (!elf_is_elf(data, hlen))
		return;
	if (pvh_probe(data, hlen, size, file_read, &f, &k, &err)) {
		if (!err)
			__builtin_trap();
		return;
	}
	for (i = 0; i < k.nr_note; i++)
		if (k.note[i].offset <= size && k.note[i].filesz <= size - k.note[i].offset)
			pvh_find_entry(data + k.note[i].offset, k.note[i].filesz,
				       k.is64, &entry, &err);
	if (pvh_check_layout(&k, 0x100000, ram_top, &err))
		return;
	pvh_fill_start_info(page, &a);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	/* The last 4 bytes, when there are enough, vary the RAM and file size. */
	u32 knob = size >= 8 ? get_le32(data + size - 4) : 0;

	bzimage(data, size, size);
	bzimage(data, size, size + (knob & 0xffff));
	pvh(data, size, 0x200000 + ((u64)knob << 12));
	return 0;
}
