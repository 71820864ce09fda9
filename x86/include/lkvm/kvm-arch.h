/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_ARCH_H
#define LKVM_KVM_ARCH_H

#include "lkvm/util.h"

/*
 * The x86 guest physical memory map.
 *
 *   0x00000000  real-mode IVT/BDA (unused; RAM)
 *   0x00000500  boot GDT
 *   0x00007000  zero page (struct boot_params), or for a PVH boot the
 *               hvm_start_info page (start info, module list, memory map)
 *   0x00009000  boot page tables (PML4, PDPT, 4 PDs: identity map of 4 GiB)
 *   0x00020000  kernel command line
 *   0x0009fc00  EBDA .. 0x100000: reserved; ACPI tables at 0xe0000
 *   0x00100000  protected-mode kernel
 *   ...         RAM up to 3 GiB
 *   0xc0000000  32-bit MMIO hole (PCI, IOAPIC, LAPIC, KVM's TSS)
 *   0xc0000000  PCI BAR window, 256 MiB: BARs are pre-assigned here and the
 *               DSDT's PCI0 _CRS offers it to guests that reassign them
 *   0xe0000000  PCI ECAM (MMCONFIG) for bus 0, 1 MiB (MCFG; reserved by a
 *               PNP0C02 device in the DSDT)
 *   0xfe000000  virtio-mmio devices (--virtio-transport mmio)
 *   0x100000000 the rest of RAM
 */
/*
 * The default console= words (kvm.c), for the serial and the virtio
 * console: hvc0 needs the virtio driver; the UART still shows early boot.
 */
#define ARCH_CMDLINE_SERIAL	"console=ttyS0 earlyprintk=ttyS0"
#define ARCH_CMDLINE_VIRTIO	"console=hvc0 earlyprintk=ttyS0"

#define X86_GDT_ADDR		0x500ULL
#define X86_ZERO_PAGE_ADDR	0x7000ULL
#define X86_PVH_INFO_ADDR	X86_ZERO_PAGE_ADDR	/* one boot protocol per boot */
#define X86_PML4_ADDR		0x9000ULL
#define X86_PDPT_ADDR		0xa000ULL
#define X86_PD_ADDR		0xb000ULL	/* 4 pages */
#define X86_CMDLINE_ADDR	0x20000ULL
#define X86_CMDLINE_MAX		4096
#define X86_EBDA_START		0x9fc00ULL
#define X86_ACPI_START		0xe0000ULL
#define X86_ACPI_END		0x100000ULL
#define X86_RESET_VECTOR	0xffff0ULL	/* f000:fff0: see x86/power.c */
#define X86_KERNEL_ADDR		0x100000ULL
#define X86_MMIO_HOLE_START	0xc0000000ULL
#define X86_MMIO_HOLE_END	SZ_4G
#define X86_PCI_MMIO_START	0xc0000000ULL
#define X86_PCI_MMIO_SIZE	0x10000000ULL
#define X86_PCI_ECAM_ADDR	0xe0000000ULL
#define X86_PCI_ECAM_SIZE	SZ_1M
#define X86_VIRTIO_MMIO_START	0xfe000000ULL	/* virtio-mmio devices, 4 KiB each */
#define X86_VIRTIO_MMIO_END	0xfec00000ULL
#define X86_IOAPIC_ADDR		0xfec00000ULL
#define X86_LAPIC_ADDR		0xfee00000ULL
#define X86_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define X86_TSS_ADDR		0xfffbd000ULL

/* What the generic code calls them. */
#define VIRTIO_MMIO_START	X86_VIRTIO_MMIO_START
#define VIRTIO_MMIO_END		X86_VIRTIO_MMIO_END

/* Fixed I/O ports of the platform devices. */
#define X86_SERIAL0_PORT	0x3f8
#define X86_SERIAL0_IRQ		4
#define X86_RTC_PORT		0x70	/* CMOS RTC index and data (hw/rtc.c) */
#define X86_ACPI_SLEEP_CTL_PORT	0x600	/* FADT sleep control register */
#define X86_ACPI_SLEEP_STS_PORT	0x601	/* FADT sleep status register */
#define X86_RESET_PORT		0xcf9	/* also the FADT reset register */
#define X86_RESET_VALUE		0x06
#define X86_PVPANIC_PORT	0x508	/* ACPI QEMU0001 (hw/pvpanic.c) */
#define X86_PCI_INTX_GSI_BASE	16	/* PCI INTx: IOAPIC pins 16-23 (_PRT) */
#define X86_PCI_INTX_GSIS	8
#define X86_ACPI_S5_TYP		5	/* SLP_TYP of \_S5 in the DSDT */

#define X86_MAX_E820		32

struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));

#define E820_RAM	1
#define E820_RESERVED	2
#define E820_ACPI	3

struct kvm_cpuid2;
struct kvm;

/*
 * The reset control register (x86/power.c). Port 0xcf9 sits inside the
 * PCI config address register's range, so the PCI glue forwards byte
 * accesses to it here.
 */
void x86_reset_control_io(struct kvm *kvm, u8 *data, bool is_write);

struct kvm_arch {
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	bool boot_pvh;		/* 32-bit PVH entry (x86/pvh.c), else 64-bit bzImage */
	u64 boot_rip;		/* entry point */
	u64 boot_rsi;		/* zero page (bzImage) */
	u64 boot_rbx;		/* hvm_start_info (PVH) */
	u64 rsdp_addr;
	struct e820_entry e820[X86_MAX_E820];
	unsigned int nr_e820;
};

#endif
