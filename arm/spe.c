// SPDX-License-Identifier: GPL-2.0
/*
 * The Statistical Profiling Extension for guests, through the interface of
 * the KVM SPE RFC v3 (October 2020), which was never merged: the host
 * kernel must carry those patches. arm_vm_check_features() has already
 * checked KVM_CAP_ARM_SPE on the VM and refused --nested.
 *
 * SPE writes profiling records to guest memory without the stage 2 fault
 * path a CPU access would take, so the RFC requires all of guest memory to
 * be locked in host RAM before the VM-level FINALIZE, which in turn comes
 * after the last write of guest memory by lkvm (the INIT_LAST stage).
 */
#include <errno.h>
#include <string.h>

#include "lkvm/arm-kvm.h"
#include "lkvm/arm-layout.h"
#include "lkvm/arm-vm.h"

int arm_spe_lock_memory(void *ram, u64 size)
{
	if (arm_sys_raise_memlock(size) < 0) {
		pr_err("--spe: guest memory must be locked, but RLIMIT_MEMLOCK cannot be raised to %llu MiB: %s (run as root or raise 'ulimit -l')",
		       (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	if (arm_sys_mlock(ram, size) < 0) {
		pr_err("--spe: cannot lock %llu MiB of guest memory: %s",
		       (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	return 0;
}

static int spe_attr(int fd, u32 group, u64 attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (u64)(unsigned long)val,
	};

	return arm_kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

int arm_spe_vcpu_init(int vcpu_fd, unsigned int id)
{
	/* The same PPI on every vCPU, as the RFC requires. */
	int irq = ARM_PPI(ARM_PPI_SPE);

	if (spe_attr(vcpu_fd, LKVM_ARM_VCPU_SPE_CTRL, LKVM_ARM_VCPU_SPE_IRQ, &irq) < 0) {
		pr_err("--spe: setting the SPE interrupt of vCPU %u failed: %s", id,
		       strerror(errno));
		return -1;
	}
	if (spe_attr(vcpu_fd, LKVM_ARM_VCPU_SPE_CTRL, LKVM_ARM_VCPU_SPE_INIT, NULL) < 0) {
		pr_err("--spe: initialising SPE on vCPU %u failed: %s", id, strerror(errno));
		return -1;
	}
	return 0;
}

int arm_spe_finalize(const struct arm_vm *vm)
{
	if (spe_attr(vm->vm_fd, LKVM_ARM_VM_SPE_CTRL, LKVM_ARM_VM_SPE_FINALIZE, NULL) < 0) {
		pr_err("--spe: finalising SPE for the VM failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}
