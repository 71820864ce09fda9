// SPDX-License-Identifier: GPL-2.0
/*
 * A small static helper for the nested user-mode network cases, in L1 and
 * in L2 (busybox has no vsock client or server, nor a way to drop root):
 *
 *   nettool vsock-listen PORT        accept one AF_VSOCK connection; what
 *                                    arrives goes to stdout
 *   nettool vsock-connect CID PORT   send stdin to CID:PORT, then close
 *   nettool asuser UID GID CMD...    run CMD with those ids, no groups
 *
 * Exits 0 on success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <grp.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int copy(int from, int to)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(from, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (r > 0) {
			ssize_t w = write(to, p, r);

			if (w <= 0)
				return -1;
			p += w;
			r -= w;
		}
	}
	return r < 0 ? -1 : 0;
}

static int fail(const char *what)
{
	fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK };
	int s, c;

	if (argc == 3 && !strcmp(argv[1], "vsock-listen")) {
		sa.svm_cid = VMADDR_CID_ANY;
		sa.svm_port = atoi(argv[2]);
		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
			return fail("listen");
		c = accept(s, NULL, NULL);
		if (c < 0)
			return fail("accept");
		return copy(c, 1) ? fail("read") : 0;
	}
	if (argc == 4 && !strcmp(argv[1], "vsock-connect")) {
		sa.svm_cid = atoi(argv[2]);
		sa.svm_port = atoi(argv[3]);
		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail("connect");
		if (copy(0, s))
			return fail("write");
		shutdown(s, SHUT_WR);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "asuser")) {
		gid_t gid = atoi(argv[3]);

		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(atoi(argv[2])) < 0)
			return fail("asuser");
		execvp(argv[4], argv + 4);
		return fail(argv[4]);
	}
	fprintf(stderr, "usage: nettool vsock-listen PORT | vsock-connect CID PORT | "
		"asuser UID GID CMD...\n");
	return 1;
}
