/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny unit test harness. Each TEST() prints one line, "PASS: unit/<file>/
 * <name>" or "FAIL: unit/<file>/<name>: <first failed check>", which
 * tests/run counts. The exit status is non-zero when any test failed.
 */
#ifndef LKVM_TEST_H
#define LKVM_TEST_H

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

/* A test that hangs is a failure, not a stuck test run. */
#define TEST_TIMEOUT_S	120
#define TEST_STR_(x)	#x
#define TEST_STR(x)	TEST_STR_(x)

static const char *test_file, *test_current;
static int test_failed_checks, test_failures;
static char test_first_failure[256];

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			if (!test_failed_checks++)			\
				snprintf(test_first_failure,		\
					 sizeof(test_first_failure),	\
					 "line %d: %s", __LINE__, #cond); \
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		unsigned long long _a = (a), _b = (b);			\
		if (_a != _b && !test_failed_checks++)			\
			snprintf(test_first_failure,			\
				 sizeof(test_first_failure),		\
				 "line %d: %s == 0x%llx, expected 0x%llx", \
				 __LINE__, #a, _a, _b);			\
	} while (0)

static void test_put(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		_exit(2);
}

static void test_timed_out(int sig __attribute__((unused)))
{
	test_put("FAIL: unit/");
	test_put(test_file);
	test_put("/");
	test_put(test_current);
	test_put(": still running after " TEST_STR(TEST_TIMEOUT_S) " s (hung?)\n");
	_exit(1);
}

#define RUN(fn)								\
	do {								\
		test_failed_checks = 0;					\
		test_current = #fn;					\
		fflush(stdout);						\
		alarm(TEST_TIMEOUT_S);					\
		fn();							\
		alarm(0);						\
		if (test_failed_checks) {				\
			test_failures++;				\
			printf("FAIL: unit/%s/%s: %s\n", test_file, #fn,	\
			       test_first_failure);			\
		} else {						\
			printf("PASS: unit/%s/%s\n", test_file, #fn);	\
		}							\
		fflush(stdout);						\
	} while (0)

/* What lkvm prints on stderr between these two, for checking its messages. */
static char test_captured[1024];
static int test_capture_fd = -1, test_saved_err = -1;

static inline void test_capture_begin(void)
{
	char path[] = "/tmp/lkvm-test-stderr-XXXXXX";

	fflush(stderr);
	test_capture_fd = mkstemp(path);
	unlink(path);
	test_saved_err = dup(2);
	dup2(test_capture_fd, 2);
}

static inline const char *test_capture_end(void)
{
	ssize_t r;

	fflush(stderr);
	dup2(test_saved_err, 2);
	close(test_saved_err);
	r = pread(test_capture_fd, test_captured, sizeof(test_captured) - 1, 0);
	test_captured[r > 0 ? r : 0] = '\0';
	close(test_capture_fd);
	return test_captured;
}

static inline int test_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * COND, evaluated with lkvm's stderr captured (test_captured), holds and
 * lkvm said exactly one line, containing WHAT ("" for any): the way a
 * refusal must look.
 */
#define CHECK_ONE_LINE(cond, what)					\
	do {								\
		bool test_ok_;						\
									\
		test_capture_begin();					\
		test_ok_ = (cond);					\
		test_capture_end();					\
		CHECK(test_ok_ && #cond);				\
		CHECK_EQ(test_lines(test_captured), 1);			\
		CHECK(strstr(test_captured, what));			\
	} while (0)

/* xorshift64*: pseudo-random numbers, the same on every run and host. */
static inline uint64_t test_xorshift(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

/* system() of a formatted command line: its exit status (128: killed). */
static inline __attribute__((format(printf, 1, 2))) int test_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/*
 * In main(), for tests of qcow2 images: SKIP the file without qemu-img (the
 * oracle), else make the scratch directory @dir (a char array) from @tmpl.
 */
#define TEST_NEED_QEMU_IMG(dir, tmpl)					\
	do {								\
		if (test_sh("qemu-img --version >/dev/null 2>&1")) {	\
			printf("SKIP: unit/%s: qemu-img not installed (Debian qemu-utils)\n", \
			       test_file);				\
			return 0;					\
		}							\
		strcpy(dir, tmpl);					\
		if (!mkdtemp(dir)) {					\
			printf("FAIL: unit/%s: mkdtemp: %s\n", test_file, strerror(errno)); \
			return 1;					\
		}							\
	} while (0)

#define TEST_MAIN_BEGIN(name)						\
	int main(void)							\
	{								\
		test_file = name;					\
		signal(SIGALRM, test_timed_out);

#define TEST_MAIN_END()							\
		return test_failures ? 1 : 0;				\
	}

#endif
