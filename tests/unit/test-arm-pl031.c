// SPDX-License-Identifier: GPL-2.0
/* The PL031 RTC's registers: time, load, IDs, and hostile accesses. */
#include "lkvm/arm-pl031.h"
#include "test.h"

static u64 fake_now = 1700000000;

static u64 now(void)
{
	return fake_now;
}

static u32 rd(struct pl031 *rtc, u64 off)
{
	u8 b[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

	pl031_access(rtc, off, b, 4, false);
	return get_le32(b);
}

static void wr(struct pl031 *rtc, u64 off, u32 v)
{
	u8 b[4];

	put_le32(b, v);
	pl031_access(rtc, off, b, 4, true);
}

static void test_time_and_load(void)
{
	struct pl031 rtc;

	pl031_init(&rtc, now);
	CHECK_EQ(rd(&rtc, PL031_DR), 1700000000);
	CHECK_EQ(rd(&rtc, PL031_CR), 1);
	fake_now += 5;
	CHECK_EQ(rd(&rtc, PL031_DR), 1700000005);
	/* The guest sets the clock; it keeps ticking from there. */
	wr(&rtc, PL031_LR, 1000);
	CHECK_EQ(rd(&rtc, PL031_DR), 1000);
	fake_now += 7;
	CHECK_EQ(rd(&rtc, PL031_DR), 1007);
	CHECK_EQ(rd(&rtc, PL031_LR), 1007);
	/* DR is read-only; the counter cannot be stopped. */
	wr(&rtc, PL031_DR, 5);
	wr(&rtc, PL031_CR, 0);
	CHECK_EQ(rd(&rtc, PL031_DR), 1007);
	CHECK_EQ(rd(&rtc, PL031_CR), 1);
	/* 32 bits wrap like the hardware's counter. */
	wr(&rtc, PL031_LR, 0xffffffff);
	fake_now += 2;
	CHECK_EQ(rd(&rtc, PL031_DR), 1);
}

static void test_match_and_mask(void)
{
	struct pl031 rtc;

	pl031_init(&rtc, now);
	wr(&rtc, PL031_MR, 0x12345678);
	CHECK_EQ(rd(&rtc, PL031_MR), 0x12345678);
	wr(&rtc, PL031_IMSC, 0xffffffff);
	CHECK_EQ(rd(&rtc, PL031_IMSC), 1);
	/* No alarms: nothing is ever pending. */
	CHECK_EQ(rd(&rtc, PL031_RIS), 0);
	CHECK_EQ(rd(&rtc, PL031_MIS), 0);
	wr(&rtc, PL031_ICR, 1);
}

static void test_primecell_ids(void)
{
	static const u8 want[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl031 rtc;
	unsigned int i;

	pl031_init(&rtc, now);
	for (i = 0; i < 8; i++)
		CHECK_EQ(rd(&rtc, PL031_ID + 4 * i), want[i]);
	/* The IDs are read-only. */
	wr(&rtc, PL031_ID, 0);
	CHECK_EQ(rd(&rtc, PL031_ID), 0x31);
}

static void test_hostile_accesses(void)
{
	struct pl031 rtc;
	u8 b[8];
	u64 off;

	pl031_init(&rtc, now);
	/* Bytes, halves, doublewords, misaligned words: zero, no effect. */
	memset(b, 0xaa, sizeof(b));
	pl031_access(&rtc, PL031_DR, b, 1, false);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[1], 0xaa);
	memset(b, 0xaa, sizeof(b));
	pl031_access(&rtc, PL031_DR, b, 8, false);
	CHECK_EQ(get_le32(b) | get_le32(b + 4), 0);
	pl031_access(&rtc, PL031_MR + 1, b, 4, false);
	CHECK_EQ(get_le32(b), 0);
	memset(b, 0x55, sizeof(b));
	pl031_access(&rtc, PL031_LR, b, 2, true);
	pl031_access(&rtc, PL031_LR + 2, b, 4, true);
	CHECK_EQ(rd(&rtc, PL031_DR), (u32)fake_now);
	/* Every word of the window, and far beyond it, reads without harm. */
	for (off = 0; off < PL031_SIZE; off += 4)
		(void)rd(&rtc, off);
	CHECK_EQ(rd(&rtc, PL031_SIZE), 0);
	CHECK_EQ(rd(&rtc, ~3ULL), 0);
	CHECK_EQ(rd(&rtc, PL031_ID + 32), 0);
	wr(&rtc, ~3ULL, 1);
	CHECK_EQ(rd(&rtc, PL031_DR), (u32)fake_now);
}

TEST_MAIN_BEGIN("arm-pl031")
	RUN(test_time_and_load);
	RUN(test_match_and_mask);
	RUN(test_primecell_ids);
	RUN(test_hostile_accesses);
TEST_MAIN_END()
