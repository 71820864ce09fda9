/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_H
#define LKVM_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <sys/uio.h>

#include "lkvm/guest-mem.h"
#include "lkvm/init.h"
#include "lkvm/iov.h"
#include "lkvm/util.h"

/*
 * The virtio core: one split-virtqueue implementation and one device model
 * shared by every device (virtio/blk.c, rng.c, console.c, ...) and every
 * transport (virtio/pci.c, virtio/mmio.c). Devices never know which
 * transport they sit on; transports never look inside a queue's buffers.
 */

#define VIRTQ_MAX_SIZE		1024	/* largest queue a device offers */
#define VIRTQ_MAX_SEGS		1024	/* longest chain (direct or indirect) */
#define VIRTIO_MAX_QUEUES	65
#define VIRTQ_DEFAULT_SIZE	256

#ifndef VIRTIO_F_VERSION_1
#define VIRTIO_F_VERSION_1	32
#endif
#ifndef VIRTIO_F_ACCESS_PLATFORM
#define VIRTIO_F_ACCESS_PLATFORM 33
#endif
#ifndef VIRTIO_CONFIG_S_NEEDS_RESET
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40
#endif

struct kvm;
struct virtio_device;

struct virt_queue {
	struct virtio_device *vdev;
	unsigned int index;
	u16 max_size;

	/* Programmed by the driver through the transport. */
	u16 size;
	u64 desc_gpa, avail_gpa, used_gpa;
	bool ready;			/* enabled and validated */

	/* Host views of the rings, valid while ready. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u16 last_avail_idx;		/* next avail entry to take */
	u16 used_idx;			/* our copy of used->idx */
	u16 signalled_used;		/* used_idx at the last interrupt */
	bool signalled_used_valid;
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */

	int kick_fd;			/* eventfd: the guest's notifications */
	void *transport_priv;
};

/* One request: a descriptor chain, as host iovecs. */
struct virtq_elem {
	u16 head;
	u16 nr_out;			/* device-readable segments, first */
	u16 nr_in;			/* device-writable segments, after */
	u64 out_bytes, in_bytes;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Split virtqueue operations (virtio/virtqueue.c). They run on the device's
 * worker thread. Every address and length comes from the guest and is
 * validated against @mem.
 */
/* Validate size and ring addresses and map the rings; -1 if unusable. */
int virtq_setup(struct virt_queue *vq, const struct guest_mem *mem);
void virtq_reset(struct virt_queue *vq);
/*
 * Take the next available chain. Returns 1 with @elem filled, 0 when the
 * ring is empty, -1 when the guest broke the ring (the caller marks the
 * device NEEDS_RESET).
 */
int virtq_pop(struct virt_queue *vq, const struct guest_mem *mem,
	      struct virtq_elem *elem);
/* Return a chain with @len bytes written into its writable part. */
void virtq_push(struct virt_queue *vq, const struct virtq_elem *elem, u32 len);
/* Does the driver want an interrupt for what was pushed since the last one? */
bool virtq_should_signal(struct virt_queue *vq);
/* Ask the driver not to notify (while we are busy), or to notify again. */
void virtq_disable_notify(struct virt_queue *vq);
/* Returns true if buffers arrived meanwhile (process them before sleeping). */
bool virtq_enable_notify(struct virt_queue *vq);
bool virtq_has_avail(struct virt_queue *vq);

/* What a device implements. */
struct virtio_device_ops {
	const char *name;		/* "blk", "rng", ... */
	u16 device_id;			/* VIRTIO_ID_* */
	/* A queue was kicked, or its worker should look again (worker thread). */
	void (*notify)(struct virtio_device *vdev, struct virt_queue *vq);
	/* DRIVER_OK: features are final, the queues are set up. */
	int (*activate)(struct virtio_device *vdev);
	/* Device reset: stop and drop all work; called with vdev->lock held. */
	void (*reset)(struct virtio_device *vdev);
	/*
	 * The driver stopped one queue without a reset (virtio-mmio QueueReady
	 * = 0); @vq is no longer ready. Finish or drop what was taken from it
	 * and forget buffers held from it: the driver may reuse them, and set
	 * the queue up again, as soon as this returns. Called with vdev->lock
	 * held; devices that hold nothing across notifies need not have it.
	 */
	void (*queue_stop)(struct virtio_device *vdev, struct virt_queue *vq);
	/*
	 * The driver writes @len bytes at config offset @off (already bounds
	 * checked). The core changes nothing: the device applies what is
	 * writable and ignores the rest. Without this op config is read-only.
	 */
	void (*config_write)(struct virtio_device *vdev, u32 off, const u8 *data,
			     u32 len);
};

/*
 * The ops table <pfx>_ops of a device whose callbacks are named after it,
 * as every device's are:
 *	VIRTIO_DEVICE_OPS(net, "net", VIRTIO_ID_NET, activate, reset, queue_stop);
 * is net_ops: .name "net", .device_id VIRTIO_ID_NET, .notify net_notify and
 * the optional ops listed (up to four), .activate net_activate and so on.
 */
#define VIRTIO_DEVICE_OPS(pfx, nm, id, ...)					\
	static const struct virtio_device_ops pfx##_ops = {			\
		.name = nm, .device_id = id, .notify = pfx##_notify,		\
		VDEV_OPS_EACH(pfx, ##__VA_ARGS__)				\
	}
#define VDEV_OP(pfx, op)		.op = pfx##_##op,
#define VDEV_OPS_0(pfx)
#define VDEV_OPS_1(pfx, a)		VDEV_OP(pfx, a)
#define VDEV_OPS_2(pfx, a, ...)		VDEV_OP(pfx, a) VDEV_OPS_1(pfx, __VA_ARGS__)
#define VDEV_OPS_3(pfx, a, ...)		VDEV_OP(pfx, a) VDEV_OPS_2(pfx, __VA_ARGS__)
#define VDEV_OPS_4(pfx, a, ...)		VDEV_OP(pfx, a) VDEV_OPS_3(pfx, __VA_ARGS__)
#define VDEV_OPS_PICK(_0, _1, _2, _3, _4, n, ...)	n
#define VDEV_OPS_EACH(pfx, ...)							\
	VDEV_OPS_PICK(_, ##__VA_ARGS__, VDEV_OPS_4, VDEV_OPS_3, VDEV_OPS_2,	\
		      VDEV_OPS_1, VDEV_OPS_0)(pfx, ##__VA_ARGS__)

/* What a transport implements. */
struct virtio_transport_ops {
	const char *name;
	int (*signal_vq)(struct virtio_device *vdev, struct virt_queue *vq);
	int (*signal_config)(struct virtio_device *vdev);
	/* Undo attach: bus ranges, ioeventfds, irqfds, memory (worker stopped). */
	void (*detach)(struct virtio_device *vdev);
};

/* A transport's <pfx>_tops, from its <pfx>_signal_vq, _signal_config and _detach. */
#define VIRTIO_TRANSPORT_OPS(pfx, nm)						\
	static const struct virtio_transport_ops pfx##_tops = {			\
		.name = nm, .signal_vq = pfx##_signal_vq,			\
		.signal_config = pfx##_signal_config, .detach = pfx##_detach,	\
	}

struct virtio_device {
	const struct virtio_device_ops *ops;
	struct kvm *kvm;
	void *priv;			/* the device's own state */
	const struct virtio_transport_ops *tops;
	void *transport;		/* the transport's per-device state */

	pthread_mutex_t lock;		/* status, features, config, queues */
	u64 host_features;		/* device + core features offered */
	u64 guest_features;		/* accepted by the driver */
	u8 status;
	unsigned int broken_reports;	/* NEEDS_RESET warnings printed */
	u32 config_generation;
	u8 *config;			/* device-specific config space */
	u32 config_len;

	unsigned int nr_queues;
	u16 queue_max_size;		/* 0: VIRTQ_DEFAULT_SIZE */
	struct virt_queue *vqs;
	/*
	 * Another process serves the queues (a vhost-user back end): the
	 * kick eventfds are still bound to the transport's notify addresses
	 * but are handed over, so the worker must not read them.
	 */
	bool kicks_elsewhere;

	/* The worker thread that services kicks and device events. */
	pthread_t worker;
	int epoll_fd;
	int wake_fd;
	bool worker_running;
	void *worker_fds;		/* the core's list of watched fds */

	struct virtio_device *vm_next;	/* kvm->virtio_devs, newest first */
};

/*
 * Set up @vdev (ops, priv, config, features and nr_queues already filled in
 * by the device) and attach it to the VM's virtio transport. The core adds
 * VERSION_1, EVENT_IDX and INDIRECT_DESC to the offered features.
 */
int virtio_device_register(struct kvm *kvm, struct virtio_device *vdev);

/*
 * For transports: driver-side operations. Each takes vdev->lock (a
 * recursive mutex) itself; transports must not hold a lock of their own
 * that signal_vq/signal_config also take while calling these.
 */
u8 virtio_get_status(struct virtio_device *vdev);
void virtio_set_status(struct virtio_device *vdev, u8 status);
u32 virtio_get_features_word(struct virtio_device *vdev, u32 sel);
void virtio_set_features_word(struct virtio_device *vdev, u32 sel, u32 val);
/* Bounds-checked device config access; out-of-range reads return 0. */
void virtio_config_access(struct virtio_device *vdev, u32 off, u8 *data, u32 len,
			  bool is_write);
/* QueueReady/queue_enable written: validate and start, or mark broken. */
void virtio_queue_enable(struct virtio_device *vdev, unsigned int idx, bool on);
/* Kick a queue's worker by hand (a notify no ioeventfd caught). */
void virtio_queue_kick(struct virtio_device *vdev, unsigned int idx);
/*
 * Someone else (vhost) takes queue @idx's kicks from its eventfd: the
 * worker stops watching it (@away), or watches it again.
 */
void virtio_queue_handover(struct virtio_device *vdev, unsigned int idx, bool away);
/*
 * Stop the worker, detach from the transport and free what the core
 * allocated; devices call it from their exit function.
 */
void virtio_device_unregister(struct virtio_device *vdev);

/*
 * Unregister every registered device of @ops, newest first, then hand
 * each to @release to free its own state.
 */
void virtio_devices_exit(struct kvm *kvm, const struct virtio_device_ops *ops,
			 void (*release)(struct virtio_device *vdev));

/*
 * A virtio device type: @fn creates its devices at the INIT_VIRTIO stage;
 * at teardown virtio_devices_exit() removes those of @ops and @release
 * frees each.
 */
#define virtio_dev_type_init(fn, ops, release)				\
	static void fn##_exit(struct kvm *kvm)				\
	{								\
		virtio_devices_exit(kvm, &(ops), release);		\
	}								\
	virtio_dev_init(fn, fn##_exit)

/*
 * For devices whose every request completes at once: take each chain
 * available on @vq into @elem and give it to @serve, which returns the
 * bytes it wrote into it; return them as used and signal once. A broken
 * ring marks the device NEEDS_RESET, saying @broken.
 */
typedef u32 (*virtio_serve_fn)(struct virtio_device *vdev, struct virt_queue *vq,
			       struct virtq_elem *elem);
void virtio_queue_serve(struct virtio_device *vdev, struct virt_queue *vq,
			struct virtq_elem *elem, virtio_serve_fn serve, const char *broken);

/* For devices: report completions and failures. */
void virtio_queue_signal(struct virtio_device *vdev, struct virt_queue *vq);
void virtio_config_changed(struct virtio_device *vdev);
/* The driver misused the device: set NEEDS_RESET and tell it. */
void virtio_device_broken(struct virtio_device *vdev, const char *why);
bool virtio_has_feature(const struct virtio_device *vdev, unsigned int bit);

/* Extra fds a device wants its worker to watch (e.g. aio completions). */
typedef void (*virtio_fd_fn)(struct virtio_device *vdev, void *ctx);
int virtio_worker_add_fd(struct virtio_device *vdev, int fd, virtio_fd_fn fn,
			 void *ctx);
/*
 * Call @fn once, on the worker, when the peer of socket @fd hangs up
 * (EPOLLRDHUP/EPOLLHUP). Nothing is read from @fd: another thread may be
 * waiting on it for a reply.
 */
int virtio_worker_watch_hangup(struct virtio_device *vdev, int fd, virtio_fd_fn fn,
			       void *ctx);

/*
 * Transports register themselves by name ("pci", "mmio"); the VM's
 * --virtio-transport option picks one.
 */
struct virtio_transport {
	const char *name;
	int (*attach)(struct kvm *kvm, struct virtio_device *vdev);
	struct virtio_transport *next;
};
void virtio_transport_register(struct virtio_transport *t);

/* Register the transport @nm whose attach is <pfx>_attach, before main(). */
#define virtio_transport_init(pfx, nm)						\
	static struct virtio_transport pfx##_transport = {			\
		.name = nm, .attach = pfx##_attach,				\
	};									\
	static void __attribute__((constructor)) pfx##_register(void)		\
	{									\
		virtio_transport_register(&pfx##_transport);			\
	}

#endif
