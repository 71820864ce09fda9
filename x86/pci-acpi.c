// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 PCI platform: bus 0 behind ports 0xcf8-0xcff and an ECAM window,
 * INTx wired to IOAPIC pins 16-23, and the firmware description Linux
 * needs to find it all. On an ACPI system Linux enumerates PCI only under
 * a PNP0A03 root bridge in the DSDT, takes interrupt routing from its _PRT
 * (there is no MP table or PIRQ table here) and uses the MCFG's ECAM window
 * only when a PNP0C02 "motherboard resources" device reserves it.
 */
#include <string.h>

#include "lkvm/acpi.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"

/*
 * 0xcf8-0xcff. A dword at 0xcf8 is the config address, 0xcfc-0xcff the
 * data; byte accesses to 0xcf9 are the reset control register, which
 * chipsets have always decoded inside the same ports.
 */
static void conf1_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		     bool is_write, void *ctx)
{
	if (pci_conf1_io(pci_root_bus(ctx), off, data, len, is_write))
		return;
	if (off == X86_RESET_PORT - PCI_CONF1_PORT && len == 1)
		x86_reset_control_io(ctx, data, is_write);
}

static struct io_range conf1_range = {
	.start = PCI_CONF1_PORT, .len = PCI_CONF1_LEN, .fn = conf1_io, .name = "pci-conf1",
};

static int x86_pci_init(struct kvm *kvm)
{
	static const struct pci_root_layout layout = {
		.win_start = X86_PCI_MMIO_START, .win_size = X86_PCI_MMIO_SIZE,
		.ecam_start = X86_PCI_ECAM_ADDR, .ecam_size = X86_PCI_ECAM_SIZE,
		.intx_base = X86_PCI_INTX_GSI_BASE, .intx_count = X86_PCI_INTX_GSIS,
	};

	if (pci_root_init(kvm, &layout))
		return -1;
	conf1_range.ctx = kvm;
	if (iobus_register(&kvm->pio_bus, &conf1_range)) {
		pci_root_exit(kvm);
		return -1;
	}
	return 0;
}

static void x86_pci_exit(struct kvm *kvm)
{
	if (!pci_root_bus(kvm))
		return;
	iobus_unregister(&kvm->pio_bus, &conf1_range);
	pci_root_exit(kvm);
}
dev_init(x86_pci_init, x86_pci_exit);

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, 0, GSI }, ... }) */
static void build_prt(struct aml *a)
{
	unsigned int slot, pin;

	aml_byte(a, 0x08);
	aml_nameseg(a, "_PRT");
	aml_byte(a, 0x12);			/* PackageOp */
	aml_pkg_begin(a);
	aml_byte(a, (PCI_MAX_SLOTS - 1) * PCI_INTX_PINS);	/* 124 entries */
	for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		for (pin = 0; pin < PCI_INTX_PINS; pin++) {
			aml_byte(a, 0x12);
			aml_pkg_begin(a);
			aml_byte(a, 4);
			aml_integer(a, (u64)slot << 16 | 0xffff);	/* any function */
			aml_integer(a, pin);
			aml_integer(a, 0);	/* no link device: the last field is a GSI */
			/* Keep in step with pci_bus_add()'s swizzle. */
			aml_integer(a, X86_PCI_INTX_GSI_BASE + (slot + pin) % X86_PCI_INTX_GSIS);
			aml_pkg_end(a);
		}
	}
	aml_pkg_end(a);
}

static void pci_dsdt(struct aml *a, struct kvm *kvm __unused)
{
	u8 res[128];
	size_t n = 0;

	/* Device (PCI0): the root bridge of segment 0, bus 0 only. */
	aml_device_begin(a, "PCI0");
	aml_name_integer(a, "_HID", aml_eisa_id("PNP0A03"));
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);
	n += aml_res_word(res + n, 2, 0, 0, 0);				/* bus 0-0 */
	n += aml_res_io(res + n, PCI_CONF1_PORT, PCI_CONF1_LEN);		/* consumed */
	n += aml_res_word(res + n, 1, AML_RES_IO_ENTIRE_RANGE, 0x0000, 0x0cf7);
	n += aml_res_word(res + n, 1, AML_RES_IO_ENTIRE_RANGE, 0x0d00, 0xffff);
	n += aml_res_dword_mem(res + n, X86_PCI_MMIO_START,
			   X86_PCI_MMIO_START + X86_PCI_MMIO_SIZE - 1);
	aml_name_resources(a, "_CRS", res, n);
	build_prt(a);
	aml_pkg_end(a);

	/* Device (MRES): reserves the ECAM window, as Linux requires of an MCFG. */
	aml_device_begin(a, "MRES");
	aml_name_integer(a, "_HID", aml_eisa_id("PNP0C02"));
	aml_name_integer(a, "_UID", 0);
	n = aml_res_mem32_fixed(res, X86_PCI_ECAM_ADDR, X86_PCI_ECAM_SIZE);
	aml_name_resources(a, "_CRS", res, n);
	aml_pkg_end(a);
}

/* MCFG body: 8 reserved bytes, then one allocation for segment 0, bus 0. */
static size_t build_mcfg(u8 *body, size_t room, struct kvm *kvm __unused)
{
	if (room < 24)
		return 0;
	memset(body, 0, 24);
	put_le64(body + 8, X86_PCI_ECAM_ADDR);
	put_le16(body + 16, 0);			/* segment */
	body[18] = 0;				/* start bus */
	body[19] = X86_PCI_ECAM_SIZE / PCI_ECAM_BUS_SIZE - 1;	/* end bus */
	return 24;
}

static struct acpi_dsdt_hook pci_dsdt_hook = { .fn = pci_dsdt };
static struct acpi_table_hook mcfg_hook = { .sig = "MCFG", .rev = 1, .build = build_mcfg };

static void __attribute__((constructor)) pci_acpi_register(void)
{
	acpi_register_dsdt_hook(&pci_dsdt_hook);
	acpi_register_table_hook(&mcfg_hook);
}
