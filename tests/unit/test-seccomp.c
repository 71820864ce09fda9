// SPDX-License-Identifier: GPL-2.0
/*
 * The thread filters (seccomp.c): each class's list installed in a forked
 * child, which then makes a call its class needs (it must work) or one it
 * must not make (the child must end with status 1 and the one line naming
 * its thread and the call).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "test.h"
#include "lkvm/disk.h"
#include "lkvm/kvm.h"
#include "lkvm/seccomp.h"

static char child_err[1024];

/*
 * Fork; the child installs @kind's filter (NULL: @fn does) and runs @fn, then exits 0
 * through exit(3) (the sanitizers' exit-time work runs under the filter
 * too). Returns the child's wait status; its stderr lands in child_err.
 */
static int in_child(const char *kind, void (*fn)(void))
{
	int pfd[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	child_err[0] = '\0';
	if (pipe(pfd) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		if (kind && thread_filter_install(kind, "tested"))
			_exit(3);
		fn();
		exit(0);
	}
	close(pfd[1]);
	while (got < (ssize_t)sizeof(child_err) - 1 &&
	       (n = read(pfd[0], child_err + got, sizeof(child_err) - 1 - got)) > 0)
		got += n;
	child_err[got] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return status;
}

static bool refused(int status, const char *call)
{
	char want[128];

	snprintf(want, sizeof(want),
		 "lkvm: seccomp: thread 'tested' made a forbidden system call %s (", call);
	return WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(child_err, want);
}

static bool worked(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && !child_err[0];
}

/* What every thread does: allocate, lock, read the time, write. */
static void everyday(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct timespec ts;
	void *big = malloc(8 << 20);
	int p[2];

	if (!big || pipe(p) < 0)
		_exit(4);
	memset(big, 1, 8 << 20);
	free(big);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (write(p[1], "x", 1) != 1 || getpid() < 0)
		_exit(5);
}

static void make_socket(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}

static void make_dir(void)
{
	mkdirat(AT_FDCWD, "/nonexistent/x", 0700);
}

static void exec_shell(void)
{
	char *argv[] = { "/bin/true", NULL };

	execve(argv[0], argv, NULL);
}

static void map_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void mprotect_exec(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
}

/* An ioctl the class does not use: TIOCSTI pushes input into a terminal. */
static void ioctl_tiocsti(void)
{
	char c = 'x';

	ioctl(STDIN_FILENO, TIOCSTI, &c);
}

static void ioctl_kvm_run(void)
{
	/* KVM_RUN on no vCPU: EBADF, not a violation. */
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		_exit(6);
}

static void open_write(void)
{
	openat(AT_FDCWD, "/nonexistent", O_WRONLY | O_CREAT, 0600);
}

static void p9_work(void)
{
	struct stat st;
	int fd = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY);

	if (fd < 0 || fstatat(fd, "tmp", &st, AT_SYMLINK_NOFOLLOW) < 0)
		_exit(7);
	/* fchmodat2 (452): a failure (no such file, or an older kernel), not a trap */
	if (syscall(452, fd, "no-such-file", 0600, 0) != -1)
		_exit(10);
	close(fd);
}

static void blk_work(void)
{
	char buf[16];
	int fd = open("/proc/self/stat", O_RDONLY);	/* open: done at set-up */

	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) <= 0 || fdatasync(fd) == 0)
		_exit(8);
}

static void control_work(void)
{
	/* accept4 on no socket: EBADF, not a violation. */
	if (accept4(-1, NULL, NULL, SOCK_CLOEXEC) != -1 || errno != EBADF)
		_exit(9);
}

static void test_every_class_runs_everyday_code(void)
{
	static const char *kinds[] = { "main", "vcpu", "blk", "disk-io", "net", "9p", "control",
				       "console-input", "rng", "console", "balloon" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		int st = in_child(kinds[i], everyday);

		if (!worked(st))
			fprintf(stderr, "%s: status 0x%x, stderr: %s\n", kinds[i], st, child_err);
		CHECK(worked(st));
	}
}

static void test_forbidden_calls_are_refused(void)
{
	static const struct {
		const char *kind;	/* the thread class's list */
		void (*fn)(void);
		const char *call;	/* the call the trap must name */
	} t[] = {
		{ "vcpu", make_socket, "socket" },
		{ "blk", make_socket, "socket" },
		{ "disk-io", make_socket, "socket" },
		{ "disk-io", make_dir, "mkdirat" },
		{ "net", make_dir, "mkdirat" },
		{ "9p", make_socket, "socket" },
		{ "9p", exec_shell, "execve" },
		{ "control", make_dir, "mkdirat" },
		{ "control", open_write, "openat" },
		{ "console-input", make_socket, "socket" },
		{ "rng", exec_shell, "execve" },
		{ "balloon", make_dir, "mkdirat" },
		{ "main", make_socket, "socket" },
		{ "main", exec_shell, "execve" },
		{ "vcpu", open_write, "openat" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		bool ok = refused(in_child(t[i].kind, t[i].fn), t[i].call);

		if (!ok)
			fprintf(stderr, "%s: %s not refused, stderr: %s\n",
				t[i].kind, t[i].call, child_err);
		CHECK(ok);
	}
}

static void test_no_executable_mappings(void)
{
	CHECK(refused(in_child("vcpu", map_exec), "mmap"));
	CHECK(refused(in_child("9p", mprotect_exec), "mprotect"));
}

static void test_ioctl_requests_are_checked(void)
{
	CHECK(worked(in_child("vcpu", ioctl_kvm_run)));
	CHECK(refused(in_child("vcpu", ioctl_tiocsti), "ioctl"));
	CHECK(refused(in_child("blk", ioctl_kvm_run), "ioctl"));
	CHECK(refused(in_child("disk-io", ioctl_kvm_run), "ioctl"));
}

/*
 * vhost-user (virtio-fs): a vCPU sends the back end guest RAM's memfd and a
 * ring's eventfd with SCM_RIGHTS and reads its reply; the device's worker
 * relays call eventfds and, as a balloon over a memfd does, punches holes.
 * The descriptors are made before the filter, as lkvm makes them at set-up.
 */
static int vu_sock[2] = { -1, -1 }, vu_efd = -1, vu_memfd = -1;

static void vhost_user_send(void)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl, rctl;
	int fds[2] = { vu_memfd, vu_efd }, got[2];
	char b = 'x';
	struct iovec iov = { &b, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	struct pollfd p = { .fd = vu_sock[1], .events = POLLIN };

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(vu_sock[0], &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		_exit(11);
	if (poll(&p, 1, 1000) != 1)
		_exit(12);
	msg.msg_control = rctl.buf;
	msg.msg_controllen = sizeof(rctl.buf);
	if (recvmsg(vu_sock[1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		_exit(13);
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(got)))
		_exit(14);
	memcpy(got, CMSG_DATA(c), sizeof(got));
	close(got[0]);
	close(got[1]);
}

static void vhost_user_worker(void)
{
	eventfd_t v;

	if (eventfd_write(vu_efd, 1) || eventfd_read(vu_efd, &v) || v != 1)
		_exit(15);
	if (fallocate(vu_memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096))
		_exit(16);
}

static void test_vhost_user_work_is_allowed(void)
{
	int st;

	vu_memfd = memfd_create("lkvm-test", MFD_CLOEXEC);
	vu_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(vu_memfd >= 0 && vu_efd >= 0 && ftruncate(vu_memfd, 1 << 16) == 0 &&
	      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, vu_sock) == 0);
	st = in_child("vcpu", vhost_user_send);
	if (!worked(st))
		fprintf(stderr, "vcpu: status 0x%x: %s\n", st, child_err);
	CHECK(worked(st));
	st = in_child("fs", vhost_user_worker);
	if (!worked(st))
		fprintf(stderr, "fs: status 0x%x: %s\n", st, child_err);
	CHECK(worked(st));
	/* The worker never talks to the back end. */
	CHECK(refused(in_child("fs", vhost_user_send), "sendmsg"));
	close(vu_sock[0]);
	close(vu_sock[1]);
	close(vu_efd);
	close(vu_memfd);
}

static void test_class_work_is_allowed(void)
{
	CHECK(worked(in_child("9p", p9_work)));
	CHECK(worked(in_child("blk", blk_work)));
	CHECK(worked(in_child("control", control_work)));
}

/*
 * The virtio-blk worker's disk work on a raw and a qcow2 image, opened at
 * set-up (unfiltered), then read, written, flushed, discarded and zeroed
 * under the "blk" list, and the vCPU's part (a reset drains the requests).
 */
static char raw_img[64], qcow_img[80];
static int disk_done_count;
static const char *disk_kind = "blk";

static void disk_done(struct disk_req *req __unused, ssize_t res)
{
	if (res >= 0)
		disk_done_count++;
}

static int disk_session(const char *path)
{
	static char buf[65536];
	struct disk_image *d = disk_open(path, false, false);
	struct iovec iov = { buf, sizeof(buf) };
	struct disk_req req[3] = {
		{ .op = DISK_WRITE, .offset = 0, .iov = &iov, .iovcnt = 1, .done = disk_done },
		{ .op = DISK_READ, .offset = 65536, .iov = &iov, .iovcnt = 1, .done = disk_done },
		{ .op = DISK_FLUSH, .done = disk_done },
	};
	int i, want = 0;

	if (!d)
		return 1;
	if (thread_filter_install(disk_kind, "tested"))
		return 2;
	for (i = 0; i < 3; i++) {
		disk_submit(d, &req[i]);
		want++;
	}
	disk_unplug(d);
	disk_drain(d);
	disk_complete(d);
	if (disk_flush_sync(d) || disk_discard_sync(d, 0, 65536) ||
	    disk_write_zeroes_sync(d, 65536, 65536, true))
		return 3;
	return disk_done_count == want ? 0 : 4;
}

/* lkvm closes disks on the main thread: here the image stays open, unchecked for leaks. */
static void raw_session(void)
{
	_exit(disk_session(raw_img));
}

static void qcow2_session(void)
{
	_exit(disk_session(qcow_img));
}

static void test_blk_disk_work_is_allowed(void)
{
	char cmd[160];
	int fd, st;

	snprintf(raw_img, sizeof(raw_img), "/tmp/lkvm-seccomp-raw.XXXXXX");
	fd = mkstemp(raw_img);
	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	st = in_child(NULL, raw_session);
	if (!worked(st))
		fprintf(stderr, "raw: status 0x%x: %s\n", st, child_err);
	CHECK(worked(st));
	snprintf(qcow_img, sizeof(qcow_img), "%s.qcow2", raw_img);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s 1M", qcow_img);
	if (system(cmd) == 0) {
		st = in_child(NULL, qcow2_session);
		if (!worked(st))
			fprintf(stderr, "qcow2: status 0x%x: %s\n", st, child_err);
		CHECK(worked(st));
		/*
		 * A disk's I/O thread does all of a qcow2 image's work
		 * (without an I/O thread here, disk_submit() does it on
		 * the calling thread, under that thread's list).
		 */
		disk_kind = "disk-io";
		st = in_child(NULL, qcow2_session);
		if (!worked(st))
			fprintf(stderr, "qcow2 (disk-io): status 0x%x: %s\n", st, child_err);
		CHECK(worked(st));
		disk_kind = "blk";
		unlink(qcow_img);
	} else {
		printf("# no qemu-img: the qcow2 session is left out\n");
	}
	unlink(raw_img);
}

TEST_MAIN_BEGIN("test-seccomp")
	RUN(test_every_class_runs_everyday_code);
	RUN(test_forbidden_calls_are_refused);
	RUN(test_no_executable_mappings);
	RUN(test_ioctl_requests_are_checked);
	RUN(test_class_work_is_allowed);
	RUN(test_vhost_user_work_is_allowed);
	RUN(test_blk_disk_work_is_allowed);
TEST_MAIN_END()
