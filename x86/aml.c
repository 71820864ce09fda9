// SPDX-License-Identifier: GPL-2.0
/* Just enough AML encoding for lkvm's DSDT (ACPI spec, chapter 20). */
#include <string.h>

#include "lkvm/acpi.h"

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		a->cap = max(a->cap * 2, a->len + n + 256);
		a->buf = xrealloc(a->buf, a->cap);
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, u8 b)
{
	aml_bytes(a, &b, 1);
}

void aml_integer(struct aml *a, u64 v)
{
	unsigned int n, i;

	if (v == 0) {
		aml_byte(a, 0x00);		/* ZeroOp */
		return;
	}
	if (v == 1) {
		aml_byte(a, 0x01);		/* OneOp */
		return;
	}
	if (v <= 0xff) {
		aml_byte(a, 0x0a);		/* BytePrefix */
		n = 1;
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);		/* WordPrefix */
		n = 2;
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, 0x0c);		/* DWordPrefix */
		n = 4;
	} else {
		aml_byte(a, 0x0e);		/* QWordPrefix */
		n = 8;
	}
	for (i = 0; i < n; i++)
		aml_byte(a, v >> (8 * i));
}

void aml_nameseg(struct aml *a, const char *seg)
{
	char s[4] = { '_', '_', '_', '_' };
	size_t n = strlen(seg);

	memcpy(s, seg, min(n, (size_t)4));
	aml_bytes(a, s, 4);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);			/* StringPrefix */
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_pkg_begin(struct aml *a)
{
	static const u8 placeholder[4];

	if (a->depth >= ARRAY_SIZE(a->open))
		die("aml: nesting too deep");
	a->open[a->depth++] = a->len;
	aml_bytes(a, placeholder, 4);		/* the widest PkgLength */
}

void aml_pkg_end(struct aml *a)
{
	size_t at = a->open[--a->depth];
	size_t body = a->len - at - 4;
	unsigned int n;
	size_t total;

	/* PkgLength counts itself: pick the shortest encoding that fits. */
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else
		n = 4;
	total = body + n;
	memmove(a->buf + at + n, a->buf + at + 4, body);
	a->len -= 4 - n;
	if (n == 1) {
		a->buf[at] = total;
	} else {
		unsigned int i;

		a->buf[at] = ((n - 1) << 6) | (total & 0xf);
		for (i = 1; i < n; i++)
			a->buf[at + i] = total >> (4 + 8 * (i - 1));
	}
}

void aml_name_integer(struct aml *a, const char *seg, u64 v)
{
	aml_byte(a, 0x08);			/* NameOp */
	aml_nameseg(a, seg);
	aml_integer(a, v);
}

/* AML and resource descriptors (ACPI 6.4, sections 19.6 and 6.4). */

/* EISAID("PNP0A03"): three letters in 5 bits each, then four hex digits. */
u32 aml_eisa_id(const char *id)
{
	u16 vendor = ((id[0] - '@') & 0x1f) << 10 | ((id[1] - '@') & 0x1f) << 5 |
		     ((id[2] - '@') & 0x1f);
	u16 product = 0;
	int i;

	for (i = 3; i < 7; i++)
		product = product << 4 | hex_digit(id[i]);
	/* Stored big endian inside a little-endian DWord. */
	return (vendor >> 8) | (vendor & 0xff) << 8 | (u32)(product >> 8) << 16 |
	       (u32)(product & 0xff) << 24;
}


#define RES_GEN_FIXED		0x0c	/* _MIF | _MAF, producer, positive decode */
#define RES_MEM_RW		0x01	/* read-write, non-cacheable */

/* Word Address Space Descriptor: bus numbers (type 2) or I/O (type 1). */
size_t aml_res_word(u8 *p, u8 type, u8 tflags, u16 lo, u16 hi)
{
	p[0] = 0x88;
	put_le16(p + 1, 13);
	p[3] = type;
	p[4] = RES_GEN_FIXED;
	p[5] = tflags;
	put_le16(p + 6, 0);			/* granularity */
	put_le16(p + 8, lo);
	put_le16(p + 10, hi);
	put_le16(p + 12, 0);			/* translation offset */
	put_le16(p + 14, hi - lo + 1);
	return 16;
}

/* DWord Address Space Descriptor for a memory window. */
size_t aml_res_dword_mem(u8 *p, u32 lo, u32 hi)
{
	p[0] = 0x87;
	put_le16(p + 1, 23);
	p[3] = 0;				/* memory */
	p[4] = RES_GEN_FIXED;
	p[5] = RES_MEM_RW;
	put_le32(p + 6, 0);
	put_le32(p + 10, lo);
	put_le32(p + 14, hi);
	put_le32(p + 18, 0);
	put_le32(p + 22, hi - lo + 1);
	return 26;
}

/* I/O Port Descriptor, 16-bit decode, fixed range. */
size_t aml_res_io(u8 *p, u16 port, u8 len)
{
	p[0] = 0x47;
	p[1] = 1;
	put_le16(p + 2, port);
	put_le16(p + 4, port);
	p[6] = 1;				/* alignment */
	p[7] = len;
	return 8;
}

size_t aml_res_mem32_fixed(u8 *p, u32 base, u32 len)
{
	p[0] = 0x86;
	put_le16(p + 1, 9);
	p[3] = RES_MEM_RW;
	put_le32(p + 4, base);
	put_le32(p + 8, len);
	return 12;
}

/* Name (@seg, ResourceTemplate () { @res }), adding the End Tag. */
void aml_name_resources(struct aml *a, const char *seg, const u8 *res,
			       size_t len)
{
	static const u8 end_tag[2] = { 0x79, 0x00 };	/* checksum 0: not checked */

	aml_byte(a, 0x08);			/* NameOp */
	aml_nameseg(a, seg);
	aml_byte(a, 0x11);			/* BufferOp */
	aml_pkg_begin(a);
	aml_integer(a, len + sizeof(end_tag));
	aml_bytes(a, res, len);
	aml_bytes(a, end_tag, sizeof(end_tag));
	aml_pkg_end(a);
}

void aml_device_begin(struct aml *a, const char *seg)
{
	aml_byte(a, 0x5b);			/* ExtOpPrefix */
	aml_byte(a, 0x82);			/* DeviceOp */
	aml_pkg_begin(a);
	aml_nameseg(a, seg);
}

/* IRQNoFlags () { irq }: an ISA interrupt, edge triggered, active high. */
size_t aml_res_irq_noflags(u8 *p, u8 irq)
{
	p[0] = 0x22;
	put_le16(p + 1, 1U << (irq & 15));
	return 3;
}

/* Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) { gsi } */
size_t aml_res_irq_level_shared(u8 *p, u32 gsi)
{
	p[0] = 0x89;
	put_le16(p + 1, 6);
	p[3] = 1 << 0 | 1 << 3;			/* consumer, shared; level, high */
	p[4] = 1;
	put_le32(p + 5, gsi);
	return 9;
}

void aml_name_string(struct aml *a, const char *seg, const char *s)
{
	aml_byte(a, 0x08);			/* NameOp */
	aml_nameseg(a, seg);
	aml_string(a, s);
}
