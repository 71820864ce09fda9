// SPDX-License-Identifier: GPL-2.0
/*
 * The order in which qcow2 writes reach the image (the rules at the top of
 * disk/qcow2-meta.c), watched at the system-call boundary. This file's
 * pwritev() and fdatasync() stand in for libc's in the whole binary (the
 * linker takes the executable's own definition first): each write to the
 * traced image is classified (L1 entries, an L2 table, or anything else:
 * data, refcount blocks, the refcount table, the header) and checked
 * against what a crash at that moment could leave, since any write not
 * yet followed by an fdatasync may be lost or land in any order:
 *
 *   - an L2 table write comes after a sync of everything written before
 *     it but other L2 tables (refcounts and data durable first);
 *   - an L1 write comes after a sync of everything written before it;
 *   - no write goes to a cluster that an L2 entry in the file (durable or
 *     not) gives to a guest cluster which no longer maps there: a freed
 *     cluster is not reused before the table that dropped it is durable;
 *   - a flush that succeeded leaves nothing unsynced.
 *
 * The image's caches shrink to a couple of tables so that evictions (of
 * dirty refcount blocks and L2 tables) happen all the time, on images
 * with 512-byte clusters (one refcount block per 128 KiB of file, one L2
 * table per 32 KiB of guest). One image has preallocated zero clusters
 * (what qemu's write-zeroes leaves), filled in place with no refcount
 * change. qemu-img makes the images and checks them afterwards.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../disk/qcow2.h"
#include "test.h"

static char dir[64];
static u64 rnd_state = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	return test_xorshift(&rnd_state);
}

/* The image being watched, and what the file says about it. */
static struct {
	struct qcow2 *q;
	int fd;				/* -1: not watching */
	u64 nr;				/* guest clusters */
	u64 *file_map;			/* host cluster offset of each guest cluster, 0: none */
	u64 *durable_map;		/* the same, as of the last fdatasync */
	bool unsynced_l1, unsynced_l2, unsynced_ref, unsynced_data;
	u64 writes, syncs;
	char why[160];			/* the first broken rule */
} w = { .fd = -1 };

static __printf(1, 2) void broken(const char *fmt, ...)
{
	va_list ap;

	if (w.why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w.why, sizeof(w.why), fmt, ap);
	va_end(ap);
}

/* The host cluster of an L2 entry (compressed ones: not tracked). */
static u64 entry_host(u64 e)
{
	return e & QCOW2_COMPRESSED ? 0 : e & QCOW2_OFFSET_MASK;
}

/* The L2 table at @off, as lkvm sees it now: its cache, else the file. */
static const u64 *mem_table(u64 off, u64 *buf)
{
	unsigned int i;

	for (i = 0; i < w.q->l2c.nr; i++)
		if (w.q->l2c.off[i] == off)
			return (const u64 *)w.q->l2c.data[i];
	if (pread(w.fd, buf, w.q->cluster_size, off) != (ssize_t)w.q->cluster_size)
		broken("cannot read the L2 table at %#llx", (unsigned long long)off);
	return buf;
}

/* Guest cluster @g's host cluster as lkvm sees it now (0: none). */
static u64 mem_host(u64 g, u64 *buf)
{
	u64 l2 = w.q->l1[g >> w.q->l2_bits] & QCOW2_OFFSET_MASK;

	if (!l2)
		return 0;
	return entry_host(be64toh(mem_table(l2, buf)[g & ((1ULL << w.q->l2_bits) - 1)]));
}

/* Record the L2 table @t just written at @off into the file's map. */
static void file_table(u64 off, const u64 *t)
{
	u64 epl = 1ULL << w.q->l2_bits, i, j;

	for (i = 0; i < w.q->l1_size; i++) {
		if ((w.q->l1[i] & QCOW2_OFFSET_MASK) != off)
			continue;
		for (j = 0; j < epl && i * epl + j < w.nr; j++)
			w.file_map[i * epl + j] = entry_host(be64toh(t[j]));
		return;
	}
	broken("an L2 table written at %#llx that no L1 entry names",
	       (unsigned long long)off);
}

/* A write of [off, off + len): does it respect the rules? */
static void watch_write(const struct iovec *iov, int cnt, u64 off, u64 len)
{
	struct qcow2 *q = w.q;
	u64 l1_end = q->l1_offset + (u64)q->l1_size * 8, cs = q->cluster_size;
	u64 first = ALIGN_DOWN(off, cs), g, *buf;
	bool l1 = off < l1_end && off + len > q->l1_offset;
	unsigned int kind = qcow2_meta_at(q, off, len);

	w.writes++;
	if (l1) {
		if (w.unsynced_l2 || w.unsynced_ref || w.unsynced_data)
			broken("write %llu: L1 entries after an unsynced %s write",
			       (unsigned long long)w.writes,
			       w.unsynced_l2 ? "L2 table" : w.unsynced_ref ? "refcount" : "data");
		w.unsynced_l1 = true;
		return;
	}
	buf = malloc(cs);
	/* Reuse: whoever the file gives these clusters to must still have them. */
	for (g = 0; g < w.nr; g++) {
		u64 h[2] = { w.file_map[g], w.durable_map[g] };
		int k;

		for (k = 0; k < 2; k++) {
			if (!h[k] || h[k] < first || h[k] >= off + len)
				continue;
			if (mem_host(g, buf) != h[k])
				broken("write %llu: to cluster %#llx, which a%s L2 entry still "
				       "gives to guest cluster %llu", (unsigned long long)w.writes,
				       (unsigned long long)h[k], k ? " durable" : "n unsynced",
				       (unsigned long long)g);
		}
	}
	if (kind == QCOW2_META_L2) {
		if (w.unsynced_ref || w.unsynced_data)
			broken("write %llu: an L2 table after an unsynced %s write",
			       (unsigned long long)w.writes,
			       w.unsynced_ref ? "refcount" : "data");
		if (cnt != 1 || len != cs || off != first)
			broken("write %llu: an L2 table in pieces", (unsigned long long)w.writes);
		else
			file_table(off, iov[0].iov_base);
		w.unsynced_l2 = true;
	} else if (kind || qcow2_hits_fixed_meta(q, off, len)) {
		w.unsynced_ref = true;
	} else {
		/* A new refcount block is written before it is recorded: data or refcount, both unsynced. */
		w.unsynced_data = true;
	}
	free(buf);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	u64 len = 0;
	int i;

	if (fd == w.fd && w.q) {
		for (i = 0; i < cnt; i++)
			len += iov[i].iov_len;
		watch_write(iov, cnt, off, len);
	}
	/* On 64-bit kernels the high half of the offset is unused. */
	return syscall(SYS_pwritev, fd, iov, cnt, (long)off, 0L);
}

/* The watched image's syncs are only recorded: the rules model durability, and disks are slow. */
int fdatasync(int fd)
{
	if (fd != w.fd || !w.q)
		return syscall(SYS_fdatasync, fd);
	w.syncs++;
	w.unsynced_l1 = w.unsynced_l2 = w.unsynced_ref = w.unsynced_data = false;
	memcpy(w.durable_map, w.file_map, w.nr * sizeof(*w.file_map));
	return 0;
}

/* Start watching @q on @fd: the file's map as it is now, caches of @l2 and @rb tables. */
static void watch(struct qcow2 *q, int fd, unsigned int l2, unsigned int rb)
{
	u64 i, *t = malloc(q->cluster_size);

	qcow2_cache_free(&q->l2c);
	qcow2_cache_free(&q->rbc);
	qcow2_cache_init(&q->l2c, l2, q->cluster_size);
	qcow2_cache_init(&q->rbc, rb, q->cluster_size);
	memset(&w, 0, sizeof(w));
	w.q = q;
	w.fd = fd;
	w.nr = q->size >> q->cluster_bits;
	w.file_map = calloc(w.nr, sizeof(u64));
	w.durable_map = calloc(w.nr, sizeof(u64));
	for (i = 0; i < q->l1_size; i++) {
		u64 off = q->l1[i] & QCOW2_OFFSET_MASK;

		if (off && pread(fd, t, q->cluster_size, off) == (ssize_t)q->cluster_size)
			file_table(off, t);
	}
	memcpy(w.durable_map, w.file_map, w.nr * sizeof(u64));
	free(t);
}

static void unwatch(void)
{
	free(w.file_map);
	free(w.durable_map);
	w.file_map = w.durable_map = NULL;
	w.q = NULL;
	w.fd = -1;
}

static ssize_t req(struct qcow2 *q, enum disk_op op, u64 off, void *buf, u64 len)
{
	struct iovec iov[2] = { { buf, len / 2 & ~511ULL },
				{ (u8 *)buf + (len / 2 & ~511ULL), len - (len / 2 & ~511ULL) } };
	struct disk_req r = { .op = op, .offset = off, .len = len, .iov = iov, .iovcnt = 2 };

	return qcow2_run(q, &r);
}

/*
 * Random requests on the image @img made by @make (a qemu-img command
 * line, "%s" for the image), @size bytes of guest, tiny caches; every
 * write checked; reads against a model; then qemu-img check.
 */
static void order_storm(const char *make, u64 size, int ops)
{
	char img[128], cmd[512];
	u64 maxlen = 64 << 10, fsize;
	u8 *model = malloc(size), *buf = malloc(maxlen);
	struct qcow2 *q;
	int fd, i;

	snprintf(img, sizeof(img), "%s/o.qcow2", dir);
	unlink(img);
	snprintf(cmd, sizeof(cmd), make, img, img);
	CHECK(!test_sh("%s", cmd));
	/* What the guest sees at the start. */
	CHECK(!test_sh("qemu-img convert -O raw %s %s/o.raw", img, dir));
	snprintf(cmd, sizeof(cmd), "%s/o.raw", dir);
	fd = open(cmd, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, model, size, 0) == (ssize_t)size);
	close(fd);
	fd = open(img, O_RDWR);
	fsize = lseek(fd, 0, SEEK_END);
	q = qcow2_open(fd, img, false, fsize, 0, &fsize);
	CHECK(q != NULL);
	if (!q) {
		close(fd);
		goto out;
	}
	CHECK_EQ(fsize, size);
	watch(q, fd, 2, 1);
	for (i = 0; i < ops && !test_failed_checks && !w.why[0]; i++) {
		u64 op = rnd() % 16, len = (1 + rnd() % (maxlen / 512)) * 512, off;

		if (rnd() % 3 == 0)
			len = (1 + rnd() % 4) * 512;	/* a cluster or a few */
		off = rnd() % ((size - len) / 512 + 1) * 512;
		if (op < 7) {
			memset(buf, (u8)rnd(), len);
			CHECK_EQ(req(q, DISK_WRITE, off, buf, len), len);
			memcpy(model + off, buf, len);
		} else if (op < 10) {
			CHECK_EQ(req(q, DISK_READ, off, buf, len), len);
			CHECK(!memcmp(buf, model + off, len));
		} else if (op < 12) {
			CHECK_EQ(req(q, DISK_WRITE_ZEROES, off, NULL, len), 0);
			memset(model + off, 0, len);
		} else if (op < 14) {
			/* No backing file: discarded whole clusters read as zeroes. */
			CHECK_EQ(req(q, DISK_DISCARD, off, NULL, len), 0);
			memset(model + off, 0, len);
		} else {
			CHECK_EQ(req(q, DISK_FLUSH, 0, NULL, 0), 0);
			CHECK(!w.unsynced_l1 && !w.unsynced_l2 && !w.unsynced_ref &&
			      !w.unsynced_data);
		}
	}
	qcow2_close(q);
	if (w.why[0])
		printf("# %s\n", w.why);
	CHECK(!w.why[0]);
	printf("# %d requests: %llu writes, %llu syncs\n", i, (unsigned long long)w.writes,
	       (unsigned long long)w.syncs);
	unwatch();
	close(fd);
	CHECK_EQ(test_sh("qemu-img check -q %s", img), 0);
	CHECK(!test_sh("qemu-img convert -O raw %s %s/o.raw", img, dir));
	snprintf(cmd, sizeof(cmd), "%s/o.raw", dir);
	fd = open(cmd, O_RDONLY);
	memset(buf, 0, maxlen);
	for (i = 0; fd >= 0 && (u64)i * maxlen < size; i++) {
		CHECK(pread(fd, buf, maxlen, (u64)i * maxlen) == (ssize_t)maxlen);
		CHECK(!memcmp(buf, model + (u64)i * maxlen, maxlen));
	}
	if (fd >= 0)
		close(fd);
out:
	free(model);
	free(buf);
}

/* A new image: every write allocates, refcount blocks come and go. */
static void test_order_alloc(void)
{
	order_storm("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=16 %s 2M",
		    2 << 20, 1500);
}

/* Every cluster allocated and then zeroed in place (zero flag, cluster kept). */
static void test_order_zero_alloc(void)
{
	order_storm("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=16 %s 2M && "
		    "qemu-io -c 'write -P 7 0 2M' -c 'write -z 0 2M' %s >/dev/null",
		    2 << 20, 1500);
}

TEST_MAIN_BEGIN("test-qcow2-order")
	TEST_NEED_QEMU_IMG(dir, "/tmp/lkvm-qcow2o-XXXXXX");
	RUN(test_order_alloc);
	RUN(test_order_zero_alloc);
	test_sh("rm -rf %s", dir);
TEST_MAIN_END()
