// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 vCPUs: KVM_ARM_VCPU_INIT with the preferred target and lkvm's
 * features, the boot state of vCPU 0 (the others wait powered off for
 * PSCI CPU_ON), and register dumps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/arm-kvm.h"
#include "lkvm/kvm-cpu.h"

#define CORE_REG(name)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 KVM_REG_ARM_CORE_REG(name))
#define REG_MPIDR_EL1		ARM64_SYS_REG(3, 0, 0, 0, 5)
#define REG_ID_AA64MMFR0_EL1	ARM64_SYS_REG(3, 0, 0, 7, 0)
#define REG_ESR_EL1		ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_FAR_EL1		ARM64_SYS_REG(3, 0, 6, 0, 0)

static int get_reg(struct kvm_cpu *cpu, u64 id, u64 *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (u64)(unsigned long)val };

	return ioctl(cpu->fd, KVM_GET_ONE_REG, &r);
}

static int set_reg(struct kvm_cpu *cpu, u64 id, u64 val)
{
	struct kvm_one_reg r = { .id = id, .addr = (u64)(unsigned long)&val };

	return ioctl(cpu->fd, KVM_SET_ONE_REG, &r);
}

/*
 * The VGIC can only be initialised once every vCPU exists, and the PMU and
 * SPE of each vCPU only after that: the last vCPU to be created does it.
 */
static int last_vcpu_created(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	int *fds = xmalloc(kvm->nrcpus * sizeof(*fds));
	unsigned int i;
	int r;

	for (i = 0; i < cpu->id; i++)
		fds[i] = kvm->cpus[i]->fd;
	fds[cpu->id] = cpu->fd;
	r = arm_vm_irqs_init(&kvm->arch.vm, fds);
	free(fds);
	return r;
}

int kvm_cpu__arch_init(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	struct kvm_vcpu_init init;
	unsigned int i;

	memset(&init, 0, sizeof(init));
	if (ioctl(kvm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		pr_err("KVM_ARM_PREFERRED_TARGET failed: %s", strerror(errno));
		return -1;
	}
	arm_vcpu_features(&kvm->arch.vm, cpu->id, init.features);
	if (ioctl(cpu->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		pr_err("KVM_ARM_VCPU_INIT of vCPU %u failed: %s (features 0x%x)", cpu->id,
		       strerror(errno), init.features[0]);
		return -1;
	}
	if (get_reg(cpu, REG_MPIDR_EL1, &kvm->arch.mpidr[cpu->id]) < 0) {
		pr_err("cannot read MPIDR_EL1 of vCPU %u: %s", cpu->id, strerror(errno));
		return -1;
	}
	if (cpu->id == 0 && get_reg(cpu, REG_ID_AA64MMFR0_EL1, &kvm->arch.mmfr0) < 0) {
		pr_err("cannot read ID_AA64MMFR0_EL1 of vCPU 0: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(init.features); i++)
		if (init.features[i])
			pr_debug("vCPU %u: features[%u] 0x%x", cpu->id, i, init.features[i]);
	if (cpu->id + 1 == (unsigned int)kvm->nrcpus)
		return last_vcpu_created(cpu);
	return 0;
}

int kvm_cpu__arch_setup_boot(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	bool a32 = kvm->cfg.aarch32;

	if (cpu->id != 0)
		return 0;
	/*
	 * The arm64 boot protocol: x0 = DTB, x1-x3 = 0, MMU off, DAIF masked.
	 * The 32-bit one: r0 = 0, r1 = ~0 (no machine number: a device tree),
	 * r2 = DTB.
	 */
	if (set_reg(cpu, CORE_REG(regs.pstate), arm_boot_pstate(&kvm->arch.vm)) < 0 ||
	    set_reg(cpu, CORE_REG(regs.regs[0]), a32 ? 0 : kvm->arch.dtb_addr) < 0 ||
	    set_reg(cpu, CORE_REG(regs.regs[1]), a32 ? 0xffffffffULL : 0) < 0 ||
	    set_reg(cpu, CORE_REG(regs.regs[2]), a32 ? kvm->arch.dtb_addr : 0) < 0 ||
	    set_reg(cpu, CORE_REG(regs.regs[3]), 0) < 0 ||
	    set_reg(cpu, CORE_REG(regs.pc), kvm->arch.boot_pc) < 0) {
		pr_err("setting the boot state of vCPU 0 failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void kvm_cpu__arch_dump(struct kvm_cpu *cpu)
{
	u64 x[31], pc = 0, pstate = 0, sp_el1 = 0, elr = 0, esr = 0, far = 0;
	unsigned int i;

	for (i = 0; i < 31; i++)
		if (get_reg(cpu, CORE_REG(regs.regs[i]), &x[i]) < 0)
			x[i] = 0;
	if (get_reg(cpu, CORE_REG(regs.pc), &pc) < 0) {
		pr_err("vCPU %u: cannot read registers: %s", cpu->id, strerror(errno));
		return;
	}
	get_reg(cpu, CORE_REG(regs.pstate), &pstate);
	get_reg(cpu, CORE_REG(sp_el1), &sp_el1);
	get_reg(cpu, CORE_REG(elr_el1), &elr);
	get_reg(cpu, REG_ESR_EL1, &esr);
	get_reg(cpu, REG_FAR_EL1, &far);
	fprintf(stderr, "vCPU %u registers:\n"
		"  pc %016llx pstate %016llx sp_el1 %016llx\n"
		"  elr_el1 %016llx esr_el1 %016llx far_el1 %016llx\n",
		cpu->id, (unsigned long long)pc, (unsigned long long)pstate,
		(unsigned long long)sp_el1, (unsigned long long)elr,
		(unsigned long long)esr, (unsigned long long)far);
	for (i = 0; i < 31; i++)
		fprintf(stderr, "%s x%-2u %016llx%s", i % 4 ? "" : " ", i,
			(unsigned long long)x[i], i % 4 == 3 || i == 30 ? "\n" : "");
}

void kvm_cpu__arch_show_position(struct kvm_cpu *cpu)
{
	struct kvm_mp_state mp = { 0 };
	u64 pc = 0, pstate = 0;

	if (get_reg(cpu, CORE_REG(regs.pc), &pc) < 0)
		return;
	get_reg(cpu, CORE_REG(regs.pstate), &pstate);
	ioctl(cpu->fd, KVM_GET_MP_STATE, &mp);
	pr_info("vCPU %u: pc 0x%llx pstate 0x%llx (%s)", cpu->id, (unsigned long long)pc,
		(unsigned long long)pstate,
		mp.mp_state == KVM_MP_STATE_STOPPED ? "powered off" : "running");
}
