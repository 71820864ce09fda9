/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test guest's virtio-mmio driver (vmmio.c): modern (Version 2)
 * devices from virtio 1.x section 4.2, plus the MSI and per-queue notify
 * extension of the 2020 "virtio-mmio enhancement" proposal as lkvm offers
 * it with --virtio-mmio-msi. The split rings are virtio.c's: each queue
 * is driven through its own struct vdev, of which only the vq is used.
 */
#ifndef LKVMTEST_VMMIO_H
#define LKVMTEST_VMMIO_H

#include "vpci.h"

/* Registers (4.2.2) */
#define VM_MAGIC		0x000
#define VM_VERSION		0x004
#define VM_DEVICE_ID		0x008
#define VM_VENDOR_ID		0x00c
#define VM_DEV_FEAT		0x010
#define VM_DEV_FEAT_SEL		0x014
#define VM_DRV_FEAT		0x020
#define VM_DRV_FEAT_SEL		0x024
#define VM_QUEUE_SEL		0x030
#define VM_QUEUE_NUM_MAX	0x034
#define VM_QUEUE_NUM		0x038
#define VM_QUEUE_READY		0x044
#define VM_QUEUE_NOTIFY		0x050
#define VM_INT_STATUS		0x060
#define VM_INT_ACK		0x064
#define VM_STATUS		0x070
#define VM_QUEUE_DESC_LO	0x080
#define VM_QUEUE_DESC_HI	0x084
#define VM_QUEUE_AVAIL_LO	0x090
#define VM_QUEUE_AVAIL_HI	0x094
#define VM_QUEUE_USED_LO	0x0a0
#define VM_QUEUE_USED_HI	0x0a4
#define VM_MSI_VEC_NUM		0x0c0
#define VM_MSI_STATE		0x0c4
#define VM_MSI_CMD		0x0c8
#define VM_MSI_VEC_SEL		0x0d0
#define VM_MSI_ADDR_LO		0x0d4
#define VM_MSI_ADDR_HI		0x0d8
#define VM_MSI_DATA		0x0dc
#define VM_CONFIG_GEN		0x0fc
#define VM_CONFIG		0x100

#define VM_MAGIC_VALUE		0x74726976	/* "virt" */
#define VM_INT_VRING		1
#define VM_INT_CONFIG		2

/* The extension (proposal numbering; today's spec uses 39/40 otherwise). */
#define VF_MMIO_NOTIFICATION	39
#define VF_MMIO_MSI		40
#define MSI_STATE_ENABLED	1
#define MSI_STATE_SHARING	2
#define MSI_CMD_ENABLE		1
#define MSI_CMD_DISABLE		2
#define MSI_CMD_CONFIGURE	3
#define MSI_CMD_MASK		4
#define MSI_CMD_UNMASK		5
#define MSI_CMD_MAP_CONFIG	6
#define MSI_CMD_MAP_QUEUE	7
#define MSI_NO_VECTOR		0xffffffffu

#define VBLK_F_MQ		12

#define MM_MAX_QUEUES		4	/* the balloon has 4 */

struct mmdev {
	u64 base;
	u64 size;
	u32 gsi;		/* from virtio_mmio.device=SIZE@ADDR:GSI */
	u32 id;
	u64 offered, features;
	u32 nq;			/* queues set up by mm_start() */
	struct vdev q[MM_MAX_QUEUES];	/* q[i].vq is queue i */
	u64 notify[MM_MAX_QUEUES];	/* where queue i is notified */
	u32 notify_val[MM_MAX_QUEUES];	/* and with what value */
};

u32 mm_rd(struct mmdev *d, u32 off);
void mm_wr(struct mmdev *d, u32 off, u32 v);

/*
 * The first device with id @id among the command line's
 * virtio_mmio.device= entries; prints what it found. False if none.
 */
bool mm_find(struct mmdev *d, u32 id, const char *cmdline);
/* Number of virtio_mmio.device= entries; each one's base/size/GSI. */
u32 mm_cmdline_devices(const char *cmdline, u64 *base, u64 *size, u32 *gsi,
		       u32 max);

bool mm_reset(struct mmdev *d);
/* The features the device offers (also kept in d->offered). */
u64 mm_offered(struct mmdev *d);
/* ACKNOWLEDGE, DRIVER, features (VERSION_1 | @want, if offered), FEATURES_OK. */
bool mm_negotiate(struct mmdev *d, u64 want);
/* Queue @q with @size entries (0: the device's, at most VQ_MAX); rings from @lay. */
bool mm_queue(struct mmdev *d, u32 q, u16 size, const struct vq_layout *lay);
bool mm_driver_ok(struct mmdev *d);
/* reset + negotiate + queues 0..@nq-1 + DRIVER_OK; notify through QueueNotify. */
bool mm_start(struct mmdev *d, u64 want, u32 nq);
/* Use the per-queue notify addresses QueueNotify announces; false if none. */
bool mm_use_queue_notify(struct mmdev *d);

u16 mm_add(struct mmdev *d, u32 q, const struct vseg *seg, u32 nseg);
void mm_kick(struct mmdev *d, u32 q);
/* Next used entry of queue @q within @ms; VQ_BROKEN on NEEDS_RESET. */
enum vq_wait_result mm_wait(struct mmdev *d, u32 q, u32 ms, u32 *id, u32 *len);
/* A used entry already there? (no waiting, no register access) */
bool mm_used_ready(struct mmdev *d, u32 q);

/* MSI: CONFIGURE vector @vec to send @vector to APIC 0; any command. */
void mm_msi_configure(struct mmdev *d, u32 vec, u32 vector);
void mm_msi_cmd(struct mmdev *d, u32 cmd, u32 sel);

/* vbench.c */
void bench_action(const char *act, const struct acpi_info *ai,
		  const char *cmdline);

#endif
