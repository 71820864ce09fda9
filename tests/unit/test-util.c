// SPDX-License-Identifier: GPL-2.0
/*
 * util.c's small scanners and its UTC calendar conversion (what lkvm uses
 * instead of sscanf() and gmtime_r()), and the MAC address parser built on
 * them, against hostile and boundary input.
 */
#include <time.h>

#include "lkvm/kvm.h"
#include "lkvm/net.h"
#include "lkvm/util.h"
#include "test.h"

static void test_hex_digit(void)
{
	CHECK_EQ(hex_digit('0'), 0);
	CHECK_EQ(hex_digit('9'), 9);
	CHECK_EQ(hex_digit('a'), 10);
	CHECK_EQ(hex_digit('F'), 15);
	CHECK(hex_digit('g') < 0);
	CHECK(hex_digit('G') < 0);
	CHECK(hex_digit(':') < 0);
	CHECK(hex_digit('@') < 0);
	CHECK(hex_digit('\0') < 0);
	CHECK(hex_digit(0xc1) < 0);	/* 'A' | 0x80 */
}

static void test_words(void)
{
	char w[8];

	CHECK(!strcmp(skip_words("  a b\tc\n", 0), "a b\tc\n"));
	CHECK(!strcmp(skip_words("a b\tc\n", 2), "c\n"));
	CHECK(!strcmp(skip_words("a b", 5), ""));
	CHECK(!strcmp(skip_words("", 3), ""));
	copy_word(w, sizeof(w), "  1234 rest");
	CHECK(!strcmp(w, "1234"));
	copy_word(w, sizeof(w), "0123456789");		/* cut to fit */
	CHECK(!strcmp(w, "0123456"));
	copy_word(w, sizeof(w), "");
	CHECK(!strcmp(w, ""));
	copy_word(w, 1, "abc");
	CHECK(!strcmp(w, ""));
	memset(w, 'x', sizeof(w));
	copy_word(w, 0, "abc");				/* no room: untouched */
	CHECK_EQ(w[0], 'x');
	/* A /proc/self/mountinfo line: the mount point is the fifth word. */
	copy_word(w, sizeof(w), skip_words("22 1 0:21 / / rw - rootfs rootfs rw", 4));
	CHECK(!strcmp(w, "/"));
}

static bool same_tm(time_t t)
{
	struct tm a, b;

	if (!gmtime_r(&t, &a))
		return true;		/* out of glibc's range too */
	utc_time(t, &b);
	return a.tm_year == b.tm_year && a.tm_mon == b.tm_mon && a.tm_mday == b.tm_mday &&
	       a.tm_hour == b.tm_hour && a.tm_min == b.tm_min && a.tm_sec == b.tm_sec &&
	       a.tm_wday == b.tm_wday && a.tm_yday == b.tm_yday;
}

static void test_utc_time(void)
{
	/* Epoch, leap days and century years (2000 leap, 2100 not), 2038, negative. */
	static const time_t fixed[] = {
		0, 59, 86399, 86400, 951782400, 951868800, 951868799, 978307199,
		1709164800, 1709251199, 2147483647, 2147483648LL, 4107456000LL,
		4107542400LL, 4102444800LL, 253402300799LL, -1, -86400, -86401,
		-2208988800LL, -62135596800LL,
	};
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	unsigned int i, bad = 0;
	struct tm tm;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		if (!same_tm(fixed[i])) {
			bad++;
			printf("# utc_time(%lld) differs from gmtime_r()\n", (long long)fixed[i]);
		}
	/* Every day for 1000 years around now, at a shifting second. */
	for (i = 0; i < 365250; i++)
		bad += !same_tm((time_t)(i - 182625LL) * 86400 + (i * 7919) % 86400 +
				1700000000LL);
	/* And random instants over +-10000 years. */
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bad += !same_tm((time_t)(x % 631152000000ULL) - 315576000000LL);
	}
	CHECK_EQ(bad, 0);
	utc_time(1000000000, &tm);	/* 2001-09-09 01:46:40, a Sunday */
	CHECK_EQ(tm.tm_year, 101);
	CHECK_EQ(tm.tm_mon, 8);
	CHECK_EQ(tm.tm_mday, 9);
	CHECK_EQ(tm.tm_hour, 1);
	CHECK_EQ(tm.tm_min, 46);
	CHECK_EQ(tm.tm_sec, 40);
	CHECK_EQ(tm.tm_wday, 0);
}

static bool mac_ok(const char *mac, const u8 want[6])
{
	/* The parsed options point into a copy that lives with the config. */
	static struct kvm_config cfgs[16];
	static unsigned int n;
	struct kvm_config *cfg = &cfgs[n++ % ARRAY_SIZE(cfgs)];
	char arg[128];
	bool ok;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(arg, sizeof(arg), "tapif=t0,mode=tap,mac=%s", mac);
	ok = virtio_net_parse(cfg, arg) == 0;
	if (ok && want)
		ok = cfg->nr_nets == 1 && cfg->nets[0].mac_set && !memcmp(cfg->nets[0].mac, want, 6);
	return ok;
}

static void test_mac(void)
{
	static const u8 a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const u8 b[6] = { 0x02, 0x0a, 0x0b, 0x0c, 0x0d, 0xef };

	CHECK(mac_ok("52:54:00:12:34:56", a));
	CHECK(mac_ok("2:a:B:0c:D:eF", b));		/* one or two digits, any case */
	CHECK(!mac_ok("52:54:00:12:34", NULL));		/* five bytes */
	CHECK(!mac_ok("52:54:00:12:34:56:78", NULL));	/* seven */
	CHECK(!mac_ok("52:54:00:12:34:567", NULL));	/* three digits */
	CHECK(!mac_ok("52:54:00:12:34:5g", NULL));
	CHECK(!mac_ok("52-54-00-12-34-56", NULL));
	CHECK(!mac_ok("52:54::12:34:56", NULL));	/* an empty byte */
	CHECK(!mac_ok("52:54:00:12:34:56 ", NULL));	/* trailing junk */
	CHECK(!mac_ok(" 52:54:00:12:34:56", NULL));
	CHECK(!mac_ok("01:54:00:12:34:56", NULL));	/* multicast */
	CHECK(!mac_ok("00:00:00:00:00:00", NULL));
	CHECK(!mac_ok("", NULL));
}

TEST_MAIN_BEGIN("test-util")
	RUN(test_hex_digit);
	RUN(test_words);
	RUN(test_utc_time);
	RUN(test_mac);
TEST_MAIN_END()
