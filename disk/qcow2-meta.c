// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 metadata: the L2 table and refcount block caches, cluster
 * allocation and freeing, and the order in which metadata reaches the file.
 *
 * Crash safety. Guest data is written to its cluster at once; metadata
 * changes collect in the caches (and in the in-memory L1 and refcount
 * tables) and reach the file in one order, with fdatasync between the
 * steps, so that whatever prefix of it survives a SIGKILL or a host crash,
 * no table ever points at a cluster whose refcount does not count it:
 *
 *   1. refcount blocks (a new refcount block is written and synced before
 *      the refcount table entry that points at it, at once, when created);
 *   2. fdatasync, then the L2 tables: their new entries now point only at
 *      clusters whose refcounts (and data) are durable;
 *   3. fdatasync, then the L1 entries: new L2 tables are durable first;
 *   4. fdatasync. Only now are the clusters that the written tables no
 *      longer reference (a compressed cluster rewritten, a discard) given
 *      back: their refcounts drop in the cache, to be written by a later
 *      round. A crash before that leaks them, which qemu-img check reports
 *      as leaks and never as corruption; and a dropped reference can never
 *      reach the file before the table change that dropped it, nor can
 *      the cluster be used again before that.
 *
 * Refcount increments are always safe to write (at worst a leak), and
 * decrements are only made after step 4, so a dirty refcount block may be
 * written alone at any time (cache eviction). A dirty L2 table may not: its
 * eviction runs the whole sequence. The fdatasync before steps 2, 3 and 4
 * is skipped only when nothing was written since the last one
 * (q->unsynced, set by every write to the file): so an evicted refcount
 * block, a new refcount table entry or guest data filling a preallocated
 * cluster in place, written in an earlier round, is durable before any
 * L2 or L1 write too, not only what this round wrote.
 * A guest flush runs the sequence too and ends with
 * an fdatasync, so an acknowledged flush covers data and metadata.
 * Nothing ever sets the image's dirty bit: refcounts are always kept exact.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <unistd.h>

#include "qcow2.h"

/* How far past the end of the file a hostile refcount table may make us search. */
#define QCOW2_MAX_SCAN_PAST_END	(1ULL << 20)

int qcow2_pread(struct qcow2 *q, void *buf, size_t len, u64 off)
{
	ssize_t n = pread_full(q->fd, buf, len, off);

	if (n < 0)
		return -errno;
	if ((size_t)n < len)
		return -EIO;
	return 0;
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, u64 off)
{
	struct iovec v = { (void *)buf, len };

	return qcow2_host_io(q, true, &v, 1, 0, off, len);
}

int qcow2_sync(struct qcow2 *q)
{
	if (fdatasync(q->fd) < 0)
		return -errno;
	q->unsynced = false;
	return 0;
}

bool qcow2_hits_fixed_meta(const struct qcow2 *q, u64 off, u64 len)
{
	u64 end = off + len;
	u64 l1_end = q->l1_offset + ALIGN_UP((u64)q->l1_size * 8, q->cluster_size);
	u64 rt_end = q->reft_offset + (u64)q->reft_clusters * q->cluster_size;

	if (end < off)
		return true;
	return off < q->cluster_size ||
	       (q->l1_size && off < l1_end && end > q->l1_offset) ||
	       (off < rt_end && end > q->reft_offset);
}

static u64 mset_hash(const struct qcow2 *q, u64 idx)
{
	return (idx * 0x9e3779b97f4a7c15ULL) & (q->mset_cap - 1);
}

static void mset_insert(struct qcow2 *q, u64 v)
{
	u64 i = mset_hash(q, v >> 2);

	while (q->mset[i] && q->mset[i] >> 2 != v >> 2)
		i = (i + 1) & (q->mset_cap - 1);
	if (!q->mset[i])
		q->mset_n++;
	q->mset[i] |= v;
}

/*
 * Record a table at host offset @off. The set is what lets a hostile L2
 * entry pointing at another table, or a table pointing at the wrong kind,
 * fail with EIO instead of overwriting metadata with guest data.
 */
void qcow2_meta_add(struct qcow2 *q, u64 off, unsigned int kind)
{
	u64 idx = off >> q->cluster_bits, i, *old = q->mset, old_cap = q->mset_cap;

	if (!idx)
		return;
	if (2 * (q->mset_n + 1) > q->mset_cap) {
		q->mset_cap = max(old_cap * 2, 64ULL);
		q->mset = xzalloc(q->mset_cap * sizeof(*q->mset));
		q->mset_n = 0;
		for (i = 0; i < old_cap; i++)
			if (old[i])
				mset_insert(q, old[i]);
		free(old);
	}
	mset_insert(q, idx << 2 | kind);
}

unsigned int qcow2_meta_at(const struct qcow2 *q, u64 off, u64 len)
{
	u64 c = off >> q->cluster_bits, last = (off + max(len, 1ULL) - 1) >> q->cluster_bits;
	unsigned int kind = 0;

	for (; q->mset_cap && c <= last; c++) {
		u64 i = mset_hash(q, c);

		while (q->mset[i] && q->mset[i] >> 2 != c)
			i = (i + 1) & (q->mset_cap - 1);
		kind |= q->mset[i] & 3;
	}
	return kind;
}

int qcow2_cache_init(struct qcow2_cache *c, unsigned int nr, u64 size __unused)
{
	c->nr = nr;
	c->off = xzalloc(nr * sizeof(*c->off));
	c->data = xzalloc(nr * sizeof(*c->data));
	c->dirty = xzalloc(nr * sizeof(*c->dirty));
	c->used = xzalloc(nr * sizeof(*c->used));
	c->tick = 0;
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	unsigned int i;

	if (!c->data)
		return;
	for (i = 0; i < c->nr; i++)
		free(c->data[i]);
	free(c->off);
	free(c->data);
	free(c->dirty);
	free(c->used);
	memset(c, 0, sizeof(*c));
}

static int cache_find(const struct qcow2_cache *c, u64 off)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		if (c->off[i] == off)
			return i;
	return -1;
}

/* An empty slot, else the least recently used one. */
static unsigned int cache_victim(const struct qcow2_cache *c)
{
	unsigned int i, v = 0;

	for (i = 0; i < c->nr; i++) {
		if (!c->off[i])
			return i;
		if (c->used[i] < c->used[v])
			v = i;
	}
	return v;
}

/* Write every dirty table of @c; returns how many, or -errno. */
static int cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c)
{
	unsigned int i;
	int n = 0, r;

	for (i = 0; i < c->nr; i++) {
		if (!c->dirty[i])
			continue;
		r = qcow2_pwrite(q, c->data[i], q->cluster_size, c->off[i]);
		if (r < 0)
			return r;
		c->dirty[i] = false;
		n++;
	}
	return n;
}

/*
 * Slot for the table at @off in @c, loading it (or zeroing it when @fresh).
 * @l2: evicting a dirty slot needs the full writeback (L2 tables), or only
 * that block's write (refcount blocks, see the top of this file).
 */
static int cache_get(struct qcow2 *q, struct qcow2_cache *c, bool l2, u64 off,
		     bool fresh, unsigned int *slot)
{
	int i = cache_find(c, off);
	int r;

	if (i >= 0) {
		if (fresh)
			memset(c->data[i], 0, q->cluster_size);
		goto out;
	}
	i = cache_victim(c);
	if (c->off[i] && c->dirty[i]) {
		if (l2)
			r = qcow2_writeback(q);
		else
			r = qcow2_pwrite(q, c->data[i], q->cluster_size, c->off[i]);
		if (r < 0)
			return r;
		c->dirty[i] = false;
	}
	c->off[i] = 0;
	if (!c->data[i])
		c->data[i] = xmalloc(q->cluster_size);
	if (fresh) {
		memset(c->data[i], 0, q->cluster_size);
	} else {
		r = qcow2_pread(q, c->data[i], q->cluster_size, off);
		if (r < 0)
			return r;
	}
	c->off[i] = off;
	c->dirty[i] = false;
out:
	c->used[i] = ++c->tick;
	*slot = i;
	return 0;
}

int qcow2_l2_get(struct qcow2 *q, u64 off, bool fresh, u64 **table, unsigned int *slot)
{
	int r = cache_get(q, &q->l2c, true, off, fresh, slot);

	if (r < 0)
		return r;
	*table = (u64 *)q->l2c.data[*slot];
	return 0;
}

void qcow2_l2_dirty(struct qcow2 *q, unsigned int slot)
{
	q->l2c.dirty[slot] = true;
}

/*
 * Entry @i of a refcount block, for every refcount width (1 to 64 bits,
 * 1 << @order). Entries of a byte or more are big-endian.
 */
static u64 rb_read(const u8 *b, u32 order, u64 i)
{
	u64 bit = i << order;

	/* Sub-byte widths: the entry's bit 0 is the lower bit of the byte. */
	if (order < 3)
		return (b[bit >> 3] >> (bit & 7)) & ((1U << (1U << order)) - 1);
	return get_be(b + (bit >> 3), 1U << (order - 3));
}

static void rb_write(u8 *b, u32 order, u64 i, u64 v)
{
	u64 bit = i << order;
	u8 mask;

	if (order < 3) {
		mask = ((1U << (1U << order)) - 1) << (bit & 7);
		b[bit >> 3] = (b[bit >> 3] & ~mask) | ((v << (bit & 7)) & mask);
		return;
	}
	put_be(b + (bit >> 3), v, 1U << (order - 3));
}

/* The refcount block covering cluster @cluster; 0 in *@off when there is none. */
static int rb_locate(struct qcow2 *q, u64 cluster, u64 *off)
{
	u64 idx = cluster >> q->rb_bits;
	u64 e;

	*off = 0;
	if (idx >= q->reft_size)
		return 0;
	e = q->reft[idx];
	if (!e)
		return 0;
	if ((e & QCOW2_REFT_RESERVED) || q->file_end < q->cluster_size ||
	    e > q->file_end - q->cluster_size || qcow2_hits_fixed_meta(q, e, q->cluster_size) ||
	    qcow2_meta_at(q, e, q->cluster_size) != QCOW2_META_RB)
		return -EIO;	/* a hostile refcount table */
	*off = e;
	return 0;
}

int qcow2_refcount(struct qcow2 *q, u64 cluster, u64 *ref)
{
	unsigned int slot;
	u64 off;
	int r = rb_locate(q, cluster, &off);

	*ref = 0;
	if (r < 0 || !off)
		return r;
	r = cache_get(q, &q->rbc, false, off, false, &slot);
	if (r < 0)
		return r;
	*ref = rb_read(q->rbc.data[slot], q->refcount_order,
		       cluster & ((1ULL << q->rb_bits) - 1));
	return 0;
}

static int set_refcount(struct qcow2 *q, u64 cluster, u64 ref)
{
	unsigned int slot;
	u64 off;
	int r = rb_locate(q, cluster, &off);

	if (r < 0)
		return r;
	if (!off)
		return -EIO;
	r = cache_get(q, &q->rbc, false, off, false, &slot);
	if (r < 0)
		return r;
	rb_write(q->rbc.data[slot], q->refcount_order,
		 cluster & ((1ULL << q->rb_bits) - 1), ref);
	q->rbc.dirty[slot] = true;
	return 0;
}

/*
 * Refcount table entry @idx is empty: make cluster @c (which it covers)
 * the new refcount block, counting itself. The block is durable before
 * the table entry names it.
 */
static int new_refblock(struct qcow2 *q, u64 idx, u64 c)
{
	u64 off = c << q->cluster_bits, be = htobe64(off);
	unsigned int slot;
	int r;

	r = cache_get(q, &q->rbc, false, off, true, &slot);
	if (r < 0)
		return r;
	rb_write(q->rbc.data[slot], q->refcount_order, c & ((1ULL << q->rb_bits) - 1), 1);
	r = qcow2_pwrite(q, q->rbc.data[slot], q->cluster_size, off);
	if (r < 0)
		goto fail;
	q->rbc.dirty[slot] = false;
	q->file_end = max(q->file_end, off + q->cluster_size);
	qcow2_meta_add(q, off, QCOW2_META_RB);
	r = qcow2_sync(q);
	if (r < 0)
		goto fail;
	r = qcow2_pwrite(q, &be, 8, q->reft_offset + idx * 8);
	if (r < 0)
		goto fail;
	q->reft[idx] = off;
	return 0;
fail:
	q->rbc.off[slot] = 0;
	return r;
}

/*
 * Every cluster the refcount table can describe is taken: a bigger table.
 * It goes past everything the old one covers (cluster @s on), after the
 * new refcount blocks that count it and themselves: written and synced
 * first, then the header names it in one sector-sized write, synced; the
 * old table's clusters are freed once that is durable. A crash before the
 * header write leaves the new clusters unreferenced past the end.
 */
static int grow_reftable(struct qcow2 *q)
{
	u64 cs = q->cluster_size, epb = 1ULL << q->rb_bits;
	u64 s = max((u64)q->reft_size << q->rb_bits, ALIGN_UP(q->file_end, cs) >> q->cluster_bits);
	u64 n = (u64)q->reft_size * 2, t, k, last, i, j, *nt;
	u8 hdr[12], *blk;
	int r;

	for (;;) {
		t = ALIGN_UP(n * 8, cs) / cs;
		for (k = 1; ; k = j) {
			last = s + k + t - 1;
			j = (last / epb) - (s / epb) + 1;
			if (j == k)
				break;
		}
		if (last / epb < n)
			break;
		n *= 2;
	}
	if (n * 8 > QCOW2_MAX_REFT_BYTES || last >= (1ULL << (56 - q->cluster_bits)))
		return -ENOSPC;

	nt = xzalloc(t * cs);
	blk = xmalloc(cs);
	memcpy(nt, q->reft, (u64)q->reft_size * 8);
	for (j = 0; j < k; j++) {
		u64 bi = s / epb + j, c;

		memset(blk, 0, cs);
		for (c = max(s, bi * epb); c <= last && c < (bi + 1) * epb; c++)
			rb_write(blk, q->refcount_order, c - bi * epb, 1);
		nt[bi] = (s + j) << q->cluster_bits;
		qcow2_meta_add(q, nt[bi], QCOW2_META_RB);
		r = qcow2_pwrite(q, blk, cs, (s + j) << q->cluster_bits);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < n; i++)
		nt[i] = htobe64(nt[i]);
	r = qcow2_pwrite(q, nt, t * cs, (s + k) << q->cluster_bits);
	if (r < 0 || (r = qcow2_sync(q)) < 0)
		goto out;
	put_be64(hdr, (s + k) << q->cluster_bits);
	put_be32(hdr + 8, t);
	r = qcow2_pwrite(q, hdr, sizeof(hdr), 48);
	if (r < 0 || (r = qcow2_sync(q)) < 0)
		goto out;
	r = qcow2_free_later(q, q->reft_offset, (u64)q->reft_clusters * cs);
	for (i = 0; i < n; i++)
		nt[i] = be64toh(nt[i]);
	free(q->reft);
	q->reft = nt;
	nt = NULL;
	q->reft_size = n;
	q->reft_offset = (s + k) << q->cluster_bits;
	q->reft_clusters = t;
	q->file_end = max(q->file_end, (last + 1) << q->cluster_bits);
out:
	free(nt);
	free(blk);
	return r;
}

int qcow2_alloc_cluster(struct qcow2 *q, u64 *off)
{
	u64 end_cluster = q->file_end >> q->cluster_bits;
	u64 c, ref;
	int r;

	for (c = q->free_hint; ; c++) {
		u64 idx = c >> q->rb_bits;

		if (idx >= q->reft_size) {
			r = grow_reftable(q);
			if (r < 0)
				return r;
			c--;	/* this cluster again: it may be the new table's now */
			continue;
		}
		if (c > end_cluster + QCOW2_MAX_SCAN_PAST_END)
			return -EIO;	/* refcounts claiming what the file lacks */
		/* Never hand out a table's cluster, whatever a hostile refcount says. */
		if (qcow2_hits_fixed_meta(q, c << q->cluster_bits, q->cluster_size) ||
		    qcow2_meta_at(q, c << q->cluster_bits, q->cluster_size))
			continue;
		if (!q->reft[idx]) {
			r = new_refblock(q, idx, c);
			if (r < 0)
				return r;
			continue;
		}
		r = qcow2_refcount(q, c, &ref);
		if (r < 0)
			return r;
		if (ref)
			continue;
		r = set_refcount(q, c, 1);
		if (r < 0)
			return r;
		q->free_hint = c + 1;
		*off = c << q->cluster_bits;
		q->file_end = max(q->file_end, *off + q->cluster_size);
		return 0;
	}
}

int qcow2_free_later(struct qcow2 *q, u64 off, u64 len)
{
	int r;

	if (!len)
		return 0;
	if (q->nr_pending == QCOW2_MAX_PENDING_FREE) {
		r = qcow2_writeback(q);
		if (r < 0)
			return r;
	}
	q->pending[q->nr_pending++] = (struct qcow2_free){ .off = off, .len = len };
	return 0;
}

/* Step 4: drop the references of clusters no durable table points at any more. */
static int release_pending(struct qcow2 *q)
{
	unsigned int i;
	u64 c, last, ref;
	int r;

	for (i = 0; i < q->nr_pending; i++) {
		struct qcow2_free *f = &q->pending[i];

		c = f->off >> q->cluster_bits;
		last = (f->off + f->len - 1) >> q->cluster_bits;
		for (; c <= last; c++) {
			r = qcow2_refcount(q, c, &ref);
			if (r < 0)
				return r;
			if (!ref)
				continue;	/* already free: a corrupt image, leave it */
			r = set_refcount(q, c, ref - 1);
			if (r < 0)
				return r;
			if (ref > 1)
				continue;
			q->free_hint = min(q->free_hint, c);
			/* Give the space back; a file system without holes keeps it. */
			if (fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      c << q->cluster_bits, q->cluster_size) < 0)
				pr_debug("qcow2 %s: punching a hole: %s", q->path,
					 strerror(errno));
		}
	}
	q->nr_pending = 0;
	return 0;
}

static int write_l1(struct qcow2 *q)
{
	u32 lo = q->l1_dirty_lo, hi = q->l1_dirty_hi, i;
	u64 *be;
	int r;

	if (lo >= hi)
		return 0;
	be = xmalloc((hi - lo) * sizeof(*be));
	for (i = lo; i < hi; i++)
		be[i - lo] = htobe64(q->l1[i]);
	r = qcow2_pwrite(q, be, (hi - lo) * sizeof(*be), q->l1_offset + (u64)lo * 8);
	free(be);
	if (r < 0)
		return r;
	q->l1_dirty_lo = q->l1_dirty_hi = 0;
	return 0;
}

int qcow2_writeback(struct qcow2 *q)
{
	bool l2_dirty = false;
	unsigned int i;
	int r;

	if (q->readonly)
		return 0;
	for (i = 0; i < q->l2c.nr; i++)
		l2_dirty |= q->l2c.dirty[i];

	/* 1. refcount blocks */
	r = cache_write_dirty(q, &q->rbc);
	if (r < 0)
		return r;
	if (l2_dirty) {
		/* 2. L2 tables, after everything written before them */
		if (q->unsynced && (r = qcow2_sync(q)) < 0)
			return r;
		r = cache_write_dirty(q, &q->l2c);
		if (r < 0)
			return r;
	}
	if (q->l1_dirty_lo < q->l1_dirty_hi) {
		/* 3. L1 entries, after the L2 tables they point at */
		if (q->unsynced && (r = qcow2_sync(q)) < 0)
			return r;
		r = write_l1(q);
		if (r < 0)
			return r;
	}
	if (q->nr_pending) {
		/* 4. what no durable table references any more */
		if (q->unsynced && (r = qcow2_sync(q)) < 0)
			return r;
		return release_pending(q);
	}
	return 0;
}
