// SPDX-License-Identifier: GPL-2.0
/*
 * -n/--network: mode=tap[,tapif=NAME][,script=PATH][,mac=MAC][,queues=N]
 * [,vhost=on|off] adds a virtio-net NIC on a tap device; mode=user
 * [,hostfwd=tcp|udp:HOSTPORT:GUESTPORT]...[,socket=PATH][,mac=MAC] one on
 * passt; mode=none adds nothing (and is what you get without -n: lkvm
 * never adds a NIC unasked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/kvm.h"
#include "lkvm/net.h"

/* One or two hex digits per byte, bytes separated by ':', nothing after. */
static int parse_mac(const char *s, u8 mac[6])
{
	int i, d, n;

	for (i = 0; i < 6; i++) {
		if (i && *s++ != ':')
			return -1;
		mac[i] = 0;
		for (n = 0; n < 2 && (d = hex_digit(*s)) >= 0; n++, s++)
			mac[i] = mac[i] << 4 | d;
		if (!n)
			return -1;
	}
	if (*s)
		return -1;
	/* A unicast address that is not all zeroes. */
	if (mac[0] & 1 || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -1;
	return 0;
}

static int parse_port(const char *s, u16 *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* tcp:HOSTPORT:GUESTPORT or udp:HOSTPORT:GUESTPORT */
static int parse_fwd(char *val, struct net_config *nc)
{
	struct net_fwd *f = &nc->fwds[nc->nr_fwds];
	char *host, *guest;

	if (nc->nr_fwds == NET_MAX_FWDS) {
		pr_err("--network: at most %d hostfwd", NET_MAX_FWDS);
		return -1;
	}
	host = strchr(val, ':');
	guest = host ? strchr(host + 1, ':') : NULL;
	if (!guest)
		goto bad;
	*host++ = '\0';
	*guest++ = '\0';
	if (!strcmp(val, "tcp"))
		f->udp = false;
	else if (!strcmp(val, "udp"))
		f->udp = true;
	else
		goto bad;
	if (parse_port(host, &f->host_port) || parse_port(guest, &f->guest_port))
		goto bad;
	nc->nr_fwds++;
	return 0;
bad:
	pr_err("--network: hostfwd wants tcp:HOSTPORT:GUESTPORT or udp:HOSTPORT:GUESTPORT "
	       "(ports 1-65535)");
	return -1;
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
			if (!*val || strlen(val) >= 16 /* IFNAMSIZ */ ||
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
		} else if (!strcmp(tok, "vhost")) {
			if (!strcmp(val, "on")) {
				nc.vhost = NET_VHOST_ON;
			} else if (!strcmp(val, "off")) {
				nc.vhost = NET_VHOST_OFF;
			} else {
				pr_err("--network: vhost is on or off");
				goto fail;
			}
		} else if (!strcmp(tok, "hostfwd")) {
			if (parse_fwd(val, &nc))
				goto fail;
		} else if (!strcmp(tok, "socket")) {
			if (!*val) {
				pr_err("--network: socket needs a path");
				goto fail;
			}
			nc.socket = val;
		} else if (!strcmp(tok, "queues")) {
			char *end;
			long q = strtol(val, &end, 10);

			if (!*val || *end || q < 1 || q > LKVM_NET_MAX_QUEUES) {
				pr_err("--network: queues must be 1 to %d", LKVM_NET_MAX_QUEUES);
				goto fail;
			}
			nc.queues = q;
		} else {
			pr_err("--network: unknown key '%s' (use: mode, tapif, script, mac, queues, "
			       "vhost, hostfwd, socket)", tok);
			goto fail;
		}
	}
	if (!strcmp(mode, "none")) {
		free(copy);
		return 0;
	}
	if (!strcmp(mode, "user")) {
		nc.mode = NET_MODE_USER;
		if (nc.tapif || nc.script || nc.queues || nc.vhost != NET_VHOST_AUTO) {
			pr_err("--network: tapif, script, queues and vhost are for mode=tap");
			goto fail;
		}
		if (nc.socket && nc.nr_fwds) {
			pr_err("--network: hostfwd is for the passt lkvm starts, not socket=");
			goto fail;
		}
		/* Found now, so a missing passt is one line before anything starts. */
		if (!nc.socket && !(nc.passt = passt_find()))
			goto fail;
	} else if (!strcmp(mode, "tap")) {
		nc.mode = NET_MODE_TAP;
		if (nc.nr_fwds || nc.socket) {
			pr_err("--network: hostfwd and socket are for mode=user");
			goto fail;
		}
	} else {
		pr_err("--network: mode '%s' is not supported (use: tap, user, none)", mode);
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
