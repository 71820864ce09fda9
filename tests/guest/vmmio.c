// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal virtio-mmio driver (virtio 1.x section 4.2, register layout
 * version 2) and the actions that run lkvm's devices over it:
 *
 *   mmio-plain, mmio-plain-blk  wired IRQ (IOAPIC GSI, level), QueueNotify
 *   mmio-msi-fixed              MSI extension, non-sharing mode, per-queue
 *                               notify (virtio-blk with two queues)
 *   mmio-msi-shared             sharing mode: MAP_QUEUE / MAP_CONFIG
 *   mmio-msi-invalid            bad MSI commands and vectors are ignored
 *   mmio-msi-not-negotiated     extension offered, not accepted: wired IRQ
 *   mmio-hostile                broken registers and rings (virtio-blk)
 *   ioevent-read                QueueNotify read served by a read ioeventfd
 *   bench-notify                vbench.c
 *
 * The extension follows the 2020 "virtio-mmio enhancement" proposal:
 * feature bits 39 (NOTIFICATION) and 40 (MSI), MsiVecNum/MsiState/MsiCmd/
 * MsiVecSel/MsiAddr/MsiData at 0x0c0-0x0dc; in non-sharing mode vector 0
 * is the configuration vector and vector i + 1 belongs to queue i.
 *
 * Devices are found on the command line (virtio_mmio.device=SIZE@ADDR:GSI)
 * and cross-checked against the DSDT's LNRO0005 devices. Output follows
 * vtest.c: facts, "bad <what>" lines, "<action> result=pass|fail bad=<n>".
 */
#include "vmmio.h"

#define QUIET_MS	50
#define IRQ_MS		2000
#define IO_MS		2000
#define HOSTILE_MS	1000

/* Interrupt vectors of these actions (vtest.c's are not in use meanwhile). */
#define VEC_MM_CFG	0x42		/* MSI vector 0 */
#define VEC_MM_Q0	0x43		/* MSI vector 1 */
#define VEC_MM_Q1	0x44		/* MSI vector 2 */
#define VEC_MM_ALT	0x45		/* vector 1 reprogrammed */
#define VEC_GSI_BASE	0x48		/* IOAPIC pin p -> 0x48 + p */
#define IOAPIC_PINS	24

#define IOAPIC_LEVEL	(1u << 15)
#define IOAPIC_REMOTE_IRR (1u << 14)
#define IOAPIC_MASKED	(1u << 16)

#define NOTIFY_INFO	(0x800u | 4u << 16)	/* what lkvm announces */


/* ---- the driver */

static u8 ring_mem[MM_MAX_QUEUES][RING_AREA] __attribute__((aligned(4096)));

u32 mm_rd(struct mmdev *d, u32 off)
{
	return mmio_read32(d->base + off);
}

void mm_wr(struct mmdev *d, u32 off, u32 v)
{
	mmio_write32(d->base + off, v);
}

static const char *skip_to(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (; *s; s++)
		if (!strncmp(s, w, n))
			return s + n;
	return NULL;
}

/* A number in C notation (0x.. or decimal); *ok false if there was none. */
static const char *num(const char *s, u64 *v, bool *ok)
{
	u64 n = 0;
	u32 base = 10, d;
	const char *start;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (start = s;; s++) {
		if (*s >= '0' && *s <= '9')
			d = (u32)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (u32)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (u32)(*s - 'A' + 10);
		else
			break;
		n = n * base + d;
	}
	*ok = s != start;
	*v = n;
	return s;
}

u32 mm_cmdline_devices(const char *cmdline, u64 *base, u64 *size, u32 *gsi,
		       u32 max)
{
	const char *p = cmdline;
	u32 n = 0;

	while ((p = skip_to(p, "virtio_mmio.device=")) && n < max) {
		u64 sz, addr, irq;
		bool ok1, ok2, ok3;

		p = num(p, &sz, &ok1);
		if (*p == 'K' || *p == 'k') {
			sz <<= 10;
			p++;
		} else if (*p == 'M' || *p == 'm') {
			sz <<= 20;
			p++;
		}
		if (*p++ != '@')
			continue;
		p = num(p, &addr, &ok2);
		if (*p++ != ':')
			continue;
		p = num(p, &irq, &ok3);
		if (!ok1 || !ok2 || !ok3 || !phys_ok(addr, sz) || sz < 0x200)
			continue;
		base[n] = addr;
		size[n] = sz;
		gsi[n] = (u32)irq;
		n++;
	}
	return n;
}

bool mm_find(struct mmdev *d, u32 id, const char *cmdline)
{
	u64 base[8], size[8];
	u32 gsi[8], n, i;

	memset(d, 0, sizeof(*d));
	n = mm_cmdline_devices(cmdline, base, size, gsi, 8);
	for (i = 0; i < n; i++) {
		if (mmio_read32(base[i] + VM_MAGIC) != VM_MAGIC_VALUE ||
		    mmio_read32(base[i] + VM_DEVICE_ID) != id)
			continue;
		d->base = base[i];
		d->size = size[i];
		d->gsi = gsi[i];
		d->id = id;
		say("vmmio dev id=%u base=0x%lx size=0x%lx gsi=%u version=%u "
		    "vendor=0x%x", id, d->base, d->size, d->gsi,
		    mm_rd(d, VM_VERSION), mm_rd(d, VM_VENDOR_ID));
		return true;
	}
	say("vmmio-error no device with id %u among %u on the command line", id, n);
	return false;
}

bool mm_reset(struct mmdev *d)
{
	u32 s = 0, i;

	mm_wr(d, VM_STATUS, 0);
	deadline_set(1000);
	for (i = 0; (s = mm_rd(d, VM_STATUS)) != 0 && !deadline_passed(); i++)
		cpu_relax();
	deadline_clear();
	if (s) {
		say("vmmio-error reset: status stays 0x%x", s);
		return false;
	}
	for (i = 0; i < MM_MAX_QUEUES; i++) {
		d->notify[i] = d->base + VM_QUEUE_NOTIFY;
		d->notify_val[i] = i;
	}
	d->nq = 0;
	return true;
}

static struct vfeat_regs mm_feat_regs(struct mmdev *d)
{
	return (struct vfeat_regs){
		.status = d->base + VM_STATUS,
		.dev_sel = d->base + VM_DEV_FEAT_SEL, .dev_feat = d->base + VM_DEV_FEAT,
		.drv_sel = d->base + VM_DRV_FEAT_SEL, .drv_feat = d->base + VM_DRV_FEAT,
	};
}

u64 mm_offered(struct mmdev *d)
{
	struct vfeat_regs r = mm_feat_regs(d);

	d->offered = virtio_offered(&r);
	return d->offered;
}

bool mm_negotiate(struct mmdev *d, u64 want)
{
	struct vfeat_regs r = mm_feat_regs(d);

	return virtio_negotiate(&r, want, &d->offered, &d->features, "vmmio-error");
}

static void set64(struct mmdev *d, u32 lo, u64 v)
{
	mm_wr(d, lo, (u32)v);
	mm_wr(d, lo + 4, (u32)(v >> 32));
}

bool mm_queue(struct mmdev *d, u32 q, u16 size, const struct vq_layout *lay)
{
	struct vq_layout at;
	u32 max;

	if (q >= MM_MAX_QUEUES)
		return false;
	mm_wr(d, VM_QUEUE_SEL, q);
	if (mm_rd(d, VM_QUEUE_READY)) {
		say("vmmio-error queue%u: ready after reset", q);
		return false;
	}
	max = mm_rd(d, VM_QUEUE_NUM_MAX);
	if (!max) {
		say("vmmio-error queue%u: QueueNumMax 0", q);
		return false;
	}
	at = vq_place(&d->q[q].vq, ring_mem[q], size, max, lay);
	mm_wr(d, VM_QUEUE_NUM, d->q[q].vq.size);
	set64(d, VM_QUEUE_DESC_LO, at.desc);
	set64(d, VM_QUEUE_AVAIL_LO, at.avail);
	set64(d, VM_QUEUE_USED_LO, at.used);
	mm_wr(d, VM_QUEUE_READY, 1);
	if (q >= d->nq)
		d->nq = q + 1;
	return true;
}

bool mm_driver_ok(struct mmdev *d)
{
	u32 s;

	mm_wr(d, VM_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK |
			    VS_DRIVER_OK);
	s = mm_rd(d, VM_STATUS);
	if ((s & (VS_NEEDS_RESET | VS_FAILED)) || !(s & VS_DRIVER_OK)) {
		say("vmmio-error driver-ok: status 0x%x", s);
		return false;
	}
	return true;
}

bool mm_start(struct mmdev *d, u64 want, u32 nq)
{
	u32 q;

	if (!mm_reset(d) || !mm_negotiate(d, want))
		return false;
	for (q = 0; q < nq; q++) {
		if (!mm_queue(d, q, 0, NULL))
			return false;
		mm_wr(d, VM_QUEUE_SEL, q);
		if (mm_rd(d, VM_QUEUE_READY) != 1) {
			say("vmmio-error queue%u: QueueReady reads 0 (status 0x%x)", q,
			    mm_rd(d, VM_STATUS));
			return false;
		}
	}
	return mm_driver_ok(d);
}

bool mm_use_queue_notify(struct mmdev *d)
{
	u32 info = mm_rd(d, VM_QUEUE_NOTIFY), base = info & 0xffff,
	    mult = info >> 16, q;

	if (!info || base < VM_CONFIG || base >= d->size)
		return false;
	for (q = 0; q < MM_MAX_QUEUES; q++) {
		d->notify[q] = d->base + base + (u64)q * mult;
		d->notify_val[q] = q;
	}
	return true;
}

u16 mm_add(struct mmdev *d, u32 q, const struct vseg *seg, u32 nseg)
{
	return vq_add(&d->q[q], seg, nseg, false);
}

void mm_kick(struct mmdev *d, u32 q)
{
	mb();
	mmio_write32(d->notify[q], d->notify_val[q]);
}

bool mm_used_ready(struct mmdev *d, u32 q)
{
	return vq_used_ready(&d->q[q].vq);
}

static bool mm_broken(void *ctx)
{
	return mm_rd(ctx, VM_STATUS) & VS_NEEDS_RESET;
}

enum vq_wait_result mm_wait(struct mmdev *d, u32 q, u32 ms, u32 *id, u32 *len)
{
	return vq_poll(&d->q[q].vq, ms, id, len, mm_broken, d);
}

void mm_msi_cmd(struct mmdev *d, u32 cmd, u32 sel)
{
	mm_wr(d, VM_MSI_VEC_SEL, sel);
	mm_wr(d, VM_MSI_CMD, cmd);
}

/* Fixed delivery, edge, physical destination APIC 0; data = vector. */
void mm_msi_configure(struct mmdev *d, u32 vec, u32 vector)
{
	mm_wr(d, VM_MSI_ADDR_LO, 0xfee00000u);
	mm_wr(d, VM_MSI_ADDR_HI, 0);
	mm_wr(d, VM_MSI_DATA, vector);
	mm_msi_cmd(d, MSI_CMD_CONFIGURE, vec);
}

/* ---- interrupts */

static struct mmdev *wired;	/* whose GSI the handler serves */
static volatile u32 isr_seen, isr_last, isr_zero, stale_level, skip_ack;

/*
 * The GSI handler does what a real driver does before the EOI: read
 * InterruptStatus and acknowledge it, so the level-triggered line is low
 * when KVM resamples it. This host's in-kernel LAPIC may deliver a level
 * interrupt a second time after the EOI, with Remote IRR clear: those are
 * counted apart (a real delivery has Remote IRR set until the EOI).
 */
static void mm_irq(u32 vector)
{
	if (wired && vector == VEC_GSI_BASE + wired->gsi) {
		u32 r = ioapic_read(IOAPIC_REDIR(wired->gsi)), s;

		if ((r & IOAPIC_LEVEL) && !(r & IOAPIC_REMOTE_IRR)) {
			stale_level++;
			lapic_write(LAPIC_EOI, 0);
			return;
		}
		s = mm_rd(wired, VM_INT_STATUS);
		isr_seen |= s;
		isr_last = s;
		if (!s)
			isr_zero++;
		if (skip_ack)
			skip_ack--;
		else if (s)
			mm_wr(wired, VM_INT_ACK, s);
	}
	irq_counts[vector]++;
	lapic_write(LAPIC_EOI, 0);
}

/* Level triggered, active high (as the DSDT says), to APIC 0. */
static void gsi_listen(struct mmdev *d, bool on)
{
	if (d->gsi >= IOAPIC_PINS)
		return;
	ioapic_write(IOAPIC_REDIR(d->gsi) + 1, 0);
	ioapic_write(IOAPIC_REDIR(d->gsi), (VEC_GSI_BASE + d->gsi) | IOAPIC_LEVEL |
		     (on ? 0 : IOAPIC_MASKED));
	wired = on ? d : NULL;
}

static u32 gsi_vec(struct mmdev *d)
{
	return VEC_GSI_BASE + d->gsi;
}

/* ---- case plumbing */

static const struct acpi_info *acpi;
static const char *cmdline;

/* The command line's device @id: its GSI listened to, reset, @want negotiated. */
static bool mm_open(struct mmdev *d, u32 id, u64 want)
{
	if (!mm_find(d, id, cmdline))
		return false;
	gsi_listen(d, true);
	return mm_reset(d) && mm_negotiate(d, want);
}

/* One device-writable buffer on queue @q (rng); kicked if @kick. */
static u16 rng_submit(struct mmdev *d, u32 q, u8 *buf, u32 len, bool kick)
{
	struct vseg s = { (u64)(uintptr_t)buf, len, true };
	u16 head = mm_add(d, q, &s, 1);

	if (kick)
		mm_kick(d, q);
	return head;
}

static bool rng_done(struct mmdev *d, u32 q, u16 head, u32 *len)
{
	enum vq_wait_result r;
	u32 id, l = 0;

	r = mm_wait(d, q, IO_MS, &id, &l);
	if (len)
		*len = l;
	if (r != VQ_DONE) {
		bad("queue%u request: %s", q, vq_wait_text(r));
		return false;
	}
	CHECK(id == head, "queue%u used id %u, expected %u", q, id, head);
	return id == head;
}

static bool rng_request(struct mmdev *d, u8 *buf, u32 len)
{
	u16 head = rng_submit(d, 0, buf, len, true);

	return rng_done(d, 0, head, NULL);
}

/* One rng buffer on queue 0 of the device @ctx; its used length. */
static bool rng_req(void *ctx, u8 *buf, u32 len, u32 *used)
{
	return rng_done(ctx, 0, rng_submit(ctx, 0, buf, len, true), used);
}

/* virtio-blk: a header/data/status chain on queue @q. */
static struct blk_hdr blk_hdr[MM_MAX_QUEUES] __attribute__((aligned(16)));
static volatile u8 blk_status[MM_MAX_QUEUES];
static u8 iobuf[2 * SECTOR] __attribute__((aligned(4096)));
static u8 iobuf2[2 * SECTOR] __attribute__((aligned(4096)));

static u16 blk_submit(struct mmdev *d, u32 q, u32 type, u64 sector, u8 *buf,
		      u32 len, bool kick)
{
	struct vseg seg[3];
	u32 n = 0;
	u16 head;

	blk_hdr[q].type = type;
	blk_hdr[q].reserved = 0;
	blk_hdr[q].sector = sector;
	blk_status[q] = 0xff;
	seg[n++] = (struct vseg){ (u64)(uintptr_t)&blk_hdr[q], sizeof(blk_hdr[q]),
				  false };
	if (len)
		seg[n++] = (struct vseg){ (u64)(uintptr_t)buf, len,
					  type == VBLK_T_IN };
	seg[n++] = (struct vseg){ (u64)(uintptr_t)&blk_status[q], 1, true };
	head = mm_add(d, q, seg, n);
	if (kick)
		mm_kick(d, q);
	return head;
}

/* Status byte, -1 on timeout, -2 on NEEDS_RESET. */
static int blk_complete(struct mmdev *d, u32 q, u16 head, u32 ms)
{
	enum vq_wait_result r;
	u32 id;

	r = mm_wait(d, q, ms, &id, NULL);
	if (r != VQ_DONE)
		return r == VQ_BROKEN ? -2 : -1;
	CHECK(id == head, "blk queue%u: used id %u, expected %u", q, id, head);
	return blk_status[q];
}

static int blk_io(struct mmdev *d, u32 q, u32 type, u64 sector, u8 *buf, u32 len)
{
	u16 head = blk_submit(d, q, type, sector, buf, len, true);

	return blk_complete(d, q, head, IO_MS);
}

static bool blk_read0(struct mmdev *d, u32 q)
{
	int st;

	memset(iobuf, 0, SECTOR);
	st = blk_io(d, q, VBLK_T_IN, 0, iobuf, SECTOR);
	CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf, 0),
	      "blk queue%u: sector 0 (status %d)", q, st);
	return st == VBLK_S_OK && disk_pattern_ok(iobuf, 0);
}

static u64 blk_capacity(struct mmdev *d)
{
	u32 lo, hi, gen, n;

	for (n = 0; n < 8; n++) {
		gen = mm_rd(d, VM_CONFIG_GEN);
		lo = mm_rd(d, VM_CONFIG);
		hi = mm_rd(d, VM_CONFIG + 4);
		if (mm_rd(d, VM_CONFIG_GEN) == gen)
			break;
	}
	return (u64)hi << 32 | lo;
}

/* Number of queues: QueueNumMax of QueueSel 0, 1, ... until 0. */
static u32 count_queues(struct mmdev *d)
{
	u32 n;

	for (n = 0; n < 16; n++) {
		mm_wr(d, VM_QUEUE_SEL, n);
		if (!mm_rd(d, VM_QUEUE_NUM_MAX))
			break;
	}
	mm_wr(d, VM_QUEUE_SEL, 0);
	return n;
}

/* A descriptor outside RAM breaks the device: NEEDS_RESET (after DRIVER_OK). */
static enum vq_wait_result break_device(struct mmdev *d)
{
	struct vseg s = { ram_end_below_4g() + (16u << 20), 16, true };

	mm_add(d, 0, &s, 1);
	mm_kick(d, 0);
	return mm_wait(d, 0, IO_MS, NULL, NULL);
}

/* ---- ACPI: the DSDT's LNRO0005 devices against the command line */

/* Next LNRO0005 device's _CRS after t[*k]: memory base/size and interrupt. */
static bool dsdt_next_mmio(const u8 *t, u32 len, u32 *k, u64 *base, u64 *size,
			   u32 *irq, u32 *flags)
{
	u32 i, j, end;

	for (i = *k; i + 8 <= len; i++) {
		if (memcmp(t + i, "LNRO0005", 8))
			continue;
		*k = i + 8;
		/* Name (_CRS, Buffer (n) { ... }) within the device */
		for (j = i + 8; j + 6 < len && j < i + 64; j++) {
			if (t[j] == 0x08 && !memcmp(t + j + 1, "_CRS", 4) &&
			    t[j + 5] == 0x11)
				break;
		}
		if (j + 6 >= len || j >= i + 64)
			return false;
		j += 6;
		end = j;
		if (t[j] >> 6) {
			u32 n = t[j] >> 6, v = t[j] & 0x0f, b;

			for (b = 0; b < n; b++)
				v |= (u32)t[j + 1 + b] << (4 + 8 * b);
			j += 1 + n;
			end += v;
		} else {
			end += t[j] & 0x3f;
			j++;
		}
		if (end > len)
			return false;
		/* BufferSize (an integer), then the resource descriptors */
		if (t[j] == 0x0a)
			j += 2;
		else if (t[j] == 0x0b)
			j += 3;
		else
			return false;
		*base = *size = 0;
		*irq = ~0u;
		*flags = 0;
		while (j + 3 <= end && t[j] != 0x79) {
			u32 dl = t[j + 1] | (u32)t[j + 2] << 8;

			if (t[j] == 0x86 && dl == 9 && j + 12 <= end) {
				*base = get32(t + j + 4);
				*size = get32(t + j + 8);
			} else if (t[j] == 0x89 && dl >= 6 && j + 9 <= end) {
				*irq = get32(t + j + 5);
				*flags = t[j + 3];
			}
			if (!(t[j] & 0x80))
				break;		/* small descriptors: not expected */
			j += 3 + dl;
		}
		return true;
	}
	return false;
}

static void acpi_check(void)
{
	u64 cb[8], cs[8], base, size;
	u32 cg[8], n, i, irq, flags, found = 0, k = 0, matched = 0;

	n = mm_cmdline_devices(cmdline, cb, cs, cg, 8);
	if (!acpi->dsdt) {
		bad("acpi: no DSDT");
		return;
	}
	while (dsdt_next_mmio(phys(acpi->dsdt), acpi->dsdt_len, &k, &base, &size,
			      &irq, &flags)) {
		found++;
		/* flags: consumer 1, edge 2, active low 4, shared 8 */
		say("vmmio acpi LNRO0005 base=0x%lx size=0x%lx gsi=%u flags=0x%x",
		    base, size, irq, flags);
		CHECK(flags == 0x9, "acpi: interrupt flags 0x%x, expected level, "
		      "active high, shared consumer (0x9)", flags);
		for (i = 0; i < n; i++)
			if (cb[i] == base && cs[i] == size && cg[i] == irq)
				matched++;
	}
	say("vmmio acpi devices=%u cmdline=%u matched=%u", found, n, matched);
	CHECK(found == n && matched == n,
	      "acpi: %u LNRO0005 devices, %u on the command line, %u match",
	      found, n, matched);
}

/* ---- mmio-plain: virtio-rng over the wired interrupt */

static void case_plain(void)
{
	static struct mmdev dev;
	static u8 a[64], b[64], c[16];
	struct mmdev *d = &dev;
	u32 before, v;
	u64 desc;

	if (!mm_find(d, VIRTIO_ID_RNG, cmdline))
		goto nodev;
	CHECK(mm_rd(d, VM_MAGIC) == VM_MAGIC_VALUE, "plain: magic 0x%x",
	      mm_rd(d, VM_MAGIC));
	CHECK(mm_rd(d, VM_VERSION) == 2, "plain: version %u", mm_rd(d, VM_VERSION));
	acpi_check();
	gsi_listen(d, true);

	if (!mm_reset(d) || !mm_negotiate(d, 0))
		goto nodev;
	say("plain offered=0x%lx features=0x%lx", d->offered, d->features);
	CHECK(!(d->offered & (BIT(VF_MMIO_NOTIFICATION) | BIT(VF_MMIO_MSI))),
	      "plain: bits 39/40 offered without --virtio-mmio-msi");
	CHECK(d->features == BIT(VF_VERSION_1), "plain: features 0x%lx",
	      d->features);
	if (!mm_queue(d, 0, 0, NULL))
		goto nodev;
	mm_wr(d, VM_QUEUE_SEL, 0);
	desc = mm_rd(d, VM_QUEUE_DESC_LO) | (u64)mm_rd(d, VM_QUEUE_DESC_HI) << 32;
	say("plain queue0 max=%u size=%u ready=%u desc=0x%lx",
	    mm_rd(d, VM_QUEUE_NUM_MAX), d->q[0].vq.size, mm_rd(d, VM_QUEUE_READY),
	    desc);
	CHECK(mm_rd(d, VM_QUEUE_READY) == 1, "plain: QueueReady reads 0");
	CHECK(desc == (u64)(uintptr_t)ring_mem[0], "plain: QueueDesc reads 0x%lx",
	      desc);
	if (!mm_driver_ok(d))
		goto nodev;
	v = mm_rd(d, VM_QUEUE_NOTIFY);
	CHECK(v == 0, "plain: QueueNotify reads 0x%x", v);

	/* A completion: GSI, InterruptStatus bit 0, cleared by InterruptACK. */
	before = irq_counts[gsi_vec(d)];
	isr_seen = 0;
	if (!rng_request(d, c, sizeof(c)))
		goto out;
	CHECK(irq_wait(gsi_vec(d), before + 1, IRQ_MS),
	      "plain: no interrupt on GSI %u", d->gsi);
	v = mm_rd(d, VM_INT_STATUS);
	say("plain irq=%s gsi=%u isr=0x%x after-ack=0x%x",
	    irq_counts[gsi_vec(d)] > before ? "ok" : "none", d->gsi, isr_last, v);
	CHECK(isr_last == VM_INT_VRING, "plain: InterruptStatus 0x%x in the handler",
	      isr_last);
	CHECK(v == 0, "plain: InterruptStatus 0x%x after InterruptACK", v);
	CHECK(!irq_wait_any(irq_total(), QUIET_MS), "plain: interrupt after the ACK");

	/* Not acknowledged: after the EOI the line is still up, so it comes again. */
	before = irq_counts[gsi_vec(d)];
	skip_ack = 1;
	if (!rng_request(d, c, sizeof(c)))
		goto out;
	irq_wait(gsi_vec(d), before + 2, IRQ_MS);
	say("plain unacked deliveries=%u isr=0x%x", irq_counts[gsi_vec(d)] - before,
	    isr_last);
	CHECK(irq_counts[gsi_vec(d)] - before == 2,
	      "plain: %u deliveries of an interrupt acknowledged only the second "
	      "time", irq_counts[gsi_vec(d)] - before);
	skip_ack = 0;

	if (!rng_fill(rng_req, d, a, sizeof(a)) ||
	    !rng_fill(rng_req, d, b, sizeof(b)))
		goto out;
	CHECK(!all_zero(a, sizeof(a)), "plain: 64 zero bytes");
	CHECK(memcmp(a, b, sizeof(a)), "plain: two reads gave the same bytes");
	say("plain rng read=64+64 zero=%s differ=%s", all_zero(a, 64) ? "yes" : "no",
	    memcmp(a, b, 64) ? "yes" : "no");

	/* A broken ring: NEEDS_RESET, announced with InterruptStatus bit 1. */
	before = irq_counts[gsi_vec(d)];
	isr_seen = 0;
	v = (u32)break_device(d);
	irq_wait(gsi_vec(d), before + 1, IRQ_MS);
	say("plain config-irq=%s isr=0x%x status=0x%x",
	    irq_counts[gsi_vec(d)] > before ? "yes" : "no", isr_seen, mm_rd(d, VM_STATUS));
	CHECK(v == VQ_BROKEN, "plain: descriptor outside RAM: %s",
	      vq_wait_text((enum vq_wait_result)v));
	CHECK(isr_seen & VM_INT_CONFIG, "plain: no config interrupt (isr 0x%x)",
	      isr_seen);
	CHECK(mm_rd(d, VM_INT_STATUS) == 0, "plain: InterruptStatus 0x%x after ACK",
	      mm_rd(d, VM_INT_STATUS));
	if (!mm_start(d, 0, 1)) {
		bad("plain: no restart after NEEDS_RESET");
		goto out;
	}
	CHECK(rng_request(d, c, sizeof(c)), "plain: no request after the reset");
out:
	say("plain stale-level-irqs=%u zero-isr-irqs=%u", stale_level, isr_zero);
	mm_reset(d);
	gsi_listen(d, false);
	return;
nodev:
	bad("plain: no usable device");
	gsi_listen(d, false);
}

/* ---- mmio-plain-blk: virtio-blk over the wired interrupt */

static void case_plain_blk(void)
{
	static struct mmdev dev;
	struct mmdev *d = &dev;
	u32 before;
	u64 cap;
	int st, st2;
	u32 i;

	if (!mm_find(d, VIRTIO_ID_BLK, cmdline))
		goto nodev;
	gsi_listen(d, true);
	if (!mm_start(d, BIT(VBLK_F_FLUSH), 1))
		goto nodev;
	cap = blk_capacity(d);
	say("blk features=0x%lx capacity=%lu", d->features, cap);
	if (cap < 16) {
		bad("blk: capacity %lu", cap);
		goto out;
	}
	before = irq_counts[gsi_vec(d)];
	blk_read0(d, 0);
	CHECK(irq_wait(gsi_vec(d), before + 1, IRQ_MS), "blk: no interrupt");
	CHECK(isr_last == VM_INT_VRING, "blk: InterruptStatus 0x%x", isr_last);
	memset(iobuf, 0, SECTOR);
	st = blk_io(d, 0, VBLK_T_IN, cap - 1, iobuf, SECTOR);
	say("blk read0=ok read-last status=%d pattern=%s", st,
	    disk_pattern_ok(iobuf, cap - 1) ? "ok" : "wrong");
	CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf, cap - 1),
	      "blk: last sector (status %d)", st);

	for (i = 0; i < SECTOR; i++)
		iobuf[i] = (u8)"guest-mmio-sec5\n"[i % 16];
	st = blk_io(d, 0, VBLK_T_OUT, 5, iobuf, SECTOR);
	st2 = blk_io(d, 0, VBLK_T_FLUSH, 0, NULL, 0);
	memset(iobuf2, 0, SECTOR);
	CHECK(blk_io(d, 0, VBLK_T_IN, 5, iobuf2, SECTOR) == VBLK_S_OK &&
	      !memcmp(iobuf, iobuf2, SECTOR), "blk: sector 5 reads back wrong");
	say("blk write5 status=%d flush status=%d", st, st2);
	CHECK(st == VBLK_S_OK && st2 == VBLK_S_OK, "blk: write %d flush %d", st, st2);
	st = blk_io(d, 0, VBLK_T_IN, cap, iobuf2, SECTOR);
	say("blk oob status=%d", st);
	CHECK(st == VBLK_S_IOERR, "blk: read at capacity: status %d", st);
	say("blk irqs=%u stale-level-irqs=%u", irq_counts[gsi_vec(d)] - before,
	    stale_level);
out:
	mm_reset(d);
	gsi_listen(d, false);
	return;
nodev:
	bad("blk: no usable device");
	gsi_listen(d, false);
}

/* ---- mmio-msi-fixed: non-sharing mode, per-queue notify, two queues */

/* Interrupts on any vector but @except, for "nothing else fired". */
static u32 others(u32 except)
{
	return irq_total() - irq_counts[except];
}

static void case_msi_fixed(void)
{
	static struct mmdev dev;
	struct mmdev *d = &dev;
	u32 nvec, state, nq, info, before, rest, v;
	u16 head;
	int st;
	bool early, quiet;

	if (!mm_open(d, VIRTIO_ID_BLK, BIT(VBLK_F_MQ) | BIT(VF_MMIO_NOTIFICATION) |
		     BIT(VF_MMIO_MSI)))
		goto nodev;
	nq = count_queues(d);
	nvec = mm_rd(d, VM_MSI_VEC_NUM);
	state = mm_rd(d, VM_MSI_STATE);
	say("msi-fixed features=0x%lx queues=%u vecnum=%u state=0x%x",
	    d->features, nq, nvec, state);
	if (!(d->features & BIT(VF_MMIO_MSI)) ||
	    !(d->features & BIT(VF_MMIO_NOTIFICATION))) {
		bad("msi-fixed: bits 39/40 not offered (0x%lx)", d->offered);
		goto out;
	}
	if (nq < 2) {
		bad("msi-fixed: %u queues, the case needs 2 (-c 2)", nq);
		goto out;
	}
	CHECK(nvec >= nq + 1, "msi-fixed: MsiVecNum %u < queues + 1", nvec);
	CHECK(state == 0, "msi-fixed: MsiState 0x%x, expected 0", state);
	if (!mm_queue(d, 0, 0, NULL) || !mm_queue(d, 1, 0, NULL))
		goto nodev;
	mm_msi_configure(d, 0, VEC_MM_CFG);
	mm_msi_configure(d, 1, VEC_MM_Q0);
	mm_msi_configure(d, 2, VEC_MM_Q1);
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);
	state = mm_rd(d, VM_MSI_STATE);
	CHECK(state == MSI_STATE_ENABLED, "msi-fixed: MsiState 0x%x after ENABLE",
	      state);
	if (!mm_driver_ok(d))
		goto nodev;
	info = mm_rd(d, VM_QUEUE_NOTIFY);
	CHECK(info == NOTIFY_INFO, "msi-fixed: QueueNotify reads 0x%x", info);
	if (!mm_use_queue_notify(d)) {
		bad("msi-fixed: no per-queue notify addresses");
		goto out;
	}
	say("msi-fixed state=0x%x queue-notify=0x%x q0=+0x%lx q1=+0x%lx", state,
	    info, d->notify[0] - d->base, d->notify[1] - d->base);

	/* Queue 0 completes on vector 1 (0x43), InterruptStatus stays 0. */
	before = irq_counts[VEC_MM_Q0];
	rest = others(VEC_MM_Q0);
	blk_read0(d, 0);
	CHECK(irq_wait(VEC_MM_Q0, before + 1, IRQ_MS), "msi-fixed: no MSI on 0x%x",
	      VEC_MM_Q0);
	v = mm_rd(d, VM_INT_STATUS);
	say("msi-fixed q0 irq=%s vector=0x%x isr=0x%x",
	    irq_counts[VEC_MM_Q0] > before ? "ok" : "none", VEC_MM_Q0, v);
	CHECK(v == 0, "msi-fixed: InterruptStatus 0x%x with MSI on", v);
	CHECK(others(VEC_MM_Q0) == rest, "msi-fixed: other vectors fired too");

	/*
	 * Queue 1: a notify at queue 0's address does not wake it; its own
	 * does. One round trip first, so that no kick of queue 1 from before
	 * (DRIVER_OK kicks every ready queue) is still on its way.
	 */
	before = irq_counts[VEC_MM_Q1];
	CHECK(blk_read0(d, 1), "msi-fixed: no request on queue 1");
	CHECK(irq_wait(VEC_MM_Q1, before + 1, IRQ_MS), "msi-fixed: no MSI on 0x%x",
	      VEC_MM_Q1);
	before = irq_counts[VEC_MM_Q1];
	memset(iobuf, 0, SECTOR);
	head = blk_submit(d, 1, VBLK_T_IN, 0, iobuf, SECTOR, false);
	mm_kick(d, 0);
	delay_ms(QUIET_MS);
	early = mm_used_ready(d, 1);
	mm_kick(d, 1);
	st = blk_complete(d, 1, head, IO_MS);
	CHECK(irq_wait(VEC_MM_Q1, before + 1, IRQ_MS), "msi-fixed: no MSI on 0x%x",
	      VEC_MM_Q1);
	say("msi-fixed q1 via-q0-notify=%s via-q1-notify=%s irq=%s",
	    early ? "done" : "none", st == VBLK_S_OK ? "done" : "failed",
	    irq_counts[VEC_MM_Q1] > before ? "ok" : "none");
	CHECK(!early, "msi-fixed: queue 1 served after a notify of queue 0");
	CHECK(st == VBLK_S_OK && disk_pattern_ok(iobuf, 0),
	      "msi-fixed: queue 1 read (status %d)", st);

	/* Vector 1 masked: nothing; unmasked: the held interrupt arrives. */
	mm_msi_cmd(d, MSI_CMD_MASK, 1);
	before = irq_total();
	blk_read0(d, 0);
	quiet = !irq_wait_any(before, QUIET_MS);
	v = mm_rd(d, VM_INT_STATUS);
	before = irq_counts[VEC_MM_Q0];
	mm_msi_cmd(d, MSI_CMD_UNMASK, 1);
	irq_wait(VEC_MM_Q0, before + 1, IRQ_MS);
	say("msi-fixed masked irq=%s isr=0x%x unmask irq=%s", quiet ? "none" : "yes",
	    v, irq_counts[VEC_MM_Q0] > before ? "ok" : "none");
	CHECK(quiet, "msi-fixed: interrupt through a masked vector");
	CHECK(irq_counts[VEC_MM_Q0] > before, "msi-fixed: nothing after UNMASK");
	CHECK(v == 0, "msi-fixed: InterruptStatus 0x%x while masked", v);

	/* CONFIGURE again: vector 1 now sends 0x45. */
	mm_msi_configure(d, 1, VEC_MM_ALT);
	before = irq_counts[VEC_MM_Q0];
	v = irq_counts[VEC_MM_ALT];
	blk_read0(d, 0);
	irq_wait(VEC_MM_ALT, v + 1, IRQ_MS);
	delay_ms(5);
	say("msi-fixed reconfigured irq=0x%x", irq_counts[VEC_MM_ALT] > v ? VEC_MM_ALT :
	    irq_counts[VEC_MM_Q0] > before ? VEC_MM_Q0 : 0);
	CHECK(irq_counts[VEC_MM_ALT] == v + 1 && irq_counts[VEC_MM_Q0] == before,
	      "msi-fixed: vector 1 reprogrammed to 0x%x, got 0x%x:%u 0x%x:%u",
	      VEC_MM_ALT, VEC_MM_ALT, irq_counts[VEC_MM_ALT] - v, VEC_MM_Q0,
	      irq_counts[VEC_MM_Q0] - before);
	mm_msi_configure(d, 1, VEC_MM_Q0);

	/* A plain QueueNotify write still works (lkvm serves it from the exit). */
	d->notify[0] = d->notify[1] = d->base + VM_QUEUE_NOTIFY;
	before = irq_counts[VEC_MM_Q0];
	v = irq_counts[VEC_MM_Q1];
	early = blk_read0(d, 0) && blk_read0(d, 1);
	irq_wait(VEC_MM_Q0, before + 1, IRQ_MS);
	irq_wait(VEC_MM_Q1, v + 1, IRQ_MS);
	say("msi-fixed plain-notify q0+q1=%s irqs=%u+%u", early ? "done" : "failed",
	    irq_counts[VEC_MM_Q0] - before, irq_counts[VEC_MM_Q1] - v);
	CHECK(early && irq_counts[VEC_MM_Q0] > before && irq_counts[VEC_MM_Q1] > v,
	      "msi-fixed: plain QueueNotify writes after the per-queue ones");
	mm_use_queue_notify(d);

	/* DISABLE: back to the wired interrupt; ENABLE again. */
	mm_msi_cmd(d, MSI_CMD_DISABLE, 0);
	state = mm_rd(d, VM_MSI_STATE);
	before = irq_counts[gsi_vec(d)];
	isr_last = 0;
	blk_read0(d, 0);
	irq_wait(gsi_vec(d), before + 1, IRQ_MS);
	say("msi-fixed disabled state=0x%x gsi-irq=%s isr=0x%x", state,
	    irq_counts[gsi_vec(d)] > before ? "ok" : "none", isr_last);
	CHECK(state == 0, "msi-fixed: MsiState 0x%x after DISABLE", state);
	CHECK(irq_counts[gsi_vec(d)] > before && isr_last == VM_INT_VRING,
	      "msi-fixed: no wired interrupt after DISABLE");
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);

	/* NEEDS_RESET: the configuration vector (0) fires, status stays 0. */
	before = irq_counts[VEC_MM_CFG];
	v = (u32)break_device(d);
	irq_wait(VEC_MM_CFG, before + 1, IRQ_MS);
	say("msi-fixed config-irq=%s isr=0x%x", irq_counts[VEC_MM_CFG] > before ? "ok" :
	    "none", mm_rd(d, VM_INT_STATUS));
	CHECK(v == VQ_BROKEN, "msi-fixed: descriptor outside RAM: %s",
	      vq_wait_text((enum vq_wait_result)v));
	CHECK(irq_counts[VEC_MM_CFG] > before, "msi-fixed: no config MSI");

	mm_reset(d);
	state = mm_rd(d, VM_MSI_STATE);
	say("msi-fixed after-reset state=0x%x queue-notify=0x%x", state,
	    mm_rd(d, VM_QUEUE_NOTIFY));
	CHECK(state == 0, "msi-fixed: MsiState 0x%x after reset", state);
	CHECK(mm_start(d, 0, 1) && blk_read0(d, 0),
	      "msi-fixed: no plain request after the reset");
out:
	mm_reset(d);
	gsi_listen(d, false);
	return;
nodev:
	bad("msi-fixed: no usable device");
	gsi_listen(d, false);
}

/* ---- mmio-msi-shared: sharing mode (virtio-rng) */

static void case_msi_shared(void)
{
	static struct mmdev dev;
	static u8 c[8];
	struct mmdev *d = &dev;
	u32 nvec, state, before, v;
	bool quiet;

	if (!mm_open(d, VIRTIO_ID_RNG, BIT(VF_MMIO_NOTIFICATION) | BIT(VF_MMIO_MSI)))
		goto nodev;
	nvec = mm_rd(d, VM_MSI_VEC_NUM);
	state = mm_rd(d, VM_MSI_STATE);
	say("msi-shared features=0x%lx vecnum=%u state=0x%x", d->features, nvec,
	    state);
	if (!(d->features & BIT(VF_MMIO_MSI))) {
		bad("msi-shared: bit 40 not offered (0x%lx)", d->offered);
		goto out;
	}
	CHECK(state == MSI_STATE_SHARING, "msi-shared: MsiState 0x%x", state);
	CHECK(nvec >= 2, "msi-shared: MsiVecNum %u", nvec);
	if (!mm_queue(d, 0, 0, NULL))
		goto nodev;
	mm_msi_configure(d, 0, VEC_MM_CFG);
	mm_msi_configure(d, 1, VEC_MM_Q0);
	mm_wr(d, VM_QUEUE_SEL, 0);
	mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, MSI_NO_VECTOR);
	mm_msi_cmd(d, MSI_CMD_MAP_CONFIG, MSI_NO_VECTOR);
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);
	state = mm_rd(d, VM_MSI_STATE);
	CHECK(state == (MSI_STATE_SHARING | MSI_STATE_ENABLED),
	      "msi-shared: MsiState 0x%x after ENABLE", state);
	if (!mm_driver_ok(d))
		goto nodev;
	CHECK(mm_use_queue_notify(d), "msi-shared: no per-queue notify");

	/* Unmapped queue: completes, no interrupt at all. */
	before = irq_total();
	rng_request(d, c, sizeof(c));
	quiet = !irq_wait_any(before, QUIET_MS);
	say("msi-shared unmapped irq=%s", quiet ? "none" : "yes");
	CHECK(quiet, "msi-shared: interrupt for a queue mapped to NO_VECTOR");

	/* Queue 0 -> vector 1. */
	mm_wr(d, VM_QUEUE_SEL, 0);
	mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, 1);
	before = irq_counts[VEC_MM_Q0];
	rng_request(d, c, sizeof(c));
	CHECK(irq_wait(VEC_MM_Q0, before + 1, IRQ_MS),
	      "msi-shared: no MSI on vector 1");
	say("msi-shared queue->1 irq=%s", irq_counts[VEC_MM_Q0] > before ? "ok" : "none");

	/* Queue 0 and config both -> vector 0. */
	mm_wr(d, VM_QUEUE_SEL, 0);
	mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, 0);
	mm_msi_cmd(d, MSI_CMD_MAP_CONFIG, 0);
	before = irq_counts[VEC_MM_CFG];
	v = irq_counts[VEC_MM_Q0];
	rng_request(d, c, sizeof(c));
	CHECK(irq_wait(VEC_MM_CFG, before + 1, IRQ_MS),
	      "msi-shared: no MSI on vector 0");
	CHECK(irq_counts[VEC_MM_Q0] == v, "msi-shared: vector 1 still used");
	say("msi-shared queue->0 irq=%s isr=0x%x", irq_counts[VEC_MM_CFG] > before ?
	    "ok" : "none", mm_rd(d, VM_INT_STATUS));
	CHECK(mm_rd(d, VM_INT_STATUS) == 0, "msi-shared: InterruptStatus set");

	/* Mask vector 0: held; unmask: delivered. */
	mm_msi_cmd(d, MSI_CMD_MASK, 0);
	before = irq_total();
	rng_request(d, c, sizeof(c));
	quiet = !irq_wait_any(before, QUIET_MS);
	before = irq_counts[VEC_MM_CFG];
	mm_msi_cmd(d, MSI_CMD_UNMASK, 0);
	irq_wait(VEC_MM_CFG, before + 1, IRQ_MS);
	say("msi-shared masked irq=%s unmask irq=%s", quiet ? "none" : "yes",
	    irq_counts[VEC_MM_CFG] > before ? "ok" : "none");
	CHECK(quiet && irq_counts[VEC_MM_CFG] > before, "msi-shared: mask/unmask");

	/* Config change on the shared vector. */
	before = irq_counts[VEC_MM_CFG];
	v = (u32)break_device(d);
	irq_wait(VEC_MM_CFG, before + 1, IRQ_MS);
	say("msi-shared config-irq=%s", irq_counts[VEC_MM_CFG] > before ? "ok" : "none");
	CHECK(v == VQ_BROKEN && irq_counts[VEC_MM_CFG] > before,
	      "msi-shared: no config MSI on the shared vector (%s)",
	      vq_wait_text((enum vq_wait_result)v));
	mm_reset(d);
	state = mm_rd(d, VM_MSI_STATE);
	say("msi-shared after-reset state=0x%x", state);
	CHECK(state == MSI_STATE_SHARING, "msi-shared: MsiState 0x%x after reset",
	      state);
out:
	mm_reset(d);
	gsi_listen(d, false);
	return;
nodev:
	bad("msi-shared: no usable device");
	gsi_listen(d, false);
}

/* ---- mmio-msi-invalid: every bad command is ignored (virtio-rng) */

static void case_msi_invalid(void)
{
	static const u32 bad_cmds[] = { 0, 8, 0x100, 0xffffffffu };
	static struct mmdev dev;
	static u8 c[8];
	struct mmdev *d = &dev;
	u32 nvec, state, before, i, gsi_before;
	bool sharing, quiet;

	if (!mm_open(d, VIRTIO_ID_RNG, BIT(VF_MMIO_NOTIFICATION) | BIT(VF_MMIO_MSI)))
		goto nodev;
	if (!(d->features & BIT(VF_MMIO_MSI))) {
		bad("msi-invalid: bit 40 not offered");
		goto out;
	}
	nvec = mm_rd(d, VM_MSI_VEC_NUM);
	sharing = mm_rd(d, VM_MSI_STATE) & MSI_STATE_SHARING;
	say("msi-invalid vecnum=%u sharing=%s", nvec, sharing ? "yes" : "no");
	if (!mm_queue(d, 0, 0, NULL) || !mm_driver_ok(d))
		goto nodev;

	/* Unknown commands, out-of-range vectors. */
	for (i = 0; i < ARRAY_SIZE(bad_cmds); i++)
		mm_msi_cmd(d, bad_cmds[i], 0);
	mm_msi_configure(d, nvec, VEC_MM_Q0);
	mm_msi_configure(d, 0x10000000u, VEC_MM_Q0);
	mm_msi_configure(d, MSI_NO_VECTOR, VEC_MM_Q0);
	mm_msi_cmd(d, MSI_CMD_MASK, nvec);
	mm_msi_cmd(d, MSI_CMD_UNMASK, MSI_NO_VECTOR);
	/* Odd widths of the MSI registers: ignored like every register. */
	mmio_write16(d->base + VM_MSI_CMD, MSI_CMD_ENABLE);
	mmio_write8(d->base + VM_MSI_VEC_SEL, 1);
	state = mm_rd(d, VM_MSI_STATE);
	CHECK(!(state & MSI_STATE_ENABLED), "msi-invalid: a 16-bit ENABLE took "
	      "effect (0x%x)", state);
	if (!sharing) {
		mm_wr(d, VM_QUEUE_SEL, 0);
		mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, 0);
		mm_msi_cmd(d, MSI_CMD_MAP_CONFIG, 1);
	} else {
		mm_wr(d, VM_QUEUE_SEL, 0);
		mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, nvec);
		mm_msi_cmd(d, MSI_CMD_MAP_CONFIG, 0x7fffffffu);
		mm_wr(d, VM_QUEUE_SEL, 5);
		mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, 1);
		mm_wr(d, VM_QUEUE_SEL, 0);
	}

	/* ENABLE with nothing configured: the request completes, nothing fires. */
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);
	mm_use_queue_notify(d);
	before = irq_total();
	CHECK(rng_request(d, c, sizeof(c)), "msi-invalid: no request with "
	      "unconfigured vectors");
	quiet = !irq_wait_any(before, QUIET_MS);
	say("msi-invalid unconfigured irq=%s", quiet ? "none" : "yes");
	CHECK(quiet, "msi-invalid: interrupt from an unconfigured vector");

	/* A vector configured with a strange address first, then properly. */
	mm_wr(d, VM_MSI_ADDR_LO, 0xfee00000u);
	mm_wr(d, VM_MSI_ADDR_HI, 0xdeadbeefu);
	mm_wr(d, VM_MSI_DATA, VEC_MM_Q0);
	mm_msi_cmd(d, MSI_CMD_CONFIGURE, 1);
	mm_msi_configure(d, 1, VEC_MM_Q0);
	if (sharing) {
		mm_wr(d, VM_QUEUE_SEL, 0);
		mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, 1);
	}
	gsi_before = irq_counts[gsi_vec(d)];
	before = irq_counts[VEC_MM_Q0];
	CHECK(rng_request(d, c, sizeof(c)), "msi-invalid: no request at the end");
	CHECK(irq_wait(VEC_MM_Q0, before + 1, IRQ_MS),
	      "msi-invalid: no MSI once configured properly");
	CHECK(irq_counts[gsi_vec(d)] == gsi_before, "msi-invalid: wired interrupt with "
	      "MSI enabled");
	say("msi-invalid final irq=%s vector=0x%x", irq_counts[VEC_MM_Q0] > before ?
	    "ok" : "none", VEC_MM_Q0);
out:
	mm_reset(d);
	gsi_listen(d, false);
	return;
nodev:
	bad("msi-invalid: no usable device");
	gsi_listen(d, false);
}

/* ---- mmio-msi-not-negotiated: offered, refused, plain virtio-mmio works */

static void case_msi_not_negotiated(void)
{
	static struct mmdev dev;
	static u8 c[8];
	struct mmdev *d = &dev;
	u32 before, v;

	if (!mm_find(d, VIRTIO_ID_RNG, cmdline))
		goto nodev;
	gsi_listen(d, true);
	if (!mm_start(d, 0, 1))
		goto nodev;
	v = mm_rd(d, VM_QUEUE_NOTIFY);
	say("not-negotiated offered=0x%lx features=0x%lx queue-notify=0x%x",
	    d->offered, d->features, v);
	CHECK((d->offered & BIT(VF_MMIO_NOTIFICATION)) &&
	      (d->offered & BIT(VF_MMIO_MSI)),
	      "not-negotiated: the extension is not offered (0x%lx)", d->offered);
	CHECK(d->features == BIT(VF_VERSION_1), "not-negotiated: features 0x%lx",
	      d->features);
	CHECK(v == 0, "not-negotiated: QueueNotify reads 0x%x", v);
	/* MSI commands from a driver that refused the MSI feature do nothing. */
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);
	v = mm_rd(d, VM_MSI_STATE);
	CHECK(v == 0, "not-negotiated: ENABLE took effect, MsiState 0x%x", v);
	before = irq_counts[gsi_vec(d)];
	CHECK(rng_request(d, c, sizeof(c)), "not-negotiated: no request");
	CHECK(irq_wait(gsi_vec(d), before + 1, IRQ_MS),
	      "not-negotiated: no wired interrupt");
	v = mm_rd(d, VM_INT_STATUS);
	say("not-negotiated irq=%s isr=0x%x after-ack=0x%x",
	    irq_counts[gsi_vec(d)] > before ? "ok" : "none", isr_last, v);
	CHECK(isr_last == VM_INT_VRING && v == 0,
	      "not-negotiated: InterruptStatus 0x%x, 0x%x after ACK", isr_last, v);
	mm_reset(d);
	gsi_listen(d, false);
	return;
nodev:
	bad("not-negotiated: no usable device");
	gsi_listen(d, false);
}

/* ---- ioevent-read: QueueNotify reads come from lkvm's read ioeventfd */

static void case_ioevent_read(void)
{
	static struct mmdev dev;
	static u8 c[8];
	struct mmdev *d = &dev;
	u32 v0, v1, v2, v3, w16;

	if (!mm_find(d, VIRTIO_ID_RNG, cmdline) || !mm_reset(d))
		goto nodev;
	mm_wr(d, VM_STATUS, VS_ACKNOWLEDGE | VS_DRIVER);
	v0 = mm_rd(d, VM_QUEUE_NOTIFY);
	mm_reset(d);
	if (!mm_negotiate(d, BIT(VF_MMIO_NOTIFICATION)))
		goto nodev;
	if (!(d->features & BIT(VF_MMIO_NOTIFICATION))) {
		bad("ioevent-read: bit 39 not offered (0x%lx)", d->offered);
		goto out;
	}
	v1 = mm_rd(d, VM_QUEUE_NOTIFY);
	v2 = mm_rd(d, VM_QUEUE_NOTIFY);
	w16 = mmio_read16(d->base + VM_QUEUE_NOTIFY);
	say("ioevent-read before-features=0x%x value=0x%x again=0x%x 16bit=0x%x",
	    v0, v1, v2, w16);
	CHECK(v0 == 0, "ioevent-read: QueueNotify 0x%x before negotiation", v0);
	CHECK(v1 == NOTIFY_INFO && v2 == NOTIFY_INFO,
	      "ioevent-read: QueueNotify reads 0x%x, 0x%x; expected 0x%x", v1, v2,
	      NOTIFY_INFO);
	if (!mm_queue(d, 0, 0, NULL) || !mm_driver_ok(d))
		goto nodev;
	mm_use_queue_notify(d);
	CHECK(rng_request(d, c, sizeof(c)), "ioevent-read: per-queue notify");
	/* Let lkvm drop the shared QueueNotify ioeventfds, then use it anyway. */
	delay_ms(20);
	d->notify[0] = d->base + VM_QUEUE_NOTIFY;
	CHECK(rng_request(d, c, sizeof(c)), "ioevent-read: late QueueNotify write");
	say("ioevent-read late-plain-notify=done");

	/* After a reset the register reads 0 again; a plain driver works. */
	if (!mm_start(d, 0, 1))
		goto nodev;
	v3 = mm_rd(d, VM_QUEUE_NOTIFY);
	CHECK(v3 == 0, "ioevent-read: QueueNotify 0x%x after a plain restart", v3);
	CHECK(rng_request(d, c, sizeof(c)), "ioevent-read: plain driver after reset");
	say("ioevent-read plain-restart queue-notify=0x%x request=done", v3);
	/* And a second extension-aware driver gets the value again. */
	if (!mm_start(d, BIT(VF_MMIO_NOTIFICATION), 1))
		goto nodev;
	v3 = mm_rd(d, VM_QUEUE_NOTIFY);
	CHECK(v3 == NOTIFY_INFO, "ioevent-read: 0x%x after the second start", v3);
	mm_use_queue_notify(d);
	CHECK(rng_request(d, c, sizeof(c)), "ioevent-read: second per-queue notify");
	delay_ms(20);
	say("ioevent-read second-driver value=0x%x", v3);
out:
	mm_reset(d);
	return;
nodev:
	bad("ioevent-read: no usable device");
}

/* ---- mmio-hostile: broken registers and rings on virtio-blk */

static struct mmdev hdev;

static bool good_read(void)
{
	return mm_start(&hdev, 0, 1) && blk_read0(&hdev, 0);
}

static void hostile_registers(void)
{
	static const u32 ro[] = { VM_MAGIC, VM_VERSION, VM_DEVICE_ID, VM_VENDOR_ID,
				  VM_QUEUE_NUM_MAX, VM_INT_STATUS, VM_CONFIG_GEN,
				  VM_MSI_VEC_NUM, VM_MSI_STATE };
	struct mmdev *d = &hdev;
	u32 before[ARRAY_SIZE(ro)], i, v, s;
	u64 cap = blk_capacity(d), desc;

	if (!good_read()) {
		bad("hostile: no good request to start with");
		return;
	}
	/* Read-only registers stay what they were. */
	for (i = 0; i < ARRAY_SIZE(ro); i++)
		before[i] = mm_rd(d, ro[i]);
	for (i = 0; i < ARRAY_SIZE(ro); i++)
		mm_wr(d, ro[i], 0xa5a5a5a5u);
	for (i = 0; i < ARRAY_SIZE(ro); i++)
		CHECK(mm_rd(d, ro[i]) == before[i], "hostile: register 0x%x changed "
		      "from 0x%x to 0x%x", ro[i], before[i], mm_rd(d, ro[i]));

	/* Odd widths and unaligned offsets: reads give 0, writes do nothing. */
	s = mm_rd(d, VM_STATUS);
	mmio_write8(d->base + VM_STATUS, 0);
	mmio_write16(d->base + VM_STATUS, 0);
	mmio_write64(d->base + VM_STATUS, 0);
	mmio_write32(d->base + VM_STATUS + 1, 0);
	mmio_write16(d->base + VM_QUEUE_SEL, 1);
	mmio_write64(d->base + VM_QUEUE_DESC_LO, 0x1000);
	v = mmio_read8(d->base + VM_MAGIC) | mmio_read16(d->base + VM_MAGIC + 2) |
	    mmio_read32(d->base + VM_MAGIC + 1) | (u32)mmio_read64(d->base + VM_MAGIC);
	say("hostile odd-width reads=0x%x status 0x%x -> 0x%x", v, s,
	    mm_rd(d, VM_STATUS));
	CHECK(v == 0, "hostile: odd-width reads of Magic gave 0x%x", v);
	CHECK(mm_rd(d, VM_STATUS) == s, "hostile: an odd-width write changed the "
	      "status to 0x%x", mm_rd(d, VM_STATUS));
	CHECK(blk_read0(d, 0), "hostile: no request after odd widths");

	/* Feature selectors out of range; a queue selector out of range. */
	mm_wr(d, VM_DEV_FEAT_SEL, 7);
	CHECK(mm_rd(d, VM_DEV_FEAT) == 0, "hostile: DeviceFeatures[7] = 0x%x",
	      mm_rd(d, VM_DEV_FEAT));
	mm_wr(d, VM_DRV_FEAT_SEL, 0xffffffffu);
	mm_wr(d, VM_DRV_FEAT, 0xffffffffu);
	mm_wr(d, VM_QUEUE_SEL, 200);
	CHECK(mm_rd(d, VM_QUEUE_NUM_MAX) == 0, "hostile: queue 200 has a size");
	mm_wr(d, VM_QUEUE_NUM, 8);
	set64(d, VM_QUEUE_DESC_LO, 0x1000);
	mm_wr(d, VM_QUEUE_READY, 1);
	CHECK(mm_rd(d, VM_QUEUE_READY) == 0, "hostile: queue 200 ready");
	/* Ring addresses of a live queue are frozen. */
	mm_wr(d, VM_QUEUE_SEL, 0);
	desc = mm_rd(d, VM_QUEUE_DESC_LO);
	mm_wr(d, VM_QUEUE_DESC_LO, 0x2000);
	mm_wr(d, VM_QUEUE_NUM, 4);
	CHECK(mm_rd(d, VM_QUEUE_DESC_LO) == desc,
	      "hostile: QueueDesc changed while ready");
	CHECK(blk_read0(d, 0), "hostile: no request after selector junk");

	/* Past the device config, the notify window, the end of the region. */
	for (i = VM_CONFIG + 0x100; i < 0x800; i += 0x1c0)
		v |= mm_rd(d, i);
	v |= mm_rd(d, 0x7fe & ~3u) | mm_rd(d, 0x800) | mm_rd(d, 0x900) |
	     mm_rd(d, (u32)d->size - 4);
	mm_wr(d, VM_CONFIG, 0xffffffffu);
	mm_wr(d, VM_CONFIG + 4, 0xffffffffu);
	mm_wr(d, 0x7fc, 0xffffffffu);
	mmio_write64(d->base + VM_CONFIG + 0x3c, ~0ULL);
	say("hostile past-config reads=0x%x capacity=%lu", v, blk_capacity(d));
	CHECK(v == 0, "hostile: reads past the config gave 0x%x", v);
	CHECK(blk_capacity(d) == cap, "hostile: capacity written");
	i = (u32)blk_io(d, 0, VBLK_T_IN, cap, iobuf, SECTOR);
	CHECK(i == VBLK_S_IOERR, "hostile: read past the image: status %d", (int)i);

	/* Notifications of absent queues, and MSI commands without the extension. */
	mm_wr(d, VM_QUEUE_NOTIFY, 99);
	mm_wr(d, VM_QUEUE_NOTIFY, 0xffffffffu);
	mm_wr(d, 0x800 + 4 * 99, 0);
	mm_wr(d, (u32)d->size - 4, 0);
	mm_msi_configure(d, 0, VEC_MM_Q0);
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);
	CHECK(blk_read0(d, 0), "hostile: no request after bad notifies");

	/* A feature that was not offered: no FEATURES_OK. DRIVER_OK without it. */
	mm_reset(d);
	mm_wr(d, VM_STATUS, VS_ACKNOWLEDGE | VS_DRIVER);
	mm_wr(d, VM_DRV_FEAT_SEL, 1);
	mm_wr(d, VM_DRV_FEAT, 1u | 1u << (55 - 32));
	mm_wr(d, VM_DRV_FEAT_SEL, 0);
	mm_wr(d, VM_DRV_FEAT, 0);
	mm_wr(d, VM_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK);
	s = mm_rd(d, VM_STATUS);
	mm_wr(d, VM_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_DRIVER_OK);
	v = mm_rd(d, VM_STATUS);
	say("hostile unoffered-feature status=0x%x driver-ok-alone=0x%x", s, v);
	CHECK(!(s & VS_FEATURES_OK), "hostile: FEATURES_OK with bit 55");
	CHECK(!(v & VS_DRIVER_OK), "hostile: DRIVER_OK without FEATURES_OK");
	mm_wr(d, VM_QUEUE_NOTIFY, 0);
	CHECK(good_read(), "hostile: no request after bad negotiation");

	/* Reset with requests in flight. */
	for (i = 0; i < 8; i++)
		blk_submit(d, 0, VBLK_T_IN, 0, iobuf2, SECTOR, false);
	mm_kick(d, 0);
	CHECK(mm_reset(d), "hostile: reset with requests in flight");
	CHECK(good_read(), "hostile: no request after a reset in flight");
	say("hostile registers done");
}

enum { HQ_POW2, HQ_TOO_BIG, HQ_HUGE, HQ_OUTSIDE, HQ_GARBAGE, HQ_MISALIGNED,
       HR_LOOP, HR_OUTSIDE, HR_HEAD, HR_AVAIL_JUMP, H_NUM };
static const char *const hnames[H_NUM] = {
	"queue-size-3", "queue-num-over-max", "queue-num-65536", "ring-outside-ram",
	"ring-garbage-address", "ring-misaligned", "desc-loop", "desc-outside-ram",
	"head-range", "avail-idx-jump",
};

/* Queue set-up with hostile values; NULL if the queue came up (rings next). */
static const char *hostile_queue(u32 k)
{
	struct mmdev *d = &hdev;
	u64 outside = ram_end_below_4g() + (16u << 20);
	u64 mem = (u64)(uintptr_t)ring_mem[0];
	u64 desc = mem, avail = mem + RING_AVAIL_OFF, used = mem + RING_USED_OFF;
	u32 num = 8, max;

	if (!mm_reset(d) || !mm_negotiate(d, 0))
		return "setup-failed";
	mm_wr(d, VM_QUEUE_SEL, 0);
	max = mm_rd(d, VM_QUEUE_NUM_MAX);
	switch (k) {
	case HQ_POW2:
		num = 3;
		break;
	case HQ_TOO_BIG:
		num = max * 2;
		break;
	case HQ_HUGE:
		num = 0x10000;
		break;
	case HQ_OUTSIDE:
		desc = outside;
		break;
	case HQ_GARBAGE:
		desc = 0xfffffffffffff000ULL;
		used = 0x8000000000000000ULL;
		break;
	case HQ_MISALIGNED:
		desc = mem + 8;
		used = mem + RING_USED_OFF + 2;
		break;
	default:
		if (!mm_queue(d, 0, 8, NULL))
			return "refused";
		return mm_driver_ok(d) ? NULL : "refused";
	}
	mm_wr(d, VM_QUEUE_NUM, num);
	set64(d, VM_QUEUE_DESC_LO, desc);
	set64(d, VM_QUEUE_AVAIL_LO, avail);
	set64(d, VM_QUEUE_USED_LO, used);
	mm_wr(d, VM_QUEUE_READY, 1);
	if (!mm_rd(d, VM_QUEUE_READY) || (mm_rd(d, VM_STATUS) & VS_NEEDS_RESET))
		return "refused";
	return "accepted";
}

/* Set descriptor @i of queue 0. */
static void hdesc(u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	volatile struct vring_desc *t = &hdev.q[0].vq.desc[i];

	t->addr = addr;
	t->len = len;
	t->flags = flags;
	t->next = next;
}

/*
 * A read of sector 0 in descriptors 0-2, broken as @k says, published
 * only once complete: the device may look at the ring at any time (the
 * DRIVER_OK kick), so nothing is changed after publishing.
 */
static const char *hostile_ring(u32 k)
{
	struct mmdev *d = &hdev;
	struct vq *q = &d->q[0].vq;
	enum vq_wait_result r;
	u32 i;

	blk_hdr[0] = (struct blk_hdr){ VBLK_T_IN, 0, 0 };
	blk_status[0] = 0xff;
	hdesc(0, (u64)(uintptr_t)&blk_hdr[0], sizeof(blk_hdr[0]), VRING_DESC_F_NEXT, 1);
	hdesc(1, (u64)(uintptr_t)iobuf, SECTOR,
	      VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	hdesc(2, (u64)(uintptr_t)&blk_status[0], 1, VRING_DESC_F_WRITE, 0);
	switch (k) {
	case HR_LOOP:
		q->desc[2].flags |= VRING_DESC_F_NEXT;
		q->desc[2].next = 0;
		break;
	case HR_OUTSIDE:
		q->desc[1].addr = ram_end_below_4g() + (16u << 20);
		break;
	case HR_HEAD:
		vq_publish(&d->q[0], (u16)(q->size + 3));
		goto kick;
	case HR_AVAIL_JUMP:
		/* more new entries than the ring holds */
		for (i = 0; i < q->size; i++)
			q->avail->ring[i] = 0;
		q->avail_idx = (u16)(q->size + 1);
		barrier();
		q->avail->idx = q->avail_idx;
		goto kick;
	}
	vq_publish(&d->q[0], 0);
kick:
	mm_kick(d, 0);
	r = mm_wait(d, 0, HOSTILE_MS, NULL, NULL);
	if (r == VQ_BROKEN || (mm_rd(d, VM_STATUS) & VS_NEEDS_RESET))
		return "needs-reset";
	if (r == VQ_TIMEOUT)
		return "ignored";
	return blk_status[0] == VBLK_S_OK ? "completed" : "failed";
}

static void case_hostile(void)
{
	u32 k;

	if (!mm_find(&hdev, VIRTIO_ID_BLK, cmdline)) {
		bad("hostile: no usable device");
		return;
	}
	hostile_registers();
	for (k = 0; k < H_NUM; k++) {
		const char *o = hostile_queue(k);
		bool ok, rec;

		if (!o)
			o = hostile_ring(k);
		ok = !strcmp(o, "needs-reset") || !strcmp(o, "failed") ||
		     !strcmp(o, "refused");
		rec = good_read();
		say("hostile %s=%s recovered=%s", hnames[k], o, rec ? "yes" : "no");
		CHECK(ok, "hostile %s: %s", hnames[k], o);
		CHECK(rec, "hostile %s: no good request afterwards", hnames[k]);
	}
	mm_reset(&hdev);
}

/* ---- dispatch */

void vmmio_action(const char *act, const struct acpi_info *ai, const char *cl)
{
	static const struct guest_case cases[] = {
		{ "mmio-plain", case_plain },
		{ "mmio-plain-blk", case_plain_blk },
		{ "mmio-msi-fixed", case_msi_fixed },
		{ "mmio-msi-shared", case_msi_shared },
		{ "mmio-msi-invalid", case_msi_invalid },
		{ "mmio-msi-not-negotiated", case_msi_not_negotiated },
		{ "mmio-hostile", case_hostile },
		{ "ioevent-read", case_ioevent_read },
	};

	acpi = ai;
	cmdline = cl;
	nbad = 0;
	say("%s", act);
	apic_setup();
	if (!strcmp(act, "bench-notify")) {
		bench_action(act, ai, cl);
		return;
	}
	dev_irq_hook = mm_irq;
	case_run(act, cases, ARRAY_SIZE(cases));
	dev_irq_hook = NULL;
	case_result(act);
}
