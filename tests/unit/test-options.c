// SPDX-License-Identifier: GPL-2.0
/* The option parser and size parsing. */
#include <sys/wait.h>

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
		"--kern\t-\t<arg>\n";
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
TEST_MAIN_END()
