// SPDX-License-Identifier: GPL-2.0
/*
 * Small runtime of the test guest: string helpers, the serial console,
 * report formatting and the POSIX cksum CRC.
 */
#include "guest.h"

/* Polls of LSR before a byte is sent anyway. */
#define TX_MAX_POLLS	100000

void *memset(void *s, int c, size_t n)
{
	u8 *p = s;

	while (n--)
		*p++ = (u8)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *pa = a, *pb = b;

	for (; n; n--, pa++, pb++)
		if (*pa != *pb)
			return *pa - *pb;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			break;
	}
	return 0;
}

/* Decimal only; rejects empty strings, junk and overflow. */
bool parse_u64(const char *s, u64 *out)
{
	u64 v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (~0ULL - 9) / 10)
			return false;
		v = v * 10 + (u64)(*s - '0');
	}
	*out = v;
	return true;
}

/*
 * Every port access is a VM exit, so the LSR is only polled as long as it
 * behaves: once it failed to report an empty THR, bytes are sent blindly.
 */
static bool lsr_stuck;

void serial_putc(char c)
{
	u32 i;

	if (!lsr_stuck) {
		for (i = 0; !(inb(UART_LSR) & LSR_THR_EMPTY); i++) {
			if (i == TX_MAX_POLLS) {
				lsr_stuck = true;
				break;
			}
			cpu_relax();
		}
	}
	outb(UART_THR, (u8)c);
}

/* One received byte, or -1 if none arrived within max_polls LSR reads. */
int serial_getc(u32 max_polls)
{
	u32 i;

	for (i = 0; i < max_polls; i++) {
		if (inb(UART_LSR) & LSR_DATA_READY)
			return inb(UART_RBR);
		cpu_relax();
	}
	return -1;
}

static void put_str(const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		serial_putc(*s++);
}

static void put_num(u64 v, unsigned int base)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		serial_putc(buf[--n]);
}

/* Supports %s %c %d %u %x and the l modifier; that is all the guest uses. */
static void vformat(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool is_long = false;
		u64 v;

		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == 'l') {
			is_long = true;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			put_str(va_arg(ap, const char *));
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 'd':
			{
				long long sv = is_long ? va_arg(ap, long) :
						va_arg(ap, int);

				if (sv < 0) {
					serial_putc('-');
					v = -(u64)sv;
				} else {
					v = (u64)sv;
				}
				put_num(v, 10);
			}
			break;
		case 'u':
		case 'x':
			v = is_long ? va_arg(ap, unsigned long) :
				va_arg(ap, unsigned int);
			put_num(v, *fmt == 'u' ? 10 : 16);
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			serial_putc('%');
			serial_putc(*fmt);
			break;
		}
	}
}

void say(const char *fmt, ...)
{
	va_list ap;

	put_str("lkvmtest: ");
	va_start(ap, fmt);
	vformat(fmt, ap);
	va_end(ap);
	serial_putc('\n');
}

void vsay(const char *prefix, const char *fmt, va_list ap)
{
	put_str("lkvmtest: ");
	put_str(prefix);
	vformat(fmt, ap);
	serial_putc('\n');
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	put_str("lkvmtest: fatal ");
	va_start(ap, fmt);
	vformat(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	fail_stop();
}

/*
 * POSIX cksum: CRC-32 with polynomial 0x04c11db7, most significant bit
 * first, initial value 0, the length appended least significant byte
 * first (only as many bytes as it needs), result inverted.
 *
 * Ring 0 may be emulated instruction by instruction, so the data is
 * processed eight bytes per step with eight derived tables.
 */
#define CRC_POLY	0x04c11db7u

static u32 crc_tab[8][256];
static bool crc_ready;

static void crc_init(void)
{
	u32 i, k, c;

	for (i = 0; i < 256; i++) {
		c = i << 24;
		for (k = 0; k < 8; k++)
			c = (c & 0x80000000u) ? (c << 1) ^ CRC_POLY : c << 1;
		crc_tab[0][i] = c;
	}
	for (k = 1; k < 8; k++)
		for (i = 0; i < 256; i++) {
			c = crc_tab[k - 1][i];
			crc_tab[k][i] = (c << 8) ^ crc_tab[0][c >> 24];
		}
	crc_ready = true;
}

static inline u32 crc_byte(u32 crc, u8 b)
{
	return (crc << 8) ^ crc_tab[0][(crc >> 24) ^ b];
}

u32 posix_cksum(const u8 *p, u64 len)
{
	u64 n = len;
	u32 crc = 0;

	if (!crc_ready)
		crc_init();

	while (n && ((uintptr_t)p & 7)) {
		crc = crc_byte(crc, *p++);
		n--;
	}
	while (n >= 8) {
		u32 x = crc ^ __builtin_bswap32(get32(p));
		u32 y = get32(p + 4);

		crc = crc_tab[7][x >> 24] ^ crc_tab[6][(x >> 16) & 0xff] ^
		      crc_tab[5][(x >> 8) & 0xff] ^ crc_tab[4][x & 0xff] ^
		      crc_tab[3][y & 0xff] ^ crc_tab[2][(y >> 8) & 0xff] ^
		      crc_tab[1][(y >> 16) & 0xff] ^ crc_tab[0][y >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_byte(crc, *p++);

	for (; len; len >>= 8)
		crc = crc_byte(crc, (u8)len);
	return ~crc;
}
