// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for qcow2's header and table parsing: the input is an
 * image file (in a memfd), opened read-write as a guest disk would be,
 * then read, written, zeroed, discarded and flushed at places derived
 * from the input, and closed (which writes the metadata back). Backing
 * files are refused (depth at the chain limit) so the input never names
 * a host file. Any crash, sanitizer report or leak is a bug.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "../disk/qcow2.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static u8 buf[256 << 10];

static void req(struct qcow2 *q, enum disk_op op, u64 off, u64 len)
{
	struct iovec iov[2] = { { buf, len / 2 & ~511ULL },
				{ buf + (len / 2 & ~511ULL), len - (len / 2 & ~511ULL) } };
	struct disk_req r = { .op = op, .offset = off, .len = len, .iov = iov,
			      .iovcnt = 2 };

	qcow2_run(q, &r);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	int fd = memfd_create("qcow2-fuzz", MFD_CLOEXEC);
	u64 vsize, seed, off;
	struct qcow2 *q;
	int i;

	if (fd < 0)
		abort();
	if (write_full(fd, data, size) != (ssize_t)size)
		abort();
	seed = crc32(0, data, size);
	q = qcow2_open(fd, "fuzz", false, size, QCOW2_MAX_CHAIN, &vsize);
	if (q) {
		vsize &= ~511ULL;
		for (i = 0; i < 6 && vsize; i++) {
			u64 len = min(vsize, (u64)sizeof(buf) >> (seed & 7));

			len = max(len & ~511ULL, 512ULL);
			off = (seed % (vsize / 512)) * 512;
			if (off + len > vsize)
				off = vsize - len;
			req(q, i % 3 == 1 ? DISK_WRITE : DISK_READ, off, len);
			if (i == 3)
				req(q, seed & 8 ? DISK_DISCARD : DISK_WRITE_ZEROES, off, len);
			if (i == 4)
				req(q, DISK_FLUSH, 0, 0);
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		}
		qcow2_close(q);
	}
	close(fd);
	return 0;
}
