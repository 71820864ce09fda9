// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 test guest: what a guest needs from the VMM and KVM below it,
 * in a few thousand instructions, so it can run as an L3 guest where a
 * Linux boot would take many minutes.
 *
 *   - "L3-TEST-HELLO" on the 8250 UART (lkvm-arm64's ttyS0),
 *   - the EL1 virtual timer's interrupt (PPI 27) taken TICKS times through
 *     the GICv3 CPU interface: needs the (nested) VGIC and timers,
 *   - one virtio-rng request over virtio-mmio completed with its interrupt
 *     (an SPI): needs lkvm's device and the interrupt path,
 *   - PSCI SYSTEM_OFF, or SYSTEM_RESET with "l3test.action=reboot" in the
 *     device tree's bootargs; "l3test.action=hang" spins (for --timeout).
 *
 * It reports "L3-TEST-RESULT ticks=N rng=LEN irq=INTID" and "L3-TEST-FAIL
 * why" lines. The MMU stays off and the interrupts masked: it waits with
 * WFI and acknowledges through ICC_IAR1_EL1.
 */
#include <stdbool.h>
#include <stdint.h>

#define UART		0x0a000000UL	/* lkvm's arm-layout.h */
#define GICD		0x08000000UL
#define GICR		0x080a0000UL	/* vCPU 0's redistributor */
#define VIRTIO		0x0b000000UL	/* the first virtio-mmio device */
#define TICKS		5
#define TIMER_INTID	27
#define SPURIOUS	1023

#define PSCI_SYSTEM_OFF		0x84000008UL
#define PSCI_SYSTEM_RESET	0x84000009UL

static inline void w32(unsigned long a, uint32_t v)
{
	asm volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}

static inline uint32_t r32(unsigned long a)
{
	uint32_t v;

	asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}

/*
 * The 8250's registers are bytes: a wider load at UART + 5 is unaligned,
 * which Device memory (all of it with the MMU off) does not allow; what
 * it then does depends on the CPU and the hypervisors below.
 */
static inline uint8_t r8(unsigned long a)
{
	uint8_t v;

	asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline void w64(unsigned long a, uint64_t v)
{
	asm volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory");
}

#define sysreg_w(reg, v) asm volatile("msr " reg ", %0; isb" : : "r"((uint64_t)(v)))
#define sysreg_r(reg) ({ uint64_t __v; asm volatile("mrs %0, " reg : "=r"(__v)); __v; })

/* GICv3 CPU interface registers by encoding (no assembler support needed). */
#define ICC_PMR_EL1	"S3_0_C4_C6_0"
#define ICC_IAR1_EL1	"S3_0_C12_C12_0"
#define ICC_EOIR1_EL1	"S3_0_C12_C12_1"
#define ICC_SRE_EL1	"S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1	"S3_0_C12_C12_7"

static void putc_(char c)
{
	/* THR is writable when LSR.THRE (bit 5) is set. */
	while (!(r8(UART + 5) & 0x20))
		;
	asm volatile("strb %w0, [%1]" : : "r"(c), "r"(UART) : "memory");
}

static void puts_(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_('\r');
		putc_(*s++);
	}
}

static void putu(unsigned long v)
{
	char b[24];
	int i = 0;

	do {
		b[i++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i)
		putc_(b[--i]);
}

static unsigned long psci(unsigned long fn)
{
	register unsigned long x0 asm("x0") = fn;

	asm volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	return x0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/*
 * Whether the device tree contains @word anywhere (the bootargs string is
 * the only place lkvm puts it). The blob's size comes from its header and
 * is bounded, so a corrupt one cannot make this run off.
 */
static bool dtb_has(const uint8_t *dtb, const char *word)
{
	uint32_t size, i, j;

	if (be32(dtb) != 0xd00dfeed)
		return false;
	size = be32(dtb + 4);
	if (size > 2 << 20)
		size = 2 << 20;
	for (i = 0; i < size; i++) {
		for (j = 0; word[j] && i + j < size && dtb[i + j] == (uint8_t)word[j]; j++)
			;
		if (!word[j])
			return true;
	}
	return false;
}

static void fail(const char *why)
{
	puts_("L3-TEST-FAIL ");
	puts_(why);
	puts_("\n");
	psci(PSCI_SYSTEM_OFF);
	for (;;)
		asm volatile("wfi");
}

static void gic_init(void)
{
	int i;

	/* Distributor: affinity routing, group 1 enabled. */
	w32(GICD + 0x0, 1 << 4 | 1 << 1);
	while (r32(GICD + 0x0) & (1U << 31))	/* RWP */
		;
	/* SPIs 32-95 (lkvm hands virtio devices SPIs from 38): group 1,
	 * routed to vCPU 0, enabled. */
	for (i = 1; i < 3; i++) {
		w32(GICD + 0x80 + 4 * i, ~0U);
		w32(GICD + 0x100 + 4 * i, ~0U);
	}
	for (i = 32; i < 96; i++)
		w64(GICD + 0x6000 + 8 * i, 0);
	/* Redistributor: wake it, PPIs in group 1, the virtual timer's enabled. */
	w32(GICR + 0x14, r32(GICR + 0x14) & ~(1U << 1));
	while (r32(GICR + 0x14) & (1U << 2))
		;
	w32(GICR + 0x10000 + 0x80, ~0U);
	w32(GICR + 0x10000 + 0x100, 1U << TIMER_INTID);
	/* CPU interface: system registers, all priorities, group 1 on. */
	sysreg_w(ICC_SRE_EL1, sysreg_r(ICC_SRE_EL1) | 1);
	sysreg_w(ICC_PMR_EL1, 0xff);
	sysreg_w(ICC_IGRPEN1_EL1, 1);
}

/* Wait for an interrupt and acknowledge it; returns its INTID. */
static uint32_t wait_irq(void)
{
	uint32_t id;

	for (;;) {
		asm volatile("dsb sy; wfi" ::: "memory");
		id = sysreg_r(ICC_IAR1_EL1) & 0xffffff;
		if (id != SPURIOUS)
			return id;
	}
}

static unsigned int timer_ticks(void)
{
	uint64_t freq = sysreg_r("cntfrq_el0"), t0 = sysreg_r("cntvct_el0");
	unsigned int n = 0, other = 0;
	uint32_t id;

	if (!freq)
		fail("CNTFRQ_EL0 is 0");
	/* 10 ms ticks. */
	sysreg_w("cntv_tval_el0", freq / 100);
	sysreg_w("cntv_ctl_el0", 1);
	while (n < TICKS) {
		id = wait_irq();
		if (id == TIMER_INTID) {
			n++;
			sysreg_w("cntv_tval_el0", freq / 100);
		} else if (++other > 100) {
			fail("interrupts other than the timer's keep coming");
		}
		sysreg_w(ICC_EOIR1_EL1, id);
	}
	sysreg_w("cntv_ctl_el0", 0);
	/* Five 10 ms ticks cannot come in less than 40 ms of counter time. */
	if (sysreg_r("cntvct_el0") - t0 < freq / 25)
		fail("timer interrupts came faster than the counter moved");
	return n;
}

/* virtio-mmio (version 2) registers: the kernel's UAPI header (the cross
 * compiler's sysroot has it), nothing else of libc. */
#include <linux/virtio_mmio.h>

#define QSIZE 8

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
/*
 * The rings at their full sizes (virtio 1.x, 2.7: 6 + 2 * size and
 * 6 + 8 * size), used_event and avail_event included though EVENT_IDX
 * is not negotiated: the device may check that the parts do not overlap.
 */
static struct {
	uint16_t flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(2)));
static struct {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[QSIZE];
	uint16_t avail_event;
} used __attribute__((aligned(4)));
static uint8_t rngbuf[16];

static void set_addr(unsigned long lo, const void *p)
{
	w32(VIRTIO + lo, (uint32_t)(unsigned long)p);
	w32(VIRTIO + lo + 4, (uint32_t)((unsigned long)p >> 32));
}

/* One virtio-rng request; returns the length the device wrote and sets
 * *intid to the interrupt that announced it. */
static uint32_t virtio_rng(uint32_t *intid)
{
	volatile uint16_t *used_idx = &used.idx;
	uint32_t id, st;
	int spins;

	if (r32(VIRTIO + VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 || r32(VIRTIO + VIRTIO_MMIO_VERSION) != 2)
		fail("no virtio-mmio version 2 device at 0x0b000000");
	if (r32(VIRTIO + VIRTIO_MMIO_DEVICE_ID) != 4)
		fail("the first virtio-mmio device is not virtio-rng (run with --rng only)");
	w32(VIRTIO + VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO + VIRTIO_MMIO_STATUS, 1 | 2);			/* ACKNOWLEDGE, DRIVER */
	w32(VIRTIO + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!(r32(VIRTIO + VIRTIO_MMIO_DEVICE_FEATURES) & 1))
		fail("virtio-rng does not offer VERSION_1");
	w32(VIRTIO + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	w32(VIRTIO + VIRTIO_MMIO_DRIVER_FEATURES, 1);			/* VIRTIO_F_VERSION_1 */
	w32(VIRTIO + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	w32(VIRTIO + VIRTIO_MMIO_DRIVER_FEATURES, 0);
	w32(VIRTIO + VIRTIO_MMIO_STATUS, 1 | 2 | 8);		/* FEATURES_OK */
	if (!(r32(VIRTIO + VIRTIO_MMIO_STATUS) & 8))
		fail("virtio-rng refused the features");
	w32(VIRTIO + VIRTIO_MMIO_QUEUE_SEL, 0);
	if (r32(VIRTIO + VIRTIO_MMIO_QUEUE_NUM_MAX) < QSIZE)
		fail("virtio-rng queue too small");
	w32(VIRTIO + VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	set_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	set_addr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, &avail);
	set_addr(VIRTIO_MMIO_QUEUE_USED_LOW, &used);
	w32(VIRTIO + VIRTIO_MMIO_QUEUE_READY, 1);
	w32(VIRTIO + VIRTIO_MMIO_STATUS, 1 | 2 | 8 | 4);		/* DRIVER_OK */

	desc[0].addr = (unsigned long)rngbuf;
	desc[0].len = sizeof(rngbuf);
	desc[0].flags = 2;				/* device writes */
	avail.ring[0] = 0;
	asm volatile("dsb sy" ::: "memory");
	avail.idx = 1;
	asm volatile("dsb sy" ::: "memory");
	w32(VIRTIO + VIRTIO_MMIO_QUEUE_NOTIFY, 0);

	/* The completion must come with an interrupt. */
	for (spins = 0; spins < 1000; spins++) {
		id = wait_irq();
		sysreg_w(ICC_EOIR1_EL1, id);
		if (id < 32)
			continue;
		st = r32(VIRTIO + VIRTIO_MMIO_INTERRUPT_STATUS);
		w32(VIRTIO + VIRTIO_MMIO_INTERRUPT_ACK, st);
		if ((st & 1) && *used_idx == 1) {
			*intid = id;
			if (used.ring[0].id != 0 || used.ring[0].len > sizeof(rngbuf))
				fail("virtio-rng returned a bad used element");
			return used.ring[0].len;
		}
	}
	fail("no interrupt announced the virtio-rng completion");
	return 0;
}

void guest_main(const uint8_t *dtb)
{
	unsigned int ticks;
	uint32_t len, intid = 0;

	puts_("L3-TEST-HELLO\n");
	gic_init();
	ticks = timer_ticks();
	len = virtio_rng(&intid);
	if (!len)
		fail("virtio-rng wrote nothing");
	puts_("L3-TEST-RESULT ticks=");
	putu(ticks);
	puts_(" rng=");
	putu(len);
	puts_(" irq=");
	putu(intid);
	puts_("\n");
	if (dtb_has(dtb, "l3test.action=hang")) {
		puts_("L3-TEST-ACTION=hang\n");
		for (;;)
			;
	}
	if (dtb_has(dtb, "l3test.action=reboot")) {
		puts_("L3-TEST-ACTION=reboot\n");
		psci(PSCI_SYSTEM_RESET);
	} else {
		puts_("L3-TEST-ACTION=poweroff\n");
		psci(PSCI_SYSTEM_OFF);
	}
	fail("PSCI returned");
}
