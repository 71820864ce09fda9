// SPDX-License-Identifier: GPL-2.0
/* Messages, allocation and I/O helpers shared by every part of lkvm. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/util.h"

bool lkvm_debug;
enum lkvm_loglevel lkvm_loglevel = LKVM_LOG_INFO;

int lkvm_parse_loglevel(const char *s)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	/* Format into one buffer so lines from different threads don't mix. */
	n = snprintf(buf, sizeof(buf), "lkvm: %s", prefix);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	n = strlen(buf);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

#define DEFINE_MSG(fn, prefix, level)			\
void fn(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	if (lkvm_loglevel < (level) && !lkvm_debug)	\
		return;					\
	va_start(ap, fmt);				\
	vmsg(prefix, fmt, ap);				\
	va_end(ap);					\
}

DEFINE_MSG(pr_err, "", LKVM_LOG_ERROR)
DEFINE_MSG(pr_warn, "warning: ", LKVM_LOG_WARNING)
DEFINE_MSG(pr_info, "", LKVM_LOG_INFO)

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	exit(1);
}

void die_perror(const char *what)
{
	die("%s: %s", what, strerror(errno));
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

void *xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

/*
 * Read until @len bytes, EOF or an error, retrying on EINTR: at @off with
 * pread(), or from the file position when @off is negative.
 */
static ssize_t read_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? read(fd, (char *)buf + done, len - done) :
				      pread(fd, (char *)buf + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	return read_all(fd, buf, len, -1);
}

ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	return read_all(fd, buf, len, off);
}

ssize_t write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += n;
	}
	return done;
}

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int parse_size(const char *s, u64 default_unit, u64 *bytes)
{
	static const char suffixes[] = "kmgt";
	unsigned long long v;
	u64 unit = default_unit;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	if (*end) {
		/* K, M, G, T: powers of 1024 */
		const char *sfx = strchr(suffixes, tolower((unsigned char)*end));

		if (!sfx)
			return -1;
		unit = 1ULL << (10 * (sfx - suffixes + 1));
		end++;
		/* Accept an optional "B"/"iB" as in "512MiB" or "2GB". */
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		else if (end[0] == 'B')
			end++;
	}
	if (*end)
		return -1;
	if (unit && v > UINT64_MAX / unit)
		return -1;
	*bytes = v * unit;
	return 0;
}

u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * When lkvm started: stamped by its first constructor, right after exec
 * (and, for a dynamic build, the dynamic loader). --boot-timings counts
 * from here.
 */
static u64 start_ns;

static void __attribute__((constructor(101))) stamp_start(void)
{
	start_ns = now_ns();
}

u64 lkvm_start_ns(void)
{
	return start_ns;
}

int lkvm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, LKVM_THREAD_STACK);
	r = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return r;
}

int parse_cpulist(const char *s, unsigned long *set, unsigned int nbits)
{
	const unsigned int bpl = 8 * sizeof(*set);

	memset(set, 0, (nbits + bpl - 1) / bpl * sizeof(*set));
	do {
		unsigned long lo, hi, c;
		char *end;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		lo = hi = strtoul(s, &end, 10);
		if (*end == '-') {
			s = end + 1;
			if (*s < '0' || *s > '9')
				return -1;
			hi = strtoul(s, &end, 10);
		}
		if (errno || lo > hi || hi >= nbits)
			return -1;
		for (c = lo; c <= hi; c++)
			set[c / bpl] |= 1UL << (c % bpl);
		s = end;
	} while (*s++ == ',');
	return s[-1] ? -1 : 0;
}

void thread_set_name(pthread_t t, const char *fmt, ...)
{
	char name[16];		/* TASK_COMM_LEN */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	pthread_setname_np(t, name);
}

static bool is_leap(s64 y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

const char *skip_words(const char *s, unsigned int n)
{
	while (blank(*s))
		s++;
	while (n--) {
		while (*s && !blank(*s))
			s++;
		while (blank(*s))
			s++;
	}
	return s;
}

void copy_word(char *dst, size_t size, const char *s)
{
	size_t i = 0;

	if (!size)
		return;
	s = skip_words(s, 0);
	while (s[i] && !blank(s[i]) && i + 1 < size) {
		dst[i] = s[i];
		i++;
	}
	dst[i] = '\0';
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date, through 400-year eras
 * (146097 days each) counted from 0000-03-01, so that a leap day is the last
 * day of its year.
 */
void utc_time(time_t t, struct tm *tm)
{
	s64 days = t / 86400, secs = t % 86400, era, z;
	unsigned int doe, yoe, doy, mp;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	z = days + 719468;			/* days since 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;			/* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;		/* March = 0 */
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = doy - (153 * mp + 2) / 5 + 1;
	tm->tm_mon = mp < 10 ? mp + 2 : mp - 10;
	tm->tm_year = yoe + era * 400 + (tm->tm_mon < 2) - 1900;
	tm->tm_yday = tm->tm_mon >= 2 ? doy + 59 + is_leap(tm->tm_year + 1900) : doy - 306;
	tm->tm_wday = (int)(((days % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
	tm->tm_hour = secs / 3600;
	tm->tm_min = secs / 60 % 60;
	tm->tm_sec = secs % 60;
}
