// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci-blk-flood action: keep virtio-blk's queue full of the
 * largest requests the device allows (seg_max segments of size_max bytes,
 * about 16 MiB each, reads and writes), for as long as the VM runs, so
 * that run-balloon.sh can time `lkvm stop`, SIGTERM and --timeout under
 * that load. First a request one segment over the limit, which must fail
 * with IOERR at once. Prints "blk-flood running" after the first maximal
 * request completed OK; afterwards only failures are reported.
 *
 * The indirect tables, headers and status bytes sit at fixed physical
 * addresses above the image (the VM needs 128 MiB); all requests share
 * one 16 MiB data buffer, whose contents do not matter.
 */
#include "vpci.h"

#define SEG_MAX		254
#define SIZE_MAX_	(64u << 10)
#define TABLE_SLOT	0x2000		/* bytes per table: 257 descriptors fit */
#define TABLES		0x2000000ULL	/* VQ_MAX + 1 tables */
#define HDRS		0x2200000ULL	/* 32 bytes per request: header, status */
#define BUF		0x3000000ULL	/* SEG_MAX * SIZE_MAX_ bytes */
/*
 * No completion for this long: a failure. Longer than the case's --timeout
 * (20 s): lkvm, not the guest, must end the flood in every mode.
 */
#define FLOOD_MS	60000

struct flood_hdr {
	struct blk_hdr h;
	volatile u8 status;
};

static struct vdev fdev;

static struct flood_hdr *hdr_of(u16 slot)
{
	return phys(HDRS + 32ull * slot);
}

/*
 * Request @slot (a ring entry, or VQ_MAX for the spare): @nseg segments
 * of @seglen bytes behind one indirect descriptor; published, not kicked.
 */
static void flood_put(u16 head, u16 slot, u32 nseg, u32 seglen)
{
	volatile struct vring_desc *t = phys(TABLES + (u64)TABLE_SLOT * slot);
	struct flood_hdr *h = hdr_of(slot);
	bool in = head & 1;
	u32 i;

	h->h = (struct blk_hdr){ in ? VBLK_T_IN : VBLK_T_OUT, 0,
				 (u64)(head % 3) * (SEG_MAX * SIZE_MAX_ / SECTOR) };
	h->status = 0xff;
	t[0] = (struct vring_desc){ (u64)(uintptr_t)h, 16, VRING_DESC_F_NEXT, 1 };
	for (i = 1; i <= nseg; i++)
		t[i] = (struct vring_desc){ BUF + (u64)(i - 1) * seglen, seglen,
			VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0), i + 1 };
	t[nseg + 1] = (struct vring_desc){ (u64)(uintptr_t)&h->status, 1,
					   VRING_DESC_F_WRITE, 0 };
	fdev.vq.desc[head] = (struct vring_desc){ (u64)(uintptr_t)t,
		(nseg + 2) * 16, VRING_DESC_F_INDIRECT, 0 };
	vq_publish(&fdev, head);
}

void case_blk_flood(const struct acpi_info *ai)
{
	u64 want = BIT(VF_INDIRECT_DESC) | BIT(VBLK_F_SEG_MAX) |
		   BIT(VBLK_F_SIZE_MAX) | BIT(VBLK_F_BLK_SIZE) | BIT(VBLK_F_FLUSH);
	u32 size_max, seg_max, id, n = 0;
	u64 cap;
	u16 i;

	if (!vpci_find(&fdev, VIRTIO_ID_BLK, ai) ||
	    !vdev_start(&fdev, want, VIRTIO_NO_VECTOR, VIRTIO_NO_VECTOR)) {
		bad("blk-flood: no usable device");
		return;
	}
	cap = dcfg_read64(&fdev, 0);
	size_max = dcfg_read32(&fdev, 8);
	seg_max = dcfg_read32(&fdev, 12);
	say("blk-flood size_max=%u seg_max=%u queue-size=%u", size_max, seg_max,
	    fdev.vq.size);
	if (!(fdev.features & BIT(VBLK_F_SIZE_MAX)) || size_max != SIZE_MAX_ ||
	    seg_max != SEG_MAX || !(fdev.features & BIT(VF_INDIRECT_DESC)) ||
	    cap < 3ull * SEG_MAX * SIZE_MAX_ / 512) {
		bad("blk-flood: want size_max %u, seg_max %u, indirect, 48 MiB",
		     SIZE_MAX_, SEG_MAX);
		return;
	}

	/* One segment too many: IOERR, and promptly. */
	flood_put(0, VQ_MAX, SEG_MAX + 1, SIZE_MAX_);
	vq_kick(&fdev);
	if (vq_wait(&fdev, FLOOD_MS, &id, NULL) != VQ_DONE) {
		bad("blk-flood: no answer to an oversized request");
		return;
	}
	say("blk-flood over-limit status=%u", hdr_of(VQ_MAX)->status);

	for (i = 0; i < fdev.vq.size; i++)
		flood_put(i, i, SEG_MAX, SIZE_MAX_);
	vq_kick(&fdev);
	for (;;) {
		if (vq_wait(&fdev, FLOOD_MS, &id, NULL) != VQ_DONE) {
			bad("blk-flood: no completion for %u ms", FLOOD_MS);
			return;
		}
		if (id >= fdev.vq.size || hdr_of(id)->status != VBLK_S_OK) {
			bad("blk-flood: request %u: status %u", id,
			     id < fdev.vq.size ? hdr_of(id)->status : 0xff);
			return;
		}
		if (!n++)
			say("blk-flood running");
		flood_put(id, id, SEG_MAX, SIZE_MAX_);
		vq_kick(&fdev);
	}
}
