// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio 1.x, section 5.1) on a backend (include/lkvm/net.h):
 * a tap device (-n mode=tap) or passt (-n mode=user).
 *
 * Queues: receiveq/transmitq pairs (rx 2k, tx 2k+1), then the control
 * queue. Frames keep the 12-byte virtio-net header on both sides, so the
 * tap does checksum and segmentation work in either direction:
 *
 * - guest to tap: CSUM, HOST_TSO4/6, HOST_ECN are always fine, the tap
 *   checks and segments what it is given;
 * - tap to guest: GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN are offered only
 *   when the tap accepts TUNSETOFFLOAD, and only together with CTRL_VQ and
 *   CTRL_GUEST_OFFLOADS, so the guest can switch them off again (it must,
 *   to forward or bridge traffic, or to run XDP); offering receive offloads
 *   the guest cannot turn off is a known bug of other VMMs. The tap is told
 *   what was negotiated at DRIVER_OK and on every CTRL_GUEST_OFFLOADS_SET.
 *
 * MRG_RXBUF lets one large frame span several receive buffers. With MQ the
 * tap has one queue per pair; pairs beyond what the driver enabled are
 * detached from the tap so that no frame waits where nobody reads.
 *
 * Threads: everything runs on the device's worker (vdev->lock held): queue
 * kicks, and the tap descriptors, which sit in a private epoll set that the
 * worker watches. A tap whose receive queue has no buffers is taken out of
 * that set until the driver adds some, so the worker never spins.
 */
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/net.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio.h"

#define NET_QUEUE_SIZE		256
#define NET_RX_BUDGET		256		/* frames per wakeup, then others' turn */

struct net_rx {
	/* A frame read from the tap, not yet (fully) in guest buffers. */
	u8 *buf;
	size_t len, done;
	/* MRG_RXBUF: buffers filled so far for it (heads), and the first one. */
	u16 heads[NET_QUEUE_SIZE];
	u32 lens[NET_QUEUE_SIZE];
	unsigned int nr;
	struct virtq_elem first;
	bool polling;		/* the tap fd is in the poll set */
};

struct net_dev {
	struct virtio_device vdev;
	struct virtio_net_config config;
	struct net_backend be;
	bool be_dead;		/* the backend went away: link down */
	bool use_vhost;		/* tap data queues served by vhost-net */
	struct vhost_net vhost;
	int pairs;		/* queue pairs offered */
	int active_pairs;	/* enabled by the driver (MQ) */
	int poll_fd;		/* epoll over the tap fds */
	bool running;		/* DRIVER_OK, until reset */
	struct net_rx rx[LKVM_NET_MAX_QUEUES];
	struct virtq_elem elem;
};

/*
 * The queue layout the driver negotiated (virtio 1.x, 5.1.2): its pairs,
 * then the control queue. Without MQ that is one pair, so the control
 * queue is queue 2 however many pairs the device offers.
 */
static unsigned int driver_pairs(const struct net_dev *n)
{
	return virtio_has_feature(&n->vdev, VIRTIO_NET_F_MQ) ? n->pairs : 1;
}

static int ctrl_queue(const struct net_dev *n)
{
	if (!virtio_has_feature(&n->vdev, VIRTIO_NET_F_CTRL_VQ))
		return -1;
	return 2 * driver_pairs(n);
}

static void rx_poll(struct net_dev *n, int pair, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u32 = pair };

	if (n->be_dead)
		return;		/* its fds left the poll set for good */
	if (n->rx[pair].polling == on)
		return;
	if (epoll_ctl(n->poll_fd, EPOLL_CTL_MOD, n->be.fds[pair], &ev) == 0)
		n->rx[pair].polling = on;
}

/* Give back, empty, the buffers held for a frame that will not fit. */
static void rx_drop(struct net_dev *n, struct virt_queue *vq, struct net_rx *rx)
{
	struct virtq_elem stub;
	unsigned int i;

	for (i = 0; i < rx->nr; i++) {
		stub.head = rx->heads[i];
		virtq_push(vq, &stub, 0);
	}
	rx->nr = 0;
	rx->len = rx->done = 0;
	pr_debug("virtio-%s: receive buffers too small; frame dropped", n->vdev.ops->name);
}

/*
 * Move the pending frame into guest buffers. Returns 1 when it is all
 * there (pushed), 0 when the ring ran out of buffers, -1 on a broken ring.
 */
static int rx_fill(struct net_dev *n, struct virt_queue *vq, struct net_rx *rx)
{
	bool mrg = virtio_has_feature(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtq_elem stub;
	unsigned int i;
	int r;

	while (rx->done < rx->len) {
		/* The first buffer is kept: its header gets num_buffers at the end. */
		struct virtq_elem *e = rx->nr ? &n->elem : &rx->first;
		size_t put;

		r = virtq_pop(vq, &n->vdev.kvm->mem, e);
		if (r <= 0)
			return r;
		if (!mrg && e->in_bytes < rx->len) {
			/* Without merging, one buffer must hold the frame. */
			stub.head = e->head;
			virtq_push(vq, &stub, 0);
			rx->len = rx->done = 0;
			return 1;
		}
		put = iov_from_buf(e->iov + e->nr_out, e->nr_in, 0, rx->buf + rx->done,
				   rx->len - rx->done);
		rx->heads[rx->nr] = e->head;
		rx->lens[rx->nr] = put;
		rx->nr++;
		rx->done += put;
		/* Buffers so small the ring cannot hold the frame: drop it. */
		if (rx->done < rx->len &&
		    (!put || rx->nr >= vq->size || rx->nr >= NET_QUEUE_SIZE)) {
			rx_drop(n, vq, rx);
			return 1;
		}
	}
	if (mrg) {
		u16 nb = htole16(rx->nr);

		/* num_buffers, in the first buffer's header */
		iov_from_buf(rx->first.iov + rx->first.nr_out, rx->first.nr_in,
			     offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers), &nb, 2);
	}
	for (i = 0; i < rx->nr; i++) {
		stub.head = rx->heads[i];
		virtq_push(vq, &stub, rx->lens[i]);
	}
	rx->nr = 0;
	rx->len = rx->done = 0;
	return 1;
}

/*
 * The backend is gone (passt exited; it said so): stop reading it and tell
 * the guest its link is down, so nothing waits on a network that is no more.
 */
static void backend_lost(struct net_dev *n)
{
	int i;

	if (n->be_dead)
		return;
	if (n->be.ops->hangup)
		n->be.ops->hangup(&n->be);
	/* A hung-up socket polls ready for ever: out of the set with it. */
	for (i = 0; i < n->pairs; i++)
		epoll_ctl(n->poll_fd, EPOLL_CTL_DEL, n->be.fds[i], NULL);
	n->be_dead = true;
	n->config.status = 0;
	virtio_config_changed(&n->vdev);
}

static void rx_process(struct net_dev *n, int pair)
{
	struct virt_queue *vq = &n->vdev.vqs[2 * pair];
	struct net_rx *rx = &n->rx[pair];
	int budget = NET_RX_BUDGET, r;
	bool pushed = false;

	if (!n->running || (n->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    pair >= n->active_pairs || !vq->ready || n->vhost.running) {
		rx_poll(n, pair, false);
		return;
	}
	virtq_disable_notify(vq);
	while (budget--) {
		if (!rx->len) {
			ssize_t got = n->be.ops->recv(&n->be, pair, rx->buf);

			if (got < 0) {
				backend_lost(n);
				goto out;
			}
			if (!got)
				break;		/* the backend has nothing now */
			rx->len = got;
			rx->done = 0;
		}
		r = rx_fill(n, vq, rx);
		if (r < 0) {
			virtio_device_broken(&n->vdev, "malformed receive chain");
			return;
		}
		if (!r) {
			/* Out of buffers: wait for the driver's kick, not the tap. */
			if (virtq_enable_notify(vq)) {
				virtq_disable_notify(vq);
				continue;
			}
			rx_poll(n, pair, false);
			goto out;
		}
		pushed = true;
	}
	virtq_enable_notify(vq);
	rx_poll(n, pair, true);
out:
	if (pushed)
		virtio_queue_signal(&n->vdev, vq);
}

/* One frame to the backend, for the queue's pair. */
static u32 tx_one(struct virtio_device *vdev, struct virt_queue *vq,
		  struct virtq_elem *elem)
{
	struct net_dev *n = vdev->priv;

	/* Header and frame, however the driver laid them out. */
	if (elem->out_bytes > NET_VNET_HDR_LEN &&
	    elem->out_bytes <= NET_VNET_HDR_LEN + NET_MAX_FRAME && !n->be_dead)
		n->be.ops->send(&n->be, vq->index / 2, elem->iov, elem->nr_out);
	return 0;
}

static void tx_process(struct net_dev *n, struct virt_queue *vq)
{
	virtio_queue_serve(&n->vdev, vq, &n->elem, tx_one, "malformed transmit chain");
}

/* TUN_F_* for a set of VIRTIO_NET_F_GUEST_* bits. */
static unsigned int tun_offloads(u64 guest)
{
	unsigned int f = 0;

	if (!(guest & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;	/* segmentation offloads need checksum offload */
	f |= TUN_F_CSUM;
	if (guest & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (guest & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if ((guest & (1ULL << VIRTIO_NET_F_GUEST_ECN)) && (f & (TUN_F_TSO4 | TUN_F_TSO6)))
		f |= TUN_F_TSO_ECN;
	return f;
}

/* A tap's queue and offload settings; passt has neither (NULL ops). */
static void be_set_queues(struct net_dev *n, int active)
{
	if (n->be.ops->set_queues)
		n->be.ops->set_queues(&n->be, active);
}

static int be_set_offloads(struct net_dev *n, unsigned int tun_flags)
{
	return n->be.ops->set_offloads ? n->be.ops->set_offloads(&n->be, tun_flags) : 0;
}

#define GUEST_OFFLOADS	((1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) | \
			 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN))

static u8 ctrl_command(struct net_dev *n, u8 class, u8 cmd, const u8 *data, size_t len)
{
	switch (class) {
	case VIRTIO_NET_CTRL_MQ:
		if (cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET && len >= 2 &&
		    virtio_has_feature(&n->vdev, VIRTIO_NET_F_MQ)) {
			int pairs = data[0] | data[1] << 8, i;

			if (pairs < 1 || pairs > n->pairs)
				return VIRTIO_NET_ERR;
			n->active_pairs = pairs;
			be_set_queues(n, pairs);
			for (i = 0; i < n->pairs; i++)
				rx_poll(n, i, i < pairs);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		if (cmd == VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET && len >= 8 &&
		    virtio_has_feature(&n->vdev, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) {
			u64 want;

			memcpy(&want, data, 8);
			want = le64toh(want);
			/* Only offloads that were negotiated may be turned on. */
			if (want & ~(n->vdev.guest_features & GUEST_OFFLOADS))
				return VIRTIO_NET_ERR;
			return be_set_offloads(n, tun_offloads(want)) ?
			       VIRTIO_NET_ERR : VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	}
	return VIRTIO_NET_ERR;
}

static void ctrl_process(struct net_dev *n, struct virt_queue *vq)
{
	struct virtq_elem *e = &n->elem;
	bool pushed = false;
	u8 req[64], ack;
	int r;

	while ((r = virtq_pop(vq, &n->vdev.kvm->mem, e)) == 1) {
		size_t len = iov_to_buf(e->iov, e->nr_out, 0, req, sizeof(req));

		ack = len >= 2 ? ctrl_command(n, req[0], req[1], req + 2, len - 2) :
		      VIRTIO_NET_ERR;
		virtq_push(vq, e, iov_from_buf(e->iov + e->nr_out, e->nr_in, 0, &ack, 1));
		pushed = true;
	}
	if (r < 0)
		virtio_device_broken(&n->vdev, "malformed control chain");
	else if (pushed)
		virtio_queue_signal(&n->vdev, vq);
}

static void net_notify(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct net_dev *n = vdev->priv;

	if ((int)vq->index == ctrl_queue(n))
		ctrl_process(n, vq);
	else if (vq->index >= 2 * driver_pairs(n) || n->vhost.running)
		return;		/* not in this driver's layout, or the kernel's */
	else if (vq->index & 1)
		tx_process(n, vq);
	else
		rx_process(n, vq->index / 2);	/* new receive buffers */
}

/* A tap has frames (worker thread, vdev->lock held). */
static void net_tap_event(struct virtio_device *vdev, void *ctx __unused)
{
	struct net_dev *n = vdev->priv;
	struct epoll_event ev[LKVM_NET_MAX_QUEUES];
	int nr, i;

	nr = epoll_wait(n->poll_fd, ev, ARRAY_SIZE(ev), 0);
	for (i = 0; i < nr; i++) {
		/* Reported even while not polled for input: the peer is gone. */
		if ((ev[i].events & (EPOLLHUP | EPOLLERR)) && !n->rx[ev[i].data.u32].polling)
			backend_lost(n);
		else
			rx_process(n, ev[i].data.u32);
	}
}

static int net_activate(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;

	n->running = true;
	n->active_pairs = 1;
	be_set_queues(n, 1);
	be_set_offloads(n, tun_offloads(vdev->guest_features));
	if (n->use_vhost)
		return vhost_net_start(&n->vhost, vdev, n->be.fds, driver_pairs(n));
	rx_poll(n, 0, true);
	return 0;
}

static void net_reset(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;
	int i;

	if (n->vhost.running)
		vhost_net_stop(&n->vhost, vdev, -1);
	n->running = false;
	n->active_pairs = 1;
	for (i = 0; i < n->pairs; i++) {
		rx_poll(n, i, false);
		/* Held buffers belong to the old rings: forget them and the frame. */
		n->rx[i].nr = 0;
		n->rx[i].len = n->rx[i].done = 0;
	}
	be_set_offloads(n, 0);
}

/* A receive queue stopped: a frame half in its buffers goes with them. */
static void net_queue_stop(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct net_dev *n = vdev->priv;
	unsigned int pair = vq->index / 2;

	if (pair >= (unsigned int)n->pairs || (int)vq->index == ctrl_queue(n))
		return;
	/* The kernel lets go of the whole pair, which stays stopped until a reset. */
	if (n->vhost.running)
		vhost_net_stop(&n->vhost, vdev, pair);
	if (!(vq->index & 1)) {
		n->rx[pair].nr = 0;
		n->rx[pair].len = n->rx[pair].done = 0;
	}
}

VIRTIO_DEVICE_OPS(net, "net", VIRTIO_ID_NET, activate, reset, queue_stop);

/*
 * A locally administered unicast MAC from the guest name and the NIC's
 * index: stable across runs of one guest, different between guests.
 */
static void default_mac(const char *name, int idx, u8 mac[6])
{
	u32 h = 2166136261u;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (u8)*name) * 16777619u;
	h = (h ^ (u8)idx) * 16777619u;
	mac[0] = 0x02;
	mac[1] = 0x4c;		/* 'L' */
	mac[2] = h >> 24;
	mac[3] = h >> 16;
	mac[4] = h >> 8;
	mac[5] = h;
}

static void net_free(struct net_dev *n)
{
	int i;

	if (n->poll_fd >= 0)
		close(n->poll_fd);
	vhost_net_close(&n->vhost);
	if (n->be.ops)
		n->be.ops->close(&n->be);
	for (i = 0; i < LKVM_NET_MAX_QUEUES; i++)
		free(n->rx[i].buf);
	free(n);
}

static void net_release(struct virtio_device *vdev)
{
	net_free(vdev->priv);
}

static int net_init_one(struct kvm *kvm, int idx)
{
	const struct net_config *nc = &kvm->cfg.nets[idx];
	struct net_dev *n = xzalloc(sizeof(*n));
	int want = nc->queues ? nc->queues : kvm->cfg.nrcpus, i;
	u64 f;

	n->poll_fd = -1;
	vhost_net_open(&n->vhost, 0);	/* nothing open yet */
	if (net_backend_open(&n->be, nc, min(want, LKVM_NET_MAX_QUEUES))) {
		net_free(n);
		return -1;
	}
	n->pairs = n->be.nr_fds;
	/*
	 * vhost-net serves taps only when asked (vhost=on): in one nested
	 * test run of three the guest died of a double fault while it
	 * received through vhost-net; its report points below lkvm, at the
	 * emulated nested SVM (README, Networking), but until vhost-net has
	 * run on hardware it is not the default.
	 */
	if (n->be.is_tap && nc->vhost == NET_VHOST_ON) {
		if (vhost_net_open(&n->vhost, n->pairs)) {
			net_free(n);
			return -1;
		}
		n->use_vhost = true;
	}
	n->active_pairs = 1;
	n->poll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (n->poll_fd < 0) {
		pr_err("virtio-net: epoll: %s", strerror(errno));
		net_free(n);
		return -1;
	}
	for (i = 0; i < n->pairs; i++) {
		struct epoll_event ev = { .events = 0, .data.u32 = i };

		n->rx[i].buf = xmalloc(NET_VNET_HDR_LEN + NET_MAX_FRAME);
		if (epoll_ctl(n->poll_fd, EPOLL_CTL_ADD, n->be.fds[i], &ev) < 0) {
			pr_err("virtio-net: epoll_ctl: %s", strerror(errno));
			net_free(n);
			return -1;
		}
	}

	if (nc->mac_set)
		memcpy(n->config.mac, nc->mac, 6);
	else
		default_mac(kvm->cfg.name ? kvm->cfg.name : "guest", idx, n->config.mac);
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->config.max_virtqueue_pairs = htole16(n->pairs);

	f = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
	    (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CTRL_VQ);
	/* Transmit offloads: only to a backend that completes them (a tap). */
	if (n->be.tx_offloads)
		f |= (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |
		     (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN);
	if (n->pairs > 1)
		f |= 1ULL << VIRTIO_NET_F_MQ;
	/* Receive offloads: only with the means to turn them off (see above). */
	if (n->be.offloads & TUN_F_CSUM)
		f |= (1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	if ((n->be.offloads & (TUN_F_TSO4 | TUN_F_TSO6)) == (TUN_F_TSO4 | TUN_F_TSO6))
		f |= (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6);
	if (n->be.offloads & TUN_F_TSO_ECN)
		f |= 1ULL << VIRTIO_NET_F_GUEST_ECN;
	/* Merging receive buffers is the kernel's business under vhost. */
	if (n->use_vhost && !(vhost_net_features(&n->vhost) & (1ULL << VIRTIO_NET_F_MRG_RXBUF)))
		f &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);

	n->vdev.ops = &net_ops;
	n->vdev.priv = n;
	n->vdev.config = (u8 *)&n->config;
	/* mac, status, max_virtqueue_pairs */
	n->vdev.config_len = offsetof(struct virtio_net_config, mtu);
	n->vdev.host_features = f;
	n->vdev.nr_queues = 2 * n->pairs + 1;
	n->vdev.queue_max_size = NET_QUEUE_SIZE;
	if (virtio_device_register(kvm, &n->vdev) < 0) {
		net_free(n);
		return -1;
	}
	if (virtio_worker_add_fd(&n->vdev, n->poll_fd, net_tap_event, NULL) < 0)
		return -1;
	if (n->use_vhost && vhost_net_attach(&n->vhost, &n->vdev) < 0)
		return -1;
	pr_debug("network: %s (%02x:%02x:%02x:%02x:%02x:%02x, %d queue pair%s%s)",
		n->be.name, n->config.mac[0], n->config.mac[1], n->config.mac[2],
		n->config.mac[3], n->config.mac[4], n->config.mac[5], n->pairs,
		n->pairs > 1 ? "s" : "", n->use_vhost ? ", vhost-net" : "");
	return 0;
}

static int virtio_net_init(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->cfg.nr_nets; i++)
		if (net_init_one(kvm, i))
			return -1;
	return 0;
}

virtio_dev_type_init(virtio_net_init, net_ops, net_release);
