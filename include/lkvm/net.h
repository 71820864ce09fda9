/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_NET_H
#define LKVM_NET_H

#include <sys/uio.h>

#include "lkvm/util.h"

struct kvm_config;

#define LKVM_MAX_NETS		8
#define LKVM_NET_MAX_QUEUES	8	/* queue pairs per NIC */

/* One -n/--network mode=tap[,tapif=NAME][,script=PATH][,mac=MAC][,queues=N]. */
struct net_config {
	const char *tapif;	/* NULL: the kernel names it (tapN) */
	const char *script;	/* run as `script IFNAME` once the tap exists */
	u8 mac[6];
	bool mac_set;
	int queues;		/* queue pairs; 0: one per vCPU, as the host allows */
};

/* Parse one -n argument into cfg->nets (mode=none adds nothing). */
int virtio_net_parse(struct kvm_config *cfg, const char *arg);

/*
 * The tap backend (net/tap.c). A tap carries the 12-byte virtio-net header
 * (IFF_VNET_HDR) in front of every frame, in both directions.
 */
#define NET_VNET_HDR_LEN	12

struct tap {
	char ifname[16];	/* IFNAMSIZ */
	int fds[LKVM_NET_MAX_QUEUES];
	int nr_fds;		/* queue pairs actually opened */
	unsigned int offloads;	/* TUN_F_* the tap accepts (probed) */
};

/*
 * Create or attach @ifname (NULL: a new tapN) with up to @queues queues
 * (fewer when the host has no IFF_MULTI_QUEUE), bring it up, run @script.
 * Returns 0, or -1 after a message (typically: no CAP_NET_ADMIN).
 */
int tap_open(struct tap *t, const char *ifname, int queues, const char *script);
/* Tell the tap which TUN_F_* offloads the guest can receive. */
int tap_set_offloads(struct tap *t, unsigned int tun_flags);
/* Let only the first @active queues receive frames (multiqueue taps). */
int tap_set_queues(struct tap *t, int active);
void tap_close(struct tap *t);

#endif
