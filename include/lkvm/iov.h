/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IOV_H
#define LKVM_IOV_H

#include <sys/uio.h>

#include "lkvm/util.h"

/*
 * Scatter-gather helpers, for virtqueue elements and disk requests alike.
 * @skip counts bytes from the start of @iov; nothing is copied past its end.
 */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf,
		  size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip,
		    const void *buf, size_t len);
/*
 * Describe the bytes [skip, skip + len) of @src in @dst (at most @max
 * segments); returns the number of segments used.
 */
unsigned int iov_slice(const struct iovec *src, unsigned int n, size_t skip,
		       size_t len, struct iovec *dst, unsigned int max);
/* The number of segments of @iov the range [skip, skip + len) touches. */
unsigned int iov_count(const struct iovec *iov, unsigned int n, size_t skip,
		       size_t len);

#endif
