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

bool irq_arch_msi_needs_devid(void)
{
	return false;
}

/*
 * Wired lines for devices that aren't behind PCI (virtio-mmio): IOAPIC
 * pins 5-7 and 9-15 are not used by the legacy platform (timer 0/2,
 * keyboard 1, serial 3/4, RTC 8). PCI INTx uses pins 16-23.
 */
int irq_alloc_line(struct kvm *kvm)
{
	static const u8 free_pins[] = { 5, 6, 7, 9, 10, 11, 12, 13, 14, 15 };
	int irq = -1;

	pthread_mutex_lock(&kvm->irq_lock);
	if (kvm->next_line_irq < ARRAY_SIZE(free_pins))
		irq = free_pins[kvm->next_line_irq++];
	pthread_mutex_unlock(&kvm->irq_lock);
	return irq;
}
