/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_ARCH_H
#define LKVM_KVM_ARCH_H

#include "lkvm/arm-layout.h"
#include "lkvm/arm-vm.h"
#include "lkvm/util.h"

/* What the generic code calls them. */
#define VIRTIO_MMIO_START	ARM_VIRTIO_MMIO_START
#define VIRTIO_MMIO_END		ARM_VIRTIO_MMIO_END

/* hw/serial.c: the 8250 sits in MMIO space, wired to an SPI. */
/*
 * The default console= words (kvm.c), for the serial and the virtio
 * console: earlycon finds the UART through /chosen/stdout-path.
 */
#define ARCH_CMDLINE_SERIAL	"console=ttyS0 earlycon"
#define ARCH_CMDLINE_VIRTIO	"console=hvc0 earlycon"

#define ARCH_SERIAL0_MMIO_ADDR	ARM_UART_BASE
#define ARCH_SERIAL0_IRQ	ARM_SPI_UART

/*
 * KVM_IRQ_LINE on arm64 encodes the interrupt type with the number: lkvm's
 * line numbers (GSIs) are SPIs counted from 0.
 */
#define KVM_ARCH_IRQ_LINE(irq)	((KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | \
				 (ARM_SPI_BASE + (irq)))

/* virtio-mmio is how arm64 guests usually find virtio devices. */
#define LKVM_ARCH_DEFAULT_TRANSPORT	"mmio"
/* --spe means something here. */
#define LKVM_ARCH_HAS_SPE	1

/* The arm64-only options of lkvm run (builtin-run.c). */
struct option;
int arm_option_irqchip(const struct option *opt, const char *arg);
#define LKVM_ARCH_RUN_OPTIONS(cfg)					\
	OPTION_GROUP("arm64 options:"),					\
	OPTION_CALLBACK(0, "irqchip", &(cfg).irqchip, "gicv2|gicv3|gicv3-its", \
			"interrupt controller (default: the best this host offers)", \
			arm_option_irqchip),				\
	OPTION_BOOLEAN(0, "pmu", &(cfg).pmu, "give the guest a PMUv3"),	\
	OPTION_BOOLEAN(0, "e2h0", &(cfg).e2h0,				\
		       "with --nested: a guest hypervisor with HCR_EL2.E2H 0 (nVHE)"), \
	OPTION_STRING(0, "dump-dtb", &(cfg).dump_dtb, "<file>",		\
		      "write the guest's device tree to <file>"),

/* MSIs carry an ITS device ID (arm/irq.c). */
void arm_irq_set_its(bool its);

struct kvm_arch {
	struct arm_vm vm;
	u64 *mpidr;		/* MPIDR_EL1 of each vCPU */
	u64 mmfr0;		/* the boot vCPU's ID_AA64MMFR0_EL1 */
	u64 boot_pc;		/* the kernel's first byte */
	u64 dtb_addr;		/* x0 at entry */
};

#endif
