// SPDX-License-Identifier: GPL-2.0
/*
 * pvpanic: a one-byte register the guest kernel's panic notifier writes
 * to. Linux's pvpanic-mmio driver finds it through ACPI (_HID "QEMU0001",
 * an I/O port, on x86) or the device tree ("qemu,pvpanic-mmio", on arm64).
 *
 * Without it a panicking guest either hangs (panic=0) or reboots
 * (panic=N), and a scripted run cannot tell the second from a clean
 * reboot. With it lkvm ends at once with the guest-crash status.
 *
 * A read returns the events lkvm understands; the driver only ever writes
 * those. Bit 0: the guest panicked and the host should act. Bit 1: the
 * guest panicked but a kdump kernel takes over, so the guest keeps running
 * and lkvm only says so, once: a guest that writes the register in a
 * loop must not fill lkvm's stderr (or the journal behind it).
 */
#include <stdatomic.h>
#include <string.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/pvpanic.h"

static struct pvpanic pvpanic;

void pvpanic_access(struct pvpanic *p, u8 *data, u32 len, bool is_write)
{
	u32 i;

	if (!is_write) {
		for (i = 0; i < len; i++)
			data[i] = i ? 0 : PVPANIC_EVENTS;
		return;
	}
	/* Only the first byte is the register; wider writes carry it there. */
	if (data[0] & PVPANIC_PANICKED)
		/* Says so once: the first stop request wins. */
		kvm__request_stop(p->kvm, LKVM_EXIT_GUEST_CRASH, "guest kernel panicked");
	else if (data[0] & PVPANIC_CRASH_LOADED &&
		 !(atomic_fetch_or(&p->reported, PVPANIC_CRASH_LOADED) & PVPANIC_CRASH_LOADED))
		pr_info("guest kernel panicked; its crash kernel takes over");
}

static void pvpanic_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		       bool is_write, void *ctx)
{
	if (off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pvpanic_access(ctx, data, len, is_write);
}

static int pvpanic_init(struct kvm *kvm)
{
	pvpanic = (struct pvpanic){
		.range = { .start = PVPANIC_ADDR, .len = PVPANIC_LEN, .fn = pvpanic_io,
			   .ctx = &pvpanic, .name = "pvpanic" },
		.kvm = kvm,
	};
	return iobus_register(PVPANIC_IS_PIO ? &kvm->pio_bus : &kvm->mmio_bus,
			      &pvpanic.range);
}

static void pvpanic_exit(struct kvm *kvm)
{
	iobus_unregister(PVPANIC_IS_PIO ? &kvm->pio_bus : &kvm->mmio_bus,
			 &pvpanic.range);
}
dev_init(pvpanic_init, pvpanic_exit);
