// SPDX-License-Identifier: GPL-2.0
/*
 * KVM plumbing shared by the virtio transports: MSI vectors as routes fed
 * by irqfds (with the KVM_SIGNAL_MSI fallback) and queue notify ioeventfds.
 * Callers serialise access to each object with their own locks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/irq.h"
#include "lkvm/virtio-transport.h"
#include "lkvm/virtio.h"

void virtio_msi_init(struct virtio_msi *v)
{
	memset(v, 0, sizeof(*v));
	v->gsi = v->fd = -1;
}

void virtio_msi_route(struct kvm *kvm, struct virtio_msi *v, u64 addr, u32 data,
		      u32 devid)
{
	if (v->gsi >= 0 && v->route_ok && v->addr == addr && v->data == data)
		return;
	v->addr = addr;
	v->data = data;
	if (v->gsi >= 0) {
		/* A refused update leaves KVM's old message: fire() must not use it. */
		v->route_ok = !irq_msi_route_update(kvm, v->gsi, addr, data, devid);
		return;
	}
	v->gsi = irq_msi_route_alloc(kvm, addr, data, devid);
	v->route_ok = v->gsi >= 0;
	if (!v->route_ok)
		return;
	if (v->fd < 0)
		v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->irqfd = v->fd >= 0 && !irq_irqfd_add(kvm, v->gsi, v->fd);
}

int virtio_msi_fire(struct kvm *kvm, struct virtio_msi *v, u32 devid)
{
	if (v->irqfd && v->route_ok && eventfd_write(v->fd, 1) == 0)
		return 0;
	return irq_signal_msi(kvm, v->addr, v->data, devid);
}

void virtio_msi_exit(struct kvm *kvm, struct virtio_msi *v)
{
	if (v->irqfd)
		irq_irqfd_del(kvm, v->gsi, v->fd);
	if (v->fd >= 0)
		close(v->fd);
	v->irqfd = false;
	v->fd = -1;
}

void virtio_notify_alloc(struct virtio_notify *n, unsigned int nr)
{
	n->ev = xzalloc(nr * sizeof(*n->ev));
	n->on = xzalloc(nr * sizeof(*n->on));
	n->nr = nr;
}

int virtio_notify_add(struct kvm *kvm, struct virtio_notify *n,
		      struct virtio_device *vdev, u64 base, u32 stride, u32 len)
{
	unsigned int i;
	int ret = 0;

	virtio_notify_del(kvm, n);
	for (i = 0; i < n->nr; i++) {
		n->ev[i] = (struct ioevent){
			.addr = base + (u64)i * stride, .len = len,
			.flags = stride ? 0 : IOEVENTFD_DATAMATCH, .datamatch = i,
			.fd = vdev->vqs[i].kick_fd,
		};
		n->on[i] = !ioeventfd_add(kvm, &n->ev[i]);
		if (!n->on[i])
			ret = -1;
	}
	return ret;
}

void virtio_notify_restore(struct kvm *kvm, struct virtio_notify *n)
{
	unsigned int i;

	for (i = 0; i < n->nr; i++)
		if (!n->on[i])
			n->on[i] = !ioeventfd_add(kvm, &n->ev[i]);
}

void virtio_notify_del(struct kvm *kvm, struct virtio_notify *n)
{
	unsigned int i;

	for (i = 0; i < n->nr; i++) {
		if (n->on[i])
			ioeventfd_del(kvm, &n->ev[i]);
		n->on[i] = false;
	}
}

void virtio_notify_free(struct kvm *kvm, struct virtio_notify *n)
{
	if (n->on)
		virtio_notify_del(kvm, n);
	free(n->ev);
	free(n->on);
	n->ev = NULL;
	n->on = NULL;
	n->nr = 0;
}

bool virtio_latch_write(void *state, const struct virtio_latch *latches, unsigned int n,
			u32 off, u32 len, u32 val)
{
	const struct virtio_latch *l;

	for (l = latches; l < latches + n; l++) {
		u8 *p = (u8 *)state + l->field;

		if (l->off != off)
			continue;
		if (len == 2 && l->len == 2)
			*(u16 *)p = val;
		else if (len == 4 && l->len == 4)
			*(u32 *)p = val;
		return true;
	}
	return false;
}
