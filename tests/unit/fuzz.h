/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the transport fuzzers (test-pci.c, test-mmio.c): a seeded
 * generator, so that a failure replays exactly, the values and widths a
 * hostile driver would use, a device whose worker consumes every chain it
 * is given (so rings scribbled by the fuzzer really get walked), and a way
 * to silence the device's complaints while the fuzzer runs. Include once,
 * after test.h.
 */
#ifndef LKVM_TEST_FUZZ_H
#define LKVM_TEST_FUZZ_H

#include <sched.h>
#include <unistd.h>

#include "lkvm/virtio.h"

static u64 fz_state = 0x9e3779b97f4a7c15ULL;

/* Deterministic across runs and hosts. */
static u64 fz_rnd(void)
{
	return test_xorshift(&fz_state);
}

static u64 fz_below(u64 n)
{
	return n ? fz_rnd() % n : 0;
}

/* An access width: mostly what drivers use, sometimes what no one should. */
static u32 fz_len(void)
{
	static const u32 lens[] = { 4, 4, 4, 2, 2, 1, 8, 3, 5, 7 };

	return lens[fz_below(ARRAY_SIZE(lens))];
}

/*
 * A value a hostile driver might write: small numbers and queue indexes,
 * single bits, all ones, addresses in or just past a guest RAM of
 * @ram_size bytes, device status combinations, queue sizes, anything.
 */
static u64 fz_value(u64 ram_size, unsigned int nr_queues)
{
	switch (fz_below(8)) {
	case 0:
		return fz_below(4);
	case 1:
		return fz_below(nr_queues + 2);
	case 2:
		return 1ULL << fz_below(64);
	case 3:
		return ~0ULL - fz_below(2);
	case 4:
		return fz_below(ram_size + 0x10000) & ~0xfULL;
	case 5:
		return VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       (fz_rnd() & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK |
				    VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED));
	case 6:
		return 1ULL << fz_below(11);
	default:
		return fz_rnd();
	}
}

/* Scribble over a split ring of @qsize entries at host address @r (0x3000 bytes). */
static void fz_scribble_ring(u8 *r, u32 qsize, u64 buf_lo, u64 buf_hi)
{
	struct vring_desc *desc = (struct vring_desc *)r;
	struct vring_avail *avail = (struct vring_avail *)(r + 0x1000);
	u16 i;

	switch (fz_below(4)) {
	case 0:		/* a descriptor, pointing mostly at buffers, sometimes anywhere */
		i = fz_below(8) ? fz_below(qsize) : fz_below(64);
		desc[i] = (struct vring_desc){
			.addr = htole64(fz_below(4) ? buf_lo + fz_below(buf_hi - buf_lo) :
					fz_rnd()),
			.len = htole32(fz_below(4) ? fz_below(0x2000) : (u32)fz_rnd()),
			.flags = htole16(fz_below(2) ? VRING_DESC_F_WRITE : fz_below(8)),
			.next = htole16(fz_below(8) ? fz_below(qsize) : (u16)fz_rnd()),
		};
		break;
	case 1:		/* publish an entry */
		i = le16toh(avail->idx);
		avail->ring[i % qsize] = htole16(fz_below(8) ? fz_below(qsize) : fz_rnd());
		__atomic_store_n(&avail->idx, htole16(i + 1), __ATOMIC_RELEASE);
		break;
	case 2:		/* any byte of the rings, now and then */
		if (!fz_below(4))
			r[fz_below(0x3000)] = fz_rnd();
		break;
	default:	/* the index and event fields, rarely */
		if (fz_below(8))
			break;
		avail->idx = htole16(fz_rnd());
		avail->ring[fz_below(qsize + 1)] = htole16(fz_rnd());
		break;
	}
}

static int fz_chains;

/* A device's notify: take every chain, touch its ends, fill what is writable. */
static void fz_consume(struct virtio_device *vdev, struct virt_queue *vq)
{
	static struct virtq_elem elem;
	static const u8 fill[64] = { [0 ... 63] = 0xa5 };
	bool pushed = false;
	int r;

	for (;;) {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, &vdev->kvm->mem, &elem)) == 1) {
			unsigned int n = elem.nr_out + elem.nr_in;
			size_t len = min(elem.in_bytes, (u64)sizeof(fill));

			if (n) {
				const struct iovec *f = &elem.iov[0], *l = &elem.iov[n - 1];

				__atomic_load_n((u8 *)f->iov_base + f->iov_len - 1,
						__ATOMIC_RELAXED);
				__atomic_load_n((u8 *)l->iov_base + l->iov_len - 1,
						__ATOMIC_RELAXED);
			}
			virtq_push(vq, &elem, iov_from_buf(elem.iov + elem.nr_out, elem.nr_in,
							   0, fill, len));
			__atomic_add_fetch(&fz_chains, 1, __ATOMIC_RELAXED);
			pushed = true;
		}
		if (r < 0) {
			virtio_device_broken(vdev, "bad chain");
			break;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (pushed)
		virtio_queue_signal(vdev, vq);
}

/* Kick one of @nq queues, or one past them; now and then let the worker run. */
static void fz_kick(struct virtio_device *vdev, unsigned int nq)
{
	virtio_queue_kick(vdev, fz_below(nq + 1));
	if (!fz_below(16))
		sched_yield();	/* let the worker walk the rings */
}

static void fz_loud(int fd)
{
	if (fd < 0)
		return;
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Devices warn about every broken ring: keep the test's output readable. */
static int fz_quiet(void)
{
	int fd;

	fflush(stderr);
	fd = dup(STDERR_FILENO);
	if (!freopen("/dev/null", "w", stderr))
		fz_loud(fd), fd = -1;	/* could not silence: stay loud */
	return fd;
}

#endif
