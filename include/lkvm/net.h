/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_NET_H
#define LKVM_NET_H

#include <sys/uio.h>

#include "lkvm/util.h"

struct kvm_config;

#define LKVM_MAX_NETS		8
#define LKVM_NET_MAX_QUEUES	8	/* queue pairs per NIC */

enum net_mode { NET_MODE_TAP, NET_MODE_USER };
enum net_vhost { NET_VHOST_AUTO, NET_VHOST_ON, NET_VHOST_OFF };

#define NET_MAX_FWDS	16

/* One hostfwd=tcp|udp:HOSTPORT:GUESTPORT of mode=user. */
struct net_fwd {
	bool udp;
	u16 host_port, guest_port;
};

/*
 * One -n/--network: mode=tap[,tapif=NAME][,script=PATH][,mac=MAC][,queues=N]
 * [,vhost=on|off], or mode=user[,hostfwd=...][,socket=PATH][,mac=MAC].
 */
struct net_config {
	enum net_mode mode;
	const char *tapif;	/* NULL: the kernel names it (tapN) */
	const char *script;	/* run as `script IFNAME` once the tap exists */
	u8 mac[6];
	bool mac_set;
	int queues;		/* queue pairs; 0: one per vCPU, as the host allows */
	enum net_vhost vhost;	/* tap: serve the data queues in the kernel */
	const char *socket;	/* user: a running passt's socket, else lkvm starts one */
	const char *passt;	/* user: the passt binary found at parse time */
	struct net_fwd fwds[NET_MAX_FWDS];
	int nr_fwds;
};

/* Parse one -n argument into cfg->nets (mode=none adds nothing). */
int virtio_net_parse(struct kvm_config *cfg, const char *arg);

/*
 * The frames of one NIC come from and go to a backend: a tap (net/tap.c)
 * or passt (net/passt.c, mode=user). Frames cross this interface with the
 * 12-byte virtio-net header in front, in both directions, whatever the
 * backend does with it.
 */
#define NET_VNET_HDR_LEN	12
/* The largest frame a backend hands over: a 64 KiB GSO packet and its link headers. */
#define NET_MAX_FRAME		(65535 + 256)

struct net_backend;

struct net_backend_ops {
	/*
	 * The next frame of queue @q, header first, into @buf (room for
	 * NET_VNET_HDR_LEN + NET_MAX_FRAME): its length, 0 when none is
	 * complete yet (a backend may keep a partial frame in @buf: pass the
	 * same buffer again), or -1 when the backend is gone for good (after
	 * one message).
	 */
	ssize_t (*recv)(struct net_backend *b, int q, u8 *buf);
	/* One frame from the guest, header first, on queue @q. */
	void (*send)(struct net_backend *b, int q, const struct iovec *iov, unsigned int n);
	/* Optional: tell a tap which TUN_F_* offloads the guest can receive. */
	int (*set_offloads)(struct net_backend *b, unsigned int tun_flags);
	/* Optional: let only the first @active queues receive frames (multiqueue taps). */
	int (*set_queues)(struct net_backend *b, int active);
	/* Optional: its fd hung up (say so once; recv returns -1 from now on). */
	void (*hangup)(struct net_backend *b);
	void (*close)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	char name[16];		/* IFNAMSIZ: the tap's name, or "passt" */
	int fds[LKVM_NET_MAX_QUEUES];
	int nr_fds;		/* queue pairs actually opened */
	unsigned int offloads;	/* TUN_F_* it can pass to the guest (tap: probed) */
	bool tx_offloads;	/* takes partial checksums and GSO frames from the guest */
	bool is_tap;		/* fds are taps (vhost-net can serve them) */
	void *priv;		/* the backend's own state */
};

/* Open the backend @nc asks for with up to @queues queue pairs; -1 after a message. */
int net_backend_open(struct net_backend *b, const struct net_config *nc, int queues);

/*
 * The tap backend. A tap carries the 12-byte virtio-net header
 * (IFF_VNET_HDR) in front of every frame, in both directions. Create or
 * attach @ifname (NULL: a new tapN) with up to @queues queues (fewer when
 * the host has no IFF_MULTI_QUEUE), bring it up, run @script. Typically
 * fails without CAP_NET_ADMIN.
 */
int tap_open(struct net_backend *b, const char *ifname, int queues, const char *script);

/*
 * The passt backend (mode=user): lkvm starts passt on one end of a socket
 * pair, or connects to a running passt's socket; frames cross the stream
 * each preceded by its length, 32 bits big-endian.
 */
int passt_open(struct net_backend *b, const struct net_config *nc);
/* What passt hands the guest by DHCP; the gateway is the host's loopback. */
#define NET_USER_GUEST		"10.0.2.15"
#define NET_USER_PREFIX		"24"
#define NET_USER_GATEWAY	"10.0.2.2"
#define NET_USER_DNS		"10.0.2.3"
/* The same over an already connected stream socket @fd (taken over). */
int passt_attach(struct net_backend *b, int fd);
/* Where is passt? NULL (after one line naming the package) when it is not installed. */
const char *passt_find(void);

#endif
