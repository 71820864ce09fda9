/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DISK_H
#define LKVM_DISK_H

#include <libaio.h>
#include <sys/uio.h>

#include "lkvm/util.h"

/*
 * Block backends (disk/): an image behind a small request interface, so
 * that virtio-blk never deals with files, formats, libaio or O_DIRECT itself.
 *
 * Requests are asynchronous: disk_submit() queues one, its done() callback
 * runs later, from disk_complete() or disk_drain(), or before disk_submit()
 * returns when the backend had to do the work synchronously and the disk
 * has no I/O thread (disk_start_io_thread()). With one, that work (every
 * qcow2 request, raw discards and write-zeroes, flushes without aio) runs
 * there and completes on the event fd like aio. All calls for one disk
 * must come from one thread at a time (the device's worker, or a reset
 * holding the device's lock): the backend has no lock of its own.
 */

#define DISK_SECTOR_SIZE	512

enum disk_op {
	DISK_READ,
	DISK_WRITE,
	DISK_FLUSH,		/* durable once done() reports success */
	DISK_DISCARD,		/* a hint: the range may read back as anything */
	DISK_WRITE_ZEROES,	/* the range reads back as zeroes */
};

struct disk_req;
/* @res: bytes transferred (READ/WRITE), 0 (other ops), or -errno. */
typedef void (*disk_done_fn)(struct disk_req *req, ssize_t res);

struct disk_req {
	/* Filled by the caller. */
	enum disk_op op;
	u64 offset;			/* bytes from the start of the image */
	u64 len;			/* DISCARD, WRITE_ZEROES: bytes */
	bool unmap;			/* WRITE_ZEROES: may deallocate */
	struct iovec *iov;		/* READ, WRITE; the backend may modify it */
	unsigned int iovcnt;
	disk_done_fn done;
	void *priv;

	/* The backend's. */
	struct iocb iocb;
	u64 total;			/* bytes the READ/WRITE covers */
	u64 moved;			/* bytes already transferred */
	struct disk_req *next;		/* the I/O thread's queues */
	ssize_t res;			/* its result, from the I/O thread */
};


struct disk_image;

/*
 * Open an image: qcow2 when the file starts with its magic (a regular file;
 * its backing files are opened read-only), else raw (a regular file or a
 * block device). Read-write images are locked (flock LOCK_EX) so that two
 * VMs cannot write one image; read-only ones take a shared lock. @direct
 * opens with O_DIRECT (raw only). Returns NULL after printing one clear
 * message.
 */
struct disk_image *disk_open(const char *path, bool readonly, bool direct);
/*
 * Give @disk an I/O thread for the requests it cannot do asynchronously;
 * @enter(@arg) runs first on it (the VM's seccomp filter), unless NULL.
 * Before any request. 0, or -1 after one message.
 */
int disk_start_io_thread(struct disk_image *disk, void (*enter)(void *arg), void *arg);
/* Waits for in-flight requests (their done() runs), then closes. */
void disk_close(struct disk_image *disk);

u64 disk_size(const struct disk_image *disk);
bool disk_readonly(const struct disk_image *disk);
const char *disk_path(const struct disk_image *disk);
/* Identity of the image file, for stable serial numbers. */
void disk_file_id(const struct disk_image *disk, u64 *dev, u64 *ino);

/*
 * Write-through mode: every write is durable when it completes (RWF_DSYNC,
 * the per-request form of O_DSYNC). Used when the guest cannot send
 * flushes; may be switched while no request is in flight.
 */
void disk_set_writethrough(struct disk_image *disk, bool on);

/*
 * The eventfd that becomes readable when asynchronous requests complete,
 * or -1 when the backend runs every request synchronously (no libaio, no
 * I/O thread).
 * Call disk_complete() when it is readable.
 */
int disk_event_fd(const struct disk_image *disk);

/* Queue @req. The request must stay valid until its done() has run. */
void disk_submit(struct disk_image *disk, struct disk_req *req);
/* Send everything disk_submit() queued to the kernel (one system call). */
void disk_unplug(struct disk_image *disk);
/* Run done() for every request that completed, without blocking. */
void disk_complete(struct disk_image *disk);
/* Block until no request is in flight, running their done(). */
void disk_drain(struct disk_image *disk);
unsigned int disk_inflight(const struct disk_image *disk);

/* Synchronous forms, on the calling thread. Return 0 or -errno. */
int disk_flush_sync(struct disk_image *disk);
int disk_discard_sync(struct disk_image *disk, u64 offset, u64 len);
int disk_write_zeroes_sync(struct disk_image *disk, u64 offset, u64 len,
			   bool unmap);

#endif
