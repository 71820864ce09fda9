// SPDX-License-Identifier: GPL-2.0
/*
 * The control channel's protocol and socket naming: valid requests, every
 * kind of malformed one (and random bytes), VM names, socket paths, the
 * socket directory's permissions and stale sockets; the JSON encoder and
 * lkvm list/stat --json against a fake VM that sends what it likes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/control.h"
#include "lkvm/json.h"
#include "test.h"

static int parse(const char *s, struct ctl_request *r)
{
	char err[128];

	return ctl_parse_request(s, strlen(s), r, err, sizeof(err));
}

static void test_parse_valid(void)
{
	static const struct {
		const char *line;
		enum ctl_cmd cmd;
	} plain[] = {
		{ "info\n", CTL_INFO }, { "stop\n", CTL_STOP }, { "pause\n", CTL_PAUSE },
		{ "resume\n", CTL_RESUME }, { "stat\n", CTL_STAT },
	};
	struct ctl_request r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(plain); i++) {
		CHECK_EQ(parse(plain[i].line, &r), 0);
		CHECK_EQ(r.cmd, plain[i].cmd);
	}
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

/* json_string(@in), or ctl_reply_json(@in) with @reply, must write @want. */
static void check_json(const char *in, const char *want, bool reply)
{
	char *out = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&out, &sz);

	if (reply)
		ctl_reply_json(f, in);
	else
		json_string(f, in);
	fclose(f);
	if (strcmp(out, want)) {
		CHECK(!"JSON output");
		printf("# %s: got %s, want %s\n", reply ? "ctl_reply_json" : "json_string",
		       out, want);
	}
	free(out);
}
#define check_json_string(in, want)	check_json(in, want, false)
#define check_reply_json(in, want)	check_json(in, want, true)

static void test_json_string(void)
{
	check_json_string("", "\"\"");
	check_json_string("/srv/vm disk.img", "\"/srv/vm disk.img\"");
	check_json_string("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_json_string("\"],\"pid\":1,\"x\":[\"", "\"\\\"],\\\"pid\\\":1,\\\"x\\\":[\\\"\"");
	check_json_string("l1\nl2\tt\r\x01\x1f\x7f", "\"l1\\nl2\\tt\\u000d\\u0001\\u001f\\u007f\"");
	/* Well-formed UTF-8 is kept: 2, 3 and 4 bytes, the edges of each range. */
	check_json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf",
			  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf\"");
	/* Everything else becomes U+FFFD, one per byte that starts nothing. */
	check_json_string("\x80", "\"\\ufffd\"");			/* lone continuation */
	check_json_string("\xc0\xaf", "\"\\ufffd\\ufffd\"");		/* overlong '/' */
	check_json_string("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong, 3 bytes */
	check_json_string("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate D800 */
	check_json_string("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	check_json_string("\xf5\xff\xfe", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json_string("a\xc3", "\"a\\ufffd\"");			/* truncated at the end */
	check_json_string("\xe2\x82", "\"\\ufffd\\ufffd\"");
	check_json_string("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json_string("\xe2\x82x", "\"\\ufffd\\ufffdx\"");
}

static void test_reply_json(void)
{
	check_reply_json("", "{}");
	check_reply_json("name vm1\npid 42\nstate running\n",
			 "{\"name\":\"vm1\",\"pid\":42,\"state\":\"running\"}");
	/* String keys stay strings, whatever their value looks like. */
	check_reply_json("name 42\nstate 0\nballoon 1\nballoon_reporting 2\n",
			 "{\"name\":\"42\",\"state\":\"0\",\"balloon\":\"1\","
			 "\"balloon_reporting\":\"2\"}");
	/* Numbers up to 2^64-1; anything else in a value is a string. */
	check_reply_json("rss_bytes 18446744073709551615\nx 18446744073709551616\n"
			 "y -1\nz 1.5\nw 0x10\nv \n",
			 "{\"rss_bytes\":18446744073709551615,\"x\":\"18446744073709551616\","
			 "\"y\":\"-1\",\"z\":\"1.5\",\"w\":\"0x10\",\"v\":\"\"}");
	/* Values with spaces and quotes, hostile bytes. */
	check_reply_json("path /a b/\"c\"\\\nq \x01\xff\n",
			 "{\"path\":\"/a b/\\\"c\\\"\\\\\",\"q\":\"\\u0001\\ufffd\"}");
	/* Lines that are not "key value", and a last line cut off. */
	check_reply_json("nospace\n value\nKey 1\nk\"ey 2\nk-y 3\nok 4\n\ncut 12",
			 "{\"ok\":4}");
}

/*
 * A fake VM on ~/.lkvm/<name>.sock: it answers every connection that
 * sends a request with @reply, whatever the request was, until @stop.
 */
struct fake_vm {
	char path[CTL_PATH_MAX];
	const char *reply;
	int lfd, requests;
	pthread_t thread;
};

static void *fake_vm_thread(void *arg)
{
	struct fake_vm *vm = arg;
	int fd;

	while ((fd = accept(vm->lfd, NULL, NULL)) >= 0) {
		char buf[CTL_REQ_MAX + 1];
		ssize_t n = read(fd, buf, sizeof(buf));

		/* lkvm list's liveness probe connects and sends nothing. */
		if (n > 0) {
			vm->requests++;
			if (write(fd, vm->reply, strlen(vm->reply)) < 0)
				break;
		}
		close(fd);
	}
	return NULL;
}

static int fake_vm_start(struct fake_vm *vm, const char *name, const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(vm, 0, sizeof(*vm));
	vm->reply = reply;
	if (ctl_make_sock_dir() || ctl_sock_path(name, vm->path, sizeof(vm->path)))
		return -1;
	strcpy(sa.sun_path, vm->path);
	vm->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (vm->lfd < 0 || bind(vm->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(vm->lfd, 4))
		return -1;
	return pthread_create(&vm->thread, NULL, fake_vm_thread, vm) ? -1 : 0;
}

static void fake_vm_stop(struct fake_vm *vm)
{
	shutdown(vm->lfd, SHUT_RDWR);	/* ends the accept() */
	pthread_join(vm->thread, NULL);
	close(vm->lfd);
	unlink(vm->path);
}

/* Run an lkvm command; its stdout into @out, its exit status returned. */
static int run_cmd(int (*fn)(int, const char **), const char **argv, char *out,
		   size_t len)
{
	char path[128];
	int fd, saved, argc = 0, st;
	ssize_t n;

	while (argv[argc])
		argc++;
	snprintf(path, sizeof(path), "%s/stdout", tmpdir);
	fflush(stdout);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	st = fn(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return st;
}

static void test_client_json(void)
{
	static const char *const list[] = { "list", "--json", NULL };
	static const char *const stat[] = { "stat", "--name", "vm-a", "--json", NULL };
	static const char *const stat_text[] = { "stat", "--name", "vm-a", NULL };
	static const char *const stat_b[] = { "stat", "-n", "vm-b", "--json", NULL };
	struct fake_vm a, b;
	char out[2048];

	setenv("HOME", tmpdir, 1);
	/* No VM at all: an empty array. */
	CHECK_EQ(run_cmd(cmd_list, (const char **)list, out, sizeof(out)), 0);
	CHECK(!strcmp(out, "[]\n"));

	CHECK_EQ(fake_vm_start(&a, "vm-a", "ok\nname vm-a\npid 7\nstate paused\n"
			       "rss_bytes 123\ndisk /x \"y\"\xff\n"), 0);
	CHECK_EQ(run_cmd(cmd_list, (const char **)list, out, sizeof(out)), 0);
	if (strcmp(out, "[{\"name\":\"vm-a\",\"pid\":7,\"state\":\"paused\","
		   "\"rss_bytes\":123,\"disk\":\"/x \\\"y\\\"\\ufffd\"}]\n")) {
		CHECK(!"list --json");
		printf("# list --json: %s", out);
	}
	CHECK_EQ(run_cmd(cmd_stat, (const char **)stat, out, sizeof(out)), 0);
	CHECK(!strncmp(out, "{\"name\":\"vm-a\",\"pid\":7,", 23));
	CHECK(!strcmp(out + strlen(out) - 2, "}\n"));
	/* Without --json, the lines as the VM sent them. */
	CHECK_EQ(run_cmd(cmd_stat, (const char **)stat_text, out, sizeof(out)), 0);
	CHECK(!strncmp(out, "name vm-a\npid 7\n", 16));

	/* A VM that answers with an error, then one that answers garbage. */
	CHECK_EQ(fake_vm_start(&b, "vm-b", "error no such thing\n"), 0);
	fprintf(stderr, "# expect two error messages next:\n");
	CHECK_EQ(run_cmd(cmd_stat, (const char **)stat_b, out, sizeof(out)), 1);
	CHECK(!strcmp(out, ""));
	b.reply = "{\"name\":\"evil\"}\n";
	CHECK_EQ(run_cmd(cmd_stat, (const char **)stat_b, out, sizeof(out)), 1);
	CHECK(!strcmp(out, ""));
	/* lkvm list leaves out a VM that does not answer "ok". */
	CHECK_EQ(run_cmd(cmd_list, (const char **)list, out, sizeof(out)), 0);
	CHECK(strstr(out, "vm-a") && !strstr(out, "evil") && !strstr(out, "vm-b"));
	CHECK(out[0] == '[' && !strcmp(out + strlen(out) - 2, "]\n"));
	CHECK(b.requests >= 3);
	fake_vm_stop(&b);
	fake_vm_stop(&a);
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
	RUN(test_json_string);
	RUN(test_reply_json);
	RUN(test_client_json);
	{
		char d[96];

		snprintf(d, sizeof(d), "%s/.lkvm", tmpdir);
		rmdir(d);
		rmdir(tmpdir);
	}
TEST_MAIN_END()
