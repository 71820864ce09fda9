/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VHOST_H
#define LKVM_VHOST_H

#include "lkvm/util.h"

struct guest_mem;
struct virt_queue;
struct virtio_device;

/*
 * A vhost device (/dev/vhost-net, /dev/vhost-vsock): the kernel serves
 * some of a virtio device's queues straight from guest memory. lkvm keeps
 * the rest of the device (config, features, other queues, reset) and the
 * transport: the kernel is kicked through the queue's own eventfd (the
 * transport's ioeventfd, which the worker then stops watching), and
 * signals completions on a call eventfd that the device's worker turns
 * into the transport's interrupt (MSI-X through its irqfd, or INTx / MMIO
 * with the interrupt status the transport keeps).
 */
struct vhost {
	int fd;
	u64 features;		/* what the kernel offers (VHOST_GET_FEATURES) */
};

/* Open @path and become its owner; -1 with errno (no message). */
int vhost_open(struct vhost *vh, const char *path);
void vhost_close(struct vhost *vh);
/* At DRIVER_OK: the negotiated features and guest RAM. */
int vhost_setup(struct vhost *vh, u64 features, const struct guest_mem *mem);
/* Hand queue @vq to the kernel as its vring @idx, completions on @call_fd. */
int vhost_start_vq(struct vhost *vh, unsigned int idx, struct virtio_device *vdev,
		   struct virt_queue *vq, int call_fd);
/* Take it back (reset, queue stop): the worker watches its kicks again. */
void vhost_stop_vq(struct vhost *vh, unsigned int idx, struct virtio_device *vdev,
		   struct virt_queue *vq);
/* A call eventfd fired: raise the queue's interrupt (for virtio_worker_add_fd). */
void vhost_call(struct virtio_device *vdev, void *vq);

/*
 * vhost-net (virtio/vhost-net.c): one /dev/vhost-net per queue pair, each
 * serving that pair's receive (vring 0) and transmit (vring 1) queues on
 * the pair's tap queue. virtio-net keeps its control queue.
 */
#define VHOST_NET_MAX_PAIRS	8

struct vhost_net {
	struct vhost vh[VHOST_NET_MAX_PAIRS];
	int call_fds[2 * VHOST_NET_MAX_PAIRS];
	int pairs;
	bool started[VHOST_NET_MAX_PAIRS];
	bool running;		/* the data queues are the kernel's (DRIVER_OK) */
};

/*
 * Open it for @pairs pairs (vhost=on; 0 pairs only initializes @vn).
 * Returns 0, or -1 after one line saying why.
 */
int vhost_net_open(struct vhost_net *vn, int pairs);
/* The virtio features the kernel can serve (ring and merge-buffer bits). */
u64 vhost_net_features(const struct vhost_net *vn);
/* Once the device is registered: its call eventfds go to the worker. */
int vhost_net_attach(struct vhost_net *vn, struct virtio_device *vdev);
/* DRIVER_OK: hand the first @pairs pairs (those set up) to the kernel. */
int vhost_net_start(struct vhost_net *vn, struct virtio_device *vdev, const int *tap_fds,
		    int pairs);
/* Take pair @pair back (all of them: @pair < 0). */
void vhost_net_stop(struct vhost_net *vn, struct virtio_device *vdev, int pair);
void vhost_net_close(struct vhost_net *vn);

/* The system boundary (virtio/vhost-sys.c); unit tests replace it. */
int vhost_sys_open(const char *path);
int vhost_sys_ioctl(int fd, unsigned long req, void *arg);

#endif
