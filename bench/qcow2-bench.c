// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side disk benchmark through lkvm's disk layer (the interface
 * virtio-blk uses): qcow2-bench FILE PHASE... with phases seqwrite,
 * seqread (1 MiB requests over the whole disk), randwrite, randread
 * (4 KiB requests at random 4 KiB-aligned places, 16384 of them). Writes
 * end with a flush, inside the timing. One line per phase:
 * "PHASE MiB/s IOPS".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/disk.h"

#define SEQ_REQ		(1 << 20)
#define RAND_REQ	4096
#define RAND_OPS	16384

static void done(struct disk_req *req, ssize_t res)
{
	*(ssize_t *)req->priv = res;
}

static ssize_t one(struct disk_image *d, enum disk_op op, u64 off, void *buf, u64 len)
{
	struct iovec iov = { buf, len };
	ssize_t res = -1;
	struct disk_req req = { .op = op, .offset = off, .iov = &iov, .iovcnt = 1,
				.done = done, .priv = &res };

	disk_submit(d, &req);
	disk_unplug(d);
	disk_drain(d);
	return res;
}

int main(int argc, char **argv)
{
	static u8 buf[SEQ_REQ] __attribute__((aligned(4096)));
	u64 rnd = 88172645463325252ULL;
	struct disk_image *d;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE seqwrite|seqread|randwrite|randread...\n",
			argv[0]);
		return 1;
	}
	d = disk_open(argv[1], false, false);
	if (!d)
		return 1;
	memset(buf, 0xa5, sizeof(buf));
	for (i = 2; i < argc; i++) {
		bool seq = !strncmp(argv[i], "seq", 3);
		bool wr = strstr(argv[i], "write") != NULL;
		u64 size = disk_size(d), n, ops = seq ? size / SEQ_REQ : RAND_OPS;
		u64 len = seq ? SEQ_REQ : RAND_REQ, t0 = now_ns();
		double s;

		for (n = 0; n < ops; n++) {
			u64 off = n * SEQ_REQ;

			if (!seq) {
				rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
				off = rnd % (size / RAND_REQ) * RAND_REQ;
			}
			if (one(d, wr ? DISK_WRITE : DISK_READ, off, buf, len) != (ssize_t)len) {
				fprintf(stderr, "%s: request failed\n", argv[i]);
				return 1;
			}
		}
		if (wr && one(d, DISK_FLUSH, 0, NULL, 0)) {
			fprintf(stderr, "%s: flush failed\n", argv[i]);
			return 1;
		}
		s = (now_ns() - t0) / 1e9;
		printf("%s %.1f %.0f\n", argv[i], ops * len / s / (1 << 20), ops / s);
	}
	disk_close(d);
	return 0;
}
