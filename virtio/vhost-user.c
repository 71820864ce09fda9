// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user front end: the protocol (include/lkvm/vhost-user.h has the
 * overview) and the glue that lets a virtio device's queues be served by a
 * back end process. Written from QEMU's docs/interop/vhost-user.rst.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/vhost-user.h"
#include "lkvm/virtio.h"

static const char *req_name(u32 req)
{
	static const char *const names[] = {
		[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
		[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
		[VHOST_USER_SET_OWNER] = "SET_OWNER",
		[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
		[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
		[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
		[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
		[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	};

	return req < ARRAY_SIZE(names) && names[req] ? names[req] : "?";
}

void vhost_user_attach(struct vhost_user *vu, int fd, const char *name)
{
	memset(vu, 0, sizeof(*vu));
	vu->fd = fd;
	vu->name = name;
	vu->timeout_ms = VHOST_USER_TIMEOUT_MS;
}

int vhost_user_connect(struct vhost_user *vu, const char *path, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	vhost_user_attach(vu, -1, name);
	if (strlen(path) >= sizeof(addr.sun_path)) {
		pr_err("%s: socket path '%s' is too long", name, path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		pr_err("%s: cannot connect to vhost-user socket '%s': %s", name, path,
		       strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	vu->fd = fd;
	return 0;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
	vu->dead = true;
}

static int fail(struct vhost_user *vu, u32 req, const char *why)
{
	/* The first failure says why; after it the stream is out of step. */
	if (!vu->dead)
		pr_err("%s: vhost-user %s: %s", vu->name, req_name(req), why);
	vu->dead = true;
	return -1;
}

/* Wait until @fd is readable (or writable), at most the connection's timeout. */
static int wait_fd(struct vhost_user *vu, short events)
{
	struct pollfd p = { .fd = vu->fd, .events = events };
	int r;

	do
		r = poll(&p, 1, vu->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	return 0;
}

/*
 * One sendmsg() (@send) or recvmsg() on the connection, once it is ready:
 * the bytes moved (a reply's are never 0), or -1 when the connection failed
 * or timed out. A full or empty socket buffer is waited for, never spun on.
 */
static ssize_t transfer(struct vhost_user *vu, u32 req, struct msghdr *msg, bool send)
{
	for (;;) {
		int r = wait_fd(vu, send ? POLLOUT : POLLIN);
		ssize_t n;

		if (r)
			return fail(vu, req, r != -ETIMEDOUT ? strerror(-r) :
				    send ? "timed out sending" : "no reply in time");
		if (send)
			n = sendmsg(vu->fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = recvmsg(vu->fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return fail(vu, req, send && (errno == EPIPE || errno == ECONNRESET) ?
				    "the back end closed the connection" : strerror(errno));
		if (n == 0 && !send)
			return fail(vu, req, "the back end closed the connection");
		return n;
	}
}

static int send_msg(struct vhost_user *vu, u32 req, u32 flags, const void *payload,
		    u32 size, const int *fds, unsigned int nfds)
{
	struct vhost_user_hdr hdr = {
		.request = req,
		.flags = VHOST_USER_VERSION | flags,
		.size = size,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	size_t total = sizeof(hdr) + size, done = 0;
	bool first = true;

	if (vu->dead || vu->fd < 0)
		return fail(vu, req, "the back end is gone");
	if (nfds > VHOST_USER_MAX_REGIONS)
		return fail(vu, req, "too many file descriptors");
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while (done < total) {
		ssize_t n = transfer(vu, req, &msg, true);

		if (n < 0)
			return -1;
		done += n;
		if (first) {
			/* The descriptors went with the first byte. */
			msg.msg_control = NULL;
			msg.msg_controllen = 0;
			first = false;
		}
		while (n > 0 && msg.msg_iovlen) {
			size_t take = min((size_t)n, msg.msg_iov->iov_len);

			msg.msg_iov->iov_base = (u8 *)msg.msg_iov->iov_base + take;
			msg.msg_iov->iov_len -= take;
			n -= take;
			if (!msg.msg_iov->iov_len) {
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* Read exactly @len bytes within the timeout; any descriptor sent along is closed. */
static int recv_exact(struct vhost_user *vu, u32 req, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(VHOST_USER_MAX_REGIONS * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = (u8 *)buf + done, .iov_len = len - done };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *c;
		ssize_t n = transfer(vu, req, &msg, false);

		if (n < 0)
			return -1;
		/* No reply lkvm asks for carries descriptors: don't leak any. */
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int *fds = (int *)CMSG_DATA(c);
				size_t i, nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (i = 0; i < nfd; i++)
					close(fds[i]);
			}
		}
		done += n;
	}
	return 0;
}

/*
 * Read the reply to @req: a header with the reply flag and version 1, the
 * same request code, and exactly @size bytes of payload.
 */
static int recv_reply(struct vhost_user *vu, u32 req, void *payload, u32 size)
{
	struct vhost_user_hdr hdr;
	char why[96];

	if (recv_exact(vu, req, &hdr, sizeof(hdr)))
		return -1;
	if ((hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(hdr.flags & VHOST_USER_REPLY)) {
		snprintf(why, sizeof(why), "bad reply flags 0x%x", hdr.flags);
		return fail(vu, req, why);
	}
	if (hdr.request != req) {
		snprintf(why, sizeof(why), "reply is for request %u", hdr.request);
		return fail(vu, req, why);
	}
	if (hdr.size != size) {
		snprintf(why, sizeof(why), "reply of %u bytes, expected %u", hdr.size, size);
		return fail(vu, req, why);
	}
	return recv_exact(vu, req, payload, size);
}

/* A request with no reply of its own: with REPLY_ACK, wait for the ack. */
static int request(struct vhost_user *vu, u32 req, const void *payload, u32 size,
		   const int *fds, unsigned int nfds)
{
	bool ack = vu->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	u64 status;
	char why[64];

	if (send_msg(vu, req, ack ? VHOST_USER_NEED_REPLY : 0, payload, size, fds, nfds))
		return -1;
	if (!ack)
		return 0;
	if (recv_reply(vu, req, &status, sizeof(status)))
		return -1;
	if (status) {
		/* The stream is still in step: only this request failed. */
		snprintf(why, sizeof(why), "refused (status %llu)", (unsigned long long)status);
		pr_err("%s: vhost-user %s: %s", vu->name, req_name(req), why);
		return -1;
	}
	return 0;
}

static int get_u64(struct vhost_user *vu, u32 req, u64 *val)
{
	if (send_msg(vu, req, 0, NULL, 0, NULL, 0))
		return -1;
	return recv_reply(vu, req, val, sizeof(*val));
}

int vhost_user_handshake(struct vhost_user *vu, u64 want_protocol)
{
	u64 proto;

	if (get_u64(vu, VHOST_USER_GET_FEATURES, &vu->features))
		return -1;
	vu->protocol_features = 0;
	if (vu->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) {
		if (get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &proto))
			return -1;
		proto &= want_protocol;
		/* Sent before it takes effect: SET_PROTOCOL_FEATURES itself is never acked. */
		if (send_msg(vu, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &proto, sizeof(proto),
			     NULL, 0))
			return -1;
		vu->protocol_features = proto;
	}
	return request(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
}

int vhost_user_set_features(struct vhost_user *vu, u64 features)
{
	return request(vu, VHOST_USER_SET_FEATURES, &features, sizeof(features), NULL, 0);
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *regions,
			     const int *fds, unsigned int n)
{
	struct vhost_user_mem_table t = { .nregions = n };

	if (!n || n > VHOST_USER_MAX_REGIONS)
		return fail(vu, VHOST_USER_SET_MEM_TABLE, "bad number of memory regions");
	memcpy(t.regions, regions, n * sizeof(*regions));
	/* Only the regions in use: rust-vmm back ends refuse any other size. */
	return request(vu, VHOST_USER_SET_MEM_TABLE, &t,
		       offsetof(struct vhost_user_mem_table, regions) + n * sizeof(*regions),
		       fds, n);
}

static int vring_state(struct vhost_user *vu, u32 req, u32 index, u32 num)
{
	struct vhost_user_vring_state s = { .index = index, .num = num };

	return request(vu, req, &s, sizeof(s), NULL, 0);
}

int vhost_user_set_vring_num(struct vhost_user *vu, u32 index, u32 num)
{
	return vring_state(vu, VHOST_USER_SET_VRING_NUM, index, num);
}

int vhost_user_set_vring_base(struct vhost_user *vu, u32 index, u32 base)
{
	return vring_state(vu, VHOST_USER_SET_VRING_BASE, index, base);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, u32 index, bool on)
{
	return vring_state(vu, VHOST_USER_SET_VRING_ENABLE, index, on);
}

int vhost_user_set_vring_addr(struct vhost_user *vu, const struct vhost_user_vring_addr *a)
{
	return request(vu, VHOST_USER_SET_VRING_ADDR, a, sizeof(*a), NULL, 0);
}

int vhost_user_get_vring_base(struct vhost_user *vu, u32 index, u32 *base)
{
	struct vhost_user_vring_state s = { .index = index };
	char why[64];

	if (send_msg(vu, VHOST_USER_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0) ||
	    recv_reply(vu, VHOST_USER_GET_VRING_BASE, &s, sizeof(s)))
		return -1;
	if (s.index != index || s.num > 0xffff) {
		snprintf(why, sizeof(why), "reply for ring %u with base %u", s.index, s.num);
		return fail(vu, VHOST_USER_GET_VRING_BASE, why);
	}
	*base = s.num;
	return 0;
}

static int vring_fd(struct vhost_user *vu, u32 req, u32 index, int fd)
{
	u64 v = index & VHOST_USER_VRING_IDX_MASK;

	if (index > VHOST_USER_VRING_IDX_MASK)
		return fail(vu, req, "queue index out of range");
	if (fd < 0)
		v |= VHOST_USER_VRING_NOFD;
	return request(vu, req, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, u32 index, int fd)
{
	return vring_fd(vu, VHOST_USER_SET_VRING_KICK, index, fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, u32 index, int fd)
{
	return vring_fd(vu, VHOST_USER_SET_VRING_CALL, index, fd);
}

int vhost_user_get_queue_num(struct vhost_user *vu, u64 *num)
{
	return get_u64(vu, VHOST_USER_GET_QUEUE_NUM, num);
}

/* --- a virtio device served by a back end --- */

/* Features the core offers itself; the back end must have them to keep them. */
#define CORE_RING_FEATURES	((1ULL << VIRTIO_RING_F_EVENT_IDX) | \
				 (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

int vhost_user_dev_init(struct vhost_user_dev *vud, struct virtio_device *vdev, u64 mask)
{
	vud->vdev = vdev;
	vud->features_mask = mask | (1ULL << VIRTIO_F_VERSION_1) | CORE_RING_FEATURES;
	if (vhost_user_handshake(&vud->vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK))
		return -1;
	if (!(vud->vu.features & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_err("%s: the vhost-user back end does not offer VIRTIO_F_VERSION_1", vud->vu.name);
		return -1;
	}
	vdev->host_features = vud->vu.features & mask;
	vdev->kicks_elsewhere = true;
	return 0;
}

/* The back end completed buffers on a queue: raise its interrupt. */
static void call_relay(struct virtio_device *vdev, void *ctx)
{
	struct virt_queue *vq = ctx;

	/* The back end applied EVENT_IDX suppression itself before writing. */
	if (vq->ready && (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		vdev->tops->signal_vq(vdev, vq);
}

static void hung_up(struct virtio_device *vdev __unused, void *ctx)
{
	struct vhost_user_dev *vud = ctx;

	/* One message: the device's own (what it does now), else this. */
	if (!vud->vu.dead && !vud->dead)
		pr_warn("%s: the vhost-user back end hung up", vud->vu.name);
	vud->vu.dead = true;
	if (vud->dead)
		vud->dead(vud);
}

int vhost_user_dev_attach(struct vhost_user_dev *vud)
{
	struct virtio_device *vdev = vud->vdev;
	unsigned int i;

	/* Take away the ring features the core added but the back end lacks. */
	vdev->host_features &= vud->vu.features | ~CORE_RING_FEATURES;
	vud->call_fds = xmalloc(vdev->nr_queues * sizeof(int));
	vud->started = xzalloc(vdev->nr_queues * sizeof(bool));
	for (i = 0; i < vdev->nr_queues; i++)
		vud->call_fds[i] = -1;
	for (i = 0; i < vdev->nr_queues; i++) {
		vud->call_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vud->call_fds[i] < 0) {
			pr_err("%s: eventfd: %s", vud->vu.name, strerror(errno));
			return -1;
		}
		if (virtio_worker_add_fd(vdev, vud->call_fds[i], call_relay, &vdev->vqs[i]))
			return -1;
	}
	return virtio_worker_watch_hangup(vdev, vud->vu.fd, hung_up, vud);
}

/* Guest RAM as the back end must map it: every bank, from the memfd. */
static int send_mem_table(struct vhost_user_dev *vud, struct kvm *kvm)
{
	struct vhost_user_region r[VHOST_USER_MAX_REGIONS];
	int fds[VHOST_USER_MAX_REGIONS];
	unsigned int i, n = kvm->mem.nr_banks;

	if (kvm->ram_fd < 0) {
		pr_err("%s: guest RAM is not shared memory", vud->vu.name);
		return -1;
	}
	if (n > VHOST_USER_MAX_REGIONS)
		return -1;
	for (i = 0; i < n; i++) {
		const struct guest_bank *b = &kvm->mem.banks[i];

		r[i] = (struct vhost_user_region){
			.guest_phys_addr = b->gpa,
			.memory_size = b->size,
			.userspace_addr = (u64)(uintptr_t)b->host,
			.mmap_offset = (u64)(b->host - (u8 *)kvm->ram),
		};
		fds[i] = kvm->ram_fd;
	}
	return vhost_user_set_mem_table(&vud->vu, r, fds, n);
}

static int start_ring(struct vhost_user_dev *vud, struct virt_queue *vq)
{
	struct vhost_user *vu = &vud->vu;
	struct vhost_user_vring_addr a = {
		.index = vq->index,
		/* Host addresses in lkvm's mapping, which the memory table describes. */
		.desc_user_addr = (u64)(uintptr_t)vq->desc,
		.used_user_addr = (u64)(uintptr_t)vq->used,
		.avail_user_addr = (u64)(uintptr_t)vq->avail,
	};

	if (vhost_user_set_vring_num(vu, vq->index, vq->size) ||
	    vhost_user_set_vring_addr(vu, &a) ||
	    vhost_user_set_vring_base(vu, vq->index, vq->last_avail_idx) ||
	    vhost_user_set_vring_kick(vu, vq->index, vq->kick_fd) ||
	    vhost_user_set_vring_call(vu, vq->index, vud->call_fds[vq->index]))
		return -1;
	/* With PROTOCOL_FEATURES rings start disabled (spec: "Ring states"). */
	if (vu->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))
		if (vhost_user_set_vring_enable(vu, vq->index, true))
			return -1;
	vud->started[vq->index] = true;
	return 0;
}

int vhost_user_dev_start(struct vhost_user_dev *vud, struct kvm *kvm)
{
	struct virtio_device *vdev = vud->vdev;
	u64 features = vdev->guest_features;
	unsigned int i;

	if (vud->vu.features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))
		features |= 1ULL << VHOST_USER_F_PROTOCOL_FEATURES;
	if (vhost_user_set_features(&vud->vu, features) || send_mem_table(vud, kvm))
		return -1;
	for (i = 0; i < vdev->nr_queues; i++)
		if (vdev->vqs[i].ready && start_ring(vud, &vdev->vqs[i]))
			return -1;
	return 0;
}

void vhost_user_dev_stop(struct vhost_user_dev *vud, struct virt_queue *vq)
{
	struct virtio_device *vdev = vud->vdev;
	unsigned int i;
	u32 base;

	if (!vud->started)
		return;
	for (i = 0; i < vdev->nr_queues; i++) {
		if (!vud->started[i] || (vq && vq->index != i))
			continue;
		vud->started[i] = false;
		/* GET_VRING_BASE stops the ring; the back end lets go of it. */
		if (!vud->vu.dead)
			vhost_user_get_vring_base(&vud->vu, i, &base);
	}
}

void vhost_user_dev_free(struct vhost_user_dev *vud)
{
	unsigned int i;

	for (i = 0; vud->call_fds && vud->vdev && i < vud->vdev->nr_queues; i++)
		if (vud->call_fds[i] >= 0)
			close(vud->call_fds[i]);
	free(vud->call_fds);
	free(vud->started);
	vud->call_fds = NULL;
	vud->started = NULL;
	vhost_user_close(&vud->vu);
}
