// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio device model shared by every device and transport: status and
 * feature negotiation, reset, config space, queue enabling, and the worker
 * thread that services a device's queues.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

/* NEEDS_RESET warnings per device; the rest only with --debug. */
#define VIRTIO_BROKEN_REPORTS	5

/* What the worker's epoll entries point at. */
struct worker_fd {
	int fd;
	struct virt_queue *vq;	/* a queue's kick, or */
	virtio_fd_fn fn;	/* a device's own fd */
	void *ctx;
	bool hangup;		/* a socket watched for its peer's hang-up */
	struct worker_fd *next;
};

/*
 * The transports this binary has (pci.c, mmio.c): per process, filled by
 * constructors before main() like the init stage registry, never changed
 * after. Which one a VM's devices use is in its kvm->cfg.
 */
static struct virtio_transport *transports;

void virtio_transport_register(struct virtio_transport *t)
{
	t->next = transports;
	transports = t;
}

bool virtio_has_feature(const struct virtio_device *vdev, unsigned int bit)
{
	return bit < 64 && (vdev->guest_features & (1ULL << bit));
}

static bool driver_ok(struct virtio_device *vdev)
{
	return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void drain_eventfd(int fd)
{
	eventfd_t v;

	while (eventfd_read(fd, &v) == 0)
		;
}

static void *worker_thread(void *arg)
{
	struct virtio_device *vdev = arg;
	struct epoll_event ev[16];
	char name[32];

	snprintf(name, sizeof(name), "virtio-%s worker", vdev->ops->name);
	thread_filter_enter(&vdev->kvm->seccomp, vdev->ops->name, name);
	for (;;) {
		int n = epoll_wait(vdev->epoll_fd, ev, ARRAY_SIZE(ev), -1), i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < n; i++) {
			struct worker_fd *w = ev[i].data.ptr;

			if (!w)			/* the wake fd: time to stop */
				return NULL;
			if (w->hangup)
				/* Level-triggered: report it once. */
				epoll_ctl(vdev->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
			else
				drain_eventfd(w->fd);
			pthread_mutex_lock(&vdev->lock);
			if (w->vq) {
				if (driver_ok(vdev) && w->vq->ready)
					vdev->ops->notify(vdev, w->vq);
			} else {
				w->fn(vdev, w->ctx);
			}
			pthread_mutex_unlock(&vdev->lock);
		}
	}
	return NULL;
}

static int worker_watch(struct virtio_device *vdev, int fd, struct worker_fd *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	if (w && w->hangup)
		ev.events = EPOLLRDHUP;

	if (w) {
		w->next = vdev->worker_fds;
		vdev->worker_fds = w;
	}
	if (epoll_ctl(vdev->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		pr_err("virtio-%s: epoll_ctl: %s", vdev->ops->name, strerror(errno));
		return -1;
	}
	return 0;
}

/* A device's own fd; the entry is kept until virtio_device_unregister(): epoll refers to it. */
static int worker_watch_fn(struct virtio_device *vdev, int fd, virtio_fd_fn fn, void *ctx,
			   bool hangup)
{
	struct worker_fd *w = xzalloc(sizeof(*w));

	w->fd = fd;
	w->fn = fn;
	w->ctx = ctx;
	w->hangup = hangup;
	return worker_watch(vdev, fd, w);
}

int virtio_worker_add_fd(struct virtio_device *vdev, int fd, virtio_fd_fn fn,
			 void *ctx)
{
	return worker_watch_fn(vdev, fd, fn, ctx, false);
}

int virtio_worker_watch_hangup(struct virtio_device *vdev, int fd, virtio_fd_fn fn,
			       void *ctx)
{
	return worker_watch_fn(vdev, fd, fn, ctx, true);
}

int virtio_device_register(struct kvm *kvm, struct virtio_device *vdev)
{
	const char *want = kvm->cfg.virtio_transport ? kvm->cfg.virtio_transport : "pci";
	pthread_mutexattr_t attr;
	struct virtio_transport *t;
	unsigned int i;

	if (!vdev->nr_queues || vdev->nr_queues > VIRTIO_MAX_QUEUES) {
		pr_err("virtio-%s: bad queue count %u", vdev->ops->name, vdev->nr_queues);
		return -1;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&vdev->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	vdev->kvm = kvm;
	vdev->epoll_fd = vdev->wake_fd = -1;
	vdev->host_features |= (1ULL << VIRTIO_F_VERSION_1) |
			       (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			       (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (!vdev->queue_max_size)
		vdev->queue_max_size = VIRTQ_DEFAULT_SIZE;

	vdev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	vdev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->epoll_fd < 0 || vdev->wake_fd < 0) {
		pr_err("virtio-%s: %s", vdev->ops->name, strerror(errno));
		return -1;
	}
	if (worker_watch(vdev, vdev->wake_fd, NULL))
		return -1;

	vdev->vqs = xzalloc(vdev->nr_queues * sizeof(*vdev->vqs));
	for (i = 0; i < vdev->nr_queues; i++)
		vdev->vqs[i].kick_fd = -1;
	for (i = 0; i < vdev->nr_queues; i++) {
		struct virt_queue *vq = &vdev->vqs[i];
		struct worker_fd *w = xzalloc(sizeof(*w));

		vq->vdev = vdev;
		vq->index = i;
		vq->max_size = vdev->queue_max_size;
		virtq_reset(vq);
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0) {
			pr_err("virtio-%s: eventfd: %s", vdev->ops->name, strerror(errno));
			return -1;
		}
		if (vdev->kicks_elsewhere) {
			free(w);
			continue;
		}
		w->fd = vq->kick_fd;
		w->vq = vq;
		if (worker_watch(vdev, vq->kick_fd, w))
			return -1;
	}

	for (t = transports; t; t = t->next)
		if (!strcmp(t->name, want))
			break;
	if (!t) {
		pr_err("virtio transport '%s' is not available on this architecture", want);
		return -1;
	}
	if (t->attach(kvm, vdev))
		return -1;

	if (lkvm_thread_create(&vdev->worker, worker_thread, vdev)) {
		pr_err("virtio-%s: cannot start its worker thread", vdev->ops->name);
		return -1;
	}
	thread_set_name(vdev->worker, "virtio-%s", vdev->ops->name);
	vdev->worker_running = true;
	vdev->vm_next = kvm->virtio_devs;
	kvm->virtio_devs = vdev;
	return 0;
}

void virtio_devices_exit(struct kvm *kvm, const struct virtio_device_ops *ops,
			 void (*release)(struct virtio_device *vdev))
{
	struct virtio_device *vdev;

	for (;;) {
		for (vdev = kvm->virtio_devs; vdev && vdev->ops != ops; vdev = vdev->vm_next)
			;
		if (!vdev)
			return;
		virtio_device_unregister(vdev);
		release(vdev);
	}
}

void virtio_device_unregister(struct virtio_device *vdev)
{
	struct worker_fd *w, *next;
	struct virtio_device **p;
	unsigned int i;

	if (!vdev->kvm)
		return;		/* never registered */
	for (p = &vdev->kvm->virtio_devs; *p; p = &(*p)->vm_next) {
		if (*p == vdev) {
			*p = vdev->vm_next;
			break;
		}
	}
	if (vdev->worker_running) {
		eventfd_write(vdev->wake_fd, 1);
		pthread_join(vdev->worker, NULL);
		vdev->worker_running = false;
	}
	if (vdev->tops && vdev->tops->detach)
		vdev->tops->detach(vdev);
	vdev->tops = NULL;
	for (w = vdev->worker_fds; w; w = next) {
		next = w->next;
		free(w);
	}
	vdev->worker_fds = NULL;
	for (i = 0; vdev->vqs && i < vdev->nr_queues; i++)
		close_fd(&vdev->vqs[i].kick_fd);
	free(vdev->vqs);
	vdev->vqs = NULL;
	close_fd(&vdev->epoll_fd);
	close_fd(&vdev->wake_fd);
	vdev->kvm = NULL;
}

u8 virtio_get_status(struct virtio_device *vdev)
{
	u8 s;

	pthread_mutex_lock(&vdev->lock);
	s = vdev->status;
	pthread_mutex_unlock(&vdev->lock);
	return s;
}

static void device_reset(struct virtio_device *vdev)
{
	unsigned int i;

	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (i = 0; i < vdev->nr_queues; i++)
		virtq_reset(&vdev->vqs[i]);
	vdev->guest_features = 0;
	vdev->status = 0;
}

static bool features_ok(struct virtio_device *vdev)
{
	u64 g = vdev->guest_features;

	/* Modern devices only: a driver that doesn't accept VERSION_1 can't drive us. */
	return !(g & ~vdev->host_features) && (g & (1ULL << VIRTIO_F_VERSION_1));
}

void virtio_set_status(struct virtio_device *vdev, u8 status)
{
	u8 old;
	unsigned int i;

	pthread_mutex_lock(&vdev->lock);
	old = vdev->status;
	if (status == 0) {
		device_reset(vdev);
		goto out;
	}
	/*
	 * The driver only ever adds bits (virtio 1.x, 2.1.2) and only a reset
	 * clears them: honouring a clear would reopen feature negotiation
	 * under running queues and activate the device twice. NEEDS_RESET is
	 * the device's to set.
	 */
	status = (status & ~VIRTIO_CONFIG_S_NEEDS_RESET) | old;
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !features_ok(vdev)) {
		pr_debug("virtio-%s: refusing features 0x%llx", vdev->ops->name,
			 (unsigned long long)vdev->guest_features);
		status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	/* DRIVER_OK without FEATURES_OK is a driver bug; don't activate. */
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_FEATURES_OK))
		status &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	vdev->status = status;

	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (vdev->ops->activate && vdev->ops->activate(vdev) < 0) {
			virtio_device_broken(vdev, "activation failed");
			goto out;
		}
		/* Buffers queued before DRIVER_OK get looked at now. */
		for (i = 0; i < vdev->nr_queues; i++)
			if (vdev->vqs[i].ready)
				eventfd_write(vdev->vqs[i].kick_fd, 1);
	}
out:
	pthread_mutex_unlock(&vdev->lock);
}

u32 virtio_get_features_word(struct virtio_device *vdev, u32 sel)
{
	return sel < 2 ? (u32)(vdev->host_features >> (32 * sel)) : 0;
}

void virtio_set_features_word(struct virtio_device *vdev, u32 sel, u32 val)
{
	u64 mask;

	if (sel > 1)
		return;
	pthread_mutex_lock(&vdev->lock);
	/* Features are frozen once FEATURES_OK is set. */
	if (!(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		mask = 0xffffffffULL << (32 * sel);
		vdev->guest_features = (vdev->guest_features & ~mask) |
				       ((u64)val << (32 * sel));
	}
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_config_access(struct virtio_device *vdev, u32 off, u8 *data, u32 len,
			  bool is_write)
{
	pthread_mutex_lock(&vdev->lock);
	if (off > vdev->config_len || len > vdev->config_len - off) {
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		if (vdev->ops->config_write)
			vdev->ops->config_write(vdev, off, data, len);
	} else {
		memcpy(data, vdev->config + off, len);
	}
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_queue_enable(struct virtio_device *vdev, unsigned int idx, bool on)
{
	struct virt_queue *vq;

	if (idx >= vdev->nr_queues)
		return;
	pthread_mutex_lock(&vdev->lock);
	vq = &vdev->vqs[idx];
	if (!on) {
		u16 size = vq->size;

		if (vq->ready) {
			vq->ready = false;
			if (vdev->ops->queue_stop)
				vdev->ops->queue_stop(vdev, vq);
		}
		virtq_reset(vq);
		vq->size = size;
	} else if (!vq->ready) {
		vq->event_idx = virtio_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX);
		if (virtq_setup(vq, &vdev->kvm->mem) < 0) {
			/* The values say whether the driver or the exits garbled them. */
			char why[192];

			snprintf(why, sizeof(why),
				 "invalid queue %u size %u or ring address (desc 0x%llx avail 0x%llx used 0x%llx)",
				 idx, vq->size, (unsigned long long)vq->desc_gpa,
				 (unsigned long long)vq->avail_gpa, (unsigned long long)vq->used_gpa);
			virtio_device_broken(vdev, why);
		} else {
			vq->ready = true;
		}
	}
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_queue_handover(struct virtio_device *vdev, unsigned int idx, bool away)
{
	struct worker_fd *w;
	struct epoll_event ev = { .events = EPOLLIN };

	for (w = vdev->worker_fds; w; w = w->next)
		if (w->vq && w->vq->index == idx)
			break;
	if (!w)
		return;
	ev.data.ptr = w;
	/* Adding what is there, or deleting what isn't, changes nothing. */
	epoll_ctl(vdev->epoll_fd, away ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, w->fd, &ev);
}

void virtio_queue_kick(struct virtio_device *vdev, unsigned int idx)
{
	if (idx < vdev->nr_queues)
		eventfd_write(vdev->vqs[idx].kick_fd, 1);
}

void virtio_queue_signal(struct virtio_device *vdev, struct virt_queue *vq)
{
	if (virtq_should_signal(vq))
		vdev->tops->signal_vq(vdev, vq);
}

void virtio_config_changed(struct virtio_device *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	vdev->config_generation++;
	pthread_mutex_unlock(&vdev->lock);
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev->tops->signal_config(vdev);
}

void virtio_device_broken(struct virtio_device *vdev, const char *why)
{
	bool notify;

	pthread_mutex_lock(&vdev->lock);
	if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET) {
		pthread_mutex_unlock(&vdev->lock);
		return;
	}
	/*
	 * A guest can break and reset a device as fast as it writes
	 * registers: say it a few times, not a flood on lkvm's stderr.
	 */
	if (vdev->broken_reports < VIRTIO_BROKEN_REPORTS) {
		vdev->broken_reports++;
		pr_warn("virtio-%s: %s; device needs reset%s", vdev->ops->name, why,
			vdev->broken_reports == VIRTIO_BROKEN_REPORTS ?
			" (further occurrences only with --debug)" : "");
	} else {
		pr_debug("virtio-%s: %s; device needs reset", vdev->ops->name, why);
	}
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	notify = vdev->status & VIRTIO_CONFIG_S_DRIVER_OK;
	pthread_mutex_unlock(&vdev->lock);
	if (notify)
		vdev->tops->signal_config(vdev);
}

void virtio_queue_serve(struct virtio_device *vdev, struct virt_queue *vq,
			struct virtq_elem *elem, virtio_serve_fn serve, const char *broken)
{
	bool pushed = false;
	int r;

	for (;;) {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, &vdev->kvm->mem, elem)) == 1) {
			virtq_push(vq, elem, serve(vdev, vq, elem));
			pushed = true;
		}
		if (r < 0) {
			virtio_device_broken(vdev, broken);
			break;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (pushed)
		virtio_queue_signal(vdev, vq);
}
