// SPDX-License-Identifier: GPL-2.0
/*
 * The PVH loader: an ELF kernel (vmlinux) with a XEN_ELFNOTE_PHYS32_ENTRY
 * note. Its PT_LOAD segments go to their physical addresses, the initrd high
 * in low memory as module 0, the command line and the hvm_start_info page
 * (with the memory map) below 1 MiB; vCPU 0 starts at the entry in 32-bit
 * protected mode with paging off (x86/cpu.c). There is no decompressor to
 * run, which is most of what a bzImage boot spends before the kernel's own
 * clock starts. The other vCPUs come up through INIT/SIPI as for a bzImage.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lkvm/bzimage.h"
#include "lkvm/kvm.h"
#include "lkvm/load.h"
#include "lkvm/x86-elf.h"

struct pvh_src {
	int fd;
	const u8 *buf;		/* a kernel read from a pipe, or NULL */
	u64 len;
	void *map;		/* the file, mapped while it loads */
	u64 map_len;
};

static s64 src_read(void *ctx, void *dst, u64 len, u64 off)
{
	struct pvh_src *s = ctx;

	if (!s->buf)
		return pread_full(s->fd, dst, len, off);
	if (off > s->len || len > s->len - off)
		return -1;
	memcpy(dst, s->buf + off, len);
	return len;
}

/* Probe on a regular file before /dev/kvm is opened (x86/kvm.c). */
int pvh_probe_fd(int fd, const u8 *hdr, size_t len, u64 size, const char **err)
{
	struct pvh_src src = { .fd = fd };
	struct pvh_kernel *k = xmalloc(sizeof(*k));
	int r = pvh_probe(hdr, len, size, src_read, &src, k, err);

	free(k);
	return r;
}

/*
 * The whole kernel file in memory: mapped (a regular file; pages are only
 * read, so nothing is copied that is not needed) or as read (a pipe). A
 * file truncated by someone else while it loads ends lkvm with SIGBUS, as
 * for any reader of a mapped file.
 */
static const u8 *map_file(struct pvh_src *src, u64 size)
{
	void *p;

	if (src->buf)
		return src->buf;
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, src->fd, 0);
	if (p == MAP_FAILED)
		return NULL;	/* then pread() copies everything */
	src->map = p;
	src->map_len = size;
	return p;
}

struct initrd_ctx {
	u64 top, kernel_end;
};

static int place_initrd(u64 len, u64 *addr, const char *path, void *arg)
{
	struct initrd_ctx *c = arg;

	if (len <= c->top && ALIGN_DOWN(c->top - len, SZ_4K) >= c->kernel_end) {
		*addr = ALIGN_DOWN(c->top - len, SZ_4K);
		return 0;
	}
	pr_err("initrd '%s' (%llu MiB) does not fit in guest memory below %llu MiB with the kernel",
	       path, (unsigned long long)len >> 20, (unsigned long long)c->top >> 20);
	return -1;
}

/*
 * The PVH ABI asks for flat 32-bit code and data segments and a 32-bit TSS
 * (base 0, limit 0x67); the selectors are lkvm's choice. Linux loads its
 * own GDT at once, but a kernel may reload a selector first.
 */
static void write_pvh_gdt(struct kvm *kvm)
{
	static const u64 gdt[] = {
		0,
		0,
		0x00cf9b000000ffffULL,	/* 0x10: 32-bit code, flat */
		0x00cf93000000ffffULL,	/* 0x18: data, flat */
		0x00008b0000000067ULL,	/* 0x20: 32-bit TSS (busy), base 0, limit 0x67 */
	};

	guest_write(&kvm->mem, X86_GDT_ADDR, gdt, sizeof(gdt));
}

int pvh_load(struct kvm *kvm, struct load_file *f, const u8 *hdr, size_t hdr_len,
	     const u8 *stream, u64 stream_len)
{
	struct pvh_src src = { .fd = f->fd, .buf = stream, .len = stream_len };
	u64 size = stream ? stream_len : f->size, top = kvm->mem.banks[0].size;
	size_t cmdlen = strlen(kvm->cmdline);
	struct pvh_boot_args a = { 0 };
	struct pvh_kernel *k = xmalloc(sizeof(*k));
	const u8 *map = NULL;
	const char *err;
	unsigned int i;
	int ret = -1;

	if (pvh_probe(hdr, hdr_len, size, src_read, &src, k, &err)) {
		pr_err("kernel '%s' %s", f->path, err);
		goto out;
	}
	if (k->hi > top && k->lo >= X86_KERNEL_ADDR) {
		pr_err("kernel '%s' loads up to %llu MiB; guest memory is too small", f->path,
		       (unsigned long long)(k->hi + SZ_1M - 1) >> 20);
		goto out;
	}
	if (pvh_check_layout(k, X86_KERNEL_ADDR, top, &err)) {
		pr_err("kernel '%s' %s", f->path, err);
		goto out;
	}
	if (cmdlen > PVH_CMDLINE_MAX) {
		pr_err("kernel command line of %zu bytes exceeds the kernel's limit of %u",
		       cmdlen, PVH_CMDLINE_MAX);
		goto out;
	}
	map = map_file(&src, size);
	for (i = 0; i < k->nr_load; i++) {
		const struct pvh_segment *s = &k->load[i];
		u8 *dst;

		if (!s->filesz)
			continue;
		dst = guest_ptr(&kvm->mem, s->paddr, s->filesz);
		if (!dst) {
			pr_err("kernel '%s': a segment lies outside guest memory", f->path);
			goto out;
		}
		if (map) {
			pvh_copy_nonzero(dst, map + s->offset, s->filesz);
		} else if (src_read(&src, dst, s->filesz, s->offset) != (s64)s->filesz) {
			pr_err("cannot read kernel '%s': short read", f->path);
			goto out;
		}
	}
	if (kvm->cfg.initrd_filename) {
		struct initrd_ctx c = { .top = top, .kernel_end = k->hi };

		if (load_initrd(&kvm->mem, kvm->cfg.initrd_filename, top, place_initrd, &c,
				&a.initrd_addr, &a.initrd_size))
			goto out;
	}

	guest_write(&kvm->mem, X86_CMDLINE_ADDR, kvm->cmdline, cmdlen + 1);
	kvm->arch.nr_e820 = x86_build_e820(&kvm->mem, kvm->arch.e820, X86_MAX_E820);
	a.info_addr = X86_PVH_INFO_ADDR;
	a.cmdline_addr = X86_CMDLINE_ADDR;
	a.rsdp_addr = kvm->arch.rsdp_addr;
	a.e820 = kvm->arch.e820;
	a.nr_e820 = kvm->arch.nr_e820;
	pvh_fill_start_info(guest_ptr(&kvm->mem, X86_PVH_INFO_ADDR, PVH_INFO_PAGE), &a);
	write_pvh_gdt(kvm);

	kvm->arch.boot_pvh = true;
	kvm->arch.boot_rip = k->entry;
	kvm->arch.boot_rbx = X86_PVH_INFO_ADDR;
	pr_debug("PVH kernel: %u segments at 0x%llx-0x%llx, entry 0x%x; initrd: %llu KiB at 0x%llx",
		 k->nr_load, (unsigned long long)k->lo, (unsigned long long)k->hi, k->entry,
		 (unsigned long long)a.initrd_size >> 10, (unsigned long long)a.initrd_addr);
	ret = 0;
out:
	if (src.map)
		munmap(src.map, src.map_len);
	free(k);
	return ret;
}
