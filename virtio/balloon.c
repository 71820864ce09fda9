// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon (virtio 1.x, section 5.5), --balloon.
 *
 * - inflate/deflate: the guest hands over (or takes back) 4 KiB pages by
 *   PFN; inflated pages are discarded on the host at once. Deflated pages
 *   need nothing: the next guest access faults in a fresh page.
 * - statistics: the device keeps the one buffer the driver offers and
 *   returns it when it wants new numbers; the driver refills and re-adds it.
 * - free page reporting: the driver offers free ranges of its memory as
 *   device-writable buffers; the device discards them and returns them.
 *
 * Not offered: MUST_TELL_HOST (no need: deflated pages are usable at once),
 * DEFLATE_ON_OOM (with it Linux keeps the ballooned pages in MemTotal, and
 * lkvm has nothing to do for it), FREE_PAGE_HINT (a migration aid) and
 * PAGE_POISON (a guest that poisons free pages then does not report them).
 *
 * Every PFN and range is checked against guest RAM and rounded inward to
 * host pages before anything is discarded (mem-discard.c). The worker holds
 * vdev->lock while it services a queue; the control channel takes it too.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "lkvm/balloon.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/mem-discard.h"
#include "lkvm/virtio.h"

#define STATS_MAX_ENTRIES	64	/* more than any driver sends */
#define BALLOON_PFN_BATCH	1024	/* PFNs sorted and coalesced together */
/*
 * PFNs looked at per request. Linux sends at most 256; a chain of 1024
 * descriptors that all name the same guest memory could otherwise carry
 * a billion, and keep the worker (and the device lock) for hours.
 */
#define BALLOON_MAX_PFNS	(1U << 18)
#define STAT_ENTRY_SIZE		10	/* le16 tag, le64 value, packed */

const char *const balloon_stat_names[BALLOON_NR_STATS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults",
	"free_memory", "total_memory", "available_memory", "disk_caches",
	"hugetlb_allocations", "hugetlb_failures", "oom_kills", "alloc_stalls",
	"async_scans", "direct_scans", "async_reclaims", "direct_reclaims",
};

struct balloon_dev {
	struct virtio_device vdev;
	struct virtio_balloon_config config;
	struct ram_backing ram;
	u32 target_pages;		/* num_pages, as the host set it */

	/* Worker only: the chain being serviced. */
	struct virtq_elem elem;
	/* The statistics buffer the device holds on to (under vdev->lock). */
	struct virtq_elem stats_elem;
	bool stats_held;

	/* Counters, under vdev->lock. */
	u64 inflated_pages, deflated_pages, inflate_freed_bytes;
	u64 reported_bytes, reports, rejected;

	/* The latest statistics and their arrival, under stats_lock. */
	pthread_mutex_t stats_lock;
	pthread_cond_t stats_cond;
	struct balloon_stats stats;
	bool have_stats;
	u64 stats_seq, stats_time_ns;
};


unsigned int balloon_parse_stats(const u8 *buf, size_t len, struct balloon_stats *st)
{
	unsigned int n = 0;
	size_t off;

	for (off = 0; off + STAT_ENTRY_SIZE <= len; off += STAT_ENTRY_SIZE) {
		u16 tag;
		u64 val;

		memcpy(&tag, buf + off, sizeof(tag));
		memcpy(&val, buf + off + 2, sizeof(val));
		tag = le16toh(tag);
		if (tag >= BALLOON_NR_STATS)
			continue;
		st->val[tag] = le64toh(val);
		st->mask |= 1U << tag;
		n++;
	}
	return n;
}

static bool driver_running(struct virtio_device *vdev)
{
	return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Contiguous PFNs within one bank, discarded together. */
struct pfn_run {
	u64 start, n;
	const struct guest_bank *bank;
};

static void run_flush(struct balloon_dev *b, struct pfn_run *run, bool inflate)
{
	struct host_range hr[GUEST_MEM_MAX_BANKS];
	int n, i;

	if (!run->n)
		return;
	if (inflate) {
		n = guest_range_to_host(&b->vdev.kvm->mem, run->start * BALLOON_PAGE_SIZE,
					run->n * BALLOON_PAGE_SIZE, b->ram.page_size,
					hr, ARRAY_SIZE(hr));
		for (i = 0; i < n; i++) {
			s64 r = ram_discard(&b->ram, hr[i].host, hr[i].len);

			if (r > 0)
				b->inflate_freed_bytes += r;
		}
	}
	run->n = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * An inflate or deflate request: a readable array of le32 PFNs. Linux sends
 * up to 256 at a time, often from one free block but in no useful order;
 * sorted, they coalesce into a few ranges, and each range costs one
 * madvise() (and one invalidation of KVM's mappings) instead of one per page.
 */
static void balloon_pfns(struct balloon_dev *b, bool inflate)
{
	const struct guest_mem *mem = &b->vdev.kvm->mem;
	struct virtq_elem *e = &b->elem;
	struct pfn_run run = { 0 };
	u32 pfns[BALLOON_PFN_BATCH];
	size_t off = 0, got;
	unsigned int i, n;

	while (off < BALLOON_MAX_PFNS * sizeof(pfns[0]) &&
	       (got = iov_to_buf(e->iov, e->nr_out, off, pfns, sizeof(pfns))) >= 4) {
		n = got / 4;
		for (i = 0; i < n; i++)
			pfns[i] = le32toh(pfns[i]);
		qsort(pfns, n, sizeof(pfns[0]), cmp_u32);
		for (i = 0; i < n; i++) {
			u64 pfn = pfns[i], gpa = pfn * BALLOON_PAGE_SIZE;
			const struct guest_bank *bank = guest_bank_of(mem, gpa);

			if (!bank || !guest_range_ok(mem, gpa, BALLOON_PAGE_SIZE)) {
				b->rejected++;
				continue;
			}
			if (inflate)
				b->inflated_pages++;
			else
				b->deflated_pages++;
			if (run.n && bank == run.bank && pfn >= run.start &&
			    pfn < run.start + run.n)
				continue;	/* a duplicate */
			if (run.n && bank == run.bank && pfn == run.start + run.n) {
				run.n++;
				continue;
			}
			run_flush(b, &run, inflate);
			run = (struct pfn_run){ pfn, 1, bank };
		}
		off += got;
	}
	run_flush(b, &run, inflate);
	if (e->out_bytes > off)
		b->rejected += (e->out_bytes - off) / 4;	/* beyond the cap */
}

/*
 * Free page reporting: each device-writable segment is a free range. The
 * virtqueue already mapped it through guest_ptr(), so it lies in guest RAM;
 * ram_discard() checks that again and rounds it inward to host pages.
 */
static void balloon_report(struct balloon_dev *b)
{
	struct virtq_elem *e = &b->elem;
	unsigned int i;

	b->rejected += e->nr_out;	/* readable segments report nothing */
	for (i = e->nr_out; i < e->nr_out + e->nr_in; i++) {
		s64 r = ram_discard(&b->ram, e->iov[i].iov_base, e->iov[i].iov_len);

		if (r < 0) {
			b->rejected++;
			continue;
		}
		b->reported_bytes += r;
		b->reports++;
	}
}

static void stats_arrived(struct balloon_dev *b)
{
	struct virtq_elem *e = &b->stats_elem;
	u8 buf[STATS_MAX_ENTRIES * STAT_ENTRY_SIZE];
	struct balloon_stats st = { 0 };
	size_t len;

	len = iov_to_buf(e->iov, e->nr_out, 0, buf, sizeof(buf));
	balloon_parse_stats(buf, len, &st);
	pthread_mutex_lock(&b->stats_lock);
	b->stats = st;
	b->have_stats = true;
	b->stats_time_ns = now_ns();
	b->stats_seq++;
	pthread_cond_broadcast(&b->stats_cond);
	pthread_mutex_unlock(&b->stats_lock);
}

/* The statistics queue: keep the newest buffer, give back any older one. */
static void balloon_stats_vq(struct balloon_dev *b, struct virt_queue *vq,
			     bool *pushed)
{
	struct virtio_device *vdev = &b->vdev;
	int r;

	for (;;) {
		virtq_disable_notify(vq);
		while (virtq_has_avail(vq)) {
			if (b->stats_held) {
				virtq_push(vq, &b->stats_elem, 0);
				b->stats_held = false;
				*pushed = true;
			}
			r = virtq_pop(vq, &vdev->kvm->mem, &b->stats_elem);
			if (r < 0) {
				virtio_device_broken(vdev, "malformed descriptor chain");
				return;
			}
			if (!r)
				break;
			b->stats_held = true;
			stats_arrived(b);
		}
		if (!virtq_enable_notify(vq))
			return;
	}
}

/* One inflate, deflate or reporting request (in b->elem). */
static u32 balloon_serve(struct virtio_device *vdev, struct virt_queue *vq,
			 struct virtq_elem *elem __unused)
{
	enum balloon_vq_role role = balloon_vq_role(vdev->guest_features, vq->index);

	if (role == BALLOON_VQ_INFLATE || role == BALLOON_VQ_DEFLATE)
		balloon_pfns(vdev->priv, role == BALLOON_VQ_INFLATE);
	else if (role == BALLOON_VQ_REPORTING)
		balloon_report(vdev->priv);
	/* A queue these features don't have: the chain is just returned. */
	return 0;
}

static void balloon_notify(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct balloon_dev *b = vdev->priv;
	bool pushed = false;

	if (balloon_vq_role(vdev->guest_features, vq->index) == BALLOON_VQ_STATS) {
		balloon_stats_vq(b, vq, &pushed);
		if (pushed)
			virtio_queue_signal(vdev, vq);
		return;
	}
	virtio_queue_serve(vdev, vq, &b->elem, balloon_serve, "malformed descriptor chain");
}

/* Only `actual` belongs to the driver; writes elsewhere are ignored. */
static void balloon_config_write(struct virtio_device *vdev, u32 off,
				 const u8 *data, u32 len)
{
	struct balloon_dev *b = vdev->priv;
	const u32 at = offsetof(struct virtio_balloon_config, actual);

	if (off >= at && off - at + len <= sizeof(b->config.actual))
		memcpy((u8 *)&b->config.actual + (off - at), data, len);
}

static void balloon_reset(struct virtio_device *vdev)
{
	struct balloon_dev *b = vdev->priv;

	/* The held statistics buffer belonged to the old driver's ring. */
	b->stats_held = false;
	b->config.actual = 0;
}

/* The statistics queue stopped: the buffer held from it is the driver's again. */
static void balloon_queue_stop(struct virtio_device *vdev, struct virt_queue *vq)
{
	struct balloon_dev *b = vdev->priv;

	if (balloon_vq_role(vdev->guest_features, vq->index) == BALLOON_VQ_STATS)
		b->stats_held = false;
}

VIRTIO_DEVICE_OPS(balloon, "balloon", VIRTIO_ID_BALLOON, reset, queue_stop, config_write);

int balloon_get_info(struct kvm *kvm, struct balloon_info *info, int refresh_ms)
{
	struct balloon_dev *b = kvm->balloon;
	struct virtio_device *vdev;
	bool asked = false;
	u64 seq;

	memset(info, 0, sizeof(*info));
	if (!b)
		return -1;
	vdev = &b->vdev;

	pthread_mutex_lock(&b->stats_lock);
	seq = b->stats_seq;
	pthread_mutex_unlock(&b->stats_lock);

	pthread_mutex_lock(&vdev->lock);
	info->driver_ok = driver_running(vdev);
	info->features = info->driver_ok ? vdev->guest_features : 0;
	info->target_bytes = (u64)b->target_pages * BALLOON_PAGE_SIZE;
	info->actual_bytes = (u64)le32toh(b->config.actual) * BALLOON_PAGE_SIZE;
	info->inflated_pages = b->inflated_pages;
	info->deflated_pages = b->deflated_pages;
	info->inflate_freed_bytes = b->inflate_freed_bytes;
	info->reported_bytes = b->reported_bytes;
	info->reports = b->reports;
	info->rejected = b->rejected;
	/* Give the statistics buffer back: the driver refills and re-adds it. */
	if (refresh_ms > 0 && info->driver_ok && b->stats_held) {
		int idx = balloon_vq_index(vdev->guest_features, BALLOON_VQ_STATS);

		if (idx >= 0 && (unsigned int)idx < vdev->nr_queues &&
		    vdev->vqs[idx].ready) {
			virtq_push(&vdev->vqs[idx], &b->stats_elem, 0);
			b->stats_held = false;
			virtio_queue_signal(vdev, &vdev->vqs[idx]);
			asked = true;
		}
	}
	pthread_mutex_unlock(&vdev->lock);

	pthread_mutex_lock(&b->stats_lock);
	if (asked) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += refresh_ms / 1000;
		ts.tv_nsec += (long)(refresh_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (b->stats_seq == seq &&
		       pthread_cond_timedwait(&b->stats_cond, &b->stats_lock, &ts) == 0)
			;
	}
	info->have_stats = b->have_stats;
	info->stats = b->stats;
	if (b->have_stats)
		info->stats_age_ms = (now_ns() - b->stats_time_ns) / 1000000;
	pthread_mutex_unlock(&b->stats_lock);
	return 0;
}

int balloon_adjust(struct kvm *kvm, bool inflate, u64 bytes, char *err,
		   size_t errlen)
{
	struct balloon_dev *b = kvm->balloon;
	u64 pages = bytes / BALLOON_PAGE_SIZE, max_pages, target;

	if (!b) {
		snprintf(err, errlen, "this VM has no balloon (start it with --balloon)");
		return -1;
	}
	if (!pages) {
		snprintf(err, errlen, "%llu bytes is less than one 4 KiB page",
			 (unsigned long long)bytes);
		return -1;
	}
	max_pages = min(kvm->cfg.ram_size / BALLOON_PAGE_SIZE, (u64)UINT32_MAX);

	pthread_mutex_lock(&b->vdev.lock);
	target = b->target_pages;
	if (inflate && pages > max_pages - target) {
		pthread_mutex_unlock(&b->vdev.lock);
		snprintf(err, errlen, "the balloon would exceed guest memory (%llu MiB, %llu MiB inflated)",
			 (unsigned long long)(kvm->cfg.ram_size >> 20),
			 (unsigned long long)((target * BALLOON_PAGE_SIZE) >> 20));
		return -1;
	}
	if (!inflate && pages > target) {
		pthread_mutex_unlock(&b->vdev.lock);
		snprintf(err, errlen, "the balloon holds only %llu KiB",
			 (unsigned long long)((target * BALLOON_PAGE_SIZE) >> 10));
		return -1;
	}
	b->target_pages = inflate ? target + pages : target - pages;
	b->config.num_pages = htole32(b->target_pages);
	pthread_mutex_unlock(&b->vdev.lock);
	virtio_config_changed(&b->vdev);
	return 0;
}

static void balloon_release(struct virtio_device *vdev)
{
	free(vdev->priv);
}

static int virtio_balloon_init(struct kvm *kvm)
{
	struct balloon_dev *b;
	long psz = sysconf(_SC_PAGESIZE);

	if (!kvm->cfg.balloon)
		return 0;
	b = xzalloc(sizeof(*b));
	b->vdev.ops = &balloon_ops;
	b->vdev.priv = b;
	b->vdev.host_features = 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	if (!kvm->cfg.balloon_no_reporting)
		b->vdev.host_features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
	/* Every queue the offered features can give the driver. */
	b->vdev.nr_queues = balloon_nr_vqs(b->vdev.host_features);
	b->vdev.queue_max_size = max(VIRTQ_DEFAULT_SIZE, BALLOON_REPORTING_MIN_QUEUE);
	b->vdev.config = (u8 *)&b->config;
	b->vdev.config_len = sizeof(b->config);

	/* lkvm's guest RAM is one mapping: private anonymous, or a shared memfd (kvm.c). */
	b->ram = (struct ram_backing){
		.base = kvm->ram,
		.size = kvm->ram_map_size,
		.fd = kvm->ram_fd,
		.fd_offset = 0,
		.shared = kvm->ram_fd >= 0,
		.page_size = psz > 0 ? (u64)psz : SZ_4K,
	};
	pthread_mutex_init(&b->stats_lock, NULL);
	pthread_cond_init(&b->stats_cond, NULL);

	/* On failure the VM is torn down; the transport may still point at b. */
	if (virtio_device_register(kvm, &b->vdev) < 0)
		return -1;
	kvm->balloon = b;
	return 0;
}

static void virtio_balloon_exit(struct kvm *kvm)
{
	kvm->balloon = NULL;
	virtio_devices_exit(kvm, &balloon_ops, balloon_release);
}
virtio_dev_init(virtio_balloon_init, virtio_balloon_exit);
