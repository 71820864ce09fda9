// SPDX-License-Identifier: GPL-2.0
/*
 * The ways an x86 guest ends itself: the keyboard controller's reset
 * command, the reset control register at 0xcf9 (also the FADT's reset
 * register), and the ACPI sleep control register for S5 (poweroff).
 * Both reset and poweroff end lkvm with status 0.
 */
#include "lkvm/init.h"
#include "lkvm/kvm.h"

#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64
#define I8042_CMD_RESET		0xfe
#define RESET_CPU		0x04	/* 0xcf9 bit 2 starts the reset */
#define SLP_EN			0x20
#define SLP_TYP_SHIFT		2
#define SLP_TYP_MASK		0x1c

static void guest_reset(struct kvm *kvm, const char *how)
{
	pr_debug("guest reset (%s)", how);
	kvm__request_stop(kvm, LKVM_EXIT_OK, NULL);
}

static void i8042_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		     bool is_write, void *ctx)
{
	if (!is_write) {
		/* Status 0: no data, input buffer empty, so writers never wait. */
		data[0] = 0;
		return;
	}
	if (off == I8042_CMD_PORT - I8042_DATA_PORT && len == 1 &&
	    data[0] == I8042_CMD_RESET)
		guest_reset(ctx, "keyboard controller");
}

static void reset_ctl_io(struct io_range *r __unused, u64 off __unused, u8 *data,
			 u32 len __unused, bool is_write, void *ctx)
{
	static u8 last;

	if (!is_write) {
		data[0] = last;
		return;
	}
	last = data[0];
	if (data[0] & RESET_CPU)
		guest_reset(ctx, "port 0xcf9");
}

static void sleep_io(struct io_range *r __unused, u64 off, u8 *data,
		     u32 len __unused, bool is_write, void *ctx)
{
	u8 typ;

	if (!is_write) {
		data[0] = 0;
		return;
	}
	if (off != 0 || !(data[0] & SLP_EN))
		return;
	typ = (data[0] & SLP_TYP_MASK) >> SLP_TYP_SHIFT;
	if (typ == X86_ACPI_S5_TYP) {
		pr_debug("guest powered off (ACPI S5)");
		kvm__request_stop(ctx, LKVM_EXIT_OK, NULL);
	} else {
		/* Only \_S5 is in the DSDT; a guest asking for another state is confused. */
		pr_debug("ignoring ACPI sleep request for SLP_TYP %u", typ);
	}
}

static struct io_range i8042_range = {
	.start = I8042_DATA_PORT, .len = 5, .fn = i8042_io, .name = "i8042",
};
static struct io_range reset_range = {
	.start = X86_RESET_PORT, .len = 1, .fn = reset_ctl_io, .name = "reset-control",
};
static struct io_range sleep_range = {
	.start = X86_ACPI_SLEEP_CTL_PORT, .len = 2, .fn = sleep_io, .name = "acpi-sleep",
};

static int power_init(struct kvm *kvm)
{
	i8042_range.ctx = reset_range.ctx = sleep_range.ctx = kvm;
	if (iobus_register(&kvm->pio_bus, &i8042_range) ||
	    iobus_register(&kvm->pio_bus, &reset_range) ||
	    iobus_register(&kvm->pio_bus, &sleep_range))
		return -1;
	return 0;
}
dev_init(power_init, NULL);
