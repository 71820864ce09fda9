// SPDX-License-Identifier: GPL-2.0
/*
 * The sandbox exit register (lkvm sandbox only): the guest init writes
 * SANDBOX_EXIT_MAGIC | status as one 32-bit value once the command has
 * finished and its output has drained, and lkvm exits with that status.
 * A dedicated register rather than a line on the console: it cannot be
 * confused with the command's own output, needs no parsing, and arrives
 * after everything the command wrote.
 */
#include <stdatomic.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/sandbox.h"

#ifdef SANDBOX_EXIT_PORT
static void exit_write(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		       bool is_write, void *ctx)
{
	struct kvm *kvm = ctx;
	u32 v;

	if (!is_write) {
		for (u32 i = 0; i < len; i++)
			data[i] = 0xff;
		return;
	}
	if (off || len != 4)
		return;
	v = data[0] | data[1] << 8 | data[2] << 16 | (u32)data[3] << 24;
	if ((v & 0xffffff00u) != SANDBOX_EXIT_MAGIC)
		return;
	/* The first report counts; the guest cannot change it afterwards. */
	if (!kvm->stopping) {
		int expected = -1;

		atomic_compare_exchange_strong(&kvm->sandbox_status, &expected,
					       (int)(v & 0xff));
		kvm__request_stop(kvm, v & 0xff, NULL);
	}
}

static int sandbox_exit_init(struct kvm *kvm)
{
	if (!kvm->cfg.sandbox)
		return 0;
	kvm->sandbox_exit_io = (struct io_range){
		.start = SANDBOX_EXIT_PORT, .len = 4, .fn = exit_write, .ctx = kvm,
		.name = "sandbox-exit",
	};
	return iobus_register(&kvm->pio_bus, &kvm->sandbox_exit_io);
}

static void sandbox_exit_exit(struct kvm *kvm)
{
	if (kvm->cfg.sandbox)
		iobus_unregister(&kvm->pio_bus, &kvm->sandbox_exit_io);
}
#else
static int sandbox_exit_init(struct kvm *kvm)
{
	if (kvm->cfg.sandbox) {
		pr_err("sandbox: no exit register on this architecture yet");
		return -1;
	}
	return 0;
}

static void sandbox_exit_exit(struct kvm *kvm __unused)
{
}
#endif
dev_init(sandbox_exit_init, sandbox_exit_exit);
