// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock (virtio 1.x, section 5.10), --vsock CID: sockets between the
 * guest (AF_VSOCK, context id CID) and the host (CID 2), served by the
 * host kernel's vhost-vsock (/dev/vhost-vsock): host programs connect to
 * and listen on AF_VSOCK sockets as usual, the kernel routes them by CID.
 *
 * The receive (0) and transmit (1) queues are the kernel's. The event
 * queue (2) stays lkvm's: its only event, TRANSPORT_RESET, is for a guest
 * moved to another host, which never happens here, so its buffers are
 * simply held.
 *
 * The CID is claimed (VHOST_VSOCK_SET_GUEST_CID) when lkvm starts, so a CID
 * another VM holds is one line and exit status 1, not a silent guest.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio.h"

#define VHOST_VSOCK_DEV		"/dev/vhost-vsock"
#define VSOCK_QUEUE_SIZE	256

struct vsock_dev {
	struct virtio_device vdev;
	struct vhost vh;
	u8 config[8];			/* guest_cid, little-endian */
	int call_fds[2];
	bool running;
};

static void vsock_notify(struct virtio_device *vdev __unused, struct virt_queue *vq __unused)
{
	/* Event queue buffers wait for an event that never comes (see above). */
}

static int set_running(struct vsock_dev *v, int on)
{
	return vhost_sys_ioctl(v->vh.fd, VHOST_VSOCK_SET_RUNNING, &on);
}

static void vsock_stop(struct vsock_dev *v)
{
	int i;

	if (!v->running)
		return;
	set_running(v, 0);
	for (i = 0; i < 2; i++)
		vhost_stop_vq(&v->vh, i, &v->vdev, &v->vdev.vqs[i]);
	v->running = false;
}

static int vsock_activate(struct virtio_device *vdev)
{
	struct vsock_dev *v = vdev->priv;
	int i;

	if (vhost_setup(&v->vh, vdev->guest_features, &vdev->kvm->mem) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		if (vhost_start_vq(&v->vh, i, vdev, &vdev->vqs[i], v->call_fds[i]) < 0) {
			while (i--)
				vhost_stop_vq(&v->vh, i, vdev, &vdev->vqs[i]);
			return -1;
		}
	}
	v->running = true;
	if (set_running(v, 1) < 0) {
		pr_warn("vsock: SET_RUNNING: %s", strerror(errno));
		vsock_stop(v);
		return -1;
	}
	return 0;
}

static void vsock_reset(struct virtio_device *vdev)
{
	vsock_stop(vdev->priv);
}

/* A data queue stopped without a reset: the kernel lets go of both. */
static void vsock_queue_stop(struct virtio_device *vdev, struct virt_queue *vq)
{
	if (vq->index < 2)
		vsock_stop(vdev->priv);
}

VIRTIO_DEVICE_OPS(vsock, "vsock", VIRTIO_ID_VSOCK, activate, reset, queue_stop);

static void vsock_free(struct vsock_dev *v)
{
	vhost_close(&v->vh);
	close_fd(&v->call_fds[0]);
	close_fd(&v->call_fds[1]);
	free(v);
}

static void vsock_release(struct virtio_device *vdev)
{
	vsock_free(vdev->priv);
}

static int virtio_vsock_init(struct kvm *kvm)
{
	u64 cid = kvm->cfg.vsock_cid;
	struct vsock_dev *v;
	int i;

	if (!cid)
		return 0;
	v = xzalloc(sizeof(*v));
	v->call_fds[0] = v->call_fds[1] = -1;
	if (vhost_open(&v->vh, VHOST_VSOCK_DEV) < 0) {
		pr_err("--vsock: cannot use " VHOST_VSOCK_DEV ": %s%s", strerror(errno),
		       errno == ENOENT ? " (modprobe vhost_vsock)" : "");
		vsock_free(v);
		return -1;
	}
	if (vhost_sys_ioctl(v->vh.fd, VHOST_VSOCK_SET_GUEST_CID, &cid) < 0) {
		pr_err("--vsock: CID %llu: %s", (unsigned long long)cid,
		       errno == EADDRINUSE ? "in use by another VM" : strerror(errno));
		vsock_free(v);
		return -1;
	}
	put_le64(v->config, cid);
	v->vdev.ops = &vsock_ops;
	v->vdev.priv = v;
	v->vdev.config = v->config;
	v->vdev.config_len = sizeof(v->config);
	v->vdev.nr_queues = 3;
	v->vdev.queue_max_size = VSOCK_QUEUE_SIZE;
	/* What the kernel serves, besides what the core offers itself. */
	v->vdev.host_features = v->vh.features & ((1ULL << VIRTIO_F_VERSION_1) |
						  (1ULL << VIRTIO_RING_F_EVENT_IDX) |
						  (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	if (virtio_device_register(kvm, &v->vdev) < 0) {
		vsock_free(v);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		v->call_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->call_fds[i] < 0 ||
		    virtio_worker_add_fd(&v->vdev, v->call_fds[i], vhost_call, &v->vdev.vqs[i]) < 0) {
			pr_err("vsock: %s", strerror(errno));
			return -1;
		}
	}
	pr_debug("vsock: guest CID %llu", (unsigned long long)cid);
	return 0;
}

virtio_dev_type_init(virtio_vsock_init, vsock_ops, vsock_release);
