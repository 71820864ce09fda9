// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 through the disk interface virtio-blk uses, with qemu-img as the
 * oracle: images made by qemu-img (backing files raw and qcow2, v2 and v3,
 * compressed, every refcount width, small clusters) get random writes,
 * reads, write-zeroes, discards and flushes, checked against a model of
 * the disk; afterwards `qemu-img check` must find nothing wrong and
 * `qemu-img convert` must see exactly the model's bytes. Then what lkvm
 * refuses, hostile images (never a crash, never a write to the header or
 * tables), and SIGKILL during a write storm (check: no corruption; every
 * flushed write there).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "test.h"

static char dir[64];
static u64 rnd_state = 0x243f6a8885a308d3ULL;

static u64 rnd(void)
{
	return test_xorshift(&rnd_state);
}

/* @name in the test's directory (one of 4 buffers, reused in turn). */
static char *path_of(const char *name)
{
	static char bufs[4][256];
	static int i;
	char *p = bufs[i++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void done_cb(struct disk_req *req, ssize_t res)
{
	*(ssize_t *)req->priv = res;
}

/* One request through the asynchronous interface, waited for. */
static ssize_t dio(struct disk_image *d, enum disk_op op, u64 off, void *buf, u64 len)
{
	struct iovec iov[3];
	struct disk_req req = { .op = op, .offset = off, .len = len, .iov = iov,
				.done = done_cb };
	ssize_t res = -12345;

	req.priv = &res;
	if (op == DISK_READ || op == DISK_WRITE) {
		/* Split in three segments, as a guest's scatter list would be. */
		u64 a = len / 3 / 512 * 512, b = len / 3 / 512 * 512;

		iov[0] = (struct iovec){ buf, a };
		iov[1] = (struct iovec){ (u8 *)buf + a, b };
		iov[2] = (struct iovec){ (u8 *)buf + a + b, len - a - b };
		req.iovcnt = 3;
	}
	disk_submit(d, &req);
	disk_unplug(d);
	disk_drain(d);
	return res;
}

/* The whole virtual disk as qemu-img sees it. */
static bool qemu_sees(const char *img, const u8 *model, u64 size)
{
	char *raw = path_of("seen.raw");
	u8 *buf = malloc(size);
	bool same;
	int fd;

	if (test_sh("qemu-img convert -O raw '%s' '%s'", img, raw)) {
		free(buf);
		return false;
	}
	fd = open(raw, O_RDONLY);
	same = fd >= 0 && pread_full(fd, buf, size, 0) == (ssize_t)size &&
	       !memcmp(buf, model, size);
	if (fd >= 0)
		close(fd);
	unlink(raw);
	free(buf);
	return same;
}

/* qemu-img check's status: 0 clean, 3 leaks only, 2 corruption; its report kept. */
static int qemu_check(const char *img)
{
	int st = test_sh("qemu-img check '%s' >%s/check.log 2>&1", img, dir);

	if (st != 0 && st != 3)
		test_sh("sed 's/^/# /' %s/check.log", dir);
	return st;
}

static void fill_random(u8 *p, u64 len)
{
	u64 i;

	for (i = 0; i < len; i++)
		p[i] = rnd();
}

static int write_file(const char *path, const u8 *p, u64 len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = fd >= 0 && write_full(fd, p, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* How the model changes on a whole-cluster discard (partial ones change nothing). */
enum discard_kind { DISCARD_ZERO, DISCARD_BACKING };

/*
 * @ops random requests on @d (a @size-byte disk with @cs-byte clusters),
 * mirrored in @model; @backing: what unallocated clusters read (for v2
 * discards). Every read is checked against the model.
 */
static void storm(struct disk_image *d, u8 *model, const u8 *backing, u64 size,
		  u64 cs, enum discard_kind dk, int ops)
{
	u64 maxlen = 256 * 1024;
	u8 *buf = malloc(maxlen);
	int i;

	for (i = 0; i < ops; i++) {
		u64 op = rnd() % 16;
		u64 len = (1 + rnd() % (maxlen / 512)) * 512;
		u64 off;

		if (rnd() % 4 == 0)
			len = (1 + rnd() % 16) * 512;	/* small, partial clusters */
		len = min(len, size);
		off = rnd() % ((size - len) / 512 + 1) * 512;
		if (op < 6) {
			fill_random(buf, len);
			CHECK_EQ(dio(d, DISK_WRITE, off, buf, len), len);
			memcpy(model + off, buf, len);
		} else if (op < 11) {
			memset(buf, 0xee, len);
			CHECK_EQ(dio(d, DISK_READ, off, buf, len), len);
			CHECK(!memcmp(buf, model + off, len));
		} else if (op < 13) {
			CHECK_EQ(disk_write_zeroes_sync(d, off, len, rnd() & 1), 0);
			memset(model + off, 0, len);
		} else if (op < 15) {
			u64 a = ALIGN_UP(off, cs), e = ALIGN_DOWN(off + len, cs);

			CHECK_EQ(disk_discard_sync(d, off, len), 0);
			if (e > a && dk == DISCARD_BACKING)
				memcpy(model + a, backing + a, e - a);
			else if (e > a)
				memset(model + a, 0, e - a);
		} else {
			CHECK_EQ(dio(d, DISK_FLUSH, 0, NULL, 0), 0);
		}
		if (test_failed_checks)
			break;
	}
	/* And all of it, once. */
	for (i = 0; (u64)i * maxlen < size; i++) {
		u64 len = min(maxlen, size - (u64)i * maxlen);

		CHECK_EQ(dio(d, DISK_READ, (u64)i * maxlen, buf, len), len);
		CHECK(!memcmp(buf, model + (u64)i * maxlen, len));
	}
	free(buf);
}

/* v3 (qemu-img's default) over a raw backing file named relative to the image. */
static void test_backing_raw_v3(void)
{
	u64 size = 8 << 20;
	u8 *base = malloc(size), *model = malloc(size);
	struct disk_image *d;

	fill_random(base, size);
	memcpy(model, base, size);
	CHECK(!write_file(path_of("base.raw"), base, size));
	/* Resolved against the image's directory, not lkvm's working directory. */
	CHECK(!test_sh("cd %s && qemu-img create -q -f qcow2 -b base.raw -F raw top.qcow2", dir));
	CHECK(chdir("/") == 0);
	d = disk_open(path_of("top.qcow2"), false, false);
	CHECK(d != NULL);
	if (d) {
		CHECK_EQ(disk_size(d), size);
		CHECK_EQ(disk_event_fd(d), -1);
		storm(d, model, base, size, 65536, DISCARD_ZERO, 400);
		disk_close(d);
	}
	CHECK_EQ(qemu_check(path_of("top.qcow2")), 0);
	CHECK(qemu_sees(path_of("top.qcow2"), model, size));
	/* The backing file is never written. */
	CHECK(qemu_sees(path_of("base.raw"), base, size));
	free(base);
	free(model);
}

/* A v2 chain: raw <- qcow2 (with its own data) <- qcow2, 4 KiB clusters. */
static void test_chain_v2(void)
{
	u64 size = 4 << 20;
	u8 *base = malloc(size), *model = malloc(size);
	struct disk_image *d;
	int fd, st;

	fill_random(base, size);
	CHECK(!write_file(path_of("b2.raw"), base, size));
	st = test_sh("cd %s && qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 "
		"-b b2.raw -F raw mid.qcow2 && qemu-io -c 'write -P 0x55 1M 1M' mid.qcow2 "
		">/dev/null && qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 "
		"-b mid.qcow2 -F qcow2 top2.qcow2", dir);
	CHECK_EQ(st, 0);
	memcpy(model, base, size);
	memset(model + (1 << 20), 0x55, 1 << 20);
	/* What the chain below the top image shows, for discards. */
	memcpy(base, model, size);
	d = disk_open(path_of("top2.qcow2"), false, false);
	CHECK(d != NULL);
	if (d) {
		storm(d, model, base, size, 4096, DISCARD_BACKING, 400);
		disk_close(d);
	}
	CHECK_EQ(qemu_check(path_of("top2.qcow2")), 0);
	CHECK_EQ(qemu_check(path_of("mid.qcow2")), 0);
	CHECK(qemu_sees(path_of("top2.qcow2"), model, size));
	/* The middle image is untouched (opened read-only, shared lock). */
	memcpy(model, base, size);
	fd = open(path_of("b2.raw"), O_RDONLY);
	CHECK(fd >= 0 && pread_full(fd, model, size, 0) == (ssize_t)size);
	memset(model + (1 << 20), 0x55, 1 << 20);
	CHECK(qemu_sees(path_of("mid.qcow2"), model, size));
	if (fd >= 0)
		close(fd);
	free(base);
	free(model);
}

/* qemu-img convert -c: compressed clusters read, rewritten as normal ones. */
static void test_compressed(void)
{
	u64 size = 4 << 20, i;
	u8 *src = malloc(size), *model = malloc(size);
	struct disk_image *d;

	/* Compressible: short random runs repeated; and a zero stretch. */
	for (i = 0; i < size; i++)
		src[i] = (i % 4096 < 64) ? (u8)rnd() : (u8)(i / 4096 + i % 7);
	memset(src + (2 << 20), 0, 256 << 10);
	CHECK(!write_file(path_of("c.raw"), src, size));
	CHECK(!test_sh("qemu-img convert -q -c -O qcow2 %s %s", path_of("c.raw"),
		  path_of("c.qcow2")));
	/* qemu-img check says most clusters really are compressed. */
	CHECK(!test_sh("qemu-img check %s | grep -Eq ' [1-9][0-9.]*%% compressed clusters'",
		  path_of("c.qcow2")));
	memcpy(model, src, size);
	d = disk_open(path_of("c.qcow2"), true, false);
	CHECK(d != NULL);
	if (d) {
		u8 *buf = malloc(size);

		CHECK_EQ(dio(d, DISK_READ, 0, buf, size), size);
		CHECK(!memcmp(buf, src, size));
		/* A read-only disk refuses writes. */
		CHECK_EQ(dio(d, DISK_WRITE, 0, buf, 512), -EBADF);
		free(buf);
		disk_close(d);
	}
	d = disk_open(path_of("c.qcow2"), false, false);
	CHECK(d != NULL);
	if (d) {
		storm(d, model, NULL, size, 65536, DISCARD_ZERO, 300);
		disk_close(d);
	}
	CHECK_EQ(qemu_check(path_of("c.qcow2")), 0);
	CHECK(qemu_sees(path_of("c.qcow2"), model, size));
	free(src);
	free(model);
}

/* Every refcount width qemu-img can create, small clusters, v2 and v3. */
static void test_refcount_widths(void)
{
	static const struct { int bits, cs; const char *compat; u64 size; } v[] = {
		{ 1, 4096, "1.1", 4 << 20 }, { 2, 4096, "1.1", 4 << 20 },
		{ 4, 4096, "1.1", 4 << 20 }, { 8, 4096, "1.1", 4 << 20 },
		{ 16, 512, "1.1", 2 << 20 }, { 32, 4096, "1.1", 4 << 20 },
		{ 64, 4096, "1.1", 4 << 20 }, { 16, 65536, "0.10", 8 << 20 },
		{ 16, 2 << 20, "1.1", 8 << 20 },
		/* lazy_refcounts allows a writer to skip refcounts; lkvm never does. */
		{ 16, 65536, "1.1,lazy_refcounts=on", 8 << 20 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v) && !test_failed_checks; i++) {
		char *img = path_of("w.qcow2");
		u8 *model = calloc(1, v[i].size);
		struct disk_image *d;

		CHECK(!test_sh("qemu-img create -q -f qcow2 -o refcount_bits=%d,cluster_size=%d,"
			  "compat=%s %s %llu", v[i].bits, v[i].cs, v[i].compat, img,
			  (unsigned long long)v[i].size));
		d = disk_open(img, false, false);
		CHECK(d != NULL);
		if (!d)
			break;
		storm(d, model, NULL, v[i].size, v[i].cs, DISCARD_ZERO, 150);
		disk_close(d);
		CHECK_EQ(qemu_check(img), 0);
		CHECK(qemu_sees(img, model, v[i].size));
		if (test_failed_checks)
			printf("# refcount_bits=%d cluster_size=%d compat=%s\n", v[i].bits,
			       v[i].cs, v[i].compat);
		unlink(img);
		free(model);
	}
}

/*
 * Small clusters: qemu-img's one-cluster refcount table describes 8 MiB
 * (2 MiB with 64-bit refcounts) of file; writing more makes it grow.
 */
static void test_reftable_growth(void)
{
	static const int bits[] = { 16, 64 };
	u64 size = 24 << 20, chunk = 256 << 10, off;
	char *img = path_of("g.qcow2");
	unsigned int i;
	u8 hdr[4];
	int fd;

	for (i = 0; i < ARRAY_SIZE(bits) && !test_failed_checks; i++) {
		u8 *model = malloc(size);
		struct disk_image *d;

		CHECK(!test_sh("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=%d "
			  "%s 24M", bits[i], img));
		d = disk_open(img, false, false);
		CHECK(d != NULL);
		if (!d)
			break;
		fill_random(model, size);
		for (off = 0; off < size; off += chunk)
			CHECK_EQ(dio(d, DISK_WRITE, off, model + off, chunk), chunk);
		storm(d, model, NULL, size, 512, DISCARD_ZERO, 100);
		disk_close(d);
		CHECK_EQ(qemu_check(img), 0);
		CHECK(qemu_sees(img, model, size));
		/* It did grow: refcount_table_clusters (header bytes 56-59) above 1. */
		fd = open(img, O_RDONLY);
		CHECK(fd >= 0 && pread_full(fd, hdr, 4, 56) == 4);
		CHECK((hdr[0] | hdr[1] | hdr[2]) || hdr[3] > 1);
		if (fd >= 0)
			close(fd);
		free(model);
	}
}

/* A flush acknowledged means metadata too: a process killed right after keeps it all. */
static void test_flush_durable(void)
{
	char *img = path_of("f.qcow2");
	u8 buf[8192];
	u8 *model = calloc(1, 1 << 20);
	pid_t pid;
	int st;

	CHECK(!test_sh("qemu-img create -q -f qcow2 %s 1M", img));
	pid = fork();
	if (pid == 0) {
		struct disk_image *d = disk_open(img, false, false);

		if (!d)
			_exit(1);
		memset(buf, 0x5a, sizeof(buf));
		if (dio(d, DISK_WRITE, 65536 - 4096, buf, sizeof(buf)) != sizeof(buf) ||
		    dio(d, DISK_FLUSH, 0, NULL, 0) != 0)
			_exit(1);
		_exit(0);	/* no close: nothing more reaches the file */
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st));
	memset(model + 65536 - 4096, 0x5a, sizeof(buf));
	CHECK_EQ(qemu_check(img), 0);
	CHECK(qemu_sees(img, model, 1 << 20));
	free(model);
}

/* One line and NULL for what lkvm does not implement; read-only where that is safe. */
static void test_refusals(void)
{
	struct disk_image *d;
	char *img = path_of("r.qcow2");
	u8 bit = 0x04;
	int fd, r = 0;

	CHECK(!test_sh("qemu-img create -q -f qcow2 -o extended_l2=on %s 1M", img));
	CHECK(disk_open(img, true, false) == NULL);
	if (!test_sh("qemu-img create -q -f qcow2 -o compression_type=zstd %s 1M 2>/dev/null", img))
		CHECK(disk_open(img, true, false) == NULL);
	CHECK(!test_sh("qemu-img create -q -f qcow2 -o data_file=%s %s 1M",
		  path_of("r.data"), img));
	CHECK(disk_open(img, true, false) == NULL);
	/*
	 * iter-time: LUKS's key derivation otherwise runs for 2 s of CPU. Up
	 * to three tries: qemu-img times that derivation with getrusage() and
	 * gives up ("Unable to get accurate CPU usage") when a loaded host
	 * lets it measure nothing; that is qemu-img's set-up, not lkvm.
	 */
	for (int i = 0; i < 3; i++) {
		r = test_sh("qemu-img create -q -f qcow2 --object secret,id=s0,data=pw "
			    "-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 %s 1M",
			    img);
		if (!r)
			break;
	}
	CHECK_EQ(r, 0);
	CHECK(disk_open(img, true, false) == NULL);
	/* ',direct' is for raw images. */
	CHECK(!test_sh("qemu-img create -q -f qcow2 %s 1M", img));
	CHECK(disk_open(img, false, true) == NULL);
	/* Internal snapshots: read-only only. */
	CHECK(!test_sh("qemu-img snapshot -c s1 %s", img));
	CHECK(disk_open(img, false, false) == NULL);
	d = disk_open(img, true, false);
	CHECK(d != NULL);
	disk_close(d);
	/* The dirty bit (stale lazy refcounts): read-only only. */
	CHECK(!test_sh("qemu-img create -q -f qcow2 %s 1M", img));
	fd = open(img, O_RDWR);
	bit = 0x01;
	CHECK(pwrite(fd, &bit, 1, 79) == 1);
	CHECK(disk_open(img, false, false) == NULL);
	d = disk_open(img, true, false);
	CHECK(d != NULL);
	disk_close(d);
	/* An unknown incompatible bit, any mode. */
	bit = 0;
	CHECK(pwrite(fd, &bit, 1, 79) == 1);
	bit = 0x01;
	CHECK(pwrite(fd, &bit, 1, 78) == 1);
	CHECK(disk_open(img, true, false) == NULL);
	close(fd);
	/* A backing chain that loops. */
	CHECK(!test_sh("cd %s && qemu-img create -q -f qcow2 -b loop2.qcow2 -F qcow2 -u loop1.qcow2 1M"
		  " && qemu-img create -q -f qcow2 -b loop1.qcow2 -F qcow2 -u loop2.qcow2 1M",
		  dir));
	CHECK(disk_open(path_of("loop1.qcow2"), true, false) == NULL);
	/* A missing backing file. */
	CHECK(!test_sh("cd %s && qemu-img create -q -f qcow2 -b nothere.raw -F raw -u nb.qcow2 1M",
		  dir));
	CHECK(disk_open(path_of("nb.qcow2"), true, false) == NULL);
}

#define QCOW2_COPIED_T	(1ULL << 63)

/*
 * Hostile images: a well-formed image with data, then one field broken.
 * Open fails, or requests fail with an error; never a crash (ASan), and
 * the header, L1 and refcount table are never written.
 */
static void test_hostile(void)
{
	static const struct { const char *what; u64 off; int n; u64 val; bool open_fails, read_fails; } v[] = {
		{ "cluster_bits 8", 20, 4, 8, true, false },
		{ "cluster_bits 40", 20, 4, 40, true, false },
		{ "version 4", 4, 4, 4, true, false },
		{ "huge size", 24, 8, ~0ULL, true, false },
		{ "huge l1_size", 36, 4, 0xffffffff, true, false },
		{ "l1 past the end", 40, 8, 1ULL << 40, true, false },
		{ "l1 misaligned", 40, 8, 0x30200, true, false },
		{ "reftable past the end", 48, 8, 1ULL << 50, true, false },
		{ "reftable huge", 56, 4, 0x7fffffff, true, false },
		{ "reftable none", 56, 4, 0, true, false },
		{ "refcount_order 7", 96, 4, 7, true, false },
		{ "header_length odd", 100, 4, 105, true, false },
		{ "header_length huge", 100, 4, 1 << 20, true, false },
		{ "backing name past the end", 8, 8, 1ULL << 40, true, false },
		{ "L1 entry at the header", 0x30000, 8, QCOW2_COPIED_T | 0, false, true },
		{ "L1 entry at the L1 table", 0x30000, 8, QCOW2_COPIED_T | 0x30000, false, true },
		{ "L1 entry past the end", 0x30000, 8, QCOW2_COPIED_T | (1ULL << 50), false, true },
		{ "L1 entry misaligned", 0x30000, 8, QCOW2_COPIED_T | 0x40200, false, true },
		{ "L1 entry reserved bits", 0x30000, 8, QCOW2_COPIED_T | 0x40001, false, true },
		{ "L2 entry at the header", 0x40000, 8, QCOW2_COPIED_T | 0, false, true },
		{ "L2 entry at the refcount table", 0x40000, 8, QCOW2_COPIED_T | 0x10000, false, true },
		{ "L2 entry past the end", 0x40000, 8, QCOW2_COPIED_T | (1ULL << 48), false, true },
		{ "L2 entry compressed past the end", 0x40000, 8, (1ULL << 62) | (1ULL << 45), false, true },
		{ "L2 entry compressed, copied", 0x40000, 8, (3ULL << 62) | 0x50000, false, true },
		{ "L2 entry compressed garbage", 0x40000, 8, (1ULL << 62) | (3ULL << 54) | 0x50000, false, true },
		{ "L2 entry reserved bits", 0x40000, 8, QCOW2_COPIED_T | 0x50002, false, true },
		{ "L2 entry at its own table", 0x40000, 8, QCOW2_COPIED_T | 0x40000, false, true },
		{ "refcount table entry at the L1", 0x10000, 8, 0x30000, false, false },
		{ "refcount table entry past the end", 0x10000, 8, 1ULL << 52, false, false },
		{ "refcount table entry reserved bits", 0x10000, 8, 0x20001, false, false },
		{ "refcount table entry at itself (a loop)", 0x10000, 8, 0x10000, false, false },
		{ "L1 entry at a refcount block", 0x30000, 8, QCOW2_COPIED_T | 0x20000, false, true },
		{ "two L2 entries, one cluster", 0x40008, 8, QCOW2_COPIED_T | 0x50000, false, false },
		{ "L2 entry at a refcount block", 0x40000, 8, QCOW2_COPIED_T | 0x20000, false, true },
		{ "L2 entry compressed in its table", 0x40000, 8, (1ULL << 62) | 0x40100, false, true },
		{ "refcount table entry at an L2 table", 0x10000, 8, 0x40000, false, false },
		{ "refcount block all zero", 0x20000, 8, 0, false, false },
		{ "refcount block all full", 0x20000, 8, ~0ULL, false, false },
	};
	char *img = path_of("h.qcow2");
	u8 buf[65536 * 2], fixed[0x40000], after[0x40000], val[8];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct disk_image *d;
		int fd, before = test_failed_checks;

		/* Layout: header 0, reftable 0x10000, refblock 0x20000, L1 0x30000, L2 0x40000, data 0x50000. */
		CHECK(!test_sh("qemu-img create -q -f qcow2 %s 4M && qemu-io -c 'write -P 0x11 0 64k' "
			  "%s >/dev/null", img, img));
		fd = open(img, O_RDWR);
		CHECK(fd >= 0);
		put_be(val, v[i].val, v[i].n);
		CHECK(pwrite(fd, val, v[i].n, v[i].off) == v[i].n);
		CHECK(pread_full(fd, fixed, sizeof(fixed), 0) == sizeof(fixed));
		close(fd);
		d = disk_open(img, false, false);
		CHECK(v[i].open_fails == (d == NULL));
		if (d) {
			/* A table pointing at metadata: the guest gets an I/O error. */
			if (v[i].read_fails)
				CHECK(dio(d, DISK_READ, 0, buf, 4096) < 0);
			/* Whatever comes back, it must not crash or escape. */
			dio(d, DISK_READ, 0, buf, sizeof(buf));
			dio(d, DISK_WRITE, 0, buf, sizeof(buf));
			dio(d, DISK_WRITE, 512, buf, 4096);
			dio(d, DISK_WRITE, 3 << 20, buf, 4096);
			disk_discard_sync(d, 0, 1 << 20);
			disk_write_zeroes_sync(d, 0, 1 << 20, false);
			dio(d, DISK_READ, 0, buf, sizeof(buf));
			dio(d, DISK_FLUSH, 0, NULL, 0);
			disk_close(d);
			fd = open(img, O_RDONLY);
			CHECK(pread_full(fd, after, sizeof(after), 0) == sizeof(after));
			close(fd);
			/* Header, refcount table and L1 untouched (no new L2 table is needed). */
			CHECK(!memcmp(fixed, after, 0x20000));
			CHECK(!memcmp(fixed + 0x30000, after + 0x30000, 0x10000));
		}
		if (test_failed_checks != before)
			printf("# hostile case: %s\n", v[i].what);
	}
}

/*
 * SIGKILL at random moments of a write storm (writes, discards, flushes
 * on a qcow2 over a backing file; 64 KiB, 4 KiB and 512-byte clusters, the
 * last with 64-bit refcounts, so that its refcount table grows):
 * qemu-img check must find no
 * corruption (leaks allowed), and every region whose write a flush
 * acknowledged (reported over a pipe) must hold its data.
 */
static void test_kill_storm(void)
{
	char img[256], base[256];
	u64 size = 32 << 20, region = 48 * 1024;
	u8 *bdata = malloc(size);
	int round, status, leaks = 0;

	/* Kept: path_of()'s buffers are reused. */
	snprintf(img, sizeof(img), "%s", path_of("k.qcow2"));
	snprintf(base, sizeof(base), "%s", path_of("k.raw"));
	fill_random(bdata, size);
	CHECK(!write_file(base, bdata, size));
	for (round = 0; round < 20 && !test_failed_checks; round++) {
		int p[2], acked = -1, n, r2;
		u32 got;
		pid_t pid;

		unlink(img);
		CHECK(!test_sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=%d -b k.raw -F raw "
			  "-o refcount_bits=%d k.qcow2", dir,
			  round % 3 == 0 ? 65536 : round % 3 == 1 ? 4096 : 512,
			  round % 3 == 2 ? 64 : 16));
		CHECK(pipe(p) == 0);
		pid = fork();
		if (pid == 0) {
			struct disk_image *d = disk_open(img, false, false);
			u8 *buf = malloc(region);
			u32 k;

			close(p[0]);
			if (!d)
				_exit(1);
			/* Ready: the parent's clock starts now. */
			k = ~0U;
			if (write(p[1], &k, sizeof(k)) != sizeof(k))
				_exit(1);
			rnd_state ^= round * 0x9e3779b97f4a7c15ULL;
			for (k = 0; (u64)(k + 1) * region <= size / 2; k++) {
				/* Region k: 48 KiB at an odd place, so clusters are partly written. */
				memset(buf, k + 1, region);
				if (dio(d, DISK_WRITE, (u64)k * region, buf, region) != (ssize_t)region)
					_exit(1);
				/* Noise in the upper half: writes, zeroes, discards. */
				memset(buf, 0xcc, 8192);
				dio(d, DISK_WRITE, size / 2 + rnd() % (size / 2 / 512 - 16) * 512,
				    buf, 8192);
				disk_discard_sync(d, size / 2 + rnd() % (size / 2 / 65536) * 65536,
						  65536 * (1 + rnd() % 3));
				disk_write_zeroes_sync(d, size / 2 + rnd() % (size / 2 / 512 - 64) * 512,
						       4096 * (1 + rnd() % 8), true);
				if (k % 3 == 0) {
					if (dio(d, DISK_FLUSH, 0, NULL, 0))
						_exit(1);
					/* Everything up to region k is durable now. */
					if (write(p[1], &k, sizeof(k)) != sizeof(k))
						_exit(1);
				}
			}
			_exit(0);
		}
		close(p[1]);
		n = read(p[0], &got, sizeof(got));
		CHECK(n == sizeof(got) && got == ~0U);
		/* Longer with 512-byte clusters: past the first refcount table's 2 MiB. */
		usleep(1000 + rnd() % (round % 3 == 2 ? 400000 : 100000));
		kill(pid, SIGKILL);
		while ((n = read(p[0], &got, sizeof(got))) == sizeof(got))
			acked = got;
		close(p[0]);
		CHECK(waitpid(pid, &status, 0) == pid);
		r2 = qemu_check(img);
		CHECK(r2 == 0 || r2 == 3);
		leaks += r2 == 3;
		if (acked >= 0) {
			u64 len = (u64)(acked + 1) * region;
			u8 *model = malloc(size), *seen = malloc(size);
			int fd;

			unlink(path_of("k.seen"));
			CHECK(!test_sh("qemu-img convert -O raw %s %s", img, path_of("k.seen")));
			fd = open(path_of("k.seen"), O_RDONLY);
			CHECK(fd >= 0 && pread_full(fd, seen, size, 0) == (ssize_t)size);
			if (fd >= 0)
				close(fd);
			for (n = 0; n <= acked; n++)
				memset(model + (u64)n * region, n + 1, region);
			CHECK(!memcmp(model, seen, len));
			free(model);
			free(seen);
		}
		if (test_failed_checks || getenv("LKVM_TEST_VERBOSE"))
			printf("# kill round %d: qemu-img check %d, acked %d\n", round, r2, acked);
	}
	printf("# kill storm: %d rounds, %d left leaked clusters\n", round, leaks);
	free(bdata);
}

TEST_MAIN_BEGIN("test-qcow2")
	TEST_NEED_QEMU_IMG(dir, "/tmp/lkvm-qcow2-XXXXXX");
	RUN(test_backing_raw_v3);
	RUN(test_chain_v2);
	RUN(test_compressed);
	RUN(test_refcount_widths);
	RUN(test_reftable_growth);
	RUN(test_flush_durable);
	RUN(test_refusals);
	RUN(test_hostile);
	RUN(test_kill_storm);
	test_sh("rm -rf %s", dir);
TEST_MAIN_END()
