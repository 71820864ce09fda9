// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p (virtio 1.x, section 5.11 of the draft numbering; device id 9):
 * --9p HOSTDIR,TAG[,ro][,security=MODEL] shares a host directory that the guest mounts with
 * `mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt`.
 *
 * One request queue. Each chain holds a T-message in its device-readable
 * part and room for the R-message in its writable part; the Linux driver
 * splits large reads and writes into a header segment and the payload
 * pages, which the linear gather/scatter below handles transparently. The
 * protocol itself is fs/9p-*.c; requests are served in order on the
 * device's worker thread.
 */
#include <endian.h>
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/virtio_9p.h>
#include <linux/virtio_ids.h>

#include "lkvm/9p-server.h"
#include "lkvm/9p.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/parse-options.h"
#include "lkvm/virtio.h"

#define P9_QUEUE_SIZE	128
/* A T-message is at most msize; a little slack to recognise longer ones. */
#define P9_BUF_SIZE	(P9_MAX_MSIZE + 64)

struct p9_dev {
	struct virtio_device vdev;
	struct p9_server *srv;
	u8 *config;		/* virtio_9p_config: tag_len, tag */
	u8 *req, *resp;
	struct virtq_elem elem;
};

/* Serve one chain; returns the bytes written into its writable part. */
static u32 p9_serve(struct p9_dev *p)
{
	const struct virtq_elem *e = &p->elem;
	size_t req_len, cap, len;

	req_len = iov_to_buf(e->iov, e->nr_out, 0, p->req, P9_BUF_SIZE);
	cap = min(e->in_bytes, (u64)P9_BUF_SIZE);
	len = p9_server_handle(p->srv, p->req, req_len, p->resp, cap);
	if (!len)
		return 0;
	return iov_from_buf(e->iov + e->nr_out, e->nr_in, 0, p->resp, len);
}

static void p9_notify(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct p9_dev *p = vdev->priv;
	int r;

	for (;;) {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, &vdev->kvm->mem, &p->elem)) == 1) {
			virtq_push(vq, &p->elem, p9_serve(p));
			/* Answer each request as soon as it is done. */
			virtio_queue_signal(vdev, vq);
		}
		if (r < 0) {
			virtio_device_broken(vdev, "malformed descriptor chain");
			return;
		}
		if (!virtq_enable_notify(vq))
			return;
	}
}

static void p9_reset(struct virtio_device *vdev)
{
	struct p9_dev *p = vdev->priv;

	/* A new driver starts a new session: drop every fid and open file. */
	p9_server_reset(p->srv);
}

VIRTIO_DEVICE_OPS(p9, "9p", VIRTIO_ID_9P, reset);

int virtio_9p_parse(struct kvm_config *cfg, const char *arg)
{
	struct p9_share_config *sh;
	char *copy, *tok, *save = NULL;

	sh = opt_next_item(cfg->shares_9p, sizeof(*sh), cfg->nr_9p, LKVM_MAX_9P,
			   "--9p shares");
	if (!sh)
		return -1;
	copy = xstrdup(arg);		/* lives as long as the config */
	sh->dir = strtok_r(copy, ",", &save);
	sh->tag = strtok_r(NULL, ",", &save);
	if (!sh->dir || !sh->tag || !*sh->dir || !*sh->tag) {
		pr_err("--9p needs HOSTDIR,TAG (e.g. --9p /srv/data,data)");
		goto fail;
	}
	if (strlen(sh->tag) > LKVM_9P_TAG_MAX) {
		pr_err("--9p tag '%s' is longer than %d bytes", sh->tag, LKVM_9P_TAG_MAX);
		goto fail;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "ro")) {
			sh->readonly = true;
		} else if (!strcmp(tok, "rw")) {
			sh->readonly = false;
		} else if (!strcmp(tok, "security=restricted")) {
			sh->security = P9_SECURITY_RESTRICTED;
		} else if (!strcmp(tok, "security=passthrough")) {
			sh->security = P9_SECURITY_PASSTHROUGH;
		} else if (!strncmp(tok, "security=", 9)) {
			/* mapped: QEMU keeps the guest's owners and modes in user.* xattrs; lkvm does not. */
			pr_err("--9p %s: not supported (use security=restricted or security=passthrough)",
			       tok);
			goto fail;
		} else {
			pr_err("unknown --9p flag '%s' (use: ro, rw, security=restricted|passthrough)",
			       tok);
			goto fail;
		}
	}
	if (!opt_name_unique(cfg->shares_9p, sizeof(*sh), cfg->nr_9p,
			     offsetof(struct p9_share_config, tag), sh->tag, "--9p tag"))
		goto fail;
	cfg->nr_9p++;
	return 0;
fail:
	free(copy);
	memset(sh, 0, sizeof(*sh));
	return -1;
}

/*
 * Each open fid holds a host descriptor: raise the soft limit to the hard
 * one, keep P9_FD_RESERVE descriptors (at most half) for the rest of lkvm
 * (disks, taps, eventfds, the control socket), and split the remainder
 * between the shares. Returns the cap of open files per share.
 */
#define P9_FD_RESERVE	1024

static unsigned int open_files_per_share(unsigned int nr_shares)
{
	struct rlimit rl;
	rlim_t reserve, each;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return P9_MAX_FIDS;
	reserve = min(rl.rlim_cur / 2, (rlim_t)P9_FD_RESERVE);
	each = (rl.rlim_cur - reserve) / nr_shares;
	return max(min(each, (rlim_t)P9_MAX_FIDS), (rlim_t)1);
}

static void p9_free(struct p9_dev *p)
{
	p9_server_free(p->srv);
	free(p->config);
	free(p->req);
	free(p->resp);
	free(p);
}

static void p9_release(struct virtio_device *vdev)
{
	p9_free(vdev->priv);
}

static int virtio_9p_init(struct kvm *kvm)
{
	unsigned int max_open;
	int i;

	if (!kvm->cfg.nr_9p)
		return 0;
	max_open = open_files_per_share(kvm->cfg.nr_9p);
	for (i = 0; i < kvm->cfg.nr_9p; i++) {
		const struct p9_share_config *sh = &kvm->cfg.shares_9p[i];
		size_t tag_len = strlen(sh->tag);
		struct p9_server_opts opts = {
			.readonly = sh->readonly,
			.security = sh->security,
			.max_open = max_open,
		};
		struct p9_dev *p = xzalloc(sizeof(*p));
		u16 le;

		p->srv = p9_server_new(sh->dir, &opts);
		if (!p->srv) {
			free(p);
			return -1;
		}
		p->config = xzalloc(2 + tag_len);
		le = htole16(tag_len);
		memcpy(p->config, &le, 2);
		memcpy(p->config + 2, sh->tag, tag_len);
		p->req = xmalloc(P9_BUF_SIZE);
		p->resp = xmalloc(P9_BUF_SIZE);

		p->vdev.ops = &p9_ops;
		p->vdev.priv = p;
		p->vdev.config = p->config;
		p->vdev.config_len = 2 + tag_len;
		p->vdev.host_features = 1ULL << VIRTIO_9P_MOUNT_TAG;
		p->vdev.nr_queues = 1;
		p->vdev.queue_max_size = P9_QUEUE_SIZE;
		if (virtio_device_register(kvm, &p->vdev) < 0) {
			p9_free(p);
			return -1;
		}
		pr_debug("9p: sharing %s as '%s'%s, security=%s, up to %u open files", sh->dir,
			 sh->tag, sh->readonly ? " (read-only)" : "",
			 sh->security == P9_SECURITY_PASSTHROUGH ? "passthrough" : "restricted",
			 max_open);
	}
	return 0;
}

virtio_dev_type_init(virtio_9p_init, p9_ops, p9_release);
