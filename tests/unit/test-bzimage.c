// SPDX-License-Identifier: GPL-2.0
/* bzImage header validation, zero page, initrd placement and e820. */
#include "lkvm/bzimage.h"
#include "lkvm/guest-mem.h"
#include "test.h"

#define IMG_SIZE	(5 * 512 + 8192)

static u8 img[IMG_SIZE];

static void make_image(void)
{
	memset(img, 0, sizeof(img));
	img[BZ_SETUP_SECTS] = 4;
	img[BZ_BOOT_FLAG] = 0x55;
	img[BZ_BOOT_FLAG + 1] = 0xaa;
	img[BZ_JUMP] = 0xeb;
	img[BZ_JUMP + 1] = 0x6a;		/* header ends at 0x26c */
	memcpy(img + BZ_HEADER, "HdrS", 4);
	img[BZ_VERSION] = 0x0f;
	img[BZ_VERSION + 1] = 0x02;
	img[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
	img[BZ_XLOADFLAGS] = BZ_XLF_KERNEL_64;
	img[BZ_INITRD_ADDR_MAX + 3] = 0x7f;	/* 0x7f000000 */
	img[BZ_CMDLINE_SIZE] = 0xff;
	img[BZ_CMDLINE_SIZE + 1] = 0x07;	/* 2047 */
	img[BZ_INIT_SIZE + 2] = 0x10;		/* 1 MiB */
}

static void test_good_image(void)
{
	struct bzimage bz;
	const char *err = NULL;

	make_image();
	CHECK(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &err) == 0);
	CHECK_EQ(bz.version, 0x020f);
	CHECK_EQ(bz.setup_size, 5 * 512);
	CHECK_EQ(bz.kernel_size, 8192);
	CHECK_EQ(bz.init_size, SZ_1M);
	CHECK_EQ(bz.initrd_addr_max, 0x7f000000);
	CHECK_EQ(bz.cmdline_max, 2047);
	CHECK_EQ(bz.hdr_end, 0x26c);
}

static void test_setup_sects_zero_means_four(void)
{
	struct bzimage bz;
	const char *err;

	make_image();
	img[BZ_SETUP_SECTS] = 0;
	CHECK(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &err) == 0);
	CHECK_EQ(bz.setup_size, 5 * 512);
}

static void expect_bad(const char *why_substr, size_t len, u64 file_size)
{
	struct bzimage bz;
	const char *err = NULL;

	CHECK(bzimage_parse(img, len, file_size, &bz, &err) == -1);
	CHECK(err && strstr(err, why_substr));
}

static void test_corrupt_images(void)
{
	make_image();
	expect_bad("empty", 0, 0);
	expect_bad("truncated", 0x100, 0x100);
	expect_bad("truncated", BZ_MIN_HEADER_LEN - 1, BZ_MIN_HEADER_LEN - 1);
	/* Header complete but nothing after the setup sectors. */
	expect_bad("truncated", sizeof(img), 5 * 512);
	make_image();
	img[BZ_HEADER] = 'X';
	expect_bad("not a bzImage", sizeof(img), sizeof(img));
	make_image();
	img[BZ_BOOT_FLAG] = 0;
	expect_bad("not a bzImage", sizeof(img), sizeof(img));
	make_image();
	img[BZ_VERSION] = 0x0b;			/* 2.11 */
	expect_bad("older than 2.12", sizeof(img), sizeof(img));
	make_image();
	img[BZ_XLOADFLAGS] = 0;
	expect_bad("64-bit", sizeof(img), sizeof(img));
	make_image();
	img[BZ_LOADFLAGS] = 0;
	expect_bad("zImage", sizeof(img), sizeof(img));
}

static void test_hostile_header_end(void)
{
	struct bzimage bz;
	const char *err;

	/* A jump far beyond struct setup_header must not make us copy more. */
	make_image();
	img[BZ_JUMP + 1] = 0xff;
	CHECK(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &err) == 0);
	CHECK(bz.hdr_end <= BZ_HEADER_MAX_END);
	make_image();
	img[BZ_JUMP + 1] = 0x00;
	CHECK(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &err) == 0);
	CHECK(bz.hdr_end >= BZ_MIN_HEADER_LEN);
	/* An absurd cmdline_size is clamped to what lkvm can place. */
	make_image();
	memset(img + BZ_CMDLINE_SIZE, 0xff, 4);
	CHECK(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &err) == 0);
	CHECK(bz.cmdline_max < X86_CMDLINE_MAX);
	/*
	 * Found by fuzz/fuzz-x86-loaders: a jump to the end of the header
	 * with fewer bytes given than that (0x267 here); the zero page must
	 * copy only what is there (ASan checks the copy from a heap buffer).
	 */
	make_image();
	img[BZ_JUMP + 1] = 0xff;
	{
		u8 *few = malloc(0x267), zp[ZP_SIZE];
		struct zero_page_args a = { 0 };

		memcpy(few, img, 0x267);
		CHECK(bzimage_parse(few, 0x267, sizeof(img), &bz, &err) == 0);
		CHECK(bz.hdr_end <= 0x267);
		bzimage_fill_zero_page(zp, few, &bz, &a);
		free(few);
	}
}

static u32 get32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

static void test_zero_page(void)
{
	static u8 zp[ZP_SIZE];
	struct e820_entry e[3] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x60400, E820_RESERVED },
		{ 0x100000, 0x7f00000, E820_RAM },
	};
	struct zero_page_args a = {
		.cmdline_addr = 0x20000, .initrd_addr = 0x7000000,
		.initrd_size = 0x12345, .rsdp_addr = 0xe0000, .e820 = e, .nr_e820 = 3,
	};
	struct bzimage bz;
	const char *err;

	make_image();
	CHECK(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &err) == 0);
	memset(zp, 0xaa, sizeof(zp));
	bzimage_fill_zero_page(zp, img, &bz, &a);
	CHECK_EQ(zp[BZ_TYPE_OF_LOADER], 0xff);
	CHECK(!memcmp(zp + BZ_HEADER, "HdrS", 4));
	CHECK_EQ(get32(zp + BZ_CMD_LINE_PTR), 0x20000);
	CHECK_EQ(get32(zp + BZ_RAMDISK_IMAGE), 0x7000000);
	CHECK_EQ(get32(zp + BZ_RAMDISK_SIZE), 0x12345);
	CHECK_EQ(get32(zp + ZP_ACPI_RSDP_ADDR), 0xe0000);
	CHECK_EQ(zp[ZP_E820_ENTRIES], 3);
	CHECK_EQ(get32(zp + ZP_E820_TABLE + 20 + 8), 0x60400);
	CHECK_EQ(get32(zp + ZP_E820_TABLE + 40 + 16), E820_RAM);
	/* Nothing beyond the header is copied from the image. */
	CHECK_EQ(zp[bz.hdr_end], 0);
	CHECK_EQ(zp[0], 0);
}

static void test_initrd_placement(void)
{
	struct bzimage bz = { .initrd_addr_max = 0x7fffffff };
	u64 addr;

	CHECK(bzimage_place_initrd(&bz, 128 * SZ_1M, 2 * SZ_1M, 5000, &addr) == 0);
	CHECK_EQ(addr, ALIGN_DOWN(128 * SZ_1M - 5000, SZ_4K));
	CHECK(IS_ALIGNED(addr, SZ_4K));
	/* The kernel's limit wins over the top of RAM. */
	bz.initrd_addr_max = 0x0fffffff;
	CHECK(bzimage_place_initrd(&bz, SZ_1G, 2 * SZ_1M, SZ_1M, &addr) == 0);
	CHECK(addr + SZ_1M <= 0x10000000);
	/* Too big: would overlap the kernel, or exceed memory entirely. */
	bz.initrd_addr_max = 0x7fffffff;
	CHECK(bzimage_place_initrd(&bz, 64 * SZ_1M, 20 * SZ_1M, 50 * SZ_1M, &addr) == -1);
	CHECK(bzimage_place_initrd(&bz, 64 * SZ_1M, 2 * SZ_1M, 100 * SZ_1M, &addr) == -1);
	CHECK(bzimage_place_initrd(&bz, 64 * SZ_1M, 2 * SZ_1M, 0, &addr) == -1);
	CHECK(bzimage_place_initrd(&bz, 64 * SZ_1M, 2 * SZ_1M, ~0ULL, &addr) == -1);
}

static void test_e820(void)
{
	struct guest_mem mem = { 0 };
	struct e820_entry e[8];
	unsigned int n;

	CHECK(guest_mem_add_bank(&mem, 0, 128 * SZ_1M, (void *)0x1000) == 0);
	n = x86_build_e820(&mem, e, 8);
	CHECK_EQ(n, 3);
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, X86_EBDA_START);
	CHECK_EQ(e[0].type, E820_RAM);
	CHECK_EQ(e[1].type, E820_RESERVED);
	CHECK_EQ(e[1].addr + e[1].size, SZ_1M);
	CHECK_EQ(e[2].addr, SZ_1M);
	CHECK_EQ(e[2].addr + e[2].size, 128 * SZ_1M);

	/* 4 GiB of RAM: 3 GiB low, the hole, 1 GiB above 4 GiB. */
	memset(&mem, 0, sizeof(mem));
	CHECK(guest_mem_add_bank(&mem, 0, 3 * SZ_1G, (void *)0x1000) == 0);
	CHECK(guest_mem_add_bank(&mem, SZ_4G, SZ_1G, (void *)0x1000) == 0);
	n = x86_build_e820(&mem, e, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(e[2].addr + e[2].size, 3 * SZ_1G);
	CHECK_EQ(e[3].addr, SZ_4G);
	CHECK_EQ(e[3].size, SZ_1G);
	/* A table that is too small is filled, never overrun. */
	CHECK_EQ(x86_build_e820(&mem, e, 2), 2);
}

TEST_MAIN_BEGIN("bzimage")
	RUN(test_good_image);
	RUN(test_setup_sects_zero_means_four);
	RUN(test_corrupt_images);
	RUN(test_hostile_header_end);
	RUN(test_zero_page);
	RUN(test_initrd_placement);
	RUN(test_e820);
TEST_MAIN_END()
