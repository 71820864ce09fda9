/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UTIL_H
#define LKVM_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define __unused		__attribute__((unused))
#define __noreturn		__attribute__((noreturn))
#define __printf(a, b)		__attribute__((format(printf, a, b)))

#define SZ_1K	0x400ULL
#define SZ_4K	0x1000ULL
#define SZ_64K	0x10000ULL
#define SZ_1M	0x100000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL
#define SZ_4G	0x100000000ULL

/* Little-endian fields in byte buffers (boot protocol, ACPI, ...). */
static inline void put_le16(u8 *p, u16 v) { p[0] = v; p[1] = v >> 8; }
static inline void put_le32(u8 *p, u32 v) { put_le16(p, v); put_le16(p + 2, v >> 16); }
static inline void put_le64(u8 *p, u64 v) { put_le32(p, v); put_le32(p + 4, v >> 32); }
static inline u16 get_le16(const u8 *p) { return p[0] | p[1] << 8; }
static inline u32 get_le32(const u8 *p) { return get_le16(p) | (u32)get_le16(p + 2) << 16; }
static inline u64 get_le64(const u8 *p) { return get_le32(p) | (u64)get_le32(p + 4) << 32; }

/* A little-endian value of @len (0 to 8) bytes, as guests access registers. */
static inline u64 get_le(const u8 *p, unsigned int len)
{
	u64 v = 0;

	while (len--)
		v = v << 8 | p[len];
	return v;
}

static inline void put_le(u8 *p, u64 v, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

/* A big-endian value of @len (0 to 8) bytes (qcow2's on-disk fields). */
static inline u64 get_be(const u8 *p, unsigned int len)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void put_be(u8 *p, u64 v, unsigned int len)
{
	while (len--) {
		p[len] = v;
		v >>= 8;
	}
}

/* Messages: all go to stderr, prefixed with "lkvm: ". */
extern bool lkvm_debug;
/*
 * kvmtool's --loglevel: errors are always printed, warnings down to
 * LKVM_LOG_WARNING, information down to LKVM_LOG_INFO (the default), and
 * pr_debug() only with lkvm_debug (--debug or --loglevel=debug).
 */
enum lkvm_loglevel { LKVM_LOG_ERROR, LKVM_LOG_WARNING, LKVM_LOG_INFO, LKVM_LOG_DEBUG };
extern enum lkvm_loglevel lkvm_loglevel;
/* "error", "warning", "info" or "debug"; -1 for anything else. */
int lkvm_parse_loglevel(const char *s);
void pr_err(const char *fmt, ...) __printf(1, 2);
void pr_warn(const char *fmt, ...) __printf(1, 2);
void pr_info(const char *fmt, ...) __printf(1, 2);
#define pr_debug(fmt, ...)						\
	do {								\
		if (unlikely(lkvm_debug))				\
			pr_info(fmt, ##__VA_ARGS__);			\
	} while (0)

/* Print one line and exit(1): for VMM errors where nothing can be saved. */
void die(const char *fmt, ...) __printf(1, 2) __noreturn;
void die_perror(const char *what) __noreturn;

void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

/*
 * Read exactly @len bytes (or to EOF) from @fd into @buf, retrying short
 * reads. Returns the number of bytes read, or -1 with errno set.
 */
ssize_t read_full(int fd, void *buf, size_t len);
ssize_t pread_full(int fd, void *buf, size_t len, off_t off);
ssize_t write_full(int fd, const void *buf, size_t len);
/* Close *@fd unless it is negative, and make it -1. */
void close_fd(int *fd);

/*
 * Parse a size such as "512", "512M", "2G", "65536K". Plain numbers are in
 * units of @default_unit bytes. Returns 0 and the size in bytes, or -1.
 */
int parse_size(const char *s, u64 default_unit, u64 *bytes);

/*
 * A CPU list as taskset and sysfs write it ("0-3,6,8-9") into @set, a
 * bitmap of @nbits bits. Returns 0, or -1 for anything else (empty items,
 * reversed ranges, CPUs at or beyond @nbits, trailing junk).
 */
int parse_cpulist(const char *s, unsigned long *set, unsigned int nbits);

/*
 * Small text scanners, for /proc files and replies: lkvm has no sscanf(),
 * whose static glibc implementation (scanf, and through it every strtod
 * variant) would be about 90 KiB of resident code in every VM.
 */
/* @c's value as a hex digit, or -1. */
int hex_digit(int c);
/* @s past its first @n blank-separated words and the blanks after them. */
const char *skip_words(const char *s, unsigned int n);
/* The word at @s (up to a blank or the end) into @dst of @size bytes, cut to fit. */
void copy_word(char *dst, size_t size, const char *s);

struct tm;
/*
 * UTC calendar time of @t, as gmtime_r() gives it, without glibc's gmtime_r(),
 * which reads the time zone files (and, statically linked, brings their
 * parser and sscanf with it) for a conversion that needs none.
 */
void utc_time(time_t t, struct tm *tm);

/* Monotonic time in nanoseconds. */
u64 now_ns(void);
/*
 * Every lkvm thread (vCPUs, device workers, console input, control) gets a
 * stack of LKVM_THREAD_STACK, not glibc's default of RLIMIT_STACK (8 MiB):
 * their deepest paths take a few KiB of locals (the largest are PATH_MAX
 * buffers), and an 8 MiB stack is big enough for a transparent huge page,
 * which on a THP=always host makes a single touch of it 2 MiB resident.
 * Returns pthread_create()'s result.
 */
#define LKVM_THREAD_STACK	(256 * 1024)
int lkvm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

/* now_ns() when lkvm started (its first constructor, just after exec). */
u64 lkvm_start_ns(void);

/*
 * Name a thread for ps -L, top -H and gdb ("vcpu0", "virtio-blk", ...):
 * cut to the kernel's 15 characters.
 */
void thread_set_name(pthread_t t, const char *fmt, ...) __printf(2, 3);

#endif
