/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driving virtio devices from a unit test as a guest driver would: the real
 * device core and worker threads, a fake transport that records devices
 * and counts interrupts, and split rings laid out by hand in an in-memory
 * guest RAM. Include once, after test.h.
 */
#ifndef LKVM_TEST_FAKE_VIRTIO_H
#define LKVM_TEST_FAKE_VIRTIO_H

#include <endian.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

#define FV_RAM_SIZE	(16 << 20)
#define FV_QSZ		16
#define FV_BUF_BASE	0x200000	/* buffers are allocated from here */

static struct kvm fv_kvm;
static u8 *fv_ram;
static struct virtio_device *fv_devs[8];
static unsigned int fv_nr_devs;
static int fv_irqs;

static int fv_signal_vq(struct virtio_device *vdev __unused, struct virt_queue *vq __unused)
{
	__atomic_add_fetch(&fv_irqs, 1, __ATOMIC_RELAXED);
	return 0;
}

static int fv_signal_config(struct virtio_device *vdev __unused)
{
	return 0;
}

static const struct virtio_transport_ops fv_tops = {
	.name = "fake",
	.signal_vq = fv_signal_vq,
	.signal_config = fv_signal_config,
};

static int fv_attach(struct kvm *k __unused, struct virtio_device *vdev)
{
	vdev->tops = &fv_tops;
	fv_devs[fv_nr_devs++] = vdev;
	return 0;
}

static struct virtio_transport fv_transport = {
	.name = "pci",
	.attach = fv_attach,
};

/* Guest RAM and the fake transport; then fill fv_kvm.cfg and run INIT_VIRTIO. */
static void fv_setup(void)
{
	fv_ram = aligned_alloc(4096, FV_RAM_SIZE);
	memset(fv_ram, 0, FV_RAM_SIZE);
	guest_mem_add_bank(&fv_kvm.mem, 0, FV_RAM_SIZE, fv_ram);
	fv_kvm.cfg.nrcpus = 1;
	fv_kvm.cfg.virtio_transport = "pci";
	fv_kvm.cfg.console = "serial";
	fv_kvm.cfg.name = "test";
	virtio_transport_register(&fv_transport);
}

static struct virtio_device *fv_find(u16 device_id)
{
	unsigned int i;

	for (i = 0; i < fv_nr_devs; i++)
		if (fv_devs[i]->ops->device_id == device_id)
			return fv_devs[i];
	return NULL;
}

/* One queue as the driver sees it. */
struct fv_q {
	struct virtio_device *vdev;
	unsigned int idx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u16 next_desc;
	u16 used_seen;
};

static u64 fv_buf_next = FV_BUF_BASE;

static u64 fv_alloc(u64 size)
{
	u64 gpa = ALIGN_UP(fv_buf_next, 16);

	if (gpa + size > FV_RAM_SIZE)
		gpa = FV_BUF_BASE;
	fv_buf_next = gpa + size;
	memset(fv_ram + gpa, 0, size);
	return gpa;
}

static void *fv_gp(u64 gpa)
{
	return fv_ram + gpa;
}

static u64 fv_features(struct virtio_device *vdev)
{
	return virtio_get_features_word(vdev, 0) |
	       (u64)virtio_get_features_word(vdev, 1) << 32;
}

/* Reset and bring up @vdev with @feat (masked by its offer) and @nq queues. */
static bool fv_driver_up(struct virtio_device *vdev, u64 feat, struct fv_q *q,
			 unsigned int nq, unsigned int slot)
{
	u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u64 base = 0x10000 + slot * 0x40000;
	unsigned int i;

	virtio_set_status(vdev, 0);
	virtio_set_status(vdev, s);
	feat &= fv_features(vdev);
	virtio_set_features_word(vdev, 0, (u32)feat);
	virtio_set_features_word(vdev, 1, (u32)(feat >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_set_status(vdev, s);
	if (!(virtio_get_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	for (i = 0; i < nq; i++) {
		struct virt_queue *vq = &vdev->vqs[i];
		u64 d = base + i * 0x2000;

		q[i] = (struct fv_q){ .vdev = vdev, .idx = i };
		memset(fv_ram + d, 0, 0x2000);
		q[i].desc = fv_gp(d);
		q[i].avail = fv_gp(d + 0x1000);
		q[i].used = fv_gp(d + 0x1800);
		pthread_mutex_lock(&vdev->lock);
		vq->size = FV_QSZ;
		vq->desc_gpa = d;
		vq->avail_gpa = d + 0x1000;
		vq->used_gpa = d + 0x1800;
		pthread_mutex_unlock(&vdev->lock);
		virtio_queue_enable(vdev, i, true);
		if (!vq->ready)
			return false;
	}
	virtio_set_status(vdev, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK;
}

struct fv_seg {
	u64 gpa;
	u32 len;
	bool write;
};

/* Post one chain; returns its head. */
static u16 fv_add(struct fv_q *q, const struct fv_seg *s, unsigned int n)
{
	u16 head = q->next_desc % FV_QSZ;
	unsigned int i;

	for (i = 0; i < n; i++) {
		u16 d = (q->next_desc + i) % FV_QSZ;

		q->desc[d].addr = htole64(s[i].gpa);
		q->desc[d].len = htole32(s[i].len);
		q->desc[d].flags = htole16((s[i].write ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		q->desc[d].next = htole16((q->next_desc + i + 1) % FV_QSZ);
	}
	q->next_desc += n;
	q->avail->ring[le16toh(q->avail->idx) % FV_QSZ] = htole16(head);
	__atomic_store_n(&q->avail->idx, htole16(le16toh(q->avail->idx) + 1),
			 __ATOMIC_RELEASE);
	return head;
}

static u16 fv_used_idx(struct fv_q *q)
{
	return le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
}

/* Wait (without kicking) until @n more chains are used; false on timeout. */
static bool fv_wait(struct fv_q *q, unsigned int n)
{
	u16 want = q->used_seen + n;
	int i;

	for (i = 0; i < 3000; i++) {
		if (fv_used_idx(q) == want) {
			q->used_seen = want;
			return true;
		}
		usleep(1000);
	}
	return false;
}

static bool fv_kick_wait(struct fv_q *q, unsigned int n)
{
	virtio_queue_kick(q->vdev, q->idx);
	return fv_wait(q, n);
}

/* The used entry @back entries before the newest one seen. */
static struct vring_used_elem *fv_used(struct fv_q *q, unsigned int back)
{
	return &q->used->ring[(u16)(q->used_seen - 1 - back) % FV_QSZ];
}

#endif
