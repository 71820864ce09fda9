/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BALLOON_H
#define LKVM_BALLOON_H

#include <linux/virtio_balloon.h>

#include "lkvm/util.h"

/*
 * virtio-balloon (virtio 1.x section 5.5), --balloon: inflate and deflate
 * queues, memory statistics and free page reporting (virtio/balloon.c).
 */

#define BALLOON_PAGE_SIZE	(1ULL << VIRTIO_BALLOON_PFN_SHIFT)	/* 4 KiB */
#define BALLOON_REPORTING_MIN_QUEUE	32	/* Linux refuses a smaller one */

/* What a queue is for. */
enum balloon_vq_role {
	BALLOON_VQ_INFLATE,
	BALLOON_VQ_DEFLATE,
	BALLOON_VQ_STATS,
	BALLOON_VQ_FREE_PAGE,
	BALLOON_VQ_REPORTING,
	BALLOON_VQ_NONE,	/* no such queue with these features */
};

/*
 * Queues are numbered densely: inflate 0 and deflate 1 always, then each
 * optional queue whose feature was negotiated, in this order. A driver that
 * takes reporting but not statistics thus puts the reporting queue at 2.
 */
static inline int balloon_role_feature(enum balloon_vq_role role)
{
	switch (role) {
	case BALLOON_VQ_STATS:		return VIRTIO_BALLOON_F_STATS_VQ;
	case BALLOON_VQ_FREE_PAGE:	return VIRTIO_BALLOON_F_FREE_PAGE_HINT;
	case BALLOON_VQ_REPORTING:	return VIRTIO_BALLOON_F_REPORTING;
	default:			return -1;	/* always present */
	}
}

static inline enum balloon_vq_role balloon_vq_role(u64 features, unsigned int idx)
{
	unsigned int r, n = 0;

	for (r = BALLOON_VQ_INFLATE; r < BALLOON_VQ_NONE; r++) {
		int f = balloon_role_feature(r);

		if (f >= 0 && !(features & (1ULL << f)))
			continue;
		if (n++ == idx)
			return r;
	}
	return BALLOON_VQ_NONE;
}

/* The index of @role's queue with @features, or -1 if it has none. */
static inline int balloon_vq_index(u64 features, enum balloon_vq_role role)
{
	unsigned int i;

	for (i = 0; i < BALLOON_VQ_NONE; i++)
		if (balloon_vq_role(features, i) == role)
			return i;
	return -1;
}

/* How many queues exist with @features. */
static inline unsigned int balloon_nr_vqs(u64 features)
{
	unsigned int n = 0;

	while (balloon_vq_role(features, n) != BALLOON_VQ_NONE)
		n++;
	return n;
}

/*
 * Memory statistics: tags 0-9 of virtio 1.x and the ones Linux added later.
 * Values are bytes for the memory tags, counts for the others.
 */
#define BALLOON_NR_STATS	16
extern const char *const balloon_stat_names[BALLOON_NR_STATS];

struct balloon_stats {
	u64 val[BALLOON_NR_STATS];
	u32 mask;		/* which tags the guest has reported */
};

/*
 * Parse a statistics buffer (packed entries of le16 tag, le64 value) into
 * @st; unknown tags and a trailing partial entry are ignored. Returns the
 * number of entries taken.
 */
unsigned int balloon_parse_stats(const u8 *buf, size_t len, struct balloon_stats *st);

/* The balloon as the control channel (lkvm stat, lkvm balloon) sees it. */
struct balloon_info {
	bool driver_ok;			/* the guest's driver is running */
	u64 features;			/* negotiated */
	u64 target_bytes;		/* num_pages: what the host asks for */
	u64 actual_bytes;		/* actual: what the guest says it gave */
	u64 inflated_pages, deflated_pages;	/* PFNs received */
	u64 inflate_freed_bytes;	/* host memory released by inflation */
	u64 reported_bytes;		/* ... by free page reporting (cumulative) */
	u64 reports;			/* reported ranges */
	u64 rejected;			/* PFNs or ranges that were not guest RAM */
	struct balloon_stats stats;
	bool have_stats;
	u64 stats_age_ms;		/* how old the last statistics are */
};

struct kvm;

/* -1 if the VM has no balloon. @refresh_ms > 0: ask for fresh statistics first. */
int balloon_get_info(struct kvm *kvm, struct balloon_info *info, int refresh_ms);
/*
 * Grow (@inflate) or shrink the balloon's target by @bytes (rounded down to
 * 4 KiB pages). Returns 0, or -1 with a reason in @err.
 */
int balloon_adjust(struct kvm *kvm, bool inflate, u64 bytes, char *err, size_t errlen);

#endif
