// SPDX-License-Identifier: GPL-2.0
/* The option parser and size parsing. */
#include <sys/wait.h>

#include <fcntl.h>
#include <sched.h>

#include "lkvm/builtin-run.h"
#include "lkvm/parse-options.h"
#include "test.h"

static const char *kernel, *params;
static u64 mem;
static int cpus;
static bool debug;
static int cb_calls;

static int cb(const struct option *opt, const char *arg)
{
	(void)opt;
	cb_calls++;
	return strcmp(arg, "bad") ? 0 : -1;
}

static int noarg_calls;
static const char *noarg_seen = "unset";

static int noarg_cb(const struct option *opt, const char *arg)
{
	(void)opt;
	noarg_calls++;
	noarg_seen = arg;
	return 0;
}

static const struct option opts[] = {
	OPTION_GROUP("g"),
	OPTION_STRING('k', "kernel", &kernel, "<f>", "kernel"),
	OPTION_STRING('p', "params", &params, "<p>", "params"),
	OPTION_SIZE('m', "mem", &mem, "<size>", "mem", SZ_1M),
	OPTION_INTEGER('c', "cpus", &cpus, "<n>", "cpus", 1, 255),
	OPTION_BOOLEAN(0, "debug", &debug, "debug"),
	OPTION_CALLBACK(0, "thing", NULL, "<x>", "thing", cb),
	{ .type = OPT_STRING, .long_name = "kern", .value = &kernel,
	  .flags = OPT_ALIAS, .help = "alias" },
	OPTION_CALLBACK_NOARG(0, "flag", NULL, "a callback without a value", noarg_cb),
	{ .type = OPT_BOOL, .long_name = "secret", .value = &debug,
	  .flags = OPT_HIDDEN, .help = "SECRET-HELP" },
	OPTION_END(),
};

static int parse(int argc, const char **argv)
{
	kernel = params = NULL;
	mem = 0;
	cpus = 0;
	debug = false;
	return parse_options(argc, argv, opts, "test");
}

static void test_forms(void)
{
	const char *a1[] = { "-k", "bz", "-m512", "--cpus=4", "--debug", "-p", "a=b c" };
	const char *a2[] = { "--kernel=x", "--mem", "2G", "-c", "0x10", "rest", "--", "-k", "y" };
	const char *a3[] = { "--kern", "z" };

	CHECK_EQ(parse(7, a1), 0);
	CHECK(kernel && !strcmp(kernel, "bz"));
	CHECK_EQ(mem, 512 * SZ_1M);
	CHECK_EQ(cpus, 4);
	CHECK(debug);
	CHECK(params && !strcmp(params, "a=b c"));

	CHECK_EQ(parse(9, a2), 3);
	CHECK(!strcmp(kernel, "x"));
	CHECK_EQ(mem, 2 * SZ_1G);
	CHECK_EQ(cpus, 16);
	CHECK(!strcmp(a2[0], "rest") && !strcmp(a2[1], "-k") && !strcmp(a2[2], "y"));

	CHECK_EQ(parse(2, a3), 0);
	CHECK(!strcmp(kernel, "z"));
}

static void test_errors(void)
{
	const char *unknown[] = { "--nope" }, *unknown_s[] = { "-Z" };
	const char *missing[] = { "-k" }, *badint[] = { "-c", "two" };
	const char *range[] = { "-c", "0" }, *range2[] = { "-c", "99999999999999999999" };
	const char *badsize[] = { "-m", "12Q" }, *negsize[] = { "-m", "-5" };
	const char *boolval[] = { "--debug=yes" }, *cbbad[] = { "--thing", "bad" };
	const char *help[] = { "-k", "x", "--help" };
	const char *ovf[] = { "-m", "99999999999999999G" };

	CHECK_EQ(parse(1, unknown), PARSE_OPT_ERROR);
	CHECK_EQ(parse(1, unknown_s), PARSE_OPT_ERROR);
	CHECK_EQ(parse(1, missing), PARSE_OPT_ERROR);
	CHECK_EQ(parse(2, badint), PARSE_OPT_ERROR);
	CHECK_EQ(parse(2, range), PARSE_OPT_ERROR);
	CHECK_EQ(parse(2, range2), PARSE_OPT_ERROR);
	CHECK_EQ(parse(2, badsize), PARSE_OPT_ERROR);
	CHECK_EQ(parse(2, negsize), PARSE_OPT_ERROR);
	CHECK_EQ(parse(2, ovf), PARSE_OPT_ERROR);
	CHECK_EQ(parse(1, boolval), PARSE_OPT_ERROR);
	cb_calls = 0;
	CHECK_EQ(parse(2, cbbad), PARSE_OPT_ERROR);
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(parse(3, help), PARSE_OPT_HELP);
}

static void test_noarg_hidden(void)
{
	const char *a1[] = { "--flag", "rest" }, *a2[] = { "--flag=x" };
	const char *a3[] = { "--secret" };
	char buf[4096] = "";
	FILE *f;

	noarg_calls = 0;
	CHECK_EQ(parse(2, a1), 1);	/* "rest" is not its value */
	CHECK_EQ(noarg_calls, 1);
	CHECK(noarg_seen == NULL);
	CHECK_EQ(parse(1, a2), PARSE_OPT_ERROR);
	CHECK_EQ(noarg_calls, 1);
	CHECK_EQ(parse(1, a3), 0);
	CHECK(debug);
	/* Hidden options parse but are not in the help. */
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	usage_with_options(f, "test", opts);
	fclose(f);
	CHECK(strstr(buf, "--flag") && !strstr(buf, "SECRET-HELP"));
}

static void test_loglevel(void)
{
	CHECK_EQ(lkvm_parse_loglevel("error"), LKVM_LOG_ERROR);
	CHECK_EQ(lkvm_parse_loglevel("warning"), LKVM_LOG_WARNING);
	CHECK_EQ(lkvm_parse_loglevel("info"), LKVM_LOG_INFO);
	CHECK_EQ(lkvm_parse_loglevel("debug"), LKVM_LOG_DEBUG);
	CHECK_EQ(lkvm_parse_loglevel(""), -1);
	CHECK_EQ(lkvm_parse_loglevel("Warning"), -1);
	CHECK_EQ(lkvm_parse_loglevel("warn"), -1);
}

/*
 * Every kvmtool option lkvm refuses: one line naming the option, an error
 * from the parser, whether given with a value or not, and no help entry.
 */
static void test_kvmtool_refusals(void)
{
	const struct option *r = kvmtool_refusals();
	char out[512];
	int p[2], n = 0, saved, nul;
	ssize_t len;

	for (; r->type != OPT_END; r++, n++) {
		char spelled[64];
		const char *a[2] = { spelled, "1" };
		const struct option one[] = { *r, OPTION_END() };

		CHECK(r->flags & OPT_HIDDEN);
		CHECK(r->cb == kvmtool_refuse && r->value && r->long_name);
		snprintf(spelled, sizeof(spelled), "--%s", r->long_name);
		if (pipe(p))
			return;
		saved = dup(2);
		dup2(p[1], 2);
		CHECK_EQ(parse_options((r->flags & OPT_NOARG) ? 1 : 2, a, one, "run"),
			 PARSE_OPT_ERROR);
		dup2(saved, 2);
		close(saved);
		close(p[1]);
		len = read(p[0], out, sizeof(out) - 1);
		close(p[0]);
		out[len > 0 ? len : 0] = '\0';
		CHECK(len > 0 && strstr(out, spelled) && strchr(out, '\n') == out + len - 1);
		/* A value glued on is refused too, never silently taken. */
		snprintf(spelled, sizeof(spelled), "--%s=1", r->long_name);
		saved = dup(2);
		nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(nul, 2);
		close(nul);
		CHECK_EQ(parse_options(1, a, one, "run"), PARSE_OPT_ERROR);
		dup2(saved, 2);
		close(saved);
	}
	/* The framebuffers, debug tracing, VFIO...: all there. */
	CHECK(n >= 14);
}

static void test_cpulist(void)
{
	static const char *const hostile[] = {
		"", "1024", "0-1024", "3-1", "-1", "1,", ",1", "1-", "1x", "1 ",
		"99999999999999999999999", "0-18446744073709551616",
	};
	unsigned long set[CPU_SETSIZE / (8 * sizeof(long))];
	unsigned int i;

	CHECK(parse_cpulist("0-3,6,8-9", set, CPU_SETSIZE) == 0);
	CHECK_EQ(set[0], 0x34f);
	CHECK(parse_cpulist("1023", set, CPU_SETSIZE) == 0);
	CHECK_EQ(set[1023 / (8 * sizeof(long))], 1UL << (1023 % (8 * sizeof(long))));
	CHECK_EQ(set[0], 0);
	/* Hostile lists: one error each, nothing out of bounds. */
	for (i = 0; i < ARRAY_SIZE(hostile); i++)
		CHECK(parse_cpulist(hostile[i], set, CPU_SETSIZE) == -1);
}

static void test_parse_size(void)
{
	u64 v;

	CHECK(parse_size("512", SZ_1M, &v) == 0 && v == 512 * SZ_1M);
	CHECK(parse_size("512M", 1, &v) == 0 && v == 512 * SZ_1M);
	CHECK(parse_size("64k", SZ_1M, &v) == 0 && v == 64 * SZ_1K);
	CHECK(parse_size("3GiB", SZ_1M, &v) == 0 && v == 3 * SZ_1G);
	CHECK(parse_size("1T", SZ_1M, &v) == 0 && v == 1024 * SZ_1G);
	CHECK(parse_size("0", SZ_1M, &v) == 0 && v == 0);
	CHECK(parse_size("", SZ_1M, &v) == -1);
	CHECK(parse_size("M", SZ_1M, &v) == -1);
	CHECK(parse_size("5MM", SZ_1M, &v) == -1);
	CHECK(parse_size("18446744073709551615", SZ_1M, &v) == -1);
	CHECK(parse_size(" 5", SZ_1M, &v) == -1);
}

/*
 * The hidden --list-options prints the table (aliases included, groups
 * left out) and exits with status 0; anywhere but first it is an unknown
 * option like any other.
 */
static void test_list_options(void)
{
	static const char want[] =
		"--help\t-h\t-\n"
		"--kernel\t-k\t<f>\n"
		"--params\t-p\t<p>\n"
		"--mem\t-m\t<size>\n"
		"--cpus\t-c\t<n>\n"
		"--debug\t-\t-\n"
		"--thing\t-\t<x>\n"
		"--kern\t-\t<arg>\n"
		"--flag\t-\t-\n"
		"--secret\t-\t-\n";
	const char *list[] = { "--list-options", "-k", "x" };
	const char *late[] = { "-k", "x", "--list-options" };
	char out[1024];
	int fds[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	CHECK(!pipe(fds));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		parse(3, list);
		_exit(3);	/* not reached: parse_options() exits */
	}
	close(fds[1]);
	while ((n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!strcmp(out, want));
	fprintf(stderr, "# expect an error message next:\n");
	CHECK_EQ(parse(3, late), (u64)PARSE_OPT_ERROR);
}

TEST_MAIN_BEGIN("options")
	RUN(test_forms);
	RUN(test_errors);
	RUN(test_parse_size);
	RUN(test_list_options);
	RUN(test_noarg_hidden);
	RUN(test_loglevel);
	RUN(test_cpulist);
	RUN(test_kvmtool_refusals);
TEST_MAIN_END()
