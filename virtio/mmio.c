// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport, register layout version 2, with the optional
 * MSI and per-queue notify extension of the 2020 "virtio-mmio enhancement"
 * proposal (facts: VIRTIO_F_MMIO_NOTIFICATION 39, VIRTIO_F_MMIO_MSI 40).
 * Today's spec uses bits 39/40 for other features, so the extension is
 * offered only when the VM asks for it (--virtio-mmio-msi).
 *
 * All transport state is protected by the device's (recursive) lock, which
 * the core's worker also holds when it signals us: one lock, one order.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/ioeventfd.h"
#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-mmio.h"
#include "lkvm/virtio-transport.h"
#include "lkvm/virtio.h"

struct msi_vec {
	struct virtio_msi kvm;	/* route, irqfd, and the message itself */
	bool configured, masked, pending;
};

struct mmio_dev {
	struct virtio_device *vdev;
	struct kvm *kvm;
	struct virtio_mmio_info info;
	struct io_range io;
	u32 dev_feat_sel, drv_feat_sel, queue_sel;

	/* Wired interrupt: InterruptStatus and a level-triggered line. */
	u32 int_status;
	int irqfd, resamplefd;	/* -1: drive the line with KVM_IRQ_LINE */

	/* The MSI extension. */
	bool msi_sharing, msi_enabled;
	u32 nvec, vec_sel, addr_lo, addr_hi, data;
	struct msi_vec *vecs;
	u32 config_vec;
	u32 *queue_vec;		/* sharing mode mapping */
	unsigned long msi_invalid;

	/* Notifications: one write ioeventfd per queue on QueueNotify... */
	struct virtio_notify notify;
	bool notify_on;		/* ...registered (dropped while per-queue ones are used) */
	/* ...and, with the extension, one per queue on its own address. */
	struct virtio_notify queue_notify;
	/* A read event on QueueNotify: the driver looks up per-queue addresses. */
	struct ioevent notify_read;
	bool notify_read_on;

	struct mmio_dev *next;
};

void virtio_mmio_for_each(struct kvm *kvm,
			  void (*fn)(const struct virtio_mmio_info *info, void *ctx),
			  void *ctx)
{
	struct mmio_dev *m;

	for (m = kvm->virtio_mmio_devs; m; m = m->next)
		fn(&m->info, ctx);
}

static bool ext_offered(struct mmio_dev *m)
{
	return m->info.msi;
}

static bool notification_negotiated(struct mmio_dev *m)
{
	return ext_offered(m) && virtio_has_feature(m->vdev, VIRTIO_F_MMIO_NOTIFICATION);
}

static u32 notify_info(void)
{
	return VIRTIO_MMIO_NOTIFY_BASE | VIRTIO_MMIO_NOTIFY_MULTIPLIER << 16;
}

static void msi_invalid(struct mmio_dev *m, const char *what, u32 v)
{
	m->msi_invalid++;
	pr_debug("virtio-mmio@0x%llx: ignoring %s 0x%x (%lu ignored so far)",
		 (unsigned long long)m->info.base, what, v, m->msi_invalid);
}

/* --- interrupts ---------------------------------------------------------- */

static void msi_deliver(struct mmio_dev *m, struct msi_vec *v)
{
	if (virtio_msi_fire(m->kvm, &v->kvm, m->info.msi_devid))
		pr_debug("virtio-mmio@0x%llx: MSI not delivered",
			 (unsigned long long)m->info.base);
}

static void msi_fire(struct mmio_dev *m, u32 vec)
{
	struct msi_vec *v;

	if (vec == VIRTIO_MMIO_MSI_NO_VECTOR)
		return;
	if (vec >= m->nvec) {
		msi_invalid(m, "interrupt for vector", vec);
		return;
	}
	v = &m->vecs[vec];
	if (!v->configured) {
		msi_invalid(m, "interrupt for unconfigured vector", vec);
		return;
	}
	/* A masked vector holds its interrupt until it is unmasked. */
	if (v->masked)
		v->pending = true;
	else
		msi_deliver(m, v);
}

static void wired_raise(struct mmio_dev *m, u32 bit)
{
	m->int_status |= bit;
	if (m->irqfd >= 0)
		eventfd_write(m->irqfd, 1);
	else
		kvm__irq_line(m->kvm, m->info.irq, 1);
}

static void wired_ack(struct mmio_dev *m, u32 bits)
{
	m->int_status &= ~bits;
	if (m->irqfd >= 0)
		return;		/* KVM lowers the line at EOI, see resampled() */
	kvm__irq_line(m->kvm, m->info.irq, 0);
	/* Still pending: make a fresh edge for a guest that took it as edge. */
	if (m->int_status)
		kvm__irq_line(m->kvm, m->info.irq, 1);
}

/* The guest EOI'd our line: raise it again if there is more to see. */
static void resampled(struct virtio_device *vdev, void *ctx)
{
	struct mmio_dev *m = ctx;

	(void)vdev;
	if (m->int_status && !m->msi_enabled)
		eventfd_write(m->irqfd, 1);
}

/*
 * Queue @q's interrupt (@q < 0: the configuration's): its MSI vector (in
 * non-sharing mode 0 is config's and 1 + q queue q's), or the wired line
 * with @int_bit in InterruptStatus.
 */
static int mmio_signal(struct virtio_device *vdev, int q, u32 int_bit)
{
	struct mmio_dev *m = vdev->transport;

	pthread_mutex_lock(&vdev->lock);
	if (!m->msi_enabled)
		wired_raise(m, int_bit);
	else if (m->msi_sharing)
		msi_fire(m, q < 0 ? m->config_vec : m->queue_vec[q]);
	else
		msi_fire(m, q + 1);
	pthread_mutex_unlock(&vdev->lock);
	return 0;
}

static int mmio_signal_vq(struct virtio_device *vdev, struct virt_queue *vq)
{
	return mmio_signal(vdev, vq->index, VIRTIO_MMIO_INT_VRING);
}

static int mmio_signal_config(struct virtio_device *vdev)
{
	return mmio_signal(vdev, -1, VIRTIO_MMIO_INT_CONFIG);
}

static void mmio_detach(struct virtio_device *vdev);

VIRTIO_TRANSPORT_OPS(mmio, "mmio");

/* --- the MSI extension --------------------------------------------------- */

static void msi_configure(struct mmio_dev *m, u32 vec)
{
	struct msi_vec *v;
	u64 addr = (u64)m->addr_hi << 32 | m->addr_lo;

	if (vec >= m->nvec) {
		msi_invalid(m, "CONFIGURE of vector", vec);
		return;
	}
	v = &m->vecs[vec];
	v->configured = true;
	/* Each vector becomes a KVM MSI route fed by an irqfd: no exits to raise it. */
	virtio_msi_route(m->kvm, &v->kvm, addr, m->data, m->info.msi_devid);
}

static void msi_reset(struct mmio_dev *m)
{
	unsigned int i;

	m->msi_enabled = false;
	m->vec_sel = m->addr_lo = m->addr_hi = m->data = 0;
	for (i = 0; i < m->nvec; i++) {
		m->vecs[i].configured = false;
		m->vecs[i].masked = false;
		m->vecs[i].pending = false;
	}
	m->config_vec = VIRTIO_MMIO_MSI_NO_VECTOR;
	for (i = 0; i < m->vdev->nr_queues; i++)
		m->queue_vec[i] = VIRTIO_MMIO_MSI_NO_VECTOR;
}

static void msi_command(struct mmio_dev *m, u32 cmd)
{
	u32 sel = m->vec_sel;

	if (!ext_offered(m) || !virtio_has_feature(m->vdev, VIRTIO_F_MMIO_MSI)) {
		msi_invalid(m, "MSI command without the MSI feature negotiated", cmd);
		return;
	}
	switch (cmd) {
	case VIRTIO_MMIO_MSI_CMD_ENABLE:
		/* InterruptStatus is not used while MSI is on. */
		m->msi_enabled = true;
		m->int_status = 0;
		if (m->irqfd < 0)
			kvm__irq_line(m->kvm, m->info.irq, 0);
		break;
	case VIRTIO_MMIO_MSI_CMD_DISABLE:
		m->msi_enabled = false;
		break;
	case VIRTIO_MMIO_MSI_CMD_CONFIGURE:
		msi_configure(m, sel);
		break;
	case VIRTIO_MMIO_MSI_CMD_MASK:
	case VIRTIO_MMIO_MSI_CMD_UNMASK:
		if (sel >= m->nvec) {
			msi_invalid(m, "mask/unmask of vector", sel);
			break;
		}
		m->vecs[sel].masked = cmd == VIRTIO_MMIO_MSI_CMD_MASK;
		if (!m->vecs[sel].masked && m->vecs[sel].pending) {
			m->vecs[sel].pending = false;
			if (m->vecs[sel].configured)
				msi_deliver(m, &m->vecs[sel]);
		}
		break;
	case VIRTIO_MMIO_MSI_CMD_MAP_CONFIG:
	case VIRTIO_MMIO_MSI_CMD_MAP_QUEUE:
		/* Mappings are fixed in non-sharing mode. */
		if (!m->msi_sharing) {
			msi_invalid(m, "MAP command in non-sharing mode", cmd);
			break;
		}
		if (sel != VIRTIO_MMIO_MSI_NO_VECTOR && sel >= m->nvec) {
			msi_invalid(m, "MAP to vector", sel);
			break;
		}
		if (cmd == VIRTIO_MMIO_MSI_CMD_MAP_CONFIG)
			m->config_vec = sel;
		else if (m->queue_sel < m->vdev->nr_queues)
			m->queue_vec[m->queue_sel] = sel;
		else
			msi_invalid(m, "MAP_QUEUE of queue", m->queue_sel);
		break;
	default:
		msi_invalid(m, "MSI command", cmd);
		break;
	}
}

/* --- notifications --------------------------------------------------------- */

/*
 * A guest that reads QueueNotify after negotiating NOTIFICATION is going to
 * notify each queue at its own address: the shared QueueNotify ioeventfds
 * are dead weight in KVM's I/O bus from then on, so drop them. A late write
 * to QueueNotify still works, through the exit path.
 */
static void notify_read_seen(struct virtio_device *vdev, void *ctx)
{
	struct mmio_dev *m = ctx;

	/* A read from before a reset: the next driver may not use the extension. */
	if (!m->notify_on || !m->notify_read_on)
		return;
	pr_debug("virtio-%s@0x%llx: driver uses per-queue notify addresses",
		 vdev->ops->name, (unsigned long long)m->info.base);
	virtio_notify_del(m->kvm, &m->notify);
	m->notify_on = false;
}

/*
 * At reset: the next driver may not negotiate NOTIFICATION, so give
 * QueueNotify its ioeventfds back rather than make every notify exit.
 */
static void notify_shared_restore(struct mmio_dev *m)
{
	if (m->notify_on)
		return;
	virtio_notify_restore(m->kvm, &m->notify);
	m->notify_on = true;
}

static void notify_read_update(struct mmio_dev *m)
{
	bool want = notification_negotiated(m) &&
		    (m->vdev->status & VIRTIO_CONFIG_S_FEATURES_OK);

	if (want == m->notify_read_on)
		return;
	if (want)
		m->notify_read_on = !ioeventfd_add(m->kvm, &m->notify_read);
	else {
		ioeventfd_del(m->kvm, &m->notify_read);
		m->notify_read_on = false;
	}
}

static void notify_write(struct mmio_dev *m, u64 off, u32 val)
{
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		if (val < m->vdev->nr_queues)
			virtio_queue_kick(m->vdev, val);
		return;
	}
	/* A per-queue notify address the ioeventfds didn't catch (odd width). */
	if (ext_offered(m) && off >= VIRTIO_MMIO_NOTIFY_BASE) {
		u64 q = (off - VIRTIO_MMIO_NOTIFY_BASE) / VIRTIO_MMIO_NOTIFY_MULTIPLIER;

		if (q < m->vdev->nr_queues)
			virtio_queue_kick(m->vdev, q);
	}
}

/* --- registers ----------------------------------------------------------- */

static struct virt_queue *sel_queue(struct mmio_dev *m)
{
	return m->queue_sel < m->vdev->nr_queues ? &m->vdev->vqs[m->queue_sel] : NULL;
}

/* QueueDesc, QueueAvail, QueueUsed: each a ring address in Low and High halves. */
static bool ring_reg(u64 off)
{
	u64 low = off & ~4ULL;

	return low == VIRTIO_MMIO_QUEUE_DESC_LOW || low == VIRTIO_MMIO_QUEUE_AVAIL_LOW ||
	       low == VIRTIO_MMIO_QUEUE_USED_LOW;
}

/* The address a ring_reg() is half of (off & 4: the high half). */
static u64 *ring_addr(struct virt_queue *vq, u64 off)
{
	switch (off & ~4ULL) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return &vq->desc_gpa;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return &vq->avail_gpa;
	default:
		return &vq->used_gpa;
	}
}

static u32 reg_read(struct mmio_dev *m, u64 off)
{
	struct virtio_device *vdev = m->vdev;
	struct virt_queue *vq = sel_queue(m);

	if (ring_reg(off))
		return vq ? virtio_addr_half(*ring_addr(vq, off), off & 4) : 0;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_get_features_word(vdev, m->dev_feat_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		return notification_negotiated(m) ? notify_info() : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return m->msi_enabled ? 0 : m->int_status;
	case VIRTIO_MMIO_STATUS:
		return vdev->status;
	case VIRTIO_MMIO_MSI_VEC_NUM:
		return ext_offered(m) ? m->nvec : 0;
	case VIRTIO_MMIO_MSI_STATE:
		if (!ext_offered(m))
			return 0;
		return (m->msi_enabled ? VIRTIO_MMIO_MSI_STATE_ENABLED : 0) |
		       (m->msi_sharing ? VIRTIO_MMIO_MSI_STATE_SHARING : 0);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	/*
	 * No device has shared memory regions: a length of -1 says so (spec
	 * 4.2.2). Linux takes any other length, 0 too, for a region it must
	 * reserve; virtiofs (CONFIG_FUSE_DAX) then fails its probe, EBUSY.
	 */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return ~0U;
	default:
		return 0;
	}
}

/* Selectors and the MSI message being composed: kept as written. */
static const struct virtio_latch latches[] = {
	{ VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, offsetof(struct mmio_dev, dev_feat_sel) },
	{ VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, offsetof(struct mmio_dev, drv_feat_sel) },
	{ VIRTIO_MMIO_QUEUE_SEL, 4, offsetof(struct mmio_dev, queue_sel) },
	{ VIRTIO_MMIO_MSI_VEC_SEL, 4, offsetof(struct mmio_dev, vec_sel) },
	{ VIRTIO_MMIO_MSI_ADDR_LOW, 4, offsetof(struct mmio_dev, addr_lo) },
	{ VIRTIO_MMIO_MSI_ADDR_HIGH, 4, offsetof(struct mmio_dev, addr_hi) },
	{ VIRTIO_MMIO_MSI_DATA, 4, offsetof(struct mmio_dev, data) },
};

static void reg_write(struct mmio_dev *m, u64 off, u32 val)
{
	struct virtio_device *vdev = m->vdev;
	struct virt_queue *vq = sel_queue(m);

	if (virtio_latch_write(m, latches, ARRAY_SIZE(latches), off, 4, val))
		return;
	if (ring_reg(off)) {
		/* Only while the queue is off. */
		if (vq && !vq->ready)
			virtio_addr_set_half(ring_addr(vq, off), off & 4, val);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_features_word(vdev, m->drv_feat_sel, val);
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (vq && !vq->ready)
			vq->size = val > 0xffff ? 0 : val;	/* checked at QueueReady */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (vq)
			virtio_queue_enable(vdev, m->queue_sel, val & 1);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		notify_write(m, off, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		/* Ignored while MSI is on. */
		if (!m->msi_enabled)
			wired_ack(m, val);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(vdev, val & 0xff);
		if ((val & 0xff) == 0) {
			m->dev_feat_sel = m->drv_feat_sel = m->queue_sel = 0;
			wired_ack(m, ~0U);
			if (ext_offered(m))
				msi_reset(m);
			notify_shared_restore(m);
		}
		notify_read_update(m);
		break;
	case VIRTIO_MMIO_MSI_CMD:
		msi_command(m, val);
		break;
	default:
		break;		/* read-only or reserved */
	}
}

static void mmio_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		    bool is_write, void *ctx)
{
	struct mmio_dev *m = ctx;
	struct virtio_device *vdev = m->vdev;
	u32 val = 0;

	pthread_mutex_lock(&vdev->lock);
	if (off >= VIRTIO_MMIO_NOTIFY_BASE) {
		if (is_write && len <= 4) {
			memcpy(&val, data, len);
			notify_write(m, off, val);
		} else if (!is_write) {
			memset(data, 0, len);
		}
	} else if (off >= VIRTIO_MMIO_CONFIG) {
		virtio_config_access(vdev, off - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || (off & 3)) {
		/* Registers are 32 bits wide; anything else is ignored. */
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&val, data, 4);
		reg_write(m, off, le32toh(val));
	} else {
		val = htole32(reg_read(m, off));
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&vdev->lock);
}

/* --- setup --------------------------------------------------------------- */

static int add_notify_events(struct mmio_dev *m)
{
	unsigned int n = m->vdev->nr_queues;

	virtio_notify_alloc(&m->notify, n);
	if (virtio_notify_add(m->kvm, &m->notify, m->vdev,
			      m->info.base + VIRTIO_MMIO_QUEUE_NOTIFY, 0, 4))
		return -1;
	m->notify_on = true;
	if (!ext_offered(m))
		return 0;
	virtio_notify_alloc(&m->queue_notify, n);
	if (virtio_notify_add(m->kvm, &m->queue_notify, m->vdev,
			      m->info.base + VIRTIO_MMIO_NOTIFY_BASE,
			      VIRTIO_MMIO_NOTIFY_MULTIPLIER, 4))
		return -1;
	m->notify_read = (struct ioevent){
		.addr = m->info.base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
		.flags = IOEVENTFD_READ, .read_value = notify_info(),
		.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	};
	if (m->notify_read.fd < 0)
		return -1;
	return virtio_worker_add_fd(m->vdev, m->notify_read.fd, notify_read_seen, m);
}

static int setup_wired_irq(struct mmio_dev *m)
{
	int irq = irq_alloc_line(m->kvm);

	if (irq < 0) {
		pr_err("virtio-mmio: no interrupt line left");
		return -1;
	}
	m->info.irq = irq;
	m->irqfd = eventfd(0, EFD_CLOEXEC);
	m->resamplefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->irqfd < 0 || m->resamplefd < 0 ||
	    irq_irqfd_add_resample(m->kvm, irq, m->irqfd, m->resamplefd)) {
		/* No resampling irqfds: drive the line from userspace. */
		if (m->irqfd >= 0)
			close(m->irqfd);
		if (m->resamplefd >= 0)
			close(m->resamplefd);
		m->irqfd = m->resamplefd = -1;
		return 0;
	}
	return virtio_worker_add_fd(m->vdev, m->resamplefd, resampled, m);
}

static int mmio_attach(struct kvm *kvm, struct virtio_device *vdev)
{
	struct mmio_dev *m = xzalloc(sizeof(*m)), **p;
	/* Addresses are never reused: a detached device's stays a hole. */
	u64 base = VIRTIO_MMIO_START + (u64)kvm->virtio_mmio_made * VIRTIO_MMIO_SIZE;
	unsigned int i;

	if (base + VIRTIO_MMIO_SIZE > VIRTIO_MMIO_END) {
		pr_err("virtio-mmio: too many devices");
		free(m);
		return -1;
	}
	m->vdev = vdev;
	m->kvm = kvm;
	m->info.base = base;
	m->info.size = VIRTIO_MMIO_SIZE;
	m->info.device_id = vdev->ops->device_id;
	m->info.msi = kvm->cfg.virtio_mmio_msi;
	m->info.msi_devid = VIRTIO_MMIO_MSI_DEVID_BASE +
			    kvm->virtio_mmio_made;
	vdev->transport = m;
	vdev->tops = &mmio_tops;

	if (ext_offered(m)) {
		vdev->host_features |= 1ULL << VIRTIO_F_MMIO_NOTIFICATION |
				       1ULL << VIRTIO_F_MMIO_MSI;
		/* Non-sharing mode needs a vector for config and one per queue. */
		m->msi_sharing = kvm->cfg.virtio_mmio_msi_shared;
		m->nvec = vdev->nr_queues + 1;
		m->vecs = xzalloc(m->nvec * sizeof(*m->vecs));
		for (i = 0; i < m->nvec; i++)
			virtio_msi_init(&m->vecs[i].kvm);
		m->queue_vec = xzalloc(vdev->nr_queues * sizeof(*m->queue_vec));
		msi_reset(m);
	}
	if (setup_wired_irq(m) || add_notify_events(m))
		return -1;

	m->io = (struct io_range){
		.start = m->info.base, .len = VIRTIO_MMIO_SIZE, .fn = mmio_io, .ctx = m,
		.name = vdev->ops->name,
	};
	if (iobus_register(&kvm->mmio_bus, &m->io))
		return -1;
	kvm->virtio_mmio_made++;
	for (p = &kvm->virtio_mmio_devs; *p; p = &(*p)->next)
		;
	*p = m;		/* keep creation order: it is the guest's probe order */
	return 0;
}

static void mmio_detach(struct virtio_device *vdev)
{
	struct mmio_dev *m = vdev->transport, **p;
	unsigned int i;

	if (!m)
		return;
	iobus_unregister(&m->kvm->mmio_bus, &m->io);
	virtio_notify_free(m->kvm, &m->notify);
	virtio_notify_free(m->kvm, &m->queue_notify);
	if (m->notify_read_on)
		ioeventfd_del(m->kvm, &m->notify_read);
	if (m->notify_read.fd > 0)
		close(m->notify_read.fd);
	for (i = 0; i < m->nvec; i++)
		virtio_msi_exit(m->kvm, &m->vecs[i].kvm);
	if (m->irqfd >= 0) {
		irq_irqfd_del(m->kvm, m->info.irq, m->irqfd);
		close(m->irqfd);
		close(m->resamplefd);
	}
	for (p = &m->kvm->virtio_mmio_devs; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			break;
		}
	}
	free(m->vecs);
	free(m->queue_vec);
	free(m);
	vdev->transport = NULL;
}

virtio_transport_init(mmio, "mmio");
