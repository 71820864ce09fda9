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

/* --firmware boots a raw binary. */
#define LKVM_ARCH_HAS_FIRMWARE	1

/* The arm64-only options of lkvm run (builtin-run.c). */
struct option;
int arm_option_irqchip(const struct option *opt, const char *arg);
int arm_option_force_pci(const struct option *opt, const char *arg);
int arm_option_accept(const struct option *opt, const char *arg);
int arm_option_u64(const struct option *opt, const char *arg);
#define LKVM_ARCH_RUN_OPTIONS(cfg)					\
	OPTION_GROUP("arm64 options:"),					\
	OPTION_CALLBACK(0, "irqchip", &(cfg).irqchip, "gicv2|gicv3|gicv3-its", \
			"interrupt controller (default: the best this host offers)", \
			arm_option_irqchip),				\
	OPTION_BOOLEAN(0, "pmu", &(cfg).pmu, "give the guest a PMUv3"),	\
	OPTION_BOOLEAN(0, "aarch32", &(cfg).aarch32,			\
		       "a 32-bit (AArch32) guest kernel, loaded at RAM + 0x8000"), \
	OPTION_CALLBACK(0, "firmware-address", &(cfg).firmware_addr, "<addr>", \
			"where --firmware goes and starts (default: the start of RAM)", \
			arm_option_u64),				\
	OPTION_CALLBACK(0, "kaslr-seed", &(cfg).kaslr_seed, "<u64>",	\
			"/chosen/kaslr-seed for the guest kernel",	\
			arm_option_u64),				\
	OPTION_CALLBACK_NOARG(0, "force-pci", &(cfg).virtio_transport,	\
			      "the same as --virtio-transport pci",	\
			      arm_option_force_pci),			\
	OPTION_CALLBACK_NOARG(0, "disable-mte", NULL,			\
			      "accepted for kvmtool: lkvm never gives guests MTE", \
			      arm_option_accept),			\
	OPTION_CALLBACK_NOARG(0, "no-pvtime", NULL,			\
			      "accepted for kvmtool: lkvm never gives guests stolen time", \
			      arm_option_accept),			\
	OPTION_BOOLEAN(0, "e2h0", &(cfg).e2h0,				\
		       "with --nested: a guest hypervisor with HCR_EL2.E2H 0 (nVHE)"), \
	OPTION_STRING(0, "dump-dtb", &(cfg).dump_dtb, "<file>",		\
		      "write the guest's device tree to <file>"),

/* kvmtool's arm64 options lkvm refuses (kvmtool-compat.c). */
#define LKVM_ARCH_KVMTOOL_REFUSALS					\
	REFUSE("sve-max-vl", "lkvm gives guests no SVE (FP/SIMD only)"),	\
	REFUSE("sve-vl", "lkvm gives guests no SVE (FP/SIMD only)"),	\
	REFUSE("override-bad-firmware-cntfrq", "lkvm's device tree leaves the timer " \
	       "frequency to CNTFRQ_EL0, which KVM sets"),

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
