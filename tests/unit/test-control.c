// SPDX-License-Identifier: GPL-2.0
/*
 * The control channel's protocol and socket naming: valid requests, every
 * kind of malformed one (and random bytes), VM names, socket paths, the
 * socket directory's permissions and stale sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/control.h"
#include "test.h"

static int parse(const char *s, struct ctl_request *r)
{
	char err[128];

	return ctl_parse_request(s, strlen(s), r, err, sizeof(err));
}

static void test_parse_valid(void)
{
	struct ctl_request r;

	CHECK_EQ(parse("info\n", &r), 0);
	CHECK_EQ(r.cmd, CTL_INFO);
	CHECK_EQ(parse("stop\n", &r), 0);
	CHECK_EQ(r.cmd, CTL_STOP);
	CHECK_EQ(parse("pause\n", &r), 0);
	CHECK_EQ(r.cmd, CTL_PAUSE);
	CHECK_EQ(parse("resume\n", &r), 0);
	CHECK_EQ(r.cmd, CTL_RESUME);
	CHECK_EQ(parse("stat\n", &r), 0);
	CHECK_EQ(r.cmd, CTL_STAT);
	CHECK_EQ(parse("balloon inflate 4096\n", &r), 0);
	CHECK_EQ(r.cmd, CTL_BALLOON);
	CHECK(r.inflate);
	CHECK_EQ(r.bytes, 4096);
	CHECK_EQ(parse("balloon deflate 18446744073709551615\n", &r), 0);
	CHECK(!r.inflate);
	CHECK_EQ(r.bytes, ~0ULL);
}

static void test_parse_malformed(void)
{
	static const char *const bad[] = {
		"",				/* nothing */
		"\n",				/* empty line */
		"stat",				/* no newline */
		"stat\n\n",			/* two lines */
		"stat\r\n",			/* CR */
		" stat\n", "stat \n", "balloon  inflate 1\n",	/* stray spaces */
		"STAT\n", "sta\n", "stats\n", "statt\n",	/* unknown words */
		"stop now\n", "info x\n",	/* extra arguments */
		"balloon\n", "balloon inflate\n", "balloon inflate 1 2\n",
		"balloon grow 1\n", "balloon Inflate 1\n",
		"balloon inflate 0\n",		/* nothing to do */
		"balloon inflate -1\n", "balloon inflate +1\n",
		"balloon inflate 0x10\n", "balloon inflate 1M\n",
		"balloon inflate 1.5\n", "balloon inflate 1e9\n",
		"balloon inflate 18446744073709551616\n",	/* 2^64 */
		"balloon inflate 99999999999999999999\n",
		"balloon inflate 000000000000000000001\n",	/* 21 digits */
		"stat\t\n", "st\x01t\n", "stat\x7f\n", "st\xc3\xa4t\n",
		"a b c d e\n",
	};
	struct ctl_request r;
	char err[128], big[CTL_REQ_MAX + 2];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		if (ctl_parse_request(bad[i], strlen(bad[i]), &r, err, sizeof(err)) != -1) {
			CHECK(!"accepted a malformed request");
			printf("# accepted: '%s'\n", bad[i]);
		}
		CHECK(err[0]);		/* with a reason */
	}
	/* An embedded NUL: the length, not the string, counts. */
	CHECK_EQ(ctl_parse_request("stat\0\n", 6, &r, err, sizeof(err)), (u64)-1);
	CHECK_EQ(ctl_parse_request("stat\n", 0, &r, err, sizeof(err)), (u64)-1);
	/* Longest allowed, and one byte more. */
	memset(big, 'a', sizeof(big));
	big[CTL_REQ_MAX - 1] = '\n';
	CHECK_EQ(ctl_parse_request(big, CTL_REQ_MAX, &r, err, sizeof(err)), (u64)-1);
	CHECK(strstr(err, "unknown command"));
	big[CTL_REQ_MAX] = '\n';
	CHECK_EQ(ctl_parse_request(big, CTL_REQ_MAX + 1, &r, err, sizeof(err)), (u64)-1);
	CHECK(strstr(err, "bytes"));
	/* A tiny error buffer is not overrun (ASan would say). */
	CHECK_EQ(ctl_parse_request("nope\n", 5, &r, err, 4), (u64)-1);
	CHECK_EQ(strlen(err), 3);
}

/* Random bytes and random mutations of valid requests never crash. */
static void test_parse_random(void)
{
	static const char *const seeds[] = { "stat\n", "balloon inflate 4096\n", "stop\n" };
	struct ctl_request r;
	char buf[CTL_REQ_MAX + 8], err[64];
	unsigned int i, j, ok = 0;

	srand(5);
	for (i = 0; i < 20000; i++) {
		size_t len;

		if (i & 1) {
			len = rand() % sizeof(buf);
			for (j = 0; j < len; j++)
				buf[j] = (char)(rand() & 0xff);
		} else {
			const char *s = seeds[rand() % ARRAY_SIZE(seeds)];

			len = strlen(s);
			memcpy(buf, s, len);
			buf[rand() % len] = (char)(rand() & 0xff);
		}
		if (!ctl_parse_request(buf, len, &r, err, sizeof(err))) {
			ok++;
			CHECK(r.cmd <= CTL_BALLOON);
			CHECK(buf[len - 1] == '\n');
		}
	}
	CHECK(ok > 0);		/* some mutations stay valid ("stop" -> "stop") */
}

static void test_format(void)
{
	struct ctl_request in = { .cmd = CTL_BALLOON, .inflate = true, .bytes = 1ULL << 40 };
	struct ctl_request out;
	char buf[CTL_REQ_MAX], err[64];
	int n;

	n = ctl_format_request(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ(ctl_parse_request(buf, n, &out, err, sizeof(err)), 0);
	CHECK_EQ(out.cmd, CTL_BALLOON);
	CHECK(out.inflate);
	CHECK_EQ(out.bytes, 1ULL << 40);
	for (in.cmd = CTL_INFO; in.cmd < CTL_BALLOON; in.cmd++) {
		n = ctl_format_request(&in, buf, sizeof(buf));
		CHECK(n > 0 && !ctl_parse_request(buf, n, &out, err, sizeof(err)));
		CHECK_EQ(out.cmd, in.cmd);
	}
	CHECK_EQ(ctl_format_request(&in, buf, 5), (u64)-1);
	in.cmd = 99;
	CHECK_EQ(ctl_format_request(&in, buf, sizeof(buf)), (u64)-1);
}

static void test_names(void)
{
	char long_ok[CTL_NAME_MAX + 1], too_long[CTL_NAME_MAX + 2];

	CHECK(ctl_name_valid("guest-1234"));
	CHECK(ctl_name_valid("a"));
	CHECK(ctl_name_valid("my_vm.2"));
	CHECK(!ctl_name_valid(""));
	CHECK(!ctl_name_valid(NULL));
	CHECK(!ctl_name_valid("."));
	CHECK(!ctl_name_valid(".."));
	CHECK(!ctl_name_valid(".hidden"));
	CHECK(!ctl_name_valid("-rf"));
	CHECK(!ctl_name_valid("a/b"));
	CHECK(!ctl_name_valid("../x"));
	CHECK(!ctl_name_valid("a b"));
	CHECK(!ctl_name_valid("a\nb"));
	CHECK(!ctl_name_valid("caf\xc3\xa9"));
	memset(long_ok, 'x', CTL_NAME_MAX);
	long_ok[CTL_NAME_MAX] = '\0';
	CHECK(ctl_name_valid(long_ok));
	memset(too_long, 'x', CTL_NAME_MAX + 1);
	too_long[CTL_NAME_MAX + 1] = '\0';
	CHECK(!ctl_name_valid(too_long));
}

static char tmpdir[64];

static void test_paths(void)
{
	char path[CTL_PATH_MAX], longhome[200];

	setenv("HOME", "/home/someone", 1);
	CHECK_EQ(ctl_sock_path("vm1", path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/home/someone/.lkvm/vm1.sock"));
	CHECK_EQ(ctl_sock_path("../vm1", path, sizeof(path)), (u64)-1);
	CHECK_EQ(ctl_sock_path("vm1", path, 10), (u64)-1);
	/* A path that doesn't fit in sun_path is refused, not truncated. */
	memset(longhome, 'h', sizeof(longhome));
	longhome[0] = '/';
	longhome[sizeof(longhome) - 1] = '\0';
	setenv("HOME", longhome, 1);
	CHECK_EQ(ctl_sock_path("vm1", path, sizeof(path)), (u64)-1);
	longhome[CTL_PATH_MAX - 20] = '\0';
	setenv("HOME", longhome, 1);
	CHECK_EQ(ctl_sock_path("vm1", path, sizeof(path)), 0);
	CHECK_EQ(ctl_sock_path("vm1-with-a-long-name", path, sizeof(path)), (u64)-1);
	/* A relative or missing HOME is not used. */
	setenv("HOME", "relative", 1);
	CHECK_EQ(ctl_sock_path("vm1", path, sizeof(path)), (u64)-1);
	unsetenv("HOME");
	CHECK_EQ(ctl_sock_path("vm1", path, sizeof(path)), (u64)-1);
	setenv("HOME", tmpdir, 1);
}

static void test_sock_dir(void)
{
	char dir[CTL_PATH_MAX];
	struct stat st;

	setenv("HOME", tmpdir, 1);
	CHECK_EQ(ctl_sock_dir(dir, sizeof(dir)), 0);
	CHECK_EQ(ctl_make_sock_dir(), 0);
	CHECK(!stat(dir, &st) && S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700);
	/* Too open: made private again. */
	chmod(dir, 0777);
	CHECK_EQ(ctl_make_sock_dir(), 0);
	CHECK(!stat(dir, &st) && (st.st_mode & 0777) == 0700);
	/* Not a directory: refused. */
	rmdir(dir);
	close(open(dir, O_CREAT | O_WRONLY, 0600));
	fprintf(stderr, "# expect an error message next:\n");
	CHECK_EQ(ctl_make_sock_dir(), (u64)-1);
	unlink(dir);
	CHECK_EQ(ctl_make_sock_dir(), 0);
}

static void test_stale_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[CTL_PATH_MAX];
	int l, c;

	setenv("HOME", tmpdir, 1);
	CHECK_EQ(ctl_make_sock_dir(), 0);
	CHECK_EQ(ctl_sock_path("stale", path, sizeof(path)), 0);
	/* No socket at all. */
	CHECK_EQ(ctl_connect_path(path), (u64)-1);
	CHECK_EQ(errno, ENOENT);
	/* A listening socket accepts... */
	strcpy(sa.sun_path, path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(l >= 0 && !bind(l, (struct sockaddr *)&sa, sizeof(sa)) && !listen(l, 1));
	c = ctl_connect_path(path);
	CHECK(c >= 0);
	close(c);
	/* ...and once its owner is gone, what is left refuses connections. */
	close(l);
	CHECK_EQ(ctl_connect_path(path), (u64)-1);
	CHECK_EQ(errno, ECONNREFUSED);
	unlink(path);
}

TEST_MAIN_BEGIN("test-control")
	strcpy(tmpdir, "/tmp/lkvm-ctl-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("FAIL: unit/test-control/setup: mkdtemp\n");
		return 1;
	}
	RUN(test_parse_valid);
	RUN(test_parse_malformed);
	RUN(test_parse_random);
	RUN(test_format);
	RUN(test_names);
	RUN(test_paths);
	RUN(test_sock_dir);
	RUN(test_stale_socket);
	{
		char d[96];

		snprintf(d, sizeof(d), "%s/.lkvm", tmpdir);
		rmdir(d);
		rmdir(tmpdir);
	}
TEST_MAIN_END()
