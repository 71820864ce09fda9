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

static struct pci_bus root;
static bool root_ready;

struct pci_bus *pci_root_bus(struct kvm *kvm __unused)
{
	return root_ready ? &root : NULL;
}

static void ecam_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		    bool is_write, void *ctx __unused)
{
	pci_ecam_io(&root, off, data, len, is_write);
}

static void set_irq(void *ctx, unsigned int gsi, bool level)
{
	kvm__irq_line(ctx, gsi, level);
}

static struct io_range ecam_range = {
	.start = ARM_PCI_ECAM_BASE, .len = ARM_PCI_ECAM_SIZE, .fn = ecam_io,
	.name = "pci-ecam",
};

static int arm_pci_init(struct kvm *kvm)
{
	/* Without PCI devices the guest need not probe an empty bus. */
	if (!kvm->cfg.virtio_transport || strcmp(kvm->cfg.virtio_transport, "pci"))
		return 0;
	pci_bus_init(&root, &kvm->mmio_bus, ARM_PCI_MMIO_BASE, ARM_PCI_MMIO_SIZE);
	root.intx_base = ARM_SPI_PCI_INTX;
	root.intx_count = ARM_SPI_PCI_INTX_NR;
	root.set_irq = set_irq;
	root.irq_ctx = kvm;
	if (iobus_register(&kvm->mmio_bus, &ecam_range))
		return -1;
	root_ready = true;
	return 0;
}

static void arm_pci_exit(struct kvm *kvm)
{
	if (!root_ready)
		return;
	root_ready = false;
	pci_bus_exit(&root);
	iobus_unregister(&kvm->mmio_bus, &ecam_range);
}
dev_init(arm_pci_init, arm_pci_exit);
