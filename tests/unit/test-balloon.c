// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon: queue numbering for every feature combination, the
 * translation and inward rounding of guest ranges (hostile ones included),
 * discarding on each kind of RAM backing, statistics parsing, and the
 * device itself driven through a fake transport: inflate/deflate with bad
 * PFNs, free page reporting with unaligned and hostile ranges, the
 * statistics request/refresh cycle and the target set by the host.
 */
#include <fcntl.h>
#include <linux/virtio_ids.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/balloon.h"
#include "lkvm/mem-discard.h"
#include "test.h"
#include "fake-virtio.h"

#define F(x)		(1ULL << VIRTIO_BALLOON_F_##x)
#define PG		4096ULL

/* ---- queue numbering ---------------------------------------------------- */

static void test_queue_numbering(void)
{
	/* Every combination of the three optional queues. */
	static const struct {
		u64 features;
		enum balloon_vq_role role[6];
	} cases[] = {
		{ 0, { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE, BALLOON_VQ_NONE } },
		{ F(STATS_VQ), { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE, BALLOON_VQ_STATS,
				 BALLOON_VQ_NONE } },
		{ F(FREE_PAGE_HINT), { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE,
				       BALLOON_VQ_FREE_PAGE, BALLOON_VQ_NONE } },
		{ F(REPORTING), { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE,
				  BALLOON_VQ_REPORTING, BALLOON_VQ_NONE } },
		{ F(STATS_VQ) | F(FREE_PAGE_HINT),
		  { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE, BALLOON_VQ_STATS,
		    BALLOON_VQ_FREE_PAGE, BALLOON_VQ_NONE } },
		{ F(STATS_VQ) | F(REPORTING),
		  { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE, BALLOON_VQ_STATS,
		    BALLOON_VQ_REPORTING, BALLOON_VQ_NONE } },
		{ F(FREE_PAGE_HINT) | F(REPORTING),
		  { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE, BALLOON_VQ_FREE_PAGE,
		    BALLOON_VQ_REPORTING, BALLOON_VQ_NONE } },
		{ F(STATS_VQ) | F(FREE_PAGE_HINT) | F(REPORTING),
		  { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE, BALLOON_VQ_STATS,
		    BALLOON_VQ_FREE_PAGE, BALLOON_VQ_REPORTING, BALLOON_VQ_NONE } },
	};
	/* Bits that have no queue must not shift the numbering. */
	static const u64 noise[] = {
		0, F(MUST_TELL_HOST) | F(DEFLATE_ON_OOM) | F(PAGE_POISON),
		(1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX),
	};
	unsigned int c, i, k;

	for (k = 0; k < ARRAY_SIZE(noise); k++) {
		for (c = 0; c < ARRAY_SIZE(cases); c++) {
			u64 f = cases[c].features | noise[k];
			unsigned int n = 0;

			for (i = 0; i < 6; i++) {
				CHECK_EQ(balloon_vq_role(f, i), cases[c].role[i]);
				if (cases[c].role[i] == BALLOON_VQ_NONE)
					break;
				CHECK_EQ(balloon_vq_index(f, cases[c].role[i]), i);
				n++;
			}
			CHECK_EQ(balloon_nr_vqs(f), n);
			CHECK_EQ(balloon_vq_role(f, 100), BALLOON_VQ_NONE);
			CHECK_EQ(balloon_vq_role(f, ~0U), BALLOON_VQ_NONE);
		}
	}
	/* Roles absent with these features have no index. */
	CHECK_EQ(balloon_vq_index(F(STATS_VQ), BALLOON_VQ_REPORTING), (u64)-1);
	CHECK_EQ(balloon_vq_index(0, BALLOON_VQ_STATS), (u64)-1);
	/* The one combination Linux uses without statistics. */
	CHECK_EQ(balloon_vq_index(F(REPORTING), BALLOON_VQ_REPORTING), 2);
}

/* ---- guest range translation --------------------------------------------- */

/* An x86 layout of 4 GiB: [0, 3 GiB) and [4 GiB, 5 GiB), one host mapping. */
#define FAKE_HOST	0x7f0000000000ULL
static struct guest_mem x86_mem(void)
{
	struct guest_mem m = { 0 };

	guest_mem_add_bank(&m, 0, 3 * SZ_1G, (void *)(uintptr_t)FAKE_HOST);
	guest_mem_add_bank(&m, SZ_4G, SZ_1G, (void *)(uintptr_t)(FAKE_HOST + 3 * SZ_1G));
	return m;
}

static u64 h(u64 off)
{
	return FAKE_HOST + off;
}

static void test_range_valid(void)
{
	struct guest_mem m = x86_mem();
	struct host_range r[4];

	/* Aligned: exactly the range. */
	CHECK_EQ(guest_range_to_host(&m, SZ_2M, SZ_2M, PG, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(SZ_2M));
	CHECK_EQ(r[0].len, SZ_2M);
	/* The last page below the hole, and the first and last above it. */
	CHECK_EQ(guest_range_to_host(&m, 3 * SZ_1G - PG, PG, PG, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(3 * SZ_1G - PG));
	CHECK_EQ(guest_range_to_host(&m, SZ_4G, PG, PG, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(3 * SZ_1G));
	CHECK_EQ(guest_range_to_host(&m, SZ_4G + SZ_1G - PG, PG, PG, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(4 * SZ_1G - PG));
	/* All of RAM below the hole. */
	CHECK_EQ(guest_range_to_host(&m, 0, 3 * SZ_1G, PG, r, 4), 1);
	CHECK_EQ(r[0].len, 3 * SZ_1G);
}

static void test_range_rounding(void)
{
	struct guest_mem m = x86_mem();
	struct host_range r[4];

	/* Unaligned on both ends: only the whole pages inside. */
	CHECK_EQ(guest_range_to_host(&m, 0x10001, 3 * PG, PG, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(0x11000));
	CHECK_EQ(r[0].len, 2 * PG);
	CHECK_EQ(guest_range_to_host(&m, 0x10000, 2 * PG + 1, PG, r, 4), 1);
	CHECK_EQ(r[0].len, 2 * PG);
	CHECK_EQ(guest_range_to_host(&m, 0x10fff, PG + 2, PG, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(0x11000));
	CHECK_EQ(r[0].len, PG);
	/* Less than a page, or a page straddling two: nothing whole. */
	CHECK_EQ(guest_range_to_host(&m, 0x10000, PG - 1, PG, r, 4), 0);
	CHECK_EQ(guest_range_to_host(&m, 0x10800, PG, PG, r, 4), 0);
	CHECK_EQ(guest_range_to_host(&m, 0x10001, 1, PG, r, 4), 0);
	/* 64 KiB host pages (arm64): rounding inward to those. */
	CHECK_EQ(guest_range_to_host(&m, 0x1000, 0x30000, SZ_64K, r, 4), 1);
	CHECK_EQ((uintptr_t)r[0].host, h(0x10000));
	CHECK_EQ(r[0].len, 0x20000);
	CHECK_EQ(guest_range_to_host(&m, 0x1000, 0x10000, SZ_64K, r, 4), 0);
	/* A page size that is not a power of two, or zero. */
	CHECK_EQ(guest_range_to_host(&m, 0, PG, 0, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, 0, PG, 3000, r, 4), (u64)-1);
}

static void test_range_hostile(void)
{
	struct guest_mem m = x86_mem();
	struct host_range r[4];

	/* Zero length. */
	CHECK_EQ(guest_range_to_host(&m, 0x10000, 0, PG, r, 4), (u64)-1);
	/* Wrapping around the address space. */
	CHECK_EQ(guest_range_to_host(&m, ~0ULL - PG + 1, 2 * PG, PG, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, PG, ~0ULL, PG, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, ~0ULL, 1, PG, r, 4), (u64)-1);
	/* In the 3-4 GiB hole, and straddling either of its edges. */
	CHECK_EQ(guest_range_to_host(&m, 3 * SZ_1G, PG, PG, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, 3 * SZ_1G - PG, 2 * PG, PG, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, SZ_4G - PG, 2 * PG, PG, r, 4), (u64)-1);
	/* Spanning the whole hole: both ends are RAM, the middle isn't. */
	CHECK_EQ(guest_range_to_host(&m, 3 * SZ_1G - PG, SZ_1G + 2 * PG, PG, r, 4),
		 (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, 0, 5 * SZ_1G, PG, r, 4), (u64)-1);
	/* Above the top of RAM, and running past it. */
	CHECK_EQ(guest_range_to_host(&m, 5 * SZ_1G, PG, PG, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, 5 * SZ_1G - PG, 2 * PG, PG, r, 4), (u64)-1);
	CHECK_EQ(guest_range_to_host(&m, 1ULL << 52, PG, PG, r, 4), (u64)-1);
	/* Unaligned and outside: still refused, not rounded into RAM. */
	CHECK_EQ(guest_range_to_host(&m, 3 * SZ_1G - 1, 2, PG, r, 4), (u64)-1);
}

static void test_range_adjacent_banks(void)
{
	struct guest_mem m = { 0 };
	struct host_range r[4];

	/* Touching in guest-physical space, far apart on the host. */
	guest_mem_add_bank(&m, 0, SZ_1M, (void *)(uintptr_t)0x100000000ULL);
	guest_mem_add_bank(&m, SZ_1M, SZ_1M, (void *)(uintptr_t)0x900000000ULL);
	CHECK_EQ(guest_range_to_host(&m, SZ_1M - 2 * PG + 1, 4 * PG + 2, PG, r, 4), 2);
	CHECK_EQ((uintptr_t)r[0].host, 0x100000000ULL + SZ_1M - PG);
	CHECK_EQ(r[0].len, PG);
	CHECK_EQ((uintptr_t)r[1].host, 0x900000000ULL);
	CHECK_EQ(r[1].len, 2 * PG);
	/* Not enough room for the pieces: refused, not truncated. */
	CHECK_EQ(guest_range_to_host(&m, SZ_1M - PG, 2 * PG, PG, r, 1), (u64)-1);
	/* A piece that rounds to nothing takes no slot. */
	CHECK_EQ(guest_range_to_host(&m, SZ_1M - 100, PG + 100, PG, r, 1), 1);
	CHECK_EQ((uintptr_t)r[0].host, 0x900000000ULL);
}

/* ---- discarding ------------------------------------------------------------ */

static bool resident(void *p)
{
	unsigned char v = 0;

	return mincore(p, PG, &v) == 0 && (v & 1);
}

static bool all(const u8 *p, u8 c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

static void test_discard_private_anon(void)
{
	size_t size = 64 * PG;
	u8 *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	struct ram_backing b = { .base = m, .size = size, .fd = -1, .page_size = PG };

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	madvise(m, size, MADV_NOHUGEPAGE);
	memset(m, 0xaa, size);
	/* Unaligned: pages 2 and 3 go, the partial pages 1 and 4 stay. */
	CHECK_EQ(ram_discard(&b, m + PG + 100, 3 * PG), 2 * PG);
	CHECK(all(m + PG, 0xaa, PG));
	CHECK(!resident(m + 2 * PG));
	CHECK(!resident(m + 3 * PG));
	CHECK(all(m + 2 * PG, 0, 2 * PG));
	CHECK(all(m + 4 * PG, 0xaa, PG));
	/* Sub-page: nothing. */
	CHECK_EQ(ram_discard(&b, m + 10 * PG + 1, PG - 2), 0);
	CHECK(all(m + 10 * PG, 0xaa, PG));
	/* The whole mapping. */
	CHECK_EQ(ram_discard(&b, m, size), size);
	CHECK(all(m, 0, size));
	/* Outside the backing, wrapping, empty. */
	memset(m, 0xbb, size);
	CHECK_EQ(ram_discard(&b, m - PG, 2 * PG), (u64)-1);
	CHECK_EQ(ram_discard(&b, m + size - PG, 2 * PG), (u64)-1);
	CHECK_EQ(ram_discard(&b, m + PG, ~0ULL - 10), (u64)-1);
	CHECK_EQ(ram_discard(&b, m + PG, 0), (u64)-1);
	CHECK_EQ(ram_discard(&b, m + size, PG), (u64)-1);
	CHECK(all(m, 0xbb, size));
	munmap(m, size);
}

static void test_discard_shared_anon(void)
{
	size_t size = 16 * PG;
	u8 *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	struct ram_backing b = { .base = m, .size = size, .fd = -1, .shared = true,
				 .page_size = PG };

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	memset(m, 0xcc, size);
	CHECK_EQ(ram_discard(&b, m + 4 * PG, 4 * PG), 4 * PG);
	CHECK(all(m + 4 * PG, 0, 4 * PG));
	CHECK(all(m, 0xcc, 4 * PG));
	CHECK(all(m + 8 * PG, 0xcc, 8 * PG));
	munmap(m, size);
}

/* A memfd backing, as a shared-memory or file backend would give. */
static void test_discard_memfd(void)
{
	size_t size = 256 * PG;
	int fd = memfd_create("lkvm-test", MFD_CLOEXEC);
	struct ram_backing b = { .fd = fd, .shared = true, .page_size = PG };
	struct stat st0, st1;
	u8 *m, buf[PG];

	CHECK(fd >= 0);
	if (fd < 0 || ftruncate(fd, size) < 0)
		return;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	b.base = m;
	b.size = size;
	memset(m, 0xdd, size);
	fstat(fd, &st0);
	CHECK_EQ(ram_discard(&b, m + 64 * PG - 1, 128 * PG + 2), 128 * PG);
	fstat(fd, &st1);
	/* The file gave the blocks back and reads zeroes there. */
	CHECK(st1.st_blocks <= st0.st_blocks - (128 * PG) / 512);
	CHECK_EQ(st1.st_size, size);
	CHECK(all(m + 64 * PG, 0, 128 * PG));
	CHECK(all(m + 63 * PG, 0xdd, PG));
	CHECK(all(m + 192 * PG, 0xdd, PG));
	CHECK(pread(fd, buf, PG, 100 * PG) == PG && all(buf, 0, PG));

	/* A file offset: the backing starts 16 pages into the file. */
	memset(m, 0xee, size);
	b.base = m + 16 * PG;
	b.size = size - 16 * PG;
	b.fd_offset = 16 * PG;
	CHECK_EQ(ram_discard(&b, m + 16 * PG, PG), PG);
	CHECK(all(m + 15 * PG, 0xee, PG));
	CHECK(all(m + 16 * PG, 0, PG));
	CHECK(all(m + 17 * PG, 0xee, PG));
	munmap(m, size);

	/* A private mapping of the file: our copies go, the file shows again. */
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		b = (struct ram_backing){ .base = m, .size = size, .fd = fd,
					  .page_size = PG };
		memset(m, 0x11, 2 * PG);
		CHECK_EQ(ram_discard(&b, m, PG), PG);
		CHECK(all(m, 0xee, PG));
		CHECK(all(m + PG, 0x11, PG));
		munmap(m, size);
	}
	close(fd);
}

/* ---- statistics parsing ----------------------------------------------------- */

static size_t put_stat(u8 *p, u16 tag, u64 val)
{
	tag = htole16(tag);
	val = htole64(val);
	memcpy(p, &tag, 2);
	memcpy(p + 2, &val, 8);
	return 10;
}

static void test_parse_stats(void)
{
	u8 buf[128];
	size_t n = 0;
	struct balloon_stats st = { 0 };

	n += put_stat(buf + n, VIRTIO_BALLOON_S_MEMFREE, 123456789);
	n += put_stat(buf + n, VIRTIO_BALLOON_S_MEMTOT, 1ULL << 30);
	n += put_stat(buf + n, 999, 5);			/* unknown: ignored */
	n += put_stat(buf + n, 15, 7);			/* highest known tag */
	n += put_stat(buf + n, BALLOON_NR_STATS, 9);	/* just past it */
	CHECK_EQ(balloon_parse_stats(buf, n + 4, &st), 3);	/* + a partial entry */
	CHECK_EQ(st.mask, (1U << VIRTIO_BALLOON_S_MEMFREE) |
			  (1U << VIRTIO_BALLOON_S_MEMTOT) | (1U << 15));
	CHECK_EQ(st.val[VIRTIO_BALLOON_S_MEMFREE], 123456789);
	CHECK_EQ(st.val[VIRTIO_BALLOON_S_MEMTOT], 1ULL << 30);
	CHECK_EQ(st.val[15], 7);
	memset(&st, 0, sizeof(st));
	CHECK_EQ(balloon_parse_stats(buf, 9, &st), 0);
	CHECK_EQ(balloon_parse_stats(buf, 0, &st), 0);
	CHECK_EQ(st.mask, 0);
	/* A repeated tag: the last one counts. */
	n = put_stat(buf, 4, 1);
	n += put_stat(buf + n, 4, 2);
	CHECK_EQ(balloon_parse_stats(buf, n, &st), 2);
	CHECK_EQ(st.val[4], 2);
}

/* ---- the device through a fake transport ------------------------------------ */

#define DATA		FV_BUF_BASE	/* page-aligned guest buffers from here */

static struct virtio_device *bdev;
static struct fv_q q[4];
static unsigned int nq;

/* Reset, negotiate @feat and set up the queues the features give. */
static bool driver_up(u64 feat)
{
	feat |= 1ULL << VIRTIO_F_VERSION_1;
	nq = balloon_nr_vqs(feat);
	return fv_driver_up(bdev, feat, q, nq, 0);
}

static struct balloon_info info(int refresh_ms)
{
	struct balloon_info bi;

	CHECK_EQ(balloon_get_info(&fv_kvm, &bi, refresh_ms), 0);
	return bi;
}

static void fill(u64 gpa, u8 c, u64 len)
{
	memset(fv_ram + gpa, c, len);
}

static bool ram_is(u64 gpa, u8 c, u64 len)
{
	return all(fv_ram + gpa, c, len);
}

static void test_dev_config(void)
{
	u64 f = fv_features(bdev);

	CHECK(f & F(STATS_VQ));
	CHECK(f & F(REPORTING));
	/* Not implemented, so not offered. */
	CHECK(!(f & F(PAGE_POISON)));
	CHECK(!(f & F(FREE_PAGE_HINT)));
	CHECK(!(f & F(DEFLATE_ON_OOM)));
	CHECK(!(f & F(MUST_TELL_HOST)));
	CHECK_EQ(bdev->nr_queues, 4);
	CHECK(bdev->queue_max_size >= BALLOON_REPORTING_MIN_QUEUE);
	CHECK_EQ(bdev->ops->device_id, VIRTIO_ID_BALLOON);
}

static void test_dev_inflate_deflate(void)
{
	u32 pfns[24];
	u64 list = DATA;
	struct balloon_info b0, b1;
	unsigned int i, n = 0;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	b0 = info(0);
	CHECK(b0.driver_ok);
	fill(0x400000, 0x5a, 32 * PG);
	/* 16 contiguous pages, 2 single ones, and hostile PFNs. */
	for (i = 0; i < 16; i++)
		pfns[n++] = htole32(0x400 + i);
	pfns[n++] = htole32(0x412);
	pfns[n++] = htole32(0x414);
	pfns[n++] = htole32(FV_RAM_SIZE / PG);	/* just past RAM */
	pfns[n++] = htole32(0xffffffff);
	pfns[n++] = htole32(0xc0000);		/* the 3 GiB hole */
	memcpy(fv_ram + list, pfns, n * 4);
	/* Plus a trailing partial PFN, which is ignored. */
	fv_add(&q[0], (struct fv_seg[]){ { list, n * 4 + 2, false } }, 1);
	CHECK(fv_kick_wait(&q[0], 1));
	b1 = info(0);
	CHECK_EQ(b1.inflated_pages - b0.inflated_pages, 18);
	CHECK_EQ(b1.inflate_freed_bytes - b0.inflate_freed_bytes, 18 * PG);
	CHECK_EQ(b1.rejected - b0.rejected, 3);
	CHECK(ram_is(0x400000, 0, 16 * PG));
	CHECK(ram_is(0x410000, 0x5a, 2 * PG));
	CHECK(ram_is(0x412000, 0, PG));
	CHECK(ram_is(0x413000, 0x5a, PG));
	CHECK(ram_is(0x414000, 0, PG));
	CHECK(ram_is(0x415000, 0x5a, 11 * PG));

	/* Deflate: counted, nothing else to do; the pages are usable. */
	fv_add(&q[1], (struct fv_seg[]){ { list, 16 * 4, false } }, 1);
	CHECK(fv_kick_wait(&q[1], 1));
	CHECK_EQ(info(0).deflated_pages - b0.deflated_pages, 16);
	fill(0x400000, 0x77, PG);
	CHECK(ram_is(0x400000, 0x77, PG));

	/* An empty request, and one split over two segments. */
	fv_add(&q[0], (struct fv_seg[]){ { list, 0, false } }, 1);
	CHECK(fv_kick_wait(&q[0], 1));
	pfns[0] = htole32(0x500);
	pfns[1] = htole32(0x501);
	memcpy(fv_ram + list, pfns, 8);
	fill(0x500000, 0x33, 2 * PG);
	fv_add(&q[0], (struct fv_seg[]){ { list, 2, false }, { list + 2, 6, false } }, 2);
	CHECK(fv_kick_wait(&q[0], 1));
	CHECK(ram_is(0x500000, 0, 2 * PG));
}

/*
 * One inflate request whose 1024 descriptors (an indirect table) all name
 * the same 4 MiB of PFNs: a billion PFNs from a few KiB of guest memory.
 * No driver sends more than a few hundred at a time; the worker must not
 * spend minutes (holding the device lock, so the VM could not even be
 * stopped) on one request.
 */
static void test_dev_inflate_huge(void)
{
	const u64 table = DATA + 0x100000, list = DATA + 0x200000, span = 4 << 20;
	struct vring_desc *t = (struct vring_desc *)(fv_ram + table);
	struct balloon_info b0, b1;
	unsigned int i;
	u64 start;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC)));
	memset(fv_ram + list, 0, span);		/* PFN 0, over and over */
	for (i = 0; i < 1024; i++)
		t[i] = (struct vring_desc){ htole64(list), htole32(span),
					    htole16(i < 1023 ? VRING_DESC_F_NEXT : 0),
					    htole16(i + 1) };
	b0 = info(0);
	fv_add(&q[0], (struct fv_seg[]){ { table, 1024 * 16, false, true } }, 1);
	start = now_ns();
	CHECK(fv_kick_wait(&q[0], 1));
	CHECK(now_ns() - start < 3000000000ULL);
	b1 = info(0);
	CHECK(b1.inflated_pages - b0.inflated_pages < 1024ULL * span / 4);
	CHECK_EQ(b1.inflated_pages - b0.inflated_pages + b1.rejected - b0.rejected,
		 1024ULL * span / 4);
	CHECK(!(virtio_get_status(bdev) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* PFNs in any order, with duplicates, over more than one sorting batch. */
static void test_dev_inflate_unordered(void)
{
	static u32 pfns[1100];
	const unsigned int asc = ARRAY_SIZE(pfns) - 0x82;
	struct balloon_info b0, b1;
	unsigned int i, n = 0;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	b0 = info(0);
	fill(0xb00000, 0x3c, 0x500000);
	/* 0xb00..0xb7f descending, two duplicates, then 0xc00.. ascending. */
	for (i = 0; i < 0x80; i++)
		pfns[n++] = htole32(0xb7f - i);
	pfns[n++] = htole32(0xb10);
	pfns[n++] = htole32(0xb7f);
	for (i = 0; i < asc; i++)
		pfns[n++] = htole32(0xc00 + i);
	memcpy(fv_ram + DATA, pfns, sizeof(pfns));
	fv_add(&q[0], (struct fv_seg[]){ { DATA, sizeof(pfns), false } }, 1);
	CHECK(fv_kick_wait(&q[0], 1));
	b1 = info(0);
	CHECK_EQ(b1.inflated_pages - b0.inflated_pages, ARRAY_SIZE(pfns));
	CHECK_EQ(b1.inflate_freed_bytes - b0.inflate_freed_bytes, (0x80 + asc) * PG);
	CHECK(ram_is(0xb00000, 0, 0x80 * PG));
	CHECK(ram_is(0xb80000, 0x3c, 0x80 * PG));
	CHECK(ram_is(0xc00000, 0, asc * PG));
	CHECK(ram_is(0xc00000 + asc * PG, 0x3c, 0x1000000 - 0xc00000 - asc * PG));
}

static void test_dev_reporting(void)
{
	struct balloon_info b0, b1;
	u8 status;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	b0 = info(0);
	fill(0x600000, 0x66, SZ_2M + 4 * PG);
	/*
	 * A 2 MiB block, an unaligned range (rounded inward), one less than
	 * a page and a zero-length one, in one chain.
	 */
	fv_add(&q[3], (struct fv_seg[]){
		{ 0x600000, SZ_2M, true },
		{ 0x800000 + 100, 2 * PG, true },
		{ 0x802000 + 1, PG - 2, true },
		{ 0x803000, 0, true },
	}, 4);
	CHECK(fv_kick_wait(&q[3], 1));
	CHECK_EQ(le32toh(q[3].used->ring[0].len), 0);
	b1 = info(0);
	CHECK_EQ(b1.reported_bytes - b0.reported_bytes, SZ_2M + PG);
	CHECK_EQ(b1.reports - b0.reports, 3);
	CHECK(ram_is(0x600000, 0, SZ_2M));
	CHECK(ram_is(0x800000, 0x66, 100));
	CHECK(ram_is(0x801000, 0, PG));
	CHECK(ram_is(0x802000, 0x66, 2 * PG));
	/* A device-readable segment reports nothing. */
	fill(0x900000, 0x44, PG);
	fv_add(&q[3], (struct fv_seg[]){ { 0x900000, PG, false } }, 1);
	CHECK(fv_kick_wait(&q[3], 1));
	CHECK(ram_is(0x900000, 0x44, PG));
	CHECK_EQ(info(0).rejected - b1.rejected, 1);

	/* Outside RAM: the ring is broken, the device asks for a reset. */
	status = virtio_get_status(bdev);
	CHECK(!(status & VIRTIO_CONFIG_S_NEEDS_RESET));
	fv_add(&q[3], (struct fv_seg[]){ { FV_RAM_SIZE - PG, 2 * PG, true } }, 1);
	virtio_queue_kick(bdev, 3);
	usleep(50000);
	CHECK(virtio_get_status(bdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(ram_is(0x900000, 0x44, PG));
	/* And a reset brings it back. */
	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	CHECK(!(virtio_get_status(bdev) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* Without statistics the reporting queue is queue 2. */
static void test_dev_reporting_without_stats(void)
{
	struct balloon_info b0;

	CHECK(driver_up(F(REPORTING)));
	CHECK_EQ(nq, 3);
	b0 = info(0);
	fill(0xa00000, 0x12, 4 * PG);
	fv_add(&q[2], (struct fv_seg[]){ { 0xa00000, 4 * PG, true } }, 1);
	CHECK(fv_kick_wait(&q[2], 1));
	CHECK(ram_is(0xa00000, 0, 4 * PG));
	CHECK_EQ(info(0).reported_bytes - b0.reported_bytes, 4 * PG);
	/* Inflate still at 0. */
	fill(0xa10000, 0x12, PG);
	*(u32 *)(fv_ram + DATA) = htole32(0xa10);
	fv_add(&q[0], (struct fv_seg[]){ { DATA, 4, false } }, 1);
	CHECK(fv_kick_wait(&q[0], 1));
	CHECK(ram_is(0xa10000, 0, PG));
	/* Neither statistics nor reporting: only two queues. */
	CHECK(driver_up(0));
	CHECK_EQ(nq, 2);
	CHECK(!(info(0).features & F(REPORTING)));
}

struct refresh_arg {
	struct balloon_info bi;
};

static void *refresher(void *arg)
{
	struct refresh_arg *a = arg;

	balloon_get_info(&fv_kvm, &a->bi, 3000);
	return NULL;
}

static void test_dev_stats(void)
{
	struct refresh_arg a;
	struct balloon_info bi;
	pthread_t t;
	u64 buf = DATA + 0x10000;
	size_t n = 0;
	int i;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	/* The driver's first buffer: the device takes it and keeps it. */
	n += put_stat(fv_ram + buf + n, VIRTIO_BALLOON_S_MEMFREE, 1000);
	n += put_stat(fv_ram + buf + n, VIRTIO_BALLOON_S_MEMTOT, 2000);
	fv_add(&q[2], (struct fv_seg[]){ { buf, n, false } }, 1);
	virtio_queue_kick(bdev, 2);
	for (i = 0; i < 2000 && !info(0).have_stats; i++)
		usleep(1000);
	bi = info(0);
	CHECK(bi.have_stats);
	CHECK_EQ(bi.stats.val[VIRTIO_BALLOON_S_MEMFREE], 1000);
	CHECK_EQ(bi.stats.val[VIRTIO_BALLOON_S_MEMTOT], 2000);
	CHECK_EQ(fv_used_idx(&q[2]), 0);		/* held, not returned */

	/* A refresh returns it; the driver answers with a fresh buffer. */
	pthread_create(&t, NULL, refresher, &a);
	CHECK(fv_wait(&q[2], 1));
	n = put_stat(fv_ram + buf, VIRTIO_BALLOON_S_MEMFREE, 3000);
	fv_add(&q[2], (struct fv_seg[]){ { buf, n, false } }, 1);
	virtio_queue_kick(bdev, 2);
	pthread_join(t, NULL);
	CHECK(a.bi.have_stats);
	CHECK_EQ(a.bi.stats.val[VIRTIO_BALLOON_S_MEMFREE], 3000);
	CHECK_EQ(a.bi.stats.mask, 1U << VIRTIO_BALLOON_S_MEMFREE);
	CHECK(a.bi.stats_age_ms < 3000);

	/* A driver that doesn't answer: the refresh gives up with the old numbers. */
	bi = info(100);
	CHECK(fv_wait(&q[2], 1));
	CHECK_EQ(bi.stats.val[VIRTIO_BALLOON_S_MEMFREE], 3000);
	/* Nothing held now: another refresh returns nothing more. */
	info(50);
	CHECK_EQ(fv_used_idx(&q[2]), q[2].used_seen);
	/* A reset drops the held buffer, the statistics stay. */
	fv_add(&q[2], (struct fv_seg[]){ { buf, n, false } }, 1);
	virtio_queue_kick(bdev, 2);
	usleep(20000);
	virtio_set_status(bdev, 0);
	CHECK(info(0).have_stats);
}

/*
 * The statistics queue stopped (virtio-mmio QueueReady = 0) while the
 * device holds the driver's buffer, and set up again in the same place:
 * the buffer belonged to the old ring, and a refresh must not hand it back
 * into the new one.
 */
static void test_dev_stats_queue_stop(void)
{
	u64 buf = DATA + 0x10000;
	size_t n;
	int i;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	n = put_stat(fv_ram + buf, VIRTIO_BALLOON_S_MEMFREE, 4242);
	fv_add(&q[2], (struct fv_seg[]){ { buf, n, false } }, 1);
	virtio_queue_kick(bdev, 2);
	for (i = 0; i < 2000 && info(0).stats.val[VIRTIO_BALLOON_S_MEMFREE] != 4242; i++)
		usleep(1000);
	CHECK_EQ(info(0).stats.val[VIRTIO_BALLOON_S_MEMFREE], 4242);
	CHECK_EQ(fv_used_idx(&q[2]), 0);			/* held */

	pthread_mutex_lock(&bdev->lock);
	CHECK(fv_queue_restart(&q[2]));
	pthread_mutex_unlock(&bdev->lock);

	info(50);
	CHECK_EQ(fv_used_idx(&q[2]), 0);
	CHECK(!(virtio_get_status(bdev) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static u32 config32(u32 off)
{
	u32 v;

	virtio_config_access(bdev, off, (u8 *)&v, 4, false);
	return le32toh(v);
}

static void test_dev_target(void)
{
	char err[128];
	u32 v;
	int irqs;

	CHECK(driver_up(F(STATS_VQ) | F(REPORTING)));
	irqs = fv_config_irqs;
	CHECK_EQ(config32(0), 0);
	CHECK_EQ(balloon_adjust(&fv_kvm, true, SZ_1M, err, sizeof(err)), 0);
	CHECK_EQ(config32(0), 256);
	CHECK(fv_config_irqs > irqs);
	CHECK_EQ(info(0).target_bytes, SZ_1M);
	CHECK_EQ(balloon_adjust(&fv_kvm, true, SZ_1M + 100, err, sizeof(err)), 0);
	CHECK_EQ(config32(0), 512);
	/* Too little, too much, more than is inflated. */
	CHECK_EQ(balloon_adjust(&fv_kvm, true, 100, err, sizeof(err)), (u64)-1);
	CHECK_EQ(balloon_adjust(&fv_kvm, true, FV_RAM_SIZE, err, sizeof(err)), (u64)-1);
	CHECK_EQ(balloon_adjust(&fv_kvm, true, ~0ULL, err, sizeof(err)), (u64)-1);
	CHECK_EQ(balloon_adjust(&fv_kvm, false, 4 * SZ_1M, err, sizeof(err)), (u64)-1);
	CHECK_EQ(config32(0), 512);
	/* The driver reports actual; it can't move num_pages. */
	v = htole32(300);
	virtio_config_access(bdev, 4, (u8 *)&v, 4, true);
	CHECK_EQ(info(0).actual_bytes, 300 * PG);
	v = htole32(7);
	virtio_config_access(bdev, 0, (u8 *)&v, 4, true);
	CHECK_EQ(config32(0), 512);
	/* Out-of-range config accesses are harmless. */
	virtio_config_access(bdev, 14, (u8 *)&v, 4, true);
	virtio_config_access(bdev, 0xfffffff0, (u8 *)&v, 4, true);
	CHECK_EQ(config32(0), 512);
	CHECK_EQ(balloon_adjust(&fv_kvm, false, 2 * SZ_1M, err, sizeof(err)), 0);
	CHECK_EQ(config32(0), 0);
	/* A reset clears actual, not the host's target. */
	CHECK_EQ(balloon_adjust(&fv_kvm, true, SZ_1M, err, sizeof(err)), 0);
	virtio_set_status(bdev, 0);
	CHECK_EQ(config32(4), 0);
	CHECK_EQ(config32(0), 256);
	CHECK_EQ(balloon_adjust(&fv_kvm, false, SZ_1M, err, sizeof(err)), 0);
}

/*
 * Guest RAM as lkvm maps it: private anonymous memory, or (@memfd) a shared
 * memfd, as with --mem-shared and vhost-user devices, where only a hole
 * punched in the memfd gives memory back.
 */
static bool setup_vm(bool memfd)
{
	if (!fv_setup_ram(memfd))
		return false;
	fv_kvm.cfg.balloon = true;
	if (init_run_stage(&fv_kvm, INIT_VIRTIO) < 0)
		return false;
	bdev = fv_find(VIRTIO_ID_BALLOON);
	return bdev;
}

TEST_MAIN_BEGIN("test-balloon")
	bool memfd = getenv("LKVM_TEST_BALLOON_MEMFD") != NULL;

	if (memfd) {
		/* The second pass: the device tests over a memfd. */
		test_file = "test-balloon-memfd";
		goto device;
	}
	RUN(test_queue_numbering);
	RUN(test_range_valid);
	RUN(test_range_rounding);
	RUN(test_range_hostile);
	RUN(test_range_adjacent_banks);
	RUN(test_discard_private_anon);
	RUN(test_discard_shared_anon);
	RUN(test_discard_memfd);
	RUN(test_parse_stats);
device:
	if (!setup_vm(memfd)) {
		printf("FAIL: unit/%s/setup: the device did not register\n", test_file);
		return 1;
	}
	RUN(test_dev_config);
	RUN(test_dev_inflate_deflate);
	RUN(test_dev_inflate_unordered);
	RUN(test_dev_inflate_huge);
	RUN(test_dev_reporting);
	RUN(test_dev_reporting_without_stats);
	RUN(test_dev_stats);
	RUN(test_dev_stats_queue_stop);
	RUN(test_dev_target);
	fv_teardown();
	if (!memfd) {
		/* The same device tests again, RAM in a memfd, in a fresh process. */
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		int st = -1;
		pid_t pid;

		fflush(stdout);
		if (n > 0 && (pid = fork()) == 0) {
			self[n] = '\0';
			setenv("LKVM_TEST_BALLOON_MEMFD", "1", 1);
			execl(self, self, (char *)NULL);
			_exit(127);
		} else if (n > 0 && pid > 0) {
			waitpid(pid, &st, 0);
		}
		if (st != 0) {
			printf("FAIL: unit/test-balloon-memfd/run: status %d\n", st);
			test_failures++;
		}
	}
TEST_MAIN_END()
