/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_LAYOUT_H
#define LKVM_ARM_LAYOUT_H

#include "lkvm/util.h"

/*
 * The arm64 guest physical memory map. Everything below 2 GiB is devices,
 * RAM starts at 2 GiB. Everything fits in KVM's default 40-bit IPA space.
 *
 *   0x08000000  GIC distributor (64 KiB)
 *   0x08010000  GICv2 CPU interface (8 KiB)
 *   0x08080000  GICv3 ITS (128 KiB)
 *   0x080a0000  GICv3 redistributors, 128 KiB per vCPU, up to 0x0a000000
 *   0x0a000000  8250 UART (ttyS0)
 *   0x0a001000  PL031 RTC
 *   0x0b000000  virtio-mmio devices, 4 KiB each
 *   0x30000000  PCI ECAM, bus 0 (1 MiB)
 *   0x40000000  PCI memory window (1 GiB, 32-bit BARs)
 *   0x80000000  RAM
 *
 * Interrupts: PPIs are fixed by the architecture and KVM (the timers, the
 * PMU, the VGIC maintenance interrupt, SPE); SPIs are numbered from 0 here,
 * as KVM's GSIs and the device tree's GIC_SPI cells count them.
 */
#define ARM_GIC_DIST_BASE	0x08000000ULL
#define ARM_GIC_DIST_SIZE	0x10000ULL	/* GICv3; GICv2 decodes 4 KiB of it */
#define ARM_GIC_CPU_BASE	0x08010000ULL
#define ARM_GIC_CPU_SIZE	0x2000ULL
#define ARM_GIC_ITS_BASE	0x08080000ULL
#define ARM_GIC_ITS_SIZE	0x20000ULL
#define ARM_GIC_REDIST_BASE	0x080a0000ULL
#define ARM_GIC_REDIST_SIZE	0x20000ULL	/* per vCPU: RD_base + SGI_base */
#define ARM_GIC_REDIST_END	0x0a000000ULL
#define ARM_UART_BASE		0x0a000000ULL
#define ARM_UART_SIZE		0x1000ULL
#define ARM_RTC_BASE		0x0a001000ULL
#define ARM_RTC_SIZE		0x1000ULL
#define ARM_PVPANIC_BASE	0x0a002000ULL	/* qemu,pvpanic-mmio */
#define ARM_PVPANIC_SIZE	0x1000ULL
#define ARM_VIRTIO_MMIO_START	0x0b000000ULL
#define ARM_VIRTIO_MMIO_END	0x0c000000ULL
#define ARM_PCI_ECAM_BASE	0x30000000ULL
#define ARM_PCI_ECAM_SIZE	SZ_1M
#define ARM_PCI_MMIO_BASE	0x40000000ULL
#define ARM_PCI_MMIO_SIZE	SZ_1G
#define ARM_RAM_BASE		0x80000000ULL
#define ARM_IPA_BITS		40		/* KVM's default VM type */

/* GICv3 redistributor space and the GICv2 CPU interface limit the vCPUs. */
#define ARM_GICV3_MAX_CPUS	((ARM_GIC_REDIST_END - ARM_GIC_REDIST_BASE) / \
				 ARM_GIC_REDIST_SIZE)
#define ARM_GICV2_MAX_CPUS	8

/* Interrupt IDs: SGIs 0-15, PPIs 16-31, SPIs from 32. */
#define ARM_PPI_BASE		16
#define ARM_SPI_BASE		32
#define ARM_PPI(n)		(ARM_PPI_BASE + (n))

/* PPIs, numbered as the device tree's GIC_PPI cells count them. */
#define ARM_PPI_SPE		5	/* INTID 21 */
#define ARM_PPI_PMU		7	/* INTID 23 */
#define ARM_PPI_VGIC_MAINT	9	/* INTID 25 */
#define ARM_PPI_TIMER_HYP	10	/* INTID 26, EL2 physical timer */
#define ARM_PPI_TIMER_VIRT	11	/* INTID 27 */
#define ARM_PPI_TIMER_HYP_VIRT	12	/* INTID 28, EL2 virtual timer */
#define ARM_PPI_TIMER_SEC	13	/* INTID 29, secure physical timer */
#define ARM_PPI_TIMER_PHYS	14	/* INTID 30, non-secure physical timer */

/* SPIs. */
#define ARM_SPI_UART		0
#define ARM_SPI_PCI_INTX	1	/* four lines, INTA-INTD swizzled by slot */
#define ARM_SPI_PCI_INTX_NR	4
#define ARM_SPI_RTC		5
#define ARM_SPI_DYNAMIC		6	/* irq_alloc_line() hands these out */
#define ARM_NR_SPIS		256	/* fixed before the VGIC is initialised */

/* ITS device IDs: PCI requester IDs of bus 0 (0-0xff) map 1:1. */
#define ARM_PCI_RID_RANGE	0x100

/* Boot: the kernel at a 2 MiB-aligned base plus its text_offset. */
#define ARM_KERNEL_ALIGN	SZ_2M
#define ARM_FDT_MAX_SIZE	SZ_2M	/* the boot protocol's limit */

#endif
