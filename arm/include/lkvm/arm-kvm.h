/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_KVM_H
#define LKVM_ARM_KVM_H

/*
 * The arm64 KVM ABI numbers lkvm uses. Building for arm64 they come from
 * <asm/kvm.h> (through <linux/kvm.h>) and the guards below are no-ops; the
 * host-side unit tests compile the arm64 VM logic on x86, where this header
 * supplies the same values. Numbers newer than the 6.1 UAPI live in
 * kvm-compat.h; the SPE RFC's, which no released kernel has, are at the end.
 */
#include <linux/kvm.h>

#include "lkvm/kvm-compat.h"

/* vCPU features (struct kvm_vcpu_init.features bit numbers). */
#ifndef KVM_ARM_VCPU_POWER_OFF
#define KVM_ARM_VCPU_POWER_OFF		0
#endif
#ifndef KVM_ARM_VCPU_EL1_32BIT
#define KVM_ARM_VCPU_EL1_32BIT		1
#endif
#ifndef KVM_ARM_VCPU_PSCI_0_2
#define KVM_ARM_VCPU_PSCI_0_2		2
#endif
#ifndef KVM_ARM_VCPU_PMU_V3
#define KVM_ARM_VCPU_PMU_V3		3
#endif

/* VGIC device attributes. */
#ifndef KVM_VGIC_V2_ADDR_TYPE_DIST
#define KVM_VGIC_V2_ADDR_TYPE_DIST	0
#define KVM_VGIC_V2_ADDR_TYPE_CPU	1
#define KVM_VGIC_V3_ADDR_TYPE_DIST	2
#define KVM_VGIC_V3_ADDR_TYPE_REDIST	3
#define KVM_VGIC_ITS_ADDR_TYPE		4
#endif
#ifndef KVM_DEV_ARM_VGIC_GRP_ADDR
#define KVM_DEV_ARM_VGIC_GRP_ADDR	0
#define KVM_DEV_ARM_VGIC_GRP_NR_IRQS	3
#define KVM_DEV_ARM_VGIC_GRP_CTRL	4
#define KVM_DEV_ARM_VGIC_CTRL_INIT	0
#endif

/* vCPU device attributes: the PMU. */
#ifndef KVM_ARM_VCPU_PMU_V3_CTRL
#define KVM_ARM_VCPU_PMU_V3_CTRL	0
#define KVM_ARM_VCPU_PMU_V3_IRQ		0
#define KVM_ARM_VCPU_PMU_V3_INIT	1
#endif

/* KVM_IRQ_LINE's irq field. */
#ifndef KVM_ARM_IRQ_TYPE_SHIFT
#define KVM_ARM_IRQ_TYPE_SHIFT		24
#define KVM_ARM_IRQ_TYPE_SPI		1
#endif

/*
 * The Statistical Profiling Extension as the RFC v3 (October 2020) defined
 * it. The series was never merged and upstream has since given 7 to
 * KVM_ARM_VCPU_HAS_EL2 and 191 to an x86 capability, so these get names of
 * their own: lkvm sets the feature bit only on a VM that reports the
 * capability, and never together with --nested.
 */
#define LKVM_CAP_ARM_SPE_RFC		191
#define LKVM_ARM_VCPU_SPE_RFC		7	/* vCPU feature bit */
#define LKVM_ARM_VCPU_SPE_CTRL		3	/* vCPU attribute group */
#define LKVM_ARM_VCPU_SPE_IRQ		0	/* addr: int *, the PPI's INTID */
#define LKVM_ARM_VCPU_SPE_INIT		1	/* after the VGIC is initialised */
#define LKVM_ARM_VM_SPE_CTRL		0	/* VM attribute group */
#define LKVM_ARM_VM_SPE_FINALIZE	0	/* after all guest memory is written */

#endif
