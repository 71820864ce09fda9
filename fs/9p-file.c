// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: open files (Tlopen, Tlcreate), their I/O (Tread, Twrite,
 * Treaddir, Tfsync). Only regular files and directories are ever opened.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "9p-internal.h"

/* Host open(2) flags for a client's Tlopen/Tlcreate flags; -1 if invalid. */
static int host_open_flags(u32 fl)
{
	int flags;

	switch (fl & P9_DOTL_ACCMODE) {
	case P9_DOTL_RDONLY:
		flags = O_RDONLY;
		break;
	case P9_DOTL_WRONLY:
		flags = O_WRONLY;
		break;
	case P9_DOTL_RDWR:
		flags = O_RDWR;
		break;
	default:
		return -1;
	}
	if (fl & P9_DOTL_TRUNC)
		flags |= O_TRUNC;
	if (fl & P9_DOTL_APPEND)
		flags |= O_APPEND;
	if (fl & P9_DOTL_DSYNC)
		flags |= O_DSYNC;
	if (fl & P9_DOTL_SYNC)
		flags |= O_SYNC;
	if (fl & P9_DOTL_DIRECTORY)
		flags |= O_DIRECTORY;
	/*
	 * Dropped: CREATE/EXCL (Tlopen never creates; Tlcreate adds them),
	 * DIRECT (our buffers are not aligned), NOATIME (needs ownership),
	 * NONBLOCK/FASYNC/NOCTTY/CLOEXEC/LARGEFILE/NOFOLLOW (ours to decide).
	 */
	return flags;
}

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND));
}

/* Open an existing object for a fid (Tlopen, or Tlcreate of an existing name). */
static int open_existing(struct p9_server *s, const char *path, int flags, int *out_fd)
{
	struct stat st;
	int pfd, fd, err;

	pfd = p9_open_path(s, path);
	if (pfd < 0)
		return errno_or(ENOENT);
	if (fstat(pfd, &st) < 0) {
		close(pfd);
		return errno_or(EIO);
	}
	if (S_ISLNK(st.st_mode)) {
		close(pfd);
		return ELOOP;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		close(pfd);
		return EPERM;	/* never open host devices, FIFOs or sockets */
	}
	if (p9_dev_denied(s, pfd, &st)) {
		close(pfd);
		return EACCES;
	}
	if (S_ISDIR(st.st_mode) && (flags & O_ACCMODE) != O_RDONLY) {
		close(pfd);
		return EISDIR;
	}
	if (!S_ISDIR(st.st_mode) && (flags & O_DIRECTORY)) {
		close(pfd);
		return ENOTDIR;
	}
	err = writes(flags) ? p9_drop_privs(s, pfd, path, &st) : 0;
	if (err) {
		close(pfd);
		return err;
	}
	fd = p9_reopen(s, pfd, path, &st, flags);
	close(pfd);
	if (fd < 0)
		return errno_or(EIO);
	*out_fd = fd;
	return 0;
}

int p9_op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), fl = in_u32(in);
	struct p9_fid *f;
	struct stat st;
	struct p9_qid q;
	int flags, fd, err;

	err = p9_parsed_fid_use(s, in, fid, FIDS(FID_PATH), EINVAL, false, &f);
	if (err)
		return err;
	flags = host_open_flags(fl);
	if (flags < 0)
		return EINVAL;
	if (s->readonly && writes(flags))
		return EROFS;
	if (!p9_fid_open_room(s))
		return EMFILE;
	err = open_existing(s, f->path, flags, &fd);
	if (err)
		return err;
	if (fstat(fd, &st) < 0) {
		err = errno_or(EIO);
		close(fd);
		return err;
	}
	p9_fid_set_open(s, f, fd, flags & O_ACCMODE);
	p9_stat_qid(s, &st, &q);
	out_qid(out, &q);
	out_u32(out, 0);	/* iounit: msize decides */
	return 0;
}

int p9_op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	u32 fid = in_u32(in), fl, mode, gid;
	struct p9_fid *f;
	struct stat st;
	struct p9_qid q;
	char *path;
	int flags, dfd, fd, err;

	in_name(in, name);
	fl = in_u32(in);
	mode = in_u32(in);
	gid = in_u32(in);
	err = p9_parsed_fid_use(s, in, fid, FIDS(FID_PATH), EINVAL, true, &f);
	if (err)
		return err;
	if (!p9_fid_open_room(s))
		return EMFILE;	/* before creating anything */
	flags = host_open_flags(fl);
	if (flags < 0 || (flags & O_DIRECTORY))
		return EINVAL;
	path = p9_path_join(f->path, name);
	if (!path)
		return ENAMETOOLONG;
	dfd = p9_open_dir(s, f->path);
	if (dfd < 0) {
		free(path);
		return errno_or(ENOTDIR);
	}
	/* Create exclusively so that nothing existing is opened blindly here. */
	fd = openat(dfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    p9_allowed_mode(s, S_IFREG, mode));
	if (fd >= 0) {
		p9_set_owner(s, dfd, name, f->uid, gid);
	} else if (errno == EEXIST && !(fl & P9_DOTL_EXCL)) {
		err = open_existing(s, path, flags, &fd);
		if (err) {
			close(dfd);
			free(path);
			return err;
		}
	} else {
		err = errno_or(EIO);
		close(dfd);
		free(path);
		return err;
	}
	close(dfd);
	if (fstat(fd, &st) < 0) {
		err = errno_or(EIO);
		close(fd);
		free(path);
		return err;
	}
	free(f->path);
	f->path = path;
	p9_fid_set_open(s, f, fd, flags & O_ACCMODE);
	p9_stat_qid(s, &st, &q);
	out_qid(out, &q);
	out_u32(out, 0);
	return 0;
}

int p9_op_read(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), count;
	u64 off = in_u64(in);
	struct p9_fid *f;
	u8 *data;
	ssize_t n;

	count = in_u32(in);
	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f)
		return EBADF;
	/* Never answer more than the client's buffer or msize can take. */
	count = min((u64)count, (u64)(out->cap - out->off - 4));
	if (f->kind == FID_XATTR_READ) {
		u64 avail = off < f->xlen ? f->xlen - off : 0;

		count = min((u64)count, avail);
		out_u32(out, count);
		data = out_take(out, count);
		if (data && count)
			memcpy(data, f->xbuf + off, count);
		return 0;
	}
	if (f->kind != FID_OPEN || f->accmode == O_WRONLY)
		return EBADF;
	if (off > (u64)INT64_MAX)
		return EINVAL;
	out_u32(out, 0);
	data = out->p + out->off;
	do
		n = pread(f->fd, data, count, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno_or(EIO);
	put_le(data - 4, n, 4);
	out->off += n;
	return 0;
}

int p9_op_write(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), count;
	u64 off = in_u64(in);
	const u8 *data;
	struct p9_fid *f;
	ssize_t n;

	count = in_u32(in);
	data = in_take(in, count);
	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_WRITE) {
		if (off > f->xlen || count > f->xlen - off)
			return ENOSPC;
		memcpy(f->xbuf + off, data, count);
		f->xfilled = max(f->xfilled, off + count);
		out_u32(out, count);
		return 0;
	}
	if (f->kind != FID_OPEN || f->accmode == O_RDONLY)
		return EBADF;
	if (s->readonly)
		return EROFS;
	if (off > (u64)INT64_MAX)
		return EINVAL;
	do
		n = pwrite(f->fd, data, count, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno_or(EIO);
	out_u32(out, n);
	return 0;
}

int p9_op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), count;
	u64 off = in_u64(in);
	struct p9_fid *f;
	struct stat dst;
	size_t start, used = 0;
	u8 *countp;
	int err;

	count = in_u32(in);
	err = p9_parsed_fid_use(s, in, fid, FIDS(FID_OPEN), EBADF, false, &f);
	if (err)
		return err;
	if (fstat(f->fd, &dst) < 0)
		return errno_or(EIO);
	if (!S_ISDIR(dst.st_mode))
		return ENOTDIR;
	count = min((u64)count, (u64)(out->cap - out->off - 4));
	/* Offsets are the host's directory cookies (d_off), as lseek takes them. */
	if (off > (u64)INT64_MAX || lseek(f->fd, (off_t)off, SEEK_SET) < 0)
		return errno_or(EINVAL);
	countp = out_take(out, 4);
	if (!countp)
		return ENOBUFS;
	start = out->off;
	for (;;) {
		/* Read at least a page: entries that don't fit are read again next time. */
		ssize_t n = getdents64(f->fd, s->dirbuf,
				       max((size_t)count, (size_t)4096));
		ssize_t pos = 0;
		bool full = false;

		if (n < 0)
			return errno_or(EIO);
		if (n == 0)
			break;
		while (pos < n) {
			struct dirent64 *d = (struct dirent64 *)(s->dirbuf + pos);
			size_t nl = strlen(d->d_name), need = QID_SIZE + 8 + 1 + 2 + nl;
			struct p9_qid q;

			if (used + need > count) {
				full = true;
				break;
			}
			q.type = d->d_type == DT_DIR ? P9_QTDIR :
				 d->d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
			q.path = p9_qid_path(s, dst.st_dev, d->d_ino);
			out_qid(out, &q);
			out_u64(out, d->d_off);
			out_u8(out, d->d_type);
			out_strn(out, d->d_name, nl);
			used += need;
			pos += d->d_reclen;
		}
		if (full)
			break;
	}
	put_le(countp, out->off - start, 4);
	return 0;
}

int p9_op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in), datasync = in_u32(in);
	struct p9_fid *f;

	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f || f->kind != FID_OPEN)
		return EBADF;
	if ((datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
		return errno_or(EIO);
	return 0;
}
