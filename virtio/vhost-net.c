// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net for virtio-net on a tap (-n mode=tap,vhost=on|off; on by
 * default when /dev/vhost-net opens): the data queues are served in the
 * kernel, which moves frames between the rings and the tap without a trip
 * through lkvm. The tap keeps its 12-byte virtio-net header
 * (TUNSETVNETHDRSZ), so vhost passes headers through untouched
 * (VHOST_NET_F_VIRTIO_NET_HDR is not asked for) and the tap does the
 * checksum and segmentation work, as without vhost.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio.h"

#define VHOST_NET_DEV	"/dev/vhost-net"

int vhost_net_open(struct vhost_net *vn, int pairs)
{
	int i;

	memset(vn, 0, sizeof(*vn));
	for (i = 0; i < VHOST_NET_MAX_PAIRS; i++)
		vn->vh[i].fd = -1;
	for (i = 0; i < 2 * VHOST_NET_MAX_PAIRS; i++)
		vn->call_fds[i] = -1;
	if (pairs > VHOST_NET_MAX_PAIRS)
		pairs = VHOST_NET_MAX_PAIRS;
	for (i = 0; i < pairs; i++) {
		if (vhost_open(&vn->vh[i], VHOST_NET_DEV) < 0) {
			pr_err("network: vhost=on: cannot use " VHOST_NET_DEV ": %s%s",
			       strerror(errno), errno == ENOENT ?
			       " (modprobe vhost_net)" : "");
			goto fail;
		}
		/* Modern rings only, as the rest of lkvm. */
		if (!(vn->vh[i].features & (1ULL << VIRTIO_F_VERSION_1))) {
			pr_err("network: vhost=on: this kernel's vhost-net has no VERSION_1");
			goto fail;
		}
		vn->pairs++;
	}
	return 0;
fail:
	vhost_net_close(vn);
	return -1;
}

u64 vhost_net_features(const struct vhost_net *vn)
{
	u64 f = ~0ULL;
	int i;

	for (i = 0; i < vn->pairs; i++)
		f &= vn->vh[i].features;
	return f;
}

int vhost_net_attach(struct vhost_net *vn, struct virtio_device *vdev)
{
	int q;

	for (q = 0; q < 2 * vn->pairs; q++) {
		vn->call_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vn->call_fds[q] < 0 ||
		    virtio_worker_add_fd(vdev, vn->call_fds[q], vhost_call, &vdev->vqs[q]) < 0) {
			pr_err("network: vhost: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int set_backend(struct vhost *vh, unsigned int idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd };

	return vhost_sys_ioctl(vh->fd, VHOST_NET_SET_BACKEND, &f);
}

int vhost_net_start(struct vhost_net *vn, struct virtio_device *vdev, const int *tap_fds,
		    int pairs)
{
	u64 features = vdev->guest_features;
	int p;

	for (p = 0; p < pairs && p < vn->pairs; p++) {
		struct vhost *vh = &vn->vh[p];
		struct virt_queue *rx = &vdev->vqs[2 * p], *tx = &vdev->vqs[2 * p + 1];

		if (!rx->ready || !tx->ready)
			continue;	/* a pair the driver did not set up */
		if (vhost_setup(vh, features, &vdev->kvm->mem) < 0)
			goto fail;
		vn->started[p] = true;
		if (vhost_start_vq(vh, 0, vdev, rx, vn->call_fds[2 * p]) < 0 ||
		    vhost_start_vq(vh, 1, vdev, tx, vn->call_fds[2 * p + 1]) < 0 ||
		    set_backend(vh, 0, tap_fds[p]) < 0 || set_backend(vh, 1, tap_fds[p]) < 0) {
			pr_warn("network: vhost pair %d: %s", p, strerror(errno));
			goto fail;
		}
	}
	vn->running = true;
	return 0;
fail:
	vhost_net_stop(vn, vdev, -1);
	return -1;
}

void vhost_net_stop(struct vhost_net *vn, struct virtio_device *vdev, int pair)
{
	int p;

	for (p = 0; p < vn->pairs; p++) {
		if (!vn->started[p] || (pair >= 0 && p != pair))
			continue;
		set_backend(&vn->vh[p], 0, -1);
		set_backend(&vn->vh[p], 1, -1);
		vhost_stop_vq(&vn->vh[p], 0, vdev, &vdev->vqs[2 * p]);
		vhost_stop_vq(&vn->vh[p], 1, vdev, &vdev->vqs[2 * p + 1]);
		vn->started[p] = false;
	}
	if (pair < 0)
		vn->running = false;
}

void vhost_net_close(struct vhost_net *vn)
{
	int i;

	for (i = 0; i < VHOST_NET_MAX_PAIRS; i++)
		vhost_close(&vn->vh[i]);
	for (i = 0; i < 2 * VHOST_NET_MAX_PAIRS; i++) {
		if (vn->call_fds[i] >= 0)
			close(vn->call_fds[i]);
		vn->call_fds[i] = -1;
	}
	vn->pairs = 0;
}
