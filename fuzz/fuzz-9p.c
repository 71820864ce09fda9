// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the 9P2000.L server (fs/): the input's first byte
 * picks the share's options (read-only, security model), the rest is a
 * sequence of T-messages, each as long as its own size field says (or
 * the rest of the input, when that is shorter or too small), served after
 * a Tversion and a Tattach of fid 0 to the share. The share is a fresh
 * directory for each input with a file, a directory and an escaping
 * symlink in it, so one input cannot change what the next finds. Any
 * crash, sanitizer report, reply that does not say its own length, or
 * file appearing outside the share is a bug.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/9p-server.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define MSIZE		65536

static char top[64], share[96], outside[96];
static u8 msg[MSIZE], resp[MSIZE + 64];

static int rm_one(const char *p, const struct stat *st __unused, int flag __unused,
		  struct FTW *ftw __unused)
{
	remove(p);
	return 0;
}

static void make_share(void)
{
	int fd;

	nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(share, 0755) || mkdir(strcat(strcpy((char *)msg, share), "/d"), 0755))
		abort();
	fd = open(strcat(strcpy((char *)msg, share), "/f"), O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "hello\n", 6) != 6)
		abort();
	close(fd);
	if (symlink("../outside", strcat(strcpy((char *)msg, share), "/l")))
		abort();
}

static size_t put_str(u8 *p, const char *s)
{
	size_t n = strlen(s);

	put_le16(p, n);
	memcpy(p + 2, s, n);
	return 2 + n;
}

static void serve(struct p9_server *s, const u8 *m, size_t len)
{
	size_t n = p9_server_handle(s, m, len, resp, MSIZE);

	if (n > MSIZE || (n && get_le32(resp) != n))
		__builtin_trap();
}

static void remove_top(void)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct p9_server_opts opts = { .max_open = 16 };
	struct p9_server *s;
	size_t len, off;
	struct stat st;

	if (!top[0]) {
		/* tmpfs where there is one: the inputs create, write and fsync. */
		strcpy(top, "/dev/shm/lkvm-fuzz-9p-XXXXXX");
		if (!mkdtemp(top)) {
			strcpy(top, "/tmp/lkvm-fuzz-9p-XXXXXX");
			if (!mkdtemp(top))
				abort();
		}
		snprintf(share, sizeof(share), "%s/share", top);
		snprintf(outside, sizeof(outside), "%s/outside", top);
		atexit(remove_top);
	}
	if (!size)
		return 0;
	opts.readonly = data[0] & 1;
	opts.security = data[0] & 2 ? P9_SECURITY_PASSTHROUGH : P9_SECURITY_RESTRICTED;
	make_share();
	s = p9_server_new(share, &opts);
	if (!s)
		abort();

	/* Tversion msize "9P2000.L", then Tattach fid 0, no afid, "root", "". */
	len = 7;
	put_le32(msg + len, MSIZE);
	len += 4;
	len += put_str(msg + len, "9P2000.L");
	put_le32(msg, len);
	msg[4] = P9_TVERSION;
	put_le16(msg + 5, P9_NOTAG);
	serve(s, msg, len);
	len = 7;
	put_le32(msg + len, 0);
	put_le32(msg + len + 4, P9_NOFID);
	len += 8;
	len += put_str(msg + len, "root");
	len += put_str(msg + len, "");
	put_le32(msg + len, 0);
	len += 4;
	put_le32(msg, len);
	msg[4] = P9_TATTACH;
	put_le16(msg + 5, 1);
	serve(s, msg, len);

	for (off = 1; off < size; off += len) {
		len = size - off;
		if (len >= 4 && get_le32(data + off) >= P9_HDR_SIZE &&
		    get_le32(data + off) < len)
			len = get_le32(data + off);
		/* A copy: the server may keep nothing pointing into the input. */
		memcpy(msg, data + off, min(len, (size_t)MSIZE));
		serve(s, msg, min(len, (size_t)MSIZE));
	}
	p9_server_free(s);
	if (lstat(outside, &st) == 0)
		__builtin_trap();	/* the guest made a file outside its share */
	return 0;
}
