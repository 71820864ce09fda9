/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_LOAD_H
#define LKVM_LOAD_H

#include "lkvm/util.h"

/*
 * Opening and reading the kernel and initrd. They may be regular files
 * (read with one pread, straight into guest memory) or pipes and FIFOs
 * (sized by reading, never by fstat).
 */
struct load_file {
	const char *what;	/* "kernel", "initrd" */
	const char *path;
	int fd;
	bool seekable;		/* a regular file: size is known */
	u64 size;		/* valid when seekable */
};

/* Returns 0, or -1 after printing "lkvm: cannot open kernel 'x': ...". */
int load_open(struct load_file *f, const char *what, const char *path);
void load_close(struct load_file *f);

/*
 * Read the rest of a stream into a malloc'd buffer of at most @max bytes.
 * Returns the length, or -1 after a message (I/O error, or more than @max).
 */
s64 load_read_stream(struct load_file *f, u64 max, u8 **buf);

/*
 * Where an initrd of @len bytes goes: the arch's rule. Returns 0 and the
 * guest address, or -1 after one line saying why it does not fit.
 */
typedef int (*initrd_place_fn)(u64 len, u64 *addr, const char *path, void *ctx);

struct guest_mem;
/*
 * Load the initrd at @path (a file read in place with one pread, or a pipe
 * or FIFO sized by reading at most @max bytes) at the address @place picks.
 * Sets *addr and *size; returns 0 or -1 after a message.
 */
int load_initrd(const struct guest_mem *mem, const char *path, u64 max,
		initrd_place_fn place, void *ctx, u64 *addr, u64 *size);

#endif
