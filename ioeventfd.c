// SPDX-License-Identifier: GPL-2.0
/* ioeventfds: in KVM where it can, from the exit path otherwise. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "lkvm/ioeventfd.h"
#include "lkvm/kvm.h"

void ioeventfd_init(struct ioevent_list *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->head = NULL;
	l->lowest = ~0ULL;
	l->highest = 0;
}

/* The bounds of the userspace events left, after a removal (lock held). */
static void bounds_update(struct ioevent_list *l)
{
	struct ioevent *ev;

	l->lowest = ~0ULL;
	l->highest = 0;
	for (ev = l->head; ev; ev = ev->next) {
		if (ev->in_kernel)
			continue;
		l->lowest = min(l->lowest, ev->addr);
		l->highest = max(l->highest, ev->addr + (ev->len ? ev->len : 1) - 1);
	}
}

static bool kvm_assign(struct kvm *kvm, struct ioevent *ev, bool deassign)
{
	struct kvm_ioeventfd k = {
		.datamatch = ev->datamatch,
		.addr = ev->addr,
		.len = ev->len,
		.fd = ev->fd,
	};

	if (ev->flags & IOEVENTFD_PIO)
		k.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (ev->flags & IOEVENTFD_DATAMATCH)
		k.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (deassign)
		k.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &k) == 0;
}

int ioeventfd_add(struct kvm *kvm, struct ioevent *ev)
{
	if (ev->fd < 0 || (ev->len != 0 && ev->len != 1 && ev->len != 2 &&
			   ev->len != 4 && ev->len != 8))
		return -1;
	/*
	 * The one place a kernel mechanism for read events would go: today
	 * no KVM has one, so reads are always served from the exit path.
	 */
	ev->in_kernel = false;
	if (!(ev->flags & IOEVENTFD_READ) && kvm->caps.ioeventfd &&
	    (ev->len || kvm->caps.ioeventfd_any_length))
		ev->in_kernel = kvm_assign(kvm, ev, false);
	if (!ev->in_kernel)
		pr_debug("ioeventfd at 0x%llx served from userspace",
			 (unsigned long long)ev->addr);

	pthread_mutex_lock(&kvm->ioevents.lock);
	ev->next = kvm->ioevents.head;
	kvm->ioevents.head = ev;
	if (!ev->in_kernel)
		bounds_update(&kvm->ioevents);
	pthread_mutex_unlock(&kvm->ioevents.lock);
	return 0;
}

void ioeventfd_del(struct kvm *kvm, struct ioevent *ev)
{
	struct ioevent **p;

	pthread_mutex_lock(&kvm->ioevents.lock);
	for (p = &kvm->ioevents.head; *p; p = &(*p)->next) {
		if (*p == ev) {
			*p = ev->next;
			break;
		}
	}
	if (!ev->in_kernel)
		bounds_update(&kvm->ioevents);
	pthread_mutex_unlock(&kvm->ioevents.lock);
	if (ev->in_kernel)
		kvm_assign(kvm, ev, true);
	ev->in_kernel = false;
}

bool ioeventfd_signal(struct kvm *kvm, u64 addr, u8 *data, u32 len, bool is_write,
		      bool pio)
{
	struct ioevent *ev;
	bool hit = false;
	u32 i;

	pthread_mutex_lock(&kvm->ioevents.lock);
	if (addr > kvm->ioevents.highest || addr + len - 1 < kvm->ioevents.lowest) {
		pthread_mutex_unlock(&kvm->ioevents.lock);
		return false;
	}
	for (ev = kvm->ioevents.head; ev; ev = ev->next) {
		if (ev->in_kernel || ev->addr != addr || !!(ev->flags & IOEVENTFD_PIO) != pio)
			continue;
		if (ev->len && ev->len != len)
			continue;
		if (!!(ev->flags & IOEVENTFD_READ) == is_write)
			continue;
		if (is_write && (ev->flags & IOEVENTFD_DATAMATCH) &&
		    get_le(data, len) != ev->datamatch)
			continue;
		if (!is_write)
			for (i = 0; i < len; i++)
				data[i] = ev->read_value >> (8 * i);
		eventfd_write(ev->fd, 1);
		hit = true;
		break;
	}
	pthread_mutex_unlock(&kvm->ioevents.lock);
	return hit;
}
