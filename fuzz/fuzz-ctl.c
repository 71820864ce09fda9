// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the control protocol (util/ctl-proto.c): the input
 * is what a client sends as a request line, parsed as the control thread
 * does; a request that parses is formatted again and must parse back to
 * itself. The same bytes are also taken as a reply body for the JSON
 * writer of lkvm stat/list, and as a VM name. Any crash, sanitizer report
 * or round-trip mismatch is a bug.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/control.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct ctl_request req, again;
	char err[256], line[CTL_REQ_MAX + 1], *body, *name;
	int n;
	FILE *f;

	if (ctl_parse_request((const char *)data, size, &req, err, sizeof(err)) == 0) {
		n = ctl_format_request(&req, line, sizeof(line));
		if (n <= 0 || ctl_parse_request(line, n, &again, err, sizeof(err)) ||
		    again.cmd != req.cmd || again.inflate != req.inflate ||
		    again.bytes != req.bytes)
			__builtin_trap();
	} else if (!err[0] || !memchr(err, 0, sizeof(err))) {
		__builtin_trap();	/* a refusal always says why, in one string */
	}

	body = malloc(size + 1);
	memcpy(body, data, size);
	body[size] = '\0';
	f = fopen("/dev/null", "w");
	if (f) {
		ctl_reply_json(f, body);
		fclose(f);
	}
	name = body;
	if (ctl_name_valid(name) && strlen(name) > 64)
		__builtin_trap();
	free(body);
	return 0;
}
