/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_VM_H
#define LKVM_ARM_VM_H

#include "lkvm/util.h"

/*
 * The arm64 VM's interrupt controller and per-vCPU features, kept apart
 * from struct kvm so that the order of the KVM calls can be checked by a
 * unit test on any host: every ioctl goes through arm_kvm_ioctl() and every
 * memory locking call through arm_sys_*() (arm/sys.c), which the test
 * replaces with a recorder.
 *
 * The order KVM requires, and lkvm follows:
 *   1. VM created; capabilities checked (arm_vm_check_features)
 *   2. VGIC device created, its addresses set; ITS likewise (arm_gic_create)
 *   3. every vCPU created and KVM_ARM_VCPU_INIT'ed with arm_vcpu_features()
 *   4. number of IRQs, maintenance IRQ (nested), VGIC init, ITS init, then
 *      per vCPU: PMU IRQ + init, SPE IRQ + init (arm_vm_irqs_init)
 *   5. devices, firmware, loaders write guest memory
 *   6. guest memory locked (SPE, done early) and SPE finalised (INIT_LAST)
 */
enum arm_gic_type {
	ARM_GIC_V2,
	ARM_GIC_V3,
	ARM_GIC_V3_ITS,
};

struct arm_vm {
	int vm_fd;
	unsigned int nr_cpus;
	enum arm_gic_type gic;
	int gic_fd, its_fd;		/* -1 until created */
	bool nested;			/* KVM_ARM_VCPU_HAS_EL2 */
	bool e2h0;			/* ... with KVM_ARM_VCPU_HAS_EL2_E2H0 */
	bool pmu;			/* KVM_ARM_VCPU_PMU_V3 */
	bool spe;			/* the SPE RFC's feature */
	bool aarch32;			/* KVM_ARM_VCPU_EL1_32BIT */
};

#define ARM_VCPU_FEATURE_WORDS	7	/* struct kvm_vcpu_init.features */

/* PSTATE values (SPSR layout) for the boot vCPU. */
#define ARM_PSTATE_DAIF		(0xfULL << 6)	/* D, A, I and F masked */
#define ARM_PSTATE_EL1H		0x5ULL
#define ARM_PSTATE_EL2H		0x9ULL
/* An AArch32 guest starts in SVC mode with IRQs and FIQs masked. */
#define ARM_PSTATE_AA32_SVC	0x13ULL
#define ARM_PSTATE_AA32_IF	(0x3ULL << 6)

/* The system boundary (arm/sys.c; a recorder in the unit test). */
int arm_kvm_ioctl(int fd, unsigned long req, void *arg);
int arm_sys_mlock(const void *addr, size_t len);
int arm_sys_raise_memlock(u64 bytes);	/* RLIMIT_MEMLOCK to at least @bytes */

/* "gicv2", "gicv3", "gicv3-its" */
const char *arm_gic_name(enum arm_gic_type type);
int arm_gic_parse(const char *name, enum arm_gic_type *type);

/*
 * The best interrupt controller KVM can create for this VM (probed with
 * KVM_CREATE_DEVICE_TEST). Returns -1 when it has none at all.
 */
int arm_gic_probe(int vm_fd, enum arm_gic_type *best);

/*
 * Check that KVM offers what the configuration asks for (nested, E2H0,
 * PMU, SPE, the vCPU count for the GIC); prints one line and returns -1
 * when it does not.
 */
int arm_vm_check_features(const struct arm_vm *vm);

/* The KVM_ARM_VCPU_INIT feature words of vCPU @id. */
void arm_vcpu_features(const struct arm_vm *vm, unsigned int id,
		       u32 features[ARM_VCPU_FEATURE_WORDS]);
/*
 * The boot vCPU's PSTATE: EL2h with --nested, EL1h otherwise, DAIF masked;
 * AArch32 SVC with I and F masked for --aarch32.
 */
u64 arm_boot_pstate(const struct arm_vm *vm);

/* Create the VGIC (and ITS) and place them (step 2). */
int arm_gic_create(struct arm_vm *vm);
/* Steps 4: call once every vCPU exists and is initialised. */
int arm_vm_irqs_init(struct arm_vm *vm, const int *vcpu_fds);
void arm_gic_destroy(struct arm_vm *vm);

/* SPE (arm/spe.c). */
int arm_spe_lock_memory(void *ram, u64 size);
int arm_spe_vcpu_init(int vcpu_fd, unsigned int id);
int arm_spe_finalize(const struct arm_vm *vm);

#endif
