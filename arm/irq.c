// SPDX-License-Identifier: GPL-2.0
/* arm64 interrupt lines: SPIs routed 1:1 to GSIs, and the ITS's device IDs. */
#include <linux/kvm.h>

#include "lkvm/irq.h"
#include "lkvm/kvm.h"

void irq_arch_default_routes(struct kvm *kvm)
{
	u32 i;

	/* What the VGIC sets up by itself, which a new table replaces. */
	for (i = 0; i < ARM_NR_SPIS; i++)
		irq_add_irqchip_route(kvm, i, 0, i);
}

bool irq_arch_msi_needs_devid(struct kvm *kvm)
{
	/* The ITS tells devices apart by the ID their MSIs carry. */
	return kvm->arch.vm.gic == ARM_GIC_V3_ITS;
}

/*
 * SPIs for devices such as virtio-mmio. The number of SPIs is fixed before
 * the VGIC is initialised, so past the last one lines are shared
 * (virtio-mmio drivers request shared interrupts).
 */
int irq_alloc_line(struct kvm *kvm)
{
	int irq;

	pthread_mutex_lock(&kvm->irq_lock);
	irq = ARM_SPI_DYNAMIC + kvm->next_line_irq++ % (ARM_NR_SPIS - ARM_SPI_DYNAMIC);
	pthread_mutex_unlock(&kvm->irq_lock);
	return irq;
}
