// SPDX-License-Identifier: GPL-2.0
/* The I/O bus and the guest memory accessor. */
#include <pthread.h>

#include "lkvm/guest-mem.h"
#include "lkvm/iobus.h"
#include "test.h"

static u64 last_off;
static u32 last_len;
static int calls;

static void dev_fn(struct io_range *r, u64 off, u8 *data, u32 len, bool is_write,
		   void *ctx)
{
	(void)r;
	(void)ctx;
	last_off = off;
	last_len = len;
	calls++;
	if (!is_write)
		memset(data, 0x42, len);
}

static void test_register_and_lookup(void)
{
	struct io_range r[100];
	struct iobus bus;
	unsigned int i;
	u8 buf[8];

	iobus_init(&bus, "test");
	/* Register in a scrambled order; the bus keeps them sorted. */
	for (i = 0; i < 100; i++) {
		unsigned int k = (i * 37) % 100;

		r[k] = (struct io_range){ .start = 0x1000 + k * 0x10, .len = 8,
					  .fn = dev_fn, .name = "dev" };
		CHECK(iobus_register(&bus, &r[k]) == 0);
	}
	for (i = 1; i < bus.nr; i++)
		CHECK(bus.ranges[i - 1]->start < bus.ranges[i]->start);
	CHECK(iobus_find(&bus, 0x1000, 1) == &r[0]);
	CHECK(iobus_find(&bus, 0x1007, 1) == &r[0]);
	CHECK(iobus_find(&bus, 0x1008, 1) == NULL);	/* the gap */
	CHECK(iobus_find(&bus, 0x1006, 4) == NULL);	/* straddles the end */
	CHECK(iobus_find(&bus, 0x1630, 8) == &r[99]);
	CHECK(iobus_find(&bus, 0xfff, 1) == NULL);
	CHECK(iobus_find(&bus, 0x2000, 1) == NULL);
	CHECK(iobus_find(&bus, 0x1000, 0) == NULL);
	CHECK(iobus_find(&bus, ~0ULL, 8) == NULL);	/* wraps */

	calls = 0;
	CHECK(iobus_access(&bus, 0x1013, buf, 2, false));
	CHECK_EQ(calls, 1);
	CHECK_EQ(last_off, 3);
	CHECK_EQ(last_len, 2);
	CHECK_EQ(buf[0], 0x42);
	/* Unclaimed reads return all ones and are reported as unhandled. */
	memset(buf, 0, sizeof(buf));
	CHECK(!iobus_access(&bus, 0x5000, buf, 4, false));
	CHECK_EQ(buf[0], 0xff);
	CHECK_EQ(buf[3], 0xff);
	CHECK_EQ(calls, 1);
	iobus_exit(&bus);
}

static void test_overlaps_refused(void)
{
	struct io_range a = { .start = 0x100, .len = 0x10, .fn = dev_fn, .name = "a" };
	struct io_range b = { .start = 0x10f, .len = 1, .fn = dev_fn, .name = "b" };
	struct io_range c = { .start = 0xf0, .len = 0x11, .fn = dev_fn, .name = "c" };
	struct io_range d = { .start = 0x110, .len = 1, .fn = dev_fn, .name = "d" };
	struct io_range e = { .start = ~0ULL - 1, .len = 4, .fn = dev_fn, .name = "e" };
	struct io_range z = { .start = 0x200, .len = 0, .fn = dev_fn, .name = "z" };
	struct iobus bus;

	iobus_init(&bus, "test");
	CHECK(iobus_register(&bus, &a) == 0);
	CHECK(iobus_register(&bus, &b) == -1);
	CHECK(iobus_register(&bus, &c) == -1);
	CHECK(iobus_register(&bus, &d) == 0);
	CHECK(iobus_register(&bus, &e) == -1);
	CHECK(iobus_register(&bus, &z) == -1);
	iobus_unregister(&bus, &a);
	CHECK(iobus_find(&bus, 0x100, 1) == NULL);
	CHECK(iobus_register(&bus, &b) == 0);
	CHECK_EQ(bus.nr, 2);
	iobus_exit(&bus);
}

static void test_guest_mem_bounds(void)
{
	static u8 low[SZ_64K], high[SZ_64K];
	struct guest_mem mem = { 0 };
	u8 v = 0;

	CHECK(guest_mem_add_bank(&mem, 0, sizeof(low), low) == 0);
	CHECK(guest_mem_add_bank(&mem, SZ_4G, sizeof(high), high) == 0);
	CHECK(guest_mem_add_bank(&mem, 0x1000, 0x1000, low) == -1);	/* overlap */
	CHECK(guest_mem_add_bank(&mem, ~0ULL - 10, 0x100, low) == -1);	/* wraps */
	CHECK_EQ(mem.ram_size, 2 * SZ_64K);

	CHECK(guest_ptr(&mem, 0, 1) == low);
	CHECK(guest_ptr(&mem, SZ_64K - 1, 1) == low + SZ_64K - 1);
	CHECK(guest_ptr(&mem, SZ_64K - 1, 2) == NULL);		/* runs off the end */
	CHECK(guest_ptr(&mem, SZ_64K, 1) == NULL);		/* the hole */
	CHECK(guest_ptr(&mem, SZ_4G + 16, 16) == high + 16);
	CHECK(guest_ptr(&mem, 0, 0) == NULL);
	CHECK(guest_ptr(&mem, 0, ~0ULL) == NULL);
	CHECK(guest_ptr(&mem, 16, ~0ULL - 8) == NULL);		/* would wrap */
	CHECK(guest_ptr(&mem, ~0ULL, 1) == NULL);
	CHECK(guest_ptr(&mem, SZ_4G - 1, 2) == NULL);		/* spans hole into bank */
	CHECK(guest_write(&mem, 10, "x", 1) == 0 && low[10] == 'x');
	CHECK(guest_read(&mem, 10, &v, 1) == 0 && v == 'x');
	CHECK(guest_write(&mem, SZ_64K, "x", 1) == -1);
}

/*
 * One vCPU moves a range (a guest reprogramming a PCI BAR: unregister, new
 * start, register) while another accesses it: the handler must only ever
 * see offsets inside the range, never one computed from the new start for
 * an access that found the range at the old one.
 */
static struct io_range moving;
static volatile bool moving_stop;
static int moving_bad;

static void moving_fn(struct io_range *r __unused, u64 off, u8 *data __unused,
		      u32 len __unused, bool is_write __unused, void *ctx __unused)
{
	if (off >= moving.len)
		__atomic_add_fetch(&moving_bad, 1, __ATOMIC_RELAXED);
}

static void *mover(void *arg)
{
	struct iobus *bus = arg;

	while (!moving_stop) {
		iobus_unregister(bus, &moving);
		moving.start = moving.start == 0x1000 ? 0x2000 : 0x1000;
		iobus_register(bus, &moving);
	}
	return NULL;
}

static void test_access_while_moving(void)
{
	struct iobus bus;
	pthread_t t;
	unsigned int i;
	u8 d[4];

	iobus_init(&bus, "test");
	moving = (struct io_range){ .start = 0x1000, .len = 0x100, .fn = moving_fn,
				    .name = "bar" };
	CHECK(iobus_register(&bus, &moving) == 0);
	moving_stop = false;
	CHECK(pthread_create(&t, NULL, mover, &bus) == 0);
	for (i = 0; i < 3000000 && !moving_bad; i++)
		iobus_access(&bus, 0x1010, d, 4, false);
	moving_stop = true;
	pthread_join(t, NULL);
	CHECK_EQ(moving_bad, 0);
	iobus_exit(&bus);
}

TEST_MAIN_BEGIN("iobus")
	RUN(test_register_and_lookup);
	RUN(test_overlaps_refused);
	RUN(test_guest_mem_bounds);
	RUN(test_access_while_moving);
TEST_MAIN_END()
