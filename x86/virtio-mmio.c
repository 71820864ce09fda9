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

#define RES_MEMORY32_FIXED	0x86
#define RES_EXT_IRQ		0x89
#define RES_END_TAG		0x79
#define EXT_IRQ_CONSUMER	(1 << 0)
#define EXT_IRQ_SHARED		(1 << 3)	/* level, active high: bits 1, 2 clear */

static void put32(u8 *p, u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

struct dsdt_ctx {
	struct aml *a;
	unsigned int n;
};

static void describe(const struct virtio_mmio_info *info, void *arg)
{
	struct dsdt_ctx *c = arg;
	struct aml *a = c->a;
	u8 crs[12 + 9 + 2] = { 0 };
	char name[5];

	/* Memory32Fixed (ReadWrite, base, size) */
	crs[0] = RES_MEMORY32_FIXED;
	crs[1] = 9;
	crs[3] = 1;					/* read-write */
	put32(crs + 4, info->base);
	put32(crs + 8, info->size);
	/* Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) { irq } */
	crs[12] = RES_EXT_IRQ;
	crs[13] = 6;
	crs[15] = EXT_IRQ_CONSUMER | EXT_IRQ_SHARED;
	crs[16] = 1;
	put32(crs + 17, info->irq);
	crs[21] = RES_END_TAG;
	crs[22] = 0;					/* checksum 0: "ignore" */

	snprintf(name, sizeof(name), "V%03X", c->n & 0xfff);
	aml_byte(a, 0x5b);				/* Device () */
	aml_byte(a, 0x82);
	aml_pkg_begin(a);
	aml_nameseg(a, name);
	aml_byte(a, 0x08);				/* Name (_HID, "LNRO0005") */
	aml_nameseg(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name_integer(a, "_UID", c->n);
	aml_byte(a, 0x08);				/* Name (_CRS, Buffer () {...}) */
	aml_nameseg(a, "_CRS");
	aml_byte(a, 0x11);
	aml_pkg_begin(a);
	aml_integer(a, sizeof(crs));
	aml_bytes(a, crs, sizeof(crs));
	aml_pkg_end(a);
	aml_pkg_end(a);
	c->n++;
}

static void dsdt_hook_fn(struct aml *a, struct kvm *kvm __unused)
{
	struct dsdt_ctx c = { .a = a };

	virtio_mmio_for_each(describe, &c);
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
	virtio_mmio_for_each(add_cmdline, kvm);
	return 0;
}
firmware_init(virtio_mmio_cmdline, NULL);
