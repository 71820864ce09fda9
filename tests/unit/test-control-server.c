// SPDX-License-Identifier: GPL-2.0
/*
 * The control server's thread (control.c) when lkvm has run out of
 * descriptors (issue F4: 9P fids used them up, accept4 failed with EMFILE
 * and the thread spun at 100% CPU): it must wait, not spin, and serve the
 * queued client once descriptors are back. Issue F6: a slow client must
 * not hold up the others; the socket appears only once it listens; `lkvm
 * list` leaves the socket of a VM that holds its name alone. The VM side is
 * stubbed.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
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

static int connect_vm(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || ctl_sock_path(name, sa.sun_path, sizeof(sa.sun_path)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The reply on @fd within @ms, or "" */
static void read_reply(int fd, char *buf, size_t len, int ms)
{
	size_t got = 0;

	buf[0] = '\0';
	while (got + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, ms) <= 0)
			break;
		r = recv(fd, buf + got, len - 1 - got, 0);
		if (r <= 0)
			break;
		got += r;
		buf[got] = '\0';
	}
}

static void test_slow_client_stalls_nobody(void)
{
	char reply[256];
	int slow, quick;
	u64 t;

	vm.cfg.name = "unit-ctl-slow";
	CHECK_EQ(ctl_server_start(&vm), 0);
	slow = connect_vm(vm.cfg.name);
	CHECK(slow >= 0);
	CHECK_EQ(send(slow, "in", 2, MSG_NOSIGNAL), 2);	/* and nothing more */
	usleep(100 * 1000);
	quick = connect_vm(vm.cfg.name);
	CHECK(quick >= 0);
	t = now_ns();
	CHECK_EQ(send(quick, "info\n", 5, MSG_NOSIGNAL), 5);
	read_reply(quick, reply, sizeof(reply), 1500);
	t = now_ns() - t;
	printf("# the second client's reply came after %.3f s\n", t / 1e9);
	CHECK(!strncmp(reply, "ok\n", 3));
	CHECK(t < 500 * 1000000ULL);
	/* The slow one gets its error at its own deadline. */
	read_reply(slow, reply, sizeof(reply), 4000);
	CHECK(strstr(reply, "error incomplete request") == reply);
	close(slow);
	close(quick);
	ctl_server_stop(&vm);
}

static void test_socket_appears_listening(void)
{
	char dir[CTL_PATH_MAX], buf[4096] __attribute__((aligned(8)));
	bool created = false, moved = false;
	int in, fd;
	ssize_t n;

	vm.cfg.name = "unit-ctl-appear";
	CHECK_EQ(ctl_make_sock_dir(), 0);
	CHECK_EQ(ctl_sock_dir(dir, sizeof(dir)), 0);
	in = inotify_init1(IN_NONBLOCK);
	CHECK(in >= 0);
	CHECK(inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO) >= 0);
	CHECK_EQ(ctl_server_start(&vm), 0);
	/* The name that clients look for arrives whole, by rename(2). */
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && !strcmp(ev->name, "unit-ctl-appear.sock")) {
				created |= !!(ev->mask & IN_CREATE);
				moved |= !!(ev->mask & IN_MOVED_TO);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	CHECK(moved);
	CHECK(!created);
	fd = connect_vm(vm.cfg.name);
	CHECK(fd >= 0);
	close(fd);
	close(in);
	ctl_server_stop(&vm);
}

int cmd_list(int argc, const char **argv);

static void test_list_spares_a_live_name(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *argv[] = { "list", NULL };
	int lock, s;

	/* A VM that holds its name but whose socket does not listen (yet). */
	CHECK_EQ(ctl_make_sock_dir(), 0);
	lock = ctl_lock_name("unit-ctl-live");
	CHECK(lock >= 0);
	CHECK_EQ(ctl_sock_path("unit-ctl-live", sa.sun_path, sizeof(sa.sun_path)), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(cmd_list(1, argv), 0);
	CHECK_EQ(access(sa.sun_path, F_OK), 0);
	/* Another VM cannot take the name meanwhile. */
	CHECK(ctl_lock_name("unit-ctl-live") < 0 && errno == EWOULDBLOCK);
	/* Once the name is free the socket is stale, and list removes it. */
	ctl_unlock_name("unit-ctl-live", lock);
	CHECK_EQ(cmd_list(1, argv), 0);
	CHECK(access(sa.sun_path, F_OK) < 0 && errno == ENOENT);
	close(s);
}

TEST_MAIN_BEGIN("test-control-server")
	char home[PATH_MAX], cmd[PATH_MAX + 16];
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(home, sizeof(home), "%s/lkvm-test-ctl.XXXXXX", base);
	if (!mkdtemp(home) || setenv("HOME", home, 1))
		return 2;
	RUN(test_emfile_no_spin);
	RUN(test_slow_client_stalls_nobody);
	RUN(test_socket_appears_listening);
	RUN(test_list_spares_a_live_name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd))
		return 1;
TEST_MAIN_END()
