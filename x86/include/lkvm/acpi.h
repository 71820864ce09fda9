/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ACPI_H
#define LKVM_ACPI_H

#include "lkvm/util.h"

/* A growing byte buffer for AML, with PkgLength back-patching. */
struct aml {
	u8 *buf;
	size_t len, cap;
	size_t open[8];		/* offsets of unfinished PkgLength fields */
	unsigned int depth;
};

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, u8 b);
/* Integer constant in the smallest encoding. */
void aml_integer(struct aml *a, u64 v);
/* A 4-character NameSeg such as "_S5_". */
void aml_nameseg(struct aml *a, const char *seg);
void aml_string(struct aml *a, const char *s);
/* Open/close a PkgLength-prefixed construct after emitting its opcode. */
void aml_pkg_begin(struct aml *a);
void aml_pkg_end(struct aml *a);

/* Name(seg, integer) and Name(seg, "string") */
void aml_name_integer(struct aml *a, const char *seg, u64 v);
void aml_name_string(struct aml *a, const char *seg, const char *s);
/* EISAID ("PNP0A03") */
u32 aml_eisa_id(const char *id);
/* Device (seg) { ...: close it with aml_pkg_end() */
void aml_device_begin(struct aml *a, const char *seg);
/* Name (seg, ResourceTemplate () { res }), adding the end tag. */
void aml_name_resources(struct aml *a, const char *seg, const u8 *res, size_t len);

/*
 * Resource descriptors (ACPI 6.4 section 6.4), written at @p; each returns
 * its length.
 */
#define AML_RES_IO_ENTIRE_RANGE	0x03	/* type-specific flags of an I/O window */
size_t aml_res_word(u8 *p, u8 type, u8 tflags, u16 lo, u16 hi);
size_t aml_res_dword_mem(u8 *p, u32 lo, u32 hi);
size_t aml_res_io(u8 *p, u16 port, u8 len);
size_t aml_res_mem32_fixed(u8 *p, u32 base, u32 len);
size_t aml_res_irq_noflags(u8 *p, u8 irq);
size_t aml_res_irq_level_shared(u8 *p, u32 gsi);
#define AML_RES_MAX	32	/* the longest descriptor above */

/*
 * Devices that describe themselves in the DSDT (virtio-mmio, ...) register
 * a callback; it is run while the DSDT's \_SB scope is open.
 */
struct kvm;
struct acpi_dsdt_hook {
	void (*fn)(struct aml *a, struct kvm *kvm);
	struct acpi_dsdt_hook *next;
};
void acpi_register_dsdt_hook(struct acpi_dsdt_hook *h);

/*
 * Extra tables listed in the XSDT (MCFG, ...). build() writes the body,
 * everything after the 36-byte header, into @body (at most @room bytes)
 * and returns its length, or 0 when it does not fit; acpi.c adds the
 * header with @sig and @rev and the checksum.
 */
struct acpi_table_hook {
	const char *sig;
	u8 rev;
	size_t (*build)(u8 *body, size_t room, struct kvm *kvm);
	struct acpi_table_hook *next;
};
void acpi_register_table_hook(struct acpi_table_hook *h);

/*
 * Build RSDP, XSDT, FADT, MADT, DSDT and the hooks' tables for @kvm's
 * vCPUs and devices into @buf, which will live at guest-physical @gpa.
 * Returns the bytes used, or 0 if @size is too small. The RSDP is at @gpa.
 */
size_t acpi_build_tables(u8 *buf, size_t size, u64 gpa, struct kvm *kvm);

#endif
