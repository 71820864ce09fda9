// SPDX-License-Identifier: GPL-2.0
/*
 * lkvmtest.action=balloon | balloon-nostats: a small virtio-balloon driver
 * over virtio-mmio (virtio 1.x sections 4.2 and 5.5), written for this
 * test guest, that exercises free page reporting, inflate/deflate and the
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
#include "guest.h"

/* virtio-mmio registers (4.2.2) */
#define VM_MAGIC		0x000
#define VM_VERSION		0x004
#define VM_DEVICE_ID		0x008
#define VM_DEV_FEATURES		0x010
#define VM_DEV_FEATURES_SEL	0x014
#define VM_DRV_FEATURES		0x020
#define VM_DRV_FEATURES_SEL	0x024
#define VM_QUEUE_SEL		0x030
#define VM_QUEUE_NUM_MAX	0x034
#define VM_QUEUE_NUM		0x038
#define VM_QUEUE_READY		0x044
#define VM_QUEUE_NOTIFY		0x050
#define VM_INT_STATUS		0x060
#define VM_INT_ACK		0x064
#define VM_STATUS		0x070
#define VM_QUEUE_DESC		0x080
#define VM_QUEUE_DRIVER		0x090
#define VM_QUEUE_DEVICE		0x0a0
#define VM_CONFIG		0x100

#define S_ACK			1
#define S_DRIVER		2
#define S_DRIVER_OK		4
#define S_FEATURES_OK		8
#define S_NEEDS_RESET		0x40

#define F_STATS_VQ		1
#define F_REPORTING		5
#define F_VERSION_1		32

#define DESC_F_NEXT		1
#define DESC_F_WRITE		2

#define BALLOON_ID		5
#define CFG_NUM_PAGES		0
#define CFG_ACTUAL		4

#define QSIZE			32	/* Linux wants >= 32 for reporting */
#define WAIT_MS			3000	/* for the device to return a buffer */
#define GO_MS			120000	/* for the host's next line */

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

struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct queue {
	u32 idx;
	bool on;
	struct desc *desc;
	volatile u16 *avail;	/* flags, idx, ring[QSIZE], used_event */
	volatile u16 *used;	/* flags, idx, then {u32 id, u32 len}[QSIZE] */
	u16 avail_idx, used_seen;
};

struct stat_entry {
	u16 tag;
	u64 val;
} __attribute__((packed));

static u8 rings[4][4096] __attribute__((aligned(4096)));
/* Three pages of our own image: the middle one is reported ("the kernel"). */
static u8 victim[3 * 4096] __attribute__((aligned(4096)));
static u32 pfns[INFL_MAX];
static struct stat_entry stats[3];

static u64 base;
static u64 features;
static struct queue q_infl, q_defl, q_stats, q_report;
static u32 nbad, inflated, stats_refreshes;
static const char *cmdline;

static void __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	nbad++;
	va_start(ap, fmt);
	vsay("bad ", fmt, ap);
	va_end(ap);
}

static u32 rd(u32 off)
{
	return mmio_read32(base + off);
}

static void wr(u32 off, u32 v)
{
	mmio_write32(base + off, v);
}

static u64 pa(const volatile void *p)
{
	return (u64)(uintptr_t)p;
}

static const char *find_str(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (; *s; s++)
		if (!strncmp(s, w, n))
			return s;
	return NULL;
}

/* 0x.. or decimal, up to a character not in the number. */
static const char *parse_num(const char *s, u64 *v)
{
	u64 n = 0;
	unsigned int b = 10, d;

	if (s[0] == '0' && s[1] == 'x') {
		b = 16;
		s += 2;
	}
	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (b == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			break;
		n = n * b + d;
	}
	*v = n;
	return s;
}

/* The virtio-mmio device with id @id among virtio_mmio.device=SIZE@ADDR:IRQ. */
static u64 find_device(u32 id)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p = cmdline;

	while ((p = find_str(p, key))) {
		u64 size, addr;

		p = parse_num(p + sizeof(key) - 1, &size);
		if (*p == 'K' || *p == 'k')
			p++;
		if (*p++ != '@')
			continue;
		p = parse_num(p, &addr);
		if (!phys_ok(addr, 0x200))
			continue;
		if (mmio_read32(addr + VM_MAGIC) == 0x74726976 &&
		    mmio_read32(addr + VM_DEVICE_ID) == id)
			return addr;
	}
	return 0;
}

static void queue_setup(struct queue *q, u32 idx, u8 *mem)
{
	u32 max;

	memset(mem, 0, 4096);
	q->idx = idx;
	q->desc = (struct desc *)mem;
	q->avail = (volatile u16 *)(mem + 1024);
	q->used = (volatile u16 *)(mem + 2048);
	q->avail_idx = q->used_seen = 0;
	wr(VM_QUEUE_SEL, idx);
	max = rd(VM_QUEUE_NUM_MAX);
	if (max < QSIZE) {
		bad("queue %u max size %u < %u", idx, max, QSIZE);
		return;
	}
	wr(VM_QUEUE_NUM, QSIZE);
	wr(VM_QUEUE_DESC, (u32)pa(q->desc));
	wr(VM_QUEUE_DESC + 4, (u32)(pa(q->desc) >> 32));
	wr(VM_QUEUE_DRIVER, (u32)pa(q->avail));
	wr(VM_QUEUE_DRIVER + 4, (u32)(pa(q->avail) >> 32));
	wr(VM_QUEUE_DEVICE, (u32)pa(q->used));
	wr(VM_QUEUE_DEVICE + 4, (u32)(pa(q->used) >> 32));
	wr(VM_QUEUE_READY, 1);
	q->on = true;
}

/* Post a chain of @n segments (all readable or all writable) and notify. */
static void post(struct queue *q, const u64 *addr, const u32 *len, u32 n, bool write)
{
	u32 i;

	for (i = 0; i < n; i++) {
		q->desc[i].addr = addr[i];
		q->desc[i].len = len[i];
		q->desc[i].flags = (write ? DESC_F_WRITE : 0) | (i + 1 < n ? DESC_F_NEXT : 0);
		q->desc[i].next = (u16)(i + 1);
	}
	q->avail[2 + q->avail_idx % QSIZE] = 0;		/* head: descriptor 0 */
	barrier();
	q->avail_idx++;
	mb();
	q->avail[1] = q->avail_idx;
	mb();
	wr(VM_QUEUE_NOTIFY, q->idx);
}

static bool used_ready(struct queue *q)
{
	barrier();
	return q->used[1] != q->used_seen;
}

/* Wait for the device to return the chain; its used length, or -1. */
static int wait_used(struct queue *q)
{
	u32 waited = 0;
	u32 len;

	while (!used_ready(q)) {
		if (waited >= WAIT_MS || (rd(VM_STATUS) & S_NEEDS_RESET))
			return -1;
		delay_ms(2);
		waited += 2;
	}
	len = ((volatile u32 *)(q->used + 2))[2 * (q->used_seen % QSIZE) + 1];
	q->used_seen++;
	wr(VM_INT_ACK, rd(VM_INT_STATUS));
	return (int)len;
}

static void stats_post(void)
{
	u64 a = pa(stats);
	u32 l = sizeof(stats);

	stats[0] = (struct stat_entry){ STAT_MEMFREE, GUEST_MEMFREE };
	stats[1] = (struct stat_entry){ STAT_MEMTOT, ram_end_below_4g() };
	stats[2] = (struct stat_entry){ STAT_MINFLT, stats_refreshes };
	post(&q_stats, &a, &l, 1, false);
}

/* Reset and bring the device up with @want; false (after a "bad") if it won't. */
static bool device_init(u64 want)
{
	u32 n = 0;

	wr(VM_STATUS, 0);
	if (rd(VM_STATUS) != 0) {
		bad("status not 0 after reset");
		return false;
	}
	wr(VM_STATUS, S_ACK);
	wr(VM_STATUS, S_ACK | S_DRIVER);
	wr(VM_DEV_FEATURES_SEL, 0);
	features = rd(VM_DEV_FEATURES);
	wr(VM_DEV_FEATURES_SEL, 1);
	features |= (u64)rd(VM_DEV_FEATURES) << 32;
	if ((features & want) != want) {
		bad("device features 0x%lx lack 0x%lx", features, want & ~features);
		return false;
	}
	wr(VM_DRV_FEATURES_SEL, 0);
	wr(VM_DRV_FEATURES, (u32)want);
	wr(VM_DRV_FEATURES_SEL, 1);
	wr(VM_DRV_FEATURES, (u32)(want >> 32));
	wr(VM_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(VM_STATUS) & S_FEATURES_OK)) {
		bad("FEATURES_OK refused");
		return false;
	}
	features = want;	/* from here on: what was negotiated */
	/* Dense numbering: absent optional queues take no index. */
	q_stats.on = q_report.on = false;
	queue_setup(&q_infl, n++, rings[0]);
	queue_setup(&q_defl, n++, rings[1]);
	if (want & (1ULL << F_STATS_VQ))
		queue_setup(&q_stats, n++, rings[2]);
	if (want & (1ULL << F_REPORTING))
		queue_setup(&q_report, n++, rings[3]);
	wr(VM_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	if (rd(VM_STATUS) & S_NEEDS_RESET) {
		bad("device needs reset right after DRIVER_OK");
		return false;
	}
	if (q_stats.on)
		stats_post();
	inflated = 0;
	return true;
}

/* Report free ranges in one chain; true if the device returned it (length 0). */
static bool report(const u64 *addr, const u32 *len, u32 n)
{
	int r;

	post(&q_report, addr, len, n, true);
	r = wait_used(&q_report);
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
	u32 want = mmio_read32(base + VM_CONFIG + CFG_NUM_PAGES), n, i;
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
		post(&q_infl, &a, &l, 1, false);
		r = wait_used(&q_infl);
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
		post(&q_defl, &a, &l, 1, false);
		if (wait_used(&q_defl) < 0) {
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
	mmio_write32(base + VM_CONFIG + CFG_ACTUAL, inflated);
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
		if (q_stats.on && used_ready(&q_stats)) {
			q_stats.used_seen = q_stats.used[1];
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
	u64 want = features & ((1ULL << F_VERSION_1) | (1ULL << F_STATS_VQ) |
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
		else if (!(rd(VM_STATUS) & S_NEEDS_RESET))
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

void balloon_action(const char *act, const char *cl)
{
	u64 want = (1ULL << F_VERSION_1) | (1ULL << F_REPORTING);

	cmdline = cl;
	if (strcmp(act, "balloon-nostats"))
		want |= 1ULL << F_STATS_VQ;
	say("%s", act);
	apic_setup();
	base = find_device(BALLOON_ID);
	if (!base) {
		bad("no virtio-mmio balloon on the command line");
		goto out;
	}
	say("balloon device=0x%lx", base);
	if (!strcmp(act, "balloon-probe")) {
		/* What is offered, before any negotiation. */
		wr(VM_STATUS, 0);
		wr(VM_DEV_FEATURES_SEL, 0);
		features = rd(VM_DEV_FEATURES);
		wr(VM_DEV_FEATURES_SEL, 1);
		features |= (u64)rd(VM_DEV_FEATURES) << 32;
		say("balloon offered=0x%lx", features);
		goto out;
	}
	if (!in_ram(FILL_BASE, INFL_BASE + INFL_MAX * PAGE - FILL_BASE)) {
		bad("test area 0x%lx.. is not RAM (use -m 128 or more)", FILL_BASE);
		goto out;
	}
	if (!device_init(want))
		goto out;
	say("balloon features=0x%lx reporting-queue=%u", features, q_report.idx);

	step_fill();
	wait_go("filled");
	step_report();
	step_edges();
	wait_go("reported");
	step_hostile();
	wr(VM_STATUS, 0);
out:
	if (nbad)
		say("%s result=fail bad=%u", act, nbad);
	else
		say("%s result=pass", act);
}
