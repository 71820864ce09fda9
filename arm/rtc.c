// SPDX-License-Identifier: GPL-2.0
/* The PL031 real-time clock (arm/pl031.c) at its place in the memory map. */
#include "lkvm/arm-pl031.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"

static struct pl031 rtc;
static struct io_range rtc_range;

static void rtc_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		   bool is_write, void *ctx __unused)
{
	pl031_access(&rtc, off, data, len, is_write);
}

static int arm_rtc_init(struct kvm *kvm)
{
	pl031_init(&rtc, NULL);
	rtc_range = (struct io_range){
		.start = ARM_RTC_BASE, .len = ARM_RTC_SIZE, .fn = rtc_io, .name = "pl031",
	};
	return iobus_register(&kvm->mmio_bus, &rtc_range);
}

static void arm_rtc_exit(struct kvm *kvm)
{
	iobus_unregister(&kvm->mmio_bus, &rtc_range);
}
dev_init(arm_rtc_init, arm_rtc_exit);
