// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for virtio-blk requests (virtio/blk.c, over the real
 * virtqueue, device core and raw disk backend). One device on a 1 MiB
 * image in a memfd, one queue of 16 entries at fixed guest addresses.
 * Per input: the driver resets the device and brings it up with the
 * features in the input's first 8 bytes; the next 256 bytes are the
 * descriptor table, then 2 bytes the avail index and 32 the avail ring,
 * and the rest lands in guest RAM at BUF_GPA (headers, data, indirect
 * tables: descriptors point anywhere in the 1 MiB of RAM). The queue is
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

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define RAM_SIZE	(1 << 20)
#define QSZ		16
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x4000
#define CTRL		(8 + QSZ * 16 + 2 + QSZ * 2)

static struct kvm kvm;
static struct virtio_device *dev;

static int fake_signal_vq(struct virtio_device *vdev __unused,
			  struct virt_queue *vq __unused)
{
	return 0;
}

static int fake_signal_config(struct virtio_device *vdev __unused)
{
	return 0;
}

static const struct virtio_transport_ops fake_tops = {
	.name = "fake",
	.signal_vq = fake_signal_vq,
	.signal_config = fake_signal_config,
};

static int fake_attach(struct kvm *k __unused, struct virtio_device *vdev)
{
	vdev->tops = &fake_tops;
	dev = vdev;
	return 0;
}

static struct virtio_transport fake_transport = {
	.name = "pci",
	.attach = fake_attach,
};

static void setup(void)
{
	static char path[64];
	u8 *ram = aligned_alloc(4096, RAM_SIZE);
	int fd = memfd_create("blk-fuzz", 0);

	if (!ram || fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	guest_mem_add_bank(&kvm.mem, 0, RAM_SIZE, ram);
	kvm.cfg.nrcpus = 1;
	kvm.cfg.virtio_transport = "pci";
	kvm.cfg.disks[0] = (struct disk_config){ .path = path };
	kvm.cfg.nr_disks = 1;
	virtio_transport_register(&fake_transport);
	if (init_run_stage(&kvm, INIT_VIRTIO) < 0 || !dev)
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 *ram;
	struct virt_queue *vq;
	struct blk_dev *blk;
	struct vring_used *used;
	u64 feat;
	u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned int i;

	if (size < CTRL)
		return 0;
	if (!dev)
		setup();
	ram = kvm.mem.banks[0].host;
	blk = dev->priv;
	vq = &dev->vqs[0];

	virtio_set_status(dev, 0);
	memset(ram, 0, RAM_SIZE);
	memcpy(ram + DESC_GPA, data + 8, QSZ * 16);
	memcpy(ram + AVAIL_GPA + 2, data + 8 + QSZ * 16, 2 + QSZ * 2);
	memcpy(ram + BUF_GPA, data + CTRL, min(size - CTRL, (size_t)RAM_SIZE - BUF_GPA));

	feat = get_le64(data) | 1ULL << VIRTIO_F_VERSION_1;
	virtio_set_status(dev, s);
	virtio_set_features_word(dev, 0, (u32)feat);
	virtio_set_features_word(dev, 1, (u32)(feat >> 32));
	virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(virtio_get_status(dev) & VIRTIO_CONFIG_S_FEATURES_OK))
		return 0;
	pthread_mutex_lock(&dev->lock);
	vq->size = QSZ;
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	pthread_mutex_unlock(&dev->lock);
	virtio_queue_enable(dev, 0, true);
	virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);

	/* The worker's part, on this thread, then every request reaped. */
	pthread_mutex_lock(&dev->lock);
	if (vq->ready && !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		for (i = 0; i < 4; i++)		/* passes end early; come back */
			blk_notify(dev, vq);
		disk_drain(blk->disk);
		blk_signal_pending(blk);
	}
	used = (struct vring_used *)(ram + USED_GPA);
	for (i = 0; i < min(le16toh(used->idx), (u16)QSZ); i++)
		if (le32toh(used->ring[i].id) >= QSZ)
			__builtin_trap();
	if (blk->inflight_bytes > BLK_INFLIGHT_BYTES + BLK_MAX_REQ_BYTES)
		__builtin_trap();
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
