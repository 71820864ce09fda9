/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_9P_H
#define LKVM_9P_H

#include "lkvm/9p-server.h"
#include "lkvm/util.h"

struct kvm_config;

#define LKVM_MAX_9P		16
#define LKVM_9P_TAG_MAX		64

/* One --9p HOSTDIR,TAG[,ro][,security=MODEL] share (virtio/9p.c). */
struct p9_share_config {
	const char *dir;
	const char *tag;
	bool readonly;
	enum p9_security security;	/* 0: restricted */
};

/* Parse "HOSTDIR,TAG[,ro|rw][,security=MODEL]" into the next cfg->shares_9p slot. */
int virtio_9p_parse(struct kvm_config *cfg, const char *arg);

#endif
