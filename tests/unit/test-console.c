// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console through the real device core and worker thread, with the
 * fake transport (fake-virtio.h) and a fake terminal: output reaches the
 * terminal, input typed before the driver is up arrives once its receive
 * buffers have settled, input waits for buffers, and a full buffer pushes
 * back.
 */
#include <linux/virtio_ids.h>

#include "lkvm/term.h"
#include "test.h"
#include "fake-virtio.h"

#define RX		0
#define TX		1

/* The fake terminal. */
static term_input_fn in_fn;
static void *in_ctx;
static char out[4096];
static size_t out_len;
static u64 out_total;

void term_set_input(struct term *t __unused, term_input_fn fn, void *ctx)
{
	in_fn = fn;
	in_ctx = ctx;
}

void term_write(struct term *t __unused, const void *buf, size_t len)
{
	out_total += len;
	if (out_len + len <= sizeof(out)) {
		memcpy(out + out_len, buf, len);
		out_len += len;
	}
}

static struct virtio_device *dev;
static struct fv_q q[2];
static size_t early_taken;

static void test_output(void)
{
	memcpy(fv_ram + 0x100000, "hello world\n", 12);
	fv_add(&q[TX], (struct fv_seg[]){ { 0x100000, 5, false }, { 0x100005, 7, false } }, 2);
	CHECK(fv_kick_wait(&q[TX], 1));
	CHECK_EQ(fv_used(&q[TX], 0)->len, 0);
	CHECK_EQ(out_len, 12);
	CHECK(!memcmp(out, "hello world\n", 12));
	CHECK(fv_irqs > 0);
}

/*
 * One transmit chain of 1024 descriptors (an indirect table) that all name
 * the whole guest RAM: 16 GiB of output from a 16 MiB guest, written by
 * the worker in one go with the device lock held (and 4 TiB from a 4 GiB
 * guest). Drivers send a page or so per buffer; what a chain carries to
 * the terminal is capped.
 */
static void test_output_huge(void)
{
	struct vring_desc *t = fv_gp(0x300000);
	unsigned int i;

	for (i = 0; i < 1024; i++)
		t[i] = (struct vring_desc){ 0, FV_RAM_SIZE, i < 1023 ? VRING_DESC_F_NEXT : 0,
					    i + 1 };
	out_total = 0;
	fv_add(&q[TX], (struct fv_seg[]){ { 0x300000, 1024 * 16, false, true } }, 1);
	CHECK(fv_kick_wait(&q[TX], 1));
	CHECK(out_total > 0);
	CHECK(out_total <= 1 << 20);
}

static void test_input(void)
{
	static u8 big[8192];
	u64 t0;

	/* Typed while the driver was coming up (see main). */
	CHECK_EQ(early_taken, 3);
	fv_add(&q[RX], (struct fv_seg[]){ { 0x200000, 2, true } }, 1);
	t0 = now_ns();
	CHECK(fv_kick_wait(&q[RX], 1));
	/* Held until the receive queue has settled. */
	CHECK(now_ns() - t0 > 100 * 1000 * 1000ULL);
	CHECK_EQ(le32toh(fv_used(&q[RX], 0)->len), 2);
	CHECK(!memcmp(fv_gp(0x200000), "he", 2));

	/* The rest waits for the next buffer, which it gets at once. */
	CHECK_EQ(in_fn(in_ctx, (const u8 *)"lo!", 3), 3);
	fv_add(&q[RX], (struct fv_seg[]){ { 0x200100, 16, true } }, 1);
	CHECK(fv_kick_wait(&q[RX], 1));
	CHECK_EQ(le32toh(fv_used(&q[RX], 0)->len), 4);
	CHECK(!memcmp(fv_gp(0x200100), "llo!", 4));

	/* A driver that doesn't read: the terminal is told to wait. */
	CHECK_EQ(in_fn(in_ctx, big, sizeof(big)), 4096);
	CHECK_EQ(in_fn(in_ctx, big, 1), 0);
}

TEST_MAIN_BEGIN("test-console")
	if (!fv_setup()) {
		printf("FAIL: unit/test-console/setup: no guest memory\n");
		return 1;
	}
	fv_kvm.cfg.console = "virtio";
	if (init_run_stage(&fv_kvm, INIT_VIRTIO) < 0 || !(dev = fv_find(VIRTIO_ID_CONSOLE)) ||
	    !in_fn) {
		printf("FAIL: unit/test-console/setup: no console device\n");
		return 1;
	}
	/* Input before the driver: kept, not refused. */
	early_taken = in_fn(in_ctx, (const u8 *)"hel", 3);
	if (!fv_driver_up(dev, 1ULL << VIRTIO_F_VERSION_1, q, 2, 0)) {
		printf("FAIL: unit/test-console/setup: the driver did not come up\n");
		return 1;
	}
	RUN(test_output);
	RUN(test_output_huge);
	RUN(test_input);
	virtio_set_status(dev, 0);
	fv_teardown();
TEST_MAIN_END()
