// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci actions of the test guest (lkvmtest.action=virtio-pci-*).
 *
 * Each prints what it observed as "lkvmtest: <fact>" lines, one
 * "lkvmtest: bad <what>" line per failed expectation and finally
 * "lkvmtest: <action> result=pass" or "... result=fail bad=<n>".  The
 * facts that need the host side (capacity against the image size, the
 * image contents afterwards) are checked by run.sh.
 *
 * Waits are bounded by the LAPIC timer; "no interrupt" means none within
 * QUIET_MS with interrupts enabled after the device returned the buffer.
 */
#include "vpci.h"

#define QUIET_MS	50
#define IRQ_MS		2000
#define IO_MS		2000
#define HOSTILE_MS	1000

#define VEC_MSIX_CFG	0x40
#define VEC_MSIX_Q	0x41
#define VEC_GSI_BASE	0x48		/* IOAPIC pin p -> 0x48 + p */
#define IOAPIC_PINS	24

#define IOAPIC_LEVEL	(1u << 15)
#define IOAPIC_LOW	(1u << 13)
#define IOAPIC_REMOTE_IRR (1u << 14)
#define IOAPIC_MASKED	(1u << 16)


static struct vdev dev;
static const struct acpi_info *acpi;

static volatile u32 irq_last;

static struct blk_hdr blk_hdr __attribute__((aligned(16)));
static volatile u8 blk_status;
static u8 iobuf[4 * SECTOR] __attribute__((aligned(4096)));
static u8 iobuf2[4 * SECTOR] __attribute__((aligned(4096)));

/*
 * Level-triggered GSIs: a real IOAPIC delivery has Remote IRR set until
 * the EOI.  This host's in-kernel LAPIC delivers a level interrupt a
 * second time after the EOI (IRR never moved to ISR), with Remote IRR
 * clear and often with the pin already masked; those are counted apart
 * and otherwise ignored, so that they don't pass for device interrupts.
 */
static volatile u32 stale_level_irqs;

void dev_irq(u32 vector)
{
	if (vector >= VEC_GSI_BASE && vector < VEC_GSI_BASE + IOAPIC_PINS) {
		u32 pin = vector - VEC_GSI_BASE;
		u32 r = ioapic_read(IOAPIC_REDIR(pin));

		if ((r & IOAPIC_LEVEL) && !(r & IOAPIC_REMOTE_IRR)) {
			stale_level_irqs++;
			lapic_write(LAPIC_EOI, 0);
			return;
		}
		/*
		 * The line stays asserted until the ISR is read: mask the pin
		 * and let the test look at the device before unmasking.
		 */
		ioapic_write(IOAPIC_REDIR(pin), r | IOAPIC_MASKED);
	}
	irq_counts[vector]++;
	irq_last = vector;
	lapic_write(LAPIC_EOI, 0);
}

/* ---- helpers shared by the cases */

/* One device-writable buffer on the ring; returns the used length. */
static bool one_request(u64 addr, u32 len, u32 *used_len, bool kick)
{
	struct vseg s = { addr, len, true };
	enum vq_wait_result r;
	u32 id;
	u16 head;

	head = vq_add(&dev, &s, 1, false);
	if (kick)
		vq_kick(&dev);
	r = vq_wait(&dev, IO_MS, &id, used_len);
	if (r != VQ_DONE) {
		bad("request: %s", vq_wait_text(r));
		return false;
	}
	CHECK(id == head, "used id %u, expected %u", id, head);
	return id == head;
}

/* One rng buffer on the ring; its used length. */
static bool rng_req(void *ctx __attribute__((unused)), u8 *buf, u32 len,
		    u32 *used)
{
	return one_request((u64)(uintptr_t)buf, len, used, true);
}

/*
 * A block request: header, data (in one descriptor, or three for
 * M_SPLIT, or all of it behind an indirect descriptor for M_INDIRECT),
 * status.  Returns the status byte, -1 on timeout, -2 on NEEDS_RESET.
 */
enum { M_DIRECT, M_SPLIT, M_INDIRECT };

static int blk_io(u32 type, u64 sector, u8 *buf, u32 len, int mode,
		  u32 *used_len)
{
	struct vseg seg[6];
	bool dev_writes = type == VBLK_T_IN;
	enum vq_wait_result r;
	u32 n = 0, id, ulen = 0;
	u16 head;

	blk_hdr.type = type;
	blk_hdr.reserved = 0;
	blk_hdr.sector = sector;
	blk_status = 0xff;
	seg[n++] = (struct vseg){ (u64)(uintptr_t)&blk_hdr, sizeof(blk_hdr),
				  false };
	if (len && mode == M_SPLIT && len > 800) {
		seg[n++] = (struct vseg){ (u64)(uintptr_t)buf, 300, dev_writes };
		seg[n++] = (struct vseg){ (u64)(uintptr_t)buf + 300, 500,
					  dev_writes };
		seg[n++] = (struct vseg){ (u64)(uintptr_t)buf + 800, len - 800,
					  dev_writes };
	} else if (len) {
		seg[n++] = (struct vseg){ (u64)(uintptr_t)buf, len, dev_writes };
	}
	seg[n++] = (struct vseg){ (u64)(uintptr_t)&blk_status, 1, true };
	head = vq_add(&dev, seg, n, mode == M_INDIRECT);
	vq_kick(&dev);
	r = vq_wait(&dev, IO_MS, &id, &ulen);
	if (used_len)
		*used_len = ulen;
	if (r != VQ_DONE)
		return r == VQ_BROKEN ? -2 : -1;
	if (id != head)
		bad("blk used id %u, expected %u", id, head);
	if (ulen > (dev_writes ? len : 0) + 1)
		bad("blk used len %u > %u writable bytes", ulen,
		    (dev_writes ? len : 0) + 1);
	return blk_status;
}

static void fill_pattern(u8 *buf, u32 len, const char *pat)
{
	u32 i, n = strlen(pat);

	for (i = 0; i < len; i++)
		buf[i] = (u8)pat[i % n];
}

static void msix_setup(void)
{
	msix_enable(&dev, true);
	msix_set(&dev, 0, VEC_MSIX_CFG, false);
	msix_set(&dev, 1, VEC_MSIX_Q, false);
}

/* ---- virtio-pci-rng */

static void case_rng(void)
{
	static u8 a[64], b[64];

	if (!vpci_find(&dev, VIRTIO_ID_RNG, acpi) ||
	    !vdev_start(&dev, 0, VIRTIO_NO_VECTOR, VIRTIO_NO_VECTOR)) {
		bad("rng: no usable device");
		return;
	}
	say("rng features=0x%lx queue-size=%u", dev.features, dev.vq.size);
	if (!rng_fill(rng_req, NULL, a, sizeof(a)) ||
	    !rng_fill(rng_req, NULL, b, sizeof(b)))
		return;
	say("rng bytes=%x%x%x%x...", a[0], a[1], a[2], a[3]);
	CHECK(!all_zero(a, sizeof(a)), "rng: 64 zero bytes");
	CHECK(memcmp(a, b, sizeof(a)), "rng: two reads gave the same bytes");
	say("rng read=64+64 zero=%s differ=%s", all_zero(a, 64) ? "yes" : "no",
	    memcmp(a, b, 64) ? "yes" : "no");
}

/* ---- virtio-pci-bar-move: the driver places the BARs itself */

#define BAR_MOVE_TO	0xd0000000ULL

static void case_bar_move(void)
{
	static u8 a[32];
	struct pci_dev pd;
	u64 old_common;
	u32 i, moved = 0;
	u16 cmd;

	if (!vpci_find(&dev, VIRTIO_ID_RNG, acpi)) {
		bad("bar-move: no usable device");
		return;
	}
	old_common = dev.common;
	pd = dev.pci;

	/* Decoding off, every memory BAR unassigned (0). */
	cmd = (u16)pci_read(pd.bdf, PCI_COMMAND, 2);
	pci_write(pd.bdf, PCI_COMMAND, cmd & ~PCI_CMD_MEM, 2);
	for (i = 0; i < 6; i++) {
		if (pd.bar_isio[i] || !pd.bar[i])
			continue;
		pci_write(pd.bdf, PCI_BAR0 + 4 * i, 0, 4);
		if (pd.bar_is64[i])
			pci_write(pd.bdf, PCI_BAR0 + 4 * (i + 1), 0, 4);
		moved++;
	}
	pci_read_bars(&pd);
	for (i = 0; i < 6; i++)
		CHECK(pd.bar_isio[i] || !pd.bar[i],
		      "bar-move: bar%u reads 0x%lx after writing 0", i, pd.bar[i]);

	/* The driver finds them unassigned and places them from BAR_MOVE_TO. */
	pci_alloc_from = BAR_MOVE_TO;
	if (!vpci_find(&dev, VIRTIO_ID_RNG, acpi) ||
	    !vdev_start(&dev, 0, VIRTIO_NO_VECTOR, VIRTIO_NO_VECTOR)) {
		bad("bar-move: device unusable after moving its BARs");
		return;
	}
	say("bar-move bars=%u common 0x%lx -> 0x%lx", moved, old_common,
	    dev.common);
	CHECK(dev.common >= BAR_MOVE_TO, "bar-move: common config at 0x%lx",
	      dev.common);
	CHECK(rng_fill(rng_req, NULL, a, sizeof(a)) && !all_zero(a, sizeof(a)),
	      "bar-move: no random bytes at the new address");
	/* The old place no longer answers as the device. */
	say("bar-move old-address device-feature=0x%x",
	    mmio_read32(old_common + VC_DF));
	CHECK(mmio_read8(old_common + VC_STATUS) != vdev_status(&dev) ||
	      mmio_read16(old_common + VC_Q_SIZE) != common_r16(&dev, VC_Q_SIZE),
	      "bar-move: the old address still decodes");
	vdev_reset(&dev);
}

/* ---- virtio-pci-blk */

static void blk_rw_tests(u64 cap)
{
	int st;
	u32 ulen;

	/* Sector 5: a plain three-descriptor write, then read it back. */
	fill_pattern(iobuf, SECTOR, "guest-sector-05\n");
	st = blk_io(VBLK_T_OUT, 5, iobuf, SECTOR, M_DIRECT, &ulen);
	say("blk write5 status=%d len=%u", st, ulen);
	CHECK(st == VBLK_S_OK, "blk: write of sector 5: status %d", st);
	if (dev.features & BIT(VBLK_F_FLUSH)) {
		st = blk_io(VBLK_T_FLUSH, 0, NULL, 0, M_DIRECT, NULL);
		say("blk flush status=%d", st);
		CHECK(st == VBLK_S_OK, "blk: flush: status %d", st);
	} else {
		bad("blk: FLUSH not offered");
	}
	memset(iobuf2, 0, SECTOR);
	st = blk_io(VBLK_T_IN, 5, iobuf2, SECTOR, M_DIRECT, NULL);
	CHECK(st == VBLK_S_OK && !memcmp(iobuf, iobuf2, SECTOR),
	      "blk: sector 5 reads back wrong (status %d)", st);

	/* Sectors 8-9 in one request, the data split over three buffers. */
	fill_pattern(iobuf, 2 * SECTOR, "guest-split-089\n");
	st = blk_io(VBLK_T_OUT, 8, iobuf, 2 * SECTOR, M_SPLIT, NULL);
	say("blk write8-9 split status=%d", st);
	CHECK(st == VBLK_S_OK, "blk: split write of sectors 8-9: status %d", st);
	memset(iobuf2, 0, 2 * SECTOR);
	st = blk_io(VBLK_T_IN, 8, iobuf2, 2 * SECTOR, M_SPLIT, NULL);
	CHECK(st == VBLK_S_OK && !memcmp(iobuf, iobuf2, 2 * SECTOR),
	      "blk: split read of sectors 8-9 wrong (status %d)", st);

	/* Sector 7 through an indirect table, written and read back. */
	if (dev.features & BIT(VF_INDIRECT_DESC)) {
		fill_pattern(iobuf, SECTOR, "guest-indirect7\n");
		st = blk_io(VBLK_T_OUT, 7, iobuf, SECTOR, M_INDIRECT, NULL);
		CHECK(st == VBLK_S_OK, "blk: indirect write: status %d", st);
		memset(iobuf2, 0, SECTOR);
		st = blk_io(VBLK_T_IN, 7, iobuf2, SECTOR, M_INDIRECT, &ulen);
		CHECK(st == VBLK_S_OK && !memcmp(iobuf, iobuf2, SECTOR),
		      "blk: indirect read of sector 7 wrong (status %d)", st);
		say("blk indirect status=%d len=%u", st, ulen);
	} else {
		bad("blk: INDIRECT_DESC not offered");
	}

	/* Make it all durable before run.sh looks at the image. */
	if (dev.features & BIT(VBLK_F_FLUSH)) {
		st = blk_io(VBLK_T_FLUSH, 0, NULL, 0, M_DIRECT, NULL);
		CHECK(st == VBLK_S_OK, "blk: final flush: status %d", st);
	}
	(void)cap;
}

static void case_blk(void)
{
	u64 want = BIT(VF_INDIRECT_DESC) | BIT(VF_EVENT_IDX) |
		   BIT(VBLK_F_FLUSH) | BIT(VBLK_F_RO) | BIT(VBLK_F_BLK_SIZE) |
		   BIT(VBLK_F_SEG_MAX);
	int st, st2, st3, st4;
	u32 ulen;
	u64 cap;
	bool ro;

	if (!vpci_find(&dev, VIRTIO_ID_BLK, acpi) ||
	    !vdev_start(&dev, want, VIRTIO_NO_VECTOR, VIRTIO_NO_VECTOR)) {
		bad("blk: no usable device");
		return;
	}
	cap = dcfg_read64(&dev, 0);
	ro = dev.features & BIT(VBLK_F_RO);
	say("blk features=0x%lx queues=%u queue-size=%u", dev.features,
	    dev.num_queues, dev.vq.size);
	say("blk capacity=%lu", cap);
	say("blk ro=%s", ro ? "yes" : "no");
	if (cap < 16) {
		bad("blk: capacity %lu, need at least 16 sectors", cap);
		return;
	}

	memset(iobuf, 0, SECTOR);
	st = blk_io(VBLK_T_IN, 0, iobuf, SECTOR, M_DIRECT, &ulen);
	say("blk read0 status=%d len=%u pattern=%s", st, ulen,
	    disk_pattern_ok(iobuf, 0) ? "ok" : "wrong");
	CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf, 0),
	      "blk: sector 0 (status %d)", st);
	memset(iobuf, 0, SECTOR);
	st = blk_io(VBLK_T_IN, cap - 1, iobuf, SECTOR, M_DIRECT, NULL);
	say("blk read-last status=%d pattern=%s", st,
	    disk_pattern_ok(iobuf, cap - 1) ? "ok" : "wrong");
	CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf, cap - 1),
	      "blk: last sector (status %d)", st);

	if (!ro) {
		blk_rw_tests(cap);
	} else {
		fill_pattern(iobuf, SECTOR, "guest-sector-05\n");
		st = blk_io(VBLK_T_OUT, 5, iobuf, SECTOR, M_DIRECT, NULL);
		say("blk ro-write status=%d", st);
		CHECK(st > VBLK_S_OK, "blk: write to a read-only disk: status %d",
		      st);
		memset(iobuf2, 0, SECTOR);
		st = blk_io(VBLK_T_IN, 5, iobuf2, SECTOR, M_DIRECT, NULL);
		CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf2, 5),
		      "blk: read-only sector 5 changed (status %d)", st);
	}

	/* Out of range: at the end, across the end, and wrapping around. */
	st = blk_io(VBLK_T_IN, cap, iobuf, SECTOR, M_DIRECT, NULL);
	st2 = blk_io(VBLK_T_IN, cap - 1, iobuf, 2 * SECTOR, M_DIRECT, NULL);
	st3 = blk_io(VBLK_T_IN, ~0ULL - 1, iobuf, 2 * SECTOR, M_DIRECT, NULL);
	st4 = blk_io(VBLK_T_OUT, cap, iobuf, SECTOR, M_DIRECT, NULL);
	say("blk oob status=%d,%d,%d,%d", st, st2, st3, st4);
	CHECK(st == VBLK_S_IOERR, "blk: read at capacity: status %d", st);
	CHECK(st2 == VBLK_S_IOERR, "blk: read across the end: status %d", st2);
	CHECK(st3 == VBLK_S_IOERR, "blk: read at sector 2^64-2: status %d", st3);
	CHECK(st4 == VBLK_S_IOERR, "blk: write at capacity: status %d", st4);

	st = blk_io(0x7f, 0, iobuf, SECTOR, M_DIRECT, NULL);
	say("blk unknown-type status=%d", st);
	CHECK(st == VBLK_S_UNSUPP, "blk: unknown request type: status %d", st);

	/* The device is still fine after all that. */
	st = blk_io(VBLK_T_IN, 0, iobuf, SECTOR, M_DIRECT, NULL);
	CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf, 0),
	      "blk: sector 0 after the errors (status %d)", st);
	CHECK(!(vdev_status(&dev) & VS_NEEDS_RESET),
	      "blk: NEEDS_RESET after well-formed requests");
}

/* ---- virtio-pci-msix */

static void case_msix(void)
{
	static u8 buf[16];
	u32 before, len;
	u16 v;

	if (!vpci_find(&dev, VIRTIO_ID_RNG, acpi))
		goto nodev;
	if (dev.msix_nr < 2) {
		bad("msix: %u vectors, need 2", dev.msix_nr);
		return;
	}
	apic_setup();
	msix_setup();

	/* During set-up, a vector beyond the table reads back NO_VECTOR. */
	if (!vdev_reset(&dev) || !vdev_negotiate(&dev, 0))
		goto nodev;
	common_w16(&dev, VC_MSIX_CONFIG, dev.msix_nr + 5);
	v = common_r16(&dev, VC_MSIX_CONFIG);
	common_w16(&dev, VC_Q_SELECT, 0);
	common_w16(&dev, VC_Q_MSIX, dev.msix_nr + 5);
	say("msix bad-vector config=0x%x queue=0x%x", v,
	    common_r16(&dev, VC_Q_MSIX));
	CHECK(v == VIRTIO_NO_VECTOR, "msix: config vector %u reads back 0x%x",
	      dev.msix_nr + 5, v);
	CHECK(common_r16(&dev, VC_Q_MSIX) == VIRTIO_NO_VECTOR,
	      "msix: queue vector %u reads back 0x%x", dev.msix_nr + 5,
	      common_r16(&dev, VC_Q_MSIX));

	if (!vdev_start(&dev, 0, 0, 1))
		goto nodev;

	/* 1: delivered on the queue's vector */
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(irq_wait(VEC_MSIX_Q, 1, IRQ_MS), "msix: no interrupt (vector 1)");
	say("msix irq=%s vector=0x%x", irq_counts[VEC_MSIX_Q] ? "ok" : "none",
	    irq_last);
	CHECK(irq_counts[VEC_MSIX_CFG] == 0, "msix: config vector fired");

	/* 2: masked -> held pending, nothing delivered */
	msix_mask(&dev, 1, true);
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(!irq_wait_any(before, QUIET_MS), "msix: masked vector delivered");
	CHECK(msix_pending(&dev, 1), "msix: PBA bit 1 clear while masked");
	say("msix masked irq=%s pending=%u",
	    irq_total() == before ? "none" : "delivered", msix_pending(&dev, 1));

	/* 3: unmask -> delivered, pending bit cleared */
	msix_mask(&dev, 1, false);
	CHECK(irq_wait(VEC_MSIX_Q, 2, IRQ_MS), "msix: not delivered on unmask");
	CHECK(!msix_pending(&dev, 1), "msix: PBA bit 1 still set after delivery");
	say("msix unmask irq=%s pending=%u",
	    irq_counts[VEC_MSIX_Q] == 2 ? "ok" : "none", msix_pending(&dev, 1));

	/* 4: the same with the function mask */
	pci_write(dev.pci.bdf, dev.msix_cap + 2, 0x8000 | 0x4000, 2);
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(!irq_wait_any(before, QUIET_MS),
	      "msix: delivered under the function mask");
	CHECK(msix_pending(&dev, 1), "msix: PBA bit 1 clear under function mask");
	say("msix function-mask irq=%s pending=%u",
	    irq_total() == before ? "none" : "delivered", msix_pending(&dev, 1));
	msix_enable(&dev, true);
	CHECK(irq_wait(VEC_MSIX_Q, 3, IRQ_MS),
	      "msix: not delivered when the function mask was cleared");
	say("msix function-unmask irq=%s",
	    irq_counts[VEC_MSIX_Q] == 3 ? "ok" : "none");

	/* 5: a broken ring: NEEDS_RESET, announced on the config vector */
	{
		struct vseg s = { ram_end_below_4g() + (16u << 20), 16, true };
		enum vq_wait_result r;

		vq_add(&dev, &s, 1, false);
		vq_kick(&dev);
		r = vq_wait(&dev, HOSTILE_MS, NULL, NULL);
		/* 2.1.2: NEEDS_RESET after DRIVER_OK MUST be notified */
		if (r == VQ_BROKEN)
			CHECK(irq_wait(VEC_MSIX_CFG, 1, IRQ_MS),
			      "msix: NEEDS_RESET without a config interrupt");
		say("msix config-irq=%s after %s",
		    irq_counts[VEC_MSIX_CFG] ? "yes" : "no", vq_wait_text(r));
	}
	vdev_reset(&dev);
	msix_enable(&dev, false);
	return;
nodev:
	bad("msix: no usable device");
}

/* ---- virtio-pci-suppress */

static volatile u16 *used_event(void)
{
	return &dev.vq.avail->ring[dev.vq.size];
}

static volatile u16 *avail_event(void)
{
	return (volatile u16 *)&dev.vq.used->ring[dev.vq.size];
}

static void case_suppress(void)
{
	static u8 buf[16];
	u32 before, len, n;

	if (!vpci_find(&dev, VIRTIO_ID_RNG, acpi) || dev.msix_nr < 2)
		goto nodev;
	apic_setup();
	msix_setup();

	/* (a) no EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT */
	if (!vdev_start(&dev, 0, 0, 1))
		goto nodev;
	dev.vq.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(!irq_wait_any(before, QUIET_MS),
	      "suppress: interrupt despite VRING_AVAIL_F_NO_INTERRUPT");
	say("suppress no-interrupt-flag irq=%s",
	    irq_total() == before ? "none" : "delivered");
	CHECK(!(dev.vq.used->flags & VRING_USED_F_NO_NOTIFY),
	      "suppress: idle device sets VRING_USED_F_NO_NOTIFY");
	say("suppress used-flags=0x%x", dev.vq.used->flags);
	dev.vq.avail->flags = 0;
	before = irq_counts[VEC_MSIX_Q];
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(irq_wait(VEC_MSIX_Q, before + 1, IRQ_MS),
	      "suppress: no interrupt with the flag cleared");
	say("suppress flag-cleared irq=%s",
	    irq_counts[VEC_MSIX_Q] > before ? "ok" : "none");

	/* (b) EVENT_IDX: used_event decides */
	if (!vdev_start(&dev, BIT(VF_EVENT_IDX), 0, 1))
		goto nodev;
	if (!(dev.features & BIT(VF_EVENT_IDX))) {
		bad("suppress: EVENT_IDX not offered");
		return;
	}
	*used_event() = 0;
	before = irq_counts[VEC_MSIX_Q];
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(irq_wait(VEC_MSIX_Q, before + 1, IRQ_MS),
	      "suppress: used_event 0: first buffer not signalled");

	/* used index now 1: ask for an interrupt once entry 2 is used */
	*used_event() = 2;
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(!irq_wait_any(before, QUIET_MS),
	      "suppress: used_event 2: signalled at used idx 2");
	say("suppress event-idx idx=2 irq=%s",
	    irq_total() == before ? "none" : "delivered");
	before = irq_counts[VEC_MSIX_Q];
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(irq_wait(VEC_MSIX_Q, before + 1, IRQ_MS),
	      "suppress: used_event 2: not signalled at used idx 3");
	say("suppress event-idx idx=3 irq=%s",
	    irq_counts[VEC_MSIX_Q] > before ? "ok" : "none");

	/* With EVENT_IDX the device ignores VRING_AVAIL_F_NO_INTERRUPT. */
	dev.vq.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event() = 3;
	before = irq_counts[VEC_MSIX_Q];
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		return;
	CHECK(irq_wait(VEC_MSIX_Q, before + 1, IRQ_MS),
	      "suppress: EVENT_IDX: NO_INTERRUPT flag not ignored");
	say("suppress event-idx flag-ignored irq=%s",
	    irq_counts[VEC_MSIX_Q] > before ? "ok" : "none");
	dev.vq.avail->flags = 0;

	/*
	 * (c) avail_event: an idle device asks to be kicked for the next
	 * buffer, i.e. avail_event equals the avail index it has consumed.
	 */
	deadline_set(200);
	for (n = 0; *avail_event() != dev.vq.avail_idx && !deadline_passed(); n++)
		cpu_relax();
	deadline_clear();
	say("suppress avail-event=%u avail-idx=%u", *avail_event(),
	    dev.vq.avail_idx);
	CHECK(*avail_event() == dev.vq.avail_idx,
	      "suppress: avail_event %u, avail idx %u", *avail_event(),
	      dev.vq.avail_idx);

	vdev_reset(&dev);
	msix_enable(&dev, false);
	return;
nodev:
	bad("suppress: no usable device");
}

/* ---- virtio-pci-intx */


static void intx_program(u32 pin, bool on)
{
	ioapic_write(IOAPIC_REDIR(pin) + 1, 0);		/* APIC id 0 */
	ioapic_write(IOAPIC_REDIR(pin), (VEC_GSI_BASE + pin) | IOAPIC_LEVEL |
					IOAPIC_LOW | (on ? 0 : IOAPIC_MASKED));
}

/* The pins that fired since the counts were @snap (bit mask). */
static u32 fired_pins(const u32 *snap)
{
	u32 p, mask = 0;

	for (p = 0; p < IOAPIC_PINS; p++)
		if (irq_counts[VEC_GSI_BASE + p] != snap[p])
			mask |= 1u << p;
	return mask;
}

static void snapshot(u32 *snap)
{
	u32 p;

	for (p = 0; p < IOAPIC_PINS; p++)
		snap[p] = irq_counts[VEC_GSI_BASE + p];
}

static u32 lowest_bit(u32 m)
{
	return m ? (u32)__builtin_ctz(m) : 99;
}

static void case_intx(void)
{
	static u8 buf[16];
	u32 snap[IOAPIC_PINS], pins, p, len, gsi, before;
	u16 st;
	u8 isr1, isr2;
	bool quiet;
	int prt;

	if (!vpci_find(&dev, VIRTIO_ID_RNG, acpi))
		goto nodev;
	if (!dev.irq_pin) {
		bad("intx: Interrupt Pin is 0");
		return;
	}
	apic_setup();
	if (dev.msix_cap)
		msix_enable(&dev, false);
	pci_write(dev.pci.bdf, PCI_COMMAND,
		  pci_read(dev.pci.bdf, PCI_COMMAND, 2) & ~PCI_CMD_INTX_OFF, 2);

	/*
	 * Listen on every PCI pin (16-23) and on the Interrupt Line, each on
	 * its own vector, level triggered, to see where the device lands.
	 */
	for (p = 16; p < IOAPIC_PINS; p++)
		intx_program(p, true);
	if (dev.irq_line < IOAPIC_PINS)
		intx_program(dev.irq_line, true);
	if (!vdev_start(&dev, 0, VIRTIO_NO_VECTOR, VIRTIO_NO_VECTOR))
		goto nodev;

	snapshot(snap);
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		goto out;
	irq_wait_any(before, IRQ_MS);
	/* let a second (wrong) pin show up too, if there is one */
	delay_ms(5);
	pins = fired_pins(snap);
	gsi = lowest_bit(pins);
	say("intx line=%u pin=%u gsi=%u pins=0x%x", dev.irq_line, dev.irq_pin,
	    gsi, pins);
	if (!pins) {
		bad("intx: no interrupt on any of GSI 16-23 or line %u",
		    dev.irq_line);
		goto out;
	}
	/* ACPI's _PRT is what an OS believes; the Interrupt Line must agree. */
	prt = acpi_prt_gsi(acpi, (dev.pci.bdf >> 3) & 31, dev.irq_pin - 1);
	say("intx prt-gsi=%d", prt);
	if (prt >= 0) {
		CHECK(gsi == (u32)prt, "intx: fired on GSI %u, _PRT says %d", gsi,
		      prt);
		CHECK(dev.irq_line == (u32)prt,
		      "intx: Interrupt Line %u, _PRT says %d", dev.irq_line, prt);
	} else {
		CHECK(gsi == dev.irq_line,
		      "intx: fired on GSI %u, Interrupt Line %u", gsi,
		      dev.irq_line);
	}
	CHECK(pins == 1u << gsi, "intx: fired on more than one GSI (0x%x)", pins);

	/* The line is asserted until the ISR is read; reading clears it. */
	st = (u16)pci_read(dev.pci.bdf, PCI_STATUS, 2);
	isr1 = mmio_read8(dev.isr);
	isr2 = mmio_read8(dev.isr);
	say("intx status-intx=%u isr=0x%x then 0x%x", !!(st & PCI_STATUS_INTX),
	    isr1, isr2);
	CHECK(st & PCI_STATUS_INTX, "intx: PCI status Interrupt Status clear");
	CHECK(isr1 & 1, "intx: ISR queue bit clear (0x%x)", isr1);
	CHECK(isr2 == 0, "intx: ISR still 0x%x after a read", isr2);
	st = (u16)pci_read(dev.pci.bdf, PCI_STATUS, 2);
	CHECK(!(st & PCI_STATUS_INTX),
	      "intx: PCI Interrupt Status still set after the ISR read");

	/* Unmasked again, a deasserted line stays quiet. */
	snapshot(snap);
	for (p = 0; p < IOAPIC_PINS; p++)
		if (pins & (1u << p))
			intx_program(p, true);
	before = irq_total();
	CHECK(!irq_wait_any(before, QUIET_MS),
	      "intx: interrupt again after the ISR read (line still asserted)");
	say("intx after-isr-read irq=%s",
	    irq_total() == before ? "none" : "again");

	/* Second request: the line asserts again. */
	snapshot(snap);
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		goto out;
	irq_wait_any(before, IRQ_MS);
	CHECK(fired_pins(snap) & (1u << gsi), "intx: no second interrupt");
	CHECK(mmio_read8(dev.isr) & 1, "intx: ISR clear on the second interrupt");
	say("intx second irq=%s", fired_pins(snap) & (1u << gsi) ? "ok" : "none");
	intx_program(gsi, true);
	before = irq_total();
	CHECK(!irq_wait_any(before, QUIET_MS),
	      "intx: second interrupt: again after the ISR read");

	/* COMMAND.INTX_DISABLE: nothing delivered, Interrupt Status still set. */
	pci_write(dev.pci.bdf, PCI_COMMAND,
		  pci_read(dev.pci.bdf, PCI_COMMAND, 2) | PCI_CMD_INTX_OFF, 2);
	snapshot(snap);
	before = irq_total();
	if (!one_request((u64)(uintptr_t)buf, sizeof(buf), &len, true))
		goto out;
	quiet = !irq_wait_any(before, QUIET_MS);
	CHECK(quiet, "intx: delivered with INTX_DISABLE (vector 0x%x, command 0x%x)",
	      irq_last, pci_read(dev.pci.bdf, PCI_COMMAND, 2));
	st = (u16)pci_read(dev.pci.bdf, PCI_STATUS, 2);
	CHECK(st & PCI_STATUS_INTX,
	      "intx: Interrupt Status clear with INTX_DISABLE and ISR pending");
	pci_write(dev.pci.bdf, PCI_COMMAND,
		  pci_read(dev.pci.bdf, PCI_COMMAND, 2) & ~PCI_CMD_INTX_OFF, 2);
	CHECK(irq_wait_any(before, IRQ_MS),
	      "intx: not delivered once INTX_DISABLE was cleared");
	say("intx disable irq=%s status-intx=%u then irq=%s",
	    quiet ? "none" : "delivered",
	    !!(st & PCI_STATUS_INTX), irq_total() != before ? "ok" : "none");
	mmio_read8(dev.isr);
	/* informational: see stale_level_irqs */
	say("intx stale-level-irqs=%u", stale_level_irqs);
out:
	for (p = 0; p < IOAPIC_PINS; p++)
		if (p >= 16 || p == dev.irq_line)
			intx_program(p, false);
	vdev_reset(&dev);
	return;
nodev:
	bad("intx: no usable device");
}

/* ---- virtio-pci-hostile */

/* A well-formed read of sector 0 on a freshly started device. */
static bool blk_good_read(void)
{
	int st;

	if (!vdev_start(&dev, BIT(VF_INDIRECT_DESC), VIRTIO_NO_VECTOR,
			VIRTIO_NO_VECTOR))
		return false;
	memset(iobuf, 0, SECTOR);
	st = blk_io(VBLK_T_IN, 0, iobuf, SECTOR, M_DIRECT, NULL);
	return st == VBLK_S_OK && disk_pattern_ok(iobuf, 0);
}

/* Descriptor @i of the ring, and a header/data/status triple at 0-2. */
static volatile struct vring_desc *rdesc(u16 i)
{
	return &dev.vq.desc[i];
}

static void set_desc(volatile struct vring_desc *t, u64 addr, u32 len,
		     u16 flags, u16 next)
{
	t->addr = addr;
	t->len = len;
	t->flags = flags;
	t->next = next;
}

static void good_chain(void)
{
	blk_hdr.type = VBLK_T_IN;
	blk_hdr.reserved = 0;
	blk_hdr.sector = 0;
	blk_status = 0xff;
	set_desc(rdesc(0), (u64)(uintptr_t)&blk_hdr, sizeof(blk_hdr),
		 VRING_DESC_F_NEXT, 1);
	set_desc(rdesc(1), (u64)(uintptr_t)iobuf, SECTOR,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(rdesc(2), (u64)(uintptr_t)&blk_status, 1, VRING_DESC_F_WRITE,
		 0);
}

/* Kick, then classify what the device made of it. */
static const char *hostile_outcome(void)
{
	enum vq_wait_result r;
	u32 len;

	vq_kick(&dev);
	r = vq_wait(&dev, HOSTILE_MS, NULL, &len);
	if (r == VQ_BROKEN)
		return "needs-reset";
	if (r == VQ_TIMEOUT)
		return (vdev_status(&dev) & VS_NEEDS_RESET) ? "needs-reset" :
							       "ignored";
	if (vdev_status(&dev) & VS_NEEDS_RESET)
		return "needs-reset";
	return blk_status == VBLK_S_OK ? "completed" : "failed";
}

enum hostile_kind {
	H_DESC_OUTSIDE_RAM, H_DESC_HUGE_LEN, H_DESC_LOOP, H_NEXT_RANGE,
	H_HEAD_RANGE, H_AVAIL_JUMP, H_INDIRECT_BADLEN, H_INDIRECT_EMPTY,
	H_INDIRECT_NESTED, H_INDIRECT_LOOP, H_QSIZE_NOT_POW2, H_RING_OUTSIDE_RAM,
	H_RING_MISALIGNED, H_NUM
};

static const char *const hostile_names[H_NUM] = {
	"desc-outside-ram", "desc-huge-len", "desc-loop", "desc-next-range",
	"head-range", "avail-idx-jump", "indirect-bad-len", "indirect-empty",
	"indirect-nested", "indirect-loop", "queue-size-not-pow2",
	"ring-outside-ram", "ring-misaligned",
};

static struct vring_desc hostile_table[4] __attribute__((aligned(16)));

/* Set up the device for @k (some break the queue set-up itself). */
static const char *hostile_setup(enum hostile_kind k)
{
	u64 outside = ram_end_below_4g() + (16u << 20);
	struct vq_layout lay = { 0, 0, 0 };
	u16 size = 0, v;
	u8 s;

	if (!vdev_reset(&dev) || !vdev_negotiate(&dev, BIT(VF_INDIRECT_DESC)))
		return "setup-failed";
	switch (k) {
	case H_QSIZE_NOT_POW2:
		size = 3;
		break;
	case H_RING_OUTSIDE_RAM:
		lay.desc = outside;
		break;
	case H_RING_MISALIGNED:
		lay.desc = (u64)(uintptr_t)dev.vq.desc + 8;
		/* vq_setup() clears ring_mem: desc + 8 is zeroed, fine */
		lay.used = (u64)(uintptr_t)dev.vq.used + 2;
		break;
	default:
		break;
	}
	if (!vq_setup(&dev, size, VIRTIO_NO_VECTOR, &lay))
		return "refused";
	if (size && (v = common_r16(&dev, VC_Q_SIZE)) != size) {
		say("hostile %s: queue_size reads %u", hostile_names[k], v);
		return "refused";
	}
	if (!common_r16(&dev, VC_Q_ENABLE)) {
		say("hostile %s: queue_enable reads 0", hostile_names[k]);
		return "refused";
	}
	common_w8(&dev, VC_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK |
				   VS_DRIVER_OK);
	s = vdev_status(&dev);
	if (s & VS_NEEDS_RESET)
		return "needs-reset";
	if (!(s & VS_DRIVER_OK)) {
		say("hostile %s: status 0x%x after DRIVER_OK", hostile_names[k], s);
		return "refused";
	}
	return NULL;
}

static const char *hostile_run(enum hostile_kind k)
{
	u64 outside = ram_end_below_4g() + (16u << 20);
	const char *o = hostile_setup(k);
	volatile struct vq *q = &dev.vq;
	u32 i;

	if (o)
		return o;
	good_chain();
	switch (k) {
	case H_DESC_OUTSIDE_RAM:
		rdesc(1)->addr = outside;
		break;
	case H_DESC_HUGE_LEN:
		rdesc(1)->len = 0xfffff000u;
		break;
	case H_DESC_LOOP:
		rdesc(2)->flags |= VRING_DESC_F_NEXT;
		rdesc(2)->next = 0;
		break;
	case H_NEXT_RANGE:
		rdesc(1)->next = (u16)(q->size + 5);
		break;
	case H_HEAD_RANGE:
		vq_publish(&dev, (u16)(q->size + 3));
		return hostile_outcome();
	case H_AVAIL_JUMP:
		/* more new entries than the ring holds */
		for (i = 0; i < q->size; i++)
			q->avail->ring[i] = 0;
		dev.vq.avail_idx = (u16)(q->size + 1);
		q->avail->idx = dev.vq.avail_idx;
		return hostile_outcome();
	case H_INDIRECT_BADLEN:
	case H_INDIRECT_EMPTY:
	case H_INDIRECT_NESTED:
	case H_INDIRECT_LOOP:
		if (!(dev.features & BIT(VF_INDIRECT_DESC)))
			return "not-offered";
		hostile_table[0] = (struct vring_desc){
			(u64)(uintptr_t)&blk_hdr, sizeof(blk_hdr),
			VRING_DESC_F_NEXT, 1 };
		hostile_table[1] = (struct vring_desc){
			(u64)(uintptr_t)iobuf, SECTOR,
			VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
		hostile_table[2] = (struct vring_desc){
			(u64)(uintptr_t)&blk_status, 1, VRING_DESC_F_WRITE, 0 };
		set_desc(rdesc(0), (u64)(uintptr_t)hostile_table,
			 3 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
		if (k == H_INDIRECT_BADLEN)
			rdesc(0)->len = 3 * sizeof(struct vring_desc) - 8;
		else if (k == H_INDIRECT_EMPTY)
			rdesc(0)->len = 0;
		else if (k == H_INDIRECT_NESTED)
			hostile_table[1].flags |= VRING_DESC_F_INDIRECT;
		else
			hostile_table[2] = (struct vring_desc){
				(u64)(uintptr_t)&blk_status, 1,
				VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0 };
		break;
	default:
		break;
	}
	vq_publish(&dev, 0);
	return hostile_outcome();
}

/*
 * Register-level abuse: each leaves the device in some state from which a
 * reset must bring it back; the specific expectations are checked here.
 */
static void hostile_registers(void)
{
	u64 cap = dcfg_read64(&dev, 0), e;
	u32 i;
	u8 s;

	/* A queue selector out of range: size 0, writes go nowhere. */
	common_w16(&dev, VC_Q_SELECT, 200);
	say("hostile queue-select=200 size=%u", common_r16(&dev, VC_Q_SIZE));
	CHECK(common_r16(&dev, VC_Q_SIZE) == 0, "hostile: queue 200 has a size");
	common_w16(&dev, VC_Q_SIZE, 8);
	common_w32(&dev, VC_Q_DESC, 0x1000);
	common_w16(&dev, VC_Q_MSIX, 0);
	common_w16(&dev, VC_Q_ENABLE, 1);
	CHECK(common_r16(&dev, VC_Q_ENABLE) == 0, "hostile: queue 200 enabled");
	CHECK(blk_good_read(), "hostile: no good request after queue 200");

	/* Read-only fields and the device config are not writable. */
	common_w32(&dev, VC_DF, 0xffffffffu);
	common_w16(&dev, VC_NUM_QUEUES, 0xffff);
	common_w8(&dev, VC_CFG_GEN, 0xff);
	mmio_write32(dev.devcfg, 0xffffffffu);
	mmio_write32(dev.devcfg + 4, 0xffffffffu);
	for (i = 8; i + 4 <= dev.devcfg_len && i < 64; i += 4)
		mmio_write32(dev.devcfg + i, 0xffffffffu);
	/* an access straddling two fields, and one past the structures */
	mmio_write32(dev.common + VC_Q_SELECT, 0xffffffffu);
	mmio_write32(dev.common + 0x100, 0xffffffffu);
	(void)mmio_read32(dev.common + 0x100);
	mmio_write32(dev.devcfg + dev.devcfg_len, 0xffffffffu);
	(void)mmio_read32(dev.devcfg + dev.devcfg_len);
	CHECK(dcfg_read64(&dev, 0) == cap, "hostile: capacity 0x%lx after "
	      "writing all ones to it, was 0x%lx", dcfg_read64(&dev, 0), cap);
	CHECK(blk_good_read(), "hostile: no good request after register junk");
	/* whatever the config says now, the image has not grown */
	i = (u32)blk_io(VBLK_T_IN, cap, iobuf, SECTOR, M_DIRECT, NULL);
	CHECK(i == VBLK_S_IOERR, "hostile: read past the image after the "
	      "capacity write: status %d", (int)i);

	/* MSI-X table and PBA: past the ends, and the read-only PBA. */
	if (dev.msix_nr) {
		e = dev.msix_table + 16u * dev.msix_nr;
		mmio_write32(e, 0xffffffffu);
		(void)mmio_read32(e + 12);
		mmio_write32(dev.msix_pba, 0xffffffffu);
		mmio_write32(dev.msix_pba + 8 * ((dev.msix_nr + 63) / 64), 1);
		(void)mmio_read32(dev.msix_pba + 8 * ((dev.msix_nr + 63) / 64));
		CHECK(!msix_pending(&dev, 0), "hostile: PBA writable");
		CHECK(blk_good_read(), "hostile: no good request after MSI-X junk");
	}

	/* A feature that was not offered: FEATURES_OK must not stick. */
	vdev_reset(&dev);
	common_w8(&dev, VC_STATUS, VS_ACKNOWLEDGE | VS_DRIVER);
	common_w32(&dev, VC_GFSELECT, 1);
	common_w32(&dev, VC_GF, 1u | 1u << (55 - 32));	/* VERSION_1 + bit 55 */
	common_w32(&dev, VC_GFSELECT, 0);
	common_w32(&dev, VC_GF, 0);
	common_w8(&dev, VC_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK);
	s = vdev_status(&dev);
	say("hostile unoffered-feature status=0x%x", s);
	CHECK(!(s & VS_FEATURES_OK), "hostile: FEATURES_OK with bit 55 accepted");
	/* DRIVER_OK without FEATURES_OK, then a kick of a queue never set up */
	common_w8(&dev, VC_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_DRIVER_OK);
	mmio_write16(dev.notify, 0);
	CHECK(blk_good_read(), "hostile: no good request after bad negotiation");

	/* Notifications of queues that do not exist. */
	mmio_write16(dev.notify, 99);
	mmio_write16(dev.notify + 4u * dev.notify_mult, 0xffff);
	CHECK(blk_good_read(), "hostile: no good request after a bad notify");

	/*
	 * Reset with requests in flight: nothing of them may land in the
	 * rings set up afterwards (the good read checks the used entry).
	 */
	for (i = 0; i < 8; i++) {
		struct vseg seg[3] = {
			{ (u64)(uintptr_t)&blk_hdr, sizeof(blk_hdr), false },
			{ (u64)(uintptr_t)iobuf2, 4 * SECTOR, true },
			{ (u64)(uintptr_t)&blk_status, 1, true },
		};

		blk_hdr.type = VBLK_T_IN;
		blk_hdr.sector = 0;
		vq_add(&dev, seg, 3, false);
	}
	vq_kick(&dev);
	CHECK(vdev_reset(&dev), "hostile: reset with requests in flight");
	CHECK(blk_good_read(), "hostile: no good request after a reset in flight");
	say("hostile registers done");
}

static void case_hostile(void)
{
	u32 k;

	if (!vpci_find(&dev, VIRTIO_ID_BLK, acpi) || !blk_good_read()) {
		bad("hostile: no usable device");
		return;
	}
	hostile_registers();

	for (k = 0; k < H_NUM; k++) {
		const char *o = hostile_run(k);
		bool ok = !strcmp(o, "needs-reset") || !strcmp(o, "failed") ||
			  !strcmp(o, "refused");
		bool rec = blk_good_read();

		say("hostile %s=%s recovered=%s", hostile_names[k], o,
		    rec ? "yes" : "no");
		CHECK(ok, "hostile %s: %s", hostile_names[k], o);
		CHECK(rec, "hostile %s: no good request afterwards",
		      hostile_names[k]);
	}
}

static void case_flood(void)
{
	case_blk_flood(acpi);
}

void virtio_action(const char *act, const struct acpi_info *ai)
{
	static const struct guest_case cases[] = {
		{ "virtio-pci-rng", case_rng },
		{ "virtio-pci-blk", case_blk },
		{ "virtio-pci-msix", case_msix },
		{ "virtio-pci-suppress", case_suppress },
		{ "virtio-pci-intx", case_intx },
		{ "virtio-pci-hostile", case_hostile },
		{ "virtio-pci-bar-move", case_bar_move },
		{ "virtio-pci-blk-flood", case_flood },
	};

	acpi = ai;
	nbad = 0;
	say("%s", act);
	apic_setup();
	case_run(act, cases, ARRAY_SIZE(cases));
	case_result(act);
}
