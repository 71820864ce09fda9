/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_COMPAT_H
#define LKVM_KVM_COMPAT_H

/*
 * KVM ABI constants newer than the Debian 6.1 UAPI headers lkvm builds
 * against. Each is guarded so that newer headers win.
 */
#include <linux/kvm.h>

#ifndef KVM_CAP_IMMEDIATE_EXIT
#define KVM_CAP_IMMEDIATE_EXIT		136
#endif
#ifndef KVM_SYSTEM_EVENT_WAKEUP
#define KVM_SYSTEM_EVENT_WAKEUP		4
#endif
#ifndef KVM_SYSTEM_EVENT_SUSPEND
#define KVM_SYSTEM_EVENT_SUSPEND	5
#endif
#ifndef KVM_SYSTEM_EVENT_SEV_TERM
#define KVM_SYSTEM_EVENT_SEV_TERM	6
#endif
/* arm64 nested virtualization (Linux 6.16) */
#ifndef KVM_CAP_ARM_EL2
#define KVM_CAP_ARM_EL2			240
#endif
#ifndef KVM_CAP_ARM_EL2_E2H0
#define KVM_CAP_ARM_EL2_E2H0		241
#endif
#ifndef KVM_ARM_VCPU_HAS_EL2
#define KVM_ARM_VCPU_HAS_EL2		7	/* vCPU feature: starts in EL2h */
#endif
#ifndef KVM_ARM_VCPU_HAS_EL2_E2H0
#define KVM_ARM_VCPU_HAS_EL2_E2H0	8	/* ... with HCR_EL2.E2H fixed to 0 */
#endif
#ifndef KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ
#define KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ	9	/* addr: u32 *, the PPI's INTID */
#endif

#endif
