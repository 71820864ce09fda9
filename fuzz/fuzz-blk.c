// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for virtio-blk requests (virtio/blk.c, over the real
 * virtqueue, device core and raw disk backend, driven through the unit
 * tests' fake transport, tests/unit/fake-virtio.h). One device on a 1 MiB
 * image in a memfd, one queue of 16 entries (its rings at 0x10000).
 * Per input: the driver resets the device and brings it up with the
 * features in the input's first 8 bytes; the next 256 bytes are the
 * descriptor table, then 2 bytes the avail index and 32 the avail ring,
 * and the rest lands in guest RAM at 0x200000 (at most 128 KiB: headers, data, indirect
 * tables; descriptors may point anywhere in the 16 MiB of RAM, where
 * earlier inputs' reads may have left data). The queue is
 * then served as the worker would, and what went to the disk is reaped,
 * so completions write status bytes and used entries. Any crash or
 * sanitizer report, or a used entry that names a chain not offered, is
 * a bug. blk.c is included to reach its device state.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../virtio/blk.c"
#include "fake-virtio.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define CTRL		(8 + FV_QSZ * 16 + 2 + FV_QSZ * 2)
#define IN_RAM		FV_BUF_BASE	/* where the rest of the input goes */
#define IN_SIZE		(128 << 10)	/* cleared for each input */

static struct virtio_device *dev;
static struct fv_q q;

static void setup(void)
{
	static char path[64];
	int fd = memfd_create("blk-fuzz", 0);

	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!fv_setup())
		abort();
	fv_kvm.cfg.disks[0] = (struct disk_config){ .path = path };
	fv_kvm.cfg.nr_disks = 1;
	if (init_run_stage(&fv_kvm, INIT_VIRTIO) < 0 || !(dev = fv_find(VIRTIO_ID_BLOCK)))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct virt_queue *vq;
	struct blk_dev *blk;
	unsigned int i;

	if (size < CTRL)
		return 0;
	if (!dev)
		setup();
	blk = dev->priv;
	vq = &dev->vqs[0];
	if (!fv_driver_up(dev, get_le64(data) | 1ULL << VIRTIO_F_VERSION_1, &q, 1, 0))
		return 0;
	memcpy(q.desc, data + 8, FV_QSZ * 16);
	memcpy(&q.avail->idx, data + 8 + FV_QSZ * 16, 2 + FV_QSZ * 2);
	memset(fv_ram + IN_RAM, 0, IN_SIZE);
	memcpy(fv_ram + IN_RAM, data + CTRL, min(size - CTRL, (size_t)IN_SIZE));

	/* The worker's part, on this thread, then every request reaped. */
	pthread_mutex_lock(&dev->lock);
	if (vq->ready && !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		for (i = 0; i < 4; i++)		/* passes end early; come back */
			blk_notify(dev, vq);
		disk_drain(blk->disk);
		blk_signal_pending(blk);
	}
	for (i = 0; i < min(le16toh(q.used->idx), (u16)FV_QSZ); i++)
		if (le32toh(q.used->ring[i].id) >= FV_QSZ)
			__builtin_trap();
	if (blk->inflight_bytes > BLK_INFLIGHT_BYTES + BLK_MAX_REQ_BYTES)
		__builtin_trap();
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
