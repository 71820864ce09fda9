/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Common declarations of the lkvm test guest (freestanding, x86-64).
 */
#ifndef LKVMTEST_GUEST_H
#define LKVMTEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The COM1 16550 UART. */
#define UART_BASE	0x3f8
#define UART_RBR	(UART_BASE + 0)
#define UART_THR	(UART_BASE + 0)
#define UART_IER	(UART_BASE + 1)
#define UART_IIR	(UART_BASE + 2)
#define UART_MCR	(UART_BASE + 4)
#define UART_LSR	(UART_BASE + 5)
#define IER_THRI	0x02
#define MCR_OUT2	0x08
#define LSR_DATA_READY	0x01
#define LSR_THR_EMPTY	0x20

/*
 * Physical memory is reached through the identity map, which covers at
 * least the first 4 GiB on both entry paths.  Nothing above is touched.
 */
#define PHYS_LIMIT	0x100000000ULL

static inline bool phys_ok(u64 addr, u64 len)
{
	return addr < PHYS_LIMIT && len <= PHYS_LIMIT - addr;
}

static inline void *phys(u64 addr)
{
	return (void *)(uintptr_t)addr;
}

/* Unaligned little-endian reads from firmware tables and the zero page. */
static inline u16 get16(const void *p)
{
	u16 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline u32 get32(const void *p)
{
	u32 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline u64 get64(const void *p)
{
	u64 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* Port I/O of each width: outb/inb, outw/inw, outl/inl. */
#define GUEST_PIO(sfx, type)						\
static inline void out##sfx(u16 port, type v)				\
{									\
	asm volatile("out" #sfx " %0, %1" : : "a"(v), "Nd"(port));	\
}									\
static inline type in##sfx(u16 port)					\
{									\
	type v;								\
									\
	asm volatile("in" #sfx " %1, %0" : "=a"(v) : "Nd"(port));	\
	return v;							\
}
GUEST_PIO(b, u8)
GUEST_PIO(w, u16)
GUEST_PIO(l, u32)

/*
 * Device registers: one plain mov per access, so that the VMM's instruction
 * decoder sees the simplest possible MMIO instruction of the right width.
 * @reg is the register constraint (byte accesses need one with a low byte).
 */
#define GUEST_MMIO(bits, type, sfx, reg)				\
static inline type mmio_read##bits(u64 addr)				\
{									\
	type v;								\
									\
	asm volatile("mov" #sfx " (%1), %0" : "=" reg(v) : "r"(phys(addr)) \
		     : "memory");					\
	return v;							\
}									\
static inline void mmio_write##bits(u64 addr, type v)			\
{									\
	asm volatile("mov" #sfx " %0, (%1)" : : reg(v), "r"(phys(addr)) \
		     : "memory");					\
}
GUEST_MMIO(8, u8, b, "q")
GUEST_MMIO(16, u16, w, "r")
GUEST_MMIO(32, u32, l, "r")
GUEST_MMIO(64, u64, q, "r")

static inline void barrier(void)
{
	asm volatile("" : : : "memory");
}

/* Orders our ring stores before later loads (the device runs elsewhere). */
static inline void mb(void)
{
	asm volatile("mfence" : : : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid"
		     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

/* Register frame built by isr_common in head.S. */
struct trap_frame {
	u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

/* head.S */
extern char isr_stubs[];
void __attribute__((noreturn)) fail_stop(void);

/* lib.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
bool parse_u64(const char *s, u64 *out);

void serial_putc(char c);
int serial_getc(u32 max_polls);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vsay(const char *prefix, const char *fmt, va_list ap);
void __attribute__((noreturn)) fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

u32 posix_cksum(const u8 *p, u64 len);

/* acpi.c */
struct gas {
	u8 space;	/* 0 system memory, 1 system I/O */
	u8 width;
	u8 offset;
	u8 access;
	u64 addr;
};

struct acpi_info {
	bool have_fadt;
	u32 fadt_flags;
	bool hw_reduced;
	u32 pm1a_cnt;		/* PM1a_CNT_BLK port, 0 if absent */
	struct gas x_pm1a_cnt;	/* zero if absent */
	struct gas sleep_ctl;	/* zero if absent */
	struct gas reset_reg;	/* zero if absent */
	u8 reset_value;
	int s5;			/* SLP_TYPa of \_S5, -1 if not found */
	u32 cpus;
	u64 mcfg_base;		/* ECAM of segment 0 from the MCFG, 0 if none */
	u8 mcfg_bus_start, mcfg_bus_end;
	u64 dsdt;		/* a checked DSDT, 0 if none */
	u32 dsdt_len;
};

void acpi_report(u64 rsdp_hint, struct acpi_info *ai);
bool gas_write8(const struct gas *g, u8 v);
int acpi_prt_gsi(const struct acpi_info *ai, u32 slot, u32 pin);

/* main.c: local APIC, IOAPIC, timeouts */
#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_REDIR(pin)	(0x10 + 2 * (pin))
#define LAPIC_BASE		0xfee00000ULL
#define LAPIC_VERSION		0x030
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3e0

/* Interrupt vectors. */
#define VEC_SERIAL		0x30
#define VEC_TIMER		0x31
#define VEC_SPURIOUS		0x3f
#define VEC_DEV_FIRST		0x40	/* 0x40..IDT_VECTORS-1: dev_irq() */

extern volatile u32 timer_fired;
void lapic_write(u32 reg, u32 v);
u32 lapic_read(u32 reg);
void ioapic_write(u32 reg, u32 v);
u32 ioapic_read(u32 reg);
void apic_setup(void);
void deadline_set(u32 ms);
bool deadline_passed(void);
void deadline_clear(void);
void delay_ms(u32 ms);
bool in_ram(u64 addr, u64 size);
u64 ram_end_below_4g(void);

/* pci.c: configuration mechanism #1 on bus 0 */
u32 pci_read(u32 bdf, u32 off, u32 len);
void pci_write(u32 bdf, u32 off, u32 v, u32 len);

/* vtest.c: the virtio-pci actions, and their interrupt handler */
void virtio_action(const char *act, const struct acpi_info *ai);
void dev_irq(u32 vector);
/* Device interrupts go here instead of dev_irq() while it is set. */
extern void (*dev_irq_hook)(u32 vector);

/* vmmio.c: the virtio-mmio actions (mmio-*, ioevent-read, bench-notify) */
void vmmio_action(const char *act, const struct acpi_info *ai,
		  const char *cmdline);

/* balloon.c: the virtio-balloon (virtio-mmio) actions */
void balloon_action(const char *act, const char *cmdline);

/*
 * cases.c: "bad <what>" lines and their count, the action's result line,
 * device interrupts counted per vector (by the actions' handlers).
 */
extern u32 nbad;
void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define CHECK(cond, ...)	do { if (!(cond)) bad(__VA_ARGS__); } while (0)

struct guest_case {
	const char *name;
	void (*run)(void);
};

/* Run the case named @act (fatal if there is none). */
void case_run(const char *act, const struct guest_case *cases, u32 n);
/* "<act> result=pass", or "result=fail bad=<n>". */
void case_result(const char *act);

extern volatile u32 irq_counts[IDT_VECTORS];
u32 irq_total(void);
/* Until vector @v has fired @count times in all, within @ms; false if not. */
bool irq_wait(u32 v, u32 count, u32 ms);
/* Any device interrupt beyond @seen within @ms (interrupts on)? */
bool irq_wait_any(u32 seen, u32 ms);

#endif
