// SPDX-License-Identifier: GPL-2.0
/* GSI routing, MSI routes, irqfds and wired line allocation. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/irq.h"
#include "lkvm/kvm.h"

#define MAX_ROUTES	1024

static void routing_init(struct kvm *kvm)
{
	if (kvm->irq_routing)
		return;
	kvm->irq_routing = xzalloc(sizeof(*kvm->irq_routing) +
				   MAX_ROUTES * sizeof(kvm->irq_routing->entries[0]));
	irq_arch_default_routes(kvm);
}

void irq_add_irqchip_route(struct kvm *kvm, u32 gsi, u32 irqchip, u32 pin)
{
	struct kvm_irq_routing *r = kvm->irq_routing;
	struct kvm_irq_routing_entry *e;

	if (r->nr >= MAX_ROUTES)
		return;
	e = &r->entries[r->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = irqchip;
	e->u.irqchip.pin = pin;
	if (gsi >= kvm->next_gsi)
		kvm->next_gsi = gsi + 1;
}

static int commit(struct kvm *kvm)
{
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, kvm->irq_routing) < 0) {
		pr_err("KVM_SET_GSI_ROUTING: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void fill_msi(struct kvm_irq_routing_entry *e, u64 addr, u32 data, u32 devid)
{
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (u32)addr;
	e->u.msi.address_hi = (u32)(addr >> 32);
	e->u.msi.data = data;
	e->flags = 0;
	e->u.msi.devid = 0;
#ifdef KVM_MSI_VALID_DEVID
	if (devid && irq_arch_msi_needs_devid()) {
		e->flags = KVM_MSI_VALID_DEVID;
		e->u.msi.devid = devid;
	}
#else
	(void)devid;
#endif
}

int irq_msi_route_alloc(struct kvm *kvm, u64 addr, u32 data, u32 devid)
{
	struct kvm_irq_routing_entry *e;
	int gsi = -1;

	pthread_mutex_lock(&kvm->irq_lock);
	routing_init(kvm);
	if (kvm->irq_routing->nr < MAX_ROUTES) {
		e = &kvm->irq_routing->entries[kvm->irq_routing->nr++];
		memset(e, 0, sizeof(*e));
		e->gsi = kvm->next_gsi++;
		fill_msi(e, addr, data, devid);
		if (commit(kvm) == 0) {
			gsi = e->gsi;
		} else {
			kvm->irq_routing->nr--;
			kvm->next_gsi--;
		}
	}
	pthread_mutex_unlock(&kvm->irq_lock);
	return gsi;
}

int irq_msi_route_update(struct kvm *kvm, int gsi, u64 addr, u32 data, u32 devid)
{
	struct kvm_irq_routing_entry *e;
	int ret = -1;
	u32 i;

	pthread_mutex_lock(&kvm->irq_lock);
	routing_init(kvm);
	for (i = 0; i < kvm->irq_routing->nr; i++) {
		e = &kvm->irq_routing->entries[i];
		if ((int)e->gsi == gsi && e->type == KVM_IRQ_ROUTING_MSI) {
			fill_msi(e, addr, data, devid);
			ret = commit(kvm);
			break;
		}
	}
	pthread_mutex_unlock(&kvm->irq_lock);
	return ret;
}

int irq_irqfd_add(struct kvm *kvm, int gsi, int fd)
{
	struct kvm_irqfd f = { .fd = fd, .gsi = gsi };

	if (ioctl(kvm->vm_fd, KVM_IRQFD, &f) < 0) {
		pr_err("KVM_IRQFD (gsi %d): %s", gsi, strerror(errno));
		return -1;
	}
	return 0;
}

int irq_irqfd_add_resample(struct kvm *kvm, int gsi, int fd, int resamplefd)
{
	struct kvm_irqfd f = {
		.fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_RESAMPLE,
		.resamplefd = resamplefd,
	};

	if (!kvm->caps.irqfd_resample)
		return -1;
	if (ioctl(kvm->vm_fd, KVM_IRQFD, &f) < 0) {
		pr_debug("KVM_IRQFD with resample (gsi %d): %s", gsi, strerror(errno));
		return -1;
	}
	return 0;
}

int irq_irqfd_del(struct kvm *kvm, int gsi, int fd)
{
	struct kvm_irqfd f = { .fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };

	return ioctl(kvm->vm_fd, KVM_IRQFD, &f) < 0 ? -1 : 0;
}

int irq_signal_msi(struct kvm *kvm, u64 addr, u32 data, u32 devid)
{
	struct kvm_msi msi = {
		.address_lo = (u32)addr, .address_hi = (u32)(addr >> 32), .data = data,
	};

	if (devid && irq_arch_msi_needs_devid()) {
		msi.flags = KVM_MSI_VALID_DEVID;
		msi.devid = devid;
	}
	return ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}
