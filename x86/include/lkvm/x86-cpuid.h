/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_CPUID_H
#define LKVM_X86_CPUID_H

#include <linux/kvm.h>

#include "lkvm/util.h"

struct kvm;

/* Fetch KVM_GET_SUPPORTED_CPUID once per VM. */
int x86_cpuid_init(struct kvm *kvm);
void x86_cpuid_exit(struct kvm *kvm);
/* Guest physical address width (CPUID 0x80000008), 36 if unreported. */
unsigned int x86_cpuid_phys_bits(struct kvm *kvm);

/* Does KVM offer VMX or SVM to guests (the host's nested=1)? */
const char *x86_cpuid_virt_name(const struct kvm_cpuid2 *c);

/*
 * Rewrite a copy of the supported CPUID for one vCPU: APIC id, topology
 * (all vCPUs are cores of one package), the hypervisor bit, and VMX/SVM
 * only when @nested. @out must have room for in->nent + 3 entries.
 */
void x86_cpuid_for_vcpu(const struct kvm_cpuid2 *in, struct kvm_cpuid2 *out,
			unsigned int apic_id, unsigned int nrcpus, bool nested);

#endif
