// SPDX-License-Identifier: GPL-2.0
/* The CPUID the guest sees: what KVM supports, with lkvm's topology. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/kvm.h"
#include "lkvm/x86-cpuid.h"

#define CPUID_1_ECX_VMX		(1U << 5)
#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_1_EDX_HTT		(1U << 28)
#define CPUID_8_1_ECX_SVM	(1U << 2)
#define CPUID_8_1_ECX_CMP_LEGACY (1U << 1)

int x86_cpuid_init(struct kvm *kvm)
{
	unsigned int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c = xzalloc(sizeof(*c) + nent * sizeof(c->entries[0]));

		c->nent = nent;
		if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->arch.cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096) {
			pr_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
			return -1;
		}
		nent *= 2;
	}
}

void x86_cpuid_exit(struct kvm *kvm)
{
	free(kvm->arch.cpuid);
	kvm->arch.cpuid = NULL;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, u32 fn, u32 idx)
{
	u32 i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == idx))
			return &c->entries[i];
	return NULL;
}

unsigned int x86_cpuid_phys_bits(struct kvm *kvm)
{
	const struct kvm_cpuid_entry2 *e;

	if (!kvm->arch.cpuid)
		return 36;
	e = find(kvm->arch.cpuid, 0x80000008, 0);
	return e && (e->eax & 0xff) ? e->eax & 0xff : 36;
}

const char *x86_cpuid_virt_name(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e;

	e = find(c, 1, 0);
	if (e && (e->ecx & CPUID_1_ECX_VMX))
		return "VMX";
	e = find(c, 0x80000001, 0);
	if (e && (e->ecx & CPUID_8_1_ECX_SVM))
		return "SVM";
	return NULL;
}

/* Bits needed to number @n things (0 for 1). */
static unsigned int order(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static void add_topology_leaf(struct kvm_cpuid2 *out, u32 fn, unsigned int apic_id,
			      unsigned int nrcpus)
{
	unsigned int shift = order(nrcpus);
	struct kvm_cpuid_entry2 *e;
	u32 sub;

	for (sub = 0; sub < 3; sub++) {
		e = &out->entries[out->nent++];
		memset(e, 0, sizeof(*e));
		e->function = fn;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = apic_id;
		e->ecx = sub;
		if (sub == 0) {			/* SMT level: one thread per core */
			e->eax = 0;
			e->ebx = 1;
			e->ecx |= 1 << 8;
		} else if (sub == 1) {		/* core level: the whole package */
			e->eax = shift;
			e->ebx = nrcpus;
			e->ecx |= 2 << 8;
		}
	}
}

/*
 * Intel's leaf 1 and AMD's 0x80000001 each have a virtualization bit (VMX,
 * SVM), offered only with --nested, and a multi-core bit (HTT, CMP_LEGACY),
 * set when there is more than one vCPU.
 */
static void vm_shape_bits(u32 *virt_reg, u32 virt_bit, u32 *smp_reg, u32 smp_bit,
			  bool nested, unsigned int nrcpus)
{
	if (!nested)
		*virt_reg &= ~virt_bit;
	if (nrcpus > 1)
		*smp_reg |= smp_bit;
}

void x86_cpuid_for_vcpu(const struct kvm_cpuid2 *in, struct kvm_cpuid2 *out,
			unsigned int apic_id, unsigned int nrcpus, bool nested)
{
	unsigned int shift = order(nrcpus);
	u32 i, max_basic = 0;

	out->nent = 0;
	for (i = 0; i < in->nent; i++) {
		struct kvm_cpuid_entry2 e = in->entries[i];

		if (e.function == 0)
			max_basic = e.eax;
		switch (e.function) {
		case 0xb:
		case 0x1f:
			continue;		/* rebuilt below */
		case 1:
			e.ebx = (e.ebx & 0xffff) | (apic_id << 24) |
				((1U << shift) << 16);
			e.ecx |= CPUID_1_ECX_HYPERVISOR;
			vm_shape_bits(&e.ecx, CPUID_1_ECX_VMX, &e.edx, CPUID_1_EDX_HTT, nested,
				      nrcpus);
			break;
		case 4:
			e.eax = (e.eax & 0x3ff) | ((nrcpus - 1) << 26);
			if ((e.eax & 0x1f) == 0)
				e.eax = 0;	/* no more cache levels */
			break;
		case 0x80000001:
			vm_shape_bits(&e.ecx, CPUID_8_1_ECX_SVM, &e.ecx, CPUID_8_1_ECX_CMP_LEGACY,
				      nested, nrcpus);
			break;
		case 0x80000008:
			e.ecx = (e.ecx & ~0xf0ffU) | (shift << 12) | (nrcpus - 1);
			break;
		case 0x8000001e:
			e.eax = apic_id;
			e.ebx = (e.ebx & ~0xffffU) | apic_id;
			e.ecx = 0;
			break;
		}
		out->entries[out->nent++] = e;
	}
	if (max_basic >= 0xb)
		add_topology_leaf(out, 0xb, apic_id, nrcpus);
}
