// SPDX-License-Identifier: GPL-2.0
/* x86 interrupt lines: the PIC and IOAPIC routes, and free IOAPIC pins. */
#include <linux/kvm.h>

#include "lkvm/irq.h"
#include "lkvm/kvm.h"

#define IOAPIC_PINS	24

void irq_arch_default_routes(struct kvm *kvm)
{
	u32 i;

	/* The routes KVM sets up by default, which a new table replaces. */
	for (i = 0; i < 16; i++) {
		if (i != 2)
			irq_add_irqchip_route(kvm, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER :
					      KVM_IRQCHIP_PIC_SLAVE, i % 8);
	}
	for (i = 0; i < IOAPIC_PINS; i++)
		irq_add_irqchip_route(kvm, i, KVM_IRQCHIP_IOAPIC, i);
}

bool irq_arch_msi_needs_devid(struct kvm *kvm __unused)
{
	return false;
}

/*
 * Wired lines for devices that aren't behind PCI (virtio-mmio): IOAPIC
 * pins 16-23. Pins below 16 are ISA interrupts, which a guest that finds a
 * device on its command line (no ACPI description) would program as edge
 * triggered; above 15 its default is level, which virtio's interrupt
 * status needs. With more than 8 devices, lines are shared (virtio-mmio
 * drivers request shared interrupts). PCI INTx uses the same pins, but a
 * VM has either PCI or MMIO virtio devices.
 */
int irq_alloc_line(struct kvm *kvm)
{
	int irq;

	pthread_mutex_lock(&kvm->irq_lock);
	irq = 16 + kvm->next_line_irq++ % (IOAPIC_PINS - 16);
	pthread_mutex_unlock(&kvm->irq_lock);
	return irq;
}
