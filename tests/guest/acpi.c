// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI checks of the test guest: locate the RSDP, walk the XSDT (or the
 * RSDT), verify every checksum and report what the FADT, MADT and DSDT
 * say about CPUs, interrupt controllers, sleep and reset.
 *
 * The tables come from the VMM under test, so every offset is checked
 * against the table length and every loop is bounded.
 */
#include "guest.h"

#define HDR_LEN		36
#define MAX_TABLE_LEN	(1u << 20)
#define MAX_ROOT_ENTRIES 64
#define MAX_MADT_ENTRIES 1024

/* FADT field offsets (ACPI 6.x layout, present when the table is long enough). */
#define FADT_DSDT		40
#define FADT_PM1A_CNT_BLK	64
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_X_DSDT		140
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_SLEEP_CONTROL_REG	244
#define FADT_HW_REDUCED_ACPI	(1u << 20)

#define RSDP_SIG	0x2052545020445352ULL	/* "RSD PTR " */

#define AML_NAME_OP	0x08
#define AML_PACKAGE_OP	0x12
#define AML_ROOT_CHAR	0x5c

static void sig_str(const u8 *p, char out[5])
{
	int i;

	for (i = 0; i < 4; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[4] = '\0';
}

static bool sum_ok(const u8 *p, u32 len)
{
	u8 sum = 0;

	while (len--)
		sum += *p++;
	return sum == 0;
}

/*
 * Check the table at addr and print "acpi <SIG> ok|badsum|badlen".
 * Returns the usable length (0 if the table must not be parsed).
 */
static u32 check_table(u64 addr, char sig[5])
{
	const u8 *t;
	u32 len;

	if (!addr || !phys_ok(addr, HDR_LEN)) {
		say("acpi ---- unreachable addr=0x%lx", addr);
		return 0;
	}
	t = phys(addr);
	sig_str(t, sig);
	len = get32(t + 4);
	if (len < HDR_LEN || len > MAX_TABLE_LEN || !phys_ok(addr, len)) {
		say("acpi %s badlen len=%u", sig, len);
		return 0;
	}
	say("acpi %s %s", sig, sum_ok(t, len) ? "ok" : "badsum");
	return len;
}

static void read_gas(const u8 *t, u32 len, u32 off, struct gas *g)
{
	memset(g, 0, sizeof(*g));
	if (off + 12 > len)
		return;
	g->space = t[off];
	g->width = t[off + 1];
	g->offset = t[off + 2];
	g->access = t[off + 3];
	g->addr = get64(t + off + 4);
}

static void say_gas(const char *name, const struct gas *g)
{
	if (!g->addr)
		say("fadt %s=none", name);
	else
		say("fadt %s=space:%u,width:%u,offset:%u,access:%u,addr:0x%lx",
		    name, g->space, g->width, g->offset, g->access, g->addr);
}

static u64 parse_fadt(const u8 *t, u32 len, struct acpi_info *ai)
{
	u64 dsdt = 0;

	ai->have_fadt = true;
	if (len >= FADT_FLAGS + 4)
		ai->fadt_flags = get32(t + FADT_FLAGS);
	ai->hw_reduced = ai->fadt_flags & FADT_HW_REDUCED_ACPI;
	if (len >= FADT_PM1A_CNT_BLK + 4)
		ai->pm1a_cnt = get32(t + FADT_PM1A_CNT_BLK);
	read_gas(t, len, FADT_X_PM1A_CNT_BLK, &ai->x_pm1a_cnt);
	read_gas(t, len, FADT_SLEEP_CONTROL_REG, &ai->sleep_ctl);
	read_gas(t, len, FADT_RESET_REG, &ai->reset_reg);
	if (len > FADT_RESET_VALUE)
		ai->reset_value = t[FADT_RESET_VALUE];

	say("fadt rev=%u len=%u flags=0x%x hw-reduced=%s", t[8], len,
	    ai->fadt_flags, ai->hw_reduced ? "yes" : "no");
	say("fadt pm1a-cnt=0x%x", ai->pm1a_cnt);
	say_gas("x-pm1a-cnt", &ai->x_pm1a_cnt);
	say_gas("sleep-ctl", &ai->sleep_ctl);
	say_gas("reset-reg", &ai->reset_reg);
	say("fadt reset-value=0x%x", ai->reset_value);

	if (len >= FADT_X_DSDT + 8)
		dsdt = get64(t + FADT_X_DSDT);
	if (!dsdt && len >= FADT_DSDT + 4)
		dsdt = get32(t + FADT_DSDT);
	return dsdt;
}

static void parse_madt(const u8 *t, u32 len, struct acpi_info *ai)
{
	u32 off = 44, n = 0;

	if (len < 44) {
		say("madt too short len=%u", len);
		return;
	}
	say("madt lapic=0x%x flags=0x%x", get32(t + 36), get32(t + 40));
	while (off + 2 <= len && n++ < MAX_MADT_ENTRIES) {
		const u8 *e = t + off;
		u8 type = e[0], elen = e[1];

		if (elen < 2 || elen > len - off) {
			say("madt bad entry offset=%u type=%u len=%u", off, type,
			    elen);
			break;
		}
		switch (type) {
		case 0:		/* Processor Local APIC */
			if (elen >= 8 && (get32(e + 4) & 1))
				ai->cpus++;
			break;
		case 1:		/* I/O APIC */
			if (elen >= 12)
				say("ioapic id=%u addr=0x%x gsi-base=%u", e[2],
				    get32(e + 4), get32(e + 8));
			break;
		case 2:		/* Interrupt Source Override */
			if (elen >= 10)
				say("madt override irq=%u gsi=%u flags=0x%x",
				    e[3], get32(e + 4), get16(e + 8));
			break;
		case 9:		/* Processor Local x2APIC */
			if (elen >= 16 && (get32(e + 8) & 1))
				ai->cpus++;
			break;
		default:
			break;
		}
		off += elen;
	}
}

/* The ECAM window of PCI segment 0 (PCI Firmware spec, MCFG). */
static void parse_mcfg(const u8 *t, u32 len, struct acpi_info *ai)
{
	u32 off;

	for (off = 44; off + 16 <= len; off += 16) {
		const u8 *e = t + off;

		if (get16(e + 8) != 0)
			continue;
		ai->mcfg_base = get64(e);
		ai->mcfg_bus_start = e[10];
		ai->mcfg_bus_end = e[11];
		say("mcfg base=0x%lx buses=%u-%u", ai->mcfg_base, e[10], e[11]);
		return;
	}
	say("mcfg no-segment-0");
}

/* SLP_TYPa from "Name (_S5, Package () { a, ... })", or -1. */
static int find_s5(const u8 *t, u32 len)
{
	u32 i, k;

	for (i = HDR_LEN + 1; i + 4 <= len; i++) {
		u32 name_op = i - 1;

		if (t[i] != '_' || memcmp(t + i, "_S5_", 4))
			continue;
		if (t[name_op] == AML_ROOT_CHAR && name_op > HDR_LEN)
			name_op--;
		if (t[name_op] != AML_NAME_OP)
			continue;
		k = i + 4;
		if (k >= len || t[k] != AML_PACKAGE_OP)
			continue;
		k++;
		if (k >= len)
			break;
		k += 1 + (t[k] >> 6);	/* PkgLength */
		k++;			/* NumElements */
		if (k >= len)
			break;
		switch (t[k]) {
		case 0x0a:		/* BytePrefix */
			return k + 1 < len ? t[k + 1] : -1;
		case 0x0b:		/* WordPrefix */
			return k + 2 < len ? get16(t + k + 1) : -1;
		case 0x0c:		/* DWordPrefix */
			return k + 4 < len ? (int)(get32(t + k + 1) & 0xffff) : -1;
		case 0x00:		/* ZeroOp */
			return 0;
		case 0x01:		/* OneOp */
			return 1;
		default:		/* a raw small integer */
			return t[k];
		}
	}
	return -1;
}

/* PkgLength at t[*k]: returns the length, moves *k past the encoding. */
static u32 aml_pkglen(const u8 *t, u32 len, u32 *k)
{
	u32 n = t[*k] >> 6, v, i;

	if (*k + 1 + n > len)
		return 0;
	if (!n) {
		v = t[*k] & 0x3f;
	} else {
		v = t[*k] & 0x0f;
		for (i = 0; i < n; i++)
			v |= (u32)t[*k + 1 + i] << (4 + 8 * i);
	}
	*k += 1 + n;
	return v;
}

/* A constant integer at t[*k]; false for anything else (a name, ...). */
static bool aml_int(const u8 *t, u32 end, u32 *k, u64 *v)
{
	u32 n, i;

	if (*k >= end)
		return false;
	switch (t[*k]) {
	case 0x00:		/* ZeroOp */
	case 0x01:		/* OneOp */
		*v = t[*k];
		*k += 1;
		return true;
	case 0xff:		/* OnesOp */
		*v = ~0ULL;
		*k += 1;
		return true;
	case 0x0a:
		n = 1;
		break;
	case 0x0b:
		n = 2;
		break;
	case 0x0c:
		n = 4;
		break;
	case 0x0e:
		n = 8;
		break;
	default:
		return false;
	}
	if (*k + 1 + n > end)
		return false;
	*v = 0;
	for (i = 0; i < n; i++)
		*v |= (u64)t[*k + 1 + i] << (8 * i);
	*k += 1 + n;
	return true;
}

/*
 * GSI of (slot, pin 0-3) from a static "Name (_PRT, Package () { Package
 * () { 0xSSSSFFFF, pin, 0, GSI }, ... })" in the DSDT; -1 if there is no
 * such package (a _PRT method, link devices) or no entry.
 */
int acpi_prt_gsi(const struct acpi_info *ai, u32 slot, u32 pin)
{
	const u8 *t = phys(ai->dsdt);
	u32 len = ai->dsdt_len, i, k, end, n, e;

	if (!ai->dsdt || len < HDR_LEN)
		return -1;
	for (i = HDR_LEN + 1; i + 4 <= len; i++) {
		if (t[i - 1] != AML_NAME_OP || memcmp(t + i, "_PRT", 4))
			continue;
		k = i + 4;
		if (k >= len || t[k] != AML_PACKAGE_OP)
			continue;
		k++;
		end = k;
		end += aml_pkglen(t, len, &k);
		if (end > len || k >= end)
			return -1;
		n = t[k++];
		for (e = 0; e < n && k < end; e++) {
			u32 pend;
			u64 addr, p, src, gsi;

			if (t[k++] != AML_PACKAGE_OP)
				return -1;
			pend = k;
			pend += aml_pkglen(t, end, &k);
			if (pend > end || k >= pend)
				return -1;
			k++;		/* NumElements */
			if (aml_int(t, pend, &k, &addr) && aml_int(t, pend, &k, &p) &&
			    aml_int(t, pend, &k, &src) && aml_int(t, pend, &k, &gsi) &&
			    src == 0 && (addr >> 16) == slot && p == pin)
				return (int)gsi;
			k = pend;
		}
		return -1;
	}
	return -1;
}

static u64 find_rsdp(u64 hint, const char **src)
{
	u64 a;

	if (hint) {
		if (phys_ok(hint, 36) && !memcmp(phys(hint), "RSD PTR ", 8)) {
			*src = "zeropage";
			return hint;
		}
		say("rsdp zeropage=0x%lx invalid", hint);
	}
	/* one 8-byte compare per step: this loop runs 8192 times */
	for (a = 0xe0000; a < 0x100000; a += 16) {
		if (get64(phys(a)) == RSDP_SIG) {
			*src = "scan";
			return a;
		}
	}
	return 0;
}

void acpi_report(u64 rsdp_hint, struct acpi_info *ai)
{
	const char *src = "";
	u64 rsdp_addr, root, dsdt = 0;
	const u8 *rsdp, *t;
	u32 len, entsize, n, i;
	bool have_madt = false, ok;
	char sig[5], oem[7];

	rsdp_addr = find_rsdp(rsdp_hint, &src);
	if (!rsdp_addr) {
		say("acpi RSDP missing");
		say("cpus=0");
		return;
	}
	rsdp = phys(rsdp_addr);
	for (i = 0; i < 6; i++)
		oem[i] = (rsdp[9 + i] >= 0x20 && rsdp[9 + i] < 0x7f) ?
			 (char)rsdp[9 + i] : '?';
	oem[6] = '\0';
	say("rsdp addr=0x%lx src=%s rev=%u oem=%s", rsdp_addr, src, rsdp[15],
	    oem);
	ok = sum_ok(rsdp, 20);
	if (rsdp[15] >= 2)
		ok = ok && sum_ok(rsdp, 36);
	say("acpi RSDP %s", ok ? "ok" : "badsum");

	if (rsdp[15] >= 2 && get64(rsdp + 24)) {
		root = get64(rsdp + 24);
		entsize = 8;
	} else {
		root = get32(rsdp + 16);
		entsize = 4;
	}
	len = check_table(root, sig);
	if (!len)
		goto out;
	if (strcmp(sig, entsize == 8 ? "XSDT" : "RSDT")) {
		say("acpi %s unexpected-root", sig);
		goto out;
	}
	t = phys(root);
	n = (len - HDR_LEN) / entsize;
	if (n > MAX_ROOT_ENTRIES) {
		say("acpi %s too-many-entries n=%u", sig, n);
		n = MAX_ROOT_ENTRIES;
	}
	for (i = 0; i < n; i++) {
		const u8 *ent = t + HDR_LEN + i * entsize;
		u64 addr = entsize == 8 ? get64(ent) : get32(ent);
		u32 tlen = check_table(addr, sig);

		if (!tlen)
			continue;
		if (!strcmp(sig, "FACP") && !ai->have_fadt) {
			dsdt = parse_fadt(phys(addr), tlen, ai);
		} else if (!strcmp(sig, "APIC") && !have_madt) {
			have_madt = true;
			parse_madt(phys(addr), tlen, ai);
		} else if (!strcmp(sig, "MCFG") && !ai->mcfg_base) {
			parse_mcfg(phys(addr), tlen, ai);
		}
	}

	if (ai->have_fadt) {
		len = check_table(dsdt, sig);
		if (len && !strcmp(sig, "DSDT")) {
			ai->s5 = find_s5(phys(dsdt), len);
			ai->dsdt = dsdt;
			ai->dsdt_len = len;
		}
		else if (len)
			say("acpi %s unexpected-dsdt", sig);
		if (ai->s5 >= 0)
			say("s5=%d", ai->s5);
		else
			say("s5=none");
	} else {
		say("acpi FACP missing");
	}
	if (!have_madt)
		say("acpi APIC missing");
out:
	say("cpus=%u", ai->cpus);
}

/* Byte write through a Generic Address Structure (I/O or memory space). */
bool gas_write8(const struct gas *g, u8 v)
{
	switch (g->space) {
	case 0:
		if (!g->addr || !phys_ok(g->addr, 1))
			return false;
		*(volatile u8 *)phys(g->addr) = v;
		return true;
	case 1:
		if (!g->addr || g->addr > 0xffff)
			return false;
		outb((u16)g->addr, v);
		return true;
	default:
		return false;
	}
}
