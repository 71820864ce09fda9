// SPDX-License-Identifier: GPL-2.0
/*
 * Opening a qcow2 image: the header and its extensions, every check that
 * can be made before the first request (features, sizes, alignment, tables
 * inside the file), the L1 and refcount tables, the backing file; and
 * closing it again. Refusals are one line naming the reason.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2.h"

#define HDR_V2_LEN		72
#define HDR_V3_LEN		104
#define EXT_BACKING_FMT		0xe2792acaU
#define EXT_FEATURE_NAMES	0x6803f857U
#define MAX_BACKING_NAME	1023
#define FEATURE_NAME_LEN	46
/* Cache sizes: bounded in bytes, at least a few tables each. */
#define L2_CACHE_BYTES		(4ULL << 20)
#define RB_CACHE_BYTES		(1ULL << 20)

struct qhdr {
	u32 version, cluster_bits, crypt, l1_size, reft_clusters, nb_snapshots;
	u32 refcount_order, header_length;
	u64 backing_off, size, l1_offset, reft_offset;
	u32 backing_len;
	u64 incompat, compat, autoclear;
	u8 compression;
	char backing_fmt[16];
	char names[64][FEATURE_NAME_LEN + 1];	/* incompatible feature names */
};

static __printf(2, 3) void refuse(const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("disk %s: qcow2: %s", path, msg);
}

bool qcow2_probe(int fd)
{
	u8 m[4];

	return pread_full(fd, m, 4, 0) == 4 && qcow2_be32(m) == QCOW2_MAGIC;
}

/* Header extensions, in [start, end) of the first cluster @buf. */
static int parse_extensions(const char *path, const u8 *buf, u64 start, u64 end,
			    struct qhdr *h)
{
	u64 pos = start;

	while (pos + 8 <= end) {
		u32 type = qcow2_be32(buf + pos), len = qcow2_be32(buf + pos + 4);
		const u8 *d = buf + pos + 8;
		u32 i;

		if (!type)
			return 0;
		if (len > end - pos - 8) {
			refuse(path, "a header extension runs past the first cluster");
			return -1;
		}
		if (type == EXT_BACKING_FMT) {
			if (len >= sizeof(h->backing_fmt) || memchr(d, 0, len)) {
				refuse(path, "unsupported backing file format name");
				return -1;
			}
			memcpy(h->backing_fmt, d, len);
			h->backing_fmt[len] = 0;
		} else if (type == EXT_FEATURE_NAMES) {
			for (i = 0; i + 48 <= len; i += 48)
				if (d[i] == 0 && d[i + 1] < 64)
					memcpy(h->names[d[i + 1]], d + i + 2, FEATURE_NAME_LEN);
		}
		pos += 8 + ALIGN_UP((u64)len, 8);
	}
	return 0;
}

static int parse_header(const char *path, const u8 *buf, u64 avail, struct qhdr *h)
{
	u64 cs, ext_start;

	memset(h, 0, sizeof(*h));
	if (avail < HDR_V2_LEN || qcow2_be32(buf) != QCOW2_MAGIC) {
		refuse(path, "truncated header");
		return -1;
	}
	h->version = qcow2_be32(buf + 4);
	h->backing_off = qcow2_be64(buf + 8);
	h->backing_len = qcow2_be32(buf + 16);
	h->cluster_bits = qcow2_be32(buf + 20);
	h->size = qcow2_be64(buf + 24);
	h->crypt = qcow2_be32(buf + 32);
	h->l1_size = qcow2_be32(buf + 36);
	h->l1_offset = qcow2_be64(buf + 40);
	h->reft_offset = qcow2_be64(buf + 48);
	h->reft_clusters = qcow2_be32(buf + 56);
	h->nb_snapshots = qcow2_be32(buf + 60);
	h->refcount_order = 4;
	h->header_length = HDR_V2_LEN;
	if (h->version != 2 && h->version != 3) {
		refuse(path, "version %u (lkvm reads versions 2 and 3)", h->version);
		return -1;
	}
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		refuse(path, "cluster_bits %u out of range (9 to 21)", h->cluster_bits);
		return -1;
	}
	cs = 1ULL << h->cluster_bits;
	if (h->version == 3) {
		if (avail < HDR_V3_LEN) {
			refuse(path, "truncated version 3 header");
			return -1;
		}
		h->incompat = qcow2_be64(buf + 72);
		h->compat = qcow2_be64(buf + 80);
		h->autoclear = qcow2_be64(buf + 88);
		h->refcount_order = qcow2_be32(buf + 96);
		h->header_length = qcow2_be32(buf + 100);
		if (h->header_length < HDR_V3_LEN || h->header_length % 8 ||
		    h->header_length > min(cs, avail)) {
			refuse(path, "bad header length %u", h->header_length);
			return -1;
		}
		if (h->header_length > HDR_V3_LEN)
			h->compression = buf[HDR_V3_LEN];
		if (h->refcount_order > 6) {
			refuse(path, "refcount_order %u (at most 6)", h->refcount_order);
			return -1;
		}
	}
	ext_start = h->header_length;
	return parse_extensions(path, buf, ext_start, min(cs, avail), h);
}

/* Features and flags lkvm does not implement: one line naming the first. */
static int check_features(const char *path, const struct qhdr *h, bool readonly)
{
	u64 unknown = h->incompat & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
				      QCOW2_INCOMPAT_DATA_FILE |
				      QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2);

	if (h->crypt) {
		refuse(path, "encrypted (%s): not supported",
		       h->crypt == 1 ? "AES" : h->crypt == 2 ? "LUKS" : "unknown method");
		return -1;
	}
	if (h->incompat & QCOW2_INCOMPAT_DATA_FILE) {
		refuse(path, "uses an external data file: not supported");
		return -1;
	}
	if (h->incompat & QCOW2_INCOMPAT_EXTL2) {
		refuse(path, "uses extended L2 entries (subclusters): not supported");
		return -1;
	}
	if ((h->incompat & QCOW2_INCOMPAT_COMPRESSION) || h->compression) {
		if (h->compression == 1)
			refuse(path, "uses zstd compression: not supported (zlib only)");
		else
			refuse(path, "uses compression type %u: not supported (zlib only)",
			       h->compression);
		return -1;
	}
	if (unknown) {
		int bit = __builtin_ctzll(unknown);

		refuse(path, "unknown incompatible feature bit %d%s%s%s", bit,
		       h->names[bit][0] ? " (" : "", h->names[bit],
		       h->names[bit][0] ? ")" : "");
		return -1;
	}
	if (readonly)
		return 0;
	if (h->incompat & QCOW2_INCOMPAT_CORRUPT) {
		refuse(path, "marked corrupt; repair it with qemu-img check -r all, "
		       "or add ,ro");
		return -1;
	}
	if (h->incompat & QCOW2_INCOMPAT_DIRTY) {
		refuse(path, "dirty (lazy refcounts left stale); repair it with "
		       "qemu-img check -r all, or add ,ro");
		return -1;
	}
	if (h->nb_snapshots) {
		refuse(path, "has internal snapshots: lkvm writes only images "
		       "without them (add ,ro)");
		return -1;
	}
	return 0;
}

/* L1 and refcount table placement and sizes, against the file. */
static int check_tables(const char *path, const struct qhdr *h, u64 file_size)
{
	u64 cs = 1ULL << h->cluster_bits;
	u64 span = cs << (h->cluster_bits - 3);	/* guest bytes per L2 table */
	u64 need = h->size / span + !!(h->size % span);
	u64 l1_bytes = (u64)h->l1_size * 8, rt_bytes = (u64)h->reft_clusters * cs;

	if (l1_bytes > QCOW2_MAX_L1_BYTES || need > h->l1_size) {
		refuse(path, "L1 table of %u entries for a %llu-byte disk", h->l1_size,
		       (unsigned long long)h->size);
		return -1;
	}
	if (h->l1_size && (h->l1_offset % cs || h->l1_offset > file_size ||
			   l1_bytes > file_size - h->l1_offset || !h->l1_offset)) {
		refuse(path, "L1 table outside the file or misaligned");
		return -1;
	}
	if (!h->reft_clusters || rt_bytes > QCOW2_MAX_REFT_BYTES || !h->reft_offset ||
	    h->reft_offset % cs || h->reft_offset > file_size ||
	    rt_bytes > file_size - h->reft_offset) {
		refuse(path, "refcount table outside the file, misaligned or too big");
		return -1;
	}
	return 0;
}

/* Read @n big-endian u64 entries at @off into a host-endian array. */
static u64 *load_table(int fd, u64 off, u64 n)
{
	u64 *t = xmalloc(max(n, 1ULL) * 8), i;

	if (n && pread_full(fd, t, n * 8, off) != (ssize_t)(n * 8)) {
		free(t);
		return NULL;
	}
	for (i = 0; i < n; i++)
		t[i] = be64toh(t[i]);
	return t;
}

/* The backing file's name, resolved as qemu-img does: relative to the image's directory. */
static char *backing_path(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	char *p;

	if (name[0] == '/' || !slash)
		return xstrdup(name);
	p = xmalloc((slash - path) + 1 + strlen(name) + 1);
	sprintf(p, "%.*s/%s", (int)(slash - path), path, name);
	return p;
}

static int open_backing(struct qcow2 *q, const struct qhdr *h, u64 file_size, int depth)
{
	char name[MAX_BACKING_NAME + 1], *full;

	if (!h->backing_off)
		return 0;
	if (!h->backing_len || h->backing_len > MAX_BACKING_NAME ||
	    h->backing_off > file_size || h->backing_len > file_size - h->backing_off) {
		refuse(q->path, "bad backing file name location or length");
		return -1;
	}
	if (pread_full(q->fd, name, h->backing_len, h->backing_off) != h->backing_len) {
		refuse(q->path, "cannot read the backing file name");
		return -1;
	}
	name[h->backing_len] = 0;
	if (strlen(name) != h->backing_len) {
		refuse(q->path, "backing file name contains a NUL byte");
		return -1;
	}
	if (h->backing_fmt[0] && strcmp(h->backing_fmt, "raw") &&
	    strcmp(h->backing_fmt, "qcow2")) {
		refuse(q->path, "backing file format '%s' not supported (raw, qcow2)",
		       h->backing_fmt);
		return -1;
	}
	if (depth >= QCOW2_MAX_CHAIN) {
		refuse(q->path, "backing chain deeper than %d images (a loop?)",
		       QCOW2_MAX_CHAIN);
		return -1;
	}
	full = backing_path(q->path, name);
	q->backing = disk_open_backing(full, h->backing_fmt[0] ? h->backing_fmt : NULL,
				       depth + 1);
	free(full);
	return q->backing ? 0 : -1;
}

/* Writing an image means its auto-clear features (bitmaps) are no longer valid. */
static int clear_autoclear(struct qcow2 *q, const struct qhdr *h)
{
	u64 zero = 0;

	if (q->readonly || !h->autoclear)
		return 0;
	if (qcow2_pwrite(q, &zero, 8, 88) < 0 || qcow2_sync(q) < 0) {
		refuse(q->path, "cannot clear the auto-clear feature bits: %s",
		       strerror(errno));
		return -1;
	}
	return 0;
}

static unsigned int cache_slots(u64 bytes, u64 cs, unsigned int lo, unsigned int hi)
{
	return max((u64)lo, min((u64)hi, bytes / cs));
}

struct qcow2 *qcow2_open(int fd, const char *path, bool readonly, u64 file_size,
			 int depth, u64 *size)
{
	struct qcow2 *q;
	struct qhdr *h;
	u64 cs, i, want = min(file_size, 1ULL << QCOW2_MAX_CLUSTER_BITS);
	ssize_t n;
	u8 *buf;

	/* The header and its extensions all live in the first cluster (2 MiB at most). */
	buf = xzalloc(max(want, (u64)HDR_V3_LEN));
	h = xmalloc(sizeof(*h));
	q = xzalloc(sizeof(*q));
	q->fd = fd;
	q->path = path;
	q->readonly = readonly;
	n = pread_full(fd, buf, want, 0);
	if (n < 0) {
		refuse(path, "%s", strerror(errno));
		goto fail;
	}
	if (parse_header(path, buf, n, h) < 0 || check_features(path, h, readonly) < 0 ||
	    check_tables(path, h, file_size) < 0)
		goto fail;

	cs = 1ULL << h->cluster_bits;
	q->version = h->version;
	q->cluster_bits = h->cluster_bits;
	q->cluster_size = cs;
	q->l2_bits = h->cluster_bits - 3;
	q->refcount_order = h->refcount_order;
	q->rb_bits = h->cluster_bits + 3 - h->refcount_order;
	q->size = h->size;
	q->file_end = file_size;
	q->l1_size = h->l1_size;
	q->l1_offset = h->l1_offset;
	q->reft_offset = h->reft_offset;
	q->reft_clusters = h->reft_clusters;
	q->reft_size = (u64)h->reft_clusters * cs / 8;
	q->l1 = load_table(fd, h->l1_offset, h->l1_size);
	q->reft = load_table(fd, h->reft_offset, q->reft_size);
	if (!q->l1 || !q->reft) {
		refuse(path, "cannot read the L1 or refcount table");
		goto fail;
	}
	for (i = 0; i < q->l1_size; i++)
		qcow2_meta_add(q, q->l1[i] & QCOW2_OFFSET_MASK, QCOW2_META_L2);
	for (i = 0; i < q->reft_size; i++)
		qcow2_meta_add(q, q->reft[i] & ~QCOW2_REFT_RESERVED, QCOW2_META_RB);
	qcow2_cache_init(&q->l2c, cache_slots(L2_CACHE_BYTES, cs, 4, 64), cs);
	qcow2_cache_init(&q->rbc, cache_slots(RB_CACHE_BYTES, cs, 2, 16), cs);
	q->scratch = xmalloc(cs);
	q->zeroes = xzalloc(cs);
	if (open_backing(q, h, file_size, depth) < 0 || clear_autoclear(q, h) < 0)
		goto fail;
	*size = q->size;
	free(buf);
	free(h);
	return q;
fail:
	free(buf);
	free(h);
	q->readonly = true;	/* nothing to write back */
	qcow2_close(q);
	return NULL;
}

void qcow2_close(struct qcow2 *q)
{
	int r;

	if (!q)
		return;
	/* Twice: the first round's freed clusters are counted down by the second. */
	if (!q->readonly && ((r = qcow2_flush(q)) < 0 || (r = qcow2_flush(q)) < 0))
		pr_err("disk %s: qcow2: writing metadata back at close failed: %s",
		       q->path, strerror(-r));
	qcow2_cache_free(&q->l2c);
	qcow2_cache_free(&q->rbc);
	if (q->zs_ready)
		inflateEnd(&q->zs);
	if (q->backing)
		disk_close(q->backing);
	free(q->l1);
	free(q->reft);
	free(q->mset);
	free(q->zc_data);
	free(q->cbuf);
	free(q->scratch);
	free(q->zeroes);
	free(q->iov_tmp);
	free(q);
}
