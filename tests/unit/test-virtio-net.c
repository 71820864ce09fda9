// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net and virtio-9p driven like a guest would (fake-virtio.h): the
 * real device core and worker threads, rings laid out by hand. The tap is
 * replaced by SOCK_SEQPACKET socket pairs (one frame per message, like a
 * tap), so frames can be injected and caught. Checked: the offered features
 * (receive offloads only with CTRL_GUEST_OFFLOADS), transmit, receive into
 * one or several buffers (num_buffers), waiting for buffers, buffers too
 * small to ever hold a frame, control commands good and hostile, and the
 * 9p device's gather/scatter over oddly split chains.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_9p.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <sys/socket.h>

#include "lkvm/9p-server.h"
#include "lkvm/net.h"
#include "test.h"
#include "fake-virtio.h"
#include "fake-net.h"

/* ---- virtio-net ---- */

#define B(x)		(1ULL << (x))
#define RX0		0
#define TX0		1
#define CTRL		4	/* two pairs: rx0 tx0 rx1 tx1 ctrl */

static struct virtio_device *net;
static struct fv_q nq[5];
static const u64 all_features = B(VIRTIO_F_VERSION_1) | B(VIRTIO_RING_F_EVENT_IDX) |
	B(VIRTIO_RING_F_INDIRECT_DESC) | B(VIRTIO_NET_F_MAC) | B(VIRTIO_NET_F_STATUS) |
	B(VIRTIO_NET_F_MRG_RXBUF) | B(VIRTIO_NET_F_CTRL_VQ) | B(VIRTIO_NET_F_MQ) |
	B(VIRTIO_NET_F_CSUM) | B(VIRTIO_NET_F_GUEST_CSUM) | B(VIRTIO_NET_F_GUEST_TSO4) |
	B(VIRTIO_NET_F_GUEST_TSO6) | B(VIRTIO_NET_F_GUEST_ECN) |
	B(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | B(VIRTIO_NET_F_HOST_TSO4) |
	B(VIRTIO_NET_F_HOST_TSO6);

static void drain_peers(void)
{
	u8 buf[70000];
	int i;

	for (i = 0; i < 2; i++)
		while (recv(peer[i], buf, sizeof(buf), 0) > 0)
			;
}

static bool net_up(u64 feat)
{
	drain_peers();
	return fv_driver_up(net, feat, nq, 5, 0);
}

static void fill(u8 *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(i * 13 + seed + (i >> 8));
}

static void test_net_features(void)
{
	struct virtio_net_config c;
	u64 f = fv_features(net);

	virtio_config_access(net, 0, (u8 *)&c, offsetof(struct virtio_net_config, mtu), false);
	CHECK_EQ(c.mac[0], 0x02);		/* locally administered, unicast */
	CHECK_EQ(c.mac[1], 0x4c);
	CHECK_EQ(le16toh(c.status), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(le16toh(c.max_virtqueue_pairs), 2);
	CHECK(f & B(VIRTIO_NET_F_MQ));
	CHECK(f & B(VIRTIO_NET_F_MRG_RXBUF));
	/* Receive offloads never come without the means to turn them off. */
	CHECK(f & B(VIRTIO_NET_F_GUEST_TSO4));
	CHECK(f & B(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
	CHECK(f & B(VIRTIO_NET_F_CTRL_VQ));
	CHECK(!(f & B(VIRTIO_NET_F_GUEST_UFO)));
	CHECK(!(f & B(VIRTIO_NET_F_HOST_UFO)));
	CHECK(net_up(all_features));
	CHECK_EQ(stub_offloads, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	CHECK_EQ(stub_active, 1);
	/* A driver without guest offloads gets none from the tap. */
	CHECK(net_up(all_features & ~(B(VIRTIO_NET_F_GUEST_CSUM) | B(VIRTIO_NET_F_GUEST_TSO4) |
				      B(VIRTIO_NET_F_GUEST_TSO6) | B(VIRTIO_NET_F_GUEST_ECN))));
	CHECK_EQ(stub_offloads, 0);
}

static void test_net_tx(void)
{
	u8 frame[12 + 60], got[200];
	u64 h = fv_alloc(12), d = fv_alloc(60), s = fv_alloc(5);
	ssize_t n;

	CHECK(net_up(all_features));
	fill(frame, sizeof(frame), 1);
	memcpy(fv_gp(h), frame, 12);
	memcpy(fv_gp(d), frame + 12, 60);
	fv_add(&nq[TX0], (struct fv_seg[]){ { h, 12, false }, { d, 60, false } }, 2);
	CHECK(fv_kick_wait(&nq[TX0], 1));
	n = recv(peer[0], got, sizeof(got), 0);
	CHECK_EQ(n, sizeof(frame));
	CHECK(!memcmp(got, frame, sizeof(frame)));
	/* Shorter than a header: used, not sent. */
	fv_add(&nq[TX0], (struct fv_seg[]){ { s, 5, false } }, 1);
	CHECK(fv_kick_wait(&nq[TX0], 1));
	CHECK(recv(peer[0], got, sizeof(got), 0) < 0);
	/* Only writable buffers: nothing to send. */
	fv_add(&nq[TX0], (struct fv_seg[]){ { s, 5, true } }, 1);
	CHECK(fv_kick_wait(&nq[TX0], 1));
	CHECK(recv(peer[0], got, sizeof(got), 0) < 0);
	CHECK(!(virtio_get_status(net) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void test_net_rx_merge(void)
{
	static u8 frame[12 + 3000];
	u64 buf[4];
	u32 total = 0;
	u16 heads[4];
	int i;

	CHECK(net_up(all_features));
	for (i = 0; i < 4; i++) {
		buf[i] = fv_alloc(1024);
		heads[i] = fv_add(&nq[RX0], (struct fv_seg[]){ { buf[i], 1024, true } }, 1);
	}
	virtio_queue_kick(net, RX0);
	fill(frame, sizeof(frame), 7);
	memset(frame, 0, 12);
	CHECK_EQ(send(peer[0], frame, sizeof(frame), 0), sizeof(frame));
	CHECK(fv_wait(&nq[RX0], 3));
	for (i = 0; i < 3; i++) {
		struct vring_used_elem *u = fv_used(&nq[RX0], 2 - i);

		CHECK_EQ(le32toh(u->id), heads[i]);
		total += le32toh(u->len);
	}
	CHECK_EQ(total, sizeof(frame));
	/* num_buffers in the first buffer's header */
	CHECK_EQ(*(u16 *)((u8 *)fv_gp(buf[0]) + 10), htole16(3));
	CHECK(!memcmp((u8 *)fv_gp(buf[0]) + 12, frame + 12, 1024 - 12));
	CHECK(!memcmp(fv_gp(buf[1]), frame + 1024, 1024));
	CHECK(!memcmp(fv_gp(buf[2]), frame + 2048, sizeof(frame) - 2048));
}

static void test_net_rx_wait(void)
{
	u8 frame[12 + 500];
	u64 b1, b2;
	int i;

	/* A frame arrives with no buffers: it waits, the tap is left alone. */
	CHECK(net_up(all_features));
	fill(frame, sizeof(frame), 3);
	memset(frame, 0, 12);
	CHECK_EQ(send(peer[0], frame, sizeof(frame), 0), sizeof(frame));
	CHECK_EQ(send(peer[0], frame, 100, 0), 100);
	usleep(50000);
	CHECK_EQ(fv_used_idx(&nq[RX0]), 0);
	/* One buffer of 300 bytes: the frame is held, half in it. */
	b1 = fv_alloc(300);
	fv_add(&nq[RX0], (struct fv_seg[]){ { b1, 300, true } }, 1);
	virtio_queue_kick(net, RX0);
	usleep(50000);
	CHECK_EQ(fv_used_idx(&nq[RX0]), 0);
	b2 = fv_alloc(4096);
	fv_add(&nq[RX0], (struct fv_seg[]){ { b2, 4096, true } }, 1);
	CHECK(fv_kick_wait(&nq[RX0], 2));
	CHECK_EQ(le32toh(fv_used(&nq[RX0], 1)->len) + le32toh(fv_used(&nq[RX0], 0)->len),
		 sizeof(frame));
	CHECK_EQ(*(u16 *)((u8 *)fv_gp(b1) + 10), htole16(2));
	CHECK(!memcmp(fv_gp(b2), frame + 300, sizeof(frame) - 300));
	/* The second frame follows into new buffers. */
	for (i = 0; i < 2; i++)
		fv_add(&nq[RX0], (struct fv_seg[]){ { fv_alloc(2048), 2048, true } }, 1);
	CHECK(fv_kick_wait(&nq[RX0], 1));
	CHECK_EQ(le32toh(fv_used(&nq[RX0], 0)->len), 100);
}

/*
 * A receive queue stopped (virtio-mmio QueueReady = 0) while a frame is half
 * in its buffers, and set up again in the same place: the frame goes with
 * the old buffers, and nothing of it (no stale head, no num_buffers in a
 * buffer the driver took back) reaches the new ring.
 */
static void test_net_rx_queue_stop(void)
{
	u8 frame[12 + 500], small[12 + 60];
	u64 b1, b2;
	u16 head;

	CHECK(net_up(all_features));
	fill(frame, sizeof(frame), 5);
	memset(frame, 0, 12);
	b1 = fv_alloc(300);
	fv_add(&nq[RX0], (struct fv_seg[]){ { b1, 300, true } }, 1);
	virtio_queue_kick(net, RX0);
	CHECK_EQ(send(peer[0], frame, sizeof(frame), 0), sizeof(frame));
	usleep(50000);
	CHECK_EQ(fv_used_idx(&nq[RX0]), 0);		/* half of it in b1, held */

	pthread_mutex_lock(&net->lock);
	CHECK(fv_queue_restart(&nq[RX0]));
	memset(fv_gp(b1), 0x77, 300);		/* the driver took it back */
	pthread_mutex_unlock(&net->lock);

	b2 = fv_alloc(4096);
	head = fv_add(&nq[RX0], (struct fv_seg[]){ { b2, 4096, true } }, 1);
	virtio_queue_kick(net, RX0);
	fill(small, sizeof(small), 9);
	memset(small, 0, 12);
	CHECK_EQ(send(peer[0], small, sizeof(small), 0), sizeof(small));
	CHECK(fv_wait(&nq[RX0], 1));
	usleep(20000);
	CHECK_EQ(fv_used_idx(&nq[RX0]), 1);
	CHECK_EQ(le32toh(fv_used(&nq[RX0], 0)->id), head);
	CHECK_EQ(le32toh(fv_used(&nq[RX0], 0)->len), sizeof(small));
	CHECK(!memcmp((u8 *)fv_gp(b2) + 12, small + 12, sizeof(small) - 12));
	CHECK_EQ(*(u8 *)fv_gp(b1 + 10), 0x77);
	CHECK(!(virtio_get_status(net) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void test_net_rx_hostile(void)
{
	u8 frame[12 + 200];
	unsigned int i;

	/* Buffers so small that the ring can never hold the frame: dropped. */
	CHECK(net_up(all_features));
	for (i = 0; i < FV_QSZ; i++)
		fv_add(&nq[RX0], (struct fv_seg[]){ { fv_alloc(4), 4, true } }, 1);
	virtio_queue_kick(net, RX0);
	memset(frame, 0, sizeof(frame));
	CHECK_EQ(send(peer[0], frame, sizeof(frame), 0), sizeof(frame));
	CHECK(fv_wait(&nq[RX0], FV_QSZ));
	for (i = 0; i < FV_QSZ; i++)
		CHECK_EQ(le32toh(fv_used(&nq[RX0], i)->len), 0);
	/* Without MRG_RXBUF one buffer must hold it all, or the frame is dropped. */
	CHECK(net_up(all_features & ~B(VIRTIO_NET_F_MRG_RXBUF)));
	fv_add(&nq[RX0], (struct fv_seg[]){ { fv_alloc(100), 100, true } }, 1);
	fv_add(&nq[RX0], (struct fv_seg[]){ { fv_alloc(1000), 1000, true } }, 1);
	virtio_queue_kick(net, RX0);
	CHECK_EQ(send(peer[0], frame, sizeof(frame), 0), sizeof(frame));
	CHECK_EQ(send(peer[0], frame, 50, 0), 50);
	CHECK(fv_wait(&nq[RX0], 2));
	CHECK_EQ(le32toh(fv_used(&nq[RX0], 1)->len), 0);
	CHECK_EQ(le32toh(fv_used(&nq[RX0], 0)->len), 50);
	/* A device-readable receive buffer is a broken driver. */
	CHECK(net_up(all_features));
	fv_add(&nq[RX0], (struct fv_seg[]){ { fv_alloc(100), 100, false } }, 1);
	virtio_queue_kick(net, RX0);
	CHECK_EQ(send(peer[0], frame, sizeof(frame), 0), sizeof(frame));
	usleep(50000);
	CHECK(net_up(all_features));	/* a reset recovers */
}

static unsigned int ctrl_q = CTRL;

/* One control command; returns the ack byte (0xee: none written). */
static u8 ctrl(const void *cmd, u32 len, bool with_ack)
{
	u64 c = fv_alloc(len ? len : 1), a = fv_alloc(1);
	struct fv_seg s[2] = { { c, len ? len : 1, false }, { a, 1, true } };

	memcpy(fv_gp(c), cmd, len);
	*(u8 *)fv_gp(a) = 0xee;
	fv_add(&nq[ctrl_q], s, with_ack ? 2 : 1);
	if (!fv_kick_wait(&nq[ctrl_q], 1))
		return 0xdd;
	return *(u8 *)fv_gp(a);
}

static void test_net_ctrl(void)
{
	u8 mq[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET };
	u8 off[10] = { VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET };
	u8 bad[2] = { 9, 0 };
	u64 v;

	CHECK(net_up(all_features));
	mq[2] = 2;
	CHECK_EQ(ctrl(mq, 4, true), VIRTIO_NET_OK);
	CHECK_EQ(stub_active, 2);
	mq[2] = 0;
	CHECK_EQ(ctrl(mq, 4, true), VIRTIO_NET_ERR);
	mq[2] = 3;
	CHECK_EQ(ctrl(mq, 4, true), VIRTIO_NET_ERR);
	mq[2] = 1;
	CHECK_EQ(ctrl(mq, 3, true), VIRTIO_NET_ERR);	/* short */
	CHECK_EQ(stub_active, 2);
	v = htole64(B(VIRTIO_NET_F_GUEST_CSUM));
	memcpy(off + 2, &v, 8);
	CHECK_EQ(ctrl(off, 10, true), VIRTIO_NET_OK);
	CHECK_EQ(stub_offloads, TUN_F_CSUM);
	v = htole64(B(VIRTIO_NET_F_GUEST_UFO));		/* never negotiated */
	memcpy(off + 2, &v, 8);
	CHECK_EQ(ctrl(off, 10, true), VIRTIO_NET_ERR);
	v = htole64(B(VIRTIO_NET_F_GUEST_TSO4));	/* TSO needs CSUM: none at all */
	memcpy(off + 2, &v, 8);
	CHECK_EQ(ctrl(off, 10, true), VIRTIO_NET_OK);
	CHECK_EQ(stub_offloads, 0);
	CHECK_EQ(ctrl(off, 5, true), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(bad, 2, true), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(bad, 1, true), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(bad, 2, false), 0xee);		/* no room for the ack: still used */
	/*
	 * Without MQ the driver has one pair and its control queue is queue
	 * 2 (virtio 1.x, 5.1.2), however many pairs the device offers: the
	 * commands there are answered, MQ's refused.
	 */
	CHECK(net_up(all_features & ~B(VIRTIO_NET_F_MQ)));
	ctrl_q = 2;
	mq[2] = 2;
	CHECK_EQ(ctrl(mq, 4, true), VIRTIO_NET_ERR);
	v = htole64(B(VIRTIO_NET_F_GUEST_CSUM));
	memcpy(off + 2, &v, 8);
	CHECK_EQ(ctrl(off, 10, true), VIRTIO_NET_OK);
	CHECK_EQ(stub_offloads, TUN_F_CSUM);
	ctrl_q = CTRL;
	CHECK(!(virtio_get_status(net) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* ---- virtio-9p: framing ---- */

static struct virtio_device *p9;
static struct fv_q pq[1];
static char share[64];

static void test_9p_config(void)
{
	u8 cfg[2 + 5], past[4];

	virtio_config_access(p9, 0, cfg, sizeof(cfg), false);
	virtio_config_access(p9, 5, past, sizeof(past), false);	/* runs past the end */
	CHECK_EQ(past[0] | past[1] | past[2] | past[3], 0);
	CHECK_EQ(cfg[0] | cfg[1] << 8, 5);
	CHECK(!memcmp(cfg + 2, "share", 5));
	CHECK(fv_features(p9) & B(VIRTIO_9P_MOUNT_TAG));
}

static void test_9p_split(void)
{
	static const u8 tversion[] = {
		21, 0, 0, 0, P9_TVERSION, 0xff, 0xff, 0x00, 0x10, 0, 0,
		8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L',
	};
	u64 o1 = fv_alloc(5), o2 = fv_alloc(16), i1 = fv_alloc(3), i2 = fv_alloc(4),
	    i3 = fv_alloc(64);
	u8 r[64];

	CHECK(fv_driver_up(p9, B(VIRTIO_F_VERSION_1) | B(VIRTIO_9P_MOUNT_TAG), pq, 1, 1));
	/* The T-message and the room for the answer, both split oddly. */
	memcpy(fv_gp(o1), tversion, 5);
	memcpy(fv_gp(o2), tversion + 5, sizeof(tversion) - 5);
	fv_add(pq, (struct fv_seg[]){ { o1, 5, false }, { o2, sizeof(tversion) - 5, false },
				     { i1, 3, true }, { i2, 4, true }, { i3, 64, true } }, 5);
	CHECK(fv_kick_wait(pq, 1));
	CHECK_EQ(le32toh(fv_used(pq, 0)->len), 21);
	memcpy(r, fv_gp(i1), 3);
	memcpy(r + 3, fv_gp(i2), 4);
	memcpy(r + 7, fv_gp(i3), 14);
	CHECK_EQ(r[0], 21);
	CHECK_EQ(r[4], P9_TVERSION + 1);
	CHECK_EQ(r[7] | r[8] << 8 | r[9] << 16, 0x1000);
	CHECK(!memcmp(r + 13, "9P2000.L", 8));
	/* No room for any answer: used with nothing written. */
	memcpy(fv_gp(o2), tversion, sizeof(tversion));
	fv_add(pq, (struct fv_seg[]){ { o2, sizeof(tversion), false } }, 1);
	CHECK(fv_kick_wait(pq, 1));
	CHECK_EQ(le32toh(fv_used(pq, 0)->len), 0);
	/* A size field larger than what the chain holds: an Rlerror. */
	memcpy(fv_gp(o2), tversion, sizeof(tversion));
	*(u8 *)fv_gp(o2) = 200;
	fv_add(pq, (struct fv_seg[]){ { o2, sizeof(tversion), false }, { i3, 64, true } }, 2);
	CHECK(fv_kick_wait(pq, 1));
	CHECK_EQ(le32toh(fv_used(pq, 0)->len), 11);
	CHECK_EQ(((u8 *)fv_gp(i3))[4], P9_RLERROR);
	CHECK(!(virtio_get_status(p9) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* --9p HOSTDIR,TAG[,ro|rw][,security=MODEL] */
static void test_9p_parse(void)
{
	static struct kvm_config c;

	CHECK_EQ(virtio_9p_parse(&c, "/srv,a"), 0);
	CHECK_EQ(c.shares_9p[0].security, P9_SECURITY_RESTRICTED);	/* the default */
	CHECK(!c.shares_9p[0].readonly);
	CHECK_EQ(virtio_9p_parse(&c, "/srv,b,ro,security=passthrough"), 0);
	CHECK_EQ(c.shares_9p[1].security, P9_SECURITY_PASSTHROUGH);
	CHECK(c.shares_9p[1].readonly);
	CHECK_EQ(virtio_9p_parse(&c, "/srv,c,security=passthrough,security=restricted"), 0);
	CHECK_EQ(c.shares_9p[2].security, P9_SECURITY_RESTRICTED);
	/* mapped is not implemented: refused, not silently passed through */
	CHECK_EQ(virtio_9p_parse(&c, "/srv,d,security=mapped"), -1);
	CHECK_EQ(virtio_9p_parse(&c, "/srv,d,security=none"), -1);
	CHECK_EQ(virtio_9p_parse(&c, "/srv,d,security="), -1);
	CHECK_EQ(virtio_9p_parse(&c, "/srv,d,secure"), -1);
	CHECK_EQ(c.nr_9p, 3);
}

TEST_MAIN_BEGIN("test-virtio-net")
	char cmd[128];

	snprintf(share, sizeof(share), "/tmp/lkvm-test-vnet.XXXXXX");
	if (!mkdtemp(share)) {
		printf("FAIL: unit/test-virtio-net/setup: mkdtemp\n");
		return 1;
	}
	if (!fv_setup()) {
		printf("FAIL: unit/test-virtio-net/setup: no guest memory\n");
		return 1;
	}
	fv_kvm.cfg.nets[0] = (struct net_config){ .queues = 2 };
	fv_kvm.cfg.nr_nets = 1;
	fv_kvm.cfg.shares_9p[0] = (struct p9_share_config){ .dir = share, .tag = "share" };
	fv_kvm.cfg.nr_9p = 1;
	if (init_run_stage(&fv_kvm, INIT_VIRTIO) < 0 || !(net = fv_find(VIRTIO_ID_NET)) ||
	    !(p9 = fv_find(VIRTIO_ID_9P))) {
		printf("FAIL: unit/test-virtio-net/setup: devices did not register\n");
		return 1;
	}
	RUN(test_net_features);
	RUN(test_net_tx);
	RUN(test_net_rx_merge);
	RUN(test_net_rx_wait);
	RUN(test_net_rx_queue_stop);
	RUN(test_net_rx_hostile);
	RUN(test_net_ctrl);
	RUN(test_9p_config);
	RUN(test_9p_split);
	RUN(test_9p_parse);
	fv_teardown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", share);
	if (system(cmd))
		return 1;
TEST_MAIN_END()
