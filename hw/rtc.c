// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal MC146818 CMOS RTC at ports 0x70/0x71: the host's UTC time in
 * the format the guest selects in register B, plus 128 bytes of CMOS RAM.
 * No alarms, periodic or update interrupts.
 */
#include <pthread.h>
#include <time.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_WEEKDAY	0x06
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32

#define REG_B_24H	0x02
#define REG_B_BINARY	0x04
#define REG_D_VRT	0x80

static u8 to_guest(const struct cmos_rtc *rtc, u8 v)
{
	return rtc->cmos[RTC_REG_B] & REG_B_BINARY ? v : (v / 10) << 4 | (v % 10);
}

static u8 rtc_read(const struct cmos_rtc *rtc, u8 reg)
{
	time_t now = time(NULL);
	struct tm tm;
	u8 hour;

	utc_time(now, &tm);
	switch (reg) {
	case RTC_SECONDS:
		return to_guest(rtc, tm.tm_sec);
	case RTC_MINUTES:
		return to_guest(rtc, tm.tm_min);
	case RTC_HOURS:
		if (rtc->cmos[RTC_REG_B] & REG_B_24H)
			return to_guest(rtc, tm.tm_hour);
		hour = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
		return to_guest(rtc, hour) | (tm.tm_hour >= 12 ? 0x80 : 0);
	case RTC_WEEKDAY:
		return to_guest(rtc, tm.tm_wday + 1);
	case RTC_DAY:
		return to_guest(rtc, tm.tm_mday);
	case RTC_MONTH:
		return to_guest(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return to_guest(rtc, tm.tm_year % 100);
	case RTC_CENTURY:
		return to_guest(rtc, (tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		return rtc->cmos[RTC_REG_A] & 0x7f;	/* never "update in progress" */
	case RTC_REG_C:
		return 0;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return rtc->cmos[reg];
	}
}

static void rtc_io(struct io_range *r __unused, u64 off, u8 *data, u32 len __unused,
		   bool is_write, void *ctx)
{
	struct cmos_rtc *rtc = ctx;

	pthread_mutex_lock(&rtc->lock);
	if (off == 0) {
		/* Bit 7 of the index port is the NMI mask. */
		if (is_write)
			rtc->index = data[0] & 0x7f;
		else
			data[0] = rtc->index;
	} else if (is_write) {
		if (rtc->index != RTC_REG_C && rtc->index != RTC_REG_D)
			rtc->cmos[rtc->index] = data[0];
	} else {
		data[0] = rtc_read(rtc, rtc->index);
	}
	pthread_mutex_unlock(&rtc->lock);
}

static int rtc_init(struct kvm *kvm)
{
	struct cmos_rtc *rtc = &kvm->arch.rtc;

	pthread_mutex_init(&rtc->lock, NULL);
	rtc->cmos[RTC_REG_A] = 0x26;		/* 32.768 kHz, 1024 Hz rate */
	rtc->cmos[RTC_REG_B] = REG_B_24H;
	rtc->io = (struct io_range){
		.start = X86_RTC_PORT, .len = 2, .fn = rtc_io, .ctx = rtc, .name = "rtc",
	};
	return iobus_register(&kvm->pio_bus, &rtc->io);
}

static void rtc_exit(struct kvm *kvm)
{
	iobus_unregister(&kvm->pio_bus, &kvm->arch.rtc.io);
	pthread_mutex_destroy(&kvm->arch.rtc.lock);
}
dev_init(rtc_init, rtc_exit);
