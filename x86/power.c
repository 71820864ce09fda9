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

/*
 * Port 0xcf9 is inside 0xcf8-0xcfb, which the PCI config address register
 * needs as one range: x86/pci-acpi.c owns the range and forwards byte
 * accesses to 0xcf9 here.
 */
void x86_reset_control_io(struct kvm *kvm, u8 *data, bool is_write)
{
	if (!is_write) {
		data[0] = kvm->arch.reset_control;
		return;
	}
	kvm->arch.reset_control = data[0];
	if (data[0] & RESET_CPU)
		guest_reset(kvm, "port 0xcf9");
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

/*
 * The reset vector. With hardware-reduced ACPI and no EFI, Linux's default
 * reboot ends in a "BIOS" reboot: a jump to f000:fff0 in real mode. There is
 * no BIOS, so put a stub there that does what a chipset reset would:
 * write the reset value to 0xcf9 (then halt, should that ever return).
 */
static int reset_vector_init(struct kvm *kvm)
{
	static const u8 stub[] = {
		0xb0, X86_RESET_VALUE,		/* mov al, 6 */
		0xba, X86_RESET_PORT & 0xff, X86_RESET_PORT >> 8, /* mov dx, 0xcf9 */
		0xee,				/* out dx, al */
		0xf4,				/* hlt */
		0xeb, 0xfd,			/* jmp hlt */
	};

	return guest_write(&kvm->mem, X86_RESET_VECTOR, stub, sizeof(stub));
}
firmware_init(reset_vector_init, NULL);

static int power_init(struct kvm *kvm)
{
	kvm->arch.i8042_io = (struct io_range){
		.start = I8042_DATA_PORT, .len = 5, .fn = i8042_io, .ctx = kvm,
		.name = "i8042",
	};
	kvm->arch.sleep_io = (struct io_range){
		.start = X86_ACPI_SLEEP_CTL_PORT, .len = 2, .fn = sleep_io, .ctx = kvm,
		.name = "acpi-sleep",
	};
	if (iobus_register(&kvm->pio_bus, &kvm->arch.i8042_io) ||
	    iobus_register(&kvm->pio_bus, &kvm->arch.sleep_io))
		return -1;
	return 0;
}
dev_init(power_init, NULL);
