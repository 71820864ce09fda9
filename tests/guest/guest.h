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

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(u16 port, u16 v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 mmio_read32(u64 addr)
{
	return *(volatile u32 *)phys(addr);
}

static inline void mmio_write32(u64 addr, u32 v)
{
	*(volatile u32 *)phys(addr) = v;
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
bool parse_u64(const char *s, u64 *out);

void serial_putc(char c);
int serial_getc(u32 max_polls);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
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
};

void acpi_report(u64 rsdp_hint, struct acpi_info *ai);
bool gas_write8(const struct gas *g, u8 v);

#endif
