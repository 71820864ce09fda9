/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qcow2 images (QEMU's docs/interop/qcow2.txt), internal to disk/: the
 * open image's state, shared by qcow2.c (header, mapping, reads and
 * writes) and qcow2-meta.c (metadata caches, refcounts, allocation and
 * the order in which metadata reaches the file).
 */
#ifndef LKVM_DISK_QCOW2_H
#define LKVM_DISK_QCOW2_H

#include <zlib.h>

#include "lkvm/disk.h"

#define QCOW2_MAGIC		0x514649fbU	/* "QFI\xfb" */

/* L1 and L2 entries. */
#define QCOW2_COPIED		(1ULL << 63)	/* refcount is exactly one */
#define QCOW2_COMPRESSED	(1ULL << 62)
#define QCOW2_ZERO		1ULL		/* standard cluster reads as zeroes (v3) */
#define QCOW2_OFFSET_MASK	0x00fffffffffffe00ULL	/* bits 9-55 */
#define QCOW2_L1_RESERVED	0x7f000000000001ffULL
#define QCOW2_L2_RESERVED	0x3f000000000001feULL
#define QCOW2_REFT_RESERVED	0x1ffULL

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY		(1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT		(1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE	(1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION	(1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2		(1ULL << 4)

/* Implementation limits (qemu's own: 2 MiB clusters, 32 MiB L1, 8 MiB refcount table). */
#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21
#define QCOW2_MAX_L1_BYTES	(32ULL << 20)
#define QCOW2_MAX_REFT_BYTES	(8ULL << 20)
/* Backing files below the top image; deeper chains (or loops) are refused. */
#define QCOW2_MAX_CHAIN		16
/* Clusters waiting to be freed until the metadata dropping them is durable. */
#define QCOW2_MAX_PENDING_FREE	1024

/* A small write-back cache of cluster-sized tables (L2 tables, refcount blocks). */
struct qcow2_cache {
	unsigned int nr;
	u64 *off;			/* host offset of each slot's table; 0: empty */
	u8 **data;
	bool *dirty;
	u64 *used;			/* LRU stamp */
	u64 tick;
};

struct qcow2_free {
	u64 off;			/* host byte offset */
	u64 len;			/* bytes; every cluster touched loses one reference */
};

struct qcow2 {
	const char *path;
	int fd;				/* the image (not ours: the disk_image's) */
	bool readonly;
	u32 version;
	u32 cluster_bits;
	u64 cluster_size;
	u32 l2_bits;			/* log2 of entries per L2 table */
	u32 refcount_order;
	u32 rb_bits;			/* log2 of entries per refcount block */
	u64 size;			/* virtual disk size, bytes */
	u64 file_end;			/* bytes: file size, grown by allocations */

	u64 *l1;			/* host-endian copy of the active L1 table */
	u32 l1_size;
	u64 l1_offset;
	u32 l1_dirty_lo, l1_dirty_hi;	/* dirty entries [lo, hi); lo == hi: clean */

	u64 *reft;			/* host-endian copy of the refcount table */
	u32 reft_size;			/* entries */
	u64 reft_offset;
	u32 reft_clusters;

	struct qcow2_cache l2c, rbc;
	/* Where the L2 tables and refcount blocks are: a hash set of clusters. */
	u64 *mset;			/* cluster index << 2 | QCOW2_META_*; 0: empty */
	u64 mset_cap, mset_n;
	u64 free_hint;			/* no free cluster below this index */

	struct qcow2_free pending[QCOW2_MAX_PENDING_FREE];
	unsigned int nr_pending;

	/* The last compressed cluster decompressed: sequential reads reuse it. */
	u64 zc_entry;			/* its L2 entry, 0: none */
	u8 *zc_data;
	u8 *cbuf;			/* compressed bytes (2 clusters) */
	u8 *scratch;			/* one cluster, for partial writes */
	u8 *zeroes;			/* one cluster of zeroes */
	struct iovec *iov_tmp;		/* a slice of a request's iovecs */
	unsigned int iov_tmp_nr;
	z_stream zs;
	bool zs_ready;
	bool writethrough;
	/* The file was written since the last fdatasync (see qcow2-meta.c's rules). */
	bool unsynced;

	struct disk_image *backing;
};

/* qcow2's fields are big-endian (get_be()/put_be() in util.h). */
static inline u32 qcow2_be32(const u8 *p)
{
	return get_be(p, 4);
}

static inline u64 qcow2_be64(const u8 *p)
{
	return get_be(p, 8);
}

static inline void put_be32(u8 *p, u32 v)
{
	put_be(p, v, 4);
}

static inline void put_be64(u8 *p, u64 v)
{
	put_be(p, v, 8);
}

/* Kinds of table in the metadata set. */
#define QCOW2_META_L2		1
#define QCOW2_META_RB		2

/* qcow2-meta.c */
void qcow2_meta_add(struct qcow2 *q, u64 off, unsigned int kind);
/* The kinds of table recorded in the clusters [off, off + len) touches (0: none). */
unsigned int qcow2_meta_at(const struct qcow2 *q, u64 off, u64 len);
int qcow2_cache_init(struct qcow2_cache *c, unsigned int nr, u64 size);
void qcow2_cache_free(struct qcow2_cache *c);
/* The L2 table at @off, loaded (or zeroed when @fresh) into the cache. */
int qcow2_l2_get(struct qcow2 *q, u64 off, bool fresh, u64 **table, unsigned int *slot);
void qcow2_l2_dirty(struct qcow2 *q, unsigned int slot);
int qcow2_refcount(struct qcow2 *q, u64 cluster, u64 *ref);
/* A new cluster with refcount 1 (in the cache); its byte offset. */
int qcow2_alloc_cluster(struct qcow2 *q, u64 *off);
/* Drop one reference from every cluster of [off, off + len), once durable. */
int qcow2_free_later(struct qcow2 *q, u64 off, u64 len);
/* Write all dirty metadata in the safe order, then release pending frees. */
int qcow2_writeback(struct qcow2 *q);
/* Does [off, off + len) touch the header, the L1 table or the refcount table? */
bool qcow2_hits_fixed_meta(const struct qcow2 *q, u64 off, u64 len);
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, u64 off);
/* fdatasync the image: every write so far is durable. */
int qcow2_sync(struct qcow2 *q);
/* qcow2.c: the file's bytes [off, off + len) from/to @iov at @skip (reads past its end: zeroes). */
int qcow2_host_io(struct qcow2 *q, bool wr, const struct iovec *iov, unsigned int cnt,
		  u64 skip, u64 off, u64 len);
int qcow2_pread(struct qcow2 *q, void *buf, size_t len, u64 off);

#endif

/* qcow2.c: what raw.c's disk_image calls. */
bool qcow2_probe(int fd);
/*
 * Open the qcow2 image on @fd (@file_size bytes), @depth images below the
 * top of a chain; its virtual size in *@size. NULL after one message.
 */
struct qcow2 *qcow2_open(int fd, const char *path, bool readonly, u64 file_size,
			 int depth, u64 *size);
/* Writes back and syncs what is dirty, closes the backing chain, frees. */
void qcow2_close(struct qcow2 *q);
/* One request, synchronously: bytes moved (READ/WRITE), 0, or -errno. */
ssize_t qcow2_run(struct qcow2 *q, struct disk_req *req);
int qcow2_flush(struct qcow2 *q);
/* Read [guest, guest + len), which lies within the virtual size. */
int qcow2_read_iov(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
		   u64 guest, u64 len);
void qcow2_set_writethrough(struct qcow2 *q, bool on);

/* raw.c, for backing files: open one read-only (@fmt "raw", "qcow2" or NULL: probe). */
struct disk_image *disk_open_backing(const char *path, const char *fmt, int depth);
/* Read [off, off + len) into @iov; bytes past the image's end read as zeroes. */
int disk_read_iov(struct disk_image *disk, const struct iovec *iov, unsigned int cnt,
		  u64 off, u64 len);
