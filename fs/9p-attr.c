// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: attributes (Tgetattr, Tsetattr, Tstatfs), the ownership of
 * what the guest creates, and the share's security model for modes.
 *
 * With security=restricted (the default) lkvm, usually root, must not
 * become the guest's way to privileges on the host: a setuid or setgid
 * executable left in a shared directory runs with its owner's or group's
 * rights for every host user. So the guest's modes lose S_ISUID (and
 * S_ISGID, except on directories, where it only sets the group of new
 * entries) when it creates something, an explicit chmod adding them is
 * refused with EPERM, and a host file that has them loses them before the
 * guest writes to or truncates it: what the kernel does when an
 * unprivileged user writes, which lkvm as root (CAP_FSETID) is not.
 * Ownership itself is still passed through; chown(2) clears both bits of
 * regular files anyway. Device nodes are refused in fs/9p-dir.c whatever
 * the model, xattr names in fs/9p-xattr.c.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2		452
#endif

#include "9p-internal.h"

int p9_op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in);
	struct p9_fid *f;
	struct stat st;
	struct p9_qid q;
	int err;

	in_u64(in);	/* request mask: we always send the basic set */
	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f)
		return EBADF;
	err = p9_fid_stat(s, f, &st);
	if (err)
		return err;
	p9_stat_qid(s, &st, &q);
	out_u64(out, P9_GETATTR_BASIC);
	out_qid(out, &q);
	out_u32(out, st.st_mode);
	out_u32(out, st.st_uid);
	out_u32(out, st.st_gid);
	OUT_U64S(out,
		st.st_nlink, st.st_rdev, st.st_size, st.st_blksize, st.st_blocks,
		st.st_atim.tv_sec, st.st_atim.tv_nsec, st.st_mtim.tv_sec,
		st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
		0, 0,		/* btime */
		0, 0);		/* gen, data_version */
	return 0;
}

/* chmod the inode behind the O_PATH @pfd (not a symlink). */
static int chmod_fd(struct p9_server *s, int pfd, const char *path,
		    const struct stat *st, mode_t mode)
{
	char proc[40];
	int fd, r;

	if (syscall(SYS_fchmodat2, pfd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
		return errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if (chmod(proc, mode) == 0)
		return 0;
	if (errno != ENOENT && errno != ENOTDIR)
		return errno;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return EOPNOTSUPP;
	fd = p9_reopen(s, pfd, path, st, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return errno_or(EIO);
	r = fchmod(fd, mode) < 0 ? errno : 0;
	close(fd);
	return r;
}

/* The mode bits of @mode that the guest may give an object of type @type. */
mode_t p9_allowed_mode(const struct p9_server *s, mode_t type, u32 mode)
{
	mode_t m = mode & 07777;

	if (s->security == P9_SECURITY_PASSTHROUGH)
		return m;
	return m & ~(S_ISDIR(type) ? S_ISUID : S_ISUID | S_ISGID);
}

/*
 * Before the guest writes to or truncates the host file behind @pfd:
 * clear the bits that would make it run with its owner's or group's
 * rights (S_ISGID without group execute marks mandatory locking, not a
 * privilege, and stays, as the kernel leaves it).
 */
int p9_drop_privs(struct p9_server *s, int pfd, const char *path, const struct stat *st)
{
	mode_t kill = S_ISUID | (st->st_mode & S_IXGRP ? S_ISGID : 0);

	int err;

	if (s->security == P9_SECURITY_PASSTHROUGH || !S_ISREG(st->st_mode) ||
	    !(st->st_mode & kill))
		return 0;
	err = chmod_fd(s, pfd, path, st, st->st_mode & 07777 & ~kill);
	/* Not the owner and not root: without CAP_FSETID the write clears them. */
	return err == EPERM && !s->is_root ? 0 : err;
}

/* ftruncate the regular file of @f (behind the O_PATH @pfd) to @size. */
static int truncate_fid(struct p9_server *s, struct p9_fid *f, int pfd,
			const struct stat *st, u64 size)
{
	int fd = f->fd, err;

	if (f->kind != FID_OPEN || f->accmode == O_RDONLY) {
		fd = p9_reopen(s, pfd, f->path, st, O_WRONLY);
		if (fd < 0)
			return errno_or(EIO);
	}
	err = ftruncate(fd, size) < 0 ? errno : 0;
	if (fd != f->fd)
		close(fd);
	return err;
}

static int do_setattr(struct p9_server *s, struct p9_fid *f, u32 valid, u32 mode,
		      u32 uid, u32 gid, u64 size, const struct timespec *times)
{
	const char *name;
	struct stat st;
	int pfd, dfd, err;

	pfd = p9_open_path(s, f->path);
	if (pfd < 0)
		return errno_or(ENOENT);
	err = fstat(pfd, &st) < 0 ? errno_or(EIO) : p9_dev_denied(s, pfd, &st) ? EACCES : 0;
	if (!err && (valid & P9_ATTR_MODE))
		/* setuid/setgid: see the top of this file */
		err = S_ISLNK(st.st_mode) ? EOPNOTSUPP :
		      p9_allowed_mode(s, st.st_mode, mode) != (mode & 07777) ? EPERM :
		      chmod_fd(s, pfd, f->path, &st, mode & 07777);
	if (!err && (valid & (P9_ATTR_UID | P9_ATTR_GID)) &&
	    fchownat(pfd, "", valid & P9_ATTR_UID ? (uid_t)uid : (uid_t)-1,
		     valid & P9_ATTR_GID ? (gid_t)gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		err = errno;
	if (!err && (valid & P9_ATTR_SIZE)) {
		err = size > (u64)INT64_MAX ? EFBIG : S_ISDIR(st.st_mode) ? EISDIR :
		      !S_ISREG(st.st_mode) ? EINVAL : p9_drop_privs(s, pfd, f->path, &st);
		if (!err)
			err = truncate_fid(s, f, pfd, &st, size);
	}
	if (!err && (valid & (P9_ATTR_ATIME | P9_ATTR_MTIME))) {
		dfd = p9_open_parent(s, f->path, &name);
		if (dfd < 0)
			err = errno_or(ENOENT);
		else if (utimensat(dfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			err = errno;
		if (dfd >= 0)
			close(dfd);
	}
	/* P9_ATTR_CTIME alone: the change time follows the other changes. */
	close(pfd);
	return err;
}

/* One of Tsetattr's times: unchanged, now, or the guest's value. */
static void set_time(struct timespec *t, u32 valid, u32 change, u32 given,
		     u64 sec, u64 nsec)
{
	if (!(valid & change))
		return;
	if (valid & given)
		*t = (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = (long)nsec };
	else
		t->tv_nsec = UTIME_NOW;
}

int p9_op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in), valid = in_u32(in), mode = in_u32(in);
	u32 uid = in_u32(in), gid = in_u32(in);
	u64 size = in_u64(in), as = in_u64(in), ans = in_u64(in);
	u64 ms = in_u64(in), mns = in_u64(in);
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	struct p9_fid *f;
	int err;

	/* P9_ATTR_CTIME alone changes nothing (see do_setattr). */
	err = p9_parsed_fid_use(s, in, fid, FIDS_NOT_XATTR, EINVAL, valid & ~P9_ATTR_CTIME, &f);
	if (err)
		return err;
	set_time(&times[0], valid, P9_ATTR_ATIME, P9_ATTR_ATIME_SET, as, ans);
	set_time(&times[1], valid, P9_ATTR_MTIME, P9_ATTR_MTIME_SET, ms, mns);
	/* Time values are checked by the kernel (nsec < 1e9 or UTIME_*). */
	if (((valid & P9_ATTR_ATIME_SET) && ans >= 1000000000ULL) ||
	    ((valid & P9_ATTR_MTIME_SET) && mns >= 1000000000ULL))
		return EINVAL;
	return do_setattr(s, f, valid, mode, uid, gid, size, times);
}

/* Give what the guest created to its owner (when we may). */
void p9_set_owner(struct p9_server *s, int dfd, const char *name, u32 uid, u32 gid)
{
	if (!s->is_root)
		return;
	if (fchownat(dfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		pr_debug("9p: chown %s: %s", name, strerror(errno));
}

int p9_op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in);
	struct statfs sf;
	int fd, err;
	u64 fsid;

	PARSED(in);
	fd = p9_fid_path_fd(s, fid, &err);
	if (fd < 0)
		return err;
	err = fstatfs(fd, &sf) < 0 ? errno_or(EIO) : 0;
	close(fd);
	if (err)
		return err;
	memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
	out_u32(out, sf.f_type);
	out_u32(out, sf.f_bsize);
	OUT_U64S(out,
		sf.f_blocks, sf.f_bfree, sf.f_bavail, sf.f_files, sf.f_ffree, fsid);
	out_u32(out, sf.f_namelen);
	return 0;
}
