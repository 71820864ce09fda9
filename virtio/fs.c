// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-fs (virtio 1.2, section 5.11; device id 26) through vhost-user:
 * --virtio-fs DIR,TAG[,ro] starts virtiofsd on DIR (virtio/virtiofsd.c),
 * --virtio-fs socket=PATH,tag=TAG connects to one already listening. The
 * guest mounts it with `mount -t virtiofs TAG /mnt`.
 *
 * lkvm owns the config space (the tag and one request queue) and the
 * transport; virtiofsd serves the queues (the high-priority queue 0 and the
 * request queue 1) straight from guest memory, which is therefore a shared
 * memfd (kvm.c). When the back end hangs up, lkvm takes the queues back and
 * answers every request still pending and every new one with EIO, so guest
 * programs get errors instead of waiting forever; the VM goes on.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/parse-options.h"
#include "lkvm/vhost-user.h"
#include "lkvm/virtio-fs.h"
#include "lkvm/virtio.h"

#ifndef VIRTIO_ID_FS
#define VIRTIO_ID_FS		26
#endif

#define VFS_QUEUE_SIZE		1024
#define VFS_REQUEST_QUEUES	1

struct vfs_dev {
	struct virtio_device vdev;
	struct vhost_user_dev vud;
	struct virtiofsd daemon;	/* pid -1: a socket= back end */
	struct virtio_fs_config config;
	char name[64];			/* "virtio-fs 'tag'" */
	bool failing;			/* back end gone: lkvm answers EIO */
	struct virtq_elem elem;
};

int virtio_fs_parse(struct kvm_config *cfg, const char *arg)
{
	struct vfs_config *c;
	char *copy, *tok, *save = NULL;
	struct stat st;
	int pos = 0;

	c = opt_next_item(cfg->vfs, sizeof(*c), cfg->nr_vfs, LKVM_MAX_VIRTIO_FS,
			  "--virtio-fs shares");
	if (!c)
		return -1;
	copy = xstrdup(arg);		/* lives as long as the config */
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), pos++) {
		if (!strncmp(tok, "socket=", 7)) {
			c->socket = tok + 7;
		} else if (!strncmp(tok, "tag=", 4)) {
			c->tag = tok + 4;
		} else if (!strncmp(tok, "dir=", 4)) {
			c->dir = tok + 4;
		} else if (!strcmp(tok, "ro")) {
			c->readonly = true;
		} else if (!strcmp(tok, "rw")) {
			c->readonly = false;
		} else if (pos == 0 && !strchr(tok, '=')) {
			c->dir = tok;
		} else if (pos == 1 && !strchr(tok, '=')) {
			c->tag = tok;
		} else {
			pr_err("unknown --virtio-fs flag '%s' (use DIR,TAG[,ro] or socket=PATH,tag=TAG)",
			       tok);
			goto fail;
		}
	}
	if (!c->tag || !*c->tag || (!c->dir == !c->socket) ||
	    (c->dir && !*c->dir) || (c->socket && !*c->socket)) {
		pr_err("--virtio-fs needs DIR,TAG[,ro] or socket=PATH,tag=TAG");
		goto fail;
	}
	if (strlen(c->tag) > VIRTIO_FS_TAG_MAX) {
		pr_err("--virtio-fs tag '%s' is longer than %d bytes", c->tag, VIRTIO_FS_TAG_MAX);
		goto fail;
	}
	if (c->socket && c->readonly) {
		pr_err("--virtio-fs socket=%s: ro is up to the running virtiofsd (start it read-only)",
		       c->socket);
		goto fail;
	}
	if (c->socket && strlen(c->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		pr_err("--virtio-fs socket path '%s' is too long", c->socket);
		goto fail;
	}
	if (c->dir && (stat(c->dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		pr_err("--virtio-fs '%s' is not a directory", c->dir);
		goto fail;
	}
	if (!opt_name_unique(cfg->vfs, sizeof(*c), cfg->nr_vfs, offsetof(struct vfs_config, tag),
			     c->tag, "--virtio-fs tag"))
		goto fail;
	cfg->nr_vfs++;
	/* The back end maps guest RAM: it must be shared memory. */
	cfg->mem_shared = true;
	return 0;
fail:
	free(copy);
	memset(c, 0, sizeof(*c));
	return -1;
}

/* --- lkvm answering for a back end that is gone --- */

/* Answer one request with EIO; forgets (no reply wanted) get nothing. */
static u32 fail_one(struct virtio_device *vdev __unused, struct virt_queue *vq __unused,
		    struct virtq_elem *e)
{
	struct fuse_in_header in;
	struct fuse_out_header out;

	if (e->in_bytes < sizeof(out) ||
	    iov_to_buf(e->iov, e->nr_out, 0, &in, sizeof(in)) < sizeof(in))
		return 0;
	out = (struct fuse_out_header){
		.len = sizeof(out),
		.error = -EIO,
		.unique = in.unique,
	};
	return iov_from_buf(e->iov + e->nr_out, e->nr_in, 0, &out, sizeof(out));
}

static void fail_requests(struct virtio_device *vdev, void *ctx)
{
	struct vfs_dev *f = vdev->priv;
	struct virt_queue *vq = ctx;

	if (!vq->ready || !(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	/*
	 * As any device serving its queue: with EVENT_IDX, avail_event is
	 * still where the back end left it, and unless it moves on the
	 * guest never kicks again, waiting for ever on its next request.
	 */
	virtio_queue_serve(vdev, vq, &f->elem, fail_one, "malformed descriptor chain");
}

static void backend_dead(struct vhost_user_dev *vud)
{
	/* The device that holds @vud. */
	struct vfs_dev *f = (struct vfs_dev *)((u8 *)vud - offsetof(struct vfs_dev, vud));
	struct virtio_device *vdev = &f->vdev;
	unsigned int i;

	if (f->failing)
		return;
	f->failing = true;
	pr_warn("%s: virtiofsd is gone; the guest's requests on it now fail with EIO", f->name);
	for (i = 0; i < vdev->nr_queues; i++) {
		struct virt_queue *vq = &vdev->vqs[i];

		vud->started[i] = false;
		/*
		 * What the back end took but never answered is what the used
		 * ring does not show yet: lkvm's virtiofsd runs one request at
		 * a time, so they are the available entries from used->idx on.
		 */
		if (vq->ready) {
			vq->last_avail_idx = vq->used_idx = le16toh(vq->used->idx);
			vq->signalled_used_valid = false;
		}
		virtio_worker_add_fd(vdev, vq->kick_fd, fail_requests, vq);
		fail_requests(vdev, vq);
	}
}

/* --- the device --- */

static int vfs_activate(struct virtio_device *vdev)
{
	struct vfs_dev *f = vdev->priv;

	if (f->failing)
		return -1;
	return vhost_user_dev_start(&f->vud, vdev->kvm);
}

static void vfs_reset(struct virtio_device *vdev)
{
	struct vfs_dev *f = vdev->priv;

	if (!f->failing)
		vhost_user_dev_stop(&f->vud, NULL);
}

static void vfs_queue_stop(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct vfs_dev *f = vdev->priv;

	if (!f->failing)
		vhost_user_dev_stop(&f->vud, vq);
}

/* Never called: the back end serves the kicks (vdev.kicks_elsewhere). */
static void vfs_notify(struct virtio_device *vdev __unused, struct virt_queue *vq __unused)
{
}

VIRTIO_DEVICE_OPS(vfs, "fs", VIRTIO_ID_FS, activate, reset, queue_stop);

/* Connect to the back end: the daemon we started is connected already. */
static int vfs_connect(struct vfs_dev *f, const char *path)
{
	if (f->daemon.pid <= 0)
		return vhost_user_connect(&f->vud.vu, path, f->name);
	vhost_user_attach(&f->vud.vu, f->daemon.conn, f->name);
	f->daemon.conn = -1;
	return 0;
}

static void vfs_free(struct vfs_dev *f)
{
	/* The daemon first, while the connection is up (virtiofsd.c). */
	virtiofsd_stop(&f->daemon, &f->vud.vu.fd);
	vhost_user_dev_free(&f->vud);
	free(f);
}

static int vfs_add(struct kvm *kvm, const struct vfs_config *c)
{
	struct vfs_dev *f = xzalloc(sizeof(*f));
	const char *sock = c->socket;

	f->daemon.pid = -1;
	f->daemon.conn = -1;
	f->vud.vu.fd = -1;
	snprintf(f->name, sizeof(f->name), "virtio-fs '%s'", c->tag);
	if (c->dir) {
		if (virtiofsd_find(&f->daemon)) {
			pr_err("--virtio-fs %s: no virtiofsd found (PATH, /usr/libexec, /usr/lib/qemu; or set LKVM_VIRTIOFSD)",
			       c->dir);
			goto fail;
		}
		if (f->daemon.kind == VIRTIOFSD_C && geteuid() != 0) {
			pr_err("--virtio-fs: %s is QEMU's virtiofsd, which needs root", f->daemon.path);
			goto fail;
		}
		/*
		 * --user: the daemon is the user's too, not root serving the
		 * guest's uids on the host (virtiofsd.c, become_user()).
		 */
		if (kvm->cfg.user && kvm->cfg.run_uid != 0) {
			f->daemon.as_user = true;
			f->daemon.uid = kvm->cfg.run_uid;
			f->daemon.gid = kvm->cfg.run_gid;
		}
		if (virtiofsd_start(&f->daemon, c->dir, c->readonly))
			goto fail;
		sock = NULL;
	}
	if (vfs_connect(f, sock))
		goto fail;

	memcpy(f->config.tag, c->tag, strlen(c->tag));	/* NUL-padded, not terminated */
	f->config.num_request_queues = htole32(VFS_REQUEST_QUEUES);
	f->vdev.ops = &vfs_ops;
	f->vdev.priv = f;
	f->vdev.config = (u8 *)&f->config;
	f->vdev.config_len = sizeof(f->config);
	f->vdev.nr_queues = 1 + VFS_REQUEST_QUEUES;
	f->vdev.queue_max_size = VFS_QUEUE_SIZE;
	f->vud.dead = backend_dead;
	/* No device feature (no notification queue, no DAX window) is offered. */
	if (vhost_user_dev_init(&f->vud, &f->vdev, 0) ||
	    virtio_device_register(kvm, &f->vdev) < 0 ||
	    vhost_user_dev_attach(&f->vud)) {
		virtio_device_unregister(&f->vdev);
		goto fail;
	}
	pr_debug("%s: %s%s", f->name, c->dir ? c->dir : sock,
		 c->readonly ? " (read-only)" : "");
	return 0;
fail:
	vfs_free(f);
	return -1;
}

static int virtio_fs_init(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->cfg.nr_vfs; i++)
		if (vfs_add(kvm, &kvm->cfg.vfs[i]))
			return -1;
	return 0;
}

static void vfs_release(struct virtio_device *vdev)
{
	vfs_free(vdev->priv);
}

virtio_dev_type_init(virtio_fs_init, vfs_ops, vfs_release);
