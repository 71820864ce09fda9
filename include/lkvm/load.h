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

#endif
