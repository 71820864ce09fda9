/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtio-net backend for unit tests: SOCK_SEQPACKET socket pairs stand in
 * for a tap's queues (one frame per message, like a tap), so that frames
 * can be injected (write to peer[q]) and caught (read from it). Records the
 * offloads and active queues it is told. Include once, after fake-virtio.h.
 */
#ifndef LKVM_TEST_FAKE_NET_H
#define LKVM_TEST_FAKE_NET_H

#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/socket.h>

#include "lkvm/net.h"


static int peer[LKVM_NET_MAX_QUEUES];
static int own[LKVM_NET_MAX_QUEUES];	/* the device's ends */
/* Say it is a tap, so that vhost-net may take it (test-vhost.c). */
static bool fake_net_is_tap;
static int stub_active = -1;
static unsigned int stub_offloads = ~0U;

static ssize_t stub_recv(struct net_backend *t, int q, u8 *buf)
{
	ssize_t got = read(t->fds[q], buf, NET_VNET_HDR_LEN + NET_MAX_FRAME);

	return got < NET_VNET_HDR_LEN ? 0 : got;
}

static void stub_send(struct net_backend *t, int q, const struct iovec *iov, unsigned int n)
{
	ssize_t r = writev(t->fds[q], iov, n);

	(void)r;
}

static int stub_set_offloads(struct net_backend *t, unsigned int tun_flags)
{
	stub_offloads = tun_flags & t->offloads;
	return 0;
}

static int stub_set_queues(struct net_backend *t __unused, int active)
{
	stub_active = active;
	return 0;
}

static void stub_close(struct net_backend *t)
{
	int i;

	for (i = 0; i < t->nr_fds; i++)
		close(t->fds[i]);
	t->nr_fds = 0;
}

static const struct net_backend_ops stub_ops = {
	.recv = stub_recv,
	.send = stub_send,
	.set_offloads = stub_set_offloads,
	.set_queues = stub_set_queues,
	.close = stub_close,
};

int net_backend_open(struct net_backend *t, const struct net_config *nc __unused, int queues)
{
	int i, sv[2];

	memset(t, 0, sizeof(*t));
	t->ops = &stub_ops;
	strcpy(t->name, "stub0");
	for (i = 0; i < queues; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		t->fds[t->nr_fds++] = own[i] = sv[0];
		peer[i] = sv[1];
	}
	t->offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	t->tx_offloads = true;
	t->is_tap = fake_net_is_tap;
	return 0;
}

#endif
