// SPDX-License-Identifier: GPL-2.0
/*
 * The user-mode network backend (-n mode=user): passt, a separate,
 * self-sandboxing process from Debian's passt package, does DHCP, DNS, NDP
 * and the host's side of every connection with ordinary sockets, so no
 * privilege is needed. lkvm has no TCP/IP stack of its own.
 *
 * lkvm starts passt on one end of a socket pair (`passt --fd N -1`: that
 * one client, and passt exits when lkvm does), or connects to the socket of
 * a passt started by the user (`socket=PATH`). On that stream each
 * Ethernet frame is preceded by its length, 32 bits big-endian (QEMU's
 * stream netdev framing). passt takes and gives complete frames: no
 * virtio-net header, no partial checksums, no GSO, so the NIC offers no
 * offloads in this mode and the header is dropped or zeroed here.
 *
 * The guest's addresses are fixed, as QEMU's user-mode network has them
 * (include/lkvm/net.h), so scripts and the sandbox know them in advance.
 *
 * Readiness: passt writes its pid file (-P) once it is set up, so lkvm
 * hands it the write end of a pipe as that file and waits for the line;
 * end of file instead means passt gave up, and the last line it printed
 * (its stderr is another pipe) says why. Port forwards are checked here
 * first: passt only warns about a port it cannot bind.
 *
 * Sending never waits on passt alone. passt finishes a frame it could only
 * partly write to lkvm with blocking writes, and reads nothing meanwhile;
 * an lkvm blocked sending to it (the guest's ACKs during a download, say)
 * would never read what passt is writing: both stuck. So while a send has
 * to wait, what passt sends is read and dropped (whole frames: the stream
 * stays in step; TCP sends them again), which lets passt get back to
 * reading.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/net.h"
#include "lkvm/virtio.h"

#define PASST_START_TIMEOUT_MS	10000
#define PASST_SEND_TIMEOUT_MS	2000	/* passt took nothing and sent nothing */
#define PASST_DRAIN_FRAMES	64	/* frames dropped per wait, then poll again */
#define ETH_MIN_HDR		14

struct passt {
	pid_t pid;		/* the passt lkvm started, or 0 */
	int err_fd;		/* its stderr (a pipe), or -1 */
	bool dead;
	/* The frame being read: its length field, then its bytes. */
	u8 lenbuf[4];
	unsigned int have_len;
	u32 len, got;
	bool skip;		/* too long or too short: read and dropped */
	struct iovec txv[VIRTQ_MAX_SEGS + 1];
	u8 *drain;		/* where frames dropped during a send go */
	unsigned long dropped;	/* frames from passt dropped that way */
};

const char *passt_find(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, buf[4096];
	const char *found = NULL;

	copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/passt", *dir ? dir : ".");
		if (!access(buf, X_OK)) {
			found = xstrdup(buf);
			break;
		}
	}
	free(copy);
	if (!found)
		pr_err("network: mode=user needs passt, which is not installed "
		       "(Debian package: passt)");
	return found;
}

/* Print what passt said (debug), keeping its pipe from filling up. */
static void drain_log(struct passt *p)
{
	char buf[1024];
	ssize_t r;

	while (p->err_fd >= 0 && (r = read(p->err_fd, buf, sizeof(buf) - 1)) > 0) {
		buf[r] = '\0';
		pr_debug("passt: %s", buf);
	}
}

static void passt_gone(struct net_backend *b, const char *why)
{
	struct passt *p = b->priv;
	int st;

	if (p->dead)
		return;
	p->dead = true;
	drain_log(p);
	if (p->pid > 0 && waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->pid = 0;
		pr_err("network: passt exited (status %d); the guest's network is down",
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	} else {
		pr_err("network: lost passt (%s); the guest's network is down", why);
	}
}

static ssize_t passt_recv(struct net_backend *b, int q __unused, u8 *buf)
{
	struct passt *p = b->priv;
	int fd = b->fds[0];
	ssize_t r;

	if (p->dead)
		return -1;
	for (;;) {
		if (p->have_len < 4) {
			r = recv(fd, p->lenbuf + p->have_len, 4 - p->have_len, MSG_DONTWAIT);
		} else {
			/* Dropped bytes land in @buf too: no frame is in it meanwhile. */
			u32 want = p->len - p->got;

			if (p->skip && want > NET_MAX_FRAME)
				want = NET_MAX_FRAME;
			r = recv(fd, buf + NET_VNET_HDR_LEN + (p->skip ? 0 : p->got), want,
				 MSG_DONTWAIT);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			drain_log(p);	/* idle now: a good time */
			return 0;
		}
		if (r <= 0) {
			passt_gone(b, r ? strerror(errno) : "end of stream");
			return -1;
		}
		if (p->have_len < 4) {
			p->have_len += r;
			if (p->have_len < 4)
				continue;
			p->len = (u32)p->lenbuf[0] << 24 | p->lenbuf[1] << 16 |
				 p->lenbuf[2] << 8 | p->lenbuf[3];
			p->got = 0;
			/* The length is passt's word only: never more than the buffer. */
			p->skip = p->len < ETH_MIN_HDR || p->len > NET_MAX_FRAME;
			if (p->skip)
				pr_debug("network: passt: dropping a %u-byte frame", p->len);
			if (!p->len)
				p->have_len = 0;
			continue;
		}
		p->got += r;
		if (p->got < p->len)
			continue;
		p->have_len = 0;
		if (p->skip)
			continue;
		/* Complete frames: nothing for the guest to finish. */
		memset(buf, 0, NET_VNET_HDR_LEN);
		return NET_VNET_HDR_LEN + p->len;
	}
}

/*
 * Read and drop what passt has sent, while a send waits: false once passt
 * is gone. A frame left half read goes too: its start is not in the
 * receive path's buffer.
 */
static bool passt_drain(struct net_backend *b)
{
	struct passt *p = b->priv;
	ssize_t r = 0;
	int i;

	if (!p->drain)
		p->drain = xmalloc(NET_VNET_HDR_LEN + NET_MAX_FRAME);
	for (i = 0; i < PASST_DRAIN_FRAMES; i++) {
		r = passt_recv(b, 0, p->drain);
		if (r <= 0)
			break;
		p->dropped++;
	}
	if (r < 0)
		return false;
	if (p->have_len == 4 && p->got)
		p->skip = true;
	return true;
}

/*
 * Wait until passt can take more: true, or false when it is gone or has
 * neither read nor written for PASST_SEND_TIMEOUT_MS.
 */
static bool passt_wait_writable(struct net_backend *b)
{
	struct pollfd pfd = { .fd = b->fds[0], .events = POLLIN | POLLOUT };
	int r;

	for (;;) {
		r = poll(&pfd, 1, PASST_SEND_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			passt_gone(b, r ? strerror(errno) : "it stopped reading");
			return false;
		}
		if (pfd.revents & POLLOUT)
			return true;
		if (pfd.revents & POLLIN) {
			if (!passt_drain(b))
				return false;
			continue;
		}
		passt_gone(b, "it hung up");
		return false;
	}
}

static void passt_send(struct net_backend *b, int q __unused, const struct iovec *iov,
		       unsigned int n)
{
	struct passt *p = b->priv;
	struct msghdr msg = { .msg_iov = p->txv };
	size_t skip = NET_VNET_HDR_LEN, len = 0;
	unsigned int i, nv = 1;
	u8 lenbuf[4];

	if (p->dead)
		return;
	/* The frame without its header, behind its length. */
	for (i = 0; i < n && nv < ARRAY_SIZE(p->txv); i++) {
		if (iov[i].iov_len <= skip) {
			skip -= iov[i].iov_len;
			continue;
		}
		p->txv[nv].iov_base = (u8 *)iov[i].iov_base + skip;
		p->txv[nv].iov_len = iov[i].iov_len - skip;
		len += p->txv[nv++].iov_len;
		skip = 0;
	}
	if (len < ETH_MIN_HDR || len > NET_MAX_FRAME)
		return;
	lenbuf[0] = len >> 24;
	lenbuf[1] = len >> 16;
	lenbuf[2] = len >> 8;
	lenbuf[3] = len;
	p->txv[0].iov_base = lenbuf;
	p->txv[0].iov_len = 4;
	msg.msg_iovlen = nv;
	/* All of it or nothing more: a partial frame would desynchronise the stream. */
	while (msg.msg_iovlen) {
		ssize_t r = sendmsg(b->fds[0], &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!passt_wait_writable(b))
				return;
			continue;
		}
		if (r < 0) {
			passt_gone(b, strerror(errno));
			return;
		}
		while (msg.msg_iovlen && (size_t)r >= msg.msg_iov->iov_len) {
			r -= msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (u8 *)msg.msg_iov->iov_base + r;
			msg.msg_iov->iov_len -= r;
		}
	}
}

static void passt_close(struct net_backend *b)
{
	struct passt *p = b->priv;
	int i;

	for (i = 0; i < b->nr_fds; i++)
		close(b->fds[i]);
	b->nr_fds = 0;
	if (!p)
		return;
	/* With -1 passt leaves when its client does; make sure, and reap it. */
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (p->err_fd >= 0)
		close(p->err_fd);
	if (p->dropped)
		pr_debug("network: passt: %lu frames dropped while sends waited", p->dropped);
	free(p->drain);
	free(p);
	b->priv = NULL;
}

static void passt_hangup(struct net_backend *b)
{
	passt_gone(b, "it hung up");
}

static const struct net_backend_ops passt_ops = {
	.hangup = passt_hangup,
	.recv = passt_recv,
	.send = passt_send,
	.close = passt_close,
};

int passt_attach(struct net_backend *b, int fd)
{
	struct passt *p = xzalloc(sizeof(*p));

	memset(b, 0, sizeof(*b));
	b->ops = &passt_ops;
	b->priv = p;
	snprintf(b->name, sizeof(b->name), "passt");
	p->err_fd = -1;
	/* Every call says MSG_DONTWAIT; sends wait in poll (passt_wait_writable). */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	b->fds[b->nr_fds++] = fd;
	return 0;
}

/* Is a forwarded host port free? passt would only warn. */
static int port_free(const struct net_fwd *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->host_port) };
	int s = socket(AF_INET, (f->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0), one = 1;
	int r;

	if (s < 0)
		return 0;	/* no IPv4 here: let passt decide */
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	r = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	close(s);
	if (r < 0 && errno == EADDRINUSE) {
		pr_err("network: hostfwd: host %s port %u is in use", f->udp ? "UDP" : "TCP",
		       f->host_port);
		return -1;
	}
	return 0;
}

static int connect_socket(struct net_backend *b, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("network: passt socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		pr_err("network: cannot connect to passt at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return passt_attach(b, fd);
}

/* The last non-empty line of what a failed passt printed. */
static void last_line(int fd, char *out, size_t size)
{
	char buf[4096], *line, *save = NULL;
	size_t have = 0;
	ssize_t r;

	snprintf(out, size, "no message");
	while (have < sizeof(buf) - 1 &&
	       (r = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += r;
	buf[have] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (*line)
			snprintf(out, size, "%s", line);
}

int passt_open(struct net_backend *b, const struct net_config *nc)
{
	int sv[2], pidp[2] = { -1, -1 }, errp[2] = { -1, -1 }, i, argc;
	char fdarg[16], pidarg[32], fwd[NET_MAX_FWDS][32], why[256], line[32];
	const char *argv[24 + 2 * NET_MAX_FWDS];
	const char *const fixed_args[] = {
		nc->passt, "--foreground", "--quiet", "--one-off",
		"--fd", fdarg, "--pid", pidarg,
		/*
		 * QEMU's user-mode addresses, the same on every host (passt would
		 * copy the host's): the gateway is the host's loopback, 10.0.2.3
		 * its DNS.
		 */
		"--address", NET_USER_GUEST, "--netmask", NET_USER_PREFIX,
		"--gateway", NET_USER_GATEWAY, "--dns", NET_USER_DNS,
		"--dns-forward", NET_USER_DNS,
	};
	struct pollfd pfd;
	struct passt *p;
	ssize_t r;
	size_t have = 0;
	pid_t pid;

	if (nc->socket)
		return connect_socket(b, nc->socket);
	for (i = 0; i < nc->nr_fwds; i++)
		if (port_free(&nc->fwds[i]))
			return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(pidp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		pr_err("network: passt: %s", strerror(errno));
		return -1;
	}
	/* passt, started as root, drops to nobody before it opens its pid file. */
	fchmod(pidp[1], 0622);

	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	snprintf(pidarg, sizeof(pidarg), "/proc/self/fd/%d", pidp[1]);
	for (argc = 0; argc < (int)ARRAY_SIZE(fixed_args); argc++)
		argv[argc] = fixed_args[argc];
	for (i = 0; i < nc->nr_fwds; i++) {
		snprintf(fwd[i], sizeof(fwd[i]), "%u:%u", nc->fwds[i].host_port,
			 nc->fwds[i].guest_port);
		argv[argc++] = nc->fwds[i].udp ? "-u" : "-t";
		argv[argc++] = fwd[i];
	}
	/* Nothing else: passt maps only what it is asked to (no -t/-u: none). */
	argv[argc] = NULL;

	pid = fork();
	if (pid < 0) {
		pr_err("network: fork: %s", strerror(errno));
		goto fail;
	}
	if (!pid) {
		/* Only async-signal-safe calls until exec: other threads exist. */
		int null = open("/dev/null", O_RDONLY);
		sigset_t none;

		if (null >= 0)
			dup2(null, 0);
		dup2(errp[1], 1);
		dup2(errp[1], 2);
		fcntl(sv[1], F_SETFD, 0);
		fcntl(pidp[1], F_SETFD, 0);
		/* lkvm ignores SIGPIPE; neither that nor a blocked signal is passt's. */
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	close(pidp[1]);
	close(errp[1]);
	sv[1] = pidp[1] = errp[1] = -1;

	/* Ready when its pid line arrives; end of file means it gave up. */
	pfd.fd = pidp[0];
	pfd.events = POLLIN;
	while (have < sizeof(line) - 1 && !memchr(line, '\n', have)) {
		int pr = poll(&pfd, 1, PASST_START_TIMEOUT_MS);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		r = read(pidp[0], line + have, sizeof(line) - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += r;
	}
	close(pidp[0]);
	pidp[0] = -1;
	if (!have || !memchr(line, '\n', have)) {
		kill(pid, SIGTERM);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		last_line(errp[0], why, sizeof(why));
		pr_err("network: passt failed to start: %s", why);
		goto fail;
	}
	passt_attach(b, sv[0]);
	p = b->priv;
	p->pid = pid;
	p->err_fd = errp[0];
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	pr_debug("network: passt (pid %d) on fd %d", pid, sv[0]);
	return 0;
fail:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	for (i = 0; i < 2; i++) {
		if (pidp[i] >= 0)
			close(pidp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return -1;
}
