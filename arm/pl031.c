// SPDX-License-Identifier: GPL-2.0
/* The PL031 real-time clock's registers (see arm-pl031.h). */
#include <string.h>
#include <time.h>

#include "lkvm/arm-pl031.h"

/* Part 0x031, designer 0x41 (ARM), revision 1; the PrimeCell cell ID. */
static const u8 pl031_id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

static u64 host_seconds(void)
{
	return time(NULL);
}

void pl031_init(struct pl031 *rtc, u64 (*now)(void))
{
	memset(rtc, 0, sizeof(*rtc));
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->now = now ? now : host_seconds;
}

static u32 count(struct pl031 *rtc)
{
	return (u32)(rtc->now() + rtc->offset);
}

static u32 reg_read(struct pl031 *rtc, u64 off)
{
	switch (off) {
	case PL031_DR:
	case PL031_LR:
		return count(rtc);
	case PL031_MR:
		return rtc->mr;
	case PL031_CR:
		return 1;		/* always running */
	case PL031_IMSC:
		return rtc->imsc;
	case PL031_RIS:
	case PL031_MIS:
		return 0;		/* the match never fires */
	}
	if (off >= PL031_ID && off < PL031_ID + 4 * sizeof(pl031_id))
		return pl031_id[(off - PL031_ID) / 4];
	return 0;
}

static void reg_write(struct pl031 *rtc, u64 off, u32 v)
{
	switch (off) {
	case PL031_MR:
		rtc->mr = v;
		break;
	case PL031_LR:
		/* The count wraps at 32 bits, like the hardware's. */
		rtc->offset = (s64)v - (s64)(u32)rtc->now();
		break;
	case PL031_IMSC:
		rtc->imsc = v & 1;
		break;
	default:		/* DR, CR (it cannot be stopped), ICR, IDs */
		break;
	}
}

void pl031_access(struct pl031 *rtc, u64 off, u8 *data, u32 len, bool is_write)
{
	/* Aligned 32-bit words only; anything else reads as zero, writes nothing. */
	if (len != 4 || (off & 3) || off >= PL031_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	if (is_write)
		reg_write(rtc, off, get_le32(data));
	else
		put_le32(data, reg_read(rtc, off));
	pthread_mutex_unlock(&rtc->lock);
}
