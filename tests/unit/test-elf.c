// SPDX-License-Identifier: GPL-2.0
/*
 * ELF kernels for the PVH boot (x86/elf.c): a good vmlinux-like image, then
 * hostile ones (truncated, overlapping or misplaced segments, notes past the
 * end, huge counts and sizes, entries outside the code), and a fuzzer that
 * mutates the good image: every outcome must be a clean 0 or -1.
 */
#include "lkvm/bzimage.h"
#include "lkvm/x86-elf.h"
#include "test.h"

#define IMG_SIZE	0x3000
#define PHOFF		64
#define NOTE_OFF	0x400		/* the PT_NOTE segment's file data */
#define TEXT_OFF	0x1000		/* PT_LOAD 0: 0x1000 bytes of "code" */
#define DATA_OFF	0x2000		/* PT_LOAD 1: 0x800 bytes + bss */
#define TEXT_PADDR	0x1000000ULL
#define DATA_PADDR	0x1200000ULL
#define ENTRY		0x1000850U
#define RAM_TOP		(256 * SZ_1M)
#define KVM_PROBE	4096		/* what lkvm reads before the headers */

static u8 img[IMG_SIZE];
static unsigned int note_len;

static void phdr64(unsigned int i, u32 type, u64 off, u64 paddr, u64 filesz, u64 memsz)
{
	u8 *p = img + PHOFF + i * 56;

	put_le32(p, type);
	put_le32(p + 4, 5);
	put_le64(p + 8, off);
	put_le64(p + 16, paddr + 0xffffffff80000000ULL);	/* vaddr: ignored */
	put_le64(p + 24, paddr);
	put_le64(p + 32, filesz);
	put_le64(p + 40, memsz);
	put_le64(p + 48, 0x200000);
}

/* Append a note to the note segment. */
static void note(const char *name, u32 namesz, u32 type, const void *desc, u32 descsz)
{
	u8 *p = img + NOTE_OFF + note_len;

	put_le32(p, namesz);
	put_le32(p + 4, descsz);
	put_le32(p + 8, type);
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + ALIGN_UP(namesz, 4), desc, descsz);
	note_len += 12 + ALIGN_UP(namesz, 4) + ALIGN_UP(descsz, 4);
}

/* Like Debian's vmlinux: two loads, one note segment with several notes. */
static void make_elf64(void)
{
	u8 entry[8] = { 0 };

	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF", 4);
	img[4] = 2;			/* ELFCLASS64 */
	img[5] = 1;			/* little endian */
	img[6] = 1;
	put_le16(img + 16, 2);		/* ET_EXEC */
	put_le16(img + 18, 62);		/* EM_X86_64 */
	put_le32(img + 20, 1);
	put_le64(img + 24, TEXT_PADDR);
	put_le64(img + 32, PHOFF);
	put_le16(img + 52, 64);
	put_le16(img + 54, 56);
	put_le16(img + 56, 3);
	phdr64(0, 1, TEXT_OFF, TEXT_PADDR, 0x1000, 0x1000);
	phdr64(1, 1, DATA_OFF, DATA_PADDR, 0x800, 0x100000);
	note_len = 0;
	note("Xen", 4, 6, "linux", 6);
	note("GNU", 4, 3, "0123456789abcdef0123", 20);
	put_le32(entry, ENTRY);
	note("Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, entry, 8);
	phdr64(2, 4, NOTE_OFF, 0x24c1990, note_len, note_len);
}

/* An i386 image with the same layout (32-bit headers, .long entry). */
static void make_elf32(void)
{
	u8 entry[4];
	u8 *p;
	unsigned int i;

	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF", 4);
	img[4] = 1;
	img[5] = 1;
	put_le16(img + 16, 2);
	put_le16(img + 18, 3);		/* EM_386 */
	put_le32(img + 28, 52);		/* phoff */
	put_le16(img + 40, 52);
	put_le16(img + 42, 32);
	put_le16(img + 44, 2);
	note_len = 0;
	put_le32(entry, TEXT_PADDR + 0x10);
	note("Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, entry, 4);
	for (i = 0; i < 2; i++) {
		p = img + 52 + i * 32;
		put_le32(p, i ? 4 : 1);
		put_le32(p + 4, i ? NOTE_OFF : TEXT_OFF);
		put_le32(p + 12, i ? 0 : TEXT_PADDR);
		put_le32(p + 16, i ? note_len : 0x1000);
		put_le32(p + 20, i ? note_len : 0x1000);
	}
}

struct mem_src {
	const u8 *buf;
	u64 len;
};

static s64 mem_read(void *ctx, void *dst, u64 len, u64 off)
{
	struct mem_src *s = ctx;

	if (off > s->len || len > s->len - off)
		return -1;
	memcpy(dst, s->buf + off, len);
	return len;
}

static struct pvh_kernel k;

/* Probe the image as a file of @file_size bytes and check its layout. */
static int load(u64 file_size, const char **err)
{
	struct mem_src src = { img, min(file_size, (u64)IMG_SIZE) };
	size_t hdr = min(file_size, (u64)KVM_PROBE);

	*err = NULL;
	if (pvh_probe(img, hdr, file_size, mem_read, &src, &k, err))
		return -1;
	return pvh_check_layout(&k, X86_KERNEL_ADDR, RAM_TOP, err);
}

static void expect_refused(const char *why, u64 file_size)
{
	const char *err = NULL;

	CHECK(load(file_size, &err) == -1);
	CHECK(err && strstr(err, why));
	if (err && !strstr(err, why))
		fprintf(stderr, "  got '%s', want '%s'\n", err, why);
}

static void test_good_elf64(void)
{
	const char *err;

	make_elf64();
	CHECK(elf_is_elf(img, sizeof(img)));
	CHECK(load(sizeof(img), &err) == 0);
	CHECK(k.is64);
	CHECK_EQ(k.entry, ENTRY);
	CHECK_EQ(k.nr_load, 2);
	CHECK_EQ(k.nr_note, 1);
	CHECK_EQ(k.lo, TEXT_PADDR);
	CHECK_EQ(k.hi, DATA_PADDR + 0x100000);
	CHECK_EQ(k.load[1].filesz, 0x800);
}

static void test_good_elf32(void)
{
	const char *err;

	make_elf32();
	CHECK(load(sizeof(img), &err) == 0);
	CHECK(!k.is64);
	CHECK_EQ(k.entry, TEXT_PADDR + 0x10);
}

static void test_no_note(void)
{
	make_elf64();
	put_le32(img + NOTE_OFF + note_len - 24 + 8, 17);	/* type 18 -> 17 */
	expect_refused("without a PVH entry", sizeof(img));
	make_elf64();
	put_le16(img + 56, 2);		/* no PT_NOTE at all */
	expect_refused("without a PVH entry", sizeof(img));
	make_elf32();
	put_le32(img + 52 + 32, 6);	/* the note segment becomes PT_PHDR */
	expect_refused("without a PVH entry", sizeof(img));
}

static void test_not_x86(void)
{
	make_elf64();
	put_le16(img + 18, 183);	/* EM_AARCH64 */
	expect_refused("another architecture", sizeof(img));
	make_elf64();
	put_le16(img + 18, 3);		/* ELF64 header claiming i386 */
	expect_refused("does not match", sizeof(img));
	make_elf64();
	img[5] = 2;
	expect_refused("big-endian", sizeof(img));
	make_elf64();
	img[4] = 3;
	expect_refused("unknown class", sizeof(img));
	make_elf64();
	put_le16(img + 16, 3);		/* ET_DYN: a program, not a kernel */
	expect_refused("not an executable", sizeof(img));
}

static void test_truncated(void)
{
	make_elf64();
	expect_refused("not a complete ELF", 3);
	expect_refused("no complete ELF header", 60);
	expect_refused("program headers past the end", PHOFF + 56);
	/* The data segment's file bytes end at DATA_OFF + 0x800. */
	expect_refused("past the end of the file", DATA_OFF + 0x7ff);
	phdr64(2, 4, IMG_SIZE - 8, 0, 0x10, 0x10);
	expect_refused("note segment past the end", sizeof(img));
}

static void test_huge_counts(void)
{
	make_elf64();
	put_le16(img + 56, 0xffff);
	expect_refused("more than 64 program headers", sizeof(img));
	make_elf64();
	put_le16(img + 56, 65);
	expect_refused("more than 64 program headers", sizeof(img));
	make_elf64();
	put_le16(img + 54, 64);		/* phentsize */
	expect_refused("wrong size", sizeof(img));
	make_elf64();
	put_le64(img + 32, 0xfffffffffffffff0ULL);	/* phoff wraps */
	expect_refused("program headers past the end", sizeof(img));
	make_elf64();
	put_le64(img + 32, 4000);	/* inside the file, beyond the probe */
	expect_refused("beyond its first 4 KiB", sizeof(img));
}

static void test_hostile_notes(void)
{
	u8 *n = img + NOTE_OFF;

	make_elf64();
	put_le32(n, 0xffffffff);	/* namesz of the first note */
	expect_refused("malformed ELF note", sizeof(img));
	make_elf64();
	put_le32(n + 4, 0xfffffffd);	/* descsz, aligns up to wrap in 32 bits */
	expect_refused("malformed ELF note", sizeof(img));
	make_elf64();
	put_le32(n + 4, 0x7ffffff0);
	expect_refused("malformed ELF note", sizeof(img));
	/* The note segment's size cuts the last (PVH) note's descriptor. */
	make_elf64();
	phdr64(2, 4, NOTE_OFF, 0, note_len - 4, note_len - 4);
	expect_refused("malformed ELF note", sizeof(img));
	/* ... or leaves only part of a note header: not a note, no entry. */
	make_elf64();
	phdr64(2, 4, NOTE_OFF, 0, note_len - 24 + 8, 0);
	expect_refused("without a PVH entry", sizeof(img));
	make_elf64();
	phdr64(2, 4, NOTE_OFF, 0, 0x10001, 0);
	expect_refused("larger than 64 KiB", 0x20000);
	make_elf64();
	phdr64(2, 4, 0xffffffffffffff00ULL, 0, 0x200, 0);
	expect_refused("note segment past the end", sizeof(img));
	/* An entry that does not fit 32 bits, and one of the wrong size. */
	make_elf64();
	put_le32(n + note_len - 4, 1);
	expect_refused("not a 32-bit address", sizeof(img));
	make_elf64();
	put_le32(n + note_len - 24 + 4, 2);	/* descsz 2 */
	expect_refused("malformed", sizeof(img));
}

static void test_hostile_segments(void)
{
	make_elf64();
	phdr64(1, 1, DATA_OFF, TEXT_PADDR + 0xfff, 0x800, 0x1000);
	expect_refused("overlapping", sizeof(img));
	make_elf64();
	phdr64(1, 1, DATA_OFF, TEXT_PADDR - 0x100000, 0x800, 0x100001);
	expect_refused("overlapping", sizeof(img));
	make_elf64();
	phdr64(1, 1, DATA_OFF, RAM_TOP - 0x1000, 0x800, 0x1001);
	expect_refused("does not fit in guest memory", sizeof(img));
	make_elf64();
	phdr64(1, 1, DATA_OFF, 0xe0000, 0x800, 0x800);	/* over the ACPI tables */
	expect_refused("below 1 MiB", sizeof(img));
	make_elf64();
	phdr64(1, 1, DATA_OFF, 0x7000, 0x800, 0x800);	/* over the start info */
	expect_refused("below 1 MiB", sizeof(img));
	make_elf64();
	phdr64(1, 1, DATA_OFF, 0xfffffffffffff000ULL, 0x800, 0x2000);
	expect_refused("wraps around", sizeof(img));
	make_elf64();
	phdr64(1, 1, DATA_OFF, DATA_PADDR, 0x800, 0x7ff);
	expect_refused("more file data than memory", sizeof(img));
	make_elf64();
	phdr64(1, 1, 0xfffffffffffff000ULL, DATA_PADDR, 0x2000, 0x2000);
	expect_refused("past the end of the file", sizeof(img));
	make_elf64();
	phdr64(0, 1, TEXT_OFF, TEXT_PADDR, 0, 0);
	phdr64(1, 6, 0, 0, 0, 0);
	expect_refused("nothing to load", sizeof(img));
}

static void test_entry_outside(void)
{
	u8 *e;

	make_elf64();
	e = img + NOTE_OFF + note_len - 8;
	put_le32(e, TEXT_PADDR - 1);
	expect_refused("entry point outside", sizeof(img));
	make_elf64();
	put_le32(e, TEXT_PADDR + 0x1000);		/* just past the code */
	expect_refused("entry point outside", sizeof(img));
	make_elf64();
	put_le32(e, DATA_PADDR + 0x900);		/* in the bss: no code there */
	expect_refused("entry point outside", sizeof(img));
	make_elf64();
	put_le32(e, 0);
	expect_refused("entry point outside", sizeof(img));
}

static void test_start_info(void)
{
	static const struct e820_entry e820[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x60400, E820_RESERVED },
		{ 0x100000, RAM_TOP - 0x100000, E820_RAM },
	};
	struct pvh_boot_args a = {
		.info_addr = X86_PVH_INFO_ADDR, .cmdline_addr = X86_CMDLINE_ADDR,
		.initrd_addr = 0x8000000, .initrd_size = 12345, .rsdp_addr = 0xe0000,
		.e820 = e820, .nr_e820 = 3,
	};
	static u8 page[PVH_INFO_PAGE];
	u8 *m;

	memset(page, 0xaa, sizeof(page));
	pvh_fill_start_info(page, &a);
	CHECK_EQ(get_le32(page + PVH_SI_MAGIC), 0x336ec578);
	CHECK_EQ(get_le32(page + PVH_SI_VERSION), 1);
	CHECK_EQ(get_le32(page + PVH_SI_FLAGS), 0);
	CHECK_EQ(get_le32(page + PVH_SI_NR_MODULES), 1);
	CHECK_EQ(get_le64(page + PVH_SI_MODLIST_PADDR), X86_PVH_INFO_ADDR + PVH_MODLIST_OFF);
	CHECK_EQ(get_le64(page + PVH_SI_CMDLINE_PADDR), X86_CMDLINE_ADDR);
	CHECK_EQ(get_le64(page + PVH_SI_RSDP_PADDR), 0xe0000);
	CHECK_EQ(get_le64(page + PVH_SI_MEMMAP_PADDR), X86_PVH_INFO_ADDR + PVH_MEMMAP_OFF);
	CHECK_EQ(get_le32(page + PVH_SI_MEMMAP_ENTRIES), 3);
	CHECK_EQ(get_le32(page + 52), 0);
	m = page + PVH_MODLIST_OFF;
	CHECK_EQ(get_le64(m), 0x8000000);
	CHECK_EQ(get_le64(m + 8), 12345);
	CHECK_EQ(get_le64(m + 16), 0);
	CHECK_EQ(get_le64(m + 24), 0);
	m = page + PVH_MEMMAP_OFF + 2 * PVH_MEMMAP_SIZE;
	CHECK_EQ(get_le64(m), 0x100000);
	CHECK_EQ(get_le64(m + 8), RAM_TOP - 0x100000);
	CHECK_EQ(get_le32(m + 16), E820_RAM);
	CHECK_EQ(get_le32(m + 20), 0);
	CHECK_EQ(page[PVH_INFO_PAGE - 1], 0);

	/* No initrd: no module list. */
	a.initrd_size = 0;
	pvh_fill_start_info(page, &a);
	CHECK_EQ(get_le32(page + PVH_SI_NR_MODULES), 0);
	CHECK_EQ(get_le64(page + PVH_SI_MODLIST_PADDR), 0);
}

/*
 * Zero pages are skipped, everything else lands as a full copy would put
 * it, whatever the alignment of source and destination.
 */
static void test_copy_nonzero(void)
{
	static u8 src[8 * 4096 + 64], dst[10 * 4096];
	unsigned int doff, soff, len, i;

	memset(src, 0, sizeof(src));
	for (i = 0; i < sizeof(src); i++)
		if ((i / 4096) % 3 == 1 || ((i / 4096) % 3 == 2 && i % 4096 == 4095))
			src[i] = i * 7 + 1;
	for (doff = 0; doff < 4096; doff += 1365) {
		for (soff = 0; soff < 64; soff += 7) {
			len = sizeof(src) - 64 - doff / 2;
			memset(dst, 0, sizeof(dst));
			pvh_copy_nonzero(dst + doff, src + soff, len);
			CHECK(!memcmp(dst + doff, src + soff, len));
			for (i = 0; i < doff; i++)
				CHECK_EQ(dst[i], 0);
			for (i = doff + len; i < sizeof(dst); i++)
				CHECK_EQ(dst[i], 0);
		}
	}
	/* An all-zero page is left alone: it keeps what the destination had. */
	memset(dst, 0xaa, 4096);
	pvh_copy_nonzero(dst, src, 4096);
	CHECK_EQ(dst[0], 0xaa);
	CHECK_EQ(dst[4095], 0xaa);
}

/* A seeded generator (Knuth's MMIX LCG, high bits): failures replay exactly. */
static u64 fz = 0x243f6a8885a308d3ULL;

static u64 rnd(void)
{
	fz = fz * 6364136223846793005ULL + 1442695040888963407ULL;
	return fz >> 17;
}

/*
 * Random bytes, words and sizes written over the headers and notes of the
 * good image, and random file sizes: every probe ends in 0 or -1 (ASan and
 * UBSan watch the rest), and whatever is accepted is inside RAM.
 */
static void test_fuzz(void)
{
	static const u64 vals[] = { 0, 1, 4, 8, 12, 56, 0x7fffffff, 0xffffffff,
				    0xfffffffffffffff0ULL, TEXT_PADDR, RAM_TOP };
	unsigned int i, j, accepted = 0;
	const char *err;

	for (i = 0; i < 20000; i++) {
		make_elf64();
		if (i & 1)
			make_elf32();
		for (j = 0; j <= rnd() % 4; j++) {
			unsigned int off = rnd() % (i & 2 ? 0x200 : NOTE_OFF + 0x80);

			if (rnd() & 1)
				img[off] = rnd();
			else if (off + 8 <= sizeof(img))
				put_le64(img + off, vals[rnd() % ARRAY_SIZE(vals)]);
		}
		if (!load(rnd() & 3 ? sizeof(img) : rnd() % (sizeof(img) + 1), &err)) {
			accepted++;
			CHECK(k.lo >= X86_KERNEL_ADDR && k.hi <= RAM_TOP);
		} else {
			CHECK(err != NULL);
		}
	}
	CHECK(accepted > 0);
}

TEST_MAIN_BEGIN("test-elf")
	RUN(test_good_elf64);
	RUN(test_good_elf32);
	RUN(test_no_note);
	RUN(test_not_x86);
	RUN(test_truncated);
	RUN(test_huge_counts);
	RUN(test_hostile_notes);
	RUN(test_hostile_segments);
	RUN(test_entry_outside);
	RUN(test_start_info);
	RUN(test_copy_nonzero);
	RUN(test_fuzz);
TEST_MAIN_END()
