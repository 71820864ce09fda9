/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A disk's I/O thread (disk/io-thread.c), internal to disk/: the requests
 * a backend can only do synchronously (every qcow2 request; raw discards,
 * write-zeroes, flushes without aio fsync, and what aio refuses) run there,
 * one at a time in the order queued, and come back on a list with an
 * eventfd kick, as aio completions do. The device's worker thread and lock
 * are never held while one runs.
 */
#ifndef LKVM_DISK_IO_THREAD_H
#define LKVM_DISK_IO_THREAD_H

#include "lkvm/disk.h"

struct disk_io_thread;

/* Does @req synchronously on the I/O thread; its result (done()'s res). */
typedef ssize_t (*disk_io_fn)(void *ctx, struct disk_req *req);

/*
 * Start the thread; it runs @enter(@arg) first (unless NULL), then @fn
 * for each request, and writes 1 to @evfd when requests are done. NULL
 * after one message naming @name.
 */
struct disk_io_thread *disk_io_thread_start(disk_io_fn fn, void *ctx, int evfd,
					    void (*enter)(void *arg), void *arg,
					    const char *name);
void disk_io_thread_queue(struct disk_io_thread *t, struct disk_req *req);
/*
 * The requests done since the last call, oldest first, linked by
 * req->next, each with its result in req->res; with @wait, blocks until
 * there is at least one.
 */
struct disk_req *disk_io_thread_done(struct disk_io_thread *t, bool wait);
/* Finish what is queued, then end the thread. Done requests stay listed. */
void disk_io_thread_stop(struct disk_io_thread *t);

#endif
