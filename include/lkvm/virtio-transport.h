/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_TRANSPORT_H
#define LKVM_VIRTIO_TRANSPORT_H

#include "lkvm/ioeventfd.h"
#include "lkvm/util.h"

struct kvm;
struct virtio_device;

/*
 * What both virtio transports (virtio/pci.c, virtio/mmio.c) need from KVM,
 * in one place (virtio/transport.c): MSI vectors, queue notify ioeventfds
 * and the 32-bit halves of ring addresses. The transports keep their own
 * register layouts, masks and vector mappings.
 */

/*
 * One MSI vector's KVM side: a GSI routed to (addr, data) and an irqfd on
 * it, so raising the vector never leaves the kernel. Whenever the route is
 * missing or KVM refused the latest message, firing falls back to
 * KVM_SIGNAL_MSI with the message the driver gave last: slower, never stale.
 */
struct virtio_msi {
	u64 addr;
	u32 data;
	int gsi;		/* -1: no route yet */
	int fd;			/* eventfd of the irqfd, -1: none */
	bool irqfd;		/* @fd is attached to @gsi */
	bool route_ok;		/* KVM's route carries (addr, data) */
};

void virtio_msi_init(struct virtio_msi *v);
/* The driver programmed (@addr, @data): route it (allocating on first use). */
void virtio_msi_route(struct kvm *kvm, struct virtio_msi *v, u64 addr, u32 data,
		      u32 devid);
/* Raise the vector; -1 if even KVM_SIGNAL_MSI failed. */
int virtio_msi_fire(struct kvm *kvm, struct virtio_msi *v, u32 devid);
/* Detach the irqfd and close it; the GSI's route stays in the table. */
void virtio_msi_exit(struct kvm *kvm, struct virtio_msi *v);

/*
 * Per-queue notify ioeventfds: queue i's kick_fd at @base + i * @stride,
 * or, with @stride 0, all at @base matched on the queue index written.
 */
struct virtio_notify {
	struct ioevent *ev;	/* one per queue */
	bool *on;		/* ev[i] is registered */
	unsigned int nr;
};

void virtio_notify_alloc(struct virtio_notify *n, unsigned int nr);
/* Register all (@len 0: any width); -1 if one of them could not be. */
int virtio_notify_add(struct kvm *kvm, struct virtio_notify *n,
		      struct virtio_device *vdev, u64 base, u32 stride, u32 len);
/* Register again what virtio_notify_del() removed, at the same addresses. */
void virtio_notify_restore(struct kvm *kvm, struct virtio_notify *n);
void virtio_notify_del(struct kvm *kvm, struct virtio_notify *n);
void virtio_notify_free(struct kvm *kvm, struct virtio_notify *n);

/*
 * A register the driver sets for later accesses or a command (a selector,
 * part of an MSI message) and the transport keeps as written: at @off, @len
 * bytes wide (2 or 4), kept in the u16 or u32 at offset @field of the
 * transport's own state.
 */
struct virtio_latch {
	u32 off;
	u8 len;
	u16 field;
};

/*
 * Whether @off is one of the @n @latches; if so @val is kept when @len is
 * its width (another width writes nothing).
 */
bool virtio_latch_write(void *state, const struct virtio_latch *latches, unsigned int n,
			u32 off, u32 len, u32 val);

/* The low or the high 32 bits of a ring address. */
static inline u32 virtio_addr_half(u64 gpa, bool high)
{
	return high ? gpa >> 32 : (u32)gpa;
}

/* Set the low or the high 32 bits of a ring address. */
static inline void virtio_addr_set_half(u64 *gpa, bool high, u32 val)
{
	if (high)
		*gpa = (*gpa & 0xffffffffULL) | (u64)val << 32;
	else
		*gpa = (*gpa & ~0xffffffffULL) | val;
}

#endif
