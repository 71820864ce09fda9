// SPDX-License-Identifier: GPL-2.0
/*
 * lkvmtest.action=bench-notify: request round trips per second through one
 * virtio device (virtio-rng, 1-byte requests, or virtio-blk, 512-byte
 * reads of sector 0), one request in flight: each costs one notification
 * and one completion interrupt. The guest waits for the interrupt in hlt,
 * as an idle guest would. Modes, on whatever transport the VM has:
 *
 *   mmio       plain virtio-mmio: QueueNotify write, wired level GSI; the
 *              handler reads InterruptStatus and writes InterruptACK
 *   mmio-msi   the extension (needs --virtio-mmio-msi): MSI vector 1 and
 *              the per-queue notify address; the handler only EOIs
 *   pci        virtio-pci: notify capability write, MSI-X vector 1
 *
 * Parameters: lkvmtest.n=<requests> (default 1000), lkvmtest.dev=rng|blk,
 * lkvmtest.modes=<mode>,... run in that order (default: every mode the
 * transport has; "none" runs nothing, a baseline for counting exits).
 * Time comes from the TSC, calibrated against the LAPIC timer (KVM's APIC
 * bus runs at 1 GHz). One line per mode:
 *
 *   bench mode=<m> dev=<d> n=<n> us=<elapsed> per-s=<round trips/s>
 *         irqs=<counted> extra-irqs=<deliveries with nothing pending>
 */
#include "vmmio.h"

#define VEC_B_CFG	0x42
#define VEC_B_Q		0x43
#define VEC_B_GSI_BASE	0x48
#define IOAPIC_LEVEL	(1u << 15)
#define IOAPIC_MASKED	(1u << 16)
#define WATCHDOG_S	30

static const char *cmdline;

static volatile u32 b_irqs, b_extra;
static struct mmdev *b_wired;	/* plain mmio: the device behind the GSI */

static void bench_irq(u32 vector)
{
	if (b_wired && vector == VEC_B_GSI_BASE + b_wired->gsi) {
		u32 s = mm_rd(b_wired, VM_INT_STATUS);

		if (s) {
			mm_wr(b_wired, VM_INT_ACK, s);
			b_irqs++;
		} else {
			b_extra++;
		}
	} else if (vector == VEC_B_Q) {
		b_irqs++;
	} else {
		b_extra++;
	}
	lapic_write(LAPIC_EOI, 0);
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (u64)hi << 32 | lo;
}

/*
 * TSC ticks per second against the LAPIC timer (1 count = 1 ns): five
 * windows of 20 ms, each LAPIC read bracketed by TSC reads (a read is an
 * exit that a busy host may stretch), the median of the five.
 */
static u64 tsc_window(void)
{
	u64 a0, a1, b0, b1;
	u32 c0, c1;

	a0 = rdtsc();
	c0 = lapic_read(LAPIC_TIMER_CUR);
	a1 = rdtsc();
	do {
		b0 = rdtsc();
		c1 = lapic_read(LAPIC_TIMER_CUR);
		b1 = rdtsc();
	} while (c0 - c1 < 20000000u);
	return ((b0 + b1) / 2 - (a0 + a1) / 2) * 1000000000ULL / (c0 - c1);
}

static u64 tsc_hz(void)
{
	u64 w[5], t;
	u32 i, j;

	lapic_write(LAPIC_TIMER_DIV, 0xb);
	lapic_write(LAPIC_LVT_TIMER, 1u << 16 | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	for (i = 0; i < 5; i++)
		w[i] = tsc_window();
	lapic_write(LAPIC_TIMER_INIT, 0);
	for (i = 1; i < 5; i++)
		for (j = i; j > 0 && w[j - 1] > w[j]; j--) {
			t = w[j];
			w[j] = w[j - 1];
			w[j - 1] = t;
		}
	return w[2];
}

/* One-shot, divide by 128: a long watchdog for a whole mode. */
static void watchdog(bool on)
{
	timer_fired = 0;
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (!on)
		return;
	lapic_write(LAPIC_TIMER_DIV, 0xa);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, WATCHDOG_S * (1000000000u / 128));
}

static bool param(const char *name, char *out, u32 outsz)
{
	const char *p = cmdline;
	u32 n = strlen(name), k;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, name, n) && p[n] == '=') {
			p += n + 1;
			for (k = 0; k + 1 < outsz && p[k] && p[k] != ' '; k++)
				out[k] = p[k];
			out[k] = '\0';
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/* ---- one request: rng (1 byte) or blk (read sector 0) */

static bool use_blk;
static u8 rng_byte[64] __attribute__((aligned(64)));
static struct {
	u32 type, reserved;
	u64 sector;
} bhdr __attribute__((aligned(16)));
static u8 bbuf[512] __attribute__((aligned(512)));
static volatile u8 bstatus;

static u32 make_request(struct vseg *seg)
{
	if (!use_blk) {
		seg[0] = (struct vseg){ (u64)(uintptr_t)rng_byte, 1, true };
		return 1;
	}
	bhdr.type = 0;
	bhdr.reserved = 0;
	bhdr.sector = 0;
	seg[0] = (struct vseg){ (u64)(uintptr_t)&bhdr, sizeof(bhdr), false };
	seg[1] = (struct vseg){ (u64)(uintptr_t)bbuf, sizeof(bbuf), true };
	seg[2] = (struct vseg){ (u64)(uintptr_t)&bstatus, 1, true };
	return 3;
}

/* The used entry is there once the interrupt is (the device writes it first). */
static bool take_used(struct vq *q)
{
	u32 n;

	for (n = 0; n < 1000000 && q->used->idx == q->used_idx; n++)
		cpu_relax();
	if (q->used->idx == q->used_idx)
		return false;
	q->used_idx++;
	return true;
}

struct transport {
	struct vdev *ring;	/* the queue's ring state */
	struct mmdev *mm;	/* virtio-mmio, or NULL for virtio-pci */
};

static void kick(struct transport *t)
{
	if (t->mm)
		mm_kick(t->mm, 0);
	else
		vq_kick(t->ring);
}

/* @n round trips; returns the elapsed TSC ticks, 0 on a failure. */
static u64 run(struct transport *t, u32 n, const char *mode)
{
	struct vseg seg[3];
	u32 i, nseg = make_request(seg), want;
	u64 t0, t1;

	b_irqs = b_extra = 0;
	watchdog(true);
	t0 = rdtsc();
	for (i = 0; i < n; i++) {
		vq_add(t->ring, seg, nseg, false);
		kick(t);
		want = i + 1;
		while (b_irqs < want && !timer_fired)
			asm volatile("sti; hlt; cli" : : : "memory");
		if (timer_fired || !take_used(&t->ring->vq)) {
			say("bench mode=%s failed at request %u (irqs=%u timer=%u)",
			    mode, i, b_irqs, timer_fired);
			watchdog(false);
			return 0;
		}
	}
	t1 = rdtsc();
	watchdog(false);
	/* let late duplicates show up in extra-irqs */
	asm volatile("sti; nop; nop; nop; cli" : : : "memory");
	return t1 - t0;
}

static void report(const char *mode, u32 n, u64 ticks, u64 hz)
{
	u64 us = ticks * 1000000ULL / hz;

	if (!ticks)
		return;
	say("bench mode=%s dev=%s n=%u us=%lu per-s=%lu irqs=%u extra-irqs=%u",
	    mode, use_blk ? "blk" : "rng", n, us, us ? (u64)n * 1000000u / us : 0,
	    b_irqs, b_extra);
}

/* Plain: level-triggered GSI, InterruptStatus/ACK in the handler. */
static void bench_mmio_plain(struct mmdev *d, u32 n, u64 hz)
{
	struct transport t = { &d->q[0], d };

	ioapic_write(IOAPIC_REDIR(d->gsi) + 1, 0);
	ioapic_write(IOAPIC_REDIR(d->gsi), (VEC_B_GSI_BASE + d->gsi) | IOAPIC_LEVEL);
	b_wired = d;
	if (mm_start(d, 0, 1))
		report("mmio", n, run(&t, n, "mmio"), hz);
	mm_reset(d);
	b_wired = NULL;
	ioapic_write(IOAPIC_REDIR(d->gsi), IOAPIC_MASKED);
}

/* The extension: MSI vector 1 for queue 0, the per-queue notify address. */
static void bench_mmio_msi(struct mmdev *d, u32 n, u64 hz)
{
	struct transport t = { &d->q[0], d };

	if (!mm_reset(d) || !mm_negotiate(d, BIT(VF_MMIO_NOTIFICATION) |
					  BIT(VF_MMIO_MSI)))
		return;
	if (!(d->features & BIT(VF_MMIO_MSI)) ||
	    !(d->features & BIT(VF_MMIO_NOTIFICATION))) {
		say("bench mode=mmio-msi skipped: extension not offered");
		mm_reset(d);
		return;
	}
	if (!mm_queue(d, 0, 0, NULL))
		return;
	mm_msi_configure(d, 0, VEC_B_CFG);
	mm_msi_configure(d, 1, VEC_B_Q);
	if (mm_rd(d, VM_MSI_STATE) & MSI_STATE_SHARING) {
		mm_wr(d, VM_QUEUE_SEL, 0);
		mm_msi_cmd(d, MSI_CMD_MAP_QUEUE, 1);
		mm_msi_cmd(d, MSI_CMD_MAP_CONFIG, 0);
	}
	mm_msi_cmd(d, MSI_CMD_ENABLE, 0);
	if (!mm_driver_ok(d) || !mm_use_queue_notify(d)) {
		say("bench mode=mmio-msi failed to start");
		mm_reset(d);
		return;
	}
	report("mmio-msi", n, run(&t, n, "mmio-msi"), hz);
	mm_reset(d);
}

static void bench_pci(struct vdev *dev, u32 n, u64 hz)
{
	struct transport t = { dev, NULL };

	msix_enable(dev, true);
	msix_set(dev, 0, VEC_B_CFG, false);
	msix_set(dev, 1, VEC_B_Q, false);
	if (vdev_start(dev, 0, 0, 1))
		report("pci", n, run(&t, n, "pci"), hz);
	vdev_reset(dev);
}

void bench_action(const char *act, const struct acpi_info *ai,
		  const char *cl)
{
	static struct mmdev mdev;
	static struct vdev pdev;
	char buf[64], modes[128] = "";
	u64 n = 1000, hz, base[1], size[1];
	u32 gsi[1], id, len;
	bool mmio, found;
	const char *p;

	(void)act;
	cmdline = cl;
	if (param("lkvmtest.n", buf, sizeof(buf)) && (!parse_u64(buf, &n) || !n ||
						       n > 10000000))
		fatal("bad lkvmtest.n=%s", buf);
	use_blk = param("lkvmtest.dev", buf, sizeof(buf)) && !strcmp(buf, "blk");
	id = use_blk ? VIRTIO_ID_BLK : VIRTIO_ID_RNG;
	mmio = mm_cmdline_devices(cl, base, size, gsi, 1);
	if (!param("lkvmtest.modes", modes, sizeof(modes)))
		memcpy(modes, mmio ? "mmio,mmio-msi" : "pci",
		       mmio ? sizeof("mmio,mmio-msi") : sizeof("pci"));
	found = mmio ? mm_find(&mdev, id, cl) : vpci_find(&pdev, (u16)id, ai) &&
							pdev.msix_nr >= 2;
	if (!found) {
		say("bench no usable device");
		return;
	}

	dev_irq_hook = bench_irq;
	hz = tsc_hz();
	say("bench tsc-hz=%lu", hz);
	/* The modes in the order lkvmtest.modes= names them. */
	for (p = modes; *p; p += len + (p[len] == ',')) {
		for (len = 0; p[len] && p[len] != ','; len++)
			;
		if (mmio && len == 4 && !strncmp(p, "mmio", 4))
			bench_mmio_plain(&mdev, (u32)n, hz);
		else if (mmio && len == 8 && !strncmp(p, "mmio-msi", 8))
			bench_mmio_msi(&mdev, (u32)n, hz);
		else if (!mmio && len == 3 && !strncmp(p, "pci", 3))
			bench_pci(&pdev, (u32)n, hz);
		else if (len != 4 || strncmp(p, "none", 4))	/* none: a baseline */
			say("bench mode %u chars at %s: not on this transport", len, p);
	}
	dev_irq_hook = NULL;
	say("bench done");
}
