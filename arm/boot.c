// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 loader: the kernel Image at RAM base + text_offset, then, from
 * the top of the kernel's reach down, the device tree and the initrd below
 * it; then the device tree itself, which names the initrd and describes
 * every device the earlier init stages created.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lkvm/arm-fdt.h"
#include "lkvm/arm-image.h"
#include "lkvm/arm-kvm.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/load.h"
#include "lkvm/pci.h"

#define FDT_INITIAL_SIZE	(64 * 1024)
#define RNG_SEED_LEN		64

/*
 * The kernel (an Image, or a raw binary as kvmtool loads it), a 32-bit
 * kernel for --aarch32 (always raw, at kvmtool's 0x8000), or the
 * --firmware binary.
 */
static int load_kernel(struct kvm *kvm, struct arm_kernel *k)
{
	struct arm_ram ram = {
		.gpa = ARM_RAM_BASE, .size = kvm->ram_map_size, .host = kvm->ram,
	};
	const char *what = kvm->cfg.firmware ? "firmware" : "kernel";
	struct load_file f;
	const char *err = NULL;
	int r;

	if (load_open(&f, what, kvm->cfg.firmware ? kvm->cfg.firmware : kvm->cfg.kernel_filename))
		return -1;
	if (kvm->cfg.firmware)
		r = arm_firmware_load(f.fd, &ram, kvm->cfg.firmware_addr ?
				      kvm->cfg.firmware_addr : ARM_RAM_BASE, k, &err);
	else if (kvm->cfg.aarch32)
		r = arm_firmware_load(f.fd, &ram, ARM_RAM_BASE + ARM_AARCH32_TEXT_OFFSET,
				      k, &err);
	else
		r = arm_kernel_load(f.fd, &ram, kvm->arch.mmfr0, k, &err);
	if (r) {
		if (errno)
			pr_err("%s '%s' %s: %s", what, f.path, err, strerror(errno));
		else
			pr_err("%s '%s' %s", what, f.path, err);
	}
	load_close(&f);
	return r;
}

/* The initrd goes just below the device tree, above the kernel. */
struct initrd_range {
	u64 low, high;
};

static int place_initrd(u64 len, u64 *addr, const char *path, void *arg)
{
	struct initrd_range *r = arg;

	if (r->high >= r->low && len <= r->high - r->low &&
	    (*addr = ALIGN_DOWN(r->high - len, SZ_4K)) >= r->low)
		return 0;
	pr_err("initrd '%s' (%llu MiB) does not fit in guest memory with the kernel",
	       path, (unsigned long long)len >> 20);
	return -1;
}

struct mmio_list {
	struct virtio_mmio_info *v;
	unsigned int n;
};

static void collect_mmio(const struct virtio_mmio_info *info, void *ctx)
{
	struct mmio_list *l = ctx;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = *info;
}

static int dump_dtb(const char *path, const void *fdt)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write_full(fd, fdt, fdt_totalsize(fdt)) != (ssize_t)fdt_totalsize(fdt)) {
		pr_err("--dump-dtb: cannot write '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Build the device tree and put it at @addr. */
static int setup_fdt(struct kvm *kvm, u64 addr, u64 initrd, u64 initrd_size)
{
	struct arm_vm *vm = &kvm->arch.vm;
	struct mmio_list mmio = { 0 };
	u8 seed[RNG_SEED_LEN];
	struct arm_fdt_info info = {
		.ram_base = ARM_RAM_BASE, .ram_size = kvm->ram_map_size,
		.nr_cpus = kvm->nrcpus, .mpidr = kvm->arch.mpidr,
		.gic = vm->gic, .nested = vm->nested, .pmu = vm->pmu, .spe = vm->spe,
		.pci = pci_root_bus(kvm) != NULL,
		.bootargs = kvm->cmdline,
		.initrd_start = initrd, .initrd_size = initrd_size,
		.kaslr_seed = kvm->cfg.kaslr_seed,
	};
	size_t size = FDT_INITIAL_SIZE;
	void *fdt = NULL;
	int r, ret = -1;

	virtio_mmio_for_each(kvm, collect_mmio, &mmio);
	info.mmio = mmio.v;
	info.nr_mmio = mmio.n;
	/* Entropy for the guest's early random pool and KASLR. */
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed)) {
		info.rng_seed = seed;
		info.rng_seed_len = sizeof(seed);
	}
	for (;;) {
		fdt = xrealloc(fdt, size);
		r = arm_fdt_build(&info, fdt, size);
		if (r != -FDT_ERR_NOSPACE || size >= ARM_FDT_MAX_SIZE)
			break;
		size *= 2;
	}
	if (r) {
		pr_err("cannot build the device tree: %s", fdt_strerror(r));
		goto out;
	}
	fdt_pack(fdt);
	if (guest_write(&kvm->mem, addr, fdt, fdt_totalsize(fdt))) {
		pr_err("the device tree does not fit in guest memory");
		goto out;
	}
	if (kvm->cfg.dump_dtb && dump_dtb(kvm->cfg.dump_dtb, fdt))
		goto out;
	pr_debug("device tree: %u bytes at 0x%llx, %u virtio-mmio devices",
		 fdt_totalsize(fdt), (unsigned long long)addr, mmio.n);
	ret = 0;
out:
	free(fdt);
	free(mmio.v);
	return ret;
}

static int arm_load(struct kvm *kvm)
{
	u64 ram_end = ARM_RAM_BASE + kvm->ram_map_size, top, fdt_addr, initrd, initrd_size;
	struct initrd_range r;
	struct arm_kernel k;

	if (!kvm->cfg.kernel_filename && !kvm->cfg.firmware) {
		pr_err("no kernel given (use -k/--kernel)");
		return -1;
	}
	if (load_kernel(kvm, &k))
		return -1;
	/*
	 * Before the device tree, which carries the command line. Only for an
	 * arm64 Linux Image: a raw binary's command line is the user's alone.
	 */
	if (!k.raw && arm_image_avoid_lpa2(&k.img, kvm->arch.mmfr0,
				 kvm__check_cap(kvm, KVM_CAP_ARM_VM_IPA_SIZE)) &&
	    !strstr(kvm->cmdline, "arm64.nolva")) {
		pr_debug("guest CPU has LPA2 (ID_AA64MMFR0_EL1 0x%llx), KVM no 52-bit IPA: adding arm64.nolva",
			 (unsigned long long)kvm->arch.mmfr0);
		if (kvm__append_cmdline(kvm, "arm64.nolva"))
			return -1;
	}
	/*
	 * The initrd must lie in the same 32 GiB window (1 GiB aligned) as the
	 * kernel; the device tree in a 2 MiB block of its own.
	 */
	top = min(ram_end, ALIGN_DOWN(k.load, SZ_1G) + 32 * SZ_1G);
	/* A 32-bit kernel reaches them through its lowmem, as kvmtool's 256 MiB. */
	if (kvm->cfg.aarch32)
		top = min(ram_end, ARM_RAM_BASE + ARM_AARCH32_LOWMEM);
	fdt_addr = ALIGN_DOWN(top - ARM_FDT_MAX_SIZE, SZ_2M);
	/* kvmtool puts the device tree right after firmware. */
	if (kvm->cfg.firmware)
		fdt_addr = ALIGN_UP(k.end, SZ_2M);
	if (fdt_addr < ALIGN_UP(k.end, SZ_2M) || fdt_addr + ARM_FDT_MAX_SIZE > ram_end) {
		pr_err("guest memory of %llu MiB is too small for the kernel (%llu MiB) and its device tree",
		       (unsigned long long)kvm->ram_map_size >> 20,
		       (unsigned long long)(k.end - ARM_RAM_BASE) >> 20);
		return -1;
	}
	r = (struct initrd_range){ ALIGN_UP(k.end, SZ_4K), fdt_addr };
	initrd = initrd_size = 0;
	if (kvm->cfg.initrd_filename &&
	    load_initrd(&kvm->mem, kvm->cfg.initrd_filename, r.high - r.low,
			place_initrd, &r, &initrd, &initrd_size))
		return -1;
	if (setup_fdt(kvm, fdt_addr, initrd, initrd_size))
		return -1;
	kvm->arch.boot_pc = k.load;
	kvm->arch.dtb_addr = fdt_addr;
	pr_debug("kernel: %llu KiB%s at 0x%llx (text_offset 0x%llx, image_size %llu KiB, %u KiB pages); initrd: %llu KiB at 0x%llx",
		 (unsigned long long)k.file_size >> 10, k.gzip ? " (gunzipped)" : "",
		 (unsigned long long)k.load, (unsigned long long)k.img.text_offset,
		 (unsigned long long)k.img.image_size >> 10, k.img.page_size >> 10,
		 (unsigned long long)initrd_size >> 10, (unsigned long long)initrd);
	return 0;
}
loader_init(arm_load, NULL);
