// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal virtio-pci driver for modern (VERSION_1) devices, written from
 * the virtio 1.x specification: section 4.1 (PCI transport: vendor
 * capabilities, common configuration, notifications, ISR, MSI-X) and 2.7
 * (split virtqueues).  One queue (queue 0), one request in flight at a
 * time, polling by default; the test actions in vtest.c add interrupts.
 */
#include "vpci.h"

/* Polls of the used ring between two looks at the clock and the status. */
#define POLL_BATCH	64
#define RESET_MS	1000

static u8 ring_mem[RING_AREA] __attribute__((aligned(4096)));
/* Indirect descriptor tables, one per request in flight (we have one). */
static struct vring_desc indirect_table[VQ_MAX] __attribute__((aligned(16)));

static u64 cfg_addr(struct vdev *d, u32 off)
{
	return d->common + off;
}

void common_w8(struct vdev *d, u32 off, u8 v)
{
	mmio_write8(cfg_addr(d, off), v);
}

void common_w16(struct vdev *d, u32 off, u16 v)
{
	mmio_write16(cfg_addr(d, off), v);
}

void common_w32(struct vdev *d, u32 off, u32 v)
{
	mmio_write32(cfg_addr(d, off), v);
}

/* 64-bit fields as two 32-bit halves, low first (4.1.3.1 allows it). */
static void common_w64(struct vdev *d, u32 off, u64 v)
{
	mmio_write32(cfg_addr(d, off), (u32)v);
	mmio_write32(cfg_addr(d, off + 4), (u32)(v >> 32));
}

u8 common_r8(struct vdev *d, u32 off)
{
	return mmio_read8(cfg_addr(d, off));
}

u16 common_r16(struct vdev *d, u32 off)
{
	return mmio_read16(cfg_addr(d, off));
}

u32 common_r32(struct vdev *d, u32 off)
{
	return mmio_read32(cfg_addr(d, off));
}

/*
 * Read one vendor capability: BAR, offset and length, checked against
 * the BAR, which is made usable on the way.  Returns the address, 0 if
 * unusable.
 */
static u64 vcap_map(struct vdev *d, u8 cap, u32 *len,
		    const struct acpi_info *ai)
{
	u32 bdf = d->pci.bdf;
	u8 bar = (u8)pci_read(bdf, cap + 4, 1);
	u32 off = pci_read(bdf, cap + 8, 4);
	u64 base;

	*len = pci_read(bdf, cap + 12, 4);
	if (bar > 5) {
		say("vpci cap@0x%x: bar %u", cap, bar);
		return 0;
	}
	base = pci_bar_ensure(&d->pci, bar, ai);
	if (!base)
		return 0;
	if ((u64)off + *len > d->pci.bar_size[bar]) {
		say("vpci cap@0x%x: 0x%x+0x%x outside bar%u (0x%lx bytes)", cap,
		    off, *len, bar, d->pci.bar_size[bar]);
		return 0;
	}
	return base + off;
}

/*
 * Cross-check config space through the ECAM window of the MCFG, when
 * there is one: the same vendor/device and the same capability pointer.
 */
static void ecam_check(struct vdev *d, const struct acpi_info *ai)
{
	u64 f;
	u32 dev = (d->pci.bdf >> 3) & 31, fn = d->pci.bdf & 7;

	if (!ai->mcfg_base || ai->mcfg_bus_start != 0) {
		say("vpci ecam=none");
		return;
	}
	f = ai->mcfg_base + ((u64)dev << 15 | (u64)fn << 12);
	if (!phys_ok(f, 4096)) {
		say("vpci ecam=unreachable");
		return;
	}
	if (mmio_read32(f) == pci_read(d->pci.bdf, 0, 4) &&
	    mmio_read8(f + PCI_CAP_PTR) == (u8)pci_read(d->pci.bdf, PCI_CAP_PTR, 1))
		say("vpci ecam=match");
	else
		say("vpci ecam=mismatch id=0x%x/0x%x", mmio_read32(f),
		    pci_read(d->pci.bdf, 0, 4));
}

bool vpci_find(struct vdev *d, u16 id, const struct acpi_info *ai)
{
	u32 bdf, len;
	u8 cap = 0, type;
	u32 n;

	memset(d, 0, sizeof(*d));
	d->id = id;
	if (!pci_find(VIRTIO_VENDOR, VIRTIO_PCI_DEV(id), &d->pci)) {
		say("vpci device 0x%x not found", VIRTIO_PCI_DEV(id));
		return false;
	}
	bdf = d->pci.bdf;
	d->irq_line = (u8)pci_read(bdf, PCI_INT_LINE, 1);
	d->irq_pin = (u8)pci_read(bdf, PCI_INT_PIN, 1);

	/* The first capability of each type is the one to use (4.1.4). */
	for (n = 0; n < 48; n++) {
		cap = pci_cap_next(bdf, PCI_CAP_VENDOR, cap);
		if (!cap)
			break;
		type = (u8)pci_read(bdf, cap + 3, 1);
		switch (type) {
		case VCAP_COMMON:
			if (!d->common)
				d->common = vcap_map(d, cap, &len, ai);
			break;
		case VCAP_NOTIFY:
			if (!d->notify) {
				d->notify = vcap_map(d, cap, &len, ai);
				d->notify_mult = pci_read(bdf, cap + 16, 4);
			}
			break;
		case VCAP_ISR:
			if (!d->isr)
				d->isr = vcap_map(d, cap, &len, ai);
			break;
		case VCAP_DEVICE:
			if (!d->devcfg) {
				d->devcfg = vcap_map(d, cap, &len, ai);
				d->devcfg_len = len;
			}
			break;
		default:
			break;
		}
	}

	cap = pci_cap_next(bdf, PCI_CAP_MSIX, 0);
	if (cap) {
		u16 ctl = (u16)pci_read(bdf, cap + 2, 2);
		u32 tbl = pci_read(bdf, cap + 4, 4);
		u32 pba = pci_read(bdf, cap + 8, 4);
		u64 tb = pci_bar_ensure(&d->pci, tbl & 7, ai);
		u64 pb = pci_bar_ensure(&d->pci, pba & 7, ai);

		d->msix_cap = cap;
		d->msix_nr = (ctl & 0x7ff) + 1;
		if (tb && pb) {
			d->msix_table = tb + (tbl & ~7u);
			d->msix_pba = pb + (pba & ~7u);
		}
	}

	say("vpci dev=0x%x at 00:%x.%x line=%u pin=%u msix=%u", d->pci.device,
	    (bdf >> 3) & 31, bdf & 7, d->irq_line, d->irq_pin, d->msix_nr);
	say("vpci common=0x%lx notify=0x%lx mult=%u isr=0x%lx devcfg=0x%lx/%u",
	    d->common, d->notify, d->notify_mult, d->isr, d->devcfg,
	    d->devcfg_len);
	if (d->msix_nr)
		say("vpci msix table=0x%lx pba=0x%lx", d->msix_table, d->msix_pba);
	ecam_check(d, ai);
	if (!d->common || !d->notify || !d->isr) {
		say("vpci-error common, notify or ISR capability missing");
		return false;
	}
	if (d->msix_nr && !d->msix_table) {
		say("vpci-error MSI-X table or PBA unusable");
		return false;
	}
	return true;
}

u8 vdev_status(struct vdev *d)
{
	return common_r8(d, VC_STATUS);
}

/* Writing 0 resets; the device is back once the status reads 0 (4.1.4.3.2). */
bool vdev_reset(struct vdev *d)
{
	u8 s;

	common_w8(d, VC_STATUS, 0);
	deadline_set(RESET_MS);
	while ((s = vdev_status(d)) != 0 && !deadline_passed())
		cpu_relax();
	deadline_clear();
	if (s) {
		say("vpci-error reset: status stays 0x%x", s);
		return false;
	}
	return true;
}

static u32 vf_status(const struct vfeat_regs *r)
{
	return r->status8 ? mmio_read8(r->status) : mmio_read32(r->status);
}

static void vf_set_status(const struct vfeat_regs *r, u32 s)
{
	if (r->status8)
		mmio_write8(r->status, (u8)s);
	else
		mmio_write32(r->status, s);
}

u64 virtio_offered(const struct vfeat_regs *r)
{
	u64 f;

	mmio_write32(r->dev_sel, 0);
	f = mmio_read32(r->dev_feat);
	mmio_write32(r->dev_sel, 1);
	return f | (u64)mmio_read32(r->dev_feat) << 32;
}

bool virtio_negotiate(const struct vfeat_regs *r, u64 want, u64 *offered,
		      u64 *features, const char *err)
{
	u64 accept;
	u32 s;

	vf_set_status(r, VS_ACKNOWLEDGE);
	vf_set_status(r, VS_ACKNOWLEDGE | VS_DRIVER);
	*offered = virtio_offered(r);
	if (!(*offered & BIT(VF_VERSION_1))) {
		say("%s VERSION_1 not offered (0x%lx)", err, *offered);
		return false;
	}
	accept = *offered & (want | BIT(VF_VERSION_1));
	mmio_write32(r->drv_sel, 0);
	mmio_write32(r->drv_feat, (u32)accept);
	mmio_write32(r->drv_sel, 1);
	mmio_write32(r->drv_feat, (u32)(accept >> 32));
	vf_set_status(r, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK);
	s = vf_status(r);
	if (!(s & VS_FEATURES_OK)) {
		say("%s FEATURES_OK did not stick (status 0x%x, features 0x%lx)", err,
		    s, accept);
		return false;
	}
	*features = accept;
	return true;
}

bool vdev_negotiate(struct vdev *d, u64 want)
{
	const struct vfeat_regs r = {
		.status = cfg_addr(d, VC_STATUS), .status8 = true,
		.dev_sel = cfg_addr(d, VC_DFSELECT), .dev_feat = cfg_addr(d, VC_DF),
		.drv_sel = cfg_addr(d, VC_GFSELECT), .drv_feat = cfg_addr(d, VC_GF),
	};
	bool ok = virtio_negotiate(&r, want, &d->offered, &d->features,
				   "vpci-error features:");

	d->num_queues = common_r16(d, VC_NUM_QUEUES);
	return ok;
}

struct vq_layout vq_place(struct vq *q, u8 *mem, u16 size, u32 max,
			  const struct vq_layout *lay)
{
	struct vq_layout at = {
		.desc = (u64)(uintptr_t)mem,
		.avail = (u64)(uintptr_t)mem + RING_AVAIL_OFF,
		.used = (u64)(uintptr_t)mem + RING_USED_OFF,
	};

	if (!size)
		size = max < VQ_MAX ? (u16)max : VQ_MAX;
	if (size > VQ_MAX)
		size = VQ_MAX;
	memset(mem, 0, RING_AREA);
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->desc = phys(at.desc);
	q->avail = phys(at.avail);
	q->used = phys(at.used);
	if (lay && lay->desc)
		at.desc = lay->desc;
	if (lay && lay->avail)
		at.avail = lay->avail;
	if (lay && lay->used)
		at.used = lay->used;
	return at;
}

bool vq_setup(struct vdev *d, u16 size, u16 vec, const struct vq_layout *lay)
{
	struct vq *q = &d->vq;
	struct vq_layout at;
	u16 max, v;

	common_w16(d, VC_Q_SELECT, 0);
	max = common_r16(d, VC_Q_SIZE);
	if (!max) {
		say("vpci-error queue0: size 0 (not available)");
		return false;
	}
	if (common_r16(d, VC_Q_ENABLE)) {
		say("vpci-error queue0: enabled after reset");
		return false;
	}
	at = vq_place(q, ring_mem, size, max, lay);
	common_w16(d, VC_Q_SIZE, q->size);

	common_w16(d, VC_Q_MSIX, vec);
	if (vec != VIRTIO_NO_VECTOR) {
		v = common_r16(d, VC_Q_MSIX);
		if (v != vec) {
			say("vpci-error queue0: msix vector %u reads back 0x%x", vec, v);
			return false;
		}
	}
	common_w64(d, VC_Q_DESC, at.desc);
	common_w64(d, VC_Q_DRIVER, at.avail);
	common_w64(d, VC_Q_DEVICE, at.used);
	q->notify_off = common_r16(d, VC_Q_NOTIFY_OFF);
	q->notify_addr = d->notify + (u64)q->notify_off * d->notify_mult;
	common_w16(d, VC_Q_ENABLE, 1);
	return true;
}

bool vdev_driver_ok(struct vdev *d)
{
	u8 s;

	common_w8(d, VC_STATUS, VS_ACKNOWLEDGE | VS_DRIVER | VS_FEATURES_OK |
				VS_DRIVER_OK);
	s = vdev_status(d);
	if ((s & (VS_NEEDS_RESET | VS_FAILED)) || !(s & VS_DRIVER_OK)) {
		say("vpci-error driver-ok: status 0x%x", s);
		return false;
	}
	return true;
}

bool vdev_start(struct vdev *d, u64 want, u16 cfg_vec, u16 q_vec)
{
	u16 v;

	if (!vdev_reset(d) || !vdev_negotiate(d, want))
		return false;
	common_w16(d, VC_MSIX_CONFIG, cfg_vec);
	if (cfg_vec != VIRTIO_NO_VECTOR) {
		v = common_r16(d, VC_MSIX_CONFIG);
		if (v != cfg_vec) {
			say("vpci-error msix: config vector %u reads back 0x%x", cfg_vec, v);
			return false;
		}
	}
	if (!vq_setup(d, 0, q_vec, NULL))
		return false;
	if (!common_r16(d, VC_Q_ENABLE)) {
		say("vpci-error queue0: queue_enable reads 0");
		return false;
	}
	return vdev_driver_ok(d);
}

void vq_publish(struct vdev *d, u16 head)
{
	struct vq *q = &d->vq;

	q->avail->ring[q->avail_idx % q->size] = head;
	barrier();		/* x86 keeps stores in order; the compiler must too */
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
}

u16 vq_add(struct vdev *d, const struct vseg *seg, u32 nseg, bool indirect)
{
	struct vq *q = &d->vq;
	volatile struct vring_desc *t;
	u16 head = q->next_desc, idx;
	u32 i;

	if (indirect) {
		for (i = 0; i < nseg && i < VQ_MAX; i++) {
			indirect_table[i].addr = seg[i].addr;
			indirect_table[i].len = seg[i].len;
			indirect_table[i].flags =
				(seg[i].write ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < nseg ? VRING_DESC_F_NEXT : 0);
			indirect_table[i].next = (u16)(i + 1);
		}
		t = &q->desc[head];
		t->addr = (u64)(uintptr_t)indirect_table;
		t->len = nseg * sizeof(struct vring_desc);
		t->flags = VRING_DESC_F_INDIRECT;
		t->next = 0;
		q->next_desc = (u16)((head + 1) % q->size);
	} else {
		idx = head;
		for (i = 0; i < nseg; i++) {
			u16 next = (u16)((idx + 1) % q->size);

			t = &q->desc[idx];
			t->addr = seg[i].addr;
			t->len = seg[i].len;
			t->flags = (seg[i].write ? VRING_DESC_F_WRITE : 0) |
				   (i + 1 < nseg ? VRING_DESC_F_NEXT : 0);
			t->next = next;
			idx = next;
		}
		q->next_desc = idx;
	}
	vq_publish(d, head);
	return head;
}

/* Without NOTIFICATION_DATA the driver writes the queue index (4.1.5.2). */
void vq_kick(struct vdev *d)
{
	mb();
	mmio_write16(d->vq.notify_addr, 0);
}

bool vq_used_ready(const struct vq *q)
{
	barrier();
	return q->used->idx != q->used_idx;
}

enum vq_wait_result vq_poll(struct vq *q, u32 ms, u32 *id, u32 *len,
			    bool (*broken)(void *ctx), void *ctx)
{
	enum vq_wait_result r = VQ_TIMEOUT;
	u32 n = 0;

	deadline_set(ms);
	for (;;) {
		if (vq_used_ready(q)) {
			volatile struct vring_used_elem *e;

			e = &q->used->ring[q->used_idx % q->size];
			if (id)
				*id = e->id;
			if (len)
				*len = e->len;
			q->used_idx++;
			r = VQ_DONE;
			break;
		}
		if (++n % POLL_BATCH == 0) {
			if (broken(ctx)) {
				r = VQ_BROKEN;
				break;
			}
			if (deadline_passed())
				break;
		}
		cpu_relax();
	}
	deadline_clear();
	return r;
}

static bool vdev_broken(void *ctx)
{
	return vdev_status(ctx) & VS_NEEDS_RESET;
}

enum vq_wait_result vq_wait(struct vdev *d, u32 ms, u32 *id, u32 *len)
{
	return vq_poll(&d->vq, ms, id, len, vdev_broken, d);
}

const char *vq_wait_text(enum vq_wait_result r)
{
	return r == VQ_DONE ? "done" : r == VQ_BROKEN ? "needs-reset" : "timeout";
}

/* The image run.sh makes: this 15-byte string over and over. */
static const char disk_pattern[] = "lkvm-test-disk\n";
#define DISK_PATTERN_LEN 15

bool disk_pattern_ok(const u8 *buf, u64 sector)
{
	u64 off = sector * SECTOR;
	u32 i;

	for (i = 0; i < SECTOR; i++)
		if (buf[i] != (u8)disk_pattern[(off + i) % DISK_PATTERN_LEN])
			return false;
	return true;
}

bool rng_fill(bool (*req)(void *ctx, u8 *buf, u32 len, u32 *used), void *ctx,
	      u8 *buf, u32 want)
{
	u32 got = 0, len, n;

	for (n = 0; got < want && n < 16; n++) {
		if (!req(ctx, buf + got, want - got, &len))
			return false;
		if (!len || len > want - got) {
			bad("rng used len %u for a %u-byte buffer", len, want - got);
			return false;
		}
		got += len;
	}
	CHECK(got == want, "rng: %u bytes after %u requests", got, n);
	return got == want;
}

bool all_zero(const u8 *p, u32 n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* ---- MSI-X (PCI 3.0, 6.8.2): table entries of 16 bytes, then the PBA */

#define MSIX_CTL_ENABLE		0x8000
#define MSIX_CTL_FMASK		0x4000
#define MSIX_ENTRY(d, v)	((d)->msix_table + 16u * (v))

void msix_enable(struct vdev *d, bool on)
{
	u16 ctl = (u16)pci_read(d->pci.bdf, d->msix_cap + 2, 2);

	ctl &= ~(MSIX_CTL_ENABLE | MSIX_CTL_FMASK);
	if (on)
		ctl |= MSIX_CTL_ENABLE;
	pci_write(d->pci.bdf, d->msix_cap + 2, ctl, 2);
}

/* Fixed delivery, edge, physical destination: the BSP (APIC id 0). */
void msix_set(struct vdev *d, u16 v, u8 vector, bool masked)
{
	u64 e = MSIX_ENTRY(d, v);

	mmio_write32(e + 12, 1);
	mmio_write32(e + 0, 0xfee00000u);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector);
	mmio_write32(e + 12, masked ? 1 : 0);
}

void msix_mask(struct vdev *d, u16 v, bool masked)
{
	mmio_write32(MSIX_ENTRY(d, v) + 12, masked ? 1 : 0);
}

bool msix_pending(struct vdev *d, u16 v)
{
	return (mmio_read32(d->msix_pba + 4u * (v / 32)) >> (v % 32)) & 1;
}

/* ---- device-specific configuration */

u8 dcfg_read8(struct vdev *d, u32 off)
{
	return mmio_read8(d->devcfg + off);
}

u32 dcfg_read32(struct vdev *d, u32 off)
{
	return mmio_read32(d->devcfg + off);
}

/* Two halves: retry until config_generation is stable (4.1.4.3.1). */
u64 dcfg_read64(struct vdev *d, u32 off)
{
	u32 lo, hi, n;
	u8 gen;

	for (n = 0; n < 8; n++) {
		gen = common_r8(d, VC_CFG_GEN);
		lo = mmio_read32(d->devcfg + off);
		hi = mmio_read32(d->devcfg + off + 4);
		if (common_r8(d, VC_CFG_GEN) == gen)
			break;
	}
	return (u64)hi << 32 | lo;
}
