// SPDX-License-Identifier: GPL-2.0
/*
 * The tap backend of virtio-net: /dev/net/tun in tap mode with the virtio
 * net header (IFF_VNET_HDR, 12 bytes as VERSION_1 devices use), one queue
 * per virtio queue pair where the host has IFF_MULTI_QUEUE. Creating a tap
 * (or attaching to one the caller does not own) needs CAP_NET_ADMIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/net.h"

/* The offloads the guest side may ask for (tap_set_offloads). */
#define TAP_OFFLOADS	(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

static int tap_queue(const char *name, bool mq, char *ifname_out)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = NET_VNET_HDR_LEN;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pr_err("network: cannot open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (mq ? IFF_MULTI_QUEUE : 0);
	if (name)
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		pr_err("network: %s: TUNSETVNETHDRSZ: %s", ifr.ifr_name, strerror(errno));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	memcpy(ifname_out, ifr.ifr_name, IFNAMSIZ);
	ifname_out[IFNAMSIZ - 1] = '\0';
	return fd;
}

static int if_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

static int run_script(const char *script, const char *ifname)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		pr_err("network: fork: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		signal(SIGPIPE, SIG_DFL);	/* lkvm ignores it; the script must not */
		execl(script, script, ifname, (char *)NULL);
		pr_err("network: cannot run script '%s': %s", script, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		pr_err("network: script '%s %s' failed (status %d)", script, ifname,
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -1;
	}
	return 0;
}

static ssize_t tap_recv(struct net_backend *t, int q, u8 *buf)
{
	ssize_t got;

	do
		got = read(t->fds[q], buf, NET_VNET_HDR_LEN + NET_MAX_FRAME);
	while (got < 0 && errno == EINTR);
	/* A tap never goes away under us: an error is just no frame now. */
	return got < NET_VNET_HDR_LEN ? 0 : got;
}

static void tap_send(struct net_backend *t, int q, const struct iovec *iov, unsigned int n)
{
	if (writev(t->fds[q < t->nr_fds ? q : 0], iov, n) < 0)
		pr_debug("network: %s: write: %s", t->name, strerror(errno));
}

static int tap_set_offloads(struct net_backend *t, unsigned int tun_flags)
{
	tun_flags &= t->offloads;
	if (ioctl(t->fds[0], TUNSETOFFLOAD, tun_flags) < 0) {
		pr_debug("network: %s: TUNSETOFFLOAD 0x%x: %s", t->name, tun_flags,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int tap_set_queues(struct net_backend *t, int active)
{
	struct ifreq ifr = { 0 };
	int i, r = 0;

	if (t->nr_fds < 2)
		return 0;
	/* Detached queues get no frames: the kernel spreads flows over the rest. */
	for (i = 0; i < t->nr_fds; i++) {
		ifr.ifr_flags = i < active ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		if (ioctl(t->fds[i], TUNSETQUEUE, &ifr) < 0 && errno != EINVAL)
			r = -1;
	}
	return r;
}

static void tap_close(struct net_backend *t)
{
	int i;

	for (i = 0; i < t->nr_fds; i++)
		close(t->fds[i]);
	t->nr_fds = 0;
}

static const struct net_backend_ops tap_ops = {
	.recv = tap_recv,
	.send = tap_send,
	.set_offloads = tap_set_offloads,
	.set_queues = tap_set_queues,
	.close = tap_close,
};

int tap_open(struct net_backend *t, const char *ifname, int queues, const char *script)
{
	int i, fd;

	memset(t, 0, sizeof(*t));
	t->ops = &tap_ops;
	t->is_tap = true;
	t->tx_offloads = true;
	if (queues < 1)
		queues = 1;
	if (queues > LKVM_NET_MAX_QUEUES)
		queues = LKVM_NET_MAX_QUEUES;
	fd = tap_queue(ifname, queues > 1, t->name);
	if (fd < 0 && queues > 1 && errno == EINVAL) {
		/* No IFF_MULTI_QUEUE here (or an existing single-queue tap). */
		queues = 1;
		fd = tap_queue(ifname, false, t->name);
	}
	if (fd < 0) {
		if (errno == EPERM)
			pr_err("network: creating a tap needs root (CAP_NET_ADMIN)");
		else
			pr_err("network: TUNSETIFF %s: %s", ifname ? ifname : "(new tap)",
			       strerror(errno));
		return -1;
	}
	t->fds[t->nr_fds++] = fd;
	for (i = 1; i < queues; i++) {
		char name[IFNAMSIZ];

		fd = tap_queue(t->name, true, name);
		if (fd < 0)
			break;		/* fewer queues than asked: still fine */
		t->fds[t->nr_fds++] = fd;
	}
	/* Which offloads the tap takes: probe them all, then start with none. */
	if (ioctl(t->fds[0], TUNSETOFFLOAD, TAP_OFFLOADS) == 0)
		t->offloads = TAP_OFFLOADS;
	else if (ioctl(t->fds[0], TUNSETOFFLOAD, TUN_F_CSUM) == 0)
		t->offloads = TUN_F_CSUM;
	ioctl(t->fds[0], TUNSETOFFLOAD, 0);

	if (script) {
		if (run_script(script, t->name))
			goto fail;
	} else if (if_up(t->name) < 0) {
		pr_warn("network: cannot bring %s up: %s", t->name, strerror(errno));
	}
	pr_debug("network: tap %s, %d queue(s), offloads 0x%x", t->name, t->nr_fds,
		 t->offloads);
	return 0;
fail:
	tap_close(t);
	return -1;
}
