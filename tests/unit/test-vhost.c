// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net and vhost-vsock at the ioctl boundary: virtio/net.c,
 * vhost-net.c, vsock.c and vhost.c run against a recorder standing in for
 * virtio/vhost-sys.c, driven like a guest driver would (fake-virtio.h).
 * Checked: the open/SET_OWNER/GET_FEATURES at start, the order and
 * arguments of SET_FEATURES, SET_MEM_TABLE, SET_VRING_NUM/BASE/ADDR/KICK/CALL
 * and NET_SET_BACKEND (or VSOCK_SET_RUNNING) at DRIVER_OK, that the kernel
 * gets the queue's own kick eventfd and lkvm's worker no longer serves
 * those queues while lkvm still serves the control queue, that a call
 * raises the queue's interrupt, the teardown at reset, a kernel refusing
 * a ring (device broken, queues back to lkvm), and the one-line refusals:
 * vhost=on without /dev/vhost-net, /dev/vhost-vsock unusable, a CID in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "lkvm/net.h"
#include "lkvm/vhost.h"
#include "test.h"
#include "fake-virtio.h"
#include "fake-net.h"

#define B(x)		(1ULL << (x))

/* --- the recorder ---------------------------------------------------------- */

struct call {
	int fd;
	unsigned long req;
	unsigned int index;	/* vring calls */
	u64 val;		/* num, features, cid, running, or the fd passed */
	u64 desc, avail, used;	/* SET_VRING_ADDR */
};

static struct call calls[256];
static int ncalls;
static char opened[4][64];
static int nopened;
static int open_errno;			/* make opening fail */
static u64 kernel_features;
static unsigned long fail_req;		/* make this request fail... */
static int fail_errno;			/* ...with this */
static struct vhost_memory_region regions[4];
static u32 nregions;

int vhost_sys_open(const char *path)
{
	if (nopened < 4)
		snprintf(opened[nopened++], sizeof(opened[0]), "%s", path);
	if (open_errno) {
		errno = open_errno;
		return -1;
	}
	/* A real fd, so that close() in the code under test is harmless. */
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

int vhost_sys_ioctl(int fd, unsigned long req, void *arg)
{
	struct call *c = &calls[ncalls < 255 ? ncalls++ : 255];

	c->fd = fd;
	c->req = req;
	switch (req) {
	case VHOST_GET_FEATURES:
		*(u64 *)arg = kernel_features;
		break;
	case VHOST_SET_FEATURES:
	case VHOST_VSOCK_SET_GUEST_CID:
		c->val = *(u64 *)arg;
		break;
	case VHOST_VSOCK_SET_RUNNING:
		c->val = *(int *)arg;
		break;
	case VHOST_SET_MEM_TABLE: {
		struct vhost_memory *m = arg;

		nregions = m->nregions;
		memcpy(regions, m->regions, min(m->nregions, 4U) * sizeof(regions[0]));
		break;
	}
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE: {
		struct vhost_vring_state *s = arg;

		c->index = s->index;
		c->val = s->num;
		break;
	}
	case VHOST_SET_VRING_ADDR: {
		struct vhost_vring_addr *a = arg;

		c->index = a->index;
		c->desc = a->desc_user_addr;
		c->avail = a->avail_user_addr;
		c->used = a->used_user_addr;
		break;
	}
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_NET_SET_BACKEND: {
		struct vhost_vring_file *f = arg;

		c->index = f->index;
		c->val = (u64)(s64)f->fd;
		break;
	}
	}
	if (req == fail_req) {
		errno = fail_errno;
		return -1;
	}
	return 0;
}

static void reset_rec(void)
{
	memset(calls, 0, sizeof(calls));
	ncalls = 0;
	fail_req = 0;
}

/* The @nth call of kind @req (0 = first), or NULL. */
static struct call *find(unsigned long req, int nth)
{
	int i;

	for (i = 0; i < ncalls; i++)
		if (calls[i].req == req && !nth--)
			return &calls[i];
	return NULL;
}

static int pos(const struct call *c)
{
	return c ? (int)(c - calls) : -1;
}

static int count(unsigned long req)
{
	int i, n = 0;

	for (i = 0; i < ncalls; i++)
		n += calls[i].req == req;
	return n;
}

/* Bring the VM's devices up with @cfg; -1 if INIT_VIRTIO failed. */
static int devices_up(void)
{
	fv_nr_devs = 0;
	return init_run_stage(&fv_kvm, INIT_VIRTIO);
}

static void devices_down(void)
{
	init_run_exits(&fv_kvm);
	fv_kvm.cfg.nr_nets = 0;
	fv_kvm.cfg.vsock_cid = 0;
}

/* --- vhost-net --------------------------------------------------------------- */

#define VHOST_NET_KERNEL	(B(VIRTIO_F_VERSION_1) | B(VIRTIO_RING_F_EVENT_IDX) | \
				 B(VIRTIO_RING_F_INDIRECT_DESC) | B(VIRTIO_NET_F_MRG_RXBUF) | \
				 B(VIRTIO_F_ANY_LAYOUT) | B(VHOST_F_LOG_ALL))

static void check_vring(struct virtio_device *vdev, unsigned int qi, unsigned int idx,
			int after, int call_fd_nth)
{
	struct virt_queue *vq = &vdev->vqs[qi];
	struct call *num = NULL, *base = NULL, *addr = NULL, *kick = NULL, *call = NULL;
	int i;

	for (i = after; i < ncalls; i++) {
		struct call *c = &calls[i];

		if (c->index != idx)
			continue;
		if (c->req == VHOST_SET_VRING_NUM && !num)
			num = c;
		else if (c->req == VHOST_SET_VRING_BASE && !base)
			base = c;
		else if (c->req == VHOST_SET_VRING_ADDR && !addr)
			addr = c;
		else if (c->req == VHOST_SET_VRING_KICK && !kick)
			kick = c;
		else if (c->req == VHOST_SET_VRING_CALL && !call)
			call = c;
	}
	CHECK(num && base && addr && kick && call);
	if (!num || !base || !addr || !kick || !call)
		return;
	CHECK(pos(num) < pos(base) && pos(base) < pos(addr) && pos(addr) < pos(kick) &&
	      pos(kick) < pos(call));
	CHECK_EQ(num->val, FV_QSZ);
	CHECK_EQ(base->val, 0);
	/* Host addresses of the very rings the driver set up. */
	CHECK_EQ(addr->desc, (unsigned long)(fv_ram + vq->desc_gpa));
	CHECK_EQ(addr->avail, (unsigned long)(fv_ram + vq->avail_gpa));
	CHECK_EQ(addr->used, (unsigned long)(fv_ram + vq->used_gpa));
	CHECK_EQ(kick->val, (u64)vq->kick_fd);	/* the transport's ioeventfd */
	CHECK((s64)call->val >= 0 && call->val != (u64)vq->kick_fd);
	(void)call_fd_nth;
}

static void test_vhost_net(void)
{
	struct virtio_device *net;
	struct fv_q q[3];
	struct call *c;
	int first;
	u64 feat = B(VIRTIO_F_VERSION_1) | B(VIRTIO_RING_F_EVENT_IDX) |
		   B(VIRTIO_NET_F_MAC) | B(VIRTIO_NET_F_MRG_RXBUF) | B(VIRTIO_NET_F_CTRL_VQ) |
		   B(VIRTIO_NET_F_CSUM) | B(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);

	reset_rec();
	nopened = 0;
	kernel_features = VHOST_NET_KERNEL;
	fv_kvm.cfg.nets[0] = (struct net_config){ .queues = 1, .vhost = NET_VHOST_ON };
	fv_kvm.cfg.nr_nets = 1;
	CHECK_EQ(devices_up(), 0);
	net = fv_find(VIRTIO_ID_NET);
	CHECK(net != NULL);
	if (!net)
		return;
	/* At start: the device, its owner, what it can do. */
	CHECK_EQ(nopened, 1);
	CHECK(!strcmp(opened[0], "/dev/vhost-net"));
	CHECK_EQ(pos(find(VHOST_SET_OWNER, 0)), 0);
	CHECK_EQ(pos(find(VHOST_GET_FEATURES, 0)), 1);
	CHECK_EQ(ncalls, 2);

	/* DRIVER_OK: features, memory, both rings, then the tap as backend. */
	first = ncalls;
	CHECK(fv_driver_up(net, feat, q, 3, 0));
	c = find(VHOST_SET_FEATURES, 0);
	CHECK(c != NULL);
	if (c)	/* only what the kernel serves; CSUM and the rest are the tap's */
		CHECK_EQ(c->val, feat & VHOST_NET_KERNEL);
	CHECK(pos(find(VHOST_SET_FEATURES, 0)) < pos(find(VHOST_SET_MEM_TABLE, 0)));
	CHECK_EQ(nregions, 1);
	CHECK_EQ(regions[0].guest_phys_addr, 0);
	CHECK_EQ(regions[0].memory_size, FV_RAM_SIZE);
	CHECK_EQ(regions[0].userspace_addr, (unsigned long)fv_ram);
	check_vring(net, 0, 0, first, 0);
	check_vring(net, 1, 1, first, 1);
	CHECK_EQ(count(VHOST_SET_VRING_NUM), 2);	/* not the control queue */
	c = find(VHOST_NET_SET_BACKEND, 0);
	CHECK(c && c->index == 0 && c->val == (u64)own[0]);
	c = find(VHOST_NET_SET_BACKEND, 1);
	CHECK(c && c->index == 1 && c->val == (u64)own[0]);
	CHECK(pos(find(VHOST_SET_VRING_CALL, 1)) < pos(find(VHOST_NET_SET_BACKEND, 0)));

	/* A transmit kick is the kernel's: lkvm neither takes the chain nor sends it. */
	{
		u64 buf = fv_alloc(100);
		struct fv_seg s = { buf, 100, false };
		u8 junk[200];

		fv_add(&q[1], &s, 1);
		virtio_queue_kick(net, 1);
		CHECK(!fv_wait(&q[1], 1));
		CHECK(recv(peer[0], junk, sizeof(junk), MSG_DONTWAIT) < 0);
	}
	/* The control queue is still lkvm's. */
	{
		u64 cmd = fv_alloc(10), ack = fv_alloc(1);
		u8 *p = fv_gp(cmd);
		struct fv_seg s[2] = { { cmd, 10, false }, { ack, 1, true } };

		p[0] = VIRTIO_NET_CTRL_GUEST_OFFLOADS;
		p[1] = VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET;
		*(u8 *)fv_gp(ack) = 0xff;
		fv_add(&q[2], s, 2);
		CHECK(fv_kick_wait(&q[2], 1));
		CHECK_EQ(fv_used(&q[2], 0)->len, 1);
		CHECK_EQ(*(u8 *)fv_gp(ack), VIRTIO_NET_OK);
	}
	/* A call from the kernel raises the queue's interrupt. */
	c = find(VHOST_SET_VRING_CALL, 0);
	if (c) {
		int before = __atomic_load_n(&fv_irqs, __ATOMIC_RELAXED), i;

		CHECK(eventfd_write((int)c->val, 1) == 0);
		for (i = 0; i < 1000 && __atomic_load_n(&fv_irqs, __ATOMIC_RELAXED) == before; i++)
			usleep(1000);
		CHECK(__atomic_load_n(&fv_irqs, __ATOMIC_RELAXED) > before);
	}

	/* Reset: backends detached, rings stopped, kicks back to lkvm's worker. */
	first = ncalls;
	virtio_set_status(net, 0);
	c = find(VHOST_NET_SET_BACKEND, 2);
	CHECK(c && (s64)c->val == -1);
	CHECK_EQ(count(VHOST_GET_VRING_BASE), 2);
	CHECK(pos(find(VHOST_NET_SET_BACKEND, 3)) < pos(find(VHOST_GET_VRING_BASE, 0)));
	CHECK(ncalls > first);

	/* The kernel refuses a ring: the device is broken, nothing is attached. */
	reset_rec();
	fail_req = VHOST_SET_VRING_ADDR;
	fail_errno = EFAULT;
	test_capture_begin();
	fv_driver_up(net, feat, q, 3, 0);
	test_capture_end();
	CHECK(virtio_get_status(net) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(count(VHOST_NET_SET_BACKEND), 2);	/* only the detaching ones */
	c = find(VHOST_NET_SET_BACKEND, 0);
	CHECK(c && (s64)c->val == -1);
	fail_req = 0;
	devices_down();
	close(peer[0]);
}

static void test_vhost_net_refusals(void)
{
	const char *s;

	/* vhost=on without the device: one line naming the module. */
	reset_rec();
	open_errno = ENOENT;
	fv_kvm.cfg.nets[0] = (struct net_config){ .queues = 1, .vhost = NET_VHOST_ON };
	fv_kvm.cfg.nr_nets = 1;
	CHECK_ONE_LINE(devices_up() < 0, "/dev/vhost-net");
	CHECK(strstr(test_captured, "modprobe vhost_net"));
	devices_down();
	close(peer[0]);

	/* By default, without it: quietly without vhost, lkvm serves the queues. */
	reset_rec();
	fv_kvm.cfg.nets[0] = (struct net_config){ .queues = 1 };
	fv_kvm.cfg.nr_nets = 1;
	test_capture_begin();
	CHECK_EQ(devices_up(), 0);
	s = test_capture_end();
	CHECK_EQ(test_lines(s), 0);
	CHECK_EQ(ncalls, 0);
	if (fv_find(VIRTIO_ID_NET)) {
		struct virtio_device *net = fv_find(VIRTIO_ID_NET);
		struct fv_q q[3];
		u64 buf = fv_alloc(100);
		struct fv_seg seg = { buf, 100, false };

		CHECK(fv_driver_up(net, B(VIRTIO_F_VERSION_1), q, 3, 0));
		fv_add(&q[1], &seg, 1);
		CHECK(fv_kick_wait(&q[1], 1));
	}
	devices_down();
	close(peer[0]);

	/* vhost=off never opens it. */
	open_errno = 0;
	nopened = 0;
	fv_kvm.cfg.nets[0] = (struct net_config){ .queues = 1, .vhost = NET_VHOST_OFF };
	fv_kvm.cfg.nr_nets = 1;
	CHECK_EQ(devices_up(), 0);
	CHECK_EQ(nopened, 0);
	devices_down();
	close(peer[0]);
}

/* --- vhost-vsock ------------------------------------------------------------- */

static void test_vhost_vsock(void)
{
	struct virtio_device *vs;
	struct fv_q q[3];
	struct call *c;
	u8 cfg[8];

	reset_rec();
	nopened = 0;
	open_errno = 0;
	kernel_features = B(VIRTIO_F_VERSION_1) | B(VIRTIO_RING_F_EVENT_IDX) |
			  B(VIRTIO_RING_F_INDIRECT_DESC) | B(VHOST_F_LOG_ALL);
	fv_kvm.cfg.vsock_cid = 0x100000007ULL & 0xffffffff;	/* 7 */
	CHECK_EQ(devices_up(), 0);
	vs = fv_find(VIRTIO_ID_VSOCK);
	CHECK(vs != NULL);
	if (!vs)
		return;
	CHECK(!strcmp(opened[0], "/dev/vhost-vsock"));
	CHECK_EQ(pos(find(VHOST_SET_OWNER, 0)), 0);
	CHECK_EQ(pos(find(VHOST_GET_FEATURES, 0)), 1);
	c = find(VHOST_VSOCK_SET_GUEST_CID, 0);
	CHECK(c && pos(c) == 2 && c->val == 7);
	virtio_config_access(vs, 0, cfg, 8, false);
	CHECK_EQ(get_le64(cfg), 7);
	CHECK_EQ(fv_features(vs) & B(VHOST_F_LOG_ALL), 0);	/* vhost's own, not virtio's */

	CHECK(fv_driver_up(vs, B(VIRTIO_F_VERSION_1) | B(VIRTIO_RING_F_EVENT_IDX), q, 3, 0));
	check_vring(vs, 0, 0, 3, 0);
	check_vring(vs, 1, 1, 3, 1);
	CHECK_EQ(count(VHOST_SET_VRING_NUM), 2);	/* the event queue is lkvm's */
	c = find(VHOST_VSOCK_SET_RUNNING, 0);
	CHECK(c && c->val == 1);
	CHECK(pos(find(VHOST_SET_VRING_CALL, 1)) < pos(c));
	CHECK(pos(find(VHOST_SET_MEM_TABLE, 0)) < pos(find(VHOST_SET_VRING_NUM, 0)));

	virtio_set_status(vs, 0);
	c = find(VHOST_VSOCK_SET_RUNNING, 1);
	CHECK(c && c->val == 0);
	CHECK_EQ(count(VHOST_GET_VRING_BASE), 2);
	devices_down();

	/* A CID another VM holds. */
	reset_rec();
	fail_req = VHOST_VSOCK_SET_GUEST_CID;
	fail_errno = EADDRINUSE;
	fv_kvm.cfg.vsock_cid = 3;
	CHECK_ONE_LINE(devices_up() < 0, "CID 3");
	CHECK(strstr(test_captured, "in use"));
	devices_down();

	/* No usable /dev/vhost-vsock. */
	reset_rec();
	open_errno = EACCES;
	fv_kvm.cfg.vsock_cid = 3;
	CHECK_ONE_LINE(devices_up() < 0, "/dev/vhost-vsock");
	devices_down();
	open_errno = 0;
}

TEST_MAIN_BEGIN("test-vhost")
	fv_setup();
	fake_net_is_tap = true;
	RUN(test_vhost_net);
	RUN(test_vhost_net_refusals);
	RUN(test_vhost_vsock);
TEST_MAIN_END()
