// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport, modern (virtio 1.x, section 4.1) only: each
 * device is a PCI function whose one memory BAR holds every register block
 * the vendor capabilities point at, plus the MSI-X table and PBA.
 *
 *   BAR0 + 0x0000  common config (struct virtio_pci_common_cfg)
 *          0x1000  ISR status (read to clear; INTx only)
 *          0x2000  device config (the device's own layout)
 *          0x3000  notify: queue i at 0x3000 + 4 * i
 *          0x4000  MSI-X table, one vector per queue plus one for config
 *          0x5000  MSI-X PBA
 *
 * Queue notifications are ioeventfds on the notify addresses, re-registered
 * whenever the guest moves the BAR, so a kick never leaves the kernel.
 * Interrupts are MSI-X vectors routed with KVM_SET_GSI_ROUTING and raised
 * through irqfds; a masked vector is held in the PBA. Drivers that leave
 * MSI-X off get INTx and the ISR register.
 *
 * Locking, outermost first: the PCI bus lock (config space hooks), then
 * vdev->lock (recursive; held across common config accesses so the
 * selectors and queue fields don't change under us), then vp->lock (MSI-X,
 * ISR, vectors), then the bus's INTx lock. The core calls signal_vq and
 * signal_config with vdev->lock held, which fits; and vp->lock is never
 * held while calling into the core.
 */
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio-transport.h"
#include "lkvm/virtio.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* modern: 0x1040 + virtio device ID */
#define VIRTIO_PCI_REVISION	1	/* modern-only devices have revision >= 1 */

#define VPCI_BAR		0
#define VPCI_BAR_SIZE		0x8000
#define VPCI_REGION_SIZE	0x1000
#define VPCI_COMMON_OFF		0x0000
#define VPCI_COMMON_LEN		0x38	/* through queue_used_hi */
#define VPCI_ISR_OFF		0x1000
#define VPCI_DEVCFG_OFF		0x2000
#define VPCI_NOTIFY_OFF		0x3000
#define VPCI_NOTIFY_MULT	4
#define VPCI_MSIX_TABLE_OFF	0x4000
#define VPCI_MSIX_PBA_OFF	0x5000

#define VPCI_ISR_QUEUE		0x1
#define VPCI_VNDR_CAP_LEN	16	/* struct virtio_pci_cap */
#define VPCI_NOTIFY_CAP_LEN	20	/* struct virtio_pci_notify_cap */
#define VPCI_CFG_CAP_LEN	20	/* struct virtio_pci_cfg_cap */
#define VPCI_CFG_CAP_DATA	16	/* offset of pci_cfg_data in it */

struct vpci {
	struct pci_device pdev;
	struct virtio_device *vdev;
	struct kvm *kvm;

	/* Under vdev->lock: the driver's selectors. */
	u32 dfselect, gfselect;
	u16 queue_select;

	/* Under vp->lock. */
	pthread_mutex_t lock;
	struct pci_msix msix;
	struct virtio_msi *vectors;	/* msix.nr of them: their KVM side */
	u16 msix_config;		/* vector for config changes */
	u16 *queue_vector;		/* per queue */
	u8 isr;

	/* Under the PCI bus lock (changed only from config space writes). */
	struct virtio_notify notify;	/* per queue */
	u8 cfg_cap;			/* VIRTIO_PCI_CAP_PCI_CFG offset */
};

static void vpci_bar_io(struct io_range *r, u64 off, u8 *data, u32 len,
			bool is_write, void *ctx);

static u32 devid(const struct vpci *vp)
{
	return vp->pdev.slot << 3;	/* bus 0, function 0 */
}

/* MSI-X delivery (called by hw/pci.c with vp->lock held). */

static void vpci_msix_route(void *ctx, unsigned int v, u64 addr, u32 data)
{
	struct vpci *vp = ctx;

	virtio_msi_route(vp->kvm, &vp->vectors[v], addr, data, devid(vp));
}

/* hw/pci.c routes a vector before it fires: vectors[v] has its message. */
static void vpci_msix_fire(void *ctx, unsigned int v)
{
	struct vpci *vp = ctx;

	if (virtio_msi_fire(vp->kvm, &vp->vectors[v], devid(vp)) < 0)
		pr_debug("virtio-pci %02x: MSI-X vector %u not delivered", vp->pdev.slot, v);
}

static const struct pci_msix_ops vpci_msix_ops = {
	.route = vpci_msix_route,
	.fire = vpci_msix_fire,
};

/*
 * Raise queue @q's vector (@q < 0: the config vector), or INTx with
 * @isr_bit when the driver left MSI-X off. Runs on device worker threads,
 * with vdev->lock held by the core.
 */
static void vpci_signal(struct vpci *vp, int q, u8 isr_bit)
{
	u16 vector;

	pthread_mutex_lock(&vp->lock);
	vector = q < 0 ? vp->msix_config : vp->queue_vector[q];
	if (vp->msix.enabled) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(&vp->msix, vector);
	} else {
		vp->isr |= isr_bit;
		pci_irq_set(&vp->pdev, true);
	}
	pthread_mutex_unlock(&vp->lock);
}

static int vpci_signal_vq(struct virtio_device *vdev, struct virt_queue *vq)
{
	if (vq->index >= vdev->nr_queues)
		return -1;
	vpci_signal(vdev->transport, vq->index, VPCI_ISR_QUEUE);
	return 0;
}

static int vpci_signal_config(struct virtio_device *vdev)
{
	vpci_signal(vdev->transport, -1, VIRTIO_PCI_ISR_CONFIG);
	return 0;
}

static void vpci_detach(struct virtio_device *vdev);

VIRTIO_TRANSPORT_OPS(vpci, "pci");

/* Common configuration. */

/* A vector number the driver may use: in the table, or NO_VECTOR. */
static u16 vpci_vector_ok(struct vpci *vp, u32 v)
{
	return v < vp->msix.nr ? v : VIRTIO_MSI_NO_VECTOR;
}

/*
 * Reads assemble the whole structure for the selected queue and return
 * the bytes asked for, so any width at any offset reads consistently;
 * nothing in it has read side effects.
 */
static void common_read(struct vpci *vp, u32 off, u8 *data, u32 len)
{
	struct virtio_device *vdev = vp->vdev;
	u8 regs[VPCI_COMMON_LEN] = { 0 };
	struct virt_queue *vq;
	u16 q;

	if (off >= sizeof(regs) || len > sizeof(regs) - off) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&vdev->lock);
	q = vp->queue_select;
	vq = q < vdev->nr_queues ? &vdev->vqs[q] : NULL;
	put_le(regs + VIRTIO_PCI_COMMON_DFSELECT, vp->dfselect, 4);
	put_le(regs + VIRTIO_PCI_COMMON_DF,
		   virtio_get_features_word(vdev, vp->dfselect), 4);
	put_le(regs + VIRTIO_PCI_COMMON_GFSELECT, vp->gfselect, 4);
	put_le(regs + VIRTIO_PCI_COMMON_GF, vp->gfselect < 2 ?
		   (u32)(vdev->guest_features >> (32 * vp->gfselect)) : 0, 4);
	put_le(regs + VIRTIO_PCI_COMMON_NUMQ, vdev->nr_queues, 2);
	regs[VIRTIO_PCI_COMMON_STATUS] = vdev->status;
	regs[VIRTIO_PCI_COMMON_CFGGENERATION] = vdev->config_generation;
	put_le(regs + VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	if (vq) {
		/* An out-of-range queue reads as size 0: "not available". */
		put_le(regs + VIRTIO_PCI_COMMON_Q_SIZE, vq->size, 2);
		put_le(regs + VIRTIO_PCI_COMMON_Q_ENABLE, vq->ready, 2);
		put_le(regs + VIRTIO_PCI_COMMON_Q_NOFF, q, 2);
		put_le(regs + VIRTIO_PCI_COMMON_Q_DESCLO, vq->desc_gpa, 4);
		put_le(regs + VIRTIO_PCI_COMMON_Q_DESCHI, vq->desc_gpa >> 32, 4);
		put_le(regs + VIRTIO_PCI_COMMON_Q_AVAILLO, vq->avail_gpa, 4);
		put_le(regs + VIRTIO_PCI_COMMON_Q_AVAILHI, vq->avail_gpa >> 32, 4);
		put_le(regs + VIRTIO_PCI_COMMON_Q_USEDLO, vq->used_gpa, 4);
		put_le(regs + VIRTIO_PCI_COMMON_Q_USEDHI, vq->used_gpa >> 32, 4);
	}
	pthread_mutex_lock(&vp->lock);
	put_le(regs + VIRTIO_PCI_COMMON_MSIX, vp->msix_config, 2);
	put_le(regs + VIRTIO_PCI_COMMON_Q_MSIX,
		   vq ? vp->queue_vector[q] : VIRTIO_MSI_NO_VECTOR, 2);
	pthread_mutex_unlock(&vp->lock);
	pthread_mutex_unlock(&vdev->lock);
	memcpy(data, regs + off, len);
}

/* Set the low or high half (or all, @len 8) of a queue address. */
static void set_addr(u64 *addr, u32 reg_off, u32 lo_off, const u8 *data, u32 len)
{
	if (reg_off == lo_off && len == 8)
		*addr = get_le(data, 8);
	else if ((reg_off == lo_off || reg_off == lo_off + 4) && len == 4)
		virtio_addr_set_half(addr, reg_off != lo_off, get_le(data, 4));
}

/* The driver reset the device: the transport's part (vdev->lock held). */
static void vpci_reset(struct vpci *vp)
{
	unsigned int i;

	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	pthread_mutex_lock(&vp->lock);
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < vp->vdev->nr_queues; i++)
		vp->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	vp->isr = 0;
	pci_irq_set(&vp->pdev, false);
	/* Interrupts raised before the reset mean nothing to the new driver. */
	pci_msix_clear_pending(&vp->msix);
	pthread_mutex_unlock(&vp->lock);
}

/* Which feature word and which queue the driver's next accesses mean. */
static const struct virtio_latch selectors[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4, offsetof(struct vpci, dfselect) },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4, offsetof(struct vpci, gfselect) },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2, offsetof(struct vpci, queue_select) },
};

/*
 * Writes must hit a field exactly with its own width (64-bit queue
 * addresses also as two dwords); anything else is dropped, as are writes
 * to read-only fields and to queue fields of an out-of-range or already
 * enabled queue.
 */
static void common_write(struct vpci *vp, u32 off, const u8 *data, u32 len)
{
	struct virtio_device *vdev = vp->vdev;
	u32 v = len <= 4 ? get_le(data, len) : 0;
	struct virt_queue *vq;
	u16 q;

	pthread_mutex_lock(&vdev->lock);
	q = vp->queue_select;
	vq = q < vdev->nr_queues ? &vdev->vqs[q] : NULL;
	switch (off) {
	case VIRTIO_PCI_COMMON_GF:
		if (len == 4)
			virtio_set_features_word(vdev, vp->gfselect, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		if (len == 2) {
			pthread_mutex_lock(&vp->lock);
			vp->msix_config = vpci_vector_ok(vp, v);
			pthread_mutex_unlock(&vp->lock);
		}
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		if (len != 1)
			break;
		virtio_set_status(vdev, v);
		if (v == 0)
			vpci_reset(vp);
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* The core checks for a power of two when the queue is enabled. */
		if (len == 2 && vq && !vq->ready && v <= vq->max_size)
			vq->size = v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (len == 2 && vq) {
			pthread_mutex_lock(&vp->lock);
			vp->queue_vector[q] = vpci_vector_ok(vp, v);
			pthread_mutex_unlock(&vp->lock);
		}
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* Only 1 may be written; a queue stops with a device reset. */
		if (len == 2 && vq && v == 1)
			virtio_queue_enable(vdev, q, true);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO ... VIRTIO_PCI_COMMON_Q_USEDHI + 3:
		if (!vq || vq->ready)
			break;
		set_addr(&vq->desc_gpa, off, VIRTIO_PCI_COMMON_Q_DESCLO, data, len);
		set_addr(&vq->avail_gpa, off, VIRTIO_PCI_COMMON_Q_AVAILLO, data, len);
		set_addr(&vq->used_gpa, off, VIRTIO_PCI_COMMON_Q_USEDLO, data, len);
		break;
	default:
		/* The selectors; device_feature, num_queues, ...: read-only. */
		virtio_latch_write(vp, selectors, ARRAY_SIZE(selectors), off, len, v);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

/* ISR status: reading returns and clears it, and lowers INTx. */
static void isr_io(struct vpci *vp, u64 off, u8 *data, u32 len, bool is_write)
{
	if (is_write)
		return;
	memset(data, 0, len);
	if (off != 0)
		return;
	pthread_mutex_lock(&vp->lock);
	data[0] = vp->isr;
	vp->isr = 0;
	pci_irq_set(&vp->pdev, false);
	pthread_mutex_unlock(&vp->lock);
}

/*
 * The BAR. Also reached from config space through the PCI_CFG capability,
 * with the bus lock held. Every region is bounds-checked against its own
 * size; reads of unused space return 0.
 */
static void vpci_bar_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
			bool is_write, void *ctx)
{
	struct vpci *vp = ctx;
	u64 region = off & ~(u64)(VPCI_REGION_SIZE - 1), roff = off - region;

	if (!len || len > 8 || off >= VPCI_BAR_SIZE || roff + len > VPCI_REGION_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	switch (region) {
	case VPCI_COMMON_OFF:
		if (is_write)
			common_write(vp, roff, data, len);
		else
			common_read(vp, roff, data, len);
		break;
	case VPCI_ISR_OFF:
		isr_io(vp, roff, data, len, is_write);
		break;
	case VPCI_DEVCFG_OFF:
		virtio_config_access(vp->vdev, roff, data, len, is_write);
		break;
	case VPCI_NOTIFY_OFF:
		/* Only a notify that no ioeventfd caught gets here. */
		if (is_write)
			virtio_queue_kick(vp->vdev, roff / VPCI_NOTIFY_MULT);
		else
			memset(data, 0, len);
		break;
	case VPCI_MSIX_TABLE_OFF:
		pthread_mutex_lock(&vp->lock);
		pci_msix_table_io(&vp->msix, roff, data, len, is_write);
		pthread_mutex_unlock(&vp->lock);
		break;
	case VPCI_MSIX_PBA_OFF:
		pthread_mutex_lock(&vp->lock);
		pci_msix_pba_io(&vp->msix, roff, data, len, is_write);
		pthread_mutex_unlock(&vp->lock);
		break;
	default:
		if (!is_write)
			memset(data, 0, len);
		break;
	}
}

/* PCI glue (bus lock held). */

/* The notify ioeventfds follow the BAR. */
static void vpci_bar_map(struct pci_device *dev, unsigned int bar, u64 addr, bool on)
{
	struct vpci *vp = dev->priv;

	if (bar != VPCI_BAR)
		return;
	/* Any width (len 0): drivers write 16 bits, others may not. */
	if (on)
		virtio_notify_add(vp->kvm, &vp->notify, vp->vdev, addr + VPCI_NOTIFY_OFF,
				  VPCI_NOTIFY_MULT, 0);
	else
		virtio_notify_del(vp->kvm, &vp->notify);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG: a window into the BAR through config space. The
 * driver sets bar, offset and length, then reads or writes pci_cfg_data.
 * Returns the BAR offset and length, or false for an invalid window.
 */
static bool cfg_window(struct vpci *vp, u32 *boff, u32 *blen)
{
	u8 c = vp->cfg_cap;

	*boff = pci_cfg_get(&vp->pdev, c + VIRTIO_PCI_CAP_OFFSET, 4);
	*blen = pci_cfg_get(&vp->pdev, c + VIRTIO_PCI_CAP_LENGTH, 4);
	return vp->pdev.cfg[c + VIRTIO_PCI_CAP_BAR] == VPCI_BAR &&
	       (*blen == 1 || *blen == 2 || *blen == 4) && !(*boff & (*blen - 1)) &&
	       *boff < VPCI_BAR_SIZE;
}

static void vpci_cfg_read(struct pci_device *dev, u32 off, u32 len)
{
	struct vpci *vp = dev->priv;
	u8 *win = dev->cfg + vp->cfg_cap + VPCI_CFG_CAP_DATA;
	u32 boff, blen;

	if (!pci_cfg_overlaps(off, len, vp->cfg_cap + VPCI_CFG_CAP_DATA, 4))
		return;
	memset(win, 0, 4);
	if (cfg_window(vp, &boff, &blen))
		vpci_bar_io(NULL, boff, win, blen, false, vp);
}

static void vpci_cfg_write(struct pci_device *dev, u32 off, u32 len)
{
	struct vpci *vp = dev->priv;
	u32 boff, blen;

	if (pci_cfg_overlaps(off, len, vp->msix.cap + PCI_MSIX_FLAGS, 2)) {
		pthread_mutex_lock(&vp->lock);
		pci_msix_cfg_update(&vp->msix);
		/* With MSI-X on, the function must not use INTx. */
		pci_irq_set(dev, !vp->msix.enabled && vp->isr);
		pthread_mutex_unlock(&vp->lock);
	}
	if (pci_cfg_overlaps(off, len, vp->cfg_cap + VPCI_CFG_CAP_DATA, 4) &&
	    cfg_window(vp, &boff, &blen))
		vpci_bar_io(NULL, boff, dev->cfg + vp->cfg_cap + VPCI_CFG_CAP_DATA,
			    blen, true, vp);
}

/* Setup. */

static u32 class_of(u16 device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		return 0x018000;	/* mass storage, other */
	case VIRTIO_ID_NET:
		return 0x020000;	/* ethernet */
	case VIRTIO_ID_CONSOLE:
		return 0x078000;	/* communication, other */
	default:
		return 0x00ff00;	/* unclassified */
	}
}

static u8 add_vendor_cap(struct vpci *vp, u8 type, u8 cap_len, u32 off, u32 len)
{
	u8 c = pci_cap_add(&vp->pdev, PCI_CAP_ID_VNDR, cap_len);

	if (!c)
		return 0;
	vp->pdev.cfg[c + VIRTIO_PCI_CAP_LEN] = cap_len;
	vp->pdev.cfg[c + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	vp->pdev.cfg[c + VIRTIO_PCI_CAP_BAR] = VPCI_BAR;
	pci_cfg_set(&vp->pdev, c + VIRTIO_PCI_CAP_OFFSET, off, 4);
	pci_cfg_set(&vp->pdev, c + VIRTIO_PCI_CAP_LENGTH, len, 4);
	return c;
}

static int add_caps(struct vpci *vp)
{
	struct virtio_device *vdev = vp->vdev;
	u8 c;

	if (!add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_VNDR_CAP_LEN,
			    VPCI_COMMON_OFF, VPCI_COMMON_LEN))
		return -1;
	c = add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_CAP_LEN,
			   VPCI_NOTIFY_OFF, vdev->nr_queues * VPCI_NOTIFY_MULT);
	if (!c)
		return -1;
	pci_cfg_set(&vp->pdev, c + VIRTIO_PCI_NOTIFY_CAP_MULT, VPCI_NOTIFY_MULT, 4);
	if (!add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_VNDR_CAP_LEN, VPCI_ISR_OFF, 1))
		return -1;
	/* A device without config space has no DEVICE_CFG capability. */
	if (vdev->config_len &&
	    !add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_VNDR_CAP_LEN,
			    VPCI_DEVCFG_OFF, vdev->config_len))
		return -1;
	c = add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, VPCI_CFG_CAP_LEN, 0, 0);
	if (!c)
		return -1;
	vp->cfg_cap = c;
	vp->pdev.wmask[c + VIRTIO_PCI_CAP_BAR] = 0xff;
	pci_wmask_set(&vp->pdev, c + VIRTIO_PCI_CAP_OFFSET, 0xffffffff, 4);
	pci_wmask_set(&vp->pdev, c + VIRTIO_PCI_CAP_LENGTH, 0xffffffff, 4);
	pci_wmask_set(&vp->pdev, c + VPCI_CFG_CAP_DATA, 0xffffffff, 4);
	return 0;
}

static int vpci_attach(struct kvm *kvm, struct virtio_device *vdev)
{
	struct pci_bus *bus = pci_root_bus(kvm);
	const char *name = vdev->ops->name;
	u16 id = vdev->ops->device_id;
	unsigned int i, nr_vectors = vdev->nr_queues + 1;
	struct vpci *vp;
	int slot;

	if (!bus) {
		pr_err("virtio-%s: this machine has no PCI bus (try --virtio-transport mmio)",
		       name);
		return -1;
	}
	if (vdev->config_len > VPCI_REGION_SIZE ||
	    vdev->nr_queues * VPCI_NOTIFY_MULT > VPCI_REGION_SIZE ||
	    pci_msix_table_size(nr_vectors) > VPCI_REGION_SIZE) {
		pr_err("virtio-%s: too many queues or too much config space for virtio-pci",
		       name);
		return -1;
	}

	vp = xzalloc(sizeof(*vp));
	vp->vdev = vdev;
	vp->kvm = kvm;
	pthread_mutex_init(&vp->lock, NULL);
	vp->vectors = xzalloc(nr_vectors * sizeof(*vp->vectors));
	for (i = 0; i < nr_vectors; i++)
		virtio_msi_init(&vp->vectors[i]);
	vp->queue_vector = xzalloc(vdev->nr_queues * sizeof(*vp->queue_vector));
	for (i = 0; i < vdev->nr_queues; i++)
		vp->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	virtio_notify_alloc(&vp->notify, vdev->nr_queues);
	vdev->transport = vp;
	vdev->tops = &vpci_tops;

	pci_device_init(&vp->pdev, name, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + id,
			class_of(id), VIRTIO_PCI_REVISION);
	pci_set_subsystem(&vp->pdev, VIRTIO_PCI_VENDOR, id);
	pci_set_intx(&vp->pdev);
	vp->pdev.priv = vp;
	vp->pdev.cfg_read = vpci_cfg_read;
	vp->pdev.cfg_write = vpci_cfg_write;
	vp->pdev.bar_map = vpci_bar_map;
	if (pci_bar_init(&vp->pdev, VPCI_BAR, VPCI_BAR_SIZE, false, vpci_bar_io, vp) ||
	    pci_msix_init(&vp->msix, &vp->pdev, nr_vectors, VPCI_BAR, VPCI_MSIX_TABLE_OFF,
			  VPCI_MSIX_PBA_OFF, &vpci_msix_ops, vp) ||
	    add_caps(vp)) {
		pr_err("virtio-%s: cannot lay out the PCI function", name);
		vpci_detach(vdev);
		return -1;
	}
	slot = pci_bus_add(bus, &vp->pdev);
	if (slot < 0) {
		vpci_detach(vdev);
		return -1;
	}
	pr_debug("virtio-%s: PCI 00:%02x.0, BAR0 0x%llx, INTx GSI %d, %u MSI-X vectors",
		 name, slot, (unsigned long long)vp->pdev.bars[VPCI_BAR].range.start,
		 vp->pdev.gsi, nr_vectors);
	return 0;
}

/* The worker is stopped and the vCPUs are gone: undo vpci_attach(). */
static void vpci_detach(struct virtio_device *vdev)
{
	struct vpci *vp = vdev->transport;
	unsigned int i;

	if (!vp)
		return;
	/* Unmapping BAR0 also removes the notify ioeventfds (vpci_bar_map). */
	pci_bus_remove(&vp->pdev);
	for (i = 0; i < vp->msix.nr; i++)
		virtio_msi_exit(vp->kvm, &vp->vectors[i]);
	pci_msix_exit(&vp->msix);
	pthread_mutex_destroy(&vp->lock);
	free(vp->vectors);
	free(vp->queue_vector);
	virtio_notify_free(vp->kvm, &vp->notify);
	free(vp);
	vdev->transport = NULL;
}

virtio_transport_init(vpci, "pci");
