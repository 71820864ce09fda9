/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_MEM_DISCARD_H
#define LKVM_MEM_DISCARD_H

#include "lkvm/guest-mem.h"
#include "lkvm/util.h"

/*
 * Giving guest memory back to the host: pages the guest put in its balloon
 * or reported free. Guest-controlled ranges are first translated through
 * the guest memory banks (every byte must be RAM), then rounded inward to
 * whole host pages, so that no byte outside what the guest named is ever
 * dropped, and finally discarded the way the backing of guest RAM needs.
 */

/* What backs guest RAM; decides how a discard is done. */
struct ram_backing {
	u8 *base;		/* host mapping of all guest RAM */
	u64 size;
	int fd;			/* file or memfd behind the mapping, -1 if anonymous */
	u64 fd_offset;		/* file offset of @base */
	bool shared;		/* MAP_SHARED rather than MAP_PRIVATE */
	u64 page_size;		/* host page size (a power of two) */
};

/* A host range to discard. */
struct host_range {
	u8 *host;
	u64 len;
};

/*
 * Translate guest-physical [@gpa, @gpa + @len) into host ranges, one per
 * guest memory bank it touches, each rounded inward to @page (a power of
 * two). Ranges that round to nothing are left out. Returns the number of
 * ranges written to @out (at most @max; 0 when no whole page is covered),
 * or -1 when @len is 0, the range wraps, any byte of it is not guest RAM,
 * or it needs more than @max ranges.
 */
int guest_range_to_host(const struct guest_mem *mem, u64 gpa, u64 len, u64 page,
			struct host_range *out, unsigned int max);

/*
 * Round [@host, @host + @len) inward to host pages and discard it: the
 * guest reads zeroes (anonymous or shared memory) or the file's contents
 * (a private file mapping) when it next touches those pages.
 *   private anonymous          madvise(MADV_DONTNEED)
 *   shared anonymous           madvise(MADV_REMOVE)
 *   shared file or memfd       fallocate(PUNCH_HOLE | KEEP_SIZE)
 *   private file mapping       madvise(MADV_DONTNEED) (drops our copies)
 * Returns the number of bytes discarded, or -1 when the range is empty,
 * wraps or leaves @b, or the kernel refused.
 */
s64 ram_discard(const struct ram_backing *b, void *host, u64 len);

#endif
