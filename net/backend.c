// SPDX-License-Identifier: GPL-2.0
/* The one place that picks a NIC's backend from its -n mode. */
#include "lkvm/net.h"

int net_backend_open(struct net_backend *b, const struct net_config *nc, int queues)
{
	if (nc->mode == NET_MODE_USER)
		return passt_open(b, nc);
	return tap_open(b, nc->tapif, queues, nc->script);
}
