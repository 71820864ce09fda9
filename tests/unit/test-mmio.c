// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport without a VM: its registers on a real iobus,
 * over the real virtio core and a small test device whose worker consumes
 * every chain it is given, with KVM's side (interrupt lines, MSI routes,
 * irqfds, ioeventfds) stubbed below and recorded. A driver's bring-up, the
 * MSI extension with hostile commands and vectors, and a randomized fuzz of
 * register accesses of every width at every offset, interleaved with
 * scribbles over the rings, kicks and resets: lkvm must never touch memory
 * outside guest RAM (ASan) nor hang.
 */
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/ioeventfd.h"
#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-mmio.h"
#include "lkvm/virtio.h"
#include "test.h"
#include "fuzz.h"

#define RAM_SIZE	(1 << 20)
#define NQ		3

static struct kvm kvm;
static u8 *ram;

/* ---- KVM, stubbed ---- */

static int line_level[64];
static int next_line = 16;
static int msi_routes, msi_signals;
static bool route_update_fails;		/* KVM_SET_GSI_ROUTING refuses updates */
static u32 signalled_data;

int kvm__irq_line(struct kvm *k __unused, u32 irq, int level)
{
	if (irq < ARRAY_SIZE(line_level))
		line_level[irq] = level;
	return 0;
}

int irq_alloc_line(struct kvm *k __unused)
{
	return next_line++;
}

int irq_irqfd_add_resample(struct kvm *k __unused, int gsi __unused, int fd __unused,
			   int resamplefd __unused)
{
	return -1;	/* drive the line from userspace: observable here */
}

int irq_irqfd_add(struct kvm *k __unused, int gsi __unused, int fd __unused)
{
	return 0;
}

int irq_irqfd_del(struct kvm *k __unused, int gsi __unused, int fd __unused)
{
	return 0;
}

int irq_msi_route_alloc(struct kvm *k __unused, u64 addr __unused, u32 data __unused,
			u32 devid __unused)
{
	return 1000 + __atomic_fetch_add(&msi_routes, 1, __ATOMIC_RELAXED);
}

int irq_msi_route_update(struct kvm *k __unused, int gsi __unused, u64 addr __unused,
			 u32 data __unused, u32 devid __unused)
{
	return route_update_fails ? -1 : 0;
}

int irq_signal_msi(struct kvm *k __unused, u64 addr __unused, u32 data,
		   u32 devid __unused)
{
	__atomic_add_fetch(&msi_signals, 1, __ATOMIC_RELAXED);
	signalled_data = data;
	return 0;
}

/* ioeventfds: a list, checked for double adds and stray deletes. */
static struct ioevent *events[64];
static int event_errors;

int ioeventfd_add(struct kvm *k __unused, struct ioevent *ev)
{
	unsigned int i, free_slot = ARRAY_SIZE(events);

	for (i = 0; i < ARRAY_SIZE(events); i++) {
		if (events[i] == ev)
			event_errors++;		/* added twice */
		if (!events[i] && free_slot == ARRAY_SIZE(events))
			free_slot = i;
	}
	if (free_slot == ARRAY_SIZE(events))
		return -1;
	events[free_slot] = ev;
	return 0;
}

void ioeventfd_del(struct kvm *k __unused, struct ioevent *ev)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(events); i++) {
		if (events[i] == ev) {
			events[i] = NULL;
			return;
		}
	}
	event_errors++;				/* never added */
}

static unsigned int nr_events(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(events); i++)
		n += events[i] != NULL;
	return n;
}

/* ---- a device that uses every chain it gets (fuzz.h) ---- */

static u8 td_config[24];

static void td_config_write(struct virtio_device *vdev __unused, u32 off,
			    const u8 *data, u32 len)
{
	memcpy(td_config + off, data, len);
}

static const struct virtio_device_ops td_ops = {
	.name = "test",
	.device_id = 4,
	.notify = fz_consume,
	.config_write = td_config_write,
};

static struct virtio_device vdev;
static u64 base;

static void note_base(const struct virtio_mmio_info *info, void *ctx __unused)
{
	base = info->base;	/* creation order: the last one is the newest */
}

static void dev_up(bool msi, bool shared)
{
	static bool ram_done;

	if (!ram_done) {
		ram = malloc(RAM_SIZE);
		guest_mem_add_bank(&kvm.mem, 0, RAM_SIZE, ram);
		iobus_init(&kvm.mmio_bus, "mmio");
		ram_done = true;
	}
	memset(ram, 0, RAM_SIZE);
	memset(events, 0, sizeof(events));
	event_errors = 0;
	kvm.cfg.virtio_transport = "mmio";
	kvm.cfg.virtio_mmio_msi = msi;
	kvm.cfg.virtio_mmio_msi_shared = shared;
	memset(&vdev, 0, sizeof(vdev));
	vdev.ops = &td_ops;
	vdev.nr_queues = NQ;
	vdev.config = td_config;
	vdev.config_len = sizeof(td_config);
	vdev.queue_max_size = 64;
	CHECK(virtio_device_register(&kvm, &vdev) == 0);
	virtio_mmio_for_each(&kvm, note_base, NULL);
}

static void dev_down(void)
{
	virtio_device_unregister(&vdev);
	CHECK(!iobus_find(&kvm.mmio_bus, base, 4));
	CHECK_EQ(nr_events(), 0);
	CHECK_EQ(event_errors, 0);
}

static u64 rd(u64 off, u32 len)
{
	u8 d[8];

	iobus_access(&kvm.mmio_bus, base + off, d, len, false);
	return get_le(d, len);
}

static void wr(u64 off, u64 v, u32 len)
{
	u8 d[8];

	put_le(d, v, len);
	iobus_access(&kvm.mmio_bus, base + off, d, len, true);
}

static u32 rd32(u64 off)
{
	return rd(off, 4);
}

static void wr32(u64 off, u32 v)
{
	wr(off, v, 4);
}

/* Rings of queue @q: desc at 0x10000 + q * 0x4000, avail +0x1000, used +0x2000. */
static u64 ring_gpa(unsigned int q)
{
	return 0x10000 + q * 0x4000;
}

static void queue_setup(unsigned int q, u32 size)
{
	u64 d = ring_gpa(q);

	wr32(VIRTIO_MMIO_QUEUE_SEL, q);
	wr32(VIRTIO_MMIO_QUEUE_NUM, size);
	wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, d);
	wr32(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr32(VIRTIO_MMIO_QUEUE_AVAIL_LOW, d + 0x1000);
	wr32(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr32(VIRTIO_MMIO_QUEUE_USED_LOW, d + 0x2000);
	wr32(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr32(VIRTIO_MMIO_QUEUE_READY, 1);
}

static bool driver_up(u64 feat, u32 qsize)
{
	u32 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned int q;

	wr32(VIRTIO_MMIO_STATUS, 0);
	wr32(VIRTIO_MMIO_STATUS, s);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES, (u32)feat);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES, (u32)(feat >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	wr32(VIRTIO_MMIO_STATUS, s);
	if (!(rd32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	for (q = 0; q < NQ; q++) {
		memset(ram + ring_gpa(q), 0, 0x4000);
		queue_setup(q, qsize);
		if (rd32(VIRTIO_MMIO_QUEUE_READY) != 1)
			return false;
	}
	wr32(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return rd32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK;
}

static struct vring_desc *desc_of(unsigned int q)
{
	return (struct vring_desc *)(ram + ring_gpa(q));
}

static struct vring_avail *avail_of(unsigned int q)
{
	return (struct vring_avail *)(ram + ring_gpa(q) + 0x1000);
}

static u16 used_idx(unsigned int q)
{
	struct vring_used *u = (struct vring_used *)(ram + ring_gpa(q) + 0x2000);

	return le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
}

/* One writable buffer as the chain at head @d of queue @q (size @qsize). */
static void post_one(unsigned int q, u16 d, u32 qsize, u64 buf, u32 len)
{
	struct vring_avail *a = avail_of(q);
	u16 idx = le16toh(a->idx);

	desc_of(q)[d] = (struct vring_desc){ htole64(buf), htole32(len),
					     htole16(VRING_DESC_F_WRITE), 0 };
	a->ring[idx % qsize] = htole16(d);
	__atomic_store_n(&a->idx, htole16(idx + 1), __ATOMIC_RELEASE);
}

static bool wait_used(unsigned int q, u16 want)
{
	int i;

	for (i = 0; i < 3000; i++) {
		if (used_idx(q) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static const u64 base_features = 1ULL << VIRTIO_F_VERSION_1;

static void test_mmio_driver(void)
{
	char name[16];

	dev_up(false, false);
	/* The worker is named after its device, for ps -L and top -H. */
	CHECK(pthread_getname_np(vdev.worker, name, sizeof(name)) == 0 &&
	      !strcmp(name, "virtio-test"));
	CHECK_EQ(rd32(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(rd32(VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd32(VIRTIO_MMIO_DEVICE_ID), 4);
	/* No shared memory region, whichever is asked for: length -1. */
	wr32(VIRTIO_MMIO_SHM_SEL, 0);
	CHECK_EQ(rd32(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	CHECK_EQ(rd32(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	wr32(VIRTIO_MMIO_SHM_SEL, 0xffffffff);
	CHECK_EQ(rd32(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	/* Registers are 32 bits: other widths read 0 and write nothing. */
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);

	CHECK(driver_up(base_features, 16));
	/* A queue beyond num_queues: max 0, writes ignored. */
	wr32(VIRTIO_MMIO_QUEUE_SEL, NQ);
	CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr32(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	/* A ready queue's fields are frozen. */
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234000);
	CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_DESC_LOW), ring_gpa(0));

	/* A notify through the register (no KVM here), then the interrupt. */
	post_one(1, 0, 16, 0x80000, 100);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK(wait_used(1, 1));
	CHECK_EQ(ram[0x80000], 0xa5);
	CHECK_EQ(ram[0x80000 + 64], 0);
	CHECK(rd32(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(line_level[16], 1);
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(line_level[16], 0);
	/* Notifies for queues that don't exist are ignored. */
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, NQ);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	wr32(VIRTIO_MMIO_NOTIFY_BASE + 4 * 100, 0);

	/* Config space: bounded by the core, any width. */
	wr(VIRTIO_MMIO_CONFIG + 4, 0x11223344, 4);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG + 4, 4), 0x11223344);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG + 5, 2), 0x2233);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG + 20, 8), 0);		/* straddles the end */
	wr(VIRTIO_MMIO_CONFIG + 22, ~0ULL, 8);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG + 16, 8), 0);

	/* Reset: everything back, the line down. */
	wr32(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	dev_down();
}

static void msi_cmd(u32 sel, u32 cmd)
{
	wr32(VIRTIO_MMIO_MSI_VEC_SEL, sel);
	wr32(VIRTIO_MMIO_MSI_CMD, cmd);
}

static void test_mmio_msi_hostile(void)
{
	const u64 f = base_features | 1ULL << VIRTIO_F_MMIO_MSI |
		      1ULL << VIRTIO_F_MMIO_NOTIFICATION;
	int sig;

	dev_up(true, true);
	/* Commands before the feature is negotiated are ignored. */
	msi_cmd(0, VIRTIO_MMIO_MSI_CMD_ENABLE);
	CHECK_EQ(rd32(VIRTIO_MMIO_MSI_STATE), VIRTIO_MMIO_MSI_STATE_SHARING);
	CHECK(driver_up(f, 8));
	CHECK_EQ(rd32(VIRTIO_MMIO_MSI_VEC_NUM), NQ + 1);
	CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NOTIFY), VIRTIO_MMIO_NOTIFY_BASE |
		 VIRTIO_MMIO_NOTIFY_MULTIPLIER << 16);

	/* Out-of-range vectors for every command, and unknown commands. */
	msi_cmd(NQ + 1, VIRTIO_MMIO_MSI_CMD_CONFIGURE);
	msi_cmd(0xfffffffe, VIRTIO_MMIO_MSI_CMD_MASK);
	msi_cmd(0x80000000, VIRTIO_MMIO_MSI_CMD_UNMASK);
	msi_cmd(NQ + 1, VIRTIO_MMIO_MSI_CMD_MAP_CONFIG);
	msi_cmd(0xffff, VIRTIO_MMIO_MSI_CMD_MAP_QUEUE);
	msi_cmd(0, 0);
	msi_cmd(0, 0xffffffff);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	msi_cmd(1, VIRTIO_MMIO_MSI_CMD_MAP_QUEUE);
	CHECK_EQ(msi_routes, 0);

	/* A configured, mapped vector works; an unconfigured one is dropped. */
	wr32(VIRTIO_MMIO_MSI_ADDR_LOW, 0xfee00000);
	wr32(VIRTIO_MMIO_MSI_DATA, 0x41);
	msi_cmd(2, VIRTIO_MMIO_MSI_CMD_CONFIGURE);
	CHECK_EQ(msi_routes, 1);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	msi_cmd(2, VIRTIO_MMIO_MSI_CMD_MAP_QUEUE);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 1);
	msi_cmd(3, VIRTIO_MMIO_MSI_CMD_MAP_QUEUE);		/* never configured */
	msi_cmd(0, VIRTIO_MMIO_MSI_CMD_ENABLE);
	CHECK(rd32(VIRTIO_MMIO_MSI_STATE) & VIRTIO_MMIO_MSI_STATE_ENABLED);
	sig = msi_signals;
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[1]);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[2]);		/* NO_VECTOR */
	vdev.tops->signal_config(&vdev);			/* NO_VECTOR */
	CHECK_EQ(msi_signals, sig);		/* vector 2 has an irqfd, the rest nothing */
	CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* Reset while enabled: the next driver sees MSI off, no mappings. */
	wr32(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd32(VIRTIO_MMIO_MSI_STATE), VIRTIO_MMIO_MSI_STATE_SHARING);
	dev_down();
}

/*
 * The driver moves a vector but KVM refuses the new route: the irqfd would
 * still raise the old message, so the interrupt must go out through
 * KVM_SIGNAL_MSI with the new one (as virtio-pci does), until a later
 * update succeeds.
 */
static void test_mmio_msi_route_update_fails(void)
{
	const u64 f = base_features | 1ULL << VIRTIO_F_MMIO_MSI;
	int sig, routes = msi_routes;

	dev_up(true, false);
	CHECK(driver_up(f, 8));
	wr32(VIRTIO_MMIO_MSI_ADDR_LOW, 0xfee00000);
	wr32(VIRTIO_MMIO_MSI_DATA, 0x41);
	msi_cmd(1, VIRTIO_MMIO_MSI_CMD_CONFIGURE);		/* queue 0's vector */
	msi_cmd(0, VIRTIO_MMIO_MSI_CMD_ENABLE);
	sig = msi_signals;
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(msi_signals, sig);				/* through the irqfd */

	route_update_fails = true;
	wr32(VIRTIO_MMIO_MSI_DATA, 0x42);
	msi_cmd(1, VIRTIO_MMIO_MSI_CMD_CONFIGURE);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(msi_signals, sig + 1);
	CHECK_EQ(signalled_data, 0x42);

	route_update_fails = false;
	wr32(VIRTIO_MMIO_MSI_DATA, 0x43);
	msi_cmd(1, VIRTIO_MMIO_MSI_CMD_CONFIGURE);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(msi_signals, sig + 1);				/* the irqfd again */
	CHECK_EQ(msi_routes, routes + 1);
	wr32(VIRTIO_MMIO_STATUS, 0);
	dev_down();
}

/*
 * A guest can break a device and reset it as fast as it can write
 * registers: the warning for it must not become a flood on lkvm's stderr
 * (a terminal, or a log file that fills the host's disk).
 */
static void test_mmio_broken_warnings(void)
{
	const char *s;
	int i, lines = 0;

	dev_up(false, false);
	test_capture_begin();
	for (i = 0; i < 1000; i++) {
		wr32(VIRTIO_MMIO_STATUS, 0);
		wr32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
		wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
		wr32(VIRTIO_MMIO_QUEUE_NUM, 3);		/* not a power of two */
		wr32(VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK(rd32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	}
	/* A flood overflows the capture buffer: still more than 10 lines. */
	s = test_capture_end();
	/* The warning names what the driver wrote (here: nothing but the size). */
	CHECK(strstr(s, "invalid queue 0 size 3 or ring address (desc 0x0 avail 0x0 used 0x0)"));
	for (; (s = strstr(s, "needs reset")); s++)
		lines++;
	CHECK(lines > 0);
	CHECK(lines <= 10);
	dev_down();
}

/* ---- the fuzz ---- */

static const u32 mmio_regs[] = {
	VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID,
	VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_DEVICE_FEATURES,
	VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
	VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
	VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS,
	VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
	VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
	VIRTIO_MMIO_QUEUE_AVAIL_HIGH, VIRTIO_MMIO_QUEUE_USED_LOW,
	VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_MMIO_MSI_VEC_NUM, VIRTIO_MMIO_MSI_STATE,
	VIRTIO_MMIO_MSI_CMD, VIRTIO_MMIO_MSI_VEC_SEL, VIRTIO_MMIO_MSI_ADDR_LOW,
	VIRTIO_MMIO_MSI_ADDR_HIGH, VIRTIO_MMIO_MSI_DATA,
	VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_NOTIFY_BASE,
};

static u64 fuzz_offset(void)
{
	u64 off;

	switch (fz_below(4)) {
	case 0:		/* anywhere in (and at the edge of) the window */
		return fz_below(VIRTIO_MMIO_SIZE + 8) - 4;
	case 1:		/* config space and its end */
		return VIRTIO_MMIO_CONFIG + fz_below(sizeof(td_config) + 16);
	case 2:		/* per-queue notify addresses */
		return VIRTIO_MMIO_NOTIFY_BASE + fz_below(4 * (NQ + 4));
	default:
		off = mmio_regs[fz_below(ARRAY_SIZE(mmio_regs))];
		return fz_below(8) ? off : off + fz_below(4);
	}
}

static u32 cur_qsize = 16;

static void test_mmio_fuzz_one(bool msi, bool shared)
{
	const u64 f = base_features | 1ULL << VIRTIO_RING_F_EVENT_IDX |
		      1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_F_MMIO_MSI |
		      1ULL << VIRTIO_F_MMIO_NOTIFICATION;
	unsigned int i;
	int quiet;
	u8 d[8];

	dev_up(msi, shared);
	quiet = fz_quiet();
	for (i = 0; i < 200000; i++) {
		/* Mostly a running device, so that the rings get used. */
		if (!(i % 4096) || (!fz_below(64) &&
				    (rd32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET))) {
			cur_qsize = 1 << fz_below(7);
			driver_up(fz_below(4) ? f : fz_rnd(), cur_qsize);
		}
		switch (fz_below(16)) {
		case 0 ... 5:
			put_le(d, fz_value(RAM_SIZE, NQ), 8);
			iobus_access(&kvm.mmio_bus, base + fuzz_offset(), d, fz_len(), true);
			break;
		case 6 ... 8:
			iobus_access(&kvm.mmio_bus, base + fuzz_offset(), d, fz_len(), false);
			break;
		case 9 ... 12:
			fz_scribble_ring(ram + ring_gpa(fz_below(NQ)), cur_qsize,
					 0x40000, RAM_SIZE);
			break;
		case 13 ... 14:
			fz_kick(&vdev, NQ);
			break;
		default:
			if (!fz_below(1024))
				wr32(VIRTIO_MMIO_STATUS, 0);
			break;
		}
	}
	fz_loud(quiet);
	/* Whatever state that left: a reset must bring back a working device. */
	CHECK(driver_up(base_features, 16));
	post_one(0, 3, 16, 0x90000, 16);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(wait_used(0, 1));
	dev_down();
}

static void test_mmio_fuzz(void)
{
	test_mmio_fuzz_one(false, false);
	test_mmio_fuzz_one(true, false);
	test_mmio_fuzz_one(true, true);
	printf("# mmio fuzz: %d chains used\n", fz_chains);
}

TEST_MAIN_BEGIN("mmio")
	RUN(test_mmio_driver);
	RUN(test_mmio_msi_hostile);
	RUN(test_mmio_msi_route_update_fails);
	RUN(test_mmio_broken_warnings);
	RUN(test_mmio_fuzz);
TEST_MAIN_END()
