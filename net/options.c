// SPDX-License-Identifier: GPL-2.0
/*
 * -n/--network: mode=tap[,tapif=NAME][,script=PATH][,mac=MAC][,queues=N]
 * adds a virtio-net NIC on a tap device; mode=none adds nothing (and is
 * what you get without -n: lkvm never adds a NIC unasked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/kvm.h"
#include "lkvm/net.h"

static int parse_mac(const char *s, u8 mac[6])
{
	unsigned int b[6];
	char end;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	/* A unicast address that is not all zeroes. */
	if (mac[0] & 1 || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -1;
	return 0;
}

int virtio_net_parse(struct kvm_config *cfg, const char *arg)
{
	struct net_config nc = { 0 };
	char *copy = xstrdup(arg), *tok, *save = NULL;	/* lives with the config */
	const char *mode = "tap";

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val) {
			pr_err("--network: '%s' is not key=value", tok);
			goto fail;
		}
		*val++ = '\0';
		if (!strcmp(tok, "mode")) {
			mode = val;
		} else if (!strcmp(tok, "tapif")) {
			if (!*val || strlen(val) >= sizeof(((struct tap *)0)->ifname) ||
			    strchr(val, '/') || strchr(val, ' ')) {
				pr_err("--network: bad interface name '%s'", val);
				goto fail;
			}
			nc.tapif = val;
		} else if (!strcmp(tok, "script")) {
			nc.script = strcmp(val, "none") ? val : NULL;
		} else if (!strcmp(tok, "mac")) {
			if (parse_mac(val, nc.mac)) {
				pr_err("--network: bad MAC address '%s' (want a unicast xx:xx:xx:xx:xx:xx)",
				       val);
				goto fail;
			}
			nc.mac_set = true;
		} else if (!strcmp(tok, "queues")) {
			char *end;
			long q = strtol(val, &end, 10);

			if (!*val || *end || q < 1 || q > LKVM_NET_MAX_QUEUES) {
				pr_err("--network: queues must be 1 to %d", LKVM_NET_MAX_QUEUES);
				goto fail;
			}
			nc.queues = q;
		} else {
			pr_err("--network: unknown key '%s' (use: mode, tapif, script, mac, queues)",
			       tok);
			goto fail;
		}
	}
	if (!strcmp(mode, "none")) {
		free(copy);
		return 0;
	}
	if (strcmp(mode, "tap")) {
		pr_err("--network: mode '%s' is not supported (use: tap, none; "
		       "tap needs root or CAP_NET_ADMIN)", mode);
		goto fail;
	}
	if (cfg->nr_nets == LKVM_MAX_NETS) {
		pr_err("--network: at most %d NICs", LKVM_MAX_NETS);
		goto fail;
	}
	cfg->nets[cfg->nr_nets++] = nc;
	return 0;
fail:
	free(copy);
	return -1;
}
