// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user front end against a fake back end on a socket: the
 * handshake, the memory table and ring setup with their file descriptors,
 * REPLY_ACK, and hostile back ends (wrong request code, size, flags or
 * version in a reply, a reply that never comes, a hang-up mid-reply,
 * descriptors nobody asked for, a refused request). Then the virtio-fs
 * device driven like a guest would (fake-virtio.h): its config space, the
 * rings and eventfds handed over at DRIVER_OK, the back end's call eventfd
 * raising the queue's interrupt, and, once the back end hangs up, every
 * pending and new request answered with EIO. Also --virtio-fs parsing and
 * telling the two virtiofsd kinds apart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>

#include "lkvm/vhost-user.h"
#include "lkvm/virtio-fs.h"
#include "test.h"
#include "fake-virtio.h"

enum bad {
	BAD_NONE,
	BAD_CODE,	/* reply names another request */
	BAD_SIZE,	/* reply payload of the wrong size */
	BAD_HUGE,	/* reply claims 4 GiB */
	BAD_NOREPLY,	/* reply flag missing */
	BAD_VERSION,	/* version 2 */
	BAD_CLOSE,	/* hang up instead of answering */
	BAD_SILENT,	/* never answer */
	BAD_NACK,	/* REPLY_ACK with a non-zero status */
	BAD_FDS,	/* a correct reply carrying a descriptor */
	BAD_TRUNC,	/* half a reply, then hang up */
	BAD_RING,	/* GET_VRING_BASE for another ring, base > 0xffff */
};

#define MAX_LOG	64

struct fake {
	int fd;
	u64 features, proto;
	u32 bad_req;
	enum bad bad;
	pthread_t th;
	/* what the front end sent */
	u32 reqs[MAX_LOG];
	u32 flags[MAX_LOG];
	int nreq;
	struct vhost_user_mem_table mt;
	u32 mt_size;
	int mt_fd;
	int kick_fd[2], call_fd[2];
	u64 set_features;
	u32 vring_num[2], vring_base[2], enabled[2];
	u32 stopped[2];			/* GET_VRING_BASE per ring */
	struct vhost_user_vring_addr addr[2];
	volatile bool hang_up;		/* test asks the back end to go away */
};

/* Read exactly @len bytes and any descriptors with them; false on EOF. */
static bool fk_read(int fd, void *buf, size_t len, int *fds, int *nfds)
{
	size_t done = 0;

	while (done < len) {
		char ctl[CMSG_SPACE(8 * sizeof(int))];
		struct iovec iov = { (u8 *)buf + done, len - done };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &m, 0);

		if (n <= 0)
			return false;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (fds && *nfds + k <= 8)
				memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
			if (nfds)
				*nfds += k;
		}
		done += n;
	}
	return true;
}

static void fk_send(int fd, u32 req, u32 flags, const void *p, u32 size, u32 claimed,
		    int pass_fd)
{
	struct vhost_user_hdr h = { req, flags, claimed };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, size } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0)
		return;
}

static void *fk_thread(void *arg)
{
	struct fake *f = arg;
	u8 payload[VHOST_USER_MAX_PAYLOAD];

	for (;;) {
		struct vhost_user_hdr h;
		int fds[8], nfds = 0, i;
		u64 v = 0;
		u32 size = 8;
		bool bad, reply;

		if (!fk_read(f->fd, &h, sizeof(h), fds, &nfds) || h.size > sizeof(payload) ||
		    !fk_read(f->fd, payload, h.size, fds, &nfds))
			break;
		if (f->nreq < MAX_LOG) {
			f->flags[f->nreq] = h.flags;
			f->reqs[f->nreq++] = h.request;
		}
		bad = f->bad != BAD_NONE && h.request == f->bad_req;
		reply = false;
		switch (h.request) {
		case VHOST_USER_GET_FEATURES:
			v = f->features;
			reply = true;
			break;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			v = f->proto;
			reply = true;
			break;
		case VHOST_USER_GET_QUEUE_NUM:
			v = 1;
			reply = true;
			break;
		case VHOST_USER_GET_VRING_BASE: {
			struct vhost_user_vring_state *s = (void *)payload;

			if (s->index < 2)
				f->stopped[s->index]++;
			if (bad && f->bad == BAD_RING) {
				s->index += 1;
				s->num = 0x10000;
			} else {
				s->num = 7;
			}
			memcpy(&v, s, 8);
			reply = true;
			break;
		}
		case VHOST_USER_SET_FEATURES:
			memcpy(&f->set_features, payload, 8);
			break;
		case VHOST_USER_SET_MEM_TABLE:
			memcpy(&f->mt, payload, min((size_t)h.size, sizeof(f->mt)));
			f->mt_size = h.size;
			f->mt_fd = nfds ? fds[0] : -1;
			nfds = 0;	/* kept */
			break;
		case VHOST_USER_SET_VRING_NUM:
		case VHOST_USER_SET_VRING_BASE:
		case VHOST_USER_SET_VRING_ENABLE: {
			struct vhost_user_vring_state *s = (void *)payload;

			if (s->index < 2) {
				if (h.request == VHOST_USER_SET_VRING_NUM)
					f->vring_num[s->index] = s->num;
				else if (h.request == VHOST_USER_SET_VRING_BASE)
					f->vring_base[s->index] = s->num;
				else
					f->enabled[s->index] = s->num;
			}
			break;
		}
		case VHOST_USER_SET_VRING_ADDR: {
			struct vhost_user_vring_addr *a = (void *)payload;

			if (a->index < 2)
				f->addr[a->index] = *a;
			break;
		}
		case VHOST_USER_SET_VRING_KICK:
		case VHOST_USER_SET_VRING_CALL: {
			u64 idx;
			int *slot;

			memcpy(&idx, payload, 8);
			idx &= VHOST_USER_VRING_IDX_MASK;
			if (idx < 2 && nfds == 1) {
				slot = h.request == VHOST_USER_SET_VRING_KICK ? f->kick_fd : f->call_fd;
				if (slot[idx] >= 0)
					close(slot[idx]);
				slot[idx] = fds[0];
				nfds = 0;
			}
			break;
		}
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (!reply && !(h.flags & VHOST_USER_NEED_REPLY))
			continue;
		if (!bad) {
			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 8, 8, -1);
			continue;
		}
		switch (f->bad) {
		case BAD_CODE:
			fk_send(f->fd, h.request + 1, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 8, 8, -1);
			break;
		case BAD_SIZE:
			size = 4;
			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, size, size, -1);
			break;
		case BAD_HUGE:
			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 8,
				0xffffffff, -1);
			break;
		case BAD_NOREPLY:
			fk_send(f->fd, h.request, VHOST_USER_VERSION, &v, 8, 8, -1);
			break;
		case BAD_VERSION:
			fk_send(f->fd, h.request, 2 | VHOST_USER_REPLY, &v, 8, 8, -1);
			break;
		case BAD_CLOSE:
			goto out;
		case BAD_SILENT:
			break;
		case BAD_NACK:
			v = 1;
			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 8, 8, -1);
			break;
		case BAD_FDS: {
			int e = eventfd(0, 0);

			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 8, 8, e);
			close(e);
			break;
		}
		case BAD_TRUNC:
			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 3, 8, -1);
			goto out;
		default:
			fk_send(f->fd, h.request, VHOST_USER_VERSION | VHOST_USER_REPLY, &v, 8, 8, -1);
			break;
		}
	}
out:
	close(f->fd);
	f->fd = -1;
	return NULL;
}

static void fk_init(struct fake *f, int fd)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->mt_fd = -1;
	f->kick_fd[0] = f->kick_fd[1] = f->call_fd[0] = f->call_fd[1] = -1;
	f->features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) |
		      (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	f->proto = (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ULL << VHOST_USER_PROTOCOL_F_MQ);
}

static void fk_free(struct fake *f)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (f->kick_fd[i] >= 0)
			close(f->kick_fd[i]);
		if (f->call_fd[i] >= 0)
			close(f->call_fd[i]);
	}
	if (f->mt_fd >= 0)
		close(f->mt_fd);
}

/* A front end on one end of a socketpair, the fake on the other. */
static void pair(struct vhost_user *vu, struct fake *f, enum bad bad, u32 bad_req)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fk_init(f, sv[1]);
	f->bad = bad;
	f->bad_req = bad_req;
	vhost_user_attach(vu, sv[0], "test");
	vu->timeout_ms = 300;
	pthread_create(&f->th, NULL, fk_thread, f);
}

static void unpair(struct vhost_user *vu, struct fake *f)
{
	vhost_user_close(vu);
	pthread_join(f->th, NULL);
	fk_free(f);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void test_handshake(void)
{
	struct vhost_user vu;
	struct fake f;
	u64 num = 0;
	u32 base = 0;

	pair(&vu, &f, BAD_NONE, 0);
	CHECK_EQ(vhost_user_handshake(&vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK), 0);
	CHECK_EQ(vu.features, f.features);
	/* Only what both sides have: MQ was offered but not wanted. */
	CHECK_EQ(vu.protocol_features, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	CHECK_EQ(vhost_user_get_queue_num(&vu, &num), 0);
	CHECK_EQ(num, 1);
	CHECK_EQ(vhost_user_get_vring_base(&vu, 1, &base), 0);
	CHECK_EQ(base, 7);
	unpair(&vu, &f);
	CHECK_EQ(f.nreq, 6);
	CHECK_EQ(f.reqs[0], VHOST_USER_GET_FEATURES);
	CHECK_EQ(f.reqs[1], VHOST_USER_GET_PROTOCOL_FEATURES);
	CHECK_EQ(f.reqs[2], VHOST_USER_SET_PROTOCOL_FEATURES);
	CHECK_EQ(f.reqs[3], VHOST_USER_SET_OWNER);
	/* REPLY_ACK asked for once negotiated, not before. */
	CHECK(!(f.flags[2] & VHOST_USER_NEED_REPLY));
	CHECK(f.flags[3] & VHOST_USER_NEED_REPLY);
	CHECK_EQ(f.flags[0] & VHOST_USER_VERSION_MASK, VHOST_USER_VERSION);
}

static void test_no_protocol_features(void)
{
	struct vhost_user vu;
	struct fake f;

	pair(&vu, &f, BAD_NONE, 0);
	f.features = 1ULL << VIRTIO_F_VERSION_1;
	CHECK_EQ(vhost_user_handshake(&vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK), 0);
	CHECK_EQ(vu.protocol_features, 0);
	/* Without REPLY_ACK nothing waits for an answer. */
	CHECK_EQ(vhost_user_set_vring_num(&vu, 0, 64), 0);
	unpair(&vu, &f);
	CHECK_EQ(f.nreq, 3);
	CHECK_EQ(f.reqs[1], VHOST_USER_SET_OWNER);
	CHECK(!(f.flags[1] & VHOST_USER_NEED_REPLY));
	CHECK_EQ(f.vring_num[0], 64);
}

static void test_mem_table_fds(void)
{
	struct vhost_user_region r[2] = {
		{ .guest_phys_addr = 0, .memory_size = 0x100000, .userspace_addr = 0x7000000,
		  .mmap_offset = 0 },
		{ .guest_phys_addr = 0x100000000ULL, .memory_size = 0x200000,
		  .userspace_addr = 0x7100000, .mmap_offset = 0x100000 },
	};
	int mfd = memfd_create("t", MFD_CLOEXEC), fds[2] = { mfd, mfd };
	struct stat a, b;
	struct vhost_user vu;
	struct fake f;

	pair(&vu, &f, BAD_NONE, 0);
	CHECK_EQ(vhost_user_handshake(&vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK), 0);
	CHECK_EQ(vhost_user_set_mem_table(&vu, r, fds, 2), 0);
	/* Hostile counts never reach the wire. */
	CHECK_EQ(vhost_user_set_mem_table(&vu, r, fds, 0), -1);
	/* The ack came after the back end took the table in. */
	CHECK_EQ(f.mt.nregions, 2);
	/* Exactly the regions in use (rust-vmm back ends insist). */
	CHECK_EQ(f.mt_size, 8 + 2 * sizeof(struct vhost_user_region));
	CHECK_EQ(f.mt.regions[1].guest_phys_addr, 0x100000000ULL);
	CHECK_EQ(f.mt.regions[1].mmap_offset, 0x100000);
	CHECK(f.mt_fd >= 0);
	CHECK(!fstat(mfd, &a) && !fstat(f.mt_fd, &b) && a.st_ino == b.st_ino);
	unpair(&vu, &f);
	close(mfd);
}

/* One hostile behaviour on @req: the call fails, cleanly, without leaking. */
static void hostile(enum bad bad, u32 req, bool stays_alive)
{
	int before = count_fds();
	struct vhost_user vu;
	struct fake f;
	u32 base;
	int r;

	pair(&vu, &f, bad, req);
	if (req == VHOST_USER_GET_VRING_BASE) {
		CHECK_EQ(vhost_user_handshake(&vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK), 0);
		r = vhost_user_get_vring_base(&vu, 0, &base);
	} else {
		r = vhost_user_handshake(&vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	}
	if (bad == BAD_FDS) {
		/* A good answer with a stray descriptor: accepted, the descriptor closed. */
		CHECK_EQ(r, 0);
	} else {
		CHECK_EQ(r, -1);
		CHECK_EQ(vu.dead, !stays_alive);
	}
	/* After a broken exchange nothing more is sent. */
	if (!stays_alive && bad != BAD_FDS) {
		int n = f.nreq;

		CHECK_EQ(vhost_user_set_features(&vu, 1), -1);
		CHECK_EQ(f.nreq, n);
	}
	unpair(&vu, &f);
	CHECK_EQ(count_fds(), before);
}

static void test_hostile_code(void) { hostile(BAD_CODE, VHOST_USER_GET_FEATURES, false); }
static void test_hostile_size(void) { hostile(BAD_SIZE, VHOST_USER_GET_PROTOCOL_FEATURES, false); }
static void test_hostile_huge(void) { hostile(BAD_HUGE, VHOST_USER_GET_FEATURES, false); }
static void test_hostile_noreply(void) { hostile(BAD_NOREPLY, VHOST_USER_GET_FEATURES, false); }
static void test_hostile_version(void) { hostile(BAD_VERSION, VHOST_USER_SET_OWNER, false); }
static void test_hostile_close(void) { hostile(BAD_CLOSE, VHOST_USER_GET_FEATURES, false); }
static void test_hostile_silent(void) { hostile(BAD_SILENT, VHOST_USER_SET_OWNER, false); }
static void test_hostile_nack(void) { hostile(BAD_NACK, VHOST_USER_SET_OWNER, true); }
static void test_hostile_fds(void) { hostile(BAD_FDS, VHOST_USER_GET_FEATURES, true); }
static void test_hostile_trunc(void) { hostile(BAD_TRUNC, VHOST_USER_GET_FEATURES, false); }
static void test_hostile_ring(void) { hostile(BAD_RING, VHOST_USER_GET_VRING_BASE, false); }

static void test_silent_is_bounded(void)
{
	struct timespec t0, t1;
	struct vhost_user vu;
	struct fake f;
	long ms;

	pair(&vu, &f, BAD_SILENT, VHOST_USER_GET_FEATURES);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(vhost_user_handshake(&vu, 0), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 250 && ms < 3000);
	unpair(&vu, &f);
}

/* ---- the virtio-fs device ---- */

static struct fake dev_fake;
static char sock_dir[64], sock_path[128];
static int listen_fd = -1;

static void *accept_thread(void *arg __unused)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	dev_fake.fd = fd;
	return fk_thread(&dev_fake);
}

static struct virtio_device *fs;
static struct fv_q fq[2];

static void test_fs_config(void)
{
	struct virtio_fs_config c;
	u64 feat = fv_features(fs);

	CHECK_EQ(fs->config_len, sizeof(c));
	virtio_config_access(fs, 0, (u8 *)&c, sizeof(c), false);
	CHECK(!memcmp(c.tag, "myfs\0\0", 6));
	CHECK_EQ(le32toh(c.num_request_queues), 1);
	CHECK_EQ(fs->nr_queues, 2);
	CHECK(feat & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(feat & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	/* The core's EVENT_IDX is withdrawn: this back end lacks it. */
	CHECK(!(feat & (1ULL << VIRTIO_RING_F_EVENT_IDX)));
	CHECK(!(feat & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)));
	/* Writes to the config are ignored. */
	c.tag[0] = 'X';
	virtio_config_access(fs, 0, (u8 *)&c, 1, true);
	virtio_config_access(fs, 0, (u8 *)&c, sizeof(c), false);
	CHECK_EQ(c.tag[0], 'm');
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void test_fs_start(void)
{
	struct stat a, b;
	eventfd_t v;
	int i, irqs;

	CHECK(fv_driver_up(fs, (1ULL << VIRTIO_F_VERSION_1) |
			   (1ULL << VIRTIO_RING_F_INDIRECT_DESC), fq, 2, 0));
	/* PROTOCOL_FEATURES goes back with the guest's features. */
	CHECK_EQ(dev_fake.set_features, (1ULL << VIRTIO_F_VERSION_1) |
		 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
	CHECK_EQ(dev_fake.mt.nregions, 1);
	CHECK_EQ(dev_fake.mt.regions[0].memory_size, FV_RAM_SIZE);
	CHECK_EQ(dev_fake.mt.regions[0].userspace_addr, (u64)(uintptr_t)fv_ram);
	CHECK(dev_fake.mt_fd >= 0 && !fstat(dev_fake.mt_fd, &a) &&
	      !fstat(fv_kvm.ram_fd, &b) && a.st_ino == b.st_ino);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(dev_fake.vring_num[i], FV_QSZ);
		CHECK_EQ(dev_fake.vring_base[i], 0);
		CHECK_EQ(dev_fake.enabled[i], 1);
		CHECK_EQ(dev_fake.addr[i].desc_user_addr, (u64)(uintptr_t)fq[i].desc);
		CHECK_EQ(dev_fake.addr[i].avail_user_addr, (u64)(uintptr_t)fq[i].avail);
		CHECK_EQ(dev_fake.addr[i].used_user_addr, (u64)(uintptr_t)fq[i].used);
		CHECK(dev_fake.kick_fd[i] >= 0 && dev_fake.call_fd[i] >= 0);
	}
	/* A guest notify reaches the back end's kick eventfd, not lkvm's worker. */
	if (readable(dev_fake.kick_fd[1], 0))
		eventfd_read(dev_fake.kick_fd[1], &v);	/* DRIVER_OK's own kick */
	CHECK(!readable(dev_fake.kick_fd[1], 0));
	virtio_queue_kick(fs, 1);
	CHECK(readable(dev_fake.kick_fd[1], 1000));
	/* The back end's call raises the queue's interrupt. */
	irqs = __atomic_load_n(&fv_irqs, __ATOMIC_RELAXED);
	eventfd_write(dev_fake.call_fd[1], 1);
	for (i = 0; i < 1000 && __atomic_load_n(&fv_irqs, __ATOMIC_RELAXED) == irqs; i++)
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&fv_irqs, __ATOMIC_RELAXED), irqs + 1);
}

/* Post a FUSE request with @unique; returns the gpa of its reply buffer. */
static u64 post_request(struct fv_q *q, u64 unique)
{
	u64 in = fv_alloc(sizeof(struct fuse_in_header)), out = fv_alloc(64);
	struct fuse_in_header *h = fv_gp(in);
	struct fv_seg s[2] = { { in, sizeof(*h), false }, { out, 64, true } };

	h->len = sizeof(*h);
	h->opcode = FUSE_GETATTR;
	h->unique = unique;
	fv_add(q, s, 2);
	return out;
}

/* A driver stopping one queue, then resetting: the rings come back. */
static void test_fs_stop_reset(void)
{
	CHECK_EQ(dev_fake.stopped[0] + dev_fake.stopped[1], 0);
	virtio_queue_enable(fs, 0, false);
	CHECK_EQ(dev_fake.stopped[0], 1);
	CHECK_EQ(dev_fake.stopped[1], 0);
	virtio_set_status(fs, 0);
	/* Ring 0 is not the back end's any more: only ring 1 is stopped. */
	CHECK_EQ(dev_fake.stopped[0], 1);
	CHECK_EQ(dev_fake.stopped[1], 1);
	/* And a new driver gets both again. */
	memset(dev_fake.enabled, 0, sizeof(dev_fake.enabled));
	CHECK(fv_driver_up(fs, 1ULL << VIRTIO_F_VERSION_1, fq, 2, 0));
	CHECK_EQ(dev_fake.enabled[0], 1);
	CHECK_EQ(dev_fake.enabled[1], 1);
}

static void test_fs_backend_dies(void)
{
	u16 *avail_event = (u16 *)&fq[1].used->ring[FV_QSZ];
	struct fuse_out_header *o;
	u64 out1, out2;

	/*
	 * As a driver with EVENT_IDX (which this fake back end does not
	 * offer): the back end left avail_event behind, at 0.
	 */
	fs->vqs[1].event_idx = true;
	*avail_event = 0;
	/* Taken by the back end, never answered: */
	out1 = post_request(&fq[1], 0x1234);
	out2 = post_request(&fq[1], 0x1235);
	dev_fake.hang_up = true;
	shutdown(dev_fake.fd, SHUT_RDWR);
	/* lkvm answers them itself once the back end is gone... */
	CHECK(fv_wait(&fq[1], 2));
	/* ...and asks to be kicked for the next one. */
	CHECK_EQ(le16toh(*avail_event), le16toh(fq[1].avail->idx));
	fs->vqs[1].event_idx = false;
	o = fv_gp(out2);
	CHECK_EQ(o->error, -EIO);
	CHECK_EQ(o->unique, 0x1235);
	CHECK_EQ(le32toh(fv_used(&fq[1], 0)->len), sizeof(*o));
	o = fv_gp(out1);
	CHECK_EQ(o->error, -EIO);
	CHECK_EQ(o->unique, 0x1234);
	CHECK_EQ(o->len, sizeof(*o));
	/* And every new one. */
	out2 = post_request(&fq[1], 0x5678);
	CHECK(fv_kick_wait(&fq[1], 1));
	o = fv_gp(out2);
	CHECK_EQ(o->error, -EIO);
	CHECK_EQ(o->unique, 0x5678);
	/* A reply buffer too small for the header gets nothing written. */
	{
		u64 in = fv_alloc(sizeof(struct fuse_in_header)), sm = fv_alloc(8);
		struct fv_seg s[2] = { { in, sizeof(struct fuse_in_header), false },
				       { sm, 8, true } };

		fv_add(&fq[1], s, 2);
		CHECK(fv_kick_wait(&fq[1], 1));
		CHECK_EQ(le32toh(fv_used(&fq[1], 0)->len), 0);
	}
	/* A new driver cannot start the device again: it is broken, not hung. */
	fv_driver_up(fs, 1ULL << VIRTIO_F_VERSION_1, fq, 2, 0);
	CHECK(virtio_get_status(fs) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_fs_parse(void)
{
	struct kvm_config c;

	memset(&c, 0, sizeof(c));
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,t1"), 0);
	CHECK(c.vfs[0].dir && !strcmp(c.vfs[0].dir, "/tmp") && !strcmp(c.vfs[0].tag, "t1"));
	CHECK(c.mem_shared);
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,t2,ro"), 0);
	CHECK(c.vfs[1].readonly);
	CHECK_EQ(virtio_fs_parse(&c, "socket=/run/x.sock,tag=t3"), 0);
	CHECK(c.vfs[2].socket && !c.vfs[2].dir);
	CHECK_EQ(virtio_fs_parse(&c, "tag=t4,dir=/tmp"), 0);
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,t1"), -1);			/* tag twice */
	CHECK_EQ(virtio_fs_parse(&c, "/tmp"), -1);			/* no tag */
	CHECK_EQ(virtio_fs_parse(&c, ""), -1);
	CHECK_EQ(virtio_fs_parse(&c, ",,,"), -1);
	CHECK_EQ(virtio_fs_parse(&c, "/nonexistent/dir,t5"), -1);
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,0123456789012345678901234567890123456"), -1);
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,012345678901234567890123456789012345"), 0);
	CHECK_EQ(virtio_fs_parse(&c, "socket=/x,tag=t6,ro"), -1);
	CHECK_EQ(virtio_fs_parse(&c, "socket=/x,dir=/tmp,tag=t6"), -1);
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,t6,cache=always"), -1);
	CHECK_EQ(virtio_fs_parse(&c, "/tmp,t6,extra"), -1);
	CHECK_EQ(c.nr_vfs, 5);
	/* Each entry points into its own copy of the argument. */
	free((char *)c.vfs[0].dir);
	free((char *)c.vfs[1].dir);
	free((char *)c.vfs[2].socket - 7);
	free((char *)c.vfs[3].tag - 4);
	free((char *)c.vfs[4].dir);
}

static void test_virtiofsd_kinds(void)
{
	struct virtiofsd d = { .pid = -1 };
	const char *argv[16];
	bool ro;
	int n, i, k;
	bool saw_ro = false, saw_src = false;

	CHECK_EQ(virtiofsd_kind_of("usage: virtiofsd [options]\n --socket-path=PATH\n"
				   " -o source=PATH  shared directory tree\n", &ro), VIRTIOFSD_C);
	CHECK(!ro);
	CHECK_EQ(virtiofsd_kind_of("Usage: virtiofsd [OPTIONS] --shared-dir <SHARED_DIR>\n"
				   "      --readonly\n      --socket-path <SOCKET_PATH>\n", &ro),
		 VIRTIOFSD_RUST);
	CHECK(ro);
	CHECK_EQ(virtiofsd_kind_of("Usage: virtiofsd --shared-dir <DIR>\n", &ro), VIRTIOFSD_RUST);
	CHECK(!ro);
	CHECK_EQ(virtiofsd_kind_of("GNU bash, version 5.2\n", &ro), VIRTIOFSD_NONE);
	CHECK_EQ(virtiofsd_kind_of("", &ro), VIRTIOFSD_NONE);

	strcpy(d.path, "/usr/lib/qemu/virtiofsd");
	strcpy(d.socket, "/tmp/x/sock");
	d.kind = VIRTIOFSD_C;
	n = virtiofsd_argv(&d, "/srv", false, argv, ARRAY_SIZE(argv));
	CHECK(n > 3 && !argv[n]);
	for (i = 0; i < n; i++)
		saw_src |= !strcmp(argv[i], "source=/srv");
	CHECK(saw_src);
	d.kind = VIRTIOFSD_RUST;
	d.has_readonly = true;
	n = virtiofsd_argv(&d, "/srv", true, argv, ARRAY_SIZE(argv));
	saw_src = false;
	for (i = 0; i < n; i++) {
		saw_src |= !strcmp(argv[i], "--shared-dir=/srv");
		saw_ro |= !strcmp(argv[i], "--readonly");
	}
	CHECK(saw_src && saw_ro);
	/* lkvm's listening socket, never a path the daemon creates. */
	CHECK(!strcmp(argv[1], "--fd=3"));
	/*
	 * --user: the daemon cannot raise its open-file limit in its user
	 * namespace, and is root there (its own sandbox, never "none").
	 */
	d.as_user = true;
	for (k = VIRTIOFSD_C; k <= VIRTIOFSD_RUST; k++) {
		bool saw_rlimit = false, saw_none = false;

		d.kind = k;
		n = virtiofsd_argv(&d, "/srv", false, argv, ARRAY_SIZE(argv));
		for (i = 0; i < n; i++) {
			saw_rlimit |= !strcmp(argv[i], "--rlimit-nofile=0");
			saw_none |= !strcmp(argv[i], "--sandbox=none");
		}
		CHECK(saw_rlimit && !saw_none);
	}
	d.as_user = false;
	/* A vector too small is cut, never overrun. */
	n = virtiofsd_argv(&d, "/srv", true, argv, 3);
	CHECK_EQ(n, 2);
	CHECK(!argv[2]);
}

/*
 * A daemon that cannot be started is one line, and leaves nothing behind:
 * no socket directory, no connection, no child.
 */
static void test_virtiofsd_cannot_run(void)
{
	struct virtiofsd d = { .kind = VIRTIOFSD_RUST, .has_readonly = true, .pid = -1 };
	int status;

	snprintf(d.path, sizeof(d.path), "%s/no-such-virtiofsd", sock_dir);
	CHECK_ONE_LINE(virtiofsd_start(&d, sock_dir, false) == -1, "cannot run");
	CHECK_EQ(d.pid, -1);
	CHECK_EQ(d.conn, -1);
	CHECK(!d.dir[0]);
	CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD);
}

/* The kind comes from --help, wherever the program is. */
static void test_virtiofsd_find(void)
{
	char script[128];
	struct virtiofsd d;
	FILE *f;

	snprintf(script, sizeof(script), "%s/fake-virtiofsd", sock_dir);
	f = fopen(script, "w");
	if (!f) {
		CHECK(0);
		return;
	}
	fprintf(f, "#!/bin/sh\necho 'Usage: virtiofsd [OPTIONS] --shared-dir <DIR> --socket-path <P>'\n");
	fclose(f);
	chmod(script, 0755);
	setenv("LKVM_VIRTIOFSD", script, 1);
	CHECK_EQ(virtiofsd_find(&d), 0);
	CHECK_EQ(d.kind, VIRTIOFSD_RUST);
	f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\necho 'something else entirely'\n");
	fclose(f);
	CHECK_EQ(virtiofsd_find(&d), -1);
	setenv("LKVM_VIRTIOFSD", "/nonexistent/virtiofsd", 1);
	CHECK_EQ(virtiofsd_find(&d), -1);
	unsetenv("LKVM_VIRTIOFSD");
	unlink(script);
}

/* "Uid:" or "Gid:" of /proc/@pid/status: the four ids, as "r e s fs". */
static void proc_ids(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[0] = '\0';
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned int a, b, c, d;

		if (!strncmp(line, key, strlen(key)) &&
		    sscanf(line + strlen(key), "%u %u %u %u", &a, &b, &c, &d) == 4)
			snprintf(out, len, "%u %u %u %u", a, b, c, d);
	}
	if (f)
		fclose(f);
}

/*
 * The real virtiofsd of this host, if any (and we may run it): started on a
 * private socket, it must take lkvm's whole setup sequence, REPLY_ACKs
 * included, and stop at exit. @as_user: as lkvm's --user makes it (nobody,
 * root only in a user namespace of its own): no id of it may be root's.
 */
static void real_virtiofsd(bool as_user)
{
	char dir[] = "/tmp/lkvm-test-vfsd.XXXXXX", sockdir[64], ids[64], map[64] = "";
	struct vhost_user_vring_addr a = { .index = 1 };
	struct vhost_user_region r = { .memory_size = 1 << 20 };
	const char *name = as_user ? "real_virtiofsd_as_user" : "real_virtiofsd";
	struct virtiofsd d;
	struct vhost_user vu;
	int mfd, kick, call, started;
	unsigned int in, out, count;
	u8 *mem;
	u32 base = 99;
	FILE *f;

	if (virtiofsd_find(&d) || (d.kind == VIRTIOFSD_C && geteuid())) {
		printf("SKIP: unit/test-vhost-user/%s: no virtiofsd that can run here\n", name);
		return;
	}
	if (as_user && geteuid()) {
		printf("SKIP: unit/test-vhost-user/%s: only root can run it as another user\n", name);
		return;
	}
	test_current = name;
	test_failed_checks = 0;
	alarm(TEST_TIMEOUT_S);
	CHECK(mkdtemp(dir) != NULL);
	if (as_user) {
		d.as_user = true;
		d.uid = d.gid = 65534;
		CHECK(!chown(dir, d.uid, d.gid));	/* the user's share */
	}
	started = virtiofsd_start(&d, dir, true);
	CHECK_EQ(started, 0);
	if (!started) {
		vhost_user_attach(&vu, d.conn, "real");
		d.conn = -1;
	}
	if (!started && as_user) {
		char path[64];

		proc_ids(d.pid, "Uid:", ids, sizeof(ids));
		CHECK(!strcmp(ids, "65534 65534 65534 65534"));
		proc_ids(d.pid, "Gid:", ids, sizeof(ids));
		CHECK(!strcmp(ids, "65534 65534 65534 65534"));
		/* Root in its namespace is nobody outside. */
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)d.pid);
		f = fopen(path, "r");
		CHECK(f && fgets(map, sizeof(map), f));
		if (f)
			fclose(f);
		CHECK(sscanf(map, "%u %u %u", &in, &out, &count) == 3 &&
		      in == 0 && out == 65534 && count == 1);
	}
	mfd = memfd_create("ram", MFD_CLOEXEC);
	CHECK(!ftruncate(mfd, r.memory_size));
	mem = mmap(NULL, r.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	r.userspace_addr = (u64)(uintptr_t)mem;
	a.desc_user_addr = r.userspace_addr;
	a.avail_user_addr = r.userspace_addr + 0x4000;
	a.used_user_addr = r.userspace_addr + 0x8000;
	kick = eventfd(0, EFD_CLOEXEC);
	call = eventfd(0, EFD_CLOEXEC);
	if (!started) {
		CHECK_EQ(vhost_user_handshake(&vu, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK), 0);
		CHECK(vu.features & (1ULL << VIRTIO_F_VERSION_1));
		CHECK_EQ(vhost_user_set_features(&vu, (1ULL << VIRTIO_F_VERSION_1) |
			 (vu.features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))), 0);
		CHECK_EQ(vhost_user_set_mem_table(&vu, &r, &mfd, 1), 0);
		CHECK_EQ(vhost_user_set_vring_num(&vu, 1, 128), 0);
		CHECK_EQ(vhost_user_set_vring_addr(&vu, &a), 0);
		CHECK_EQ(vhost_user_set_vring_base(&vu, 1, 0), 0);
		CHECK_EQ(vhost_user_set_vring_kick(&vu, 1, kick), 0);
		CHECK_EQ(vhost_user_set_vring_call(&vu, 1, call), 0);
		CHECK_EQ(vhost_user_set_vring_enable(&vu, 1, true), 0);
		CHECK_EQ(vhost_user_get_vring_base(&vu, 1, &base), 0);
		CHECK_EQ(base, 0);
		vhost_user_close(&vu);
	}
	snprintf(sockdir, sizeof(sockdir), "%s", d.dir);
	virtiofsd_stop(&d, NULL);
	/* Its private socket directory is gone with it. */
	CHECK(access(sockdir, F_OK) && errno == ENOENT);
	rmdir(dir);
	munmap(mem, r.memory_size);
	close(mfd);
	close(kick);
	close(call);
	alarm(0);
	if (test_failed_checks) {
		test_failures++;
		printf("FAIL: unit/test-vhost-user/%s: %s (%s)\n", name, test_first_failure, d.path);
	} else {
		printf("PASS: unit/test-vhost-user/%s\n", name);
	}
	fflush(stdout);
}

TEST_MAIN_BEGIN("test-vhost-user")
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	pthread_t acc;

	signal(SIGPIPE, SIG_IGN);
	RUN(test_handshake);
	RUN(test_no_protocol_features);
	RUN(test_mem_table_fds);
	RUN(test_hostile_code);
	RUN(test_hostile_size);
	RUN(test_hostile_huge);
	RUN(test_hostile_noreply);
	RUN(test_hostile_version);
	RUN(test_hostile_close);
	RUN(test_hostile_silent);
	RUN(test_hostile_nack);
	RUN(test_hostile_fds);
	RUN(test_hostile_trunc);
	RUN(test_hostile_ring);
	RUN(test_silent_is_bounded);
	RUN(test_fs_parse);
	RUN(test_virtiofsd_kinds);
	real_virtiofsd(false);
	real_virtiofsd(true);

	snprintf(sock_dir, sizeof(sock_dir), "/tmp/lkvm-test-vu.XXXXXX");
	if (!mkdtemp(sock_dir)) {
		printf("FAIL: unit/test-vhost-user/setup: mkdtemp\n");
		return 1;
	}
	RUN(test_virtiofsd_find);
	RUN(test_virtiofsd_cannot_run);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", sock_dir);
	strcpy(addr.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(listen_fd, 1) < 0) {
		printf("FAIL: unit/test-vhost-user/setup: listen\n");
		return 1;
	}
	fk_init(&dev_fake, -1);
	pthread_create(&acc, NULL, accept_thread, NULL);

	fv_setup();
	/* Guest RAM in a memfd, as --virtio-fs makes it. */
	fv_kvm.ram_fd = memfd_create("ram", MFD_CLOEXEC);
	fv_kvm.ram = fv_ram;
	fv_kvm.ram_map_size = FV_RAM_SIZE;
	fv_kvm.cfg.vfs[0] = (struct vfs_config){ .socket = sock_path, .tag = "myfs" };
	fv_kvm.cfg.nr_vfs = 1;
	if (init_run_stage(&fv_kvm, INIT_VIRTIO) < 0 || !(fs = fv_find(26))) {
		printf("FAIL: unit/test-vhost-user/setup: the virtio-fs device did not register\n");
		return 1;
	}
	RUN(test_fs_config);
	RUN(test_fs_start);
	RUN(test_fs_stop_reset);
	RUN(test_fs_backend_dies);
	init_run_exits(&fv_kvm);
	pthread_join(acc, NULL);
	fk_free(&dev_fake);
	unlink(sock_path);
	rmdir(sock_dir);
TEST_MAIN_END()
