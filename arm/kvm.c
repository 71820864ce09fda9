// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 VM setup: the capability checks behind --nested, --spe and --pmu,
 * the choice of GIC, guest RAM at 2 GiB, and SPE's memory locking and
 * finalisation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/arm-image.h"
#include "lkvm/arm-kvm.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/parse-options.h"

const struct kvm_cap_req kvm_arch_required_caps[] = {
	{ KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2" },
	{ KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL" },
	{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG" },
	{ 0, NULL },
};

int arm_option_irqchip(const struct option *opt, const char *arg)
{
	enum arm_gic_type type;

	if (!strcmp(arg, "gicv2m")) {
		pr_err("run: --irqchip gicv2m: lkvm has no GICv2m MSI frame (use gicv3-its for MSIs)");
		return -1;
	}
	if (arm_gic_parse(arg, &type)) {
		pr_err("run: --irqchip '%s' is not supported (use: gicv2, gicv3, gicv3-its)",
		       arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

/* kvmtool's --force-pci: the old spelling of --virtio-transport pci. */
int arm_option_force_pci(const struct option *opt, const char *arg __unused)
{
	*(const char **)opt->value = "pci";
	return 0;
}

/* kvmtool's arm64 options that mean nothing to lkvm, which never enables them. */
int arm_option_accept(const struct option *opt __unused, const char *arg __unused)
{
	return 0;
}

/* --firmware-address, --kaslr-seed: a u64 (decimal or 0x hex). */
int arm_option_u64(const struct option *opt, const char *arg)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-') {
		pr_err("run: --%s expects a number, not '%s'", opt->long_name, arg);
		return -1;
	}
	*(u64 *)opt->value = v;
	return 0;
}

int kvm__arch_init(struct kvm *kvm)
{
	struct arm_vm *vm = &kvm->arch.vm;

	vm->vm_fd = kvm->vm_fd;
	vm->gic_fd = vm->its_fd = -1;
	vm->nr_cpus = kvm->cfg.nrcpus;
	vm->nested = kvm->cfg.nested;
	vm->e2h0 = kvm->cfg.e2h0;
	vm->pmu = kvm->cfg.pmu;
	vm->spe = kvm->cfg.spe;
	vm->aarch32 = kvm->cfg.aarch32;
	if (kvm->cfg.irqchip) {
		arm_gic_parse(kvm->cfg.irqchip, &vm->gic);
	} else if (arm_gic_probe(kvm->vm_fd, &vm->gic)) {
		pr_err("this host's KVM offers no in-kernel GIC for guests");
		return -1;
	}
	if (arm_vm_check_features(vm))
		return -1;
	arm_irq_set_its(vm->gic == ARM_GIC_V3_ITS);
	kvm->arch.mpidr = xzalloc(vm->nr_cpus * sizeof(*kvm->arch.mpidr));
	pr_debug("arm64: %s, %u vCPUs%s%s%s%s", arm_gic_name(vm->gic), vm->nr_cpus,
		 vm->nested ? ", nested" : "", vm->e2h0 ? " (E2H0)" : "",
		 vm->pmu ? ", PMUv3" : "", vm->spe ? ", SPE" : "");
	return 0;
}

int kvm__arch_check_ram_size(struct kvm *kvm __unused, u64 size)
{
	if (ARM_RAM_BASE + size > 1ULL << ARM_IPA_BITS) {
		pr_err("guest memory of %llu MiB does not fit in the VM's %u-bit physical address space above 2 GiB",
		       (unsigned long long)(size >> 20), ARM_IPA_BITS);
		return -1;
	}
	return 0;
}

int kvm__arch_setup_ram(struct kvm *kvm)
{
	if (kvm__register_ram(kvm, ARM_RAM_BASE, kvm->ram_map_size, kvm->ram))
		return -1;
	/* SPE writes guest memory behind stage 2's back: all of it stays resident. */
	if (kvm->cfg.spe && arm_spe_lock_memory(kvm->ram, kvm->ram_map_size))
		return -1;
	return 0;
}

int kvm__arch_create_irqchip(struct kvm *kvm)
{
	return arm_gic_create(&kvm->arch.vm);
}

void kvm__arch_exit(struct kvm *kvm)
{
	/* vm_fd is set once kvm__arch_init ran (and the GIC fds are -1 then). */
	if (kvm->arch.vm.vm_fd > 0)
		arm_gic_destroy(&kvm->arch.vm);
	free(kvm->arch.mpidr);
	kvm->arch.mpidr = NULL;
}

/* After every loader: the RFC's VM-wide SPE finalisation. */
static int arm_spe_last(struct kvm *kvm)
{
	if (!kvm->cfg.spe)
		return 0;
	return arm_spe_finalize(&kvm->arch.vm);
}
last_init(arm_spe_last, NULL);

int kvm__arch_check_kernel(int fd __unused, const u8 *hdr, size_t len, u64 size __unused,
			   const char **err)
{
	struct arm_image img;

	/* A gzipped Image is checked as it is decompressed into guest RAM. */
	if (len >= 2 && hdr[0] == 0x1f && hdr[1] == 0x8b)
		return 0;
	if (len >= ARM_IMAGE_HDR_SIZE &&
	    get_le32(hdr + ARM_IMAGE_MAGIC_OFF) == ARM_IMAGE_MAGIC)
		return arm_image_parse(hdr, len, &img, err);
	/* No header: kvmtool boots it as a raw binary, and so does lkvm. */
	return arm_raw_check(hdr, len, err);
}
