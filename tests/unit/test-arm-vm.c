// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 VM bring-up at the KVM boundary: arm/vm.c and arm/spe.c run
 * against a recorder standing in for arm/sys.c (ioctls, mlock, rlimits).
 * Checks the vCPU feature words and PSTATE, the capability checks behind
 * --nested / --e2h0 / --spe / --pmu with their one-line refusals, and the
 * order of the GIC, maintenance interrupt, PMU and SPE calls.
 */
#include <errno.h>
#include <unistd.h>

#include "lkvm/arm-kvm.h"
#include "lkvm/arm-layout.h"
#include "lkvm/arm-vm.h"
#include "test.h"

#define VM_FD		100
#define FIRST_DEV_FD	200
#define VCPU_FD(i)	(300 + (i))

/* --- the recorder ---------------------------------------------------------- */

enum call_kind { C_CAP, C_CREATE, C_TEST, C_ATTR, C_RLIMIT, C_MLOCK };

struct call {
	enum call_kind kind;
	int fd;
	long cap;		/* C_CAP */
	u32 type;		/* C_CREATE, C_TEST: device type */
	u32 group;		/* C_ATTR */
	u64 attr;
	bool has_val;
	u64 val;		/* what addr pointed at (u64 for GRP_ADDR, else u32) */
};

static struct call calls[256];
static int ncalls, next_dev_fd;
/* The fake host. */
static bool host_v2, host_v3, host_its;
static int cap_el2, cap_e2h0, cap_spe, cap_pmu, cap_el1_32;
static int fail_at = -1;	/* make call number N fail with EINVAL */
static int rlimit_errno, mlock_errno;

static void reset(void)
{
	memset(calls, 0, sizeof(calls));
	ncalls = 0;
	next_dev_fd = FIRST_DEV_FD;
	host_v2 = false;
	host_v3 = host_its = true;
	cap_el2 = cap_e2h0 = cap_spe = cap_el1_32 = 0;
	cap_pmu = 1;
	fail_at = -1;
	rlimit_errno = mlock_errno = 0;
}

static struct call *record(enum call_kind kind, int fd)
{
	struct call *c = &calls[ncalls < 255 ? ncalls++ : 255];

	c->kind = kind;
	c->fd = fd;
	return c;
}

static bool failing(void)
{
	if (ncalls - 1 == fail_at) {
		errno = EINVAL;
		return true;
	}
	return false;
}

int arm_kvm_ioctl(int fd, unsigned long req, void *arg)
{
	struct kvm_create_device *cd = arg;
	struct kvm_device_attr *a = arg;
	struct call *c;

	if (req == KVM_CHECK_EXTENSION) {
		long cap = (long)arg;

		c = record(C_CAP, fd);
		c->cap = cap;
		if (cap == KVM_CAP_ARM_EL2)
			return cap_el2;
		if (cap == KVM_CAP_ARM_EL2_E2H0)
			return cap_e2h0;
		if (cap == LKVM_CAP_ARM_SPE_RFC)
			return cap_spe;
		if (cap == KVM_CAP_ARM_PMU_V3)
			return cap_pmu;
		if (cap == KVM_CAP_ARM_EL1_32BIT)
			return cap_el1_32;
		return 0;
	}
	if (req == KVM_CREATE_DEVICE) {
		bool ok = (cd->type == KVM_DEV_TYPE_ARM_VGIC_V2 && host_v2) ||
			  (cd->type == KVM_DEV_TYPE_ARM_VGIC_V3 && host_v3) ||
			  (cd->type == KVM_DEV_TYPE_ARM_VGIC_ITS && host_its);

		c = record(cd->flags & KVM_CREATE_DEVICE_TEST ? C_TEST : C_CREATE, fd);
		c->type = cd->type;
		if (!ok) {
			errno = ENODEV;
			return -1;
		}
		if (failing())
			return -1;
		if (!(cd->flags & KVM_CREATE_DEVICE_TEST))
			cd->fd = next_dev_fd++;
		return 0;
	}
	if (req == KVM_SET_DEVICE_ATTR) {
		c = record(C_ATTR, fd);
		c->group = a->group;
		c->attr = a->attr;
		if (a->addr) {
			c->has_val = true;
			if (fd < VCPU_FD(0) && a->group == KVM_DEV_ARM_VGIC_GRP_ADDR)
				c->val = *(const u64 *)(unsigned long)a->addr;
			else
				c->val = *(const u32 *)(unsigned long)a->addr;
		}
		return failing() ? -1 : 0;
	}
	errno = ENOTTY;
	return -1;
}

int arm_sys_raise_memlock(u64 bytes)
{
	struct call *c = record(C_RLIMIT, -1);

	c->val = bytes;
	errno = rlimit_errno;
	return rlimit_errno ? -1 : 0;
}

int arm_sys_mlock(const void *addr __unused, size_t len)
{
	struct call *c = record(C_MLOCK, -1);

	c->val = len;
	errno = mlock_errno;
	return mlock_errno ? -1 : 0;
}

/* Index of the first call from @from on matching the pattern, or -1. */
static int find(int from, enum call_kind kind, int fd, u32 group, u64 attr)
{
	int i;

	for (i = from; i < ncalls; i++)
		if (calls[i].kind == kind && calls[i].fd == fd &&
		    (kind != C_ATTR || (calls[i].group == group && calls[i].attr == attr)))
			return i;
	return -1;
}

static int find_create(u32 type)
{
	int i;

	for (i = 0; i < ncalls; i++)
		if (calls[i].kind == C_CREATE && calls[i].type == type)
			return i;
	return -1;
}

static bool asked_cap(long cap)
{
	int i;

	for (i = 0; i < ncalls; i++)
		if (calls[i].kind == C_CAP && calls[i].cap == cap)
			return true;
	return false;
}

static int count_kind(enum call_kind kind)
{
	int i, n = 0;

	for (i = 0; i < ncalls; i++)
		n += calls[i].kind == kind;
	return n;
}

static struct arm_vm vm_cfg(enum arm_gic_type gic, unsigned int cpus)
{
	struct arm_vm vm = {
		.vm_fd = VM_FD, .nr_cpus = cpus, .gic = gic, .gic_fd = -1, .its_fd = -1,
	};

	return vm;
}

static const int vcpu_fds[4] = { VCPU_FD(0), VCPU_FD(1), VCPU_FD(2), VCPU_FD(3) };

/* --- vCPU features and PSTATE ---------------------------------------------- */

static void test_vcpu_features(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3_ITS, 2);
	u32 f[ARM_VCPU_FEATURE_WORDS];
	unsigned int i;

	arm_vcpu_features(&vm, 0, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2);
	for (i = 1; i < ARM_VCPU_FEATURE_WORDS; i++)
		CHECK_EQ(f[i], 0);
	/* Secondaries wait for PSCI CPU_ON. */
	arm_vcpu_features(&vm, 1, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << KVM_ARM_VCPU_POWER_OFF);
	vm.pmu = true;
	arm_vcpu_features(&vm, 0, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << KVM_ARM_VCPU_PMU_V3);
	vm.pmu = false;
	vm.nested = true;
	arm_vcpu_features(&vm, 1, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << KVM_ARM_VCPU_POWER_OFF |
		 1U << 7);
	vm.e2h0 = true;
	arm_vcpu_features(&vm, 0, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << 7 | 1U << 8);
	/* SPE uses the RFC's bit 7, never together with nested. */
	vm.nested = vm.e2h0 = false;
	vm.spe = true;
	arm_vcpu_features(&vm, 0, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << LKVM_ARM_VCPU_SPE_RFC);
	vm.nested = true;
	arm_vcpu_features(&vm, 0, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << KVM_ARM_VCPU_HAS_EL2);
}

static void test_boot_pstate(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3, 1);

	/* D, A, I, F masked; EL1h, or EL2h for a guest hypervisor. */
	CHECK_EQ(arm_boot_pstate(&vm), 0x3c5);
	vm.nested = true;
	CHECK_EQ(arm_boot_pstate(&vm), 0x3c9);
	/* AArch32: SVC mode, IRQ and FIQ masked (kvmtool's and Linux's entry). */
	vm.nested = false;
	vm.aarch32 = true;
	CHECK_EQ(arm_boot_pstate(&vm), 0xd3);
}

/* --- GIC choice -------------------------------------------------------------- */

static void test_gic_probe(void)
{
	enum arm_gic_type t = ARM_GIC_V2;

	reset();
	CHECK(arm_gic_probe(VM_FD, &t) == 0);
	CHECK_EQ(t, ARM_GIC_V3_ITS);
	CHECK_EQ(count_kind(C_CREATE), 0);	/* only KVM_CREATE_DEVICE_TEST */
	reset();
	host_its = false;
	CHECK(arm_gic_probe(VM_FD, &t) == 0);
	CHECK_EQ(t, ARM_GIC_V3);
	reset();
	host_v3 = host_its = false;
	host_v2 = true;
	CHECK(arm_gic_probe(VM_FD, &t) == 0);
	CHECK_EQ(t, ARM_GIC_V2);
	reset();
	host_v3 = host_its = false;
	CHECK(arm_gic_probe(VM_FD, &t) == -1);
	CHECK(arm_gic_parse("gicv3-its", &t) == 0 && t == ARM_GIC_V3_ITS);
	CHECK(arm_gic_parse("gicv2", &t) == 0 && t == ARM_GIC_V2);
	CHECK(arm_gic_parse("gicv4", &t) == -1);
	CHECK(!strcmp(arm_gic_name(ARM_GIC_V3), "gicv3"));
}

/* --- capability checks and refusals ---------------------------------------- */

static int check_features(struct arm_vm *vm)
{
	int r;

	test_capture_begin();
	r = arm_vm_check_features(vm);
	test_capture_end();
	return r;
}

/* check_features() refuses @vm in one line naming @what and @what2 (""). */
#define CHECK_REFUSED(vm, what, what2)					\
	do {								\
		CHECK(check_features(vm) == -1);			\
		CHECK(strstr(test_captured, what));			\
		CHECK(strstr(test_captured, what2));			\
		CHECK_EQ(test_lines(test_captured), 1);			\
	} while (0)

static void test_nested_refused_without_el2(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3_ITS, 2);

	reset();
	vm.nested = true;
	CHECK_REFUSED(&vm, "--nested", "KVM_CAP_ARM_EL2");
	CHECK(asked_cap(KVM_CAP_ARM_EL2));
	reset();
	cap_el2 = 1;
	CHECK(check_features(&vm) == 0);
	CHECK_EQ(test_captured[0], 0);
	/* --e2h0 needs its own capability... */
	reset();
	cap_el2 = 1;
	vm.e2h0 = true;
	CHECK_REFUSED(&vm, "KVM_CAP_ARM_EL2_E2H0", "");
	reset();
	cap_el2 = cap_e2h0 = 1;
	CHECK(check_features(&vm) == 0);
	/* ...and --nested. */
	vm.nested = false;
	reset();
	CHECK(check_features(&vm) == -1);
	CHECK(strstr(test_captured, "--e2h0"));
}

static void test_nested_needs_gicv3(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V2, 2);

	reset();
	cap_el2 = 1;
	vm.nested = true;
	CHECK_REFUSED(&vm, "GICv3", "");
}

static void test_spe_refused(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3_ITS, 2);

	/* An upstream kernel: no KVM_CAP_ARM_SPE. */
	reset();
	vm.spe = true;
	CHECK_REFUSED(&vm, "--spe", "KVM_CAP_ARM_SPE");
	CHECK(asked_cap(LKVM_CAP_ARM_SPE_RFC));
	/* Never with --nested, whatever the kernel says. */
	reset();
	cap_spe = cap_el2 = 1;
	vm.nested = true;
	CHECK_REFUSED(&vm, "--spe", "--nested");
	CHECK(!asked_cap(LKVM_CAP_ARM_SPE_RFC));
	reset();
	cap_spe = 1;
	vm.nested = false;
	CHECK(check_features(&vm) == 0);
}

static void test_aarch32(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3, 2);
	u32 f[ARM_VCPU_FEATURE_WORDS];

	vm.aarch32 = true;
	arm_vcpu_features(&vm, 1, f);
	CHECK_EQ(f[0], 1U << KVM_ARM_VCPU_PSCI_0_2 | 1U << KVM_ARM_VCPU_POWER_OFF |
		 1U << KVM_ARM_VCPU_EL1_32BIT);
	/* A host without 32-bit EL1 (most arm64 server CPUs): one line. */
	reset();
	CHECK_REFUSED(&vm, "--aarch32", "KVM_CAP_ARM_EL1_32BIT");
	CHECK(asked_cap(KVM_CAP_ARM_EL1_32BIT));
	reset();
	cap_el1_32 = 1;
	CHECK(check_features(&vm) == 0);
	/* Not with AArch64-only features, whatever KVM offers. */
	reset();
	cap_el1_32 = cap_spe = 1;
	vm.spe = true;
	CHECK_REFUSED(&vm, "--aarch32", "");
}

static void test_pmu_and_cpu_limits(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3, 2);

	reset();
	cap_pmu = 0;
	vm.pmu = true;
	CHECK(check_features(&vm) == -1);
	CHECK(strstr(test_captured, "KVM_CAP_ARM_PMU_V3"));
	vm.pmu = false;
	vm.gic = ARM_GIC_V2;
	vm.nr_cpus = 9;
	CHECK(check_features(&vm) == -1);
	CHECK(strstr(test_captured, "gicv2"));
	vm.gic = ARM_GIC_V3;
	vm.nr_cpus = ARM_GICV3_MAX_CPUS + 1;
	CHECK(check_features(&vm) == -1);
	vm.nr_cpus = ARM_GICV3_MAX_CPUS;
	CHECK(check_features(&vm) == 0);
}

/* --- the bring-up order ------------------------------------------------------- */

static void test_gicv3_its_nested_order(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3_ITS, 2);
	int gic, its, dist, redist, its_addr, nr, maint, init, its_init, i;

	reset();
	vm.nested = true;
	CHECK(arm_gic_create(&vm) == 0);
	CHECK(arm_vm_irqs_init(&vm, vcpu_fds) == 0);
	gic = find_create(KVM_DEV_TYPE_ARM_VGIC_V3);
	its = find_create(KVM_DEV_TYPE_ARM_VGIC_ITS);
	CHECK(gic >= 0 && its > gic);
	CHECK_EQ(vm.gic_fd, FIRST_DEV_FD);
	CHECK_EQ(vm.its_fd, FIRST_DEV_FD + 1);
	dist = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST);
	redist = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST);
	its_addr = find(0, C_ATTR, vm.its_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE);
	nr = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0);
	maint = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0);
	init = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT);
	its_init = find(0, C_ATTR, vm.its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT);
	CHECK(dist > gic && redist > gic && its_addr > its);
	CHECK_EQ(calls[dist].val, ARM_GIC_DIST_BASE);
	CHECK_EQ(calls[redist].val, ARM_GIC_REDIST_BASE);
	CHECK_EQ(calls[its_addr].val, ARM_GIC_ITS_BASE);
	CHECK_EQ(calls[nr].val, 32 + ARM_NR_SPIS);
	/* The maintenance interrupt (PPI 9 = INTID 25) goes in before the init. */
	CHECK(maint >= 0 && calls[maint].val == 25);
	CHECK(nr >= 0 && nr < init && maint < init);
	CHECK(its_init > init);
	/* No vCPU attributes without PMU or SPE. */
	for (i = 0; i < ncalls; i++)
		CHECK(calls[i].fd < VCPU_FD(0));
}

static void test_gicv3_no_maint_without_nested(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3, 1);

	reset();
	CHECK(arm_gic_create(&vm) == 0);
	CHECK(arm_vm_irqs_init(&vm, vcpu_fds) == 0);
	CHECK(find_create(KVM_DEV_TYPE_ARM_VGIC_ITS) < 0);
	CHECK_EQ(vm.its_fd, -1);
	CHECK(find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0) < 0);
	CHECK(find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
		   KVM_DEV_ARM_VGIC_CTRL_INIT) >= 0);
}

static void test_gicv2_order(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V2, 2);
	int dist, cpu, init;

	reset();
	host_v2 = true;
	CHECK(arm_gic_create(&vm) == 0);
	CHECK(arm_vm_irqs_init(&vm, vcpu_fds) == 0);
	CHECK(find_create(KVM_DEV_TYPE_ARM_VGIC_V2) == 0);
	dist = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST);
	cpu = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU);
	init = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT);
	CHECK_EQ(calls[dist].val, ARM_GIC_DIST_BASE);
	CHECK_EQ(calls[cpu].val, ARM_GIC_CPU_BASE);
	CHECK(init > cpu && init > dist);
	/* A GICv3-only host refuses a GICv2 with one line. */
	reset();
	vm = vm_cfg(ARM_GIC_V2, 2);
	test_capture_begin();
	CHECK(arm_gic_create(&vm) == -1);
	test_capture_end();
	CHECK(strstr(test_captured, "GICv2"));
	CHECK_EQ(test_lines(test_captured), 1);
}

/*
 * --spe --pmu on 3 vCPUs, in lkvm's order: memory locked (RAM setup), GIC
 * created, VGIC initialised, then per vCPU the PMU and SPE interrupt and
 * init, and the VM-wide FINALIZE at the very end (INIT_LAST).
 */
static void test_spe_sequence(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3_ITS, 3);
	static u8 ram[4096];
	int rl, ml, init, fin, i, prev;

	reset();
	cap_spe = 1;
	vm.spe = vm.pmu = true;
	CHECK(arm_vm_check_features(&vm) == 0);
	CHECK(arm_spe_lock_memory(ram, sizeof(ram)) == 0);
	CHECK(arm_gic_create(&vm) == 0);
	CHECK(arm_vm_irqs_init(&vm, vcpu_fds) == 0);
	CHECK(arm_spe_finalize(&vm) == 0);

	rl = find(0, C_RLIMIT, -1, 0, 0);
	ml = find(0, C_MLOCK, -1, 0, 0);
	CHECK(rl >= 0 && ml > rl);
	CHECK_EQ(calls[rl].val, sizeof(ram));
	CHECK_EQ(calls[ml].val, sizeof(ram));
	init = find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT);
	CHECK(init > ml);
	CHECK(find(0, C_ATTR, vm.gic_fd, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0) < 0);
	prev = init;
	for (i = 0; i < 3; i++) {
		int pirq = find(0, C_ATTR, VCPU_FD(i), KVM_ARM_VCPU_PMU_V3_CTRL,
				KVM_ARM_VCPU_PMU_V3_IRQ);
		int pinit = find(0, C_ATTR, VCPU_FD(i), KVM_ARM_VCPU_PMU_V3_CTRL,
				 KVM_ARM_VCPU_PMU_V3_INIT);
		int sirq = find(0, C_ATTR, VCPU_FD(i), LKVM_ARM_VCPU_SPE_CTRL,
				LKVM_ARM_VCPU_SPE_IRQ);
		int sinit = find(0, C_ATTR, VCPU_FD(i), LKVM_ARM_VCPU_SPE_CTRL,
				 LKVM_ARM_VCPU_SPE_INIT);

		/* Each after the VGIC init and the previous vCPU; IRQ before init. */
		CHECK(pirq > prev && pinit > pirq && sirq > prev && sinit > sirq);
		CHECK(pirq >= 0 && calls[pirq].val == 23);
		/* The same SPE PPI (INTID 21) on every vCPU. */
		CHECK(sirq >= 0 && calls[sirq].has_val && calls[sirq].val == 21);
		CHECK(sinit >= 0 && !calls[sinit].has_val);
		prev = max(pinit, sinit);
	}
	fin = find(0, C_ATTR, VM_FD, LKVM_ARM_VM_SPE_CTRL, LKVM_ARM_VM_SPE_FINALIZE);
	CHECK(fin == ncalls - 1 && fin > prev);
}

static void test_spe_failures(void)
{
	struct arm_vm vm = vm_cfg(ARM_GIC_V3, 2);
	static u8 ram[4096];
	int sinit;

	/* RLIMIT_MEMLOCK cannot be raised: one line, and no mlock attempt. */
	reset();
	rlimit_errno = EPERM;
	test_capture_begin();
	CHECK(arm_spe_lock_memory(ram, sizeof(ram)) == -1);
	test_capture_end();
	CHECK(strstr(test_captured, "RLIMIT_MEMLOCK"));
	CHECK_EQ(test_lines(test_captured), 1);
	CHECK_EQ(count_kind(C_MLOCK), 0);
	reset();
	mlock_errno = ENOMEM;
	test_capture_begin();
	CHECK(arm_spe_lock_memory(ram, sizeof(ram)) == -1);
	test_capture_end();
	CHECK(strstr(test_captured, "lock"));
	CHECK_EQ(test_lines(test_captured), 1);

	/* A vCPU's SPE init failing stops the bring-up there. */
	reset();
	vm.spe = true;
	CHECK(arm_gic_create(&vm) == 0);
	fail_at = ncalls + 4;	/* NR_IRQS, INIT, vCPU 0 IRQ, vCPU 0 INIT, vCPU 1 IRQ */
	test_capture_begin();
	CHECK(arm_vm_irqs_init(&vm, vcpu_fds) == -1);
	test_capture_end();
	sinit = find(0, C_ATTR, VCPU_FD(1), LKVM_ARM_VCPU_SPE_CTRL, LKVM_ARM_VCPU_SPE_INIT);
	CHECK(sinit < 0);
	CHECK(strstr(test_captured, "vCPU 1"));
	/* FINALIZE failing is reported. */
	reset();
	fail_at = 0;
	test_capture_begin();
	CHECK(arm_spe_finalize(&vm) == -1);
	test_capture_end();
	CHECK(strstr(test_captured, "finalis"));
}

TEST_MAIN_BEGIN("arm-vm")
	RUN(test_vcpu_features);
	RUN(test_boot_pstate);
	RUN(test_gic_probe);
	RUN(test_nested_refused_without_el2);
	RUN(test_nested_needs_gicv3);
	RUN(test_spe_refused);
	RUN(test_aarch32);
	RUN(test_pmu_and_cpu_limits);
	RUN(test_gicv3_its_nested_order);
	RUN(test_gicv3_no_maint_without_nested);
	RUN(test_gicv2_order);
	RUN(test_spe_sequence);
	RUN(test_spe_failures);
TEST_MAIN_END()
