/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_FDT_H
#define LKVM_ARM_FDT_H

#include "lkvm/arm-vm.h"
#include "lkvm/util.h"
#include "lkvm/virtio-mmio.h"

/*
 * The arm64 guest's device tree, built with libfdt from a plain
 * description of the machine (no struct kvm), so the unit tests can check
 * every node on any host. The addresses and interrupts of the fixed devices
 * come from arm-layout.h.
 */
struct arm_fdt_info {
	u64 ram_base, ram_size;
	unsigned int nr_cpus;
	const u64 *mpidr;		/* nr_cpus MPIDR_EL1 values */
	enum arm_gic_type gic;
	bool nested;			/* maintenance IRQ, EL2 virtual timer, smc */
	bool pmu;
	bool spe;
	const struct virtio_mmio_info *mmio;	/* nr_mmio devices */
	unsigned int nr_mmio;
	bool pci;			/* the ECAM host bridge */
	const char *bootargs;
	u64 initrd_start, initrd_size;	/* size 0: no initrd */
	const u8 *rng_seed;		/* optional /chosen/rng-seed */
	size_t rng_seed_len;
	u64 kaslr_seed;			/* /chosen/kaslr-seed when not 0 */
};

/* Phandles of the interrupt controllers. */
#define ARM_FDT_PHANDLE_GIC	1
#define ARM_FDT_PHANDLE_ITS	2
#define ARM_FDT_PHANDLE_APB_CLK	3	/* the PL031's bus clock */

/* Device tree interrupt specifier cells (the GIC binding). */
#define ARM_FDT_IRQ_SPI		0
#define ARM_FDT_IRQ_PPI		1
#define ARM_FDT_IRQ_EDGE_RISING	1
#define ARM_FDT_IRQ_LEVEL_HIGH	4

/*
 * Write the device tree into @buf (@size bytes). Returns 0 or a negative
 * libfdt error (-FDT_ERR_NOSPACE: try a bigger buffer).
 */
int arm_fdt_build(const struct arm_fdt_info *info, void *buf, size_t size);

/* Node paths the command line and tests refer to. */
#define ARM_FDT_UART_PATH	"/uart@a000000"
#define ARM_FDT_RTC_PATH	"/rtc@a001000"

#endif
