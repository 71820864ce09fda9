/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IOEVENTFD_H
#define LKVM_IOEVENTFD_H

#include <pthread.h>

#include "lkvm/util.h"

struct kvm;

/*
 * ioeventfds: a guest access to an address signals an eventfd.
 *
 * Write events use KVM_IOEVENTFD, so the guest's write never leaves the
 * kernel. When KVM refuses one (no capability, or a length it cannot
 * match), the registration still succeeds and the access exits to
 * userspace: the vCPU exit dispatch (kvm-cpu.c) calls ioeventfd_signal()
 * before the I/O bus, so both paths end in the same eventfd and devices
 * never see the access. Read events (IOEVENTFD_READ) are always served
 * there: no kernel offers them (the 2020 KVM_IOEVENTFD_FLAG_DATAREAD
 * proposal was never merged); ioeventfd_add() is the one place a kernel
 * mechanism would slot in.
 */
#define IOEVENTFD_PIO		(1U << 0)	/* port I/O, else MMIO */
#define IOEVENTFD_DATAMATCH	(1U << 1)	/* only when the value matches */
#define IOEVENTFD_READ		(1U << 2)	/* a read event (see below) */

struct ioevent {
	u64 addr;
	u32 len;
	u32 flags;
	u64 datamatch;		/* with IOEVENTFD_DATAMATCH */
	u64 read_value;		/* with IOEVENTFD_READ: what the guest reads */
	int fd;			/* the eventfd, owned by the caller */
	/* private */
	bool in_kernel;
	struct ioevent *next;
};

/* The VM's registered events (struct kvm owns one). */
struct ioevent_list {
	pthread_mutex_t lock;
	struct ioevent *head;
	/* Quick reject, over the events served from userspace only. */
	u64 lowest, highest;
};

void ioeventfd_init(struct ioevent_list *l);
int ioeventfd_add(struct kvm *kvm, struct ioevent *ev);
void ioeventfd_del(struct kvm *kvm, struct ioevent *ev);

/*
 * Called by the vCPU exit dispatch for every access that reached userspace.
 * Returns true when a registered event matched: the eventfd was signalled
 * and, for a read, @data holds the registered value.
 */
bool ioeventfd_signal(struct kvm *kvm, u64 addr, u8 *data, u32 len, bool is_write,
		      bool pio);

#endif
