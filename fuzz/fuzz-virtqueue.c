// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the split virtqueue (virtio/virtqueue.c) over a
 * fake guest memory of two banks with a hole between them. The first 32
 * bytes of the input program the queue as a driver would (size, ring
 * addresses, EVENT_IDX); the rest is guest RAM: descriptor tables
 * (direct and indirect), avail ring, buffers. Every chain popped is
 * touched from its first to its last byte (ASan checks each lies in
 * RAM), pushed back, and the notification logic runs as a device would.
 * Any crash or sanitizer report, or a chain that breaks the promises of
 * virtio.h (readable segments first, byte counts that add up, at most
 * VIRTQ_MAX_SEGS), is a bug.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/virtio.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define BANK0		0x0ULL
#define BANK1		0x20000ULL
#define BANK_SIZE	0x10000ULL
#define CTRL		32

static struct virtq_elem elem;

static void check_elem(const struct virtq_elem *e)
{
	u64 out = 0, in = 0;
	volatile u8 sink = 0;
	unsigned int i;

	if (e->nr_out + e->nr_in > VIRTQ_MAX_SEGS)
		__builtin_trap();
	for (i = 0; i < (unsigned int)(e->nr_out + e->nr_in); i++) {
		const u8 *p = e->iov[i].iov_base;
		size_t n = e->iov[i].iov_len;

		if (!n)
			__builtin_trap();	/* empty descriptors are skipped */
		sink ^= p[0] ^ p[n - 1];
		*(i < e->nr_out ? &out : &in) += n;
	}
	if (out != e->out_bytes || in != e->in_bytes)
		__builtin_trap();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static u8 *bank[2];
	struct guest_mem mem = { 0 };
	struct virt_queue vq = { 0 };
	size_t rest;
	int i, r;

	if (size < CTRL)
		return 0;
	if (!bank[0]) {
		bank[0] = malloc(BANK_SIZE);
		bank[1] = malloc(BANK_SIZE);
	}
	guest_mem_add_bank(&mem, BANK0, BANK_SIZE, bank[0]);
	guest_mem_add_bank(&mem, BANK1, BANK_SIZE, bank[1]);
	/* The rest of the input is the start of each bank, the banks zeroed past it. */
	rest = min(size - CTRL, (size_t)BANK_SIZE);
	memcpy(bank[0], data + CTRL, rest);
	memset(bank[0] + rest, 0, BANK_SIZE - rest);
	memcpy(bank[1], data + CTRL, rest);
	memset(bank[1] + rest, 0, BANK_SIZE - rest);

	vq.max_size = VIRTQ_MAX_SIZE;
	virtq_reset(&vq);
	vq.size = get_le16(data);
	vq.desc_gpa = get_le64(data + 2) & 0x3ffff;
	vq.avail_gpa = get_le64(data + 10) & 0x3ffff;
	vq.used_gpa = get_le64(data + 18) & 0x3ffff;
	vq.event_idx = data[26] & 1;
	if (virtq_setup(&vq, &mem))
		return 0;
	vq.ready = true;
	vq.last_avail_idx = get_le16(data + 27);

	/* More than a ring's worth: pop must stop at the avail index. */
	for (i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		if (i % 7 == 0)
			virtq_disable_notify(&vq);
		r = virtq_pop(&vq, &mem, &elem);
		if (r <= 0)
			break;
		check_elem(&elem);
		if (elem.head >= vq.size)
			__builtin_trap();
		virtq_push(&vq, &elem, (u32)elem.in_bytes);
		virtq_should_signal(&vq);
		if (i % 5 == 4)
			virtq_enable_notify(&vq);
	}
	if (i == 2 * VIRTQ_MAX_SIZE)
		__builtin_trap();	/* more chains than the ring can offer */
	virtq_enable_notify(&vq);
	virtq_has_avail(&vq);
	return 0;
}
