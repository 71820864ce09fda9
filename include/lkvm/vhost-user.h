/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VHOST_USER_H
#define LKVM_VHOST_USER_H

#include "lkvm/util.h"

/*
 * The front end of the vhost-user protocol (QEMU's docs/interop/vhost-user.rst):
 * a virtio device whose queues another process serves, over a UNIX socket.
 * Two layers, both in virtio/vhost-user.c:
 *
 *  - struct vhost_user: the messages. Every request is written in one
 *    sendmsg (file descriptors as SCM_RIGHTS); every reply is awaited with
 *    a timeout and checked (reply flag, version, request code, exact size)
 *    before a byte of it is used. A back end that hangs up, stays silent or
 *    answers nonsense makes the call fail with one message, and the
 *    connection is marked dead so that later calls fail at once.
 *  - struct vhost_user_dev: a virtio device (struct virtio_device) driven
 *    by a back end: offered features, memory table, rings, kick and call
 *    eventfds. Kicks go straight from the transport's ioeventfds to the back
 *    end; the back end's call eventfds are relayed by the device's worker to
 *    the transport's signal_vq, which raises the interrupt through the same
 *    irqfd (MSI-X, MMIO MSI) or line as lkvm's own devices do.
 */

#define VHOST_USER_MAX_REGIONS		8	/* the protocol's limit per SET_MEM_TABLE */
#define VHOST_USER_MAX_PAYLOAD		4096	/* lkvm never needs more */
#define VHOST_USER_TIMEOUT_MS		10000	/* a back end's answer (TCG is slow) */

/* Request codes (front end to back end). */
enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

#define VHOST_USER_VERSION		0x1
#define VHOST_USER_VERSION_MASK		0x3
#define VHOST_USER_REPLY		(1U << 2)
#define VHOST_USER_NEED_REPLY		(1U << 3)

/* Virtio feature bit 30: the back end speaks protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES	30

#define VHOST_USER_PROTOCOL_F_MQ	0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK	3

/* SET_VRING_KICK/CALL payload: queue index, bit 8 = no descriptor. */
#define VHOST_USER_VRING_IDX_MASK	0xff
#define VHOST_USER_VRING_NOFD		(1ULL << 8)

struct vhost_user_hdr {
	u32 request;
	u32 flags;
	u32 size;		/* of the payload that follows */
} __attribute__((packed));

struct vhost_user_vring_state {
	u32 index;
	u32 num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	u32 index;
	u32 flags;
	u64 desc_user_addr;
	u64 used_user_addr;
	u64 avail_user_addr;
	u64 log_guest_addr;
} __attribute__((packed));

struct vhost_user_region {
	u64 guest_phys_addr;
	u64 memory_size;
	u64 userspace_addr;
	u64 mmap_offset;
} __attribute__((packed));

struct vhost_user_mem_table {
	u32 nregions;
	u32 padding;
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

struct vhost_user {
	int fd;			/* the connected socket, -1 when closed */
	const char *name;	/* for messages: "virtio-fs 'tag'" */
	int timeout_ms;
	bool dead;		/* a failed exchange: the stream is out of step */
	u64 features;		/* what GET_FEATURES returned */
	u64 protocol_features;	/* negotiated (0 without PROTOCOL_FEATURES) */
};

/* Connect to a listening back end at @path; -1 with a message. */
int vhost_user_connect(struct vhost_user *vu, const char *path, const char *name);
/* Use an already connected socket (tests: one end of a socketpair). */
void vhost_user_attach(struct vhost_user *vu, int fd, const char *name);
void vhost_user_close(struct vhost_user *vu);

/*
 * GET_FEATURES; with PROTOCOL_FEATURES also GET/SET_PROTOCOL_FEATURES
 * (keeping those of @want_protocol the back end has); then SET_OWNER.
 */
int vhost_user_handshake(struct vhost_user *vu, u64 want_protocol);
int vhost_user_set_features(struct vhost_user *vu, u64 features);
/* @fds[i] backs regions[i], mapped from regions[i].mmap_offset. */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *regions,
			     const int *fds, unsigned int n);
int vhost_user_set_vring_num(struct vhost_user *vu, u32 index, u32 num);
int vhost_user_set_vring_addr(struct vhost_user *vu, const struct vhost_user_vring_addr *a);
int vhost_user_set_vring_base(struct vhost_user *vu, u32 index, u32 base);
/* Stops the ring; *base is where the back end would go on. */
int vhost_user_get_vring_base(struct vhost_user *vu, u32 index, u32 *base);
int vhost_user_set_vring_kick(struct vhost_user *vu, u32 index, int fd);
int vhost_user_set_vring_call(struct vhost_user *vu, u32 index, int fd);
int vhost_user_set_vring_enable(struct vhost_user *vu, u32 index, bool on);
/* GET_QUEUE_NUM (needs PROTOCOL_F_MQ). */
int vhost_user_get_queue_num(struct vhost_user *vu, u64 *num);

/*
 * A virtio device served by a vhost-user back end. The device fills
 * vdev's ops, config and nr_queues, sets vdev->kicks_elsewhere and
 * calls vhost_user_dev_init() before virtio_device_register(), then
 * vhost_user_dev_attach() after it; its activate op calls
 * vhost_user_dev_start(), its reset and queue_stop ops
 * vhost_user_dev_stop().
 */
struct kvm;
struct virtio_device;
struct virt_queue;

struct vhost_user_dev {
	struct vhost_user vu;
	struct virtio_device *vdev;
	u64 features_mask;	/* of the back end's, what the guest may see */
	int *call_fds;		/* one eventfd per queue, the back end writes it */
	bool *started;		/* ring handed to the back end */
	/* The back end hung up (worker thread, vdev->lock held). */
	void (*dead)(struct vhost_user_dev *vud);
};

/*
 * Handshake over @vu (connected) and set vdev->host_features to the
 * back end's features within @mask. The core adds VERSION_1, EVENT_IDX
 * and INDIRECT_DESC at registration; vhost_user_dev_attach() takes away
 * those the back end lacks.
 */
int vhost_user_dev_init(struct vhost_user_dev *vud, struct virtio_device *vdev, u64 mask);
/* After virtio_device_register(): call eventfds and the hang-up watch. */
int vhost_user_dev_attach(struct vhost_user_dev *vud);
/* DRIVER_OK: features, memory table, every ready ring. -1: the device is broken. */
int vhost_user_dev_start(struct vhost_user_dev *vud, struct kvm *kvm);
/* Take @vq (or every queue, @vq NULL) back from the back end. */
void vhost_user_dev_stop(struct vhost_user_dev *vud, struct virt_queue *vq);
void vhost_user_dev_free(struct vhost_user_dev *vud);

#endif
