// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm test guest: report what the VMM handed over (zero page, command
 * line, memory map, initrd, ACPI tables), then perform the action named by
 * lkvmtest.action= on the command line.
 *
 * Every report line starts with "lkvmtest: ".  Ring 0 may be emulated
 * slowly and every port access is a VM exit, so the report stays short.
 */
#include "guest.h"

/* Zero page (struct boot_params) offsets. */
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_TYPE_OF_LOADER	0x210
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_CMD_LINE_PTR		0x228
#define BP_E820_TABLE		0x2d0
#define E820_MAX		128
#define E820_RAM		1

#define CMDLINE_MAX		4096
#define CKSUM_MAX		(16u << 20)

#define IOAPIC_SERIAL_PIN	4

/* Busy-wait after a power-off/reset request before calling it a failure. */
#define SETTLE_LOOPS		500000
#define ECHO_POLLS		2000000
#define ECHO_LINE_MAX		128

struct idt_gate {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off_mid;
	u32 off_hi;
	u32 reserved;
} __attribute__((packed));

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static char cmdline[CMDLINE_MAX];
static const u8 *e820_table;
static u32 e820_count;
static u32 bsp_apic_id;

static volatile u32 irq_count, irq_vector, irq_iir, stray_irqs;
volatile u32 timer_fired;
static bool in_exception;
void (*dev_irq_hook)(u32 vector);

static void idt_init(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr;
	u32 v;

	for (v = 0; v < IDT_VECTORS; v++) {
		u64 addr = (u64)(uintptr_t)isr_stubs + v * ISR_STUB_SIZE;

		idt[v].off_lo = (u16)addr;
		idt[v].sel = SEL_CODE64;
		idt[v].ist = 0;
		idt[v].type = 0x8e;	/* present, DPL 0, interrupt gate */
		idt[v].off_mid = (u16)(addr >> 16);
		idt[v].off_hi = (u32)(addr >> 32);
		idt[v].reserved = 0;
	}
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (u64)(uintptr_t)idt;
	asm volatile("lidt %0" : : "m"(idtr));
}

/*
 * Whatever the loader placed in [LOAD_ADDR, LOAD_ADDR + init_size) is gone
 * once .bss is cleared: the zero page, command line and initrd belong
 * elsewhere.
 */
extern char _end[];

static bool overlaps_image(u64 addr, u64 len)
{
	u64 end = (u64)(uintptr_t)_end;

	return len && addr < end && addr + len > LOAD_ADDR;
}

void lapic_write(u32 reg, u32 v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

u32 lapic_read(u32 reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void ioapic_write(u32 reg, u32 v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

u32 ioapic_read(u32 reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

/* The 8259s masked (only the IOAPIC and MSIs are used), the LAPIC on. */
void apic_setup(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
}

/*
 * Timeouts: a one-shot LAPIC timer counting at the 1 GHz bus clock that
 * KVM and QEMU both emulate, divided by 1.  It interrupts on VEC_TIMER
 * (to wake a hlt); with interrupts off, the current count tells. Its 32
 * bits hold about 4.29 s: a longer deadline runs in laps of at most
 * DEADLINE_LAP_MS, deadline_passed() starting the next one.
 */
#define DEADLINE_LAP_MS	4000
static u32 deadline_rest_ms;	/* what the laps after this one still hold */

static void deadline_arm(u32 ms)
{
	/* Take a stale timer interrupt (an earlier deadline) now. */
	asm volatile("sti; nop; cli" : : : "memory");
	timer_fired = 0;
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_TIMER_DIV, 0xb);	/* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, ms * 1000000u);
}

/* Arm the next lap of what is left of the deadline. */
static void deadline_next_lap(void)
{
	u32 lap = deadline_rest_ms > DEADLINE_LAP_MS ? DEADLINE_LAP_MS : deadline_rest_ms;

	deadline_rest_ms -= lap;
	deadline_arm(lap);
}

void deadline_set(u32 ms)
{
	deadline_rest_ms = ms;
	deadline_next_lap();
}

bool deadline_passed(void)
{
	if (!timer_fired && lapic_read(LAPIC_TIMER_CUR) != 0)
		return false;
	if (!deadline_rest_ms)
		return true;
	deadline_next_lap();
	return false;
}

void deadline_clear(void)
{
	deadline_rest_ms = 0;
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, 1u << 16 | VEC_TIMER);
	asm volatile("sti; nop; cli" : : : "memory");
	timer_fired = 0;
}

/* Busy-wait about @ms milliseconds, interrupts enabled. */
void delay_ms(u32 ms)
{
	deadline_set(ms);
	while (!timer_fired)
		asm volatile("sti; hlt; cli" : : : "memory");
	deadline_clear();
}

/* Called from isr_common for every vector. */
void trap(struct trap_frame *f);
void trap(struct trap_frame *f)
{
	u64 cr2;

	switch (f->vector) {
	case VEC_SERIAL:
		irq_iir = inb(UART_IIR);
		outb(UART_IER, 0);
		irq_vector = (u32)f->vector;
		irq_count++;
		lapic_write(LAPIC_EOI, 0);
		return;
	case VEC_TIMER:
		timer_fired = 1;
		lapic_write(LAPIC_EOI, 0);
		return;
	case VEC_SPURIOUS:
		return;
	default:
		if (f->vector >= VEC_DEV_FIRST && f->vector < IDT_VECTORS) {
			if (dev_irq_hook)
				dev_irq_hook((u32)f->vector);
			else
				dev_irq((u32)f->vector);
			return;
		}
		if (f->vector >= 32) {
			stray_irqs++;
			lapic_write(LAPIC_EOI, 0);
			return;
		}
		break;
	}

	if (in_exception)
		fail_stop();
	in_exception = true;
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	fatal("exception vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx",
	      f->vector, f->error, f->rip, cr2);
}

/* Value of "name=value" in the command line (last one wins). */
static bool get_param(const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name);
	const char *p = cmdline;
	bool found = false;

	while (*p) {
		const char *word;
		size_t n = 0;

		while (*p == ' ')
			p++;
		word = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - word) <= nlen || memcmp(word, name, nlen) ||
		    word[nlen] != '=')
			continue;
		word += nlen + 1;
		while (word < p && n + 1 < outsz)
			out[n++] = *word++;
		out[n] = '\0';
		found = true;
	}
	return found;
}

static void report_cmdline(const u8 *bp)
{
	u64 ptr = get32(bp + BP_CMD_LINE_PTR) |
		  (u64)get32(bp + BP_EXT_CMD_LINE_PTR) << 32;
	const u8 *src;
	u64 max;
	u32 n;

	if (!ptr || !phys_ok(ptr, 1)) {
		say("cmdline-ptr=0x%lx unusable", ptr);
		return;
	}
	src = phys(ptr);
	max = PHYS_LIMIT - ptr;
	if (max > CMDLINE_MAX - 1)
		max = CMDLINE_MAX - 1;
	for (n = 0; n < max && src[n]; n++)
		cmdline[n] = (src[n] >= 0x20 && src[n] < 0x7f) ? (char)src[n] :
			     '?';
	cmdline[n] = '\0';
	say("cmdline=%s", cmdline);
	if (overlaps_image(ptr, n + 1))
		say("cmdline overlaps-image");
	/* no NUL within cmdline_size bytes (or before the end of the map) */
	if (n == max && (max < CMDLINE_MAX - 1 || src[n]))
		say("cmdline unterminated");
}

static void report_e820(const u8 *bp)
{
	u64 total = 0, top = 0;
	u32 i, n = bp[BP_E820_ENTRIES];

	if (n > E820_MAX) {
		say("e820 entries=%u too-many", n);
		n = E820_MAX;
	}
	e820_table = bp + BP_E820_TABLE;
	e820_count = n;
	for (i = 0; i < n; i++) {
		const u8 *e = e820_table + i * 20;
		u64 start = get64(e), size = get64(e + 8);
		u32 type = get32(e + 16);

		say("e820 %u 0x%lx 0x%lx %u", i, start, size, type);
		if (type != E820_RAM)
			continue;
		total += size;
		if (start + size < start)
			say("e820 %u wraps", i);
		else if (start + size > top)
			top = start + size;
	}
	say("ram-total=0x%lx", total);
	say("ram-top=0x%lx", top);
}

bool in_ram(u64 addr, u64 size)
{
	u32 i;

	for (i = 0; i < e820_count; i++) {
		const u8 *e = e820_table + i * 20;
		u64 start = get64(e), len = get64(e + 8);

		if (get32(e + 16) == E820_RAM && addr >= start &&
		    addr - start <= len && size <= len - (addr - start))
			return true;
	}
	return false;
}

/* First address above the RAM that lies below 4 GiB. */
u64 ram_end_below_4g(void)
{
	u64 top = 0;
	u32 i;

	for (i = 0; i < e820_count; i++) {
		const u8 *e = e820_table + i * 20;
		u64 start = get64(e), end = start + get64(e + 8);

		if (get32(e + 16) != E820_RAM || start >= PHYS_LIMIT)
			continue;
		if (end > PHYS_LIMIT)
			end = PHYS_LIMIT;
		if (end > top)
			top = end;
	}
	return top;
}

static void report_initrd(const u8 *bp)
{
	u64 addr = get32(bp + BP_RAMDISK_IMAGE) |
		   (u64)get32(bp + BP_EXT_RAMDISK_IMAGE) << 32;
	u64 size = get32(bp + BP_RAMDISK_SIZE) |
		   (u64)get32(bp + BP_EXT_RAMDISK_SIZE) << 32;

	bool ram;

	if (!size) {
		say("initrd none");
		return;
	}
	/* Only read it where the memory map says there is RAM. */
	ram = in_ram(addr, size);
	if (!ram || !phys_ok(addr, size) || size > CKSUM_MAX)
		say("initrd addr=0x%lx size=0x%lx cksum=skipped", addr, size);
	else
		say("initrd addr=0x%lx size=0x%lx cksum=%u", addr, size,
		    posix_cksum(phys(addr), size));
	say("initrd-in-ram=%s", ram ? "yes" : "no");
	if (overlaps_image(addr, size))
		say("initrd overlaps-image");
}

static void settle(void)
{
	u32 i;

	for (i = 0; i < SETTLE_LOOPS; i++)
		cpu_relax();
}

static void __attribute__((noreturn)) poweroff(const struct acpi_info *ai)
{
	u8 typ = ai->s5 >= 0 ? (u8)(ai->s5 & 7) : 0;

	say("poweroff");
	if (!ai->have_fadt)
		fatal("poweroff: no FADT");
	if (ai->hw_reduced) {
		/* SLP_TYP in bits 2-4, SLP_EN is bit 5 */
		if (!gas_write8(&ai->sleep_ctl, (u8)(typ << 2 | 0x20)))
			fatal("poweroff: SLEEP_CONTROL_REG unusable");
	} else {
		u64 port = ai->pm1a_cnt;

		if (!port && ai->x_pm1a_cnt.space == 1)
			port = ai->x_pm1a_cnt.addr;
		if (!port || port > 0xffff)
			fatal("poweroff: PM1a_CNT unusable");
		/* SLP_TYP in bits 10-12, SLP_EN is bit 13 */
		outw((u16)port, (u16)(typ << 10 | 0x2000));
	}
	settle();
	fatal("poweroff did not take effect");
}

static void __attribute__((noreturn)) reboot(const char *how,
					     const struct acpi_info *ai)
{
	say("%s", how);
	if (!strcmp(how, "reboot-kbd")) {
		outb(0x64, 0xfe);
	} else if (!strcmp(how, "reboot-cf9")) {
		outb(0xcf9, 0x02);
		outb(0xcf9, 0x06);
	} else {
		if (!ai->have_fadt || !gas_write8(&ai->reset_reg, ai->reset_value))
			fatal("reboot-acpi: RESET_REG unusable");
	}
	settle();
	fatal("%s did not take effect", how);
}

/*
 * Four instructions per iteration: nanoseconds on hardware, over a
 * microsecond where ring 0 is emulated (probe-speed.sh tells them apart).
 */
static void spin(void)
{
	char buf[24];
	u64 n = 1000000;

	if (get_param("lkvmtest.spin", buf, sizeof(buf)) && !parse_u64(buf, &n))
		fatal("bad lkvmtest.spin=%s", buf);
	say("spin=%lu", n);
	if (n)
		asm volatile("1:	nop\n\t"
			     "nop\n\t"
			     "dec %0\n\t"
			     "jnz 1b"
			     : "+r"(n) : : "cc");
	say("spin done");
}

static void echo(void)
{
	char line[ECHO_LINE_MAX];
	u32 n = 0, total;

	for (total = 0; total < CMDLINE_MAX; total++) {
		int c = serial_getc(ECHO_POLLS);

		if (c < 0) {
			say("echo=timeout");
			return;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n + 1 < sizeof(line))
			line[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	line[n] = '\0';
	say("echo=%s", line);
}

static void irq_test(void)
{
	u32 i, redir = 0x10 + 2 * IOAPIC_SERIAL_PIN;

	/* Keep the 8259s quiet: only the IOAPIC path is under test. */
	apic_setup();
	say("irq ioapic-ver=0x%x lapic-ver=0x%x", ioapic_read(1),
	    lapic_read(LAPIC_VERSION));

	/* fixed delivery, physical destination, edge, active high, unmasked */
	ioapic_write(redir + 1, bsp_apic_id << 24);
	ioapic_write(redir, VEC_SERIAL);

	/* Watchdog: one-shot LAPIC timer, about 2 s at a 1 GHz APIC bus. */
	lapic_write(LAPIC_TIMER_DIV, 0xa);	/* divide by 128 */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 1u << 24);

	outb(UART_MCR, inb(UART_MCR) | MCR_OUT2);
	outb(UART_IER, IER_THRI);
	for (i = 0; i < 8 && !irq_count && !timer_fired; i++)
		asm volatile("sti; hlt; cli" : : : "memory");

	lapic_write(LAPIC_TIMER_INIT, 0);
	outb(UART_IER, 0);
	ioapic_write(redir, 1u << 16);	/* masked */

	if (stray_irqs)
		say("irq stray=%u", stray_irqs);
	if (irq_count)
		say("irq=ok vector=0x%x", irq_vector);
	else
		say("irq=timeout timer=%s", timer_fired ? "fired" : "silent");
}

static void __attribute__((noreturn)) do_action(const struct acpi_info *ai)
{
	char act[32];

	if (!get_param("lkvmtest.action", act, sizeof(act)))
		memcpy(act, "poweroff", sizeof("poweroff"));

	if (!strcmp(act, "poweroff")) {
		poweroff(ai);
	} else if (!strcmp(act, "reboot-kbd") || !strcmp(act, "reboot-cf9") ||
		   !strcmp(act, "reboot-acpi")) {
		reboot(act, ai);
	} else if (!strcmp(act, "triplefault")) {
		say("triplefault");
		fail_stop();
	} else if (!strcmp(act, "halt")) {
		say("halt");
		for (;;)
			asm volatile("cli; hlt");
	} else if (!strcmp(act, "spin")) {
		spin();
		poweroff(ai);
	} else if (!strcmp(act, "echo")) {
		echo();
		poweroff(ai);
	} else if (!strcmp(act, "irq")) {
		irq_test();
		poweroff(ai);
	} else if (!strncmp(act, "virtio-pci-", 11)) {
		virtio_action(act, ai);
		poweroff(ai);
	} else if (!strncmp(act, "balloon", 7)) {
		balloon_action(act, cmdline);
		poweroff(ai);
	} else if (!strncmp(act, "mmio-", 5) || !strcmp(act, "ioevent-read") ||
		   !strcmp(act, "bench-notify")) {
		vmmio_action(act, ai, cmdline);
		poweroff(ai);
	}
	fatal("unknown action %s", act);
}

void guest_main(u64 zero_page, u32 path, u32 cs, u32 ds, u32 ss, u64 rflags);
void guest_main(u64 zero_page, u32 path, u32 cs, u32 ds, u32 ss, u64 rflags)
{
	struct acpi_info ai;
	u32 a, b, c, d;
	const u8 *bp;

	idt_init();
	say("hello");
	say("entry path=%u cs=0x%x ds=0x%x ss=0x%x if=%u zeropage=0x%lx", path,
	    cs, ds, ss, (u32)(rflags >> 9) & 1, zero_page);
	if (!phys_ok(zero_page, 4096))
		fatal("zero page out of reach");
	if (overlaps_image(zero_page, 4096))
		fatal("zero page inside the kernel's init_size area");
	bp = phys(zero_page);

	report_cmdline(bp);
	say("loader=0x%x", bp[BP_TYPE_OF_LOADER]);
	report_e820(bp);
	report_initrd(bp);

	memset(&ai, 0, sizeof(ai));
	ai.s5 = -1;
	acpi_report(get64(bp + BP_ACPI_RSDP_ADDR), &ai);

	cpuid(1, &a, &b, &c, &d);
	bsp_apic_id = b >> 24;
	say("bsp-apic-id=%u", bsp_apic_id);

	do_action(&ai);
}
