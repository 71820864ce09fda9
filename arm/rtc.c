// SPDX-License-Identifier: GPL-2.0
/* The PL031 real-time clock (arm/pl031.c) at its place in the memory map. */
#include <stdlib.h>

#include "lkvm/arm-pl031.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"

struct arm_rtc {
	struct pl031 pl031;
	struct io_range range;
};

static void rtc_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		   bool is_write, void *ctx)
{
	struct arm_rtc *rtc = ctx;

	pl031_access(&rtc->pl031, off, data, len, is_write);
}

static int arm_rtc_init(struct kvm *kvm)
{
	struct arm_rtc *rtc = xzalloc(sizeof(*rtc));

	pl031_init(&rtc->pl031, NULL);
	rtc->range = (struct io_range){
		.start = ARM_RTC_BASE, .len = ARM_RTC_SIZE, .fn = rtc_io, .ctx = rtc,
		.name = "pl031",
	};
	if (iobus_register(&kvm->mmio_bus, &rtc->range)) {
		free(rtc);
		return -1;
	}
	kvm->arch.rtc = rtc;
	return 0;
}

static void arm_rtc_exit(struct kvm *kvm)
{
	iobus_unregister(&kvm->mmio_bus, &kvm->arch.rtc->range);
	free(kvm->arch.rtc);
	kvm->arch.rtc = NULL;
}
dev_init(arm_rtc_init, arm_rtc_exit);
