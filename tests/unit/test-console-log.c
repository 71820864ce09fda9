// SPDX-License-Identifier: GPL-2.0
/*
 * --console-log (util/console-log.c, util/term.c): a guest that prints
 * without end must not fill the host's disk (issue F5). The log stops at
 * --console-log-max bytes with one line saying so; 0 means no limit.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/term.h"
#include "test.h"

void kvm__request_stop(struct kvm *kvm __unused, int exit_code __unused,
		       const char *fmt __unused, ...)
{
}

static char path[PATH_MAX];

/* A VM whose guest prints @total bytes in 100-byte writes; the log's size. */
static long long logged(u64 max, int total, char *tail, size_t tail_len)
{
	struct kvm vm = { 0 };
	char line[100];
	struct stat st;
	int i, devnull, saved, fd;

	memset(line, 'x', sizeof(line));
	term_init(&vm.term);
	vm.cfg.console_log = path;
	vm.cfg.console_log_max = max;
	if (init_run_stage(&vm, INIT_DEV))
		return -1;
	/* The console itself goes to /dev/null here. */
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDOUT_FILENO);
	for (i = 0; i < total; i += sizeof(line))
		term_write(&vm.term, line, sizeof(line));
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(devnull);
	init_run_exits(&vm);
	if (stat(path, &st) < 0)
		return -1;
	fd = open(path, O_RDONLY);
	memset(tail, 0, tail_len);
	if (fd >= 0 && st.st_size >= (off_t)tail_len - 1 &&
	    pread(fd, tail, tail_len - 1, st.st_size - (tail_len - 1)) < 0)
		tail[0] = '\0';
	if (fd >= 0)
		close(fd);
	return st.st_size;
}

static void test_log_stops_at_its_limit(void)
{
	char tail[32];
	long long size = logged(1000, 100000, tail, sizeof(tail));

	CHECK(size >= 1000);
	CHECK(size < 1200);
	CHECK(strstr(tail, "not logged]\n") != NULL);
}

static void test_limit_zero_keeps_everything(void)
{
	char tail[8];

	CHECK_EQ(logged(0, 100000, tail, sizeof(tail)), 100000);
}

TEST_MAIN_BEGIN("test-console-log")
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(path, sizeof(path), "%s/lkvm-console-log.XXXXXX", base);
	fd = mkstemp(path);
	if (fd < 0)
		return 2;
	close(fd);
	RUN(test_log_stops_at_its_limit);
	RUN(test_limit_zero_keeps_everything);
	unlink(path);
TEST_MAIN_END()
