// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk and virtio-rng driven like a guest would (fake-virtio.h): the
 * real device core and worker threads, rings laid out by hand, and
 * temporary image files checked from the host side. Valid requests, hostile ones, read-only disks, reset with I/O in
 * flight, and the disk backend's own refusals (locks, odd sizes).
 */
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "lkvm/disk.h"
#include "test.h"
#include "fake-virtio.h"

#define IMG_SIZE	(1 << 20)	/* bytes */
#define IMG_SECTORS	(IMG_SIZE / 512)

static char img_rw[64], img_ro[64];

struct result {
	u8 status;
	u32 len;
	bool done;
};

static u64 make_hdr(u32 type, u64 sector)
{
	u64 gpa = fv_alloc(16);
	struct virtio_blk_outhdr *h = fv_gp(gpa);

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	return gpa;
}

/* header | data (readable for OUT, writable otherwise) | status */
static struct result blk_req(struct fv_q *q, u32 type, u64 sector, u64 data_gpa,
			     u32 data_len, bool data_write)
{
	u64 st = fv_alloc_align(1, 1);
	struct fv_seg s[3];
	unsigned int n = 0;
	struct result r = { 0 };
	u16 head;

	*(u8 *)fv_gp(st) = 0xee;
	s[n++] = (struct fv_seg){ make_hdr(type, sector), 16, false };
	if (data_len)
		s[n++] = (struct fv_seg){ data_gpa, data_len, data_write };
	s[n++] = (struct fv_seg){ st, 1, true };
	head = fv_add(q, s, n);
	r.done = fv_kick_wait(q, 1);
	r.status = *(u8 *)fv_gp(st);
	r.len = fv_used_len(q, head);
	return r;
}

static void fill_pattern(u8 *p, size_t len, u64 off)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)((off + i) * 7 + ((off + i) >> 9));
}

static int make_image(char *path, const char *tmpl, u64 size)
{
	u8 *buf = malloc(size);
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	fill_pattern(buf, size, 0);
	if (write(fd, buf, size) != (ssize_t)size) {
		close(fd);
		free(buf);
		return -1;
	}
	close(fd);
	free(buf);
	return 0;
}

static bool file_matches(const char *path, u64 off, const void *want, size_t len)
{
	u8 *buf = malloc(len);
	int fd = open(path, O_RDONLY);
	bool ok;

	ok = fd >= 0 && pread(fd, buf, len, off) == (ssize_t)len &&
	     !memcmp(buf, want, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static struct virtio_device *blk_rw, *blk_ro, *rng;
static struct fv_q q_rw[2], q_ro[1], q_rng[1];

static const u64 std_features = (1ULL << VIRTIO_F_VERSION_1) |
	(1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
	(1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
	(1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_MQ) |
	(1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_DISCARD) |
	(1ULL << VIRTIO_BLK_F_WRITE_ZEROES);

/* The read-write disk's driver, reset and up again with @feat. */
static bool blk_up(u64 feat)
{
	return fv_driver_up(blk_rw, feat, q_rw, 2, 0);
}

static void test_config(void)
{
	struct virtio_blk_config c;
	u64 f = fv_features(blk_rw);

	virtio_config_access(blk_rw, 0, (u8 *)&c, sizeof(c), false);
	CHECK_EQ(le64toh(c.capacity), IMG_SECTORS);
	CHECK_EQ(le16toh(c.num_queues), 2);
	CHECK_EQ(le32toh(c.blk_size), 512);
	CHECK(le32toh(c.seg_max) >= 1 && le32toh(c.seg_max) <= VIRTQ_MAX_SEGS - 2);
	CHECK(le32toh(c.max_discard_seg) >= 1);
	CHECK_EQ(le32toh(c.size_max), 64 << 10);
	CHECK_EQ(le32toh(c.seg_max), 254);
	CHECK(f & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	CHECK(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	CHECK(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	CHECK(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	CHECK(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	CHECK(f & (1ULL << VIRTIO_BLK_F_MQ));
	CHECK(!(f & (1ULL << VIRTIO_BLK_F_RO)));
	CHECK(fv_features(blk_ro) & (1ULL << VIRTIO_BLK_F_RO));
	CHECK(!(fv_features(blk_ro) & (1ULL << VIRTIO_BLK_F_DISCARD)));
}

static void test_read(void)
{
	u8 want[1024];
	u64 data = fv_alloc_align(1024, 512);
	struct result r;
	int before = fv_irqs;

	fill_pattern(want, sizeof(want), 3 * 512);
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, 3, data, 1024, true);
	CHECK(r.done);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(r.len, 1025);
	CHECK(!memcmp(fv_gp(data), want, sizeof(want)));
	CHECK(fv_irqs > before);

	/* The last sector exactly, on the second queue. */
	fill_pattern(want, 512, IMG_SIZE - 512);
	r = blk_req(&q_rw[1], VIRTIO_BLK_T_IN, IMG_SECTORS - 1, data, 512, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK(!memcmp(fv_gp(data), want, 512));
}

/* Any layout: data and status in one descriptor, data split unevenly. */
static void test_read_any_layout(void)
{
	u8 want[1536];
	u64 a = fv_alloc_align(1000, 8), b = fv_alloc_align(537, 8);
	struct fv_seg s[3] = {
		{ make_hdr(VIRTIO_BLK_T_IN, 10), 16, false },
		{ a, 1000, true },
		{ b, 537, true },	/* 536 data bytes, then the status */
	};
	u16 head;

	fill_pattern(want, sizeof(want), 10 * 512);
	*(u8 *)fv_gp(b + 536) = 0xee;
	head = fv_add(&q_rw[0], s, 3);
	CHECK(fv_kick_wait(&q_rw[0], 1));
	CHECK_EQ(*(u8 *)fv_gp(b + 536), VIRTIO_BLK_S_OK);
	CHECK_EQ(fv_used_len(&q_rw[0], head), 1537);
	CHECK(!memcmp(fv_gp(a), want, 1000));
	CHECK(!memcmp(fv_gp(b), want + 1000, 536));
}

static void test_write(void)
{
	u8 data[4096];
	u64 gpa = fv_alloc_align(sizeof(data), 4096);
	struct result r;

	memset(data, 0x5a, sizeof(data));
	memcpy(fv_gp(gpa), data, sizeof(data));
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_OUT, 8, gpa, sizeof(data), false);
	CHECK(r.done);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(r.len, 1);
	CHECK(file_matches(img_rw, 8 * 512, data, sizeof(data)));

	r = blk_req(&q_rw[0], VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	CHECK(r.done);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(r.len, 1);
}

static void test_out_of_range(void)
{
	u64 data = fv_alloc_align(1024, 512);
	struct result r;

	/* Crosses the end. */
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, IMG_SECTORS - 1, data, 1024, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(r.len, 1);
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_OUT, IMG_SECTORS, data, 512, false);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	/* sector + length wraps around 2^64. */
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, ~0ULL, data, 512, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, ~0ULL >> 9, data, 512, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors. */
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, 0, data, 500, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	/* Zero-length reads at the very end are fine. */
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, IMG_SECTORS, 0, 0, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
}

static void test_bad_layout(void)
{
	u64 data = fv_alloc_align(512, 512), st, hdr;
	struct fv_seg s[3];
	u16 head;
	struct result r;

	/* Header in a writable descriptor: IOERR in the status byte. */
	st = fv_alloc_align(1, 1);
	hdr = make_hdr(VIRTIO_BLK_T_IN, 0);
	s[0] = (struct fv_seg){ hdr, 16, true };
	s[1] = (struct fv_seg){ st, 1, true };
	head = fv_add(&q_rw[0], s, 2);
	CHECK(fv_kick_wait(&q_rw[0], 1));
	CHECK_EQ(*(u8 *)fv_gp(st), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(fv_used_len(&q_rw[0], head), 1);

	/* No status byte at all: returned with nothing written. */
	s[0] = (struct fv_seg){ make_hdr(VIRTIO_BLK_T_IN, 0), 16, false };
	s[1] = (struct fv_seg){ data, 512, false };
	head = fv_add(&q_rw[0], s, 2);
	CHECK(fv_kick_wait(&q_rw[0], 1));
	CHECK_EQ(fv_used_len(&q_rw[0], head), 0);

	/* Too short for a header and a status: returned untouched. */
	st = fv_alloc_align(1, 1);
	*(u8 *)fv_gp(st) = 0xee;
	s[0] = (struct fv_seg){ make_hdr(VIRTIO_BLK_T_IN, 0), 8, false };
	s[1] = (struct fv_seg){ st, 1, true };
	head = fv_add(&q_rw[0], s, 2);
	CHECK(fv_kick_wait(&q_rw[0], 1));
	CHECK_EQ(*(u8 *)fv_gp(st), 0xee);
	CHECK_EQ(fv_used_len(&q_rw[0], head), 0);

	/* Data in the wrong direction, both ways. */
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, 0, data, 512, false);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_OUT, 0, data, 512, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);

	/* Unknown request type. */
	r = blk_req(&q_rw[0], 99, 0, 0, 0, false);
	CHECK_EQ(r.status, VIRTIO_BLK_S_UNSUPP);

	/* The device still works, and was not declared broken. */
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, 0, data, 512, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK(!(virtio_get_status(blk_rw) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void test_get_id(void)
{
	u64 data = fv_alloc_align(VIRTIO_BLK_ID_BYTES, 1);
	const char *base = strrchr(img_rw, '/') + 1;
	struct result r;

	r = blk_req(&q_rw[0], VIRTIO_BLK_T_GET_ID, 0, data, VIRTIO_BLK_ID_BYTES, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(r.len, VIRTIO_BLK_ID_BYTES + 1);
	CHECK(!strncmp(fv_gp(data), base, VIRTIO_BLK_ID_BYTES));
}

/* A DISCARD or WRITE_ZEROES of @n segments (@bytes: a different data length). */
static struct result dwz(struct fv_q *q, u32 type,
			 const struct virtio_blk_discard_write_zeroes *segs,
			 unsigned int n, u32 bytes)
{
	u64 gpa = fv_alloc(n * sizeof(*segs) + 16);

	memcpy(fv_gp(gpa), segs, n * sizeof(*segs));
	return blk_req(q, type, 0, gpa, bytes ? bytes : n * sizeof(*segs), false);
}

static void test_discard_write_zeroes(void)
{
	struct virtio_blk_discard_write_zeroes segs[40];
	u8 zero[8192], pat[8192];
	struct result r;
	unsigned int i;

	memset(zero, 0, sizeof(zero));
	fill_pattern(pat, sizeof(pat), 64 * 512);

	/* WRITE_ZEROES with UNMAP, two segments. */
	segs[0] = (struct virtio_blk_discard_write_zeroes){ htole64(64), htole32(4),
		htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) };
	segs[1] = (struct virtio_blk_discard_write_zeroes){ htole64(72), htole32(8), 0 };
	r = dwz(&q_rw[0], VIRTIO_BLK_T_WRITE_ZEROES, segs, 2, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK(file_matches(img_rw, 64 * 512, zero, 4 * 512));
	CHECK(file_matches(img_rw, 68 * 512, pat + 4 * 512, 4 * 512));	/* untouched */
	CHECK(file_matches(img_rw, 72 * 512, zero, 8 * 512));

	/* DISCARD in range: accepted. */
	segs[0] = (struct virtio_blk_discard_write_zeroes){ htole64(128), htole32(16), 0 };
	r = dwz(&q_rw[0], VIRTIO_BLK_T_DISCARD, segs, 1, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);

	/* A segment past the end: IOERR, and nothing done (segment 0 kept). */
	fill_pattern(pat, 512, 200 * 512);
	segs[0] = (struct virtio_blk_discard_write_zeroes){ htole64(200), htole32(1), 0 };
	segs[1] = (struct virtio_blk_discard_write_zeroes){ htole64(IMG_SECTORS - 1),
		htole32(2), 0 };
	r = dwz(&q_rw[0], VIRTIO_BLK_T_WRITE_ZEROES, segs, 2, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	CHECK(file_matches(img_rw, 200 * 512, pat, 512));
	segs[0] = (struct virtio_blk_discard_write_zeroes){ htole64(~0ULL), htole32(2), 0 };
	r = dwz(&q_rw[0], VIRTIO_BLK_T_DISCARD, segs, 1, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);

	/* UNMAP on a discard, or an unknown flag: UNSUPP. */
	segs[0] = (struct virtio_blk_discard_write_zeroes){ htole64(0), htole32(1),
		htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) };
	r = dwz(&q_rw[0], VIRTIO_BLK_T_DISCARD, segs, 1, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_UNSUPP);
	segs[0].flags = htole32(4);
	r = dwz(&q_rw[0], VIRTIO_BLK_T_WRITE_ZEROES, segs, 1, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_UNSUPP);

	/* Too many segments, or a partial one. */
	for (i = 0; i < 40; i++)
		segs[i] = (struct virtio_blk_discard_write_zeroes){ htole64(i), htole32(1), 0 };
	r = dwz(&q_rw[0], VIRTIO_BLK_T_DISCARD, segs, 40, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	r = dwz(&q_rw[0], VIRTIO_BLK_T_DISCARD, segs, 2, 24);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
}

/*
 * A read of @nseg data segments of @seglen bytes each, by an indirect
 * table (the ring has only FV_QSZ entries). Returns the status byte.
 */
static u8 wide_read(unsigned int nseg, u32 seglen, u64 sector)
{
	static struct fv_seg s[1100];
	u64 data = fv_alloc_align((u64)nseg * seglen, 512), st = fv_alloc_align(1, 1);
	unsigned int i;

	*(u8 *)fv_gp(st) = 0xee;
	s[0] = (struct fv_seg){ make_hdr(VIRTIO_BLK_T_IN, sector), 16, false };
	for (i = 0; i < nseg; i++)
		s[1 + i] = (struct fv_seg){ data + (u64)i * seglen, seglen, true };
	s[1 + nseg] = (struct fv_seg){ st, 1, true };
	fv_add_indirect(&q_rw[0], s, nseg + 2);
	if (!fv_kick_wait(&q_rw[0], 1))
		return 0xfe;
	return *(u8 *)fv_gp(st);
}

/*
 * F2: a request may not be larger than seg_max segments of size_max bytes
 * (what the device advertises); a driver that ignores them gets IOERR,
 * promptly, and nothing is read.
 */
static void test_request_caps(void)
{
	static struct fv_seg s[1100];
	u64 data, st;
	unsigned int i;
	u16 head;

	CHECK(blk_up(std_features));
	/* seg_max exactly, then one more (both well inside the image). */
	CHECK_EQ(wide_read(254, 512, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(wide_read(255, 512, 0), VIRTIO_BLK_S_IOERR);
	/* The most the ring's limit lets a chain have. */
	CHECK_EQ(wide_read(VIRTQ_MAX_SEGS - 2, 512, 0), VIRTIO_BLK_S_IOERR);
	/* size_max exactly, then one sector more, in one segment. */
	CHECK_EQ(wide_read(1, 64 << 10, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(wide_read(1, (64 << 10) + 512, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(wide_read(2, (64 << 10) + 512, 0), VIRTIO_BLK_S_IOERR);
	/* The largest request that is allowed: 254 segments of 4 KiB. */
	CHECK_EQ(wide_read(254, 4096, 0), VIRTIO_BLK_S_OK);

	/* A write whose header shares a descriptor with too much data. */
	data = fv_alloc(16 + (128 << 10));
	st = fv_alloc_align(1, 1);
	*(struct virtio_blk_outhdr *)fv_gp(data) = (struct virtio_blk_outhdr){
		.type = htole32(VIRTIO_BLK_T_OUT) };
	*(u8 *)fv_gp(st) = 0xee;
	s[0] = (struct fv_seg){ data, 16 + (128 << 10), false };
	s[1] = (struct fv_seg){ st, 1, true };
	head = fv_add(&q_rw[0], s, 2);
	CHECK(fv_kick_wait(&q_rw[0], 1));
	CHECK_EQ(*(u8 *)fv_gp(st), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(fv_used_len(&q_rw[0], head), 1);

	/*
	 * The chains F2 describes, a full ring of them: 1022 segments that
	 * all map one 64 KiB buffer (64 MiB each from 64 KiB of guest RAM).
	 * Each is refused, and the device goes on working.
	 */
	data = fv_alloc_align(64 << 10, 4096);
	for (i = 0; i < FV_QSZ; i++) {
		unsigned int j;

		st = fv_alloc_align(1, 1);
		s[0] = (struct fv_seg){ make_hdr(VIRTIO_BLK_T_IN, 0), 16, false };
		for (j = 0; j < VIRTQ_MAX_SEGS - 2; j++)
			s[1 + j] = (struct fv_seg){ data, 64 << 10, true };
		s[VIRTQ_MAX_SEGS - 1] = (struct fv_seg){ st, 1, true };
		fv_add_indirect(&q_rw[0], s, VIRTQ_MAX_SEGS);
	}
	CHECK(fv_kick_wait(&q_rw[0], FV_QSZ));
	CHECK_EQ(wide_read(8, 512, 0), VIRTIO_BLK_S_OK);
	CHECK(!(virtio_get_status(blk_rw) & VIRTIO_CONFIG_S_NEEDS_RESET));

	/* WRITE_ZEROES: at most 4 segments (DISCARD keeps 32). */
	{
		struct virtio_blk_discard_write_zeroes z[5];
		struct result r;

		for (i = 0; i < 5; i++)
			z[i] = (struct virtio_blk_discard_write_zeroes){
				htole64(400 + i), htole32(1), 0 };
		r = dwz(&q_rw[0], VIRTIO_BLK_T_WRITE_ZEROES, z, 5, 0);
		CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
		r = dwz(&q_rw[0], VIRTIO_BLK_T_WRITE_ZEROES, z, 4, 0);
		CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
		r = dwz(&q_rw[0], VIRTIO_BLK_T_DISCARD, z, 5, 0);
		CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	}
}

/*
 * Once a stop was asked for, the worker takes no more chains from the
 * ring (lkvm's exit must not wait for them); they are served if the VM
 * went on (only the unit test can take a stop back).
 */
static void test_stop_takes_no_more(void)
{
	u64 data = fv_alloc_align(512, 512), st = fv_alloc_align(1, 1);
	struct fv_seg s[3] = {
		{ make_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
		{ data, 512, true },
		{ st, 1, true },
	};

	CHECK(blk_up(std_features));
	*(u8 *)fv_gp(st) = 0xee;
	atomic_store(&fv_kvm.stopping, true);
	fv_add(&q_rw[0], s, 3);
	virtio_queue_kick(blk_rw, 0);
	usleep(200000);
	CHECK_EQ(fv_used_idx(&q_rw[0]), 0);
	CHECK_EQ(*(u8 *)fv_gp(st), 0xee);
	atomic_store(&fv_kvm.stopping, false);
	CHECK(fv_kick_wait(&q_rw[0], 1));
	CHECK_EQ(*(u8 *)fv_gp(st), VIRTIO_BLK_S_OK);
}

static void test_readonly(void)
{
	u8 want[512];
	u64 data = fv_alloc_align(512, 512);
	struct virtio_blk_discard_write_zeroes seg = { htole64(0), htole32(1), 0 };
	struct result r;

	fill_pattern(want, 512, 0);
	r = blk_req(&q_ro[0], VIRTIO_BLK_T_IN, 0, data, 512, true);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK(!memcmp(fv_gp(data), want, 512));

	memset(fv_gp(data), 0x11, 512);
	r = blk_req(&q_ro[0], VIRTIO_BLK_T_OUT, 0, data, 512, false);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	CHECK(file_matches(img_ro, 0, want, 512));
	r = dwz(&q_ro[0], VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1, 0);
	CHECK_EQ(r.status, VIRTIO_BLK_S_IOERR);
	CHECK(file_matches(img_ro, 0, want, 512));
	r = blk_req(&q_ro[0], VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
}

/* Many requests at once, the device reset under them, then reused. */
static void test_reset_in_flight(void)
{
	u64 data = fv_alloc_align(FV_QSZ * 4096, 4096), st = fv_alloc_align(FV_QSZ, 1);
	struct result r;
	unsigned int i;

	/* As many 3-descriptor chains as the ring holds. */
	for (i = 0; i < FV_QSZ / 3; i++) {
		struct fv_seg s[3] = {
			{ make_hdr(i & 1 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, i * 8), 16, false },
			{ data + i * 4096, 4096, !(i & 1) },
			{ st + i, 1, true },
		};

		fv_add(&q_rw[0], s, 3);
	}
	virtio_queue_kick(blk_rw, 0);
	virtio_set_status(blk_rw, 0);		/* waits for the I/O */
	CHECK_EQ(virtio_get_status(blk_rw), 0);

	CHECK(blk_up(std_features));
	data = fv_alloc_align(512, 512);
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, 0, data, 512, true);
	CHECK(r.done);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
}

/*
 * virtio-mmio lets a driver stop one queue (QueueReady = 0) and set it up
 * again without a reset. Requests still in flight on the stopped queue must
 * not complete into the new ring, nor write status bytes the driver has
 * reused since. The worker's part is played here, holding the device lock,
 * so that the completions are still queued when the queue stops.
 */
static void test_queue_stop_in_flight(void)
{
	struct virt_queue *vq = &blk_rw->vqs[0];
	u64 data = fv_alloc_align(8 * 512, 512), st = fv_alloc_align(8, 1);
	unsigned int i;

	CHECK(blk_up(std_features));
	for (i = 0; i < 8; i++) {
		struct fv_seg s[3] = {
			{ make_hdr(VIRTIO_BLK_T_IN, i), 16, false },
			{ data + i * 512, 512, true },
			{ st + i, 1, true },
		};

		fv_add(&q_rw[0], s, 3);
	}
	pthread_mutex_lock(&blk_rw->lock);
	blk_rw->ops->notify(blk_rw, vq);
	/* The driver reuses the memory: fresh rings at the same place. */
	CHECK(fv_queue_restart(&q_rw[0]));
	memset(fv_gp(st), 0xee, 8);
	pthread_mutex_unlock(&blk_rw->lock);

	usleep(100000);		/* the worker reaps whatever was left */
	CHECK_EQ(fv_used_idx(&q_rw[0]), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(*(u8 *)fv_gp(st + i), 0xee);
	CHECK(!(virtio_get_status(blk_rw) & VIRTIO_CONFIG_S_NEEDS_RESET));
	CHECK(blk_up(std_features));
}

/* A driver without FLUSH: writes still land (write-through). */
static void test_no_flush_feature(void)
{
	u64 gpa;
	u8 data[512];
	struct result r;

	CHECK(blk_up(std_features & ~(1ULL << VIRTIO_BLK_F_FLUSH)));
	gpa = fv_alloc_align(512, 512);
	memset(data, 0xc3, sizeof(data));
	memcpy(fv_gp(gpa), data, sizeof(data));
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_OUT, 300, gpa, 512, false);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK(file_matches(img_rw, 300 * 512, data, 512));
	CHECK(blk_up(std_features));
}

/* A hostile ring marks the device broken rather than anything worse. */
static void test_broken_ring(void)
{
	fv_publish(&q_rw[0], FV_QSZ + 3);
	virtio_queue_kick(blk_rw, 0);
	for (int i = 0; i < 2000; i++) {
		if (virtio_get_status(blk_rw) & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
		usleep(1000);
	}
	CHECK(virtio_get_status(blk_rw) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(blk_up(std_features));
	CHECK(!(virtio_get_status(blk_rw) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/*
 * Status bits go away only with a reset (virtio 1.x, 2.1.2): a driver that
 * clears FEATURES_OK and DRIVER_OK must not reopen feature negotiation
 * under running queues and in-flight I/O, nor get the device activated a
 * second time; and NEEDS_RESET is the device's to set, not the driver's.
 */
static void test_status_sticky(void)
{
	const u8 up = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	const u64 flush = 1ULL << VIRTIO_BLK_F_FLUSH;
	u64 gpa = fv_alloc_align(512, 512);
	struct result r;

	CHECK(blk_up(std_features));
	virtio_set_status(blk_rw, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	CHECK_EQ(virtio_get_status(blk_rw), up);
	virtio_set_features_word(blk_rw, 0, (u32)(std_features & ~flush));
	virtio_set_status(blk_rw, up);
	CHECK(blk_rw->guest_features & flush);
	virtio_set_status(blk_rw, up | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(virtio_get_status(blk_rw), up);
	r = blk_req(&q_rw[0], VIRTIO_BLK_T_IN, 0, gpa, 512, true);
	CHECK(r.done);
	CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
	CHECK(blk_up(std_features));
}

static void test_rng(void)
{
	u64 a = fv_alloc_align(100, 1), b = fv_alloc_align(128 * 1024, 1);
	struct fv_seg s[1];
	u16 head;
	unsigned int i, nz = 0;

	s[0] = (struct fv_seg){ a, 100, true };
	head = fv_add(&q_rng[0], s, 1);
	CHECK(fv_kick_wait(&q_rng[0], 1));
	CHECK_EQ(fv_used_len(&q_rng[0], head), 100);
	for (i = 0; i < 100; i++)
		nz += ((u8 *)fv_gp(a))[i] != 0;
	CHECK(nz > 50);

	/* Big requests are served in part. */
	s[0] = (struct fv_seg){ b, 128 * 1024, true };
	head = fv_add(&q_rng[0], s, 1);
	CHECK(fv_kick_wait(&q_rng[0], 1));
	CHECK_EQ(fv_used_len(&q_rng[0], head), 64 * 1024);
}

/* The backend refuses what would go wrong later. */
static void test_disk_open_checks(void)
{
	char odd[64];
	struct disk_image *d;
	int fd;

	/* A second writer of a locked image. */
	d = disk_open(img_rw, false, false);
	CHECK(d == NULL);
	/* A size the guest can't see whole. */
	strcpy(odd, "/tmp/lkvm-odd-XXXXXX");
	fd = mkstemp(odd);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 1000) == 0);
	close(fd);
	d = disk_open(odd, true, false);
	CHECK(d == NULL);
	unlink(odd);
	d = disk_open("/nonexistent/lkvm.img", true, false);
	CHECK(d == NULL);
	/*
	 * A FIFO is no disk: refused at once, read-only too (where a plain
	 * open would wait for a writer forever).
	 */
	strcpy(odd, "/tmp/lkvm-fifo-XXXXXX");
	fd = mkstemp(odd);
	CHECK(fd >= 0);
	close(fd);
	unlink(odd);
	CHECK(mkfifo(odd, 0600) == 0);
	d = disk_open(odd, true, false);
	CHECK(d == NULL);
	d = disk_open(odd, false, false);
	CHECK(d == NULL);
	unlink(odd);
}

static void done_cb(struct disk_req *req, ssize_t res)
{
	*(ssize_t *)req->priv = res;
}

/* O_DIRECT: aligned buffers through libaio, unaligned ones through the fallback. */
static void test_disk_direct(void)
{
	struct disk_image *d = disk_open(img_ro, true, true);
	u8 *mem = NULL, want[1024];
	struct iovec iov;
	struct disk_req req;
	ssize_t res;

	if (!d)
		return;		/* a file system without O_DIRECT */
	fill_pattern(want, sizeof(want), 4096);
	CHECK(posix_memalign((void **)&mem, 4096, 8192) == 0);
	for (int off = 0; off < 2; off++) {
		iov = (struct iovec){ mem + off * 3, 1024 };
		req = (struct disk_req){ .op = DISK_READ, .offset = 4096, .iov = &iov,
					 .iovcnt = 1, .done = done_cb, .priv = &res };
		res = -12345;
		disk_submit(d, &req);
		disk_unplug(d);
		disk_drain(d);
		CHECK_EQ(res, 1024);
		CHECK(!memcmp(mem + off * 3, want, sizeof(want)));
	}
	free(mem);
	disk_close(d);
}

/* The backend on its own: aio and fallback writes, flush, zeroes, discard. */
static void test_disk_backend(void)
{
	char path[64];
	struct disk_image *d;
	u8 *mem = NULL, want[4096], zero[4096] = { 0 };
	struct iovec iov[2];
	struct disk_req req;
	ssize_t res;

	if (make_image(path, "/tmp/lkvm-be-XXXXXX", 64 * 1024)) {
		CHECK(0);
		return;
	}
	d = disk_open(path, false, true);
	if (!d)
		d = disk_open(path, false, false);	/* no O_DIRECT here */
	CHECK(d != NULL);
	if (!d)
		goto out;
	CHECK_EQ(disk_size(d), 64 * 1024);
	CHECK(posix_memalign((void **)&mem, 4096, 3 * 4096) == 0);
	disk_set_writethrough(d, true);

	/* Aligned (libaio) then unaligned (synchronous fallback) writes. */
	for (int off = 0; off < 2; off++) {
		memset(mem + off * 5, 0x30 + off, 4096);
		memset(want, 0x30 + off, sizeof(want));
		iov[0] = (struct iovec){ mem + off * 5, 1024 };
		iov[1] = (struct iovec){ mem + off * 5 + 1024, 3072 };
		req = (struct disk_req){ .op = DISK_WRITE, .offset = 8192 * (off + 1),
					 .iov = iov, .iovcnt = 2, .done = done_cb,
					 .priv = &res };
		res = -12345;
		disk_submit(d, &req);
		disk_unplug(d);
		disk_drain(d);
		CHECK_EQ(res, 4096);
		CHECK_EQ(disk_inflight(d), 0);
		CHECK(file_matches(path, 8192 * (off + 1), want, sizeof(want)));
	}
	req = (struct disk_req){ .op = DISK_FLUSH, .done = done_cb, .priv = &res };
	res = -12345;
	disk_submit(d, &req);
	disk_drain(d);
	CHECK_EQ(res, 0);

	/* Zeroes, with and without unmapping; discard; all within the file. */
	CHECK_EQ(disk_write_zeroes_sync(d, 8192, 4096, true), 0);
	CHECK(file_matches(path, 8192, zero, sizeof(zero)));
	CHECK_EQ(disk_write_zeroes_sync(d, 16384, 4096, false), 0);
	CHECK(file_matches(path, 16384, zero, sizeof(zero)));
	CHECK_EQ(disk_discard_sync(d, 0, 4096), 0);
	{
		struct stat st;

		CHECK(stat(path, &st) == 0 && st.st_size == 64 * 1024);
	}
	free(mem);
	disk_close(d);
out:
	unlink(path);
}

/* The order in which requests completed, and where the I/O thread ran. */
static int iot_order[8], iot_nr;
static pid_t iot_tid;

static void order_cb(struct disk_req *req, ssize_t res)
{
	*(ssize_t *)req->priv = res;
	if (iot_nr < 8)
		iot_order[iot_nr++] = (int)req->offset;
}

static void iot_enter(void *arg __unused)
{
	iot_tid = gettid();
}

/*
 * A disk with an I/O thread (qcow2 when qemu-img can make one, else raw):
 * what the backend does synchronously runs there, so disk_submit()
 * returns with the request still in flight, done() runs only on this
 * thread (disk_complete() after the event fd, or disk_drain()), in the
 * order submitted, a flush after the writes before it.
 */
static void test_disk_io_thread(void)
{
	char path[64], cmd[128];
	struct disk_image *d;
	static u8 buf[3][8192], back[8192], zero[8192];
	struct iovec iov[3], riov = { back, sizeof(back) };
	struct disk_req req[6];
	ssize_t res[6];
	struct pollfd pfd;
	bool qcow2;
	int i;

	snprintf(path, sizeof(path), "/tmp/lkvm-iot-XXXXXX");
	i = mkstemp(path);
	CHECK(i >= 0);
	if (i < 0)
		return;
	close(i);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s 1M 2>/dev/null", path);
	qcow2 = system(cmd) == 0;
	if (!qcow2)
		CHECK(truncate(path, 1 << 20) == 0);
	d = disk_open(path, false, false);
	CHECK(d != NULL);
	if (!d)
		goto out;
	CHECK_EQ(disk_start_io_thread(d, iot_enter, NULL), 0);
	CHECK(disk_event_fd(d) >= 0);
	iot_nr = 0;
	for (i = 0; i < 3; i++) {
		memset(buf[i], 0x41 + i, sizeof(buf[i]));
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		req[i] = (struct disk_req){ .op = DISK_WRITE, .offset = 65536 * (i + 1),
					    .iov = &iov[i], .iovcnt = 1, .done = order_cb,
					    .priv = &res[i] };
	}
	req[3] = (struct disk_req){ .op = DISK_FLUSH, .offset = 1, .done = order_cb,
				    .priv = &res[3] };
	req[4] = (struct disk_req){ .op = DISK_WRITE_ZEROES, .offset = 65536 * 2 + 4096,
				    .len = 4096, .done = order_cb, .priv = &res[4] };
	req[5] = (struct disk_req){ .op = DISK_DISCARD, .offset = 65536 * 3,
				    .len = 65536, .done = order_cb, .priv = &res[5] };
	for (i = 0; i < 6; i++) {
		res[i] = -12345;
		disk_submit(d, &req[i]);
	}
	disk_unplug(d);
	if (qcow2) {
		/* Nothing ran on this thread: every request is in flight. */
		for (i = 0; i < 6; i++)
			CHECK_EQ(res[i], -12345);
		CHECK_EQ(disk_inflight(d), 6);
		/* The event fd says when there is something to complete. */
		pfd = (struct pollfd){ .fd = disk_event_fd(d), .events = POLLIN };
		CHECK_EQ(poll(&pfd, 1, 5000), 1);
		disk_complete(d);
		CHECK(iot_nr >= 1);
	}
	disk_drain(d);
	CHECK_EQ(disk_inflight(d), 0);
	CHECK(iot_tid != 0 && iot_tid != gettid());
	for (i = 0; i < 3; i++)
		CHECK_EQ(res[i], (ssize_t)sizeof(buf[i]));
	for (i = 3; i < 6; i++)
		CHECK_EQ(res[i], 0);
	if (qcow2) {
		/* In the order submitted: the flush after the three writes. */
		CHECK_EQ(iot_nr, 6);
		CHECK_EQ(iot_order[0], 65536);
		CHECK_EQ(iot_order[2], 65536 * 3);
		CHECK_EQ(iot_order[3], 1);
	}
	/* Read back through the thread: the second write, 4 KiB of it zeroed. */
	req[0] = (struct disk_req){ .op = DISK_READ, .offset = 65536 * 2, .iov = &riov,
				    .iovcnt = 1, .done = order_cb, .priv = &res[0] };
	disk_submit(d, &req[0]);
	disk_unplug(d);
	disk_drain(d);
	CHECK_EQ(res[0], (ssize_t)sizeof(back));
	CHECK(!memcmp(back, buf[1], 4096));
	CHECK(!memcmp(back + 4096, zero, 4096));
	disk_close(d);
	if (qcow2) {
		snprintf(cmd, sizeof(cmd), "qemu-img check -q %s", path);
		CHECK_EQ(system(cmd), 0);
	} else {
		printf("# no qemu-img: a raw image instead of qcow2\n");
	}
out:
	unlink(path);
}

TEST_MAIN_BEGIN("test-blk")
	if (make_image(img_rw, "/tmp/lkvm-rw-XXXXXX", IMG_SIZE) ||
	    make_image(img_ro, "/tmp/lkvm-ro-XXXXXX", IMG_SIZE)) {
		printf("FAIL: unit/test-blk/setup: cannot create images in /tmp\n");
		return 1;
	}
	if (!fv_setup()) {
		printf("FAIL: unit/test-blk/setup: no guest memory\n");
		return 1;
	}
	fv_kvm.cfg.nrcpus = 2;
	fv_kvm.cfg.rng = true;
	fv_kvm.cfg.disks[0] = (struct disk_config){ .path = img_rw };
	fv_kvm.cfg.disks[1] = (struct disk_config){ .path = img_ro, .readonly = true };
	fv_kvm.cfg.nr_disks = 2;
	if (init_run_stage(&fv_kvm, INIT_VIRTIO) < 0 || fv_nr_devs != 3) {
		printf("FAIL: unit/test-blk/setup: devices did not register\n");
		return 1;
	}
	for (unsigned int i = 0; i < fv_nr_devs; i++) {
		if (fv_devs[i]->ops->device_id == VIRTIO_ID_RNG)
			rng = fv_devs[i];
		else if (fv_features(fv_devs[i]) & (1ULL << VIRTIO_BLK_F_RO))
			blk_ro = fv_devs[i];
		else
			blk_rw = fv_devs[i];
	}
	if (!blk_up(std_features) || !fv_driver_up(blk_ro, std_features, q_ro, 1, 1) ||
	    !fv_driver_up(rng, 1ULL << VIRTIO_F_VERSION_1, q_rng, 1, 2)) {
		printf("FAIL: unit/test-blk/setup: a driver did not come up\n");
		return 1;
	}

	RUN(test_config);
	RUN(test_read);
	RUN(test_read_any_layout);
	RUN(test_write);
	RUN(test_out_of_range);
	RUN(test_bad_layout);
	RUN(test_get_id);
	RUN(test_discard_write_zeroes);
	RUN(test_request_caps);
	RUN(test_stop_takes_no_more);
	RUN(test_readonly);
	RUN(test_reset_in_flight);
	RUN(test_queue_stop_in_flight);
	RUN(test_no_flush_feature);
	RUN(test_broken_ring);
	RUN(test_status_sticky);
	RUN(test_rng);
	RUN(test_disk_open_checks);
	RUN(test_disk_direct);
	RUN(test_disk_backend);
	RUN(test_disk_io_thread);

	fv_teardown();
	unlink(img_rw);
	unlink(img_ro);
TEST_MAIN_END()
