// SPDX-License-Identifier: GPL-2.0
/*
 * The sandbox exit register (hw/sandbox-exit.c), driven through the I/O bus
 * as a guest would: only a 4-byte write of the magic and a status at the
 * register's first byte reports, the first report is the one kept (in the
 * VM's struct kvm), and stray or hostile accesses change nothing.
 */
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/sandbox.h"
#include "test.h"

static int stops, stop_code;

void kvm__request_stop(struct kvm *kvm, int exit_code, const char *fmt __unused, ...)
{
	if (!stops++)
		stop_code = exit_code;
	kvm->stopping = true;
}

static struct kvm *vm_new(bool sandbox)
{
	struct kvm *kvm = xzalloc(sizeof(*kvm));

	kvm->sandbox_status = -1;
	kvm->cfg.sandbox = sandbox;
	iobus_init(&kvm->pio_bus, "pio");
	iobus_init(&kvm->mmio_bus, "mmio");
	stops = stop_code = 0;
	return kvm;
}

static void vm_free(struct kvm *kvm)
{
	init_run_exits(kvm);
	iobus_exit(&kvm->pio_bus);
	iobus_exit(&kvm->mmio_bus);
	free(kvm);
}

static void out32(struct kvm *kvm, u64 port, u32 v, u32 len)
{
	u8 d[8];

	put_le(d, v, len);
	iobus_access(&kvm->pio_bus, port, d, len, true);
}

#ifdef SANDBOX_EXIT_PORT
static void test_report(void)
{
	struct kvm *kvm = vm_new(true);

	CHECK_EQ(init_run_stage(kvm, INIT_DEV), 0);
	CHECK(iobus_find(&kvm->pio_bus, SANDBOX_EXIT_PORT, 4) != NULL);
	out32(kvm, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC | 3, 4);
	CHECK_EQ(kvm->sandbox_status, 3);
	CHECK_EQ(stops, 1);
	CHECK_EQ(stop_code, 3);
	/* The first report counts: the guest cannot change it afterwards. */
	out32(kvm, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC | 7, 4);
	CHECK_EQ(kvm->sandbox_status, 3);
	CHECK_EQ(stops, 1);
	vm_free(kvm);
}

static void test_hostile_accesses(void)
{
	struct kvm *kvm = vm_new(true);
	u8 d[4] = { 0 };

	CHECK_EQ(init_run_stage(kvm, INIT_DEV), 0);
	out32(kvm, SANDBOX_EXIT_PORT, 3, 4);			/* no magic */
	out32(kvm, SANDBOX_EXIT_PORT, 0x4c4b5700u | 3, 4);	/* wrong magic */
	out32(kvm, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC | 3, 2);	/* short */
	out32(kvm, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC | 3, 1);
	out32(kvm, SANDBOX_EXIT_PORT + 1, SANDBOX_EXIT_MAGIC | 3, 2);	/* not at byte 0 */
	out32(kvm, SANDBOX_EXIT_PORT + 2, SANDBOX_EXIT_MAGIC | 3, 2);
	CHECK_EQ(kvm->sandbox_status, -1);
	CHECK_EQ(stops, 0);
	/* Reads say nothing (all ones) and report nothing. */
	iobus_access(&kvm->pio_bus, SANDBOX_EXIT_PORT, d, 4, false);
	CHECK_EQ(get_le(d, 4), 0xffffffffu);
	CHECK_EQ(kvm->sandbox_status, -1);
	vm_free(kvm);
}

static void test_stop_first_wins(void)
{
	struct kvm *kvm = vm_new(true);

	CHECK_EQ(init_run_stage(kvm, INIT_DEV), 0);
	/* The VM is already stopping (poweroff, --timeout): no status. */
	kvm->stopping = true;
	out32(kvm, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC, 4);
	CHECK_EQ(kvm->sandbox_status, -1);
	CHECK_EQ(stops, 0);
	vm_free(kvm);
}

static void test_two_vms(void)
{
	struct kvm *a = vm_new(true), *b = vm_new(true);

	CHECK_EQ(init_run_stage(a, INIT_DEV), 0);
	CHECK_EQ(init_run_stage(b, INIT_DEV), 0);
	out32(a, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC | 4, 4);
	/* Each VM has its own register and report. */
	CHECK_EQ(a->sandbox_status, 4);
	CHECK_EQ(b->sandbox_status, -1);
	vm_free(a);
	CHECK_EQ(iobus_find(&b->pio_bus, SANDBOX_EXIT_PORT, 4) != NULL, 1);
	vm_free(b);
}
#endif

static void test_only_for_sandbox(void)
{
	struct kvm *kvm = vm_new(false);

	CHECK_EQ(init_run_stage(kvm, INIT_DEV), 0);
#ifdef SANDBOX_EXIT_PORT
	CHECK(iobus_find(&kvm->pio_bus, SANDBOX_EXIT_PORT, 4) == NULL);
	out32(kvm, SANDBOX_EXIT_PORT, SANDBOX_EXIT_MAGIC | 3, 4);
#endif
	CHECK_EQ(kvm->sandbox_status, -1);
	CHECK_EQ(stops, 0);
	vm_free(kvm);
}

TEST_MAIN_BEGIN("test-sandbox-exit")
#ifdef SANDBOX_EXIT_PORT
	RUN(test_report);
	RUN(test_hostile_accesses);
	RUN(test_stop_first_wins);
	RUN(test_two_vms);
#endif
	RUN(test_only_for_sandbox);
TEST_MAIN_END()
