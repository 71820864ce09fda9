// SPDX-License-Identifier: GPL-2.0
/* The per-vCPU CPUID: APIC ids, topology, hypervisor bit, VMX/SVM for --nested. */
#include <stdlib.h>

#include "lkvm/x86-cpuid.h"
#include "test.h"

static struct kvm_cpuid2 *make_supported(bool vmx, bool svm)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 *e = c->entries;

	e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	e[1] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xff00ffff,
		.ecx = vmx ? 1U << 5 : 0 };
	e[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 77 };
	e[3] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
		.ecx = svm ? 1U << 2 : 0 };
	e[4] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3028 };
	c->nent = 5;
	return c;
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *c, u32 fn, u32 idx)
{
	u32 i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static struct kvm_cpuid2 *out_for(const struct kvm_cpuid2 *in)
{
	return calloc(1, sizeof(*in) + (in->nent + 3) * sizeof(in->entries[0]));
}

static void test_nested_bits(void)
{
	struct kvm_cpuid2 *vmx = make_supported(true, false), *svm = make_supported(false, true);
	struct kvm_cpuid2 *none = make_supported(false, false), *o = out_for(vmx);

	CHECK(x86_cpuid_virt_name(vmx) && !strcmp(x86_cpuid_virt_name(vmx), "VMX"));
	CHECK(x86_cpuid_virt_name(svm) && !strcmp(x86_cpuid_virt_name(svm), "SVM"));
	CHECK(x86_cpuid_virt_name(none) == NULL);

	/* Without --nested the guest never sees VMX or SVM... */
	x86_cpuid_for_vcpu(vmx, o, 0, 1, false);
	CHECK(!(get(o, 1, 0)->ecx & (1U << 5)));
	x86_cpuid_for_vcpu(svm, o, 0, 1, false);
	CHECK(!(get(o, 0x80000001, 0)->ecx & (1U << 2)));
	/* ...with it, it sees what KVM offers. */
	x86_cpuid_for_vcpu(vmx, o, 0, 1, true);
	CHECK(get(o, 1, 0)->ecx & (1U << 5));
	x86_cpuid_for_vcpu(svm, o, 0, 1, true);
	CHECK(get(o, 0x80000001, 0)->ecx & (1U << 2));
	free(vmx);
	free(svm);
	free(none);
	free(o);
}

static void test_apic_ids_and_topology(void)
{
	struct kvm_cpuid2 *in = make_supported(false, false), *o = out_for(in);
	const struct kvm_cpuid_entry2 *e;

	x86_cpuid_for_vcpu(in, o, 3, 4, false);
	e = get(o, 1, 0);
	CHECK_EQ(e->ebx >> 24, 3);			/* initial APIC id */
	CHECK_EQ((e->ebx >> 16) & 0xff, 4);		/* logical processors */
	CHECK_EQ(e->ebx & 0xffff, 0xffff);		/* the rest untouched */
	CHECK(e->ecx & (1U << 31));			/* hypervisor */
	CHECK(e->edx & (1U << 28));			/* HTT with > 1 vCPU */
	/* Leaf 0xb is rebuilt: SMT level of 1, core level of 4, x2APIC id 3. */
	e = get(o, 0xb, 0);
	CHECK(e && e->ebx == 1 && e->edx == 3 && ((e->ecx >> 8) & 0xff) == 1);
	e = get(o, 0xb, 1);
	CHECK(e && e->ebx == 4 && e->eax == 2 && ((e->ecx >> 8) & 0xff) == 2);
	e = get(o, 0xb, 2);
	CHECK(e && e->ebx == 0 && ((e->ecx >> 8) & 0xff) == 0);
	/* AMD core count. */
	e = get(o, 0x80000008, 0);
	CHECK_EQ(e->ecx & 0xff, 3);
	CHECK_EQ(e->eax, 0x3028);

	/* Odd counts round the field widths up. */
	x86_cpuid_for_vcpu(in, o, 0, 3, false);
	CHECK_EQ((get(o, 1, 0)->ebx >> 16) & 0xff, 4);
	CHECK_EQ(get(o, 0xb, 1)->eax, 2);
	x86_cpuid_for_vcpu(in, o, 0, 1, false);
	CHECK(!(get(o, 1, 0)->edx & (1U << 28)));
	free(in);
	free(o);
}

TEST_MAIN_BEGIN("cpuid")
	RUN(test_nested_bits);
	RUN(test_apic_ids_and_topology);
TEST_MAIN_END()
