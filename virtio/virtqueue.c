// SPDX-License-Identifier: GPL-2.0
/*
 * The split virtqueue (virtio 1.x, section 2.7), shared by every device and
 * transport. The rings live in guest memory and the guest may change them
 * at any time, so every field is read once into a local copy, validated,
 * and only then used; every buffer is mapped through the bounds-checked
 * guest memory accessor.
 */
#include <endian.h>
#include <string.h>

#include "lkvm/virtio.h"

#define DESC_SIZE	16

static u16 load16(const void *p)
{
	return le16toh(__atomic_load_n((const u16 *)p, __ATOMIC_RELAXED));
}

static u16 load16_acquire(const void *p)
{
	return le16toh(__atomic_load_n((const u16 *)p, __ATOMIC_ACQUIRE));
}

static void store16(void *p, u16 v)
{
	__atomic_store_n((u16 *)p, htole16(v), __ATOMIC_RELAXED);
}

static void store16_release(void *p, u16 v)
{
	__atomic_store_n((u16 *)p, htole16(v), __ATOMIC_RELEASE);
}

static void *used_event_ptr(struct virt_queue *vq)
{
	return &vq->avail->ring[vq->size];
}

static void *avail_event_ptr(struct virt_queue *vq)
{
	return &vq->used->ring[vq->size];
}

static bool overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

int virtq_setup(struct virt_queue *vq, const struct guest_mem *mem)
{
	u16 n = vq->size;
	u64 dlen = (u64)DESC_SIZE * n, alen = 6 + 2ULL * n, ulen = 6 + 8ULL * n;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	if (!n || (n & (n - 1)) || n > vq->max_size)
		return -1;
	if (!IS_ALIGNED(vq->desc_gpa, 16) || !IS_ALIGNED(vq->avail_gpa, 2) ||
	    !IS_ALIGNED(vq->used_gpa, 4))
		return -1;
	/*
	 * Rings that overlap would let our own used-ring writes add avail
	 * entries (or descriptors), so a device could serve chains forever
	 * without the driver doing anything. No driver lays them out so.
	 */
	if (overlap(vq->desc_gpa, dlen, vq->avail_gpa, alen) ||
	    overlap(vq->desc_gpa, dlen, vq->used_gpa, ulen) ||
	    overlap(vq->avail_gpa, alen, vq->used_gpa, ulen))
		return -1;
	vq->desc = guest_ptr(mem, vq->desc_gpa, dlen);
	vq->avail = guest_ptr(mem, vq->avail_gpa, alen);
	vq->used = guest_ptr(mem, vq->used_gpa, ulen);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -1;
	}
	/* The driver starts both rings at index 0 (virtio 1.x, 2.7.13). */
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->signalled_used_valid = false;
	return 0;
}

void virtq_reset(struct virt_queue *vq)
{
	vq->ready = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->size = vq->max_size;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->last_avail_idx = vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->event_idx = false;
}

bool virtq_has_avail(struct virt_queue *vq)
{
	return vq->avail && load16_acquire(&vq->avail->idx) != vq->last_avail_idx;
}

/*
 * Copy one descriptor out of guest memory: only the copy is validated and
 * used, so the guest can't change it under us. memcpy also copes with an
 * indirect table at an unaligned address.
 */
static void read_desc(const struct vring_desc *table, u32 i, struct vring_desc *d)
{
	memcpy(d, (const u8 *)table + (size_t)i * DESC_SIZE, DESC_SIZE);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static int add_seg(struct virtq_elem *elem, const struct guest_mem *mem,
		   const struct vring_desc *d)
{
	unsigned int n = elem->nr_out + elem->nr_in;
	void *p;

	if (!d->len)
		return 0;
	if (n >= VIRTQ_MAX_SEGS)
		return -1;
	p = guest_ptr(mem, d->addr, d->len);
	if (!p)
		return -1;
	if (d->flags & VRING_DESC_F_WRITE) {
		elem->nr_in++;
		elem->in_bytes += d->len;
	} else {
		/* Device-readable buffers must all come before writable ones. */
		if (elem->nr_in)
			return -1;
		elem->nr_out++;
		elem->out_bytes += d->len;
	}
	elem->iov[n].iov_base = p;
	elem->iov[n].iov_len = d->len;
	return 0;
}

int virtq_pop(struct virt_queue *vq, const struct guest_mem *mem,
	      struct virtq_elem *elem)
{
	const struct vring_desc *table;
	struct vring_desc d;
	u32 table_size, count = 0, i;
	u16 avail_idx, head;

	if (!vq->ready || !vq->avail)
		return 0;
	avail_idx = load16_acquire(&vq->avail->idx);
	if (avail_idx == vq->last_avail_idx)
		return 0;
	/* More new entries than the ring holds: the index is garbage. */
	if ((u16)(avail_idx - vq->last_avail_idx) > vq->size)
		return -1;
	head = load16(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);
	if (head >= vq->size)
		return -1;

	elem->head = head;
	elem->nr_out = elem->nr_in = 0;
	elem->out_bytes = elem->in_bytes = 0;

	table = vq->desc;
	table_size = vq->size;
	i = head;
	read_desc(table, i, &d);
	if (d.flags & VRING_DESC_F_INDIRECT) {
		/* An indirect table stands alone: no NEXT, no nesting, whole entries. */
		if (d.flags & VRING_DESC_F_NEXT || !d.len || d.len % DESC_SIZE ||
		    d.len / DESC_SIZE > VIRTQ_MAX_SEGS)
			return -1;
		table = guest_ptr(mem, d.addr, d.len);
		if (!table)
			return -1;
		table_size = d.len / DESC_SIZE;
		i = 0;
		read_desc(table, i, &d);
	}
	for (;;) {
		/* A chain longer than its table must contain a loop. */
		if (++count > table_size)
			return -1;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -1;
		if (add_seg(elem, mem, &d))
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= table_size)
			return -1;
		read_desc(table, i, &d);
	}
	vq->last_avail_idx++;
	return 1;
}

void virtq_push(struct virt_queue *vq, const struct virtq_elem *elem, u32 len)
{
	struct vring_used_elem *u;

	if (!vq->used)
		return;
	u = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&u->id, htole32(elem->head), __ATOMIC_RELAXED);
	__atomic_store_n(&u->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* The entry must be visible before the index that publishes it. */
	store16_release(&vq->used->idx, vq->used_idx);
}

bool virtq_should_signal(struct virt_queue *vq)
{
	u16 old, new, event;
	bool valid;

	if (!vq->used)
		return false;
	/* Order our used->idx store before reading the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	old = vq->signalled_used;
	new = vq->used_idx;
	valid = vq->signalled_used_valid;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = load16(used_event_ptr(vq));
	/* Signal if used_event lies in (old, new]. */
	return (u16)(new - event - 1) < (u16)(new - old);
}

void virtq_disable_notify(struct virt_queue *vq)
{
	if (!vq->used || vq->event_idx)
		return;		/* with EVENT_IDX, a stale avail_event suppresses */
	store16(&vq->used->flags, load16(&vq->used->flags) | VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virt_queue *vq)
{
	if (!vq->used)
		return false;
	if (vq->event_idx)
		store16(avail_event_ptr(vq), vq->last_avail_idx);
	else
		store16(&vq->used->flags,
			load16(&vq->used->flags) & ~VRING_USED_F_NO_NOTIFY);
	/* Publish our wish before looking for buffers that raced with it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_has_avail(vq);
}
