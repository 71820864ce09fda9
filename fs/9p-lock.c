// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: POSIX byte-range locks (Tlock, Tgetlock).
 *
 * On a writable share, locks become open file description locks on the
 * fid's host file, so that the guest and host processes writing the same
 * files coordinate. On a read-only share they are granted locally, never
 * taken on the host: the guest cannot change those files, so there is
 * nothing to coordinate with the host, and a host lock would let the
 * guest hold locks on any file lkvm can read (with `lkvm sandbox`, every
 * file of the host) and stall host programs that lock them. Granting
 * rather than refusing keeps programs that lock what they only read
 * (SQLite readers, for one) working; the guest kernel still orders its
 * own processes' locks, as it records every lock before asking us.
 */
#include <fcntl.h>
#include <stdint.h>

#include "9p-internal.h"

static int lock_type(u8 t, short *out)
{
	switch (t) {
	case P9_LOCK_TYPE_RDLCK:
		*out = F_RDLCK;
		return 0;
	case P9_LOCK_TYPE_WRLCK:
		*out = F_WRLCK;
		return 0;
	case P9_LOCK_TYPE_UNLCK:
		*out = F_UNLCK;
		return 0;
	}
	return -1;
}

/*
 * On a writable share, byte-range locks become open file description locks
 * on the fid's host file, so they conflict with host processes and with other fids; locks
 * between processes of one guest are the guest kernel's business. Never
 * blocks: a conflict answers BLOCKED and the client retries.
 */
int p9_op_lock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in);
	u8 type = in_u8(in);
	u32 flags = in_u32(in);
	u64 start = in_u64(in), length = in_u64(in);
	struct flock fl = { .l_whence = SEEK_SET };
	struct p9_fid *f;
	u16 len;
	u8 status;

	in_u32(in);		/* proc_id */
	in_raw_str(in, &len);	/* client_id */
	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f || f->kind != FID_OPEN)
		return EBADF;
	if (lock_type(type, &fl.l_type) || (flags & ~(P9_LOCK_FLAGS_BLOCK | P9_LOCK_FLAGS_RECLAIM)) ||
	    start > (u64)INT64_MAX || length > (u64)INT64_MAX)
		return EINVAL;
	fl.l_start = start;
	fl.l_len = length;
	if (s->readonly)
		status = P9_LOCK_SUCCESS;	/* local only: see the top */
	else if (fcntl(f->fd, F_OFD_SETLK, &fl) == 0)
		status = P9_LOCK_SUCCESS;
	else if (errno == EAGAIN || errno == EACCES)
		status = P9_LOCK_BLOCKED;
	else
		status = P9_LOCK_ERROR;
	out_u8(out, status);
	return 0;
}

int p9_op_getlock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), proc_id;
	u8 type = in_u8(in);
	u64 start = in_u64(in), length = in_u64(in);
	struct flock fl = { .l_whence = SEEK_SET };
	struct p9_fid *f;
	const char *client;
	u16 len;

	proc_id = in_u32(in);
	client = in_raw_str(in, &len);
	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f || f->kind != FID_OPEN)
		return EBADF;
	if (lock_type(type, &fl.l_type) || start > (u64)INT64_MAX || length > (u64)INT64_MAX)
		return EINVAL;
	fl.l_start = start;
	fl.l_len = length;
	if (fl.l_type == F_UNLCK)
		fl.l_type = F_WRLCK;	/* "is anything there?" */
	if (s->readonly)
		fl.l_type = F_UNLCK;	/* no host locks in the guest's view */
	else if (fcntl(f->fd, F_OFD_GETLK, &fl) < 0)
		return errno_or(EINVAL);
	if (fl.l_type == F_UNLCK) {
		out_u8(out, P9_LOCK_TYPE_UNLCK);
		out_u64(out, start);
		out_u64(out, length);
		out_u32(out, proc_id);
	} else {
		out_u8(out, fl.l_type == F_RDLCK ? P9_LOCK_TYPE_RDLCK : P9_LOCK_TYPE_WRLCK);
		out_u64(out, fl.l_start);
		out_u64(out, fl.l_len);
		out_u32(out, fl.l_pid > 0 ? (u32)fl.l_pid : 0);
	}
	out_strn(out, client, len);
	return 0;
}
