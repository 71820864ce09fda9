// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 VM's interrupt controller and vCPU feature set: which GIC,
 * which vCPU features, and the order of the KVM device calls that set
 * them up (see arm-vm.h). struct kvm stays out of this file so the unit
 * tests can run it against a recorder of ioctls.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/arm-kvm.h"
#include "lkvm/arm-layout.h"
#include "lkvm/arm-vm.h"

static const char *const gic_names[] = {
	[ARM_GIC_V2] = "gicv2",
	[ARM_GIC_V3] = "gicv3",
	[ARM_GIC_V3_ITS] = "gicv3-its",
};

const char *arm_gic_name(enum arm_gic_type type)
{
	return type < ARRAY_SIZE(gic_names) ? gic_names[type] : "?";
}

int arm_gic_parse(const char *name, enum arm_gic_type *type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gic_names); i++) {
		if (!strcmp(name, gic_names[i])) {
			*type = i;
			return 0;
		}
	}
	return -1;
}

static int check_cap(int vm_fd, long cap)
{
	int r = arm_kvm_ioctl(vm_fd, KVM_CHECK_EXTENSION, (void *)cap);

	return r < 0 ? 0 : r;
}

static bool can_create(int vm_fd, u32 type)
{
	struct kvm_create_device cd = { .type = type, .flags = KVM_CREATE_DEVICE_TEST };

	return arm_kvm_ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) == 0;
}

int arm_gic_probe(int vm_fd, enum arm_gic_type *best)
{
	/*
	 * KVM's ITS is emulated in software and comes with every GICv3, but
	 * ask anyway. A GICv2 guest needs a GICv2 or a GICv3 with the
	 * GICv2 compatibility interface on the host.
	 */
	if (can_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3)) {
		*best = can_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_ITS) ? ARM_GIC_V3_ITS :
		       ARM_GIC_V3;
		return 0;
	}
	if (can_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2)) {
		*best = ARM_GIC_V2;
		return 0;
	}
	return -1;
}

/* Say @why when @refuse: the one line a refused configuration gets. */
static bool refused(bool refuse, const char *why)
{
	if (refuse)
		pr_err("%s", why);
	return refuse;
}

int arm_vm_check_features(const struct arm_vm *vm)
{
	unsigned int max_cpus = vm->gic == ARM_GIC_V2 ? ARM_GICV2_MAX_CPUS :
				ARM_GICV3_MAX_CPUS;

	if (vm->nr_cpus > max_cpus) {
		pr_err("%u vCPUs requested; lkvm's %s allows at most %u",
		       vm->nr_cpus, arm_gic_name(vm->gic), max_cpus);
		return -1;
	}
	/* In this order: the first refusal is the one the user sees. */
	if (refused(vm->e2h0 && !vm->nested, "--e2h0 only makes sense with --nested") ||
	    /* The RFC's SPE feature bit is upstream's HAS_EL2. */
	    refused(vm->nested && vm->spe, "--spe cannot be combined with --nested") ||
	    refused(vm->nested && vm->gic == ARM_GIC_V2,
		    "--nested needs a GICv3 (--irqchip gicv3 or gicv3-its): KVM emulates EL2 only with one") ||
	    refused(vm->nested && !check_cap(vm->vm_fd, KVM_CAP_ARM_EL2),
		    "--nested: this host's KVM cannot give a guest EL2 (no KVM_CAP_ARM_EL2: needs Linux 6.16+ booted with kvm-arm.mode=nested on a CPU with FEAT_NV2)") ||
	    refused(vm->nested && vm->e2h0 && !check_cap(vm->vm_fd, KVM_CAP_ARM_EL2_E2H0),
		    "--e2h0: this host's KVM cannot run a guest hypervisor with HCR_EL2.E2H 0 (no KVM_CAP_ARM_EL2_E2H0)") ||
	    refused(vm->spe && !check_cap(vm->vm_fd, LKVM_CAP_ARM_SPE_RFC),
		    "--spe: this host's KVM has no SPE support for guests (no KVM_CAP_ARM_SPE: needs a kernel with the KVM SPE RFC v3 patches)") ||
	    refused(vm->aarch32 && (vm->nested || vm->spe),
		    "--aarch32 cannot be combined with --nested or --spe (AArch64 features)") ||
	    refused(vm->aarch32 && !check_cap(vm->vm_fd, KVM_CAP_ARM_EL1_32BIT),
		    "--aarch32: this host's KVM cannot run a 32-bit EL1 (no KVM_CAP_ARM_EL1_32BIT)") ||
	    refused(vm->pmu && !check_cap(vm->vm_fd, KVM_CAP_ARM_PMU_V3),
		    "--pmu: this host's KVM has no PMUv3 for guests (no KVM_CAP_ARM_PMU_V3)"))
		return -1;
	return 0;
}

void arm_vcpu_features(const struct arm_vm *vm, unsigned int id,
		       u32 features[ARM_VCPU_FEATURE_WORDS])
{
	memset(features, 0, ARM_VCPU_FEATURE_WORDS * sizeof(u32));
	/* PSCI 0.2+: the secondaries wait powered off for CPU_ON. */
	features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (id)
		features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (vm->pmu)
		features[0] |= 1U << KVM_ARM_VCPU_PMU_V3;
	if (vm->aarch32)
		features[0] |= 1U << KVM_ARM_VCPU_EL1_32BIT;
	if (vm->nested) {
		features[0] |= 1U << KVM_ARM_VCPU_HAS_EL2;
		if (vm->e2h0)
			features[0] |= 1U << KVM_ARM_VCPU_HAS_EL2_E2H0;
	} else if (vm->spe) {
		/* Same bit as HAS_EL2: only ever set after the RFC's capability. */
		features[0] |= 1U << LKVM_ARM_VCPU_SPE_RFC;
	}
}

u64 arm_boot_pstate(const struct arm_vm *vm)
{
	if (vm->aarch32)
		return ARM_PSTATE_AA32_SVC | ARM_PSTATE_AA32_IF;
	return ARM_PSTATE_DAIF | (vm->nested ? ARM_PSTATE_EL2H : ARM_PSTATE_EL1H);
}

static int set_attr(int fd, u32 group, u64 attr, const void *val, const char *what)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (u64)(unsigned long)val,
	};

	if (arm_kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		pr_err("%s failed: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int create_device(int vm_fd, u32 type, const char *what)
{
	struct kvm_create_device cd = { .type = type };

	if (arm_kvm_ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		pr_err("cannot create the %s: %s", what, strerror(errno));
		return -1;
	}
	return cd.fd;
}

/* A VGIC device and where its register frames go in the guest's memory map. */
struct vgic_desc {
	u32 type;			/* KVM_DEV_TYPE_ARM_VGIC_* */
	const char *what;		/* what the user is told when KVM refuses it */
	unsigned int nr_frames;
	struct {
		u64 addr_type;		/* KVM_VGIC_*_ADDR_TYPE_* */
		u64 base;
		const char *what;
	} frames[2];
};

static const struct vgic_desc gic_v2 = {
	KVM_DEV_TYPE_ARM_VGIC_V2, "GICv2 (--irqchip gicv2; this host may only emulate a GICv3)", 2,
	{ { KVM_VGIC_V2_ADDR_TYPE_DIST, ARM_GIC_DIST_BASE, "placing the GICv2 distributor" },
	  { KVM_VGIC_V2_ADDR_TYPE_CPU, ARM_GIC_CPU_BASE, "placing the GICv2 CPU interface" } },
};

static const struct vgic_desc gic_v3 = {
	KVM_DEV_TYPE_ARM_VGIC_V3, "GICv3 (--irqchip gicv3; try gicv2)", 2,
	{ { KVM_VGIC_V3_ADDR_TYPE_DIST, ARM_GIC_DIST_BASE, "placing the GICv3 distributor" },
	  { KVM_VGIC_V3_ADDR_TYPE_REDIST, ARM_GIC_REDIST_BASE,
	    "placing the GICv3 redistributors" } },
};

static const struct vgic_desc gic_its = {
	KVM_DEV_TYPE_ARM_VGIC_ITS, "GICv3 ITS", 1,
	{ { KVM_VGIC_ITS_ADDR_TYPE, ARM_GIC_ITS_BASE, "placing the GICv3 ITS" } },
};

/* *@fd is the device as soon as it exists: teardown closes it even on failure. */
static int vgic_create(int vm_fd, const struct vgic_desc *d, int *fd)
{
	unsigned int i;

	*fd = create_device(vm_fd, d->type, d->what);
	if (*fd < 0)
		return -1;
	for (i = 0; i < d->nr_frames; i++)
		if (set_attr(*fd, KVM_DEV_ARM_VGIC_GRP_ADDR, d->frames[i].addr_type,
			     &d->frames[i].base, d->frames[i].what))
			return -1;
	return 0;
}

int arm_gic_create(struct arm_vm *vm)
{
	vm->gic_fd = vm->its_fd = -1;
	if (vgic_create(vm->vm_fd, vm->gic == ARM_GIC_V2 ? &gic_v2 : &gic_v3, &vm->gic_fd))
		return -1;
	if (vm->gic != ARM_GIC_V3_ITS)
		return 0;
	return vgic_create(vm->vm_fd, &gic_its, &vm->its_fd);
}

static int vcpu_pmu_init(int fd, unsigned int id)
{
	int irq = ARM_PPI(ARM_PPI_PMU);
	char what[48];

	snprintf(what, sizeof(what), "PMU setup of vCPU %u", id);
	if (set_attr(fd, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_IRQ, &irq, what) ||
	    set_attr(fd, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_INIT, NULL, what))
		return -1;
	return 0;
}

int arm_vm_irqs_init(struct arm_vm *vm, const int *vcpu_fds)
{
	u32 nr_irqs = ARM_SPI_BASE + ARM_NR_SPIS;
	u32 maint = ARM_PPI(ARM_PPI_VGIC_MAINT);
	unsigned int i;

	/* Everything the VGIC init freezes goes first. */
	if (set_attr(vm->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs,
		     "setting the number of GIC interrupts"))
		return -1;
	if (vm->nested &&
	    set_attr(vm->gic_fd, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0, &maint,
		     "setting the VGIC maintenance interrupt (--nested)"))
		return -1;
	if (set_attr(vm->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		     NULL, "initialising the GIC"))
		return -1;
	if (vm->its_fd >= 0 &&
	    set_attr(vm->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		     NULL, "initialising the GIC ITS"))
		return -1;
	/* The PMU and SPE of each vCPU need an initialised VGIC. */
	for (i = 0; i < vm->nr_cpus; i++) {
		if (vm->pmu && vcpu_pmu_init(vcpu_fds[i], i))
			return -1;
		if (vm->spe && arm_spe_vcpu_init(vcpu_fds[i], i))
			return -1;
	}
	return 0;
}

void arm_gic_destroy(struct arm_vm *vm)
{
	if (vm->its_fd >= 0)
		close(vm->its_fd);
	if (vm->gic_fd >= 0)
		close(vm->gic_fd);
	vm->its_fd = vm->gic_fd = -1;
}
