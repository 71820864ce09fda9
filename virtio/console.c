// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (virtio 1.x, section 5.3), --console virtio: one port, the
 * guest's hvc0, on this terminal. No MULTIPORT: queue 0 carries input to
 * the guest, queue 1 its output.
 *
 * Input arrives on the terminal's thread; it is buffered here and moved
 * into the guest's receive buffers by the device worker, woken through an
 * eventfd, so the queues are only ever touched by the worker.
 *
 * Without MULTIPORT the driver never says when its port is ready, and
 * Linux's driver drops input that arrives while it is still posting its
 * first receive buffers (the port is not on its list yet). So input is held
 * until the receive queue has had buffers for CONSOLE_SETTLE_NS; after
 * that, until the next reset, it goes to the guest at once.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/term.h"
#include "lkvm/virtio.h"

#define CONSOLE_RX		0
#define CONSOLE_TX		1
#define CONSOLE_QUEUE_SIZE	128
#define CONSOLE_IN_BUF		4096
#define CONSOLE_SETTLE_NS	(300 * 1000 * 1000ULL)
/*
 * Output taken from one transmit chain. Drivers send a page or so; 1024
 * descriptors that all name the whole guest RAM would otherwise make one
 * chain a thousand times the guest's memory, written with the lock held.
 */
#define CONSOLE_TX_MAX		(1 << 20)

struct console_dev {
	struct virtio_device vdev;
	struct virtio_console_config config;
	int in_fd;			/* eventfd: input is waiting */
	int timer_fd;			/* timerfd: the settle time is over */
	u64 rx_since;			/* first saw receive buffers (worker) */

	/* Input not yet in the guest: a ring, shared with the terminal thread. */
	pthread_mutex_t in_lock;
	u8 in_buf[CONSOLE_IN_BUF];
	size_t in_head, in_len;
	bool active;			/* DRIVER_OK, until reset */

	struct virtq_elem elem;		/* worker thread only */
};

/* The terminal hands us bytes (terminal thread). */
static size_t console_input(void *ctx, const u8 *buf, size_t len)
{
	struct console_dev *con = ctx;
	size_t n = 0, tail;

	pthread_mutex_lock(&con->in_lock);
	while (n < len && con->in_len < CONSOLE_IN_BUF) {
		tail = (con->in_head + con->in_len) % CONSOLE_IN_BUF;
		con->in_buf[tail] = buf[n++];
		con->in_len++;
	}
	/*
	 * With no driver yet, keep what fits and drop the rest rather than
	 * stall the terminal, whose thread also watches for Ctrl-A x.
	 */
	if (!con->active)
		n = len;
	pthread_mutex_unlock(&con->in_lock);
	if (eventfd_write(con->in_fd, 1) < 0)
		pr_debug("virtio-console: eventfd: %s", strerror(errno));
	return n;
}

/*
 * Has the driver had its receive buffers long enough to take input? If not,
 * arm the timer to look again (worker thread).
 */
static bool console_settled(struct console_dev *con)
{
	struct itimerspec its = { 0 };
	u64 now = now_ns(), left;

	if (!con->rx_since)
		return false;		/* the kick that posts them calls us */
	if (now - con->rx_since >= CONSOLE_SETTLE_NS)
		return true;
	left = con->rx_since + CONSOLE_SETTLE_NS - now;
	its.it_value.tv_sec = left / 1000000000ULL;
	its.it_value.tv_nsec = left % 1000000000ULL;
	if (timerfd_settime(con->timer_fd, 0, &its, NULL) < 0)
		return true;		/* no timer: better early than never */
	return false;
}

/* Copy buffered input into one receive chain; returns the bytes copied. */
static size_t console_copy_in(struct console_dev *con, const struct virtq_elem *elem)
{
	const struct iovec *iov = elem->iov + elem->nr_out;
	size_t done = 0, off, chunk;
	unsigned int i;

	for (i = 0; i < elem->nr_in && con->in_len; i++) {
		for (off = 0; off < iov[i].iov_len && con->in_len; off += chunk) {
			/* Up to the end of the segment, the data, or the ring. */
			chunk = min(iov[i].iov_len - off,
				    min(con->in_len, CONSOLE_IN_BUF - con->in_head));
			memcpy((u8 *)iov[i].iov_base + off, con->in_buf + con->in_head,
			       chunk);
			con->in_head = (con->in_head + chunk) % CONSOLE_IN_BUF;
			con->in_len -= chunk;
			done += chunk;
		}
	}
	return done;
}

/* Move buffered input into the guest's receive buffers (worker thread). */
static void console_fill_rx(struct console_dev *con)
{
	struct virt_queue *vq = &con->vdev.vqs[CONSOLE_RX];
	bool pushed = false;
	int r = 0;

	if (!vq->ready)
		return;
	pthread_mutex_lock(&con->in_lock);
	if (!con->active)
		goto out;
	if (!con->rx_since && virtq_has_avail(vq))
		con->rx_since = now_ns();
	if (!con->in_len || !console_settled(con))
		goto out;
	for (;;) {
		while (con->in_len) {
			r = virtq_pop(vq, &con->vdev.kvm->mem, &con->elem);
			if (r <= 0)
				break;
			virtq_push(vq, &con->elem, console_copy_in(con, &con->elem));
			pushed = true;
		}
		if (r < 0 || !con->in_len)
			break;
		/* Out of buffers with input left: have the next one kick us. */
		if (!virtq_enable_notify(vq))
			break;
	}
out:
	pthread_mutex_unlock(&con->in_lock);
	if (r < 0)
		virtio_device_broken(&con->vdev, "malformed receive chain");
	if (pushed)
		virtio_queue_signal(&con->vdev, vq);
}

/* One transmit chain: at most CONSOLE_TX_MAX bytes of it reach the terminal. */
static u32 console_tx_one(struct virtio_device *vdev, struct virt_queue *vq __unused,
			  struct virtq_elem *elem)
{
	size_t left = CONSOLE_TX_MAX, n;
	unsigned int i;

	for (i = 0; i < elem->nr_out && left; i++) {
		n = min(elem->iov[i].iov_len, left);
		term_write(&vdev->kvm->term, elem->iov[i].iov_base, n);
		left -= n;
	}
	return 0;
}

static void console_tx(struct console_dev *con, struct virt_queue *vq)
{
	virtio_queue_serve(&con->vdev, vq, &con->elem, console_tx_one,
			   "malformed transmit chain");
}

static void console_notify(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct console_dev *con = vdev->priv;

	if (vq->index == CONSOLE_TX)
		console_tx(con, vq);
	else
		console_fill_rx(con);	/* new receive buffers */
}

/* The input eventfd or the settle timer fired (worker, vdev->lock held). */
static void console_input_event(struct virtio_device *vdev, void *ctx __unused)
{
	struct console_dev *con = vdev->priv;

	if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		console_fill_rx(con);
}

static int console_activate(struct virtio_device *vdev)
{
	struct console_dev *con = vdev->priv;

	pthread_mutex_lock(&con->in_lock);
	con->active = true;
	pthread_mutex_unlock(&con->in_lock);
	/* Input typed before the driver came up. */
	eventfd_write(con->in_fd, 1);
	return 0;
}

static void console_reset(struct virtio_device *vdev)
{
	struct console_dev *con = vdev->priv;

	/* Keep buffered input: it is the user's typing, for the next driver. */
	pthread_mutex_lock(&con->in_lock);
	con->active = false;
	pthread_mutex_unlock(&con->in_lock);
	con->rx_since = 0;
}

VIRTIO_DEVICE_OPS(console, "console", VIRTIO_ID_CONSOLE, activate, reset);

static int virtio_console_init(struct kvm *kvm)
{
	struct console_dev *con;
	struct winsize ws;

	if (!kvm->cfg.console || strcmp(kvm->cfg.console, "virtio"))
		return 0;
	con = xzalloc(sizeof(*con));
	pthread_mutex_init(&con->in_lock, NULL);
	con->in_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	con->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (con->in_fd < 0 || con->timer_fd < 0) {
		pr_err("virtio-console: %s", strerror(errno));
		return -1;
	}
	/* The guest sizes hvc0 like the user's terminal. */
	if (isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col && ws.ws_row) {
		con->config.cols = htole16(ws.ws_col);
		con->config.rows = htole16(ws.ws_row);
		con->vdev.host_features |= 1ULL << VIRTIO_CONSOLE_F_SIZE;
	}
	con->vdev.ops = &console_ops;
	con->vdev.priv = con;
	con->vdev.config = (u8 *)&con->config;
	con->vdev.config_len = sizeof(con->config);
	con->vdev.nr_queues = 2;
	con->vdev.queue_max_size = CONSOLE_QUEUE_SIZE;
	if (virtio_device_register(kvm, &con->vdev) < 0)
		return -1;
	if (virtio_worker_add_fd(&con->vdev, con->in_fd, console_input_event, NULL) < 0 ||
	    virtio_worker_add_fd(&con->vdev, con->timer_fd, console_input_event, NULL) < 0)
		return -1;
	kvm->virtio_console = con;
	term_set_input(&kvm->term, console_input, con);
	return 0;
}

static void virtio_console_exit(struct kvm *kvm)
{
	struct console_dev *con = kvm->virtio_console;

	if (!con)
		return;
	term_set_input(&kvm->term, NULL, NULL);
	virtio_device_unregister(&con->vdev);
	close(con->in_fd);
	close(con->timer_fd);
	free(con);
	kvm->virtio_console = NULL;
}
virtio_dev_init(virtio_console_init, virtio_console_exit);
