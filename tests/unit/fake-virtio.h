/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driving virtio devices from a unit test as a guest driver would: the real
 * device core and worker threads, a fake transport that records devices
 * and counts interrupts, and split rings laid out by hand in an in-memory
 * guest RAM. Every device unit test uses this one harness. Include once,
 * after test.h.
 *
 * Guest RAM (FV_RAM_SIZE, private anonymous memory as lkvm's own, or a
 * shared memfd as with --mem-shared, so that balloon discards work on it):
 * the rings of device slot S, queue I at
 * FV_RINGS + S * 0x40000 + I * 0x2000 (descriptors, then the available
 * ring at +0x1000, the used ring at +0x1800); buffers from FV_BUF_BASE up.
 */
#ifndef LKVM_TEST_FAKE_VIRTIO_H
#define LKVM_TEST_FAKE_VIRTIO_H

#include <endian.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

#define FV_RAM_SIZE	(16 << 20)
#define FV_QSZ		16
#define FV_RINGS	0x10000
#define FV_RING_BYTES	0x2000
#define FV_BUF_BASE	0x200000	/* buffers are allocated from here */
#define FV_WAIT_MS	5000		/* how long a request may take */

static struct kvm fv_kvm;
static u8 *fv_ram;
static struct virtio_device *fv_devs[8];
static unsigned int fv_nr_devs;
static int fv_irqs, fv_config_irqs;

static int fv_signal_vq(struct virtio_device *vdev __unused, struct virt_queue *vq __unused)
{
	__atomic_add_fetch(&fv_irqs, 1, __ATOMIC_RELAXED);
	return 0;
}

static int fv_signal_config(struct virtio_device *vdev __unused)
{
	__atomic_add_fetch(&fv_config_irqs, 1, __ATOMIC_RELAXED);
	return 0;
}

static const struct virtio_transport_ops fv_tops = {
	.name = "fake",
	.signal_vq = fv_signal_vq,
	.signal_config = fv_signal_config,
};

static int fv_attach(struct kvm *k __unused, struct virtio_device *vdev)
{
	if (fv_nr_devs == ARRAY_SIZE(fv_devs))
		return -1;
	vdev->tops = &fv_tops;
	fv_devs[fv_nr_devs++] = vdev;
	return 0;
}

static struct virtio_transport fv_transport = {
	.name = "pci",
	.attach = fv_attach,
};

/*
 * Guest RAM and the fake transport; then fill in fv_kvm.cfg and run
 * INIT_VIRTIO. @memfd: RAM in a shared memfd (fv_kvm.ram_fd), as lkvm maps
 * it for vhost-user devices, where only a hole punched in the memfd gives
 * memory back. False when there is no memory for the guest.
 */
static inline bool fv_setup_ram(bool memfd)
{
	fv_kvm.ram_fd = -1;
	if (memfd) {
		fv_kvm.ram_fd = memfd_create("lkvm-test-ram", MFD_CLOEXEC);
		if (fv_kvm.ram_fd < 0 || ftruncate(fv_kvm.ram_fd, FV_RAM_SIZE) < 0)
			return false;
		fv_ram = mmap(NULL, FV_RAM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_NORESERVE, fv_kvm.ram_fd, 0);
	} else {
		fv_ram = mmap(NULL, FV_RAM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (fv_ram == MAP_FAILED)
		return false;
	fv_kvm.ram = fv_ram;
	fv_kvm.ram_map_size = FV_RAM_SIZE;
	fv_kvm.cfg.ram_size = FV_RAM_SIZE;
	guest_mem_add_bank(&fv_kvm.mem, 0, FV_RAM_SIZE, fv_ram);
	fv_kvm.cfg.nrcpus = 1;
	fv_kvm.cfg.virtio_transport = "pci";
	fv_kvm.cfg.console = "serial";
	fv_kvm.cfg.name = "test";
	virtio_transport_register(&fv_transport);
	return true;
}

static inline bool fv_setup(void)
{
	return fv_setup_ram(false);
}

/* Stop the devices (their exits), then free guest RAM. */
static inline void fv_teardown(void)
{
	init_run_exits(&fv_kvm);
	munmap(fv_ram, FV_RAM_SIZE);
	if (fv_kvm.ram_fd >= 0)
		close(fv_kvm.ram_fd);
}

static inline struct virtio_device *fv_find(u16 device_id)
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

/* Zeroed guest memory for buffers; it wraps around when RAM runs out. */
static inline u64 fv_alloc_align(u64 size, u64 align)
{
	u64 gpa = ALIGN_UP(fv_buf_next, align);

	if (gpa + size > FV_RAM_SIZE)
		gpa = FV_BUF_BASE;
	fv_buf_next = gpa + size;
	memset(fv_ram + gpa, 0, size);
	return gpa;
}

static inline u64 fv_alloc(u64 size)
{
	return fv_alloc_align(size, 16);
}

static inline void *fv_gp(u64 gpa)
{
	return fv_ram + gpa;
}

static inline u64 fv_features(struct virtio_device *vdev)
{
	return virtio_get_features_word(vdev, 0) |
	       (u64)virtio_get_features_word(vdev, 1) << 32;
}

/*
 * Fresh, empty rings for @q at its place @gpa, handed to the device. The
 * caller holds the device lock or the queue is not enabled.
 */
static inline void fv_place(struct fv_q *q, u64 gpa)
{
	struct virt_queue *vq = &q->vdev->vqs[q->idx];

	memset(fv_ram + gpa, 0, FV_RING_BYTES);
	q->desc = fv_gp(gpa);
	q->avail = fv_gp(gpa + 0x1000);
	q->used = fv_gp(gpa + 0x1800);
	q->next_desc = q->used_seen = 0;
	vq->size = FV_QSZ;
	vq->desc_gpa = gpa;
	vq->avail_gpa = gpa + 0x1000;
	vq->used_gpa = gpa + 0x1800;
}

/* Reset and bring up @vdev with @feat (masked by its offer) and @nq queues. */
static inline bool fv_driver_up(struct virtio_device *vdev, u64 feat,
				struct fv_q *q, unsigned int nq, unsigned int slot)
{
	u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u64 base = FV_RINGS + slot * 0x40000;
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
		q[i] = (struct fv_q){ .vdev = vdev, .idx = i };
		pthread_mutex_lock(&vdev->lock);
		fv_place(&q[i], base + i * FV_RING_BYTES);
		pthread_mutex_unlock(&vdev->lock);
		virtio_queue_enable(vdev, i, true);
		if (!vdev->vqs[i].ready)
			return false;
	}
	virtio_set_status(vdev, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/*
 * Stop @q (virtio-mmio QueueReady = 0) and set it up again in the same
 * place with fresh rings, as a driver reusing its memory does. The caller
 * holds the device lock, so the worker sees only the end result.
 */
static inline bool fv_queue_restart(struct fv_q *q)
{
	virtio_queue_enable(q->vdev, q->idx, false);
	fv_place(q, (u8 *)q->desc - fv_ram);
	virtio_queue_enable(q->vdev, q->idx, true);
	return q->vdev->vqs[q->idx].ready;
}

/* One descriptor of a chain: device-writable, or an indirect table. */
struct fv_seg {
	u64 gpa;
	u32 len;
	bool write;
	bool indirect;
};

/* Make @head (any value: tests post hostile ones) available to the device. */
static inline void fv_publish(struct fv_q *q, u16 head)
{
	q->avail->ring[le16toh(q->avail->idx) % FV_QSZ] = htole16(head);
	__atomic_store_n(&q->avail->idx, htole16(le16toh(q->avail->idx) + 1),
			 __ATOMIC_RELEASE);
}

/* Post one chain; returns its head. */
static inline u16 fv_add(struct fv_q *q, const struct fv_seg *s, unsigned int n)
{
	u16 head = q->next_desc % FV_QSZ;
	unsigned int i;

	for (i = 0; i < n; i++) {
		u16 d = (q->next_desc + i) % FV_QSZ;

		q->desc[d].addr = htole64(s[i].gpa);
		q->desc[d].len = htole32(s[i].len);
		q->desc[d].flags = htole16((s[i].write ? VRING_DESC_F_WRITE : 0) |
					   (s[i].indirect ? VRING_DESC_F_INDIRECT : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		q->desc[d].next = htole16((q->next_desc + i + 1) % FV_QSZ);
	}
	q->next_desc += n;
	fv_publish(q, head);
	return head;
}

/*
 * Post one chain of @n segments as an indirect table (in guest memory from
 * fv_alloc()) behind a single ring descriptor; returns its head. Chains
 * longer than the ring are built this way.
 */
static inline u16 fv_add_indirect(struct fv_q *q, const struct fv_seg *s,
				  unsigned int n)
{
	u64 table = fv_alloc((u64)n * sizeof(struct vring_desc));
	struct vring_desc *t = fv_gp(table);
	unsigned int i;

	for (i = 0; i < n; i++) {
		t[i].addr = htole64(s[i].gpa);
		t[i].len = htole32(s[i].len);
		t[i].flags = htole16((s[i].write ? VRING_DESC_F_WRITE : 0) |
				     (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		t[i].next = htole16(i + 1);
	}
	return fv_add(q, &(struct fv_seg){ table, n * sizeof(*t), false, true }, 1);
}

static inline u16 fv_used_idx(struct fv_q *q)
{
	return le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
}

/* Wait (without kicking) until @n more chains are used; false on timeout. */
static inline bool fv_wait(struct fv_q *q, unsigned int n)
{
	u16 want = q->used_seen + n;
	int i;

	for (i = 0; i < FV_WAIT_MS; i++) {
		if (fv_used_idx(q) == want) {
			q->used_seen = want;
			return true;
		}
		usleep(1000);
	}
	return false;
}

static inline bool fv_kick_wait(struct fv_q *q, unsigned int n)
{
	virtio_queue_kick(q->vdev, q->idx);
	return fv_wait(q, n);
}

/* The used entry @back entries before the newest one seen. */
static inline struct vring_used_elem *fv_used(struct fv_q *q, unsigned int back)
{
	return &q->used->ring[(u16)(q->used_seen - 1 - back) % FV_QSZ];
}

/* The length of the newest used entry, which must be @head's (else ~0). */
static inline u32 fv_used_len(struct fv_q *q, u16 head)
{
	struct vring_used_elem *u = fv_used(q, 0);

	return le32toh(u->id) == head ? le32toh(u->len) : ~0U;
}

#endif
