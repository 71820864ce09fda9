// SPDX-License-Identifier: GPL-2.0
/*
 * Disk images: the file layer (open, lock, size) for every format, and
 * raw images, where the guest's sectors are the file's bytes. A file that
 * starts with the qcow2 magic is a qcow2 image whatever its name: the
 * requests then go to disk/qcow2.c, synchronously, on the disk's I/O
 * thread (disk/io-thread.c) when it has one, else on the caller's.
 *
 * Reads and writes go to the kernel through libaio and complete on an
 * eventfd, so one worker thread keeps many requests in flight. Where libaio
 * cannot be used (io_setup fails, the request cannot be done with O_DIRECT,
 * the kernel rejects an iocb), the same request is done synchronously with
 * preadv/pwritev2 instead, on the I/O thread: slower, never wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/iov.h"
#include "io-thread.h"
#include "qcow2.h"

/* Room in the aio context; requests beyond it are done synchronously. */
#define DISK_AIO_EVENTS		1024
/* Requests gathered by disk_submit() before one io_submit(). */
#define DISK_PLUG_MAX		64
/* Chunk for writing zeroes by hand. */
#define DISK_ZERO_CHUNK		(64 * 1024)

/*
 * The zeroes written for write-zeroes and read past a disk's end.  Not
 * const: in .bss it costs nothing until read (and then maps the zero page),
 * where in .rodata it is 64 KiB of the binary that fault-around maps in
 * with whatever read-only data sits beside it.
 */
static u8 zero_chunk[DISK_ZERO_CHUNK];

#ifndef RWF_DSYNC
#define RWF_DSYNC		0x00000002
#endif

struct disk_image {
	char *path;
	int fd;			/* holds the lock; O_DIRECT for ",direct" */
	int bfd;		/* buffered twin of fd for what O_DIRECT refuses */
	bool readonly;
	bool direct;
	bool writethrough;
	bool dsync_flag_ok;	/* the kernel takes RWF_DSYNC */
	struct qcow2 *qcow2;	/* a qcow2 image; NULL: raw */
	u64 size;		/* what the guest sees */
	u64 dev, ino;
	mode_t mode;
	u32 mem_align;		/* O_DIRECT buffer alignment */
	u32 off_align;		/* O_DIRECT offset and length alignment */

	/* libaio; ctx is unused when aio is false. */
	bool aio;
	bool aio_fsync;		/* IOCB_CMD_FDSYNC works on this file */
	io_context_t ctx;
	int evfd;
	unsigned int inflight;	/* given to the kernel or plugged */
	struct iocb *plug[DISK_PLUG_MAX];
	unsigned int nr_plug;

	/* The synchronous work, off the caller's thread (NULL: on it). */
	struct disk_io_thread *iot;
	unsigned int iot_inflight;	/* queued there, done() not run yet */
};

u64 disk_size(const struct disk_image *disk)
{
	return disk->size;
}

bool disk_readonly(const struct disk_image *disk)
{
	return disk->readonly;
}

const char *disk_path(const struct disk_image *disk)
{
	return disk->path;
}

void disk_file_id(const struct disk_image *disk, u64 *dev, u64 *ino)
{
	*dev = disk->dev;
	*ino = disk->ino;
}

void disk_set_writethrough(struct disk_image *disk, bool on)
{
	disk->writethrough = on;
	if (disk->qcow2)
		qcow2_set_writethrough(disk->qcow2, on);
}

int disk_event_fd(const struct disk_image *disk)
{
	return disk->aio || disk->iot ? disk->evfd : -1;
}

unsigned int disk_inflight(const struct disk_image *disk)
{
	return disk->inflight + disk->iot_inflight;
}

/* Drop @n bytes from the front of an iovec array, in place. */
static void iov_advance(struct iovec **iov, unsigned int *cnt, size_t n)
{
	while (n && *cnt) {
		if (n < (*iov)->iov_len) {
			(*iov)->iov_base = (u8 *)(*iov)->iov_base + n;
			(*iov)->iov_len -= n;
			return;
		}
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	/* Skip empty segments so the next call starts on data. */
	while (*cnt && !(*iov)->iov_len) {
		(*iov)++;
		(*cnt)--;
	}
}

int disk_flush_sync(struct disk_image *disk)
{
	if (disk->readonly)
		return 0;
	if (disk->qcow2)
		return qcow2_flush(disk->qcow2);
	/*
	 * An error here may mean dirty data was dropped; a retry could then
	 * "succeed" without the data being on disk, so report it as is.
	 */
	if (fdatasync(disk->fd) < 0)
		return -errno;
	return 0;
}

/*
 * The remaining bytes of a READ/WRITE on @fd, on this thread. Resumes
 * from req->moved, so it also finishes what the kernel left short.
 */
static ssize_t rw_sync(struct disk_image *disk, struct disk_req *req, int fd)
{
	struct iovec *iov = req->iov;
	unsigned int cnt = req->iovcnt;
	bool need_sync = false;

	iov_advance(&iov, &cnt, req->moved);
	while (req->moved < req->total) {
		unsigned int n_iov = min(cnt, (unsigned int)IOV_MAX);
		off_t pos = req->offset + req->moved;
		ssize_t n;

		if (!cnt)
			return -EIO;	/* iovecs shorter than total: a bug */
		if (req->op == DISK_READ) {
			n = preadv(fd, iov, n_iov, pos);
		} else if (disk->writethrough && disk->dsync_flag_ok) {
			n = pwritev2(fd, iov, n_iov, pos, RWF_DSYNC);
			if (n < 0 && errno == EOPNOTSUPP) {
				/* Before Linux 4.7: fdatasync after instead. */
				disk->dsync_flag_ok = false;
				continue;
			}
		} else {
			n = pwritev(fd, iov, n_iov, pos);
			need_sync = disk->writethrough;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* the image shrank under us */
		req->moved += n;
		iov_advance(&iov, &cnt, n);
	}
	if (need_sync && fdatasync(fd) < 0)
		return -errno;
	return req->total;
}

/* Can this READ/WRITE go to the kernel on the O_DIRECT descriptor? */
static bool direct_ok(const struct disk_image *disk, const struct disk_req *req)
{
	unsigned int i;
	u64 mem = 0;

	if ((req->offset | req->total) & (disk->off_align - 1))
		return false;
	for (i = 0; i < req->iovcnt; i++)
		mem |= (unsigned long)req->iov[i].iov_base | req->iov[i].iov_len;
	return !(mem & (disk->mem_align - 1));
}

static void complete_req(struct disk_req *req, ssize_t res)
{
	req->done(req, res);
}

/* Do @req now, on this thread; its result. */
static ssize_t run_now(void *ctx, struct disk_req *req)
{
	struct disk_image *disk = ctx;
	ssize_t res;

	if (disk->qcow2)
		return qcow2_run(disk->qcow2, req);
	switch (req->op) {
	case DISK_READ:
	case DISK_WRITE:
		/* O_DIRECT where it can be used, else the buffered twin. */
		if (disk->direct && direct_ok(disk, req)) {
			res = rw_sync(disk, req, disk->fd);
			if (res != -EINVAL)
				break;
			/* An alignment rule statx didn't tell us about. */
		}
		res = rw_sync(disk, req, disk->bfd);
		break;
	case DISK_FLUSH:
		res = disk_flush_sync(disk);
		break;
	case DISK_DISCARD:
		res = disk_discard_sync(disk, req->offset, req->len);
		break;
	case DISK_WRITE_ZEROES:
		res = disk_write_zeroes_sync(disk, req->offset, req->len,
					     req->unmap);
		break;
	default:
		res = -EOPNOTSUPP;
		break;
	}
	return res;
}

/* Do @req synchronously: on the I/O thread, or now on this one. */
static void run_sync(struct disk_image *disk, struct disk_req *req)
{
	if (disk->iot) {
		disk->iot_inflight++;
		disk_io_thread_queue(disk->iot, req);
		return;
	}
	complete_req(req, run_now(disk, req));
}

/* Report what the I/O thread finished (@wait: block for at least one). */
static void iot_complete(struct disk_image *disk, bool wait)
{
	struct disk_req *req, *next;

	for (req = disk_io_thread_done(disk->iot, wait); req; req = next) {
		next = req->next;
		disk->iot_inflight--;
		complete_req(req, req->res);
	}
}

/*
 * Hand the plugged iocbs to the kernel. One that the kernel refuses is
 * done synchronously instead (and, for an fdsync it cannot do, never
 * tried again), and the rest are submitted after it.
 */
void disk_unplug(struct disk_image *disk)
{
	unsigned int first = 0;

	while (first < disk->nr_plug) {
		int r = io_submit(disk->ctx, disk->nr_plug - first,
				  &disk->plug[first]);
		struct disk_req *req;

		if (r > 0) {
			first += r;
			continue;
		}
		if (r == -EINTR)
			continue;
		req = disk->plug[first]->data;
		if (req->op == DISK_FLUSH && r == -EINVAL)
			disk->aio_fsync = false;
		first++;
		disk->inflight--;
		run_sync(disk, req);
	}
	disk->nr_plug = 0;
}

static void plug(struct disk_image *disk, struct disk_req *req)
{
	io_set_eventfd(&req->iocb, disk->evfd);
	req->iocb.data = req;
	disk->inflight++;
	disk->plug[disk->nr_plug++] = &req->iocb;
	if (disk->nr_plug == DISK_PLUG_MAX)
		disk_unplug(disk);
}

void disk_submit(struct disk_image *disk, struct disk_req *req)
{
	int rw_flags = 0;

	req->moved = 0;
	req->total = 0;
	if (req->op == DISK_READ || req->op == DISK_WRITE) {
		unsigned int i;

		for (i = 0; i < req->iovcnt; i++)
			req->total += req->iov[i].iov_len;
		if (!req->total) {
			complete_req(req, 0);
			return;
		}
	}
	if (req->op != DISK_READ && disk->readonly) {
		complete_req(req, req->op == DISK_FLUSH ? 0 : -EBADF);
		return;
	}
	if (!disk->aio || disk->inflight >= DISK_AIO_EVENTS) {
		run_sync(disk, req);
		return;
	}

	switch (req->op) {
	case DISK_READ:
	case DISK_WRITE:
		if (req->iovcnt > IOV_MAX ||
		    (disk->direct && !direct_ok(disk, req))) {
			run_sync(disk, req);
			return;
		}
		if (req->op == DISK_READ) {
			io_prep_preadv(&req->iocb, disk->fd, req->iov, req->iovcnt,
				       req->offset);
		} else {
			if (disk->writethrough)
				rw_flags = RWF_DSYNC;
			io_prep_pwritev2(&req->iocb, disk->fd, req->iov,
					 req->iovcnt, req->offset, rw_flags);
		}
		break;
	case DISK_FLUSH:
		if (!disk->aio_fsync) {
			run_sync(disk, req);
			return;
		}
		io_prep_fdsync(&req->iocb, disk->fd);
		break;
	default:
		/* fallocate() has no aio form. */
		run_sync(disk, req);
		return;
	}
	plug(disk, req);
}

static void event_done(struct disk_image *disk, struct io_event *ev)
{
	struct disk_req *req = ev->data;
	long res = (long)ev->res;

	disk->inflight--;
	if (req->op == DISK_FLUSH) {
		complete_req(req, res < 0 ? res : 0);
		return;
	}
	if (res > 0)
		req->moved += res;
	if (req->moved < req->total) {
		/*
		 * Short, or refused (an O_DIRECT alignment the statx probe
		 * did not predict, RWF_DSYNC on an old kernel): finish on
		 * the buffered descriptor, which reports a real I/O error.
		 */
		if (disk->iot) {
			run_sync(disk, req);
			return;
		}
		complete_req(req, rw_sync(disk, req, disk->bfd));
		return;
	}
	complete_req(req, req->total);
}

/* Reap at least @min_nr completions (0: whatever is there, no waiting). */
static void reap(struct disk_image *disk, long min_nr)
{
	struct io_event ev[64];
	struct timespec zero = { 0, 0 };
	int i, n;

	for (;;) {
		n = io_getevents(disk->ctx, min_nr, ARRAY_SIZE(ev), ev,
				 min_nr ? NULL : &zero);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return;
		for (i = 0; i < n; i++)
			event_done(disk, &ev[i]);
		if (n < (int)ARRAY_SIZE(ev))
			return;
		min_nr = 0;
	}
}

void disk_complete(struct disk_image *disk)
{
	u64 cnt;

	if (!disk->aio && !disk->iot)
		return;
	/* Clear the eventfd first: a completion after this re-arms it. */
	if (read(disk->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		pr_debug("disk %s: eventfd read: %s", disk->path, strerror(errno));
	if (disk->aio)
		reap(disk, 0);
	if (disk->iot)
		iot_complete(disk, false);
}

/* done() callbacks may submit more (a retry, a request's next part): loop. */
void disk_drain(struct disk_image *disk)
{
	for (;;) {
		if (disk->aio)
			disk_unplug(disk);
		if (disk->inflight)
			reap(disk, 1);
		else if (disk->iot_inflight)
			iot_complete(disk, true);
		else
			break;
	}
}

/* A DISCARD or WRITE_ZEROES for the qcow2 code, as a request. */
static int qcow2_range(struct disk_image *disk, enum disk_op op, u64 offset, u64 len)
{
	struct disk_req req = { .op = op, .offset = offset, .len = len };

	return qcow2_run(disk->qcow2, &req);
}

static int write_zeroes_by_hand(struct disk_image *disk, u64 offset, u64 len)
{
	struct disk_req req = { .op = DISK_WRITE };
	struct iovec iov;
	ssize_t r;

	while (len) {
		iov.iov_base = zero_chunk;
		iov.iov_len = min(len, (u64)sizeof(zero_chunk));
		req.offset = offset;
		req.iov = &iov;
		req.iovcnt = 1;
		req.total = iov.iov_len;
		req.moved = 0;
		r = rw_sync(disk, &req, disk->bfd);
		if (r < 0)
			return r;
		offset += iov.iov_len;
		len -= iov.iov_len;
	}
	return 0;
}

static int punch_hole(struct disk_image *disk, u64 offset, u64 len)
{
	return fallocate(disk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
}

/* 1: the file's blocks changed, 0: nothing to do, or -errno. */
static int raw_discard(struct disk_image *disk, u64 offset, u64 len)
{
	if (punch_hole(disk, offset, len) == 0)
		return 1;
	/* Discard is a hint: a file system without holes may ignore it. */
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return 0;
	return -errno;
}

/* 1: the file's blocks changed, 0: written by hand, or -errno. */
static int raw_write_zeroes(struct disk_image *disk, u64 offset, u64 len, bool unmap)
{
	/* A punched hole reads back as zeroes and frees the space. */
	if (unmap && punch_hole(disk, offset, len) == 0)
		return 1;
	if (fallocate(disk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, len) == 0)
		return 1;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return write_zeroes_by_hand(disk, offset, len);
}

/* DISCARD and WRITE_ZEROES: the same checks, the qcow2 code or the raw file's way. */
static int range_sync(struct disk_image *disk, enum disk_op op, u64 offset, u64 len,
		      bool unmap)
{
	int r;

	if (disk->readonly)
		return -EBADF;
	if (!len)
		return 0;
	if (disk->qcow2)
		return qcow2_range(disk, op, offset, len);
	if (op == DISK_DISCARD)
		r = raw_discard(disk, offset, len);
	else
		r = raw_write_zeroes(disk, offset, len, unmap);
	if (r <= 0)
		return r;
	return disk->writethrough ? disk_flush_sync(disk) : 0;
}

int disk_discard_sync(struct disk_image *disk, u64 offset, u64 len)
{
	return range_sync(disk, DISK_DISCARD, offset, len, true);
}

int disk_write_zeroes_sync(struct disk_image *disk, u64 offset, u64 len,
			   bool unmap)
{
	return range_sync(disk, DISK_WRITE_ZEROES, offset, len, unmap);
}

/* The size in bytes of a regular file or a block device. */
static int image_size(struct disk_image *disk, const struct stat *st)
{
	u64 size;

	if (S_ISREG(st->st_mode)) {
		disk->size = st->st_size;
		disk->dev = st->st_dev;
		disk->ino = st->st_ino;
		return 0;
	}
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(disk->fd, BLKGETSIZE64, &size) < 0) {
			pr_err("disk %s: cannot get the block device's size: %s",
			       disk->path, strerror(errno));
			return -1;
		}
		disk->size = size;
		disk->dev = st->st_rdev;
		disk->ino = 0;
		return 0;
	}
	pr_err("disk %s: not a regular file or a block device", disk->path);
	return -1;
}

static int lock_image(struct disk_image *disk)
{
	int how = disk->readonly ? LOCK_SH : LOCK_EX;

	if (flock(disk->fd, how | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		if (disk->readonly)
			pr_err("disk %s: another process has it open read-write (locked); "
			       "refusing to share it", disk->path);
		else
			pr_err("disk %s: another process is using it (locked); "
			       "two VMs must not write one image", disk->path);
		return -1;
	}
	/* Some network file systems have no flock: nothing to protect with. */
	pr_warn("disk %s: cannot lock it (%s); make sure no other VM writes it",
		disk->path, strerror(errno));
	return 0;
}

/* O_DIRECT alignment, from statx where the kernel reports it. */
static void probe_direct_align(struct disk_image *disk)
{
	struct statx stx;

	disk->mem_align = 4096;		/* safe without better knowledge */
	disk->off_align = DISK_SECTOR_SIZE;
	if (statx(disk->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_mem_align &&
	    stx.stx_dio_offset_align) {
		disk->mem_align = stx.stx_dio_mem_align;
		disk->off_align = stx.stx_dio_offset_align;
	}
}

/*
 * A second descriptor for the same file without O_DIRECT. /proc/self/fd
 * reopens the very file we locked; the path is the fallback without /proc.
 */
static int open_buffered_twin(struct disk_image *disk, int flags)
{
	char proc[64];
	struct stat a, b;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", disk->fd);
	fd = open(proc, flags);
	if (fd < 0)
		fd = open(disk->path, flags);
	if (fd < 0)
		return -1;
	if (fstat(disk->fd, &a) < 0 || fstat(fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

static void setup_aio(struct disk_image *disk)
{
	int r;

	disk->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (disk->evfd < 0) {
		pr_warn("disk %s: no eventfd (%s), doing I/O synchronously",
			disk->path, strerror(errno));
		return;
	}
	r = io_setup(DISK_AIO_EVENTS, &disk->ctx);
	if (r < 0) {
		/* e.g. fs.aio-max-nr exhausted by other processes */
		pr_warn("disk %s: io_setup failed (%s), doing I/O synchronously",
			disk->path, strerror(-r));
		close(disk->evfd);
		disk->evfd = -1;
		return;
	}
	disk->aio = true;
	disk->aio_fsync = true;
}

static void open_error(const char *path, bool readonly, bool direct)
{
	int err = errno;

	if (err == EINVAL && direct)
		pr_err("disk %s: the file system does not support O_DIRECT "
		       "(drop ',direct')", path);
	else if ((err == EACCES || err == EROFS || err == EPERM) && !readonly)
		pr_err("disk %s: cannot open it for writing: %s (add ',ro' for "
		       "a read-only disk)", path, strerror(err));
	else
		pr_err("disk %s: %s", path, strerror(err));
}

/*
 * A qcow2 image on the open file? @fmt: "qcow2" or "raw" (a backing file
 * format the image names), or NULL to go by the magic.
 */
static int open_format(struct disk_image *disk, const char *fmt, int depth)
{
	bool magic = qcow2_probe(disk->bfd);

	if (fmt && !strcmp(fmt, "raw"))
		return 0;
	if (fmt && !magic) {
		pr_err("disk %s: not a qcow2 image, as its overlay says", disk->path);
		return -1;
	}
	if (!magic)
		return 0;
	if (disk->direct) {
		pr_err("disk %s: ',direct' is for raw images (this one is qcow2)",
		       disk->path);
		return -1;
	}
	if (!S_ISREG(disk->mode)) {
		pr_err("disk %s: a qcow2 image must be a regular file", disk->path);
		return -1;
	}
	disk->qcow2 = qcow2_open(disk->bfd, disk->path, disk->readonly, disk->size,
				 depth, &disk->size);
	return disk->qcow2 ? 0 : -1;
}

/* @depth: 0 for the guest's disk, n for the n-th backing file below it. */
static struct disk_image *open_image(const char *path, bool readonly, bool direct,
				     const char *fmt, int depth)
{
	int base = O_CLOEXEC | (readonly ? O_RDONLY : O_RDWR);
	struct disk_image *disk;
	struct stat st;

	disk = xzalloc(sizeof(*disk));
	disk->path = xstrdup(path);
	disk->readonly = readonly;
	disk->direct = direct;
	disk->dsync_flag_ok = true;
	disk->fd = disk->bfd = disk->evfd = -1;

	/*
	 * O_NONBLOCK until the type is known: opening a FIFO read-only
	 * would otherwise wait for a writer forever. Regular files and
	 * block devices ignore it, and it is cleared once they are checked.
	 */
	disk->fd = open(path, base | O_NONBLOCK | (direct ? O_DIRECT : 0));
	if (disk->fd < 0) {
		open_error(path, readonly, direct);
		goto fail;
	}
	if (fstat(disk->fd, &st) < 0) {
		pr_err("disk %s: %s", path, strerror(errno));
		goto fail;
	}
	disk->mode = st.st_mode;
	if (image_size(disk, &st) < 0)
		goto fail;
	if (fcntl(disk->fd, F_SETFL, fcntl(disk->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		pr_err("disk %s: %s", path, strerror(errno));
		goto fail;
	}
	if (lock_image(disk) < 0)
		goto fail;

	if (direct) {
		probe_direct_align(disk);
		disk->bfd = open_buffered_twin(disk, base);
		if (disk->bfd < 0) {
			pr_err("disk %s: cannot reopen it without O_DIRECT: %s",
			       path, strerror(errno));
			goto fail;
		}
	} else {
		disk->bfd = disk->fd;
	}
	if (open_format(disk, fmt, depth) < 0)
		goto fail;
	/* A backing file may end anywhere: reads past it see zeroes. */
	if (!depth && disk->size % DISK_SECTOR_SIZE) {
		pr_err("disk %s: its size (%llu bytes) is not a multiple of %d; "
		       "the guest sees whole sectors only (%s)", path,
		       (unsigned long long)disk->size, DISK_SECTOR_SIZE,
		       disk->qcow2 ? "qemu-img resize it" : "resize it with truncate -s");
		goto fail;
	}
	if (!disk->qcow2)
		setup_aio(disk);
	return disk;

fail:
	disk_close(disk);
	return NULL;
}

struct disk_image *disk_open(const char *path, bool readonly, bool direct)
{
	return open_image(path, readonly, direct, NULL, 0);
}

struct disk_image *disk_open_backing(const char *path, const char *fmt, int depth)
{
	return open_image(path, true, false, fmt, depth);
}

/* preadv of [off, off + len) into @iov; the bytes read before EOF, or -errno. */
static ssize_t raw_read_iov(struct disk_image *disk, const struct iovec *iov,
			    unsigned int cnt, u64 off, u64 len)
{
	unsigned int n = iov_count(iov, cnt, 0, len);
	struct iovec *v = xmalloc(max(n, 1U) * sizeof(*v));
	u64 done = 0;

	while (done < len) {
		ssize_t got;

		n = iov_slice(iov, cnt, done, len - done, v, n);
		got = preadv(disk->bfd, v, min(n, (unsigned int)IOV_MAX), off + done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(v);
			return -errno;
		}
		if (!got)
			break;		/* the file shrank: the rest reads as zeroes */
		done += got;
	}
	free(v);
	return done;
}

int disk_read_iov(struct disk_image *disk, const struct iovec *iov, unsigned int cnt,
		  u64 off, u64 len)
{
	u64 in = off < disk->size ? min(len, disk->size - off) : 0;
	ssize_t got = 0;
	u64 n;

	if (in && disk->qcow2)
		got = qcow2_read_iov(disk->qcow2, iov, cnt, off, in) ?: (ssize_t)in;
	else if (in)
		got = raw_read_iov(disk, iov, cnt, off, in);
	if (got < 0)
		return got;
	for (in = got; in < len; in += n) {
		n = min(len - in, (u64)sizeof(zero_chunk));
		iov_from_buf(iov, cnt, in, zero_chunk, n);
	}
	return 0;
}

int disk_start_io_thread(struct disk_image *disk, void (*enter)(void *arg), void *arg)
{
	if (disk->evfd < 0)
		disk->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (disk->evfd < 0) {
		pr_err("disk %s: eventfd: %s", disk->path, strerror(errno));
		return -1;
	}
	disk->iot = disk_io_thread_start(run_now, disk, disk->evfd, enter, arg, disk->path);
	return disk->iot ? 0 : -1;
}

void disk_close(struct disk_image *disk)
{
	if (!disk)
		return;
	disk_drain(disk);
	disk_io_thread_stop(disk->iot);
	if (disk->aio)
		io_destroy(disk->ctx);
	qcow2_close(disk->qcow2);
	if (disk->evfd >= 0)
		close(disk->evfd);
	if (disk->bfd >= 0 && disk->bfd != disk->fd)
		close(disk->bfd);
	if (disk->fd >= 0)
		close(disk->fd);
	free(disk->path);
	free(disk);
}
