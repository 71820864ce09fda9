// SPDX-License-Identifier: GPL-2.0
/*
 * ELF kernels for the PVH boot: header, program header and note checks, and
 * the hvm_start_info page. Pure functions on byte buffers (the file is read
 * through a callback), so they are unit-tested against hostile files.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/x86-elf.h"

#define EI_CLASS	4
#define EI_DATA		5
#define ELFCLASS32	1
#define ELFCLASS64	2
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_386		3
#define EM_X86_64	62
#define PT_LOAD		1
#define PT_NOTE		4

/* Offsets of the header fields that differ between the two classes. */
struct elf_layout {
	unsigned int ehdr_size, phoff, phentsize, phnum, phdr_size;
	unsigned int p_offset, p_paddr, p_filesz, p_memsz;
	unsigned int word;	/* bytes of an address */
	u16 machine;
};

static const struct elf_layout elf32 = {
	.ehdr_size = 52, .phoff = 28, .phentsize = 42, .phnum = 44, .phdr_size = 32,
	.p_offset = 4, .p_paddr = 12, .p_filesz = 16, .p_memsz = 20,
	.word = 4, .machine = EM_386,
};

static const struct elf_layout elf64 = {
	.ehdr_size = 64, .phoff = 32, .phentsize = 54, .phnum = 56, .phdr_size = 56,
	.p_offset = 8, .p_paddr = 24, .p_filesz = 32, .p_memsz = 40,
	.word = 8, .machine = EM_X86_64,
};

static u64 word(const struct elf_layout *l, const u8 *p)
{
	return l->word == 8 ? get_le64(p) : get_le32(p);
}

bool elf_is_elf(const u8 *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, ELF_MAGIC, 4);
}

/* Would [off, off + len) run past @size (or wrap)? */
static bool beyond(u64 off, u64 len, u64 size)
{
	return off > size || len > size - off;
}

static int add_segment(struct pvh_kernel *k, const struct elf_layout *l, const u8 *ph,
		       u64 file_size, const char **err)
{
	struct pvh_segment s = {
		.offset = word(l, ph + l->p_offset),
		.paddr = word(l, ph + l->p_paddr),
		.filesz = word(l, ph + l->p_filesz),
		.memsz = word(l, ph + l->p_memsz),
	};
	u32 type = get_le32(ph);

	if (type == PT_NOTE) {
		if (beyond(s.offset, s.filesz, file_size)) {
			*err = "has a note segment past the end of the file (truncated?)";
			return -1;
		}
		if (s.filesz > PVH_MAX_NOTES_SIZE) {
			*err = "has a note segment larger than 64 KiB";
			return -1;
		}
		k->note[k->nr_note++] = s;
		return 0;
	}
	if (type != PT_LOAD || !s.memsz)
		return 0;
	if (s.filesz > s.memsz) {
		*err = "has a loadable segment with more file data than memory";
		return -1;
	}
	if (beyond(s.offset, s.filesz, file_size)) {
		*err = "has a loadable segment past the end of the file (truncated?)";
		return -1;
	}
	if (beyond(s.paddr, s.memsz, ~0ULL)) {
		*err = "has a loadable segment that wraps around the address space";
		return -1;
	}
	if (!k->nr_load || s.paddr < k->lo)
		k->lo = s.paddr;
	if (s.paddr + s.memsz > k->hi)
		k->hi = s.paddr + s.memsz;
	k->load[k->nr_load++] = s;
	return 0;
}

int pvh_parse_elf(const u8 *buf, size_t len, u64 file_size, struct pvh_kernel *k,
		  const char **err)
{
	const struct elf_layout *l;
	unsigned int i, phnum;
	u64 phoff;

	memset(k, 0, sizeof(*k));
	if (!elf_is_elf(buf, len) || len < 52 || file_size < len) {
		*err = "is not a complete ELF file";
		return -1;
	}
	if (buf[EI_DATA] != ELFDATA2LSB) {
		*err = "is a big-endian ELF file, not an x86 kernel";
		return -1;
	}
	if (buf[EI_CLASS] == ELFCLASS64)
		l = &elf64;
	else if (buf[EI_CLASS] == ELFCLASS32)
		l = &elf32;
	else {
		*err = "is an ELF file of unknown class";
		return -1;
	}
	if (len < l->ehdr_size) {
		*err = "is a truncated ELF file (no complete ELF header)";
		return -1;
	}
	if (get_le16(buf + 18) != l->machine) {
		*err = get_le16(buf + 18) == EM_X86_64 || get_le16(buf + 18) == EM_386 ?
		       "is an ELF file whose class does not match its machine" :
		       "is an ELF file for another architecture, not x86";
		return -1;
	}
	if (get_le16(buf + 16) != ET_EXEC) {
		*err = "is an ELF file but not an executable (ET_EXEC) kernel";
		return -1;
	}
	k->is64 = l == &elf64;
	phoff = word(l, buf + l->phoff);
	phnum = get_le16(buf + l->phnum);
	if (phnum > PVH_MAX_PHDRS) {
		*err = "has more than 64 program headers, which no kernel has";
		return -1;
	}
	if (phnum && get_le16(buf + l->phentsize) != l->phdr_size) {
		*err = "has program headers of the wrong size";
		return -1;
	}
	if (beyond(phoff, (u64)phnum * l->phdr_size, len)) {
		*err = beyond(phoff, (u64)phnum * l->phdr_size, file_size) ?
		       "is a truncated ELF file (program headers past the end)" :
		       "has its program headers beyond its first 4 KiB";
		return -1;
	}
	for (i = 0; i < phnum; i++)
		if (add_segment(k, l, buf + phoff + i * l->phdr_size, file_size, err))
			return -1;
	if (!k->nr_load) {
		*err = "is an ELF file with nothing to load";
		return -1;
	}
	return 0;
}

int pvh_find_entry(const u8 *notes, size_t len, bool is64, u32 *entry, const char **err)
{
	size_t off = 0;

	/* Each note: namesz, descsz, type, then name and desc, each 4-byte aligned. */
	while (len - off >= 12) {
		u64 namesz = get_le32(notes + off), descsz = get_le32(notes + off + 4);
		u32 type = get_le32(notes + off + 8);
		u64 name = off + 12, desc = name + ALIGN_UP(namesz, 4);

		if (desc > len || ALIGN_UP(descsz, 4) > len - desc) {
			*err = "has a malformed ELF note (runs past its segment)";
			return -1;
		}
		if (namesz == 4 && !memcmp(notes + name, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			/* Xen's ABI says .long; Linux/x86-64 writes a pointer-sized value. */
			if (descsz == 4 || (descsz == 8 && is64 && !get_le32(notes + desc + 4))) {
				*entry = get_le32(notes + desc);
				return 1;
			}
			*err = "has a malformed PVH entry note (not a 32-bit address)";
			return -1;
		}
		off = desc + ALIGN_UP(descsz, 4);
	}
	return 0;
}

int pvh_probe(const u8 *hdr, size_t len, u64 file_size, pvh_read_fn read, void *ctx,
	      struct pvh_kernel *k, const char **err)
{
	unsigned int i;
	int found = 0;

	if (pvh_parse_elf(hdr, len, file_size, k, err))
		return -1;
	for (i = 0; i < k->nr_note && !found; i++) {
		const struct pvh_segment *n = &k->note[i];
		u8 *buf = xmalloc(n->filesz + 1);

		if (read(ctx, buf, n->filesz, n->offset) != (s64)n->filesz) {
			*err = "cannot be read (its notes)";
			found = -1;
		} else {
			found = pvh_find_entry(buf, n->filesz, k->is64, &k->entry, err);
		}
		free(buf);
	}
	if (found < 0)
		return -1;
	if (!found) {
		*err = "is an ELF kernel without a PVH entry (no XEN_ELFNOTE_PHYS32_ENTRY "
		       "note); boot its bzImage instead";
		return -1;
	}
	return 0;
}

int pvh_check_layout(const struct pvh_kernel *k, u64 ram_lo, u64 ram_top, const char **err)
{
	unsigned int i, j;
	bool entry_ok = false;

	for (i = 0; i < k->nr_load; i++) {
		const struct pvh_segment *a = &k->load[i];

		if (a->paddr < ram_lo) {
			*err = "has a loadable segment below 1 MiB, over lkvm's boot tables";
			return -1;
		}
		if (a->paddr + a->memsz > ram_top) {
			*err = "does not fit in guest memory (a loadable segment lies beyond it)";
			return -1;
		}
		for (j = 0; j < i; j++) {
			const struct pvh_segment *b = &k->load[j];

			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz) {
				*err = "has overlapping loadable segments";
				return -1;
			}
		}
		if (k->entry >= a->paddr && k->entry - a->paddr < a->filesz)
			entry_ok = true;
	}
	if (!entry_ok) {
		*err = "has its PVH entry point outside the code it loads";
		return -1;
	}
	return 0;
}

/*
 * Guest RAM is fresh anonymous memory, zero until touched, so only the
 * pages of the kernel's file data that are not zero need copying: in a
 * Debian vmlinux that is 30 of its 57 MiB (.bss, .brk and padding are
 * in the file as zeros). The other pages stay untouched: less to copy
 * before the first KVM_RUN, and less resident memory.
 */
static bool page_is_zero(const u8 *p, size_t len)
{
	static const u8 zero[SZ_4K];

	return !memcmp(p, zero, len);
}

void pvh_copy_nonzero(u8 *dst, const u8 *src, u64 len)
{
	u64 off = 0, n;

	while (off < len) {
		/* Chunks end on the guest's page boundaries. */
		n = min(len - off, SZ_4K - ((unsigned long)(dst + off) & (SZ_4K - 1)));
		if (!page_is_zero(src + off, n))
			memcpy(dst + off, src + off, n);
		off += n;
	}
}

void pvh_fill_start_info(u8 *page, const struct pvh_boot_args *a)
{
	unsigned int i, n = min(a->nr_e820,
				(unsigned int)((PVH_INFO_PAGE - PVH_MEMMAP_OFF) / PVH_MEMMAP_SIZE));

	memset(page, 0, PVH_INFO_PAGE);
	put_le32(page + PVH_SI_MAGIC, PVH_START_MAGIC);
	put_le32(page + PVH_SI_VERSION, 1);
	put_le64(page + PVH_SI_CMDLINE_PADDR, a->cmdline_addr);
	put_le64(page + PVH_SI_RSDP_PADDR, a->rsdp_addr);
	if (a->initrd_size) {
		u8 *mod = page + PVH_MODLIST_OFF;

		put_le32(page + PVH_SI_NR_MODULES, 1);
		put_le64(page + PVH_SI_MODLIST_PADDR, a->info_addr + PVH_MODLIST_OFF);
		put_le64(mod, a->initrd_addr);
		put_le64(mod + 8, a->initrd_size);
	}
	put_le64(page + PVH_SI_MEMMAP_PADDR, a->info_addr + PVH_MEMMAP_OFF);
	put_le32(page + PVH_SI_MEMMAP_ENTRIES, n);
	for (i = 0; i < n; i++) {
		u8 *e = page + PVH_MEMMAP_OFF + i * PVH_MEMMAP_SIZE;

		/* The memory map types are the e820 types. */
		put_le64(e, a->e820[i].addr);
		put_le64(e + 8, a->e820[i].size);
		put_le32(e + 16, a->e820[i].type);
	}
}
