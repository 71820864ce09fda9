// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console through the real device core and worker thread, with a
 * fake transport and a fake terminal: output reaches the terminal, input
 * typed before the driver is up arrives once its receive buffers have
 * settled, input waits for buffers, and a full buffer pushes back.
 */
#include <endian.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/term.h"
#include "lkvm/virtio.h"
#include "test.h"

#define RAM_SIZE	(4 << 20)
#define QSZ		8
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

/* The fake transport. */
static struct virtio_device *dev;
static int irqs;

static int fake_signal_vq(struct virtio_device *vdev __unused,
			  struct virt_queue *vq __unused)
{
	__atomic_add_fetch(&irqs, 1, __ATOMIC_RELAXED);
	return 0;
}

static int fake_signal_config(struct virtio_device *vdev __unused)
{
	return 0;
}

static const struct virtio_transport_ops fake_tops = {
	.name = "fake",
	.signal_vq = fake_signal_vq,
	.signal_config = fake_signal_config,
};

static int fake_attach(struct kvm *k __unused, struct virtio_device *vdev)
{
	vdev->tops = &fake_tops;
	dev = vdev;
	return 0;
}

static struct virtio_transport fake_transport = {
	.name = "pci",
	.attach = fake_attach,
};

static struct kvm kvm;
static u8 *ram;
static size_t early_taken;
static struct vring_desc *desc[2];
static struct vring_avail *avail[2];
static struct vring_used *used[2];

static bool wait_used(int q, u16 n)
{
	int i;

	for (i = 0; i < 3000; i++) {
		if (le16toh(__atomic_load_n(&used[q]->idx, __ATOMIC_ACQUIRE)) == n)
			return true;
		usleep(1000);
	}
	return false;
}

static void post(int q, u16 i, u64 gpa, u32 len, bool write)
{
	desc[q][i] = (struct vring_desc){ htole64(gpa), htole32(len),
					  htole16(write ? VRING_DESC_F_WRITE : 0), 0 };
	avail[q]->ring[le16toh(avail[q]->idx) % QSZ] = htole16(i);
	__atomic_store_n(&avail[q]->idx, htole16(le16toh(avail[q]->idx) + 1),
			 __ATOMIC_RELEASE);
	virtio_queue_kick(dev, q);
}

static void driver_up(void)
{
	u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int q;

	virtio_set_status(dev, s);
	virtio_set_features_word(dev, 1, 1);		/* VERSION_1 */
	virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (q = 0; q < 2; q++) {
		u64 base = 0x10000 + q * 0x4000;

		memset(ram + base, 0, 0x4000);
		desc[q] = (void *)(ram + base);
		avail[q] = (void *)(ram + base + 0x1000);
		used[q] = (void *)(ram + base + 0x2000);
		dev->vqs[q].size = QSZ;
		dev->vqs[q].desc_gpa = base;
		dev->vqs[q].avail_gpa = base + 0x1000;
		dev->vqs[q].used_gpa = base + 0x2000;
		virtio_queue_enable(dev, q, true);
	}
	virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK |
			  VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_output(void)
{
	memcpy(ram + 0x100000, "hello world\n", 12);
	desc[TX][0] = (struct vring_desc){ 0x100000, 5, VRING_DESC_F_NEXT, 1 };
	desc[TX][1] = (struct vring_desc){ 0x100005, 7, 0, 0 };
	avail[TX]->ring[0] = 0;
	__atomic_store_n(&avail[TX]->idx, 1, __ATOMIC_RELEASE);
	virtio_queue_kick(dev, TX);
	CHECK(wait_used(TX, 1));
	CHECK_EQ(used[TX]->ring[0].len, 0);
	CHECK_EQ(out_len, 12);
	CHECK(!memcmp(out, "hello world\n", 12));
	CHECK(irqs > 0);
}

/*
 * One transmit chain of 1024 descriptors (an indirect table) that all name
 * the whole guest RAM: 4 GiB of output from a 4 MiB guest, written by the
 * worker in one go with the device lock held (and 4 TiB from a 4 GiB
 * guest). Drivers send a page or so per buffer; what a chain carries to
 * the terminal is capped.
 */
static void test_output_huge(void)
{
	struct vring_desc *t = (struct vring_desc *)(ram + 0x300000);
	u16 n = le16toh(used[TX]->idx);
	unsigned int i;

	for (i = 0; i < 1024; i++)
		t[i] = (struct vring_desc){ 0, RAM_SIZE, i < 1023 ? VRING_DESC_F_NEXT : 0,
					    i + 1 };
	desc[TX][2] = (struct vring_desc){ 0x300000, 1024 * 16, VRING_DESC_F_INDIRECT, 0 };
	out_total = 0;
	avail[TX]->ring[le16toh(avail[TX]->idx) % QSZ] = 2;
	__atomic_store_n(&avail[TX]->idx, le16toh(avail[TX]->idx) + 1, __ATOMIC_RELEASE);
	virtio_queue_kick(dev, TX);
	CHECK(wait_used(TX, n + 1));
	CHECK(out_total > 0);
	CHECK(out_total <= 1 << 20);
}

static void test_input(void)
{
	static u8 big[8192];
	u64 t0;

	/* Typed while the driver was coming up (see main). */
	CHECK_EQ(early_taken, 3);
	post(RX, 0, 0x200000, 2, true);
	t0 = now_ns();
	CHECK(wait_used(RX, 1));
	/* Held until the receive queue has settled. */
	CHECK(now_ns() - t0 > 100 * 1000 * 1000ULL);
	CHECK_EQ(le32toh(used[RX]->ring[0].len), 2);
	CHECK(!memcmp(ram + 0x200000, "he", 2));

	/* The rest waits for the next buffer, which it gets at once. */
	CHECK_EQ(in_fn(in_ctx, (const u8 *)"lo!", 3), 3);
	post(RX, 1, 0x200100, 16, true);
	CHECK(wait_used(RX, 2));
	CHECK_EQ(le32toh(used[RX]->ring[1].len), 4);
	CHECK(!memcmp(ram + 0x200100, "llo!", 4));

	/* A driver that doesn't read: the terminal is told to wait. */
	CHECK_EQ(in_fn(in_ctx, big, sizeof(big)), 4096);
	CHECK_EQ(in_fn(in_ctx, big, 1), 0);
}

TEST_MAIN_BEGIN("test-console")
	ram = calloc(1, RAM_SIZE);
	guest_mem_add_bank(&kvm.mem, 0, RAM_SIZE, ram);
	kvm.cfg.console = "virtio";
	kvm.cfg.virtio_transport = "pci";
	kvm.cfg.nrcpus = 1;
	virtio_transport_register(&fake_transport);
	if (init_run_stage(&kvm, INIT_VIRTIO) < 0 || !dev || !in_fn) {
		printf("FAIL: unit/test-console/setup: no console device\n");
		return 1;
	}
	/* Input before the driver: kept, not refused. */
	early_taken = in_fn(in_ctx, (const u8 *)"hel", 3);
	driver_up();
	RUN(test_output);
	RUN(test_output_huge);
	RUN(test_input);
	virtio_set_status(dev, 0);
	init_run_exits(&kvm);
	free(ram);
TEST_MAIN_END()
