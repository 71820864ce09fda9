// SPDX-License-Identifier: GPL-2.0
/*
 * The split virtqueue against hostile rings, on an in-memory guest RAM:
 * out-of-RAM addresses, loops, oversize chains, bad indirect tables, bad
 * indexes, and the notification suppression arithmetic.
 */
#include "lkvm/virtio.h"
#include "test.h"

#define RAM_SIZE	(1 << 20)
#define QSZ		8
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x10000

static u8 *ram;
static struct guest_mem mem;
static struct virt_queue vq;
static struct virtq_elem elem;

static struct vring_desc *desc(unsigned int i)
{
	return (struct vring_desc *)(ram + DESC_GPA) + i;
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_GPA);
}

static void setup(bool event_idx)
{
	if (!ram) {
		ram = calloc(1, RAM_SIZE);
		guest_mem_add_bank(&mem, 0, RAM_SIZE, ram);
	}
	memset(ram, 0, RAM_SIZE);
	memset(&vq, 0, sizeof(vq));
	vq.max_size = 256;
	vq.size = QSZ;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	vq.event_idx = event_idx;
	CHECK(virtq_setup(&vq, &mem) == 0);
	vq.ready = true;
}

static void set_desc(unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	desc(i)->addr = addr;
	desc(i)->len = len;
	desc(i)->flags = flags;
	desc(i)->next = next;
}

static void make_avail(u16 head)
{
	avail()->ring[avail()->idx % QSZ] = head;
	avail()->idx++;
}

static void test_good_chain(void)
{
	setup(false);
	set_desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(2, BUF_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 0);	/* nothing yet */
	make_avail(0);
	CHECK(virtq_has_avail(&vq));
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	CHECK_EQ(elem.head, 0);
	CHECK_EQ(elem.nr_out, 1);
	CHECK_EQ(elem.nr_in, 2);
	CHECK_EQ(elem.out_bytes, 16);
	CHECK_EQ(elem.in_bytes, 513);
	CHECK(elem.iov[1].iov_base == ram + BUF_GPA + 0x100);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 0);
	virtq_push(&vq, &elem, 513);
	CHECK_EQ(used()->idx, 1);
	CHECK_EQ(used()->ring[0].id, 0);
	CHECK_EQ(used()->ring[0].len, 513);
}

static void test_indirect(void)
{
	struct vring_desc *t = (struct vring_desc *)(ram + 0x8000);

	setup(false);
	t[0] = (struct vring_desc){ BUF_GPA, 16, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0 };
	set_desc(3, 0x8000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(3);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	CHECK_EQ(elem.head, 3);
	CHECK_EQ(elem.nr_out, 1);
	CHECK_EQ(elem.nr_in, 1);

	/* Unaligned indirect tables are legal; they are copied, not cast. */
	struct vring_desc local[2] = {
		{ BUF_GPA, 16, VRING_DESC_F_NEXT, 1 },
		{ BUF_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0 },
	};

	setup(false);
	memcpy(ram + 0x8003, local, sizeof(local));
	set_desc(0, 0x8003, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
}

/* Expect the ring to be reported broken. */
static void expect_broken(void)
{
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), (unsigned long long)-1);
}

static void test_hostile_addresses(void)
{
	setup(false);
	set_desc(0, RAM_SIZE - 8, 16, 0, 0);		/* runs off RAM */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, ~0ULL - 4, 16, 0, 0);		/* wraps */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, BUF_GPA, 0xffffffff, 0, 0);		/* huge length */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, QSZ);	/* next out of range */
	make_avail(0);
	expect_broken();

	setup(false);
	make_avail(QSZ + 3);				/* head out of range */
	expect_broken();

	setup(false);
	avail()->idx = QSZ + 1;				/* more than the ring holds */
	expect_broken();
}

static void test_loops_and_order(void)
{
	unsigned int i;

	setup(false);
	set_desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);	/* 0 -> 1 -> 0 ... */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);	/* self loop */
	make_avail(0);
	expect_broken();

	/* A chain of exactly the queue size is fine; the loop detector must not fire. */
	setup(false);
	for (i = 0; i < QSZ; i++)
		set_desc(i, BUF_GPA, 8, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0, i + 1);
	make_avail(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	CHECK_EQ(elem.nr_out, QSZ);

	setup(false);
	set_desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(1, BUF_GPA, 16, 0, 0);		/* readable after writable */
	make_avail(0);
	expect_broken();
}

static void test_bad_indirect(void)
{
	struct vring_desc *t = (struct vring_desc *)(ram + 0x8000);

	setup(false);
	set_desc(0, 0x8000, 24, VRING_DESC_F_INDIRECT, 0);	/* not whole entries */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, 0x8000, 0, VRING_DESC_F_INDIRECT, 0);	/* empty */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, RAM_SIZE - 16, 64, VRING_DESC_F_INDIRECT, 0);	/* outside RAM */
	make_avail(0);
	expect_broken();

	setup(false);
	set_desc(0, 0x8000, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	make_avail(0);
	expect_broken();

	setup(false);
	t[0] = (struct vring_desc){ 0x9000, 16, VRING_DESC_F_INDIRECT, 0 };	/* nested */
	set_desc(0, 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_broken();

	setup(false);
	t[0] = (struct vring_desc){ BUF_GPA, 16, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF_GPA, 16, VRING_DESC_F_NEXT, 0 };	/* loop */
	set_desc(0, 0x8000, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_broken();

	setup(false);
	t[0] = (struct vring_desc){ BUF_GPA, 16, VRING_DESC_F_NEXT, 5 };	/* next > table */
	set_desc(0, 0x8000, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_broken();

	/* A table larger than any chain lkvm accepts. */
	setup(false);
	set_desc(0, 0x8000, (VIRTQ_MAX_SEGS + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_broken();
}

static void test_bad_setup(void)
{
	setup(false);
	vq.size = 6;					/* not a power of two */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.size = 512;					/* above the device maximum */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.size = 0;
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.size = QSZ;
	vq.desc_gpa = DESC_GPA + 8;			/* misaligned */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.desc_gpa = RAM_SIZE - 16;			/* ring runs off RAM */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.desc_gpa = DESC_GPA;
	vq.used_gpa = RAM_SIZE - 8;
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.used_gpa = USED_GPA + 2;
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.used_gpa = USED_GPA;
	CHECK(virtq_setup(&vq, &mem) == 0);

	/*
	 * Overlapping rings (found by fuzz/fuzz-virtqueue: all three at one
	 * address, so each push of ours moved avail->idx and pop never ran
	 * dry). Each pair refused, and the last byte of one touching the
	 * first of the next is still fine.
	 */
	vq.desc_gpa = vq.avail_gpa = vq.used_gpa = DESC_GPA;
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = AVAIL_GPA + 4;			/* used over avail */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.used_gpa = DESC_GPA + QSZ * 16 - 4;		/* used over desc's end */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.used_gpa = USED_GPA;
	vq.avail_gpa = DESC_GPA + QSZ * 16 - 2;		/* avail over desc's end */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.avail_gpa = DESC_GPA + QSZ * 16;		/* adjacent: fine */
	vq.used_gpa = ALIGN_UP(vq.avail_gpa + 6 + 2 * QSZ, 4);
	CHECK(virtq_setup(&vq, &mem) == 0);
	vq.used_gpa -= 4;				/* 2 bytes over avail */
	CHECK(virtq_setup(&vq, &mem) == -1);
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
}

static void test_zero_length_and_max_segs(void)
{
	setup(false);
	/* A zero-length descriptor may carry any address: it is never mapped. */
	set_desc(0, ~0ULL, 0, VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 4, 0, 0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	CHECK_EQ(elem.nr_out, 1);
}

static void test_interrupt_suppression(void)
{
	u16 *used_event;

	setup(false);
	set_desc(0, BUF_GPA, 4, 0, 0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	virtq_push(&vq, &elem, 0);
	CHECK(virtq_should_signal(&vq));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(!virtq_should_signal(&vq));

	/* EVENT_IDX: signal only when used_event lies in (old, new]. */
	setup(true);
	used_event = &avail()->ring[QSZ];
	set_desc(0, BUF_GPA, 4, 0, 0);
	make_avail(0);
	make_avail(0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	virtq_push(&vq, &elem, 0);			/* used idx 1 */
	CHECK(virtq_should_signal(&vq));		/* first one always */
	*used_event = 2;				/* wake me when idx passes 2 */
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	virtq_push(&vq, &elem, 0);			/* used idx 2 */
	CHECK(!virtq_should_signal(&vq));
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	virtq_push(&vq, &elem, 0);			/* used idx 3 */
	CHECK(virtq_should_signal(&vq));
}

static void test_notify_suppression(void)
{
	u16 *avail_event;

	setup(false);
	virtq_disable_notify(&vq);
	CHECK(used()->flags & VRING_USED_F_NO_NOTIFY);
	CHECK(!virtq_enable_notify(&vq));
	CHECK(!(used()->flags & VRING_USED_F_NO_NOTIFY));
	make_avail(0);
	CHECK(virtq_enable_notify(&vq));		/* raced: buffers are waiting */

	setup(true);
	avail_event = (u16 *)&used()->ring[QSZ];
	set_desc(0, BUF_GPA, 4, 0, 0);
	make_avail(0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	CHECK_EQ(virtq_pop(&vq, &mem, &elem), 1);
	CHECK(!virtq_enable_notify(&vq));
	CHECK_EQ(*avail_event, 2);
}

static void test_iov_copy(void)
{
	u8 a[4] = { 1, 2, 3, 4 }, b[3] = { 5, 6, 7 }, out[8] = { 0 };
	struct iovec iov[2] = { { a, 4 }, { b, 3 } };
	u8 in[3] = { 9, 9, 9 };

	CHECK_EQ(iov_to_buf(iov, 2, 2, out, 8), 5);
	CHECK_EQ(out[0], 3);
	CHECK_EQ(out[4], 7);
	CHECK_EQ(iov_to_buf(iov, 2, 100, out, 8), 0);
	CHECK_EQ(iov_from_buf(iov, 2, 3, in, 3), 3);
	CHECK_EQ(a[3], 9);
	CHECK_EQ(b[1], 9);
	CHECK_EQ(b[2], 7);
}

TEST_MAIN_BEGIN("virtqueue")
	RUN(test_good_chain);
	RUN(test_indirect);
	RUN(test_hostile_addresses);
	RUN(test_loops_and_order);
	RUN(test_bad_indirect);
	RUN(test_bad_setup);
	RUN(test_zero_length_and_max_segs);
	RUN(test_interrupt_suppression);
	RUN(test_notify_suppression);
	RUN(test_iov_copy);
TEST_MAIN_END()
