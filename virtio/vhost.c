// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost ioctl interface (linux/vhost.h) shared by vhost-net
 * (virtio/net.c) and vhost-vsock (virtio/vsock.c). See include/lkvm/vhost.h.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/guest-mem.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio.h"

int vhost_open(struct vhost *vh, const char *path)
{
	int err;

	vh->fd = vhost_sys_open(path);
	if (vh->fd < 0)
		return -1;
	if (vhost_sys_ioctl(vh->fd, VHOST_SET_OWNER, NULL) < 0 ||
	    vhost_sys_ioctl(vh->fd, VHOST_GET_FEATURES, &vh->features) < 0) {
		err = errno;
		vhost_close(vh);
		errno = err;
		return -1;
	}
	return 0;
}

void vhost_close(struct vhost *vh)
{
	if (vh->fd >= 0)
		close(vh->fd);
	vh->fd = -1;
}

int vhost_setup(struct vhost *vh, u64 features, const struct guest_mem *mem)
{
	struct vhost_memory *m;
	unsigned int i;
	int r;

	/* The kernel serves rings: it needs the ring features, nothing of the device's. */
	features &= vh->features;
	if (vhost_sys_ioctl(vh->fd, VHOST_SET_FEATURES, &features) < 0) {
		pr_warn("vhost: SET_FEATURES 0x%llx: %s", (unsigned long long)features,
			strerror(errno));
		return -1;
	}
	m = xzalloc(sizeof(*m) + mem->nr_banks * sizeof(m->regions[0]));
	m->nregions = mem->nr_banks;
	for (i = 0; i < mem->nr_banks; i++) {
		m->regions[i].guest_phys_addr = mem->banks[i].gpa;
		m->regions[i].memory_size = mem->banks[i].size;
		m->regions[i].userspace_addr = (unsigned long)mem->banks[i].host;
	}
	r = vhost_sys_ioctl(vh->fd, VHOST_SET_MEM_TABLE, m);
	if (r < 0)
		pr_warn("vhost: SET_MEM_TABLE: %s", strerror(errno));
	free(m);
	return r < 0 ? -1 : 0;
}

int vhost_start_vq(struct vhost *vh, unsigned int idx, struct virtio_device *vdev,
		   struct virt_queue *vq, int call_fd)
{
	struct vhost_vring_state num = { .index = idx, .num = vq->size };
	struct vhost_vring_state base = { .index = idx, .num = vq->last_avail_idx };
	/* The rings were validated and mapped by virtq_setup (guest_ptr). */
	struct vhost_vring_addr addr = {
		.index = idx,
		.desc_user_addr = (unsigned long)vq->desc,
		.avail_user_addr = (unsigned long)vq->avail,
		.used_user_addr = (unsigned long)vq->used,
	};
	struct vhost_vring_file kick = { .index = idx, .fd = vq->kick_fd };
	struct vhost_vring_file call = { .index = idx, .fd = call_fd };

	if (!vq->ready)
		return -1;
	/* The kicks are the kernel's now: the worker must not eat them. */
	virtio_queue_handover(vdev, vq->index, true);
	if (vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_ADDR, &addr) < 0 ||
	    vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
	    vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_CALL, &call) < 0) {
		pr_warn("vhost: vring %u: %s", idx, strerror(errno));
		virtio_queue_handover(vdev, vq->index, false);
		return -1;
	}
	return 0;
}

void vhost_stop_vq(struct vhost *vh, unsigned int idx, struct virtio_device *vdev,
		   struct virt_queue *vq)
{
	struct vhost_vring_state base = { .index = idx };
	struct vhost_vring_file f = { .index = idx, .fd = -1 };

	/* GET_VRING_BASE stops the ring; kick and call are detached after. */
	vhost_sys_ioctl(vh->fd, VHOST_GET_VRING_BASE, &base);
	vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_KICK, &f);
	vhost_sys_ioctl(vh->fd, VHOST_SET_VRING_CALL, &f);
	virtio_queue_handover(vdev, vq->index, false);
}

void vhost_call(struct virtio_device *vdev, void *ctx)
{
	struct virt_queue *vq = ctx;

	/* The kernel decided (EVENT_IDX included) that the guest wants this one. */
	if (vq->ready)
		vdev->tops->signal_vq(vdev, vq);
}
