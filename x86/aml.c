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
