// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's root PCI bus (bus 0), behind an ECAM window, with INTx on the
 * interrupt controller's lines: one per VM (kvm->pci_root). The arch picks
 * the windows and lines (x86/pci-acpi.c, arm/pci.c) and adds what only it
 * has (x86's 0xcf8 ports).
 */
#include <stdlib.h>

#include "lkvm/kvm.h"
#include "lkvm/pci.h"

struct pci_root {
	struct pci_bus bus;
	struct io_range ecam;
};

struct pci_bus *pci_root_bus(struct kvm *kvm)
{
	return kvm->pci_root ? &kvm->pci_root->bus : NULL;
}

static void ecam_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		    bool is_write, void *ctx)
{
	pci_ecam_io(ctx, off, data, len, is_write);
}

static void set_irq(void *ctx, unsigned int gsi, bool level)
{
	kvm__irq_line(ctx, gsi, level);
}

int pci_root_init(struct kvm *kvm, const struct pci_root_layout *l)
{
	struct pci_root *root = xzalloc(sizeof(*root));

	pci_bus_init(&root->bus, &kvm->mmio_bus, l->win_start, l->win_size);
	root->bus.intx_base = l->intx_base;
	root->bus.intx_count = l->intx_count;
	root->bus.set_irq = set_irq;
	root->bus.irq_ctx = kvm;
	root->ecam = (struct io_range){
		.start = l->ecam_start, .len = l->ecam_size, .fn = ecam_io,
		.ctx = &root->bus, .name = "pci-ecam",
	};
	if (iobus_register(&kvm->mmio_bus, &root->ecam)) {
		pci_bus_exit(&root->bus);
		free(root);
		return -1;
	}
	kvm->pci_root = root;
	return 0;
}

void pci_root_exit(struct kvm *kvm)
{
	struct pci_root *root = kvm->pci_root;

	if (!root)
		return;
	kvm->pci_root = NULL;
	pci_bus_exit(&root->bus);
	iobus_unregister(&kvm->mmio_bus, &root->ecam);
	free(root);
}
