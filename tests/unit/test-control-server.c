// SPDX-License-Identifier: GPL-2.0
/*
 * The control server's thread (control.c) when lkvm has run out of
 * descriptors (issue F4: 9P fids used them up, accept4 failed with EMFILE
 * and the thread spun at 100% CPU): it must wait, not spin, and serve the
 * queued client once descriptors are back. The VM side is stubbed.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "lkvm/balloon.h"
#include "lkvm/control.h"
#include "lkvm/kvm.h"
#include "lkvm/pause.h"
#include "test.h"

/* ---- what control.c needs from the VM ---- */

const char *const balloon_stat_names[BALLOON_NR_STATS];

int balloon_get_info(struct kvm *kvm __unused, struct balloon_info *info __unused,
		     int refresh_ms __unused)
{
	return -1;
}

int balloon_adjust(struct kvm *kvm __unused, bool inflate __unused, u64 bytes __unused,
		   char *err, size_t errlen)
{
	snprintf(err, errlen, "no balloon");
	return -1;
}

void kvm__request_stop(struct kvm *kvm __unused, int exit_code __unused,
		       const char *fmt __unused, ...)
{
}

int kvm__pause(struct kvm *kvm __unused, int timeout_ms __unused)
{
	return 0;
}

void kvm__resume(struct kvm *kvm __unused)
{
}

bool kvm__is_paused(struct kvm *kvm __unused)
{
	return false;
}

/* ---- the test ---- */

static struct kvm vm;

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void test_emfile_no_spin(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rlimit old, low;
	static int held[4096];
	int cfd, n = 0, i;
	char reply[256] = "";
	double cpu;
	ssize_t got = 0;

	vm.cfg.name = "unit-ctl-emfile";
	CHECK_EQ(ctl_server_start(&vm), 0);
	CHECK_EQ(ctl_sock_path(vm.cfg.name, sa.sun_path, sizeof(sa.sun_path)), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(cfd >= 0);

	/* Use up every descriptor below a low limit. */
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < (int)ARRAY_SIZE(held) && (held[n] = dup(0)) >= 0)
		n++;
	CHECK_EQ(errno, EMFILE);
	/* A client is queued; the server cannot accept it. */
	CHECK_EQ(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cpu = cpu_seconds();
	usleep(1500 * 1000);
	cpu = cpu_seconds() - cpu;
	printf("# %.3f s of CPU in 1.5 s without descriptors\n", cpu);
	CHECK(cpu < 0.05);

	/* Descriptors back: the queued client is served. */
	for (i = 0; i < n; i++)
		close(held[i]);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
	CHECK_EQ(send(cfd, "info\n", 5, MSG_NOSIGNAL), 5);
	for (;;) {
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = recv(cfd, reply + got, sizeof(reply) - 1 - got, 0);
		if (r <= 0)
			break;
		got += r;
	}
	CHECK(!strncmp(reply, "ok\n", 3));
	close(cfd);
	ctl_server_stop(&vm);
}

TEST_MAIN_BEGIN("test-control-server")
	char home[PATH_MAX], cmd[PATH_MAX + 16];
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(home, sizeof(home), "%s/lkvm-test-ctl.XXXXXX", base);
	if (!mkdtemp(home) || setenv("HOME", home, 1))
		return 2;
	RUN(test_emfile_no_spin);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd))
		return 1;
TEST_MAIN_END()
