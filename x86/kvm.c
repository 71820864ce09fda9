// SPDX-License-Identifier: GPL-2.0
/* x86 VM setup: memory layout around the 32-bit MMIO hole, irqchip, PIT. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/bzimage.h"
#include "lkvm/kvm.h"
#include "lkvm/x86-cpuid.h"
#include "lkvm/x86-elf.h"

const struct kvm_cap_req kvm_arch_required_caps[] = {
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS" },
	{ 0, NULL },
};

/*
 * --nested: the guest gets the host's VMX or SVM as KVM reports it in
 * KVM_GET_SUPPORTED_CPUID (x86_cpuid_for_vcpu keeps them only then).
 * lkvm has no snapshots or migration, so the nested state KVM keeps per
 * vCPU (KVM_GET/SET_NESTED_STATE) never needs to leave the kernel.
 */
static int check_nested(struct kvm *kvm)
{
	const char *virt = x86_cpuid_virt_name(kvm->arch.cpuid);

	if (!virt) {
		pr_err("--nested: this host's KVM offers neither VMX nor SVM to guests "
		       "(load kvm_intel or kvm_amd with nested=1)");
		return -1;
	}
	pr_debug("--nested: exposing %s; KVM_CAP_NESTED_STATE=%d", virt,
		 kvm__vm_check_cap(kvm, KVM_CAP_NESTED_STATE));
	return 0;
}

int kvm__arch_init(struct kvm *kvm)
{
	u64 ident = X86_IDENTITY_MAP_ADDR;

	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, X86_TSS_ADDR) < 0) {
		pr_err("KVM_SET_TSS_ADDR failed: %s", strerror(errno));
		return -1;
	}
	if (kvm__vm_check_cap(kvm, KVM_CAP_SET_IDENTITY_MAP_ADDR) &&
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
		pr_err("KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(errno));
		return -1;
	}
	if (x86_cpuid_init(kvm))
		return -1;
	return kvm->cfg.nested ? check_nested(kvm) : 0;
}

int kvm__arch_create_irqchip(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP) < 0) {
		pr_err("KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
		return -1;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2 failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void kvm__arch_exit(struct kvm *kvm)
{
	x86_cpuid_exit(kvm);
}

int kvm__arch_check_ram_size(struct kvm *kvm, u64 size)
{
	u64 top = size <= X86_MMIO_HOLE_START ? size :
		  X86_MMIO_HOLE_END + (size - X86_MMIO_HOLE_START);
	unsigned int bits = x86_cpuid_phys_bits(kvm);

	if (bits < 64 && top > (1ULL << bits)) {
		pr_err("guest memory of %llu MiB needs more than the %u physical address bits the CPU has",
		       (unsigned long long)(size >> 20), bits);
		return -1;
	}
	return 0;
}

int kvm__arch_setup_ram(struct kvm *kvm)
{
	u64 size = kvm->ram_map_size;
	u8 *ram = kvm->ram;

	/* RAM that would overlap the 32-bit MMIO hole continues at 4 GiB. */
	if (size <= X86_MMIO_HOLE_START)
		return kvm__register_ram(kvm, 0, size, ram);
	if (kvm__register_ram(kvm, 0, X86_MMIO_HOLE_START, ram))
		return -1;
	return kvm__register_ram(kvm, X86_MMIO_HOLE_END, size - X86_MMIO_HOLE_START,
				 ram + X86_MMIO_HOLE_START);
}

int kvm__arch_check_kernel(int fd, const u8 *hdr, size_t len, u64 size, const char **err)
{
	struct bzimage bz;

	/* An ELF kernel must have the PVH note, which may lie far into the file. */
	if (elf_is_elf(hdr, len))
		return pvh_probe_fd(fd, hdr, len, size, err);
	return bzimage_parse(hdr, len, size, &bz, err);
}
