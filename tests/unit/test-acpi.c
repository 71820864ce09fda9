// SPDX-License-Identifier: GPL-2.0
/* AML encoding details (PkgLength) used by the DSDT. */
#include "lkvm/acpi.h"
#include "test.h"

/* Decode a PkgLength at @p; returns its value and sets *n to its size. */
static size_t pkglen(const u8 *p, unsigned int *n)
{
	unsigned int i, follow = p[0] >> 6;
	size_t v;

	*n = follow + 1;
	if (!follow)
		return p[0] & 0x3f;
	v = p[0] & 0x0f;
	for (i = 1; i <= follow; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

static void check_pkg_of(size_t body)
{
	struct aml a = { 0 };
	unsigned int n;
	size_t i;

	aml_byte(&a, 0x12);
	aml_pkg_begin(&a);
	for (i = 0; i < body; i++)
		aml_byte(&a, 0x5a);
	aml_pkg_end(&a);
	CHECK_EQ(pkglen(a.buf + 1, &n), body + n);
	CHECK_EQ(a.len, 1 + n + body);
	if (body) {
		CHECK_EQ(a.buf[1 + n], 0x5a);
		CHECK_EQ(a.buf[a.len - 1], 0x5a);
	}
	free(a.buf);
}

static void test_pkglength_sizes(void)
{
	check_pkg_of(0);
	check_pkg_of(10);
	check_pkg_of(62);	/* largest one-byte PkgLength */
	check_pkg_of(63);
	check_pkg_of(300);
	check_pkg_of(4093);
	check_pkg_of(5000);
	check_pkg_of(0x100000);
}

static void test_integers(void)
{
	struct aml a = { 0 };

	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 5);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0xfec00000);
	aml_integer(&a, 0x100000000ULL);
	CHECK_EQ(a.len, 1 + 1 + 2 + 3 + 5 + 9);
	CHECK_EQ(a.buf[0], 0x00);
	CHECK_EQ(a.buf[1], 0x01);
	CHECK_EQ(a.buf[2], 0x0a);
	CHECK_EQ(a.buf[3], 5);
	CHECK_EQ(a.buf[4], 0x0b);
	CHECK_EQ(a.buf[7], 0x0c);
	CHECK_EQ(a.buf[12], 0x0e);
	free(a.buf);
}

/* EISAID(): the values ACPI's compilers give for the IDs lkvm uses. */
static void test_eisa_id(void)
{
	CHECK_EQ(aml_eisa_id("PNP0A03"), 0x030ad041);
	CHECK_EQ(aml_eisa_id("PNP0C02"), 0x020cd041);
	CHECK_EQ(aml_eisa_id("PNP0a03"), 0x030ad041);	/* hex digits in either case */
}

TEST_MAIN_BEGIN("acpi")
	RUN(test_pkglength_sizes);
	RUN(test_integers);
	RUN(test_eisa_id);
TEST_MAIN_END()
