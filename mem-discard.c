// SPDX-License-Identifier: GPL-2.0
/* Discarding guest RAM the guest gave back (balloon, free page reporting). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "lkvm/mem-discard.h"

int guest_range_to_host(const struct guest_mem *mem, u64 gpa, u64 len, u64 page,
			struct host_range *out, unsigned int max)
{
	unsigned int n = 0;

	if (!len || gpa + len < gpa || !page || (page & (page - 1)))
		return -1;
	/*
	 * Walk the banks the range covers. Banks that touch in guest-physical
	 * space need not touch on the host, so each piece is translated (and
	 * rounded) on its own; a gap between banks makes the range invalid.
	 */
	while (len) {
		const struct guest_bank *b = guest_bank_of(mem, gpa);
		u64 off, piece;
		uintptr_t start, end;

		if (!b)
			return -1;
		off = gpa - b->gpa;
		piece = min(len, b->size - off);
		/* Integer arithmetic: the bank's host address is just a number here. */
		start = ALIGN_UP((uintptr_t)b->host + off, (uintptr_t)page);
		end = ALIGN_DOWN((uintptr_t)b->host + off + piece, (uintptr_t)page);
		if (end > start) {
			if (n == max)
				return -1;
			out[n].host = (u8 *)start;
			out[n].len = end - start;
			n++;
		}
		gpa += piece;
		len -= piece;
	}
	return n;
}

s64 ram_discard(const struct ram_backing *b, void *host, u64 len)
{
	uintptr_t lo = (uintptr_t)b->base, hi = lo + b->size;
	uintptr_t start = (uintptr_t)host, end = start + len;
	int r;

	if (!len || end < start || start < lo || end > hi)
		return -1;
	start = ALIGN_UP(start, b->page_size);
	end = ALIGN_DOWN(end, b->page_size);
	if (end <= start)
		return 0;
	len = end - start;

	if (b->fd >= 0 && b->shared)
		r = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      b->fd_offset + (start - lo), len);
	else if (b->shared)
		r = madvise((void *)start, len, MADV_REMOVE);
	else
		r = madvise((void *)start, len, MADV_DONTNEED);
	if (r < 0) {
		pr_debug("discarding %llu bytes of guest RAM: %s",
			 (unsigned long long)len, strerror(errno));
		return -1;
	}
	return len;
}
