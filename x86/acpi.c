// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables for x86 guests: RSDP, XSDT, a hardware-reduced FADT (sleep
 * control/status and reset registers in I/O space, handled by x86/power.c),
 * MADT (one local APIC per vCPU, the IOAPIC) and a DSDT with \_S5.
 *
 * Hardware-reduced ACPI needs no PM timer, GPE blocks or SCI, so the only
 * ACPI hardware lkvm emulates is two I/O ports.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/acpi.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"

#define ACPI_OEM_ID		"LKVM  "
#define ACPI_OEM_TABLE_ID	"LKVMVM  "

/* FADT field offsets (ACPI 6.x, table 5.9). */
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_CENTURY		108
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_MINOR_VERSION	131
#define FADT_X_DSDT		140
#define FADT_SLEEP_CONTROL	244
#define FADT_SLEEP_STATUS	256
#define FADT_HYPERVISOR_ID	268
#define FADT_LEN		276

#define FADT_F_WBINVD		(1 << 0)
#define FADT_F_PWR_BUTTON	(1 << 4)
#define FADT_F_SLP_BUTTON	(1 << 5)
#define FADT_F_RESET_REG_SUP	(1 << 10)
#define FADT_F_HW_REDUCED	(1 << 20)
#define BOOT_ARCH_VGA_NOT_PRESENT (1 << 2)

#define MADT_PCAT_COMPAT	1

/*
 * What other files add to the DSDT and the XSDT: per process, filled by
 * constructors before main() like the init stage registry, never changed
 * after. The hooks are given the VM they describe.
 */
static struct acpi_dsdt_hook *dsdt_hooks;
static struct acpi_table_hook *table_hooks;

void acpi_register_table_hook(struct acpi_table_hook *h)
{
	struct acpi_table_hook **p = &table_hooks;

	while (*p)
		p = &(*p)->next;
	h->next = NULL;
	*p = h;
}

void acpi_register_dsdt_hook(struct acpi_dsdt_hook *h)
{
	struct acpi_dsdt_hook **p = &dsdt_hooks;

	while (*p)
		p = &(*p)->next;
	h->next = NULL;
	*p = h;
}


static u8 checksum(const u8 *p, size_t n)
{
	u8 sum = 0;

	while (n--)
		sum += *p++;
	return -sum;
}

static void header(u8 *t, const char *sig, u32 len, u8 rev)
{
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put_le32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, "LKVM", 4);		/* creator ID */
	put_le32(t + 32, 1);			/* creator revision */
}

static void finish(u8 *t, u32 len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* Generic Address Structure for a byte-wide I/O port. */
static void gas_io8(u8 *g, u16 port)
{
	g[0] = 1;		/* system I/O */
	g[1] = 8;		/* bit width */
	g[2] = 0;		/* bit offset */
	g[3] = 1;		/* byte access */
	put_le64(g + 4, port);
}

/*
 * COM1 must be in the DSDT: with hardware-reduced ACPI Linux sets up no
 * legacy PIC and so no ISA interrupt mappings, and the UART gets its IRQ
 * only through this description (8250_pnp then takes over the port).
 */
static void describe_com1(struct aml *a)
{
	u8 crs[2 * AML_RES_MAX];
	size_t n;

	n = aml_res_io(crs, X86_SERIAL0_PORT, 8);
	n += aml_res_irq_noflags(crs + n, X86_SERIAL0_IRQ);
	aml_device_begin(a, "COM1");
	aml_name_integer(a, "_HID", aml_eisa_id("PNP0501"));
	aml_name_integer(a, "_UID", 1);
	aml_name_resources(a, "_CRS", crs, n);
	aml_pkg_end(a);
}

/* A device with a few I/O ports and nothing else, found by its _HID. */
static void describe_ports(struct aml *a, const char *seg, const char *hid,
			   u16 port, u8 len)
{
	u8 crs[AML_RES_MAX];
	size_t n;

	n = aml_res_io(crs, port, len);
	aml_device_begin(a, seg);
	aml_name_string(a, "_HID", hid);
	aml_name_resources(a, "_CRS", crs, n);
	aml_pkg_end(a);
}

static size_t build_dsdt(u8 *t, size_t room, struct kvm *kvm)
{
	struct acpi_dsdt_hook *h;
	struct aml a = { 0 };
	size_t len;

	/* Name (_S5, Package () { SLP_TYPa, SLP_TYPb, 0, 0 }) */
	aml_byte(&a, 0x08);
	aml_nameseg(&a, "_S5_");
	aml_byte(&a, 0x12);			/* PackageOp */
	aml_pkg_begin(&a);
	aml_byte(&a, 4);
	aml_integer(&a, X86_ACPI_S5_TYP);
	aml_integer(&a, X86_ACPI_S5_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_pkg_end(&a);

	/* Scope (\_SB) { COM1, pvpanic, RTC, then whatever the devices add } */
	aml_byte(&a, 0x10);
	aml_pkg_begin(&a);
	aml_bytes(&a, "\\_SB_", 5);
	describe_com1(&a);
	/* hw/pvpanic.c: Linux's pvpanic-mmio driver binds to QEMU's ACPI ID. */
	describe_ports(&a, "PEVT", "QEMU0001", X86_PVPANIC_PORT, 1);
	/*
	 * The CMOS RTC (hw/rtc.c) too: without a PNP0B00 device Linux's
	 * rtc_cmos falls back to a platform device with ISA IRQ 8, which
	 * hardware-reduced ACPI cannot map, and its probe fails with -EINVAL:
	 * the guest had no /dev/rtc0. The RTC raises no interrupts, so only
	 * its ports are described and rtc_cmos runs without alarms.
	 */
	describe_ports(&a, "RTC_", "PNP0B00", X86_RTC_PORT, 2);
	for (h = dsdt_hooks; h; h = h->next)
		h->fn(&a, kvm);
	aml_pkg_end(&a);

	len = 36 + a.len;
	if (len > room) {
		free(a.buf);
		return 0;
	}
	header(t, "DSDT", len, 2);
	memcpy(t + 36, a.buf, a.len);
	finish(t, len);
	free(a.buf);
	return len;
}

static size_t build_madt(u8 *t, size_t room, struct kvm *kvm)
{
	unsigned int nrcpus = kvm->nrcpus;
	size_t len = 44 + nrcpus * 8 + 12 + 6;
	unsigned int i;
	u8 *e;

	if (len > room || nrcpus > 255)
		return 0;
	memset(t, 0, len);
	header(t, "APIC", len, 5);
	put_le32(t + 36, X86_LAPIC_ADDR);
	put_le32(t + 40, MADT_PCAT_COMPAT);
	e = t + 44;
	for (i = 0; i < nrcpus; i++, e += 8) {
		e[0] = 0;			/* Processor Local APIC */
		e[1] = 8;
		e[2] = i;			/* ACPI processor UID */
		e[3] = i;			/* APIC ID */
		put_le32(e + 4, 1);		/* enabled */
	}
	e[0] = 1;				/* I/O APIC */
	e[1] = 12;
	e[2] = 0;				/* I/O APIC ID */
	put_le32(e + 4, X86_IOAPIC_ADDR);
	put_le32(e + 8, 0);			/* GSI base */
	e += 12;
	e[0] = 4;				/* Local APIC NMI */
	e[1] = 6;
	e[2] = 0xff;				/* all processors */
	put_le16(e + 3, 0);
	e[5] = 1;				/* LINT1 */
	finish(t, len);
	return len;
}

static void build_fadt(u8 *t, u64 dsdt)
{
	memset(t, 0, FADT_LEN);
	header(t, "FACP", FADT_LEN, 6);
	put_le32(t + FADT_DSDT, dsdt);
	put_le16(t + FADT_SCI_INT, 0);
	t[FADT_CENTURY] = 0x32;			/* CMOS century register */
	put_le16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_VGA_NOT_PRESENT);
	put_le32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
	      FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED);
	gas_io8(t + FADT_RESET_REG, X86_RESET_PORT);
	t[FADT_RESET_VALUE] = X86_RESET_VALUE;
	t[FADT_MINOR_VERSION] = 0;
	put_le64(t + FADT_X_DSDT, dsdt);
	gas_io8(t + FADT_SLEEP_CONTROL, X86_ACPI_SLEEP_CTL_PORT);
	gas_io8(t + FADT_SLEEP_STATUS, X86_ACPI_SLEEP_STS_PORT);
	memcpy(t + FADT_HYPERVISOR_ID, "LKVM", 4);
	finish(t, FADT_LEN);
}

/*
 * Place what @build writes at the first 16-byte boundary from *@end, after
 * @hdr bytes of header (which the caller writes); its offset, or 0 when it
 * does not fit. *@end moves past it.
 */
static size_t place(u8 *buf, size_t size, size_t *end, size_t hdr,
		    size_t (*build)(u8 *t, size_t room, struct kvm *kvm), struct kvm *kvm)
{
	size_t off = ALIGN_UP(*end, 16), len;

	if (off + hdr >= size)
		return 0;
	len = build(buf + off + hdr, size - off - hdr, kvm);
	if (!len)
		return 0;
	*end = off + hdr + len;
	return off;
}

size_t acpi_build_tables(u8 *buf, size_t size, u64 gpa, struct kvm *kvm)
{
	/* Layout: RSDP | XSDT | FADT | MADT | DSDT | hooks, each 16-byte aligned. */
	const size_t rsdp_off = 0, xsdt_off = 48;
	struct acpi_table_hook *h;
	unsigned int nr_extra = 0, i;
	size_t xsdt_len, fadt_off, madt_off, dsdt_off, off, end;
	u8 *rsdp = buf + rsdp_off, *xsdt = buf + xsdt_off;

	for (h = table_hooks; h; h = h->next)
		nr_extra++;
	xsdt_len = 36 + (2 + nr_extra) * 8;
	fadt_off = ALIGN_UP(xsdt_off + xsdt_len, 16);
	end = fadt_off + FADT_LEN;
	madt_off = place(buf, size, &end, 0, build_madt, kvm);
	dsdt_off = madt_off ? place(buf, size, &end, 0, build_dsdt, kvm) : 0;
	if (!dsdt_off)
		return 0;
	build_fadt(buf + fadt_off, gpa + dsdt_off);

	header(xsdt, "XSDT", xsdt_len, 1);
	put_le64(xsdt + 36, gpa + fadt_off);
	put_le64(xsdt + 44, gpa + madt_off);
	for (h = table_hooks, i = 0; h; h = h->next, i++) {
		off = place(buf, size, &end, 36, h->build, kvm);
		if (!off)
			return 0;
		header(buf + off, h->sig, end - off, h->rev);
		finish(buf + off, end - off);
		put_le64(xsdt + 52 + 8 * i, gpa + off);
	}
	finish(xsdt, xsdt_len);

	memset(rsdp, 0, 36);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, ACPI_OEM_ID, 6);
	rsdp[15] = 2;				/* ACPI 2.0+ */
	put_le32(rsdp + 20, 36);
	put_le64(rsdp + 24, gpa + xsdt_off);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
	return end;
}

static int acpi_setup(struct kvm *kvm)
{
	size_t room = X86_ACPI_END - X86_ACPI_START;
	u8 *buf = guest_ptr(&kvm->mem, X86_ACPI_START, room);

	if (!buf || !acpi_build_tables(buf, room, X86_ACPI_START, kvm)) {
		pr_err("ACPI tables do not fit below 1 MiB");
		return -1;
	}
	kvm->arch.rsdp_addr = X86_ACPI_START;
	return 0;
}
firmware_init(acpi_setup, NULL);
