// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (virtio 1.x, section 5.4), --rng: the guest's /dev/hwrng,
 * fed from the host kernel's getrandom().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

/*
 * Bytes given per request at most: a guest asking for megabytes at once
 * shouldn't keep the worker busy for long; it simply asks again.
 */
#define RNG_MAX_PER_REQ		(64 * 1024)

struct rng_dev {
	struct virtio_device vdev;
	struct virtq_elem elem;
};


/* Fill the writable part of @elem; returns the number of bytes written. */
static u32 rng_fill(struct virtio_device *vdev __unused, struct virt_queue *vq __unused,
		    struct virtq_elem *elem)
{
	const struct iovec *iov = elem->iov + elem->nr_out;
	u32 done = 0;
	unsigned int i;

	for (i = 0; i < elem->nr_in && done < RNG_MAX_PER_REQ; i++) {
		u8 *p = iov[i].iov_base;
		size_t want = min(iov[i].iov_len, (size_t)(RNG_MAX_PER_REQ - done));

		while (want) {
			ssize_t n = getrandom(p, want, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				/* Never happens for getrandom(.., 0); give what we have. */
				pr_warn("virtio-rng: getrandom: %s", strerror(errno));
				return done;
			}
			p += n;
			want -= n;
			done += n;
		}
	}
	return done;
}

static void rng_notify(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct rng_dev *rng = vdev->priv;

	virtio_queue_serve(vdev, vq, &rng->elem, rng_fill, "malformed descriptor chain");
}

VIRTIO_DEVICE_OPS(rng, "rng", VIRTIO_ID_RNG);

static void rng_release(struct virtio_device *vdev)
{
	free(vdev->priv);
}

static int virtio_rng_init(struct kvm *kvm)
{
	struct rng_dev *rng;

	if (!kvm->cfg.rng)
		return 0;
	rng = xzalloc(sizeof(*rng));
	rng->vdev.ops = &rng_ops;
	rng->vdev.priv = rng;
	rng->vdev.nr_queues = 1;
	/* No device features and no config space. */
	if (virtio_device_register(kvm, &rng->vdev) < 0)
		return -1;
	return 0;
}

virtio_dev_type_init(virtio_rng_init, rng_ops, rng_release);
