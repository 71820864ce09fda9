// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 images, versions 2 and 3 (QEMU's docs/interop/qcow2.txt): the
 * header, the guest-to-host mapping through the L1 and L2 tables, reads
 * (allocated, zero, compressed and backing-file clusters), writes (in
 * place, or into a newly allocated cluster completed from what the guest
 * cluster held before), discard and write-zeroes. Metadata caching,
 * allocation and the crash-safe write order live in qcow2-meta.c.
 *
 * Every value read from the image is untrusted: the header is checked
 * at open (sizes, alignment, tables inside the file, features), and each
 * L1/L2/refcount entry when it is used; a bad one fails that request with
 * EIO. Tables live inside the file, so memory stays bounded by the file
 * size and qemu's own limits (32 MiB L1, 8 MiB refcount table).
 *
 * Not supported, refused at open with one line: encryption, external data
 * files, extended L2 entries, compression other than zlib, unknown
 * incompatible features; writing an image with internal snapshots, one
 * marked corrupt, or one with the dirty bit (lazy refcounts left stale:
 * `qemu-img check -r all` repairs it). All requests run synchronously on
 * the device's worker thread.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/iov.h"
#include "qcow2.h"

enum ctype { C_UNALLOC, C_ZERO, C_NORMAL, C_COMPRESSED };

/* ---- mapping ---- */

static u64 cluster_off(const struct qcow2 *q, u64 guest)
{
	return guest & (q->cluster_size - 1);
}

/* Host range of a compressed cluster's data. */
static void compressed_range(const struct qcow2 *q, u64 entry, u64 *off, u64 *len)
{
	u32 x = 62 - (q->cluster_bits - 8);
	u64 nsect = (entry >> x) & ((1ULL << (62 - x)) - 1);

	*off = entry & ((1ULL << x) - 1);
	*len = (nsect + 1) * 512 - (*off & 511);
}

/* Is [off, off + len) a place guest data may live? */
static bool data_ok(const struct qcow2 *q, u64 off, u64 len)
{
	return off && off < q->file_end && len <= q->file_end - off &&
	       !qcow2_hits_fixed_meta(q, off, len) && !qcow2_meta_at(q, off, len);
}

/* Check an L2 entry; its kind and (standard clusters) host offset. */
static int classify(const struct qcow2 *q, u64 e, enum ctype *t, u64 *host)
{
	u64 off, len;

	*host = 0;
	if (e & QCOW2_COMPRESSED) {
		compressed_range(q, e, &off, &len);
		if ((e & QCOW2_COPIED) || !data_ok(q, off, min(len, q->file_end - off)))
			return -EIO;
		*t = C_COMPRESSED;
		return 0;
	}
	if (e & QCOW2_L2_RESERVED)
		return -EIO;
	off = e & QCOW2_OFFSET_MASK;
	if (cluster_off(q, off))
		return -EIO;
	if (off && !data_ok(q, off, q->cluster_size))
		return -EIO;
	*host = off;
	if (e & QCOW2_ZERO) {
		if (q->version < 3)
			return -EIO;
		*t = C_ZERO;
	} else if (!off) {
		/* Offset 0 with COPIED only exists with external data files. */
		if (e & QCOW2_COPIED)
			return -EIO;
		*t = C_UNALLOC;
	} else {
		*t = C_NORMAL;
	}
	return 0;
}

/* The L2 table behind L1 entry @i: its host offset, 0 when there is none. */
static int l2_offset(const struct qcow2 *q, u64 i, u64 *off)
{
	u64 e = q->l1[i];

	*off = e & QCOW2_OFFSET_MASK;
	if (!e)
		return 0;
	/* Flags on an unallocated table: no writer of qcow2 makes that. */
	if (!*off)
		return -EIO;
	if ((e & QCOW2_L1_RESERVED) || cluster_off(q, *off) || *off >= q->file_end ||
	    q->cluster_size > q->file_end - *off ||
	    qcow2_hits_fixed_meta(q, *off, q->cluster_size) ||
	    qcow2_meta_at(q, *off, q->cluster_size) != QCOW2_META_L2)
		return -EIO;
	return 0;
}

/* The L2 entry for guest byte @guest (0 when its table is unallocated). */
static int l2_entry(struct qcow2 *q, u64 guest, u64 *e)
{
	u64 l2i = (guest >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1);
	u64 off, *t;
	unsigned int slot;
	int r = l2_offset(q, guest >> (q->cluster_bits + q->l2_bits), &off);

	*e = 0;
	if (r < 0 || !off)
		return r;
	r = qcow2_l2_get(q, off, false, &t, &slot);
	if (r < 0)
		return r;
	*e = be64toh(t[l2i]);
	return 0;
}

/*
 * The run of clusters from @guest (at most @len bytes) that map alike:
 * contiguous standard clusters (in place-writable ones only, with
 * @writable), or unallocated / zero ones. Compressed: one cluster.
 */
static int map_run(struct qcow2 *q, u64 guest, u64 len, bool writable,
		   enum ctype *t, u64 *host, u64 *entry, u64 *run)
{
	u64 n = min(len, q->cluster_size - cluster_off(q, guest));
	u64 e, h, step, next = guest + n;
	enum ctype t2;
	int r;

	r = l2_entry(q, guest, entry);
	if (r < 0 || (r = classify(q, *entry, t, host)) < 0)
		return r;
	if (*t == C_NORMAL)
		*host += cluster_off(q, guest);
	while (n < len && *t != C_COMPRESSED &&
	       !(writable && *t == C_NORMAL && !(*entry & QCOW2_COPIED))) {
		if (l2_entry(q, next, &e) < 0 || classify(q, e, &t2, &h) < 0 || t2 != *t)
			break;
		if (*t == C_NORMAL &&
		    (h != *host + n || (writable && !(e & QCOW2_COPIED))))
			break;
		if (writable && *t != C_NORMAL)
			break;	/* each allocation is its own step */
		step = min(len - n, q->cluster_size);
		n += step;
		next += step;
	}
	*run = n;
	return 0;
}

/* ---- reads ---- */

static struct iovec *slice(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
			   u64 skip, u64 len, unsigned int *n)
{
	unsigned int need = iov_count(iov, cnt, skip, len);

	if (need > q->iov_tmp_nr) {
		q->iov_tmp = xrealloc(q->iov_tmp, need * sizeof(*q->iov_tmp));
		q->iov_tmp_nr = need;
	}
	*n = iov_slice(iov, cnt, skip, len, q->iov_tmp, need);
	return q->iov_tmp;
}

static void zero_iov(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
		     u64 skip, u64 len)
{
	while (len) {
		u64 n = min(len, q->cluster_size);

		iov_from_buf(iov, cnt, skip, q->zeroes, n);
		skip += n;
		len -= n;
	}
}

/*
 * preadv/pwritev of [off, off + len) of the file, from/to @iov at @skip.
 * A read past the file's end gives zeroes.
 */
int qcow2_host_io(struct qcow2 *q, bool wr, const struct iovec *iov, unsigned int cnt,
		  u64 skip, u64 off, u64 len)
{
	if (wr && len)
		q->unsynced = true;
	while (len) {
		unsigned int n;
		struct iovec *v = slice(q, iov, cnt, skip, len, &n);
		ssize_t done = wr ? pwritev(q->fd, v, min(n, (unsigned int)IOV_MAX), off) :
				    preadv(q->fd, v, min(n, (unsigned int)IOV_MAX), off);

		if (done < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!done) {
			if (wr)
				return -EIO;
			zero_iov(q, iov, cnt, skip, len);
			return 0;
		}
		skip += done;
		off += done;
		len -= done;
	}
	return 0;
}

/* Inflate the compressed cluster of L2 entry @e into q->zc_data. */
static int decompress(struct qcow2 *q, u64 e)
{
	u64 off, len;
	ssize_t got;
	int zr;

	if (q->zc_entry == e)
		return 0;
	q->zc_entry = 0;
	if (!q->zc_data) {
		/* Only images with compressed clusters need these. */
		q->zc_data = xmalloc(q->cluster_size);
		q->cbuf = xmalloc(2 * q->cluster_size);
	}
	compressed_range(q, e, &off, &len);
	len = min(len, q->file_end - off);	/* the last sector may be short */
	got = pread_full(q->fd, q->cbuf, len, off);
	if (got <= 0)
		return got < 0 ? -errno : -EIO;
	if (!q->zs_ready) {
		/* Raw deflate; -15 accepts every window size a writer may use. */
		if (inflateInit2(&q->zs, -15) != Z_OK)
			return -ENOMEM;
		q->zs_ready = true;
	} else if (inflateReset(&q->zs) != Z_OK) {
		return -EIO;
	}
	q->zs.next_in = q->cbuf;
	q->zs.avail_in = got;
	q->zs.next_out = q->zc_data;
	q->zs.avail_out = q->cluster_size;
	zr = inflate(&q->zs, Z_FINISH);
	/* Done once a whole cluster came out; the input may have slack. */
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR && zr != Z_OK) || q->zs.avail_out)
		return -EIO;
	q->zc_entry = e;
	return 0;
}

int qcow2_read_iov(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
		   u64 guest, u64 len)
{
	u64 done = 0;
	int r;

	while (done < len) {
		u64 pos = guest + done, host, e, run;
		enum ctype t;

		r = map_run(q, pos, len - done, false, &t, &host, &e, &run);
		if (r < 0)
			return r;
		switch (t) {
		case C_NORMAL:
			r = qcow2_host_io(q, false, iov, cnt, done, host, run);
			break;
		case C_UNALLOC:
			if (q->backing) {
				unsigned int n;
				/* The backing slices into its own scratch, not ours. */
				struct iovec *v = slice(q, iov, cnt, done, run, &n);

				r = disk_read_iov(q->backing, v, n, pos, run);
				break;
			}
			/* fall through */
		case C_ZERO:
			zero_iov(q, iov, cnt, done, run);
			r = 0;
			break;
		default:
			r = decompress(q, e);
			if (!r)
				iov_from_buf(iov, cnt, done, q->zc_data + cluster_off(q, pos), run);
			break;
		}
		if (r < 0)
			return r;
		done += run;
	}
	return 0;
}

/* ---- writes ---- */

static void set_l1(struct qcow2 *q, u64 i, u64 v)
{
	q->l1[i] = v;
	if (q->l1_dirty_lo == q->l1_dirty_hi) {
		q->l1_dirty_lo = i;
		q->l1_dirty_hi = i + 1;
	} else {
		q->l1_dirty_lo = min(q->l1_dirty_lo, (u32)i);
		q->l1_dirty_hi = max(q->l1_dirty_hi, (u32)i + 1);
	}
}

/* The L2 table for guest byte @guest, allocated if missing; its offset. */
static int l2_for_write(struct qcow2 *q, u64 guest, u64 *l2off)
{
	u64 i = guest >> (q->cluster_bits + q->l2_bits);
	u64 off, ref, *t;
	unsigned int slot;
	int r = l2_offset(q, i, &off);

	if (r < 0)
		return r;
	if (!off) {
		r = qcow2_alloc_cluster(q, &off);
		if (r < 0)
			return r;
		r = qcow2_l2_get(q, off, true, &t, &slot);
		if (r < 0)
			return r;	/* the cluster leaks: allowed */
		qcow2_l2_dirty(q, slot);
		qcow2_meta_add(q, off, QCOW2_META_L2);
		set_l1(q, i, off | QCOW2_COPIED);
	} else if (!(q->l1[i] & QCOW2_COPIED)) {
		/* A shared table means snapshots, refused at open: corrupt. */
		r = qcow2_refcount(q, off >> q->cluster_bits, &ref);
		if (r < 0)
			return r;
		if (ref != 1)
			return -EIO;
		set_l1(q, i, off | QCOW2_COPIED);
	}
	*l2off = off;
	return 0;
}

static int set_l2(struct qcow2 *q, u64 l2off, u64 guest, u64 e)
{
	u64 l2i = (guest >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1);
	unsigned int slot;
	u64 *t;
	int r = qcow2_l2_get(q, l2off, false, &t, &slot);

	if (r < 0)
		return r;
	t[l2i] = htobe64(e);
	qcow2_l2_dirty(q, slot);
	return 0;
}

/* The references old L2 entry @e held: dropped once its replacement is durable. */
static int drop_entry(struct qcow2 *q, u64 e)
{
	enum ctype t;
	u64 host, off, len;

	if (classify(q, e, &t, &host) < 0)
		return 0;	/* a bad entry: trust none of it */
	if (t == C_COMPRESSED) {
		compressed_range(q, e, &off, &len);
		return qcow2_free_later(q, off, min(len, q->file_end - off));
	}
	return host ? qcow2_free_later(q, host, q->cluster_size) : 0;
}

/* The whole guest cluster at @base as the guest sees it now, into q->scratch. */
static int cluster_contents(struct qcow2 *q, u64 base, enum ctype t, u64 host, u64 e)
{
	struct iovec v = { q->scratch, q->cluster_size };
	int r;

	switch (t) {
	case C_UNALLOC:
		if (q->backing)
			return disk_read_iov(q->backing, &v, 1, base, q->cluster_size);
		/* fall through */
	case C_ZERO:
		memset(q->scratch, 0, q->cluster_size);
		return 0;
	case C_COMPRESSED:
		r = decompress(q, e);
		if (!r)
			memcpy(q->scratch, q->zc_data, q->cluster_size);
		return r;
	default:
		return qcow2_host_io(q, false, &v, 1, 0, host, q->cluster_size);
	}
}

/*
 * Whole clusters newly allocated one after the other, for one request:
 * their data goes to the file in one write (the page cache then holds it
 * in large folios, as it does a raw image's), and only after it their L2
 * entries, so no table ever points at a cluster before its data is there.
 */
#define ALLOC_RUN_MAX	64

struct alloc_run {
	u64 host;			/* the first new cluster */
	u64 skip;			/* its data: this far into the request */
	unsigned int n;
	u64 guest[ALLOC_RUN_MAX], l2off[ALLOC_RUN_MAX], old[ALLOC_RUN_MAX];
};

static int run_finish(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
		      struct alloc_run *run)
{
	unsigned int i, n = run->n;
	int r;

	if (!n)
		return 0;
	run->n = 0;
	r = qcow2_host_io(q, true, iov, cnt, run->skip, run->host, n * q->cluster_size);
	for (i = 0; i < n && !r; i++) {
		r = set_l2(q, run->l2off[i], run->guest[i],
			   (run->host + i * q->cluster_size) | QCOW2_COPIED);
		if (!r)
			r = drop_entry(q, run->old[i]);
	}
	return r;	/* on error the new clusters leak: allowed */
}

/*
 * Write [guest, guest + n) (within one cluster) that cannot go in place:
 * a new cluster, completed from the old contents when partly written,
 * then the L2 entry, then the old cluster's references dropped. Whole
 * clusters join @run instead, written by run_finish().
 */
static int write_cow(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
		     u64 skip, u64 guest, u64 n, enum ctype t, u64 host, u64 e,
		     struct alloc_run *run)
{
	u64 in = cluster_off(q, guest), l2off, new = 0;
	int r;

	r = l2_for_write(q, guest, &l2off);
	if (r < 0)
		return r;
	/* A preallocated zero cluster is ours alone: fill it in place. */
	if (t == C_ZERO && host && (e & QCOW2_COPIED))
		new = host;
	if (!new && n == q->cluster_size) {
		r = qcow2_alloc_cluster(q, &new);
		if (r < 0)
			return r;
		if (!run->n || run->n == ALLOC_RUN_MAX ||
		    new != run->host + run->n * q->cluster_size ||
		    skip != run->skip + run->n * q->cluster_size) {
			r = run_finish(q, iov, cnt, run);
			if (r < 0)
				return r;
			run->host = new;
			run->skip = skip;
		}
		run->guest[run->n] = guest;
		run->l2off[run->n] = l2off;
		run->old[run->n++] = e;
		return 0;
	}
	r = run_finish(q, iov, cnt, run);
	if (r < 0)
		return r;
	if (n < q->cluster_size) {
		r = cluster_contents(q, guest - in, t, host, e);
		if (r < 0)
			return r;
		iov_to_buf(iov, cnt, skip, q->scratch + in, n);
	}
	if (!new && (r = qcow2_alloc_cluster(q, &new)) < 0)
		return r;
	if (n < q->cluster_size)
		r = qcow2_pwrite(q, q->scratch, q->cluster_size, new);
	else
		r = qcow2_host_io(q, true, iov, cnt, skip, new, n);
	if (r < 0)
		return r;	/* a new cluster leaks: allowed */
	r = set_l2(q, l2off, guest, new | QCOW2_COPIED);
	if (r < 0 || new == host)
		return r;
	return drop_entry(q, e);
}

static int write_iov(struct qcow2 *q, const struct iovec *iov, unsigned int cnt,
		     u64 guest, u64 len)
{
	struct alloc_run run = { .n = 0 };
	u64 done = 0;
	int r = 0;

	while (done < len && !r) {
		u64 pos = guest + done, host, e, n;
		enum ctype t;

		r = map_run(q, pos, len - done, true, &t, &host, &e, &n);
		if (r < 0)
			break;
		if (t == C_NORMAL && (e & QCOW2_COPIED)) {
			r = qcow2_host_io(q, true, iov, cnt, done, host, n);
		} else {
			n = min(n, q->cluster_size - cluster_off(q, pos));
			r = write_cow(q, iov, cnt, done, pos, n, t,
				      t == C_NORMAL ? host - cluster_off(q, pos) : host, e,
				      &run);
		}
		done += n;
	}
	return r ?: run_finish(q, iov, cnt, &run);
}

/* A whole cluster to read as zeroes (@discard: or as anything). */
static int zero_cluster(struct qcow2 *q, u64 guest, bool discard)
{
	struct iovec v = { q->zeroes, q->cluster_size };
	u64 e, want, l2off, host;
	enum ctype t;
	int r;

	r = l2_entry(q, guest, &e);
	if (r < 0 || (r = classify(q, e, &t, &host)) < 0)
		return r;
	if (q->version >= 3)
		want = q->backing ? QCOW2_ZERO : 0;
	else if (!q->backing || discard)
		want = 0;	/* v2 with a backing file: discarded data shows the backing */
	else
		return write_iov(q, &v, 1, guest, q->cluster_size);
	if (e == want || (!want && t == C_UNALLOC) || (!want && t == C_ZERO && !host))
		return 0;
	r = l2_for_write(q, guest, &l2off);
	if (r < 0 || (r = set_l2(q, l2off, guest, want)) < 0)
		return r;
	return drop_entry(q, e);
}

static int zero_range(struct qcow2 *q, u64 guest, u64 len, bool discard)
{
	int r = 0;

	while (len && !r) {
		u64 n = min(len, q->cluster_size - cluster_off(q, guest));

		if (n == q->cluster_size) {
			r = zero_cluster(q, guest, discard);
		} else if (!discard) {
			struct iovec v = { q->zeroes, n };

			r = write_iov(q, &v, 1, guest, n);
		}
		guest += n;
		len -= n;
	}
	return r;
}

int qcow2_flush(struct qcow2 *q)
{
	int r;

	if (q->readonly)
		return 0;
	r = qcow2_writeback(q);
	if (r < 0)
		return r;
	return qcow2_sync(q);
}

void qcow2_set_writethrough(struct qcow2 *q, bool on)
{
	q->writethrough = on;
}

ssize_t qcow2_run(struct qcow2 *q, struct disk_req *req)
{
	u64 total = 0, len = req->len;
	unsigned int i;
	int r;

	if (req->op == DISK_READ || req->op == DISK_WRITE) {
		for (i = 0; i < req->iovcnt; i++)
			total += req->iov[i].iov_len;
		len = total;
	}
	if (req->op != DISK_FLUSH &&
	    (req->offset > q->size || len > q->size - req->offset))
		return -EIO;
	if (req->op != DISK_READ && req->op != DISK_FLUSH && q->readonly)
		return -EBADF;

	switch (req->op) {
	case DISK_READ:
		r = qcow2_read_iov(q, req->iov, req->iovcnt, req->offset, len);
		return r < 0 ? r : (ssize_t)total;
	case DISK_WRITE:
		r = write_iov(q, req->iov, req->iovcnt, req->offset, len);
		break;
	case DISK_FLUSH:
		return qcow2_flush(q);
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		r = zero_range(q, req->offset, len, req->op == DISK_DISCARD);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (!r && q->writethrough)
		r = qcow2_flush(q);
	if (r < 0)
		return r;
	return req->op == DISK_WRITE ? (ssize_t)total : 0;
}
