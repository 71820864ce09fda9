// SPDX-License-Identifier: GPL-2.0
/*
 * How an x86 guest finds virtio-mmio devices. Stock distribution kernels
 * enumerate them from ACPI (_HID "LNRO0005" with a memory and an interrupt
 * resource); kernels built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (and no
 * ACPI) take "virtio_mmio.device=SIZE@ADDR:IRQ" from their command line.
 * lkvm announces every device both ways.
 */
#include <stdio.h>

#include "lkvm/acpi.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-mmio.h"

struct dsdt_ctx {
	struct aml *a;
	unsigned int n;
};

static void describe(const struct virtio_mmio_info *info, void *arg)
{
	struct dsdt_ctx *c = arg;
	u8 crs[2 * AML_RES_MAX];
	char name[5];
	size_t n;

	n = aml_res_mem32_fixed(crs, info->base, info->size);
	n += aml_res_irq_level_shared(crs + n, info->irq);
	snprintf(name, sizeof(name), "V%03X", c->n & 0xfff);
	aml_device_begin(c->a, name);
	aml_name_string(c->a, "_HID", "LNRO0005");
	aml_name_integer(c->a, "_UID", c->n);
	aml_name_resources(c->a, "_CRS", crs, n);
	aml_pkg_end(c->a);
	c->n++;
}

static void dsdt_hook_fn(struct aml *a, struct kvm *kvm)
{
	struct dsdt_ctx c = { .a = a };

	virtio_mmio_for_each(kvm, describe, &c);
}

static struct acpi_dsdt_hook dsdt_hook = { .fn = dsdt_hook_fn };

static void __attribute__((constructor)) register_dsdt_hook(void)
{
	acpi_register_dsdt_hook(&dsdt_hook);
}

static void add_cmdline(const struct virtio_mmio_info *info, void *arg)
{
	struct kvm *kvm = arg;
	char s[80];

	snprintf(s, sizeof(s), "virtio_mmio.device=%lluK@0x%llx:%u",
		 (unsigned long long)info->size >> 10,
		 (unsigned long long)info->base, info->irq);
	kvm__append_cmdline(kvm, s);
}

/* Runs before the loader writes the command line into the guest. */
static int virtio_mmio_cmdline(struct kvm *kvm)
{
	virtio_mmio_for_each(kvm, add_cmdline, kvm);
	return 0;
}
firmware_init(virtio_mmio_cmdline, NULL);
