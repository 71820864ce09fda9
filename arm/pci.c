// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 PCI platform: bus 0 behind an ECAM window, INTx on four SPIs,
 * MSI-X through the ITS. Only present with --virtio-transport pci; the
 * device tree node is written by arm/fdt.c.
 */
#include <string.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"

static int arm_pci_init(struct kvm *kvm)
{
	static const struct pci_root_layout layout = {
		.win_start = ARM_PCI_MMIO_BASE, .win_size = ARM_PCI_MMIO_SIZE,
		.ecam_start = ARM_PCI_ECAM_BASE, .ecam_size = ARM_PCI_ECAM_SIZE,
		.intx_base = ARM_SPI_PCI_INTX, .intx_count = ARM_SPI_PCI_INTX_NR,
	};

	/* Without PCI devices the guest need not probe an empty bus. */
	if (!kvm->cfg.virtio_transport || strcmp(kvm->cfg.virtio_transport, "pci"))
		return 0;
	return pci_root_init(kvm, &layout);
}

static void arm_pci_exit(struct kvm *kvm)
{
	pci_root_exit(kvm);
}
dev_init(arm_pci_init, arm_pci_exit);
