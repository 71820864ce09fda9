/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_ELF_H
#define LKVM_X86_ELF_H

#include "lkvm/kvm-arch.h"
#include "lkvm/util.h"

/*
 * ELF kernels (a vmlinux) booted through the PVH entry: the Xen "x86/HVM
 * direct boot ABI" (xen docs/misc/pvh.pandoc). The kernel announces it with
 * an ELF note "Xen", type XEN_ELFNOTE_PHYS32_ENTRY, whose value is the
 * physical address of a 32-bit entry point; the loader puts the PT_LOAD
 * segments at their physical addresses and enters there in protected mode,
 * paging off, with EBX pointing at a struct hvm_start_info.
 *
 * Everything in the file is untrusted: these functions bounds-check every
 * header, segment and note, and are unit-tested with hostile files.
 */
#define ELF_MAGIC		"\177ELF"
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAX_PHDRS		64		/* more is not a kernel */
#define PVH_MAX_NOTES_SIZE	SZ_64K		/* one PT_NOTE segment, at most */
/*
 * Linux/x86's COMMAND_LINE_SIZE is 2048 and a vmlinux has no setup header
 * to say otherwise (a bzImage's cmdline_size says 2047 too).
 */
#define PVH_CMDLINE_MAX		2047

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) */
#define PVH_START_MAGIC		0x336ec578	/* "xEn3" with the 0x80 bit of 'E' */
#define PVH_SI_MAGIC		0
#define PVH_SI_VERSION		4	/* 1: the memory map fields exist */
#define PVH_SI_FLAGS		8
#define PVH_SI_NR_MODULES	12
#define PVH_SI_MODLIST_PADDR	16
#define PVH_SI_CMDLINE_PADDR	24
#define PVH_SI_RSDP_PADDR	32
#define PVH_SI_MEMMAP_PADDR	40
#define PVH_SI_MEMMAP_ENTRIES	48
#define PVH_SI_SIZE		56
#define PVH_MOD_SIZE		32	/* hvm_modlist_entry: paddr, size, cmdline, reserved */
#define PVH_MEMMAP_SIZE		24	/* hvm_memmap_table_entry: addr, size, type, reserved */
/* Where lkvm puts them in the start info page (4 KiB at X86_PVH_INFO_ADDR). */
#define PVH_MODLIST_OFF		64
#define PVH_MEMMAP_OFF		128
#define PVH_INFO_PAGE		SZ_4K

struct pvh_segment {
	u64 offset;		/* in the file */
	u64 filesz;
	u64 paddr;		/* guest physical */
	u64 memsz;
};

struct pvh_kernel {
	bool is64;			/* ELFCLASS64 (x86-64), else ELFCLASS32 (i386) */
	unsigned int nr_load;
	struct pvh_segment load[PVH_MAX_PHDRS];	/* PT_LOAD, memsz > 0 */
	unsigned int nr_note;
	struct pvh_segment note[PVH_MAX_PHDRS];	/* PT_NOTE: offset, filesz */
	u64 lo, hi;			/* lowest paddr, end of the highest segment */
	u32 entry;			/* XEN_ELFNOTE_PHYS32_ENTRY */
};

/* Does @buf (the first @len bytes of a file) start with the ELF magic? */
bool elf_is_elf(const u8 *buf, size_t len);

/*
 * Check the ELF header and the program headers, which must lie in @buf
 * (the first @len bytes of a file of @file_size bytes), and record the
 * PT_LOAD and PT_NOTE segments. Returns 0, or -1 with *@err completing
 * "kernel 'path' ...".
 */
int pvh_parse_elf(const u8 *buf, size_t len, u64 file_size, struct pvh_kernel *k,
		  const char **err);

/*
 * Look through the notes of one PT_NOTE segment (@len bytes) for the PVH
 * entry. Returns 1 and sets *@entry when found, 0 when absent, -1 (with
 * *@err) when a note is malformed.
 */
int pvh_find_entry(const u8 *notes, size_t len, bool is64, u32 *entry, const char **err);

/* Reads @len bytes at @off of the kernel file; returns the count or -1. */
typedef s64 (*pvh_read_fn)(void *ctx, void *buf, u64 len, u64 off);

/*
 * pvh_parse_elf(), then the PVH entry from the PT_NOTE segments read with
 * @read. Returns 0, or -1 with *@err (an ELF without the note is refused).
 */
int pvh_probe(const u8 *hdr, size_t len, u64 file_size, pvh_read_fn read, void *ctx,
	      struct pvh_kernel *k, const char **err);

/*
 * Do the segments fit in guest RAM [@ram_lo, @ram_top) (above lkvm's own
 * tables, below the top of the low RAM bank), without overlapping each
 * other, with the entry inside a segment's file data? 0, or -1 with *@err.
 */
int pvh_check_layout(const struct pvh_kernel *k, u64 ram_lo, u64 ram_top, const char **err);

/*
 * Copy @len bytes of a segment to @dst in fresh (zero) guest RAM, skipping
 * the guest pages whose bytes are all zero: they stay untouched.
 */
void pvh_copy_nonzero(u8 *dst, const u8 *src, u64 len);

struct pvh_boot_args {
	u64 info_addr;		/* guest address of the start info page */
	u64 cmdline_addr;
	u64 initrd_addr;
	u64 initrd_size;	/* 0: no initrd, no module */
	u64 rsdp_addr;
	const struct e820_entry *e820;
	unsigned int nr_e820;
};

/*
 * Fill the start info page @page (PVH_INFO_PAGE bytes): hvm_start_info
 * (version 1), the initrd as module 0, the memory map.
 */
void pvh_fill_start_info(u8 *page, const struct pvh_boot_args *a);

/* x86/pvh.c: pvh_probe() on a regular file (before /dev/kvm is opened). */
int pvh_probe_fd(int fd, const u8 *hdr, size_t len, u64 size, const char **err);

struct kvm;
struct load_file;
/*
 * Load the ELF kernel @f (whose first @hdr_len bytes are @hdr; a pipe's
 * whole content is @stream), the initrd and the start info; set vCPU 0's
 * PVH entry state. Returns 0, or -1 after one line.
 */
int pvh_load(struct kvm *kvm, struct load_file *f, const u8 *hdr, size_t hdr_len,
	     const u8 *stream, u64 stream_len);

#endif
