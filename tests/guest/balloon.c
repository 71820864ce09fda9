// SPDX-License-Identifier: GPL-2.0
/*
 * lkvmtest.action=balloon | balloon-nostats: a small virtio-balloon driver
 * (virtio 1.x section 5.5) on vmmio.c's virtio-mmio driver that exercises free page reporting, inflate/deflate and the
 * statistics queue of lkvm's device, hostile ranges included.
 *
 * run-balloon.sh drives it through the serial console: the guest prints a
 * "lkvmtest: balloon <step>" line and waits for a line on COM1 (the host
 * measures lkvm's resident memory or uses `lkvm balloon/stat` meanwhile).
 * While waiting it services the device: it answers statistics requests
 * and follows the host's balloon target (num_pages).
 *
 *   filled      32 MiB at FILL_BASE are touched           -> host: RSS up
 *   reported    they were reported free and read as zero,
 *               plus the edge cases below                  -> host: RSS down,
 *                                                             inflate/deflate
 *   hostile     out-of-RAM ranges break the device (NEEDS_RESET); each
 *               time it is reset and must work again
 *   result=pass | result=fail bad=<n>, then the action powers off
 *
 * balloon-nostats does not negotiate the statistics queue, so the
 * reporting queue is queue 2 instead of 3. balloon-probe only prints the
 * features the device offers ("balloon offered=0x...").
 */
#include "vmmio.h"

#define F_STATS_VQ		1
#define F_REPORTING		5

#define BALLOON_ID		5
#define CFG_NUM_PAGES		0
#define CFG_ACTUAL		4

#define QSIZE			32	/* Linux wants >= 32 for reporting */
#define WAIT_MS			3000	/* for the device to return a buffer */
#define GO_MS			120000	/* for the host's next line */
#define NO_QUEUE		0xffffffffu

#define FILL_BASE		0x2000000UL	/* 32 MiB, reported in 2 MiB blocks */
#define FILL_SIZE		0x2000000UL
#define EDGE_BASE		0x4000000UL	/* unaligned and sub-page ranges */
#define INFL_BASE		0x4100000UL	/* pages given to the balloon */
#define INFL_MAX		1024		/* 4 MiB */
#define PAGE			4096UL
#define BLOCK			0x200000UL

#define STAT_MINFLT		3
#define STAT_MEMFREE		4
#define STAT_MEMTOT		5
#define GUEST_MEMFREE		0x1234000UL	/* run-balloon.sh looks for it */

struct stat_entry {
	u16 tag;
	u64 val;
} __attribute__((packed));

/* Three pages of our own image: the middle one is reported ("the kernel"). */
static u8 victim[3 * 4096] __attribute__((aligned(4096)));
static u32 pfns[INFL_MAX];
static struct stat_entry stats[3];

static struct mmdev dev;
/* Queue numbers; the optional ones NO_QUEUE when not negotiated. */
static u32 q_infl, q_defl, q_stats, q_report;
static u32 inflated, stats_refreshes;

static u64 pa(const volatile void *p)
{
	return (u64)(uintptr_t)p;
}

/* Queue @q with QSIZE entries; false (after a "bad") if it can't have them. */
static bool queue_setup(u32 q)
{
	u32 max;

	mm_wr(&dev, VM_QUEUE_SEL, q);
	max = mm_rd(&dev, VM_QUEUE_NUM_MAX);
	if (max < QSIZE) {
		bad("queue %u max size %u < %u", q, max, QSIZE);
		return false;
	}
	if (!mm_queue(&dev, q, QSIZE, NULL)) {
		bad("queue %u refused", q);
		return false;
	}
	return true;
}

/* Post a chain of @n segments (all readable or all writable) and notify. */
static void post(u32 q, const u64 *addr, const u32 *len, u32 n, bool write)
{
	struct vseg seg[QSIZE];
	u32 i;

	for (i = 0; i < n && i < QSIZE; i++)
		seg[i] = (struct vseg){ addr[i], len[i], write };
	mm_add(&dev, q, seg, i);
	mm_kick(&dev, q);
}

/* Wait for the device to return the chain; its used length, or -1. */
static int wait_used(u32 q)
{
	u32 len;

	if (mm_wait(&dev, q, WAIT_MS, NULL, &len) != VQ_DONE)
		return -1;
	mm_wr(&dev, VM_INT_ACK, mm_rd(&dev, VM_INT_STATUS));
	return (int)len;
}

static void stats_post(void)
{
	u64 a = pa(stats);
	u32 l = sizeof(stats);

	stats[0] = (struct stat_entry){ STAT_MEMFREE, GUEST_MEMFREE };
	stats[1] = (struct stat_entry){ STAT_MEMTOT, ram_end_below_4g() };
	stats[2] = (struct stat_entry){ STAT_MINFLT, stats_refreshes };
	post(q_stats, &a, &l, 1, false);
}

/* Reset and bring the device up with @want; false (after a "bad") if it won't. */
static bool device_init(u64 want)
{
	u32 n = 0, q;

	if (!mm_reset(&dev)) {
		bad("status not 0 after reset");
		return false;
	}
	if ((mm_offered(&dev) & want) != want) {
		bad("device features 0x%lx lack 0x%lx", dev.offered, want & ~dev.offered);
		return false;
	}
	if (!mm_negotiate(&dev, want)) {
		bad("FEATURES_OK refused");
		return false;
	}
	/* Dense numbering: absent optional queues take no index. */
	q_stats = q_report = NO_QUEUE;
	q_infl = n++;
	q_defl = n++;
	if (want & (1ULL << F_STATS_VQ))
		q_stats = n++;
	if (want & (1ULL << F_REPORTING))
		q_report = n++;
	for (q = 0; q < n; q++)
		if (!queue_setup(q))
			return false;
	if (!mm_driver_ok(&dev)) {
		bad("device needs reset right after DRIVER_OK");
		return false;
	}
	if (q_stats != NO_QUEUE)
		stats_post();
	inflated = 0;
	return true;
}

/* Report free ranges in one chain; true if the device returned it (length 0). */
static bool report(const u64 *addr, const u32 *len, u32 n)
{
	int r;

	post(q_report, addr, len, n, true);
	r = wait_used(q_report);
	if (r != 0) {
		if (r > 0)
			bad("report returned with length %d", r);
		return false;
	}
	return true;
}

static void fill_page(u64 a, u64 v)
{
	*(volatile u64 *)phys(a) = v;
	*(volatile u64 *)phys(a + PAGE - 8) = ~v;
}

/* Both marker words of the page read @v / ~@v (or both zero when @v is 0). */
static bool page_is(u64 a, u64 v)
{
	u64 lo = *(volatile u64 *)phys(a), hi = *(volatile u64 *)phys(a + PAGE - 8);

	return v ? lo == v && hi == ~v : !lo && !hi;
}

static void step_fill(void)
{
	u64 a;

	for (a = FILL_BASE; a < FILL_BASE + FILL_SIZE; a += PAGE)
		fill_page(a, a | 1);
	say("balloon filled base=0x%lx size=0x%lx", FILL_BASE, FILL_SIZE);
}

static void step_report(void)
{
	u64 addr[QSIZE], a;
	u32 len[QSIZE], n = 0, bad_pages = 0;

	for (a = FILL_BASE; a < FILL_BASE + FILL_SIZE; a += BLOCK) {
		addr[n] = a;
		len[n++] = BLOCK;
	}
	if (!report(addr, len, n)) {
		bad("2 MiB blocks: the device did not return them");
		return;
	}
	for (a = FILL_BASE; a < FILL_BASE + FILL_SIZE; a += PAGE)
		if (!page_is(a, 0) && !bad_pages++)
			bad("reported page 0x%lx is not zero", a);
	say("balloon report=%s", bad_pages ? "fail" : "ok");
}

/* Unaligned, sub-page and zero-length ranges; a page of our own image. */
static void step_edges(void)
{
	u64 e = EDGE_BASE, k = pa(victim), addr[3];
	u32 len[3], i;

	for (i = 0; i < 6; i++)
		fill_page(e + i * PAGE, 0x5a00 + i);
	/* [e+100, e+100+2p): only page 1 is whole. [e+4p+1, e+5p-1): nothing. */
	addr[0] = e + 100;
	len[0] = 2 * PAGE;
	addr[1] = e + 4 * PAGE + 1;
	len[1] = PAGE - 2;
	if (report(addr, len, 2)) {
		if (!page_is(e, 0x5a00) || !page_is(e + 2 * PAGE, 0x5a02))
			bad("unaligned report touched the partial pages around it");
		if (!page_is(e + PAGE, 0))
			bad("unaligned report: the whole page inside is not zero");
		if (!page_is(e + 4 * PAGE, 0x5a04))
			bad("sub-page report discarded a page");
		say("balloon unaligned=done");
	} else {
		bad("unaligned report: not returned");
	}

	/* A zero-length buffer: returned, nothing else. */
	addr[0] = e + 5 * PAGE;
	len[0] = 0;
	if (report(addr, len, 1) && page_is(e + 5 * PAGE, 0x5a05))
		say("balloon zero-length=done");
	else
		bad("zero-length report");

	/* Our own .bss: RAM like any other; exactly that page goes. */
	for (i = 0; i < 3; i++)
		fill_page(k + i * PAGE, 0x6b00 + i);
	addr[0] = k + PAGE;
	len[0] = PAGE;
	if (report(addr, len, 1) && page_is(k, 0x6b00) && page_is(k + PAGE, 0) &&
	    page_is(k + 2 * PAGE, 0x6b02))
		say("balloon kernel=done");
	else
		bad("report of a page of the guest image");
}

/* Follow num_pages: inflate from INFL_BASE, deflate from the top. */
static void follow_target(void)
{
	u32 want = mm_rd(&dev, VM_CONFIG + CFG_NUM_PAGES), n, i;
	u64 a;
	u32 l;
	int r;

	if (want > INFL_MAX)
		want = INFL_MAX;
	if (want == inflated)
		return;
	if (want > inflated) {
		n = want - inflated;
		for (i = 0; i < n; i++) {
			fill_page(INFL_BASE + (inflated + i) * PAGE, 0x7c00 + i);
			pfns[i] = (u32)((INFL_BASE >> 12) + inflated + i);
		}
		a = pa(pfns);
		l = n * 4;
		post(q_infl, &a, &l, 1, false);
		r = wait_used(q_infl);
		if (r < 0) {
			bad("inflate of %u pages not returned", n);
			return;
		}
		for (i = 0; i < n; i++)
			if (!page_is(INFL_BASE + (inflated + i) * PAGE, 0)) {
				bad("inflated page 0x%lx is not zero",
				    INFL_BASE + (inflated + i) * PAGE);
				break;
			}
		inflated = want;
	} else {
		n = inflated - want;
		for (i = 0; i < n; i++)
			pfns[i] = (u32)((INFL_BASE >> 12) + want + i);
		a = pa(pfns);
		l = n * 4;
		post(q_defl, &a, &l, 1, false);
		if (wait_used(q_defl) < 0) {
			bad("deflate of %u pages not returned", n);
			return;
		}
		/* Ours again: usable at once. */
		for (i = 0; i < n; i++)
			fill_page(INFL_BASE + (want + i) * PAGE, 0x7d00);
		if (!page_is(INFL_BASE + want * PAGE, 0x7d00))
			bad("deflated page not writable");
		inflated = want;
	}
	mm_wr(&dev, VM_CONFIG + CFG_ACTUAL, inflated);
	say("balloon actual=%u", inflated);
}

/*
 * Wait for a line from the host on COM1, servicing the device meanwhile:
 * a returned statistics buffer is refilled and posted again (the host
 * asked for fresh numbers), and the balloon follows num_pages.
 */
static void wait_go(const char *step)
{
	u32 waited = 0;
	bool line = false;

	say("balloon %s", step);
	while (waited < GO_MS) {
		while (inb(UART_LSR) & LSR_DATA_READY)
			if (inb(UART_RBR) == '\n')
				line = true;
		if (line)
			return;
		if (q_stats != NO_QUEUE && mm_used_ready(&dev, q_stats)) {
			mm_wait(&dev, q_stats, WAIT_MS, NULL, NULL);
			stats_refreshes++;
			stats_post();
		}
		follow_target();
		delay_ms(10);
		waited += 10;
	}
	bad("no line from the host after '%s'", step);
}

/* Each of these must leave the device broken; a reset must repair it. */
static void step_hostile(void)
{
	u64 top = ram_end_below_4g();
	static const struct { const char *what; u64 addr; u64 len; } h[] = {
		{ "above-ram", 0, BLOCK },		/* addr: top of RAM */
		{ "straddling-ram-end", 0, 2 * PAGE },	/* addr: top - PAGE */
		{ "mmio-hole", 0xd0000000UL, PAGE },
		{ "wrapping", 0xfffffffffffff000UL, 0x2000 },
	};
	u64 want = dev.features & (BIT(VF_VERSION_1) | (1ULL << F_STATS_VQ) |
			       (1ULL << F_REPORTING));
	u32 i;

	for (i = 0; i < ARRAY_SIZE(h); i++) {
		u64 a = h[i].addr, addr;
		u32 len = (u32)h[i].len;

		if (i == 0)
			a = top;
		else if (i == 1)
			a = top - PAGE;
		addr = a;
		fill_page(EDGE_BASE, 0x9900 + i);
		if (report(&addr, &len, 1))
			bad("%s range 0x%lx+0x%x accepted", h[i].what, a, len);
		else if (!(mm_rd(&dev, VM_STATUS) & VS_NEEDS_RESET))
			bad("%s range: no NEEDS_RESET", h[i].what);
		else
			say("balloon hostile %s=needs-reset", h[i].what);
		if (!page_is(EDGE_BASE, 0x9900 + i))
			bad("%s range: other memory was discarded", h[i].what);
		/* Reset and show the device works again. */
		if (!device_init(want))
			return;
		addr = EDGE_BASE;
		len = PAGE;
		if (!report(&addr, &len, 1) || !page_is(EDGE_BASE, 0))
			bad("%s: the device does not work after a reset", h[i].what);
	}
	say("balloon hostile=done");
}

void balloon_action(const char *act, const char *cmdline)
{
	u64 want = BIT(VF_VERSION_1) | (1ULL << F_REPORTING);

	if (strcmp(act, "balloon-nostats"))
		want |= 1ULL << F_STATS_VQ;
	nbad = 0;
	say("%s", act);
	apic_setup();
	if (!mm_find(&dev, BALLOON_ID, cmdline)) {
		bad("no virtio-mmio balloon on the command line");
		goto out;
	}
	say("balloon device=0x%lx", dev.base);
	if (!strcmp(act, "balloon-probe")) {
		/* What is offered, before any negotiation. */
		mm_wr(&dev, VM_STATUS, 0);
		say("balloon offered=0x%lx", mm_offered(&dev));
		goto out;
	}
	if (!in_ram(FILL_BASE, INFL_BASE + INFL_MAX * PAGE - FILL_BASE)) {
		bad("test area 0x%lx.. is not RAM (use -m 128 or more)", FILL_BASE);
		goto out;
	}
	if (!device_init(want))
		goto out;
	say("balloon features=0x%lx reporting-queue=%u", dev.features, q_report);

	step_fill();
	wait_go("filled");
	step_report();
	step_edges();
	wait_go("reported");
	step_hostile();
	mm_wr(&dev, VM_STATUS, 0);
out:
	case_result(act);
}
