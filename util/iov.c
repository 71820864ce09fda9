// SPDX-License-Identifier: GPL-2.0
/* Scatter-gather helpers shared by the virtqueue code and the disk backends. */
#include <string.h>

#include "lkvm/iov.h"

/* Copy between @buf and the bytes of @iov after the first @skip. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t skip,
		       u8 *buf, size_t len, bool to_iov)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		u8 *base = iov[i].iov_base;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = min(l - skip, len - done);
		if (to_iov)
			memcpy(base + skip, buf + done, l);
		else
			memcpy(buf + done, base + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf,
		  size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip,
		    const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (u8 *)buf, len, true);
}

unsigned int iov_slice(const struct iovec *src, unsigned int n, size_t skip,
		       size_t len, struct iovec *dst, unsigned int max)
{
	unsigned int i, k = 0;

	for (i = 0; i < n && len && k < max; i++) {
		size_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = min(l - skip, len);
		dst[k].iov_base = (u8 *)src[i].iov_base + skip;
		dst[k].iov_len = l;
		k++;
		len -= l;
		skip = 0;
	}
	return k;
}

unsigned int iov_count(const struct iovec *iov, unsigned int n, size_t skip,
		       size_t len)
{
	unsigned int i, k = 0;

	for (i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		len -= min(l - skip, len);
		skip = 0;
		k++;
	}
	return k;
}
