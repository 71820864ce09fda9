// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 Image header parsing and loading: good, truncated, big-endian and
 * foreign images, page sizes, and kernels arriving from files, pipes and
 * gzip streams (which cannot be sized up front).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include "lkvm/arm-image.h"
#include "test.h"

#define RAM_GPA		0x80000000ULL
#define RAM_SIZE	(8 * SZ_1M)
#define KERNEL_LEN	(300 * 1024 + 17)	/* odd, so reads end mid-buffer */

/* ID_AA64MMFR0_EL1 of a CPU with every granule, and without some. */
#define MMFR0_ALL	0x0000000000100000ULL	/* TGran4 0, TGran64 0, TGran16 1 */
#define MMFR0_NO_4K	(MMFR0_ALL | 0xfULL << 28)
#define MMFR0_NO_16K	(MMFR0_ALL & ~(0xfULL << 20))
#define MMFR0_NO_64K	(MMFR0_ALL | 0xfULL << 24)

static u8 kernel[KERNEL_LEN];
static u8 *ram;

/* An Image with a 2 MiB image_size, 4 KiB pages, placement anywhere. */
static void make_kernel(u64 text_offset, u64 image_size, u64 flags)
{
	unsigned int i;

	for (i = 0; i < sizeof(kernel); i++)
		kernel[i] = (u8)(i * 7 + 3);
	memset(kernel, 0, ARM_IMAGE_HDR_SIZE);
	kernel[0] = 0x4d;			/* "MZ" (EFI stub), then a branch */
	kernel[1] = 0x5a;
	put_le64(kernel + ARM_IMAGE_TEXT_OFFSET, text_offset);
	put_le64(kernel + ARM_IMAGE_IMAGE_SIZE, image_size);
	put_le64(kernel + ARM_IMAGE_FLAGS, flags);
	kernel[56] = 'A';
	kernel[57] = 'R';
	kernel[58] = 'M';
	kernel[59] = 0x64;
}

#define STD_FLAGS	(1ULL << ARM_IMAGE_PAGE_SHIFT | ARM_IMAGE_FLAG_ANYWHERE)

static void test_parse_good(void)
{
	struct arm_image img;
	const char *err = NULL;

	make_kernel(0x10000, 2 * SZ_1M, STD_FLAGS);
	CHECK(arm_image_parse(kernel, sizeof(kernel), &img, &err) == 0);
	CHECK_EQ(img.text_offset, 0x10000);
	CHECK_EQ(img.image_size, 2 * SZ_1M);
	CHECK_EQ(img.page_size, 4096);
	CHECK(img.flags & ARM_IMAGE_FLAG_ANYWHERE);
	/* Exactly the header is enough to parse. */
	CHECK(arm_image_parse(kernel, ARM_IMAGE_HDR_SIZE, &img, &err) == 0);
	make_kernel(0, SZ_2M, 3ULL << ARM_IMAGE_PAGE_SHIFT);
	CHECK(arm_image_parse(kernel, sizeof(kernel), &img, &err) == 0);
	CHECK_EQ(img.page_size, 65536);
	make_kernel(0, SZ_2M, 0);
	CHECK(arm_image_parse(kernel, sizeof(kernel), &img, &err) == 0);
	CHECK_EQ(img.page_size, 0);
}

static void test_parse_old_kernel(void)
{
	struct arm_image img;
	const char *err;

	/* Before 3.17: image_size 0, and text_offset is then 0x80000 whatever it says. */
	make_kernel(0x12345, 0, 0xff);
	CHECK(arm_image_parse(kernel, sizeof(kernel), &img, &err) == 0);
	CHECK_EQ(img.text_offset, 0x80000);
	CHECK_EQ(img.flags, 0);
}

static void expect_parse_error(size_t len, const char *substr)
{
	struct arm_image img;
	const char *err = NULL;

	CHECK(arm_image_parse(kernel, len, &img, &err) == -1);
	CHECK(err && strstr(err, substr));
}

static void test_parse_truncated(void)
{
	make_kernel(0, SZ_2M, STD_FLAGS);
	expect_parse_error(0, "empty");
	expect_parse_error(1, "truncated");
	expect_parse_error(ARM_IMAGE_HDR_SIZE - 1, "truncated");
}

static void test_parse_big_endian(void)
{
	make_kernel(0, SZ_2M, STD_FLAGS | ARM_IMAGE_FLAG_BE);
	expect_parse_error(sizeof(kernel), "big-endian");
}

static void test_parse_bad_magic(void)
{
	make_kernel(0, SZ_2M, STD_FLAGS);
	kernel[59] = 0x65;
	expect_parse_error(sizeof(kernel), "not an arm64 Image");
	/* An x86 bzImage, say. */
	memset(kernel, 0, ARM_IMAGE_HDR_SIZE);
	memcpy(kernel + 0x202 - 0x200, "HdrS", 4);
	expect_parse_error(sizeof(kernel), "not an arm64 Image");
	/* The EFI zboot wrapper gets a clearer word. */
	memset(kernel, 0, ARM_IMAGE_HDR_SIZE);
	memcpy(kernel, "MZ\0\0zimg", 8);
	expect_parse_error(sizeof(kernel), "zboot");
}

static void test_parse_hostile_sizes(void)
{
	make_kernel(~0ULL, SZ_2M, STD_FLAGS);
	expect_parse_error(sizeof(kernel), "implausible");
	make_kernel(0, ~0ULL, STD_FLAGS);
	expect_parse_error(sizeof(kernel), "implausible");
	make_kernel(0, 8, STD_FLAGS);
	expect_parse_error(sizeof(kernel), "smaller than its own header");
}

static void test_page_sizes(void)
{
	struct arm_image img = { 0 };
	const char *err = NULL;

	img.page_size = 4096;
	CHECK(arm_image_check_page_size(&img, MMFR0_ALL, &err) == 0);
	CHECK(arm_image_check_page_size(&img, MMFR0_NO_4K, &err) == -1);
	CHECK(err && strstr(err, "4 KiB pages"));
	img.page_size = 16384;
	CHECK(arm_image_check_page_size(&img, MMFR0_ALL, &err) == 0);
	CHECK(arm_image_check_page_size(&img, MMFR0_NO_16K, &err) == -1);
	CHECK(err && strstr(err, "16 KiB pages"));
	img.page_size = 65536;
	CHECK(arm_image_check_page_size(&img, MMFR0_NO_4K, &err) == 0);
	CHECK(arm_image_check_page_size(&img, MMFR0_NO_64K, &err) == -1);
	CHECK(err && strstr(err, "64 KiB pages"));
	/* An Image that doesn't say runs anywhere. */
	img.page_size = 0;
	CHECK(arm_image_check_page_size(&img, ~0ULL, &err) == 0);
}

/* arm64.nolva for 4 KiB-page kernels on an LPA2 CPU under a pre-LPA2 KVM. */
static void test_avoid_lpa2(void)
{
	struct arm_image img = { .page_size = 4096 };
	u64 lpa2 = MMFR0_ALL | 1ULL << 28;	/* TGran4 = 1: 52-bit with 4 KiB */

	CHECK(arm_image_avoid_lpa2(&img, lpa2, 48));
	CHECK(arm_image_avoid_lpa2(&img, lpa2, 40));
	CHECK(arm_image_avoid_lpa2(&img, lpa2, 0));	/* KVM can't say */
	CHECK(!arm_image_avoid_lpa2(&img, lpa2, 52));	/* KVM with LPA2 */
	CHECK(!arm_image_avoid_lpa2(&img, MMFR0_ALL, 48));	/* no LPA2 */
	CHECK(!arm_image_avoid_lpa2(&img, MMFR0_NO_4K, 40));
	CHECK(!arm_image_avoid_lpa2(&img, ~0ULL, 40));	/* hostile: TGran4 0xf */
	img.page_size = 0;				/* may be 4 KiB */
	CHECK(arm_image_avoid_lpa2(&img, lpa2, 48));
	img.page_size = 16384;				/* no level -1 */
	CHECK(!arm_image_avoid_lpa2(&img, lpa2 | 2ULL << 20, 48));
	img.page_size = 65536;
	CHECK(!arm_image_avoid_lpa2(&img, lpa2, 48));
}

/* --- loading --------------------------------------------------------------- */

struct feeder {
	int fd;
	const u8 *buf;
	size_t len;
	size_t chunk;
};

/* Write in small chunks, as a pipe from another process would deliver it. */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;

	while (off < f->len) {
		size_t n = min(f->chunk, f->len - off);

		if (write_full(f->fd, f->buf + off, n) != (ssize_t)n)
			break;
		off += n;
	}
	close(f->fd);
	return NULL;
}

static struct arm_ram test_ram(void)
{
	struct arm_ram r = { .gpa = RAM_GPA, .size = RAM_SIZE, .host = ram };

	memset(ram, 0xee, RAM_SIZE);
	return r;
}

/* A kernel, or with @fw_addr set, --firmware for that address, from a pipe. */
static int pipe_load(const u8 *buf, size_t len, u64 mmfr0, u64 fw_addr,
		     struct arm_kernel *k, const char **err)
{
	struct arm_ram r = test_ram();
	struct feeder f = { .buf = buf, .len = len, .chunk = 4093 };
	pthread_t t;
	int p[2], ret;

	if (pipe(p))
		return -2;
	f.fd = p[1];
	pthread_create(&t, NULL, feed, &f);
	if (fw_addr)
		ret = arm_firmware_load(p[0], &r, fw_addr, k, err);
	else
		ret = arm_kernel_load(p[0], &r, mmfr0, k, err);
	/* Unblock a writer we stopped reading from. */
	close(p[0]);
	pthread_join(t, NULL);
	return ret;
}

static int load_from_pipe(const u8 *buf, size_t len, u64 mmfr0, struct arm_kernel *k,
			  const char **err)
{
	return pipe_load(buf, len, mmfr0, 0, k, err);
}

/* load_from_pipe() refuses, naming @why (uses the caller's k and err). */
#define CHECK_REFUSED(buf, len, mmfr0, why)				\
	do {								\
		err = NULL;						\
		CHECK(load_from_pipe(buf, len, mmfr0, &k, &err) == -1);	\
		CHECK(err && strstr(err, why));				\
	} while (0)

static int load_from_file(const u8 *buf, size_t len, struct arm_kernel *k, const char **err)
{
	struct arm_ram r = test_ram();
	FILE *f = tmpfile();
	int ret;

	if (!f || fwrite(buf, 1, len, f) != len || fflush(f))
		return -2;
	rewind(f);
	ret = arm_kernel_load(fileno(f), &r, MMFR0_ALL, k, err);
	fclose(f);
	return ret;
}

static void check_placed(const struct arm_kernel *k, u64 text_offset, u64 image_size)
{
	CHECK_EQ(k->load, RAM_GPA + text_offset);
	CHECK_EQ(k->file_size, KERNEL_LEN);
	CHECK_EQ(k->end, RAM_GPA + text_offset + max((u64)KERNEL_LEN, image_size));
	CHECK(memcmp(ram + text_offset, kernel, KERNEL_LEN) == 0);
	/* Nothing written before it or after it. */
	CHECK(text_offset == 0 || ram[text_offset - 1] == 0xee);
	CHECK(ram[text_offset + KERNEL_LEN] == 0xee);
}

static void test_load_file(void)
{
	struct arm_kernel k;
	const char *err = NULL;

	make_kernel(0x80000, SZ_1M, STD_FLAGS);
	CHECK(load_from_file(kernel, sizeof(kernel), &k, &err) == 0);
	check_placed(&k, 0x80000, SZ_1M);
	CHECK(!k.gzip);
}

static void test_load_pipe(void)
{
	struct arm_kernel k;
	const char *err = NULL;

	/* text_offset 0 (Linux >= 5.8): the header decides, not a default. */
	make_kernel(0, SZ_1M, STD_FLAGS);
	CHECK(load_from_pipe(kernel, sizeof(kernel), MMFR0_ALL, &k, &err) == 0);
	check_placed(&k, 0, SZ_1M);
	make_kernel(0x80000, SZ_1M, STD_FLAGS);
	CHECK(load_from_pipe(kernel, sizeof(kernel), MMFR0_ALL, &k, &err) == 0);
	check_placed(&k, 0x80000, SZ_1M);
	/* Old kernels: no image_size, so RAM bounds the read. */
	make_kernel(0, 0, 0);
	CHECK(load_from_pipe(kernel, sizeof(kernel), MMFR0_ALL, &k, &err) == 0);
	check_placed(&k, 0x80000, 0);
}

static size_t gzip_kernel(u8 *out, size_t room)
{
	z_stream zs = { 0 };
	size_t n;

	if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	zs.next_in = kernel;
	zs.avail_in = sizeof(kernel);
	zs.next_out = out;
	zs.avail_out = room;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		return 0;
	}
	n = zs.total_out;
	deflateEnd(&zs);
	return n;
}

static u8 gz[KERNEL_LEN + 4096];

static void test_load_gzip(void)
{
	struct arm_kernel k;
	const char *err = NULL;
	size_t n;

	make_kernel(0x200000, SZ_1M, STD_FLAGS);
	n = gzip_kernel(gz, sizeof(gz));
	CHECK(n > 0);
	CHECK(load_from_pipe(gz, n, MMFR0_ALL, &k, &err) == 0);
	check_placed(&k, 0x200000, SZ_1M);
	CHECK(k.gzip);
	CHECK(load_from_file(gz, n, &k, &err) == 0);
	check_placed(&k, 0x200000, SZ_1M);
	/* Trailing bytes after the gzip member are not the kernel's. */
	memset(gz + n, 0, 16);
	CHECK(load_from_pipe(gz, n + 16, MMFR0_ALL, &k, &err) == 0);
	CHECK_EQ(k.file_size, KERNEL_LEN);
}

static void test_load_gzip_corrupt(void)
{
	struct arm_kernel k;
	const char *err = NULL;
	size_t n;

	make_kernel(0, SZ_1M, STD_FLAGS);
	n = gzip_kernel(gz, sizeof(gz));
	CHECK_REFUSED(gz, n / 2, MMFR0_ALL, "truncated gzip");
	gz[n / 2] ^= 0xff;
	gz[n / 2 + 1] ^= 0x55;
	CHECK_REFUSED(gz, n, MMFR0_ALL, "gzip");
	/* Only the magic: the header can never be complete. */
	CHECK_REFUSED(gz, 2, MMFR0_ALL, "gzip");
}

static void test_load_refused(void)
{
	struct arm_kernel k;
	const char *err = NULL;

	/* Bigger than its header claims. */
	make_kernel(0, 4096, STD_FLAGS);
	CHECK_REFUSED(kernel, sizeof(kernel), MMFR0_ALL, "larger than the image_size");
	/* More than guest memory. */
	make_kernel(RAM_SIZE - SZ_2M, SZ_2M + 4096, STD_FLAGS);
	CHECK_REFUSED(kernel, sizeof(kernel), MMFR0_ALL, "does not fit");
	/* Page size the CPU lacks, big-endian, truncated: one reason each. */
	make_kernel(0, SZ_1M, 1ULL << ARM_IMAGE_PAGE_SHIFT);
	CHECK_REFUSED(kernel, sizeof(kernel), MMFR0_NO_4K, "4 KiB pages");
	make_kernel(0, SZ_1M, STD_FLAGS | ARM_IMAGE_FLAG_BE);
	CHECK_REFUSED(kernel, sizeof(kernel), MMFR0_ALL, "big-endian");
	make_kernel(0, SZ_1M, STD_FLAGS);
	CHECK_REFUSED(kernel, 40, MMFR0_ALL, "truncated");
	CHECK_REFUSED(kernel, 0, MMFR0_ALL, "empty");
}

/* A raw binary: kvm-unit-tests' .flat files start with code, no header. */
static void make_raw(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(kernel); i++)
		kernel[i] = (u8)(i * 13 + 1);
	/* A branch, as a .flat starts; nothing an Image or ELF would have. */
	put_le32(kernel, 0x14000010);
}

static void test_raw_check(void)
{
	const char *err = NULL;
	u8 buf[ARM_IMAGE_HDR_SIZE];

	make_raw();
	CHECK(arm_raw_check(kernel, sizeof(kernel), &err) == 0);
	CHECK(arm_raw_check(kernel, ARM_IMAGE_HDR_SIZE, &err) == 0);
	/* All zeros is a (useless) raw binary, as for kvmtool. */
	memset(buf, 0, sizeof(buf));
	CHECK(arm_raw_check(buf, sizeof(buf), &err) == 0);
	CHECK(arm_raw_check(kernel, 0, &err) == -1 && strstr(err, "empty"));
	CHECK(arm_raw_check(kernel, 63, &err) == -1 && strstr(err, "truncated"));
	/* What is recognisably something else is named. */
	memcpy(buf, "\x7f" "ELF", 4);
	CHECK(arm_raw_check(buf, sizeof(buf), &err) == -1 && strstr(err, "ELF"));
	memcpy(buf, "\x1f\x8b\x08\0", 4);
	CHECK(arm_raw_check(buf, sizeof(buf), &err) == -1 && strstr(err, "gzip"));
	memcpy(buf, "MZ\0\0", 4);
	CHECK(arm_raw_check(buf, sizeof(buf), &err) == -1 && strstr(err, "PE/EFI"));
	memcpy(buf, "MZ\0\0zimg", 8);
	CHECK(arm_raw_check(buf, sizeof(buf), &err) == -1 && strstr(err, "zboot"));
	memset(buf, 0, sizeof(buf));
	put_le32(buf + ARM_ZIMAGE_MAGIC_OFF, ARM_ZIMAGE_MAGIC);
	CHECK(arm_raw_check(buf, sizeof(buf), &err) == -1 && strstr(err, "--aarch32"));
	/* An Image is not raw (arm_image_parse() judges it). */
	make_kernel(0, SZ_1M, STD_FLAGS);
	CHECK(arm_raw_check(kernel, sizeof(kernel), &err) == -1);
}

static void test_load_raw(void)
{
	struct arm_kernel k;
	const char *err = NULL;

	make_raw();
	CHECK(load_from_file(kernel, sizeof(kernel), &k, &err) == 0);
	CHECK(k.raw);
	check_placed(&k, ARM_RAW_TEXT_OFFSET, 0);
	CHECK(load_from_pipe(kernel, sizeof(kernel), MMFR0_ALL, &k, &err) == 0);
	CHECK(k.raw);
	check_placed(&k, ARM_RAW_TEXT_OFFSET, 0);
	/* The page size check is the Image's: a raw binary has none. */
	CHECK(load_from_pipe(kernel, sizeof(kernel), MMFR0_NO_4K, &k, &err) == 0);
	/* A header's worth of bytes is enough. */
	CHECK(load_from_pipe(kernel, ARM_IMAGE_HDR_SIZE, MMFR0_ALL, &k, &err) == 0);
	CHECK_EQ(k.file_size, ARM_IMAGE_HDR_SIZE);
	CHECK_EQ(k.end, RAM_GPA + ARM_RAW_TEXT_OFFSET + ARM_IMAGE_HDR_SIZE);
}

static void test_load_raw_hostile(void)
{
	static u8 big[RAM_SIZE + 4096];
	struct arm_kernel k;
	const char *err = NULL;
	u8 elf[128] = { 0x7f, 'E', 'L', 'F' };

	/* Larger than RAM above the text offset: refused, nothing beyond. */
	memset(big, 0x5a, sizeof(big));
	CHECK_REFUSED(big, RAM_SIZE - ARM_RAW_TEXT_OFFSET + 1, MMFR0_ALL, "does not fit");
	err = NULL;
	CHECK(load_from_file(big, sizeof(big), &k, &err) == -1);
	CHECK(err && strstr(err, "does not fit"));
	/* Exactly filling RAM is fine. */
	CHECK(load_from_pipe(big, RAM_SIZE - ARM_RAW_TEXT_OFFSET, MMFR0_ALL, &k, &err) == 0);
	CHECK_EQ(k.end, RAM_GPA + RAM_SIZE);
	CHECK_REFUSED(elf, sizeof(elf), MMFR0_ALL, "ELF");
	/* A gzip stream holding no Image is not a raw binary either. */
	make_raw();
	{
		z_stream zs = { 0 };
		size_t n;

		CHECK(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				   Z_DEFAULT_STRATEGY) == Z_OK);
		zs.next_in = kernel;
		zs.avail_in = sizeof(kernel);
		zs.next_out = gz;
		zs.avail_out = sizeof(gz);
		CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
		n = zs.total_out;
		deflateEnd(&zs);
		CHECK_REFUSED(gz, n, MMFR0_ALL, "not an arm64 Image");
	}
}

static int load_firmware(const u8 *buf, size_t len, u64 addr, struct arm_kernel *k,
			 const char **err)
{
	return pipe_load(buf, len, 0, addr, k, err);
}

static void test_firmware(void)
{
	static u8 big[RAM_SIZE];
	struct arm_kernel k;
	const char *err = NULL;

	/* Even an Image is taken as bytes, at the address given. */
	make_kernel(0x80000, SZ_1M, STD_FLAGS);
	CHECK(load_firmware(kernel, sizeof(kernel), RAM_GPA, &k, &err) == 0);
	CHECK(k.raw);
	CHECK_EQ(k.load, RAM_GPA);
	CHECK_EQ(k.end, RAM_GPA + sizeof(kernel));
	CHECK(memcmp(ram, kernel, sizeof(kernel)) == 0);
	CHECK(ram[sizeof(kernel)] == 0xee);
	CHECK(load_firmware(kernel, sizeof(kernel), RAM_GPA + SZ_2M, &k, &err) == 0);
	CHECK(memcmp(ram + SZ_2M, kernel, sizeof(kernel)) == 0 && ram[SZ_2M - 1] == 0xee);
	/* Hostile addresses and sizes. */
	err = NULL;
	CHECK(load_firmware(kernel, sizeof(kernel), RAM_GPA - 4, &k, &err) == -1);
	CHECK(err && strstr(err, "outside guest RAM"));
	err = NULL;
	CHECK(load_firmware(kernel, sizeof(kernel), RAM_GPA + RAM_SIZE, &k, &err) == -1);
	CHECK(err && strstr(err, "outside guest RAM"));
	err = NULL;
	CHECK(load_firmware(kernel, sizeof(kernel), ~0ULL - 3, &k, &err) == -1);
	CHECK(err && strstr(err, "outside guest RAM"));
	err = NULL;
	CHECK(load_firmware(kernel, sizeof(kernel), RAM_GPA + 2, &k, &err) == -1);
	CHECK(err && strstr(err, "aligned"));
	err = NULL;
	CHECK(load_firmware(kernel, 0, RAM_GPA, &k, &err) == -1);
	CHECK(err && strstr(err, "empty"));
	err = NULL;
	CHECK(load_firmware(big, sizeof(big), RAM_GPA + 4096, &k, &err) == -1);
	CHECK(err && strstr(err, "does not fit"));
	CHECK(load_firmware(big, sizeof(big) - 4096, RAM_GPA + 4096, &k, &err) == 0);
	CHECK_EQ(k.end, RAM_GPA + RAM_SIZE);
}

TEST_MAIN_BEGIN("arm-image")
	/* The loader stops reading early on errors; the feeder must not die. */
	signal(SIGPIPE, SIG_IGN);
	ram = malloc(RAM_SIZE);
	RUN(test_parse_good);
	RUN(test_parse_old_kernel);
	RUN(test_parse_truncated);
	RUN(test_parse_big_endian);
	RUN(test_parse_bad_magic);
	RUN(test_parse_hostile_sizes);
	RUN(test_page_sizes);
	RUN(test_avoid_lpa2);
	RUN(test_load_file);
	RUN(test_load_pipe);
	RUN(test_load_gzip);
	RUN(test_load_gzip_corrupt);
	RUN(test_load_refused);
	RUN(test_raw_check);
	RUN(test_load_raw);
	RUN(test_load_raw_hostile);
	RUN(test_firmware);
	free(ram);
TEST_MAIN_END()
