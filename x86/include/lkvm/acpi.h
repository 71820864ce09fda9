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

/* Name(seg, integer) */
void aml_name_integer(struct aml *a, const char *seg, u64 v);

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
 * Build RSDP, XSDT, FADT, MADT, DSDT and the hooks' tables for @nrcpus vCPUs into @buf, which
 * will live at guest-physical @gpa. Returns the bytes used, or 0 if @size
 * is too small. The RSDP is at @gpa.
 */
size_t acpi_build_tables(u8 *buf, size_t size, u64 gpa, unsigned int nrcpus,
			 struct kvm *kvm);

#endif
