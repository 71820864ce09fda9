/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test guest's PCI bus walk and its minimal virtio-pci driver
 * (virtio 1.x, section 4.1 for the transport, 2.7 for split rings).
 */
#ifndef LKVMTEST_VPCI_H
#define LKVMTEST_VPCI_H

#include "guest.h"

/* ---- PCI (pci.c) */

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_CMD_MEM		0x0002
#define  PCI_CMD_MASTER		0x0004
#define  PCI_CMD_INTX_OFF	0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAPS	0x0010
#define  PCI_STATUS_INTX	0x0008
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_INT_LINE		0x3c
#define PCI_INT_PIN		0x3d

#define PCI_CAP_MSIX		0x11
#define PCI_CAP_VENDOR		0x09

#define PCI_BDF(bus, dev, fn)	((u32)(bus) << 8 | (u32)(dev) << 3 | (u32)(fn))

/* Where the guest places BARs the VMM left unassigned. */
#define PCI_WIN_START		0xc0000000ULL
#define PCI_WIN_END		0xfec00000ULL

struct pci_dev {
	u32 bdf;
	u16 vendor, device;
	u64 bar[6];		/* decoded base (0: none or unassigned) */
	u64 bar_size[6];	/* filled in by pci_bar_size() */
	bool bar_is64[6], bar_isio[6];
};

/* Where pci_bar_ensure() starts looking (default PCI_WIN_START). */
extern u64 pci_alloc_from;

/* First function on bus 0 with this vendor/device; false if none. */
bool pci_find(u16 vendor, u16 device, struct pci_dev *pd);
/* Decode the BARs of @pd from config space. */
void pci_read_bars(struct pci_dev *pd);
/*
 * Make memory BAR @n usable below 4 GiB: keep the VMM's placement when it
 * has one, else size it and put it at a free spot of the window. Returns
 * the base, 0 on failure.
 */
u64 pci_bar_ensure(struct pci_dev *pd, unsigned int n,
		   const struct acpi_info *ai);
/* Capability offset with ID @id after @from (0: the first), 0 if none. */
u8 pci_cap_next(u32 bdf, u8 id, u8 from);

/* ---- virtio-pci (virtio.c) */

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_PCI_DEV(id)	(0x1040 + (id))
#define VIRTIO_ID_BLK		2
#define VIRTIO_ID_RNG		4

/* Device status */
#define VS_ACKNOWLEDGE		0x01
#define VS_DRIVER		0x02
#define VS_DRIVER_OK		0x04
#define VS_FEATURES_OK		0x08
#define VS_NEEDS_RESET		0x40
#define VS_FAILED		0x80

/* Feature bits */
#define VF_INDIRECT_DESC	28
#define VF_EVENT_IDX		29
#define VF_VERSION_1		32
#define VF_ACCESS_PLATFORM	33
#define VF_RING_PACKED		34
#define VBLK_F_SIZE_MAX		1
#define VBLK_F_SEG_MAX		2
#define VBLK_F_RO		5
#define VBLK_F_BLK_SIZE		6
#define VBLK_F_FLUSH		9
#define BIT(n)			(1ULL << (n))

/* Vendor capability cfg_type */
#define VCAP_COMMON		1
#define VCAP_NOTIFY		2
#define VCAP_ISR		3
#define VCAP_DEVICE		4

/* Common configuration structure offsets */
#define VC_DFSELECT		0x00
#define VC_DF			0x04
#define VC_GFSELECT		0x08
#define VC_GF			0x0c
#define VC_MSIX_CONFIG		0x10
#define VC_NUM_QUEUES		0x12
#define VC_STATUS		0x14
#define VC_CFG_GEN		0x15
#define VC_Q_SELECT		0x16
#define VC_Q_SIZE		0x18
#define VC_Q_MSIX		0x1a
#define VC_Q_ENABLE		0x1c
#define VC_Q_NOTIFY_OFF		0x1e
#define VC_Q_DESC		0x20
#define VC_Q_DRIVER		0x28
#define VC_Q_DEVICE		0x30

#define VIRTIO_NO_VECTOR	0xffff

/* Split ring layout (2.7) */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct vring_avail {
	u16 flags;
	u16 idx;
	u16 ring[];		/* then used_event */
};

struct vring_used_elem {
	u32 id;
	u32 len;
};

struct vring_used {
	u16 flags;
	u16 idx;
	struct vring_used_elem ring[];	/* then avail_event */
};

#define VQ_MAX			64	/* the largest ring this driver sets up */

struct vq {
	u16 size;
	u16 notify_off;
	u64 notify_addr;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	u16 avail_idx;		/* what we published last */
	u16 used_idx;		/* next used entry we will look at */
	u16 next_desc;		/* descriptors are handed out round-robin */
};

struct vdev {
	struct pci_dev pci;
	u16 id;
	u64 common, notify, isr, devcfg;
	u32 notify_mult, devcfg_len;
	u8 msix_cap;
	u16 msix_nr;
	u64 msix_table, msix_pba;
	u8 irq_line, irq_pin;
	u16 num_queues;
	u64 offered, features;
	struct vq vq;
};

/* Ring addresses for vq_setup(); zero fields mean "the driver's own". */
struct vq_layout {
	u64 desc, avail, used;
};

/* Ring memory: descriptors, then the driver area, then the device area. */
#define RING_AREA		8192
#define RING_AVAIL_OFF		1024
#define RING_USED_OFF		4096

/*
 * Lay queue @q out, empty, in @mem (RING_AREA bytes): @size entries (0:
 * @max), at most VQ_MAX. Returns the ring addresses to give the device:
 * @mem's, or @lay's where set (the driver keeps using @mem's).
 */
struct vq_layout vq_place(struct vq *q, u8 *mem, u16 size, u32 max,
			  const struct vq_layout *lay);

void common_w8(struct vdev *d, u32 off, u8 v);
void common_w16(struct vdev *d, u32 off, u16 v);
void common_w32(struct vdev *d, u32 off, u32 v);
u8 common_r8(struct vdev *d, u32 off);
u16 common_r16(struct vdev *d, u32 off);
u32 common_r32(struct vdev *d, u32 off);

/* Where a transport has its status and feature registers. */
struct vfeat_regs {
	u64 status;
	bool status8;		/* 8 bits wide (PCI), else 32 (MMIO) */
	u64 dev_sel, dev_feat;	/* the device's features, 32 at a time */
	u64 drv_sel, drv_feat;	/* the driver's */
};

/* The features the device offers. */
u64 virtio_offered(const struct vfeat_regs *r);
/*
 * ACKNOWLEDGE, DRIVER, features (VERSION_1 | @want, where offered),
 * FEATURES_OK, which must stick (3.1.1); @err starts the error lines.
 */
bool virtio_negotiate(const struct vfeat_regs *r, u64 want, u64 *offered,
		      u64 *features, const char *err);

bool vpci_find(struct vdev *d, u16 id, const struct acpi_info *ai);
u8 vdev_status(struct vdev *d);
bool vdev_reset(struct vdev *d);
/* ACKNOWLEDGE, DRIVER, features (VERSION_1 | @want), FEATURES_OK. */
bool vdev_negotiate(struct vdev *d, u64 want);
/*
 * Queue 0: @size entries (0: the device's size, at most VQ_MAX), MSI-X
 * vector @vec, rings from @lay (NULL: the driver's). Returns false when
 * the device refused (reason printed).
 */
bool vq_setup(struct vdev *d, u16 size, u16 vec, const struct vq_layout *lay);
bool vdev_driver_ok(struct vdev *d);
/* reset + negotiate + vq_setup + DRIVER_OK with the defaults. */
bool vdev_start(struct vdev *d, u64 want, u16 cfg_vec, u16 q_vec);

/* One buffer of a chain. */
struct vseg {
	u64 addr;
	u32 len;
	bool write;		/* device-writable */
};

/*
 * Put a chain on the ring (in descriptors, or in an indirect table of
 * @nseg entries when @indirect) and publish it; no notification.
 */
u16 vq_add(struct vdev *d, const struct vseg *seg, u32 nseg, bool indirect);
/* Publish descriptor @head (already written by the caller). */
void vq_publish(struct vdev *d, u16 head);
void vq_kick(struct vdev *d);

enum vq_wait_result { VQ_DONE, VQ_BROKEN, VQ_TIMEOUT };
/* A used entry already there? (no waiting, no register access) */
bool vq_used_ready(const struct vq *q);
/*
 * Wait up to @ms for the next used entry of @q; VQ_BROKEN when
 * @broken(@ctx) (asked now and then) says the device set NEEDS_RESET.
 */
enum vq_wait_result vq_poll(struct vq *q, u32 ms, u32 *id, u32 *len,
			    bool (*broken)(void *ctx), void *ctx);
/* vq_poll() on the virtio-pci device's queue 0. */
enum vq_wait_result vq_wait(struct vdev *d, u32 ms, u32 *id, u32 *len);
/* "done", "needs-reset", "timeout" */
const char *vq_wait_text(enum vq_wait_result r);

/* MSI-X: enable the capability and program entry @v to send @vector. */
void msix_enable(struct vdev *d, bool on);
void msix_set(struct vdev *d, u16 v, u8 vector, bool masked);
void msix_mask(struct vdev *d, u16 v, bool masked);
bool msix_pending(struct vdev *d, u16 v);

/* virtio-blk requests (5.2.6): header, data, status byte */
#define VBLK_T_IN		0
#define VBLK_T_OUT		1
#define VBLK_T_FLUSH		4
#define VBLK_S_OK		0
#define VBLK_S_IOERR		1
#define VBLK_S_UNSUPP		2
#define SECTOR			512

struct blk_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

/* Does @buf hold the original bytes of @sector of run.sh's test image? */
bool disk_pattern_ok(const u8 *buf, u64 sector);
/*
 * Fill @want bytes from a virtio-rng, which may return fewer per request:
 * @req(@ctx) posts one device-writable buffer and gives its used length.
 */
bool rng_fill(bool (*req)(void *ctx, u8 *buf, u32 len, u32 *used), void *ctx,
	      u8 *buf, u32 want);
bool all_zero(const u8 *p, u32 n);

/* vflood.c: the virtio-pci-blk-flood action (a case of vtest.c's table). */
void case_blk_flood(const struct acpi_info *ai);

u8 dcfg_read8(struct vdev *d, u32 off);
u32 dcfg_read32(struct vdev *d, u32 off);
u64 dcfg_read64(struct vdev *d, u32 off);

#endif
