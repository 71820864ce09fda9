// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 kernel loader. A bzImage boots through the 64-bit boot protocol,
 * with no BIOS: the protected-mode kernel at 1 MiB, the initrd high in low
 * memory, the zero page, the boot GDT and identity page tables for vCPU 0.
 * An ELF kernel goes to the PVH loader (x86/pvh.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/bzimage.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/load.h"
#include "lkvm/x86-elf.h"

/* Top of the RAM bank that starts at 0 (everything the boot protocol uses). */
static u64 low_ram_top(struct kvm *kvm)
{
	return kvm->mem.banks[0].size;
}

/*
 * The protected-mode kernel of the bzImage @f to 1 MiB. @hdr holds the
 * file's first @len bytes; a pipe's whole content is @stream.
 */
static int load_bzimage(struct kvm *kvm, struct load_file *f, struct bzimage *bz,
			const u8 *hdr, s64 len, const u8 *stream)
{
	u64 room = low_ram_top(kvm) - X86_KERNEL_ADDR;
	const char *err;
	u8 *dst;

	if (bzimage_parse(hdr, len, stream ? (u64)len : f->size, bz, &err)) {
		pr_err("kernel '%s' %s", f->path, err);
		return -1;
	}
	if (max((u64)bz->init_size, bz->kernel_size) > room) {
		pr_err("kernel '%s' needs %llu MiB from 1 MiB up; guest memory is too small",
		       f->path, (unsigned long long)(max((u64)bz->init_size,
							 bz->kernel_size) >> 20) + 1);
		return -1;
	}
	dst = guest_ptr(&kvm->mem, X86_KERNEL_ADDR, bz->kernel_size);
	if (!dst)
		return -1;
	if (stream) {
		memcpy(dst, stream + bz->setup_size, bz->kernel_size);
	} else if (pread_full(f->fd, dst, bz->kernel_size, bz->setup_size) !=
		   (ssize_t)bz->kernel_size) {
		pr_err("cannot read kernel '%s': short read", f->path);
		return -1;
	}
	return 0;
}

struct initrd_ctx {
	struct kvm *kvm;
	const struct bzimage *bz;
};

/* As high as the kernel's initrd_addr_max allows, above the kernel. */
static int place_initrd(u64 len, u64 *addr, const char *path, void *arg)
{
	struct initrd_ctx *c = arg;
	u64 top = low_ram_top(c->kvm);
	u64 kernel_end = X86_KERNEL_ADDR + max((u64)c->bz->init_size, c->bz->kernel_size);

	if (!bzimage_place_initrd(c->bz, top, kernel_end, len, addr))
		return 0;
	pr_err("initrd '%s' (%llu MiB) does not fit in guest memory below %s", path,
	       (unsigned long long)len >> 20, c->bz->initrd_addr_max < top ?
	       "the kernel's initrd limit" : "3 GiB with the kernel");
	return -1;
}

static void setup_boot_gdt_and_paging(struct kvm *kvm)
{
	static const u64 gdt[] = {
		0,
		0,
		0x00af9b000000ffffULL,	/* 0x10: 64-bit code, flat */
		0x00cf93000000ffffULL,	/* 0x18: data, flat */
	};
	u64 *pml4 = guest_ptr(&kvm->mem, X86_PML4_ADDR, SZ_4K);
	u64 *pdpt = guest_ptr(&kvm->mem, X86_PDPT_ADDR, SZ_4K);
	u64 *pd = guest_ptr(&kvm->mem, X86_PD_ADDR, 4 * SZ_4K);
	unsigned int i;

	guest_write(&kvm->mem, X86_GDT_ADDR, gdt, sizeof(gdt));
	/* Identity map the first 4 GiB with 2 MiB pages. */
	memset(pml4, 0, SZ_4K);
	memset(pdpt, 0, SZ_4K);
	pml4[0] = X86_PDPT_ADDR | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * SZ_4K) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((u64)i << 21) | 0x83;	/* present, writable, 2 MiB */
}

static int boot_bzimage(struct kvm *kvm, struct load_file *f, const u8 *hdr, s64 len,
			const u8 *stream)
{
	struct zero_page_args a = { 0 };
	struct bzimage bz;
	size_t cmdlen = strlen(kvm->cmdline);
	u8 *zp;

	if (load_bzimage(kvm, f, &bz, hdr, len, stream))
		return -1;
	if (cmdlen > bz.cmdline_max) {
		pr_err("kernel command line of %zu bytes exceeds the kernel's limit of %u",
		       cmdlen, bz.cmdline_max);
		return -1;
	}
	if (kvm->cfg.initrd_filename) {
		struct initrd_ctx c = { kvm, &bz };

		if (load_initrd(&kvm->mem, kvm->cfg.initrd_filename, low_ram_top(kvm),
				place_initrd, &c, &a.initrd_addr, &a.initrd_size))
			return -1;
	}

	guest_write(&kvm->mem, X86_CMDLINE_ADDR, kvm->cmdline, cmdlen + 1);
	a.cmdline_addr = X86_CMDLINE_ADDR;
	a.rsdp_addr = kvm->arch.rsdp_addr;
	kvm->arch.nr_e820 = x86_build_e820(&kvm->mem, kvm->arch.e820, X86_MAX_E820);
	a.e820 = kvm->arch.e820;
	a.nr_e820 = kvm->arch.nr_e820;

	zp = guest_ptr(&kvm->mem, X86_ZERO_PAGE_ADDR, ZP_SIZE);
	bzimage_fill_zero_page(zp, hdr, &bz, &a);
	setup_boot_gdt_and_paging(kvm);

	kvm->arch.boot_rip = X86_KERNEL_ADDR + BZ_ENTRY64_OFFSET;
	kvm->arch.boot_rsi = X86_ZERO_PAGE_ADDR;
	pr_debug("kernel: %llu KiB at 0x%llx, init_size %u KiB; initrd: %llu KiB at 0x%llx",
		 (unsigned long long)bz.kernel_size >> 10,
		 (unsigned long long)X86_KERNEL_ADDR, bz.init_size >> 10,
		 (unsigned long long)a.initrd_size >> 10,
		 (unsigned long long)a.initrd_addr);
	return 0;
}

/*
 * -k: a bzImage (the 64-bit boot protocol) or an ELF vmlinux with a PVH
 * entry (x86/pvh.c), told apart by their first bytes.
 */
static int x86_load(struct kvm *kvm)
{
	u8 hdr[KVM_KERNEL_PROBE_LEN] = { 0 };
	struct load_file f;
	u8 *stream = NULL;
	s64 len, hdr_len;
	int ret;

	if (!kvm->cfg.kernel_filename) {
		pr_err("no kernel given (use -k/--kernel)");
		return -1;
	}
	if (load_open(&f, "kernel", kvm->cfg.kernel_filename))
		return -1;
	if (f.seekable) {
		len = pread_full(f.fd, hdr, sizeof(hdr), 0);
		if (len < 0) {
			pr_err("cannot read kernel '%s': %s", f.path, strerror(errno));
			load_close(&f);
			return -1;
		}
	} else {
		/* A vmlinux carries symbols and padding beyond what it loads. */
		len = load_read_stream(&f, low_ram_top(kvm) + 256 * SZ_1M, &stream);
		if (len < 0) {
			load_close(&f);
			return -1;
		}
		memcpy(hdr, stream, min((u64)len, (u64)sizeof(hdr)));
	}
	hdr_len = min((u64)len, (u64)sizeof(hdr));
	if (elf_is_elf(hdr, hdr_len))
		ret = pvh_load(kvm, &f, hdr, hdr_len, stream, len);
	else
		ret = boot_bzimage(kvm, &f, stream ? stream : hdr, stream ? len : hdr_len,
				   stream);
	free(stream);
	load_close(&f);
	return ret;
}
loader_init(x86_load, NULL);
