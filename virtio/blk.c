// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.x, section 5.2): one device per --disk, backed by a
 * raw or qcow2 image through the disk/ backend.
 *
 * Everything here runs with vdev->lock held: notify and the backend's
 * completions on the device's worker thread (the core takes the lock
 * around its callbacks), reset on a vCPU thread. So no request or queue
 * state needs a lock of its own. Requests are parsed and
 * validated here, handed to the backend, and completed from its callback:
 * status byte, used ring, then one interrupt per queue per batch.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "lkvm/disk.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

#define SECTOR_SHIFT		9
#define BLK_QUEUE_SIZE		VIRTQ_DEFAULT_SIZE
/* Data segments per request: what fits in one ring besides header and status. */
#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)
/*
 * The largest data segment (size_max), and so the most data one request
 * can carry: seg_max * size_max, just under 16 MiB. Linux's own default
 * segment size is 64 KiB, so its requests are not cut smaller by this.
 * A request beyond either limit fails with IOERR: one request's I/O must
 * stay short, since the worker may do it synchronously.
 */
#define BLK_SIZE_MAX		(64U << 10)
#define BLK_MAX_REQ_BYTES	((u64)BLK_SEG_MAX * BLK_SIZE_MAX)
#define BLK_MAX_QUEUES		64
/*
 * Limits for one DISCARD / WRITE_ZEROES request, in our config space.
 * Writing zeroes may fall back to writing them by hand, so one request
 * zeroes at most BLK_MAX_REQ_BYTES; a discard only punches holes.
 */
#define BLK_MAX_DISCARD_SEG	32
#define BLK_MAX_DISCARD_SECTORS	(1U << 18)	/* 128 MiB per segment */
#define BLK_MAX_WZ_SEG		4
#define BLK_MAX_WZ_SECTORS	(BLK_MAX_REQ_BYTES / BLK_MAX_WZ_SEG >> SECTOR_SHIFT)
/*
 * How much work the worker takes per pass over a queue while it holds
 * vdev->lock: vCPUs touching the device (config, notify without an
 * ioeventfd, reset) and a stop wait for at most one pass. A queue with
 * more is kicked again and served after the lock was given up.
 */
#define BLK_PASS_BYTES		(16U << 20)
#define BLK_PASS_REQS		64
/*
 * Read and write bytes given to the backend and not completed yet, per
 * disk. Beyond it chains stay in the ring until completions make room:
 * lkvm's exit waits for what is in flight, so this bounds how long.
 */
#define BLK_INFLIGHT_BYTES	(32U << 20)
#define BLK_DISCARD_ALIGN	8		/* sectors: 4 KiB, a file system block */
/* Requests with at most this many data segments come from the free list. */
#define BLK_INLINE_SEGS		8
#define BLK_FREE_MAX		256
/* Host I/O errors reported on the terminal before going quiet. */
#define BLK_MAX_ERR_REPORTS	5
/* Not a status: the request went to the backend, whose callback ends it. */
#define BLK_S_INFLIGHT		0xff

struct blk_dev;

struct blk_req {
	struct blk_dev *blk;
	struct virt_queue *vq;
	u16 head;
	u8 *status;			/* the chain's last writable byte */
	u32 data_len;			/* bytes written into the chain on success */
	u32 io_bytes;			/* counted in blk->inflight_bytes */
	struct disk_req dreq;
	struct blk_req *next_free;
	unsigned int max_segs;
	struct iovec iov[];		/* data segments */
};

struct blk_dev {
	struct virtio_device vdev;
	struct virtio_blk_config config;
	struct disk_image *disk;
	u64 capacity;			/* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	bool readonly;
	/* Completions during reset or teardown are dropped, not pushed. */
	bool dropping;
	bool signal_pending[VIRTIO_MAX_QUEUES];
	unsigned int err_reports;
	/* Read/write bytes in the backend, and taken in the current pass. */
	u64 inflight_bytes;
	u64 pass_bytes;
	/* Queues left unserved for want of in-flight room: kicked on completion. */
	bool waiting_room[VIRTIO_MAX_QUEUES];

	struct blk_req *free_reqs;
	unsigned int nr_free;
	/* Scratch for popping, and for pushing by head (worker thread only). */
	struct virtq_elem elem;
	struct virtq_elem push_elem;
};

static struct blk_req *req_alloc(struct blk_dev *blk, unsigned int segs)
{
	struct blk_req *req;

	if (segs <= BLK_INLINE_SEGS && blk->free_reqs) {
		req = blk->free_reqs;
		blk->free_reqs = req->next_free;
		blk->nr_free--;
	} else {
		segs = max(segs, (unsigned int)BLK_INLINE_SEGS);
		req = xmalloc(sizeof(*req) + segs * sizeof(struct iovec));
		req->max_segs = segs;
	}
	req->blk = blk;
	return req;
}

static void req_free(struct blk_req *req)
{
	struct blk_dev *blk = req->blk;

	if (req->max_segs == BLK_INLINE_SEGS && blk->nr_free < BLK_FREE_MAX) {
		req->next_free = blk->free_reqs;
		blk->free_reqs = req;
		blk->nr_free++;
	} else {
		free(req);
	}
}

/* Hand chain @head back with @len bytes written, and note the interrupt. */
static void blk_push(struct blk_dev *blk, struct virt_queue *vq, u16 head, u32 len)
{
	blk->push_elem.head = head;
	virtq_push(vq, &blk->push_elem, len);
	blk->signal_pending[vq->index] = true;
}

static void blk_signal_pending(struct blk_dev *blk)
{
	unsigned int i;

	for (i = 0; i < blk->vdev.nr_queues; i++) {
		if (blk->signal_pending[i]) {
			blk->signal_pending[i] = false;
			virtio_queue_signal(&blk->vdev, &blk->vdev.vqs[i]);
		}
	}
}

/* Finish a request: status byte, then the used ring (which publishes it). */
static void blk_finish(struct blk_dev *blk, struct virt_queue *vq, u16 head,
		       u8 *status, u8 st, u32 data_len)
{
	if (blk->dropping || !vq->ready)
		return;		/* reset: the guest's memory is no longer ours */
	*status = st;
	blk_push(blk, vq, head, (st == VIRTIO_BLK_S_OK ? data_len : 0) + 1);
}

static void blk_io_done(struct disk_req *dreq, ssize_t res)
{
	struct blk_req *req = dreq->priv;
	struct blk_dev *blk = req->blk;

	blk->inflight_bytes -= req->io_bytes;
	if (res < 0 && !blk->dropping && blk->err_reports++ < BLK_MAX_ERR_REPORTS)
		pr_warn("virtio-blk %s: %s at byte %llu failed: %s",
			disk_path(blk->disk),
			dreq->op == DISK_READ ? "read" :
			dreq->op == DISK_WRITE ? "write" : "flush",
			(unsigned long long)dreq->offset, strerror(-res));
	blk_finish(blk, req->vq, req->head, req->status,
		   res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, req->data_len);
	req_free(req);
}

/* Does [sector, sector + bytes) lie within the disk? No overflow possible. */
static bool blk_range_ok(const struct blk_dev *blk, u64 sector, u64 bytes)
{
	u64 nsect = bytes >> SECTOR_SHIFT;

	return sector <= blk->capacity && nsect <= blk->capacity - sector;
}

/* A READ or WRITE: validated, then given to the backend. */
static u8 blk_rw(struct blk_dev *blk, struct virt_queue *vq,
		 const struct virtq_elem *elem, u8 *status, bool write, u64 sector)
{
	const struct iovec *iov;
	unsigned int n, segs, i;
	size_t skip;
	u64 len;
	struct blk_req *req;

	if (write) {
		/* Data readable, after the header; nothing writable but status. */
		if (blk->readonly || elem->in_bytes != 1)
			return VIRTIO_BLK_S_IOERR;
		iov = elem->iov;
		n = elem->nr_out;
		skip = sizeof(struct virtio_blk_outhdr);
		len = elem->out_bytes - skip;
	} else {
		/* Data writable, before the status byte; nothing readable but header. */
		if (elem->out_bytes != sizeof(struct virtio_blk_outhdr))
			return VIRTIO_BLK_S_IOERR;
		iov = elem->iov + elem->nr_out;
		n = elem->nr_in;
		skip = 0;
		len = elem->in_bytes - 1;
	}
	if (len % (1 << SECTOR_SHIFT) || !blk_range_ok(blk, sector, len))
		return VIRTIO_BLK_S_IOERR;
	/* What we advertise (seg_max, size_max) bounds what we do. */
	if (len > BLK_MAX_REQ_BYTES)
		return VIRTIO_BLK_S_IOERR;
	segs = iov_count(iov, n, skip, len);
	if (segs > BLK_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;

	req = req_alloc(blk, segs);
	segs = iov_slice(iov, n, skip, len, req->iov, segs);
	for (i = 0; i < segs; i++) {
		if (req->iov[i].iov_len > BLK_SIZE_MAX) {
			req_free(req);
			return VIRTIO_BLK_S_IOERR;
		}
	}
	req->vq = vq;
	req->head = elem->head;
	req->status = status;
	req->data_len = write ? 0 : len;
	req->io_bytes = len;
	req->dreq = (struct disk_req){
		.op = write ? DISK_WRITE : DISK_READ,
		.offset = sector << SECTOR_SHIFT,
		.iov = req->iov,
		.iovcnt = segs,
		.done = blk_io_done,
		.priv = req,
	};
	blk->inflight_bytes += len;
	blk->pass_bytes += len;
	disk_submit(blk->disk, &req->dreq);
	return BLK_S_INFLIGHT;		/* in flight: the callback completes it */
}

static u8 blk_flush(struct blk_dev *blk, struct virt_queue *vq,
		    const struct virtq_elem *elem, u8 *status)
{
	struct blk_req *req = req_alloc(blk, 0);

	req->vq = vq;
	req->head = elem->head;
	req->status = status;
	req->data_len = 0;
	req->io_bytes = 0;
	/* Completed only once fdatasync has succeeded: an acked flush is durable. */
	req->dreq = (struct disk_req){
		.op = DISK_FLUSH,
		.done = blk_io_done,
		.priv = req,
	};
	disk_submit(blk->disk, &req->dreq);
	return BLK_S_INFLIGHT;
}

static u8 blk_get_id(struct blk_dev *blk, const struct virtq_elem *elem,
		     u32 *data_len)
{
	u64 room = elem->in_bytes - 1;
	size_t n = min(room, (u64)sizeof(blk->serial));

	if (elem->out_bytes != sizeof(struct virtio_blk_outhdr) || !n)
		return VIRTIO_BLK_S_IOERR;
	/* Shorter than 20 bytes: NUL-terminated, which the zero padding gives. */
	*data_len = iov_from_buf(elem->iov + elem->nr_out, elem->nr_in, 0,
				 blk->serial, n);
	return VIRTIO_BLK_S_OK;
}

/*
 * DISCARD and WRITE_ZEROES: a list of 16-byte segments after the header.
 * All of them are checked before any is carried out, so a bad request
 * changes nothing.
 */
static u8 blk_discard_zeroes(struct blk_dev *blk, const struct virtq_elem *elem,
			     bool zeroes)
{
	struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DISCARD_SEG];
	size_t hdr = sizeof(struct virtio_blk_outhdr);
	u64 bytes = elem->out_bytes - hdr;
	unsigned int i, n;
	unsigned int max_seg = zeroes ? BLK_MAX_WZ_SEG : BLK_MAX_DISCARD_SEG;
	u32 max_sect = zeroes ? BLK_MAX_WZ_SECTORS : BLK_MAX_DISCARD_SECTORS;
	int r = 0;

	_Static_assert(BLK_MAX_WZ_SEG <= BLK_MAX_DISCARD_SEG, "seg[] too small");
	if (blk->readonly || elem->in_bytes != 1)
		return VIRTIO_BLK_S_IOERR;
	if (!bytes || bytes % sizeof(seg[0]) || bytes / sizeof(seg[0]) > max_seg)
		return VIRTIO_BLK_S_IOERR;
	n = bytes / sizeof(seg[0]);
	iov_to_buf(elem->iov, elem->nr_out, hdr, seg, bytes);

	for (i = 0; i < n; i++) {
		u64 sector = le64toh(seg[i].sector);
		u32 nsect = le32toh(seg[i].num_sectors);
		u32 flags = le32toh(seg[i].flags);

		if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		/* UNMAP is meaningful for WRITE_ZEROES only. */
		if (!zeroes && flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (nsect > max_sect ||
		    !blk_range_ok(blk, sector, (u64)nsect << SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
	}
	for (i = 0; i < n && !r; i++) {
		u64 off = le64toh(seg[i].sector) << SECTOR_SHIFT;
		u64 len = (u64)le32toh(seg[i].num_sectors) << SECTOR_SHIFT;

		if (zeroes)
			r = disk_write_zeroes_sync(blk->disk, off, len,
						   le32toh(seg[i].flags) &
						   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		else
			r = disk_discard_sync(blk->disk, off, len);
	}
	if (r < 0) {
		if (blk->err_reports++ < BLK_MAX_ERR_REPORTS)
			pr_warn("virtio-blk %s: %s failed: %s", disk_path(blk->disk),
				zeroes ? "write-zeroes" : "discard", strerror(-r));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* The status byte: the last byte of the chain's writable part. */
static u8 *blk_status_ptr(const struct virtq_elem *elem)
{
	int i;

	for (i = elem->nr_out + elem->nr_in - 1; i >= elem->nr_out; i--)
		if (elem->iov[i].iov_len)
			return (u8 *)elem->iov[i].iov_base + elem->iov[i].iov_len - 1;
	return NULL;
}

/* One chain from the guest: validate, then complete it now or start I/O. */
static void blk_handle(struct blk_dev *blk, struct virt_queue *vq,
		       const struct virtq_elem *elem)
{
	struct virtio_blk_outhdr hdr;
	u8 *status = blk_status_ptr(elem);
	u32 data_len = 0;
	u64 sector;
	u8 st;

	if (!status || elem->out_bytes + elem->in_bytes < sizeof(hdr) + 1) {
		/*
		 * Too short to hold a header and a status: no byte of it is
		 * known to be a status, so give the chain back untouched.
		 */
		blk_push(blk, vq, elem->head, 0);
		return;
	}
	if (elem->out_bytes < sizeof(hdr)) {
		/* e.g. the header in a writable descriptor */
		blk_finish(blk, vq, elem->head, status, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	iov_to_buf(elem->iov, elem->nr_out, 0, &hdr, sizeof(hdr));
	sector = le64toh(hdr.sector);

	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		st = blk_rw(blk, vq, elem, status, false, sector);
		break;
	case VIRTIO_BLK_T_OUT:
		st = blk_rw(blk, vq, elem, status, true, sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = blk_flush(blk, vq, elem, status);
		break;
	case VIRTIO_BLK_T_GET_ID:
		st = blk_get_id(blk, elem, &data_len);
		break;
	case VIRTIO_BLK_T_DISCARD:
		st = blk_discard_zeroes(blk, elem, false);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = blk_discard_zeroes(blk, elem, true);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (st != BLK_S_INFLIGHT)
		blk_finish(blk, vq, elem->head, status, st, data_len);
}

/*
 * May this pass take another chain? Not once a stop was asked for (what
 * is still in the ring is never acknowledged, so nothing is lost), nor
 * past the pass's share of work or the disk's in-flight room.
 */
static bool blk_may_take(struct blk_dev *blk, struct virt_queue *vq,
			 unsigned int reqs)
{
	if (atomic_load(&blk->vdev.kvm->stopping))
		return false;
	if (blk->inflight_bytes >= BLK_INFLIGHT_BYTES) {
		blk->waiting_room[vq->index] = true;
		return false;
	}
	if (reqs >= BLK_PASS_REQS || blk->pass_bytes >= BLK_PASS_BYTES) {
		/* Come back once the lock was free: the kick is still ours. */
		virtio_queue_kick(&blk->vdev, vq->index);
		return false;
	}
	return true;
}

static void blk_notify(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct blk_dev *blk = vdev->priv;
	unsigned int reqs = 0;
	bool more;
	int r = 0;

	blk->pass_bytes = 0;
	for (;;) {
		virtq_disable_notify(vq);
		while ((more = blk_may_take(blk, vq, reqs)) &&
		       (r = virtq_pop(vq, &vdev->kvm->mem, &blk->elem)) == 1) {
			blk_handle(blk, vq, &blk->elem);
			reqs++;
		}
		if (r < 0) {
			virtio_device_broken(vdev, "malformed descriptor chain");
			break;
		}
		/*
		 * Stopped early: notifications stay off, the queue is kicked
		 * again by blk_may_take() or by a completion.
		 */
		if (!more)
			break;
		/* Buffers that raced with re-enabling: go round again. */
		if (!virtq_enable_notify(vq))
			break;
	}
	disk_unplug(blk->disk);
	blk_signal_pending(blk);
}

/* Completions made room: serve the queues that had to wait for it. */
static void blk_kick_waiting(struct blk_dev *blk)
{
	unsigned int i;

	if (blk->inflight_bytes >= BLK_INFLIGHT_BYTES)
		return;
	for (i = 0; i < blk->vdev.nr_queues; i++) {
		if (blk->waiting_room[i]) {
			blk->waiting_room[i] = false;
			virtio_queue_kick(&blk->vdev, i);
		}
	}
}

/* The backend's eventfd: asynchronous requests completed. */
static void blk_aio_event(struct virtio_device *vdev, void *ctx __unused)
{
	struct blk_dev *blk = vdev->priv;

	disk_complete(blk->disk);
	/* Completions may have submitted retries. */
	disk_unplug(blk->disk);
	blk_signal_pending(blk);
	blk_kick_waiting(blk);
}

static int blk_activate(struct virtio_device *vdev)
{
	struct blk_dev *blk = vdev->priv;

	/*
	 * A driver that cannot flush relies on every completed write being
	 * durable: write-through then, write-back with flushes otherwise.
	 */
	disk_set_writethrough(blk->disk, !virtio_has_feature(vdev, VIRTIO_BLK_F_FLUSH));
	return 0;
}

static void blk_reset(struct virtio_device *vdev)
{
	struct blk_dev *blk = vdev->priv;

	/*
	 * After reset the driver may reuse the memory of requests still in
	 * flight: wait for every one of them, writing nothing back.
	 */
	blk->dropping = true;
	disk_drain(blk->disk);
	blk->dropping = false;
	memset(blk->signal_pending, 0, sizeof(blk->signal_pending));
	memset(blk->waiting_room, 0, sizeof(blk->waiting_room));
	disk_set_writethrough(blk->disk, false);
}

/*
 * One queue stopped: its requests in flight end now, unreported (blk_finish()
 * sees the queue not ready), so none completes into the ring the driver
 * may set up next. Other queues' completions are reported as usual.
 */
static void blk_queue_stop(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct blk_dev *blk = vdev->priv;

	blk->signal_pending[vq->index] = false;
	disk_drain(blk->disk);
	blk_signal_pending(blk);
}

static const struct virtio_device_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.notify = blk_notify,
	.activate = blk_activate,
	.reset = blk_reset,
	.queue_stop = blk_queue_stop,
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * The serial number the guest sees (/sys/block/vdX/serial, by-id links):
 * the image's file name when it fits in 20 printable bytes and no other
 * disk of this VM has the same name, otherwise one derived from the
 * file's device and inode numbers. Both are stable across runs.
 */
static void blk_make_serial(struct kvm *kvm, int idx, struct blk_dev *blk)
{
	const char *name = base_name(kvm->cfg.disks[idx].path);
	size_t len = strlen(name);
	bool ok = len && len <= sizeof(blk->serial);
	u64 dev, ino;
	char buf[32];
	int i;

	for (i = 0; ok && i < (int)len; i++)
		ok = name[i] > ' ' && name[i] < 0x7f;
	for (i = 0; ok && i < kvm->cfg.nr_disks; i++)
		if (i != idx && !strcmp(base_name(kvm->cfg.disks[i].path), name))
			ok = false;
	memset(blk->serial, 0, sizeof(blk->serial));
	if (ok) {
		memcpy(blk->serial, name, len);
		return;
	}
	disk_file_id(blk->disk, &dev, &ino);
	snprintf(buf, sizeof(buf), "lkvm-%015llx", (unsigned long long)
		 ((dev * 0x9e3779b97f4a7c15ULL) ^ ino) & 0xfffffffffffffffULL);
	memcpy(blk->serial, buf, sizeof(blk->serial));
}

static void blk_fill_config(struct blk_dev *blk, unsigned int nr_queues)
{
	struct virtio_blk_config *c = &blk->config;

	c->capacity = htole64(blk->capacity);
	c->size_max = htole32(BLK_SIZE_MAX);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(1 << SECTOR_SHIFT);
	c->num_queues = htole16(nr_queues);
	c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(BLK_MAX_DISCARD_SEG);
	c->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_WZ_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_MAX_WZ_SEG);
	c->write_zeroes_may_unmap = 1;
}

static void blk_free(struct blk_dev *blk)
{
	struct blk_req *req;

	blk->dropping = true;
	disk_close(blk->disk);
	while ((req = blk->free_reqs)) {
		blk->free_reqs = req->next_free;
		free(req);
	}
	free(blk);
}

/* Waits for in-flight requests, so the image is consistent. */
static void blk_release(struct virtio_device *vdev)
{
	blk_free(vdev->priv);
}

static int blk_create(struct kvm *kvm, int idx)
{
	const struct disk_config *dc = &kvm->cfg.disks[idx];
	unsigned int nr_queues = kvm->cfg.nrcpus;
	struct blk_dev *blk;
	u64 f;

	blk = xzalloc(sizeof(*blk));
	blk->disk = disk_open(dc->path, dc->readonly, dc->direct);
	if (!blk->disk) {
		free(blk);
		return -1;
	}
	blk->readonly = dc->readonly;
	blk->capacity = disk_size(blk->disk) >> SECTOR_SHIFT;
	blk_make_serial(kvm, idx, blk);

	/* One queue per vCPU, so each CPU submits without sharing a ring. */
	nr_queues = max(1U, min(nr_queues, (unsigned int)BLK_MAX_QUEUES));
	blk_fill_config(blk, nr_queues);

	f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
	    (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_MQ);
	if (blk->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);

	blk->vdev.ops = &blk_ops;
	blk->vdev.priv = blk;
	blk->vdev.host_features = f;
	blk->vdev.config = (u8 *)&blk->config;
	blk->vdev.config_len = sizeof(blk->config);
	blk->vdev.nr_queues = nr_queues;
	blk->vdev.queue_max_size = BLK_QUEUE_SIZE;

	/*
	 * On failure the transport may already hold the device: leave it be,
	 * lkvm is about to exit and the kernel drops the image's lock.
	 */
	if (virtio_device_register(kvm, &blk->vdev) < 0)
		return -1;
	if (disk_event_fd(blk->disk) >= 0 &&
	    virtio_worker_add_fd(&blk->vdev, disk_event_fd(blk->disk),
				 blk_aio_event, NULL) < 0)
		return -1;
	pr_debug("virtio-blk: %s, %llu sectors%s, serial %.20s, %u queue(s)",
		 dc->path, (unsigned long long)blk->capacity,
		 blk->readonly ? ", read-only" : "", blk->serial, nr_queues);
	return 0;
}

static int virtio_blk_init(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->cfg.nr_disks; i++)
		if (blk_create(kvm, i) < 0)
			return -1;
	return 0;
}

virtio_dev_type_init(virtio_blk_init, blk_ops, blk_release);
