/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_MMIO_H
#define LKVM_VIRTIO_MMIO_H

#include "lkvm/util.h"

/*
 * The virtio-mmio transport (virtio 1.x section 4.2, register layout
 * version 2) with the 2020 "virtio-mmio enhancement" proposal's MSI and
 * per-queue notify extension (off unless --virtio-mmio-msi).
 */
#define VIRTIO_MMIO_SIZE		0x1000	/* registers, config, notify window */

#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW	0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_MSI_VEC_NUM		0x0c0
#define VIRTIO_MMIO_MSI_STATE		0x0c4
#define VIRTIO_MMIO_MSI_CMD		0x0c8
#define VIRTIO_MMIO_MSI_VEC_SEL		0x0d0
#define VIRTIO_MMIO_MSI_ADDR_LOW	0x0d4
#define VIRTIO_MMIO_MSI_ADDR_HIGH	0x0d8
#define VIRTIO_MMIO_MSI_DATA		0x0dc
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100
#define VIRTIO_MMIO_NOTIFY_BASE		0x800	/* queue i: + i * multiplier */
#define VIRTIO_MMIO_NOTIFY_MULTIPLIER	4

#define VIRTIO_MMIO_MAGIC		0x74726976	/* "virt" */
#define VIRTIO_MMIO_VENDOR		0x4d564b4c	/* "LKVM" */
#define VIRTIO_MMIO_INT_VRING		(1 << 0)
#define VIRTIO_MMIO_INT_CONFIG		(1 << 1)

/* The proposal's feature bits: today's spec gives 39/40 other meanings. */
#define VIRTIO_F_MMIO_NOTIFICATION	39
#define VIRTIO_F_MMIO_MSI		40

#define VIRTIO_MMIO_MSI_STATE_ENABLED	(1 << 0)
#define VIRTIO_MMIO_MSI_STATE_SHARING	(1 << 1)
#define VIRTIO_MMIO_MSI_CMD_ENABLE	1
#define VIRTIO_MMIO_MSI_CMD_DISABLE	2
#define VIRTIO_MMIO_MSI_CMD_CONFIGURE	3
#define VIRTIO_MMIO_MSI_CMD_MASK	4
#define VIRTIO_MMIO_MSI_CMD_UNMASK	5
#define VIRTIO_MMIO_MSI_CMD_MAP_CONFIG	6
#define VIRTIO_MMIO_MSI_CMD_MAP_QUEUE	7
#define VIRTIO_MMIO_MSI_NO_VECTOR	0xffffffffU

/* One device as the firmware tables and command line describe it. */
struct virtio_mmio_info {
	u64 base;
	u64 size;
	u32 irq;		/* GSI (x86) or SPI (arm64) */
	u16 device_id;
	bool msi;		/* offers the MSI extension */
	u32 msi_devid;		/* its MSIs' device ID (an arm64 ITS needs one) */
};

/* MSI device IDs of virtio-mmio devices: above bus 0's PCI requester IDs. */
#define VIRTIO_MMIO_MSI_DEVID_BASE	0x1000

/* Call @fn for every virtio-mmio device, in creation order. */
struct kvm;
void virtio_mmio_for_each(struct kvm *kvm,
			  void (*fn)(const struct virtio_mmio_info *info, void *ctx),
			  void *ctx);

#endif
