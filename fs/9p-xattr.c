// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: extended attributes. Txattrwalk reads a value (or the name
 * list) whole into a fid that Tread then serves; Txattrcreate turns a fid
 * into a buffer that Twrite fills and Tclunk sets.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef XATTR_SIZE_MAX
#define XATTR_SIZE_MAX		65536
#endif
#ifndef XATTR_NAME_MAX
#define XATTR_NAME_MAX		255
#endif

#include "9p-internal.h"

/*
 * Extended attributes of the inode behind the O_PATH @pfd: through
 * /proc/self/fd (which works for every file type), else through an open
 * descriptor for regular files and directories.
 */
enum xop { XGET, XLIST, XSET, XREMOVE };

/* One xattr operation on the file a /proc/self/fd/N path names. */
static ssize_t xattr_on_fd_path(int fd, enum xop op, const char *name, void *buf,
				size_t len, int flags)
{
	char proc[40];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	switch (op) {
	case XGET:
		return getxattr(proc, name, buf, len);
	case XLIST:
		return listxattr(proc, buf, len);
	case XSET:
		return setxattr(proc, name, buf, len, flags);
	default:
		return removexattr(proc, name);
	}
}

static ssize_t xattr_op(struct p9_server *s, int pfd, const char *path, enum xop op,
			const char *name, void *buf, size_t len, int flags)
{
	struct stat st;
	ssize_t r;
	int fd, err;

	if (fstat(pfd, &st) < 0)
		return -1;
	if (p9_dev_denied(s, pfd, &st)) {
		errno = EACCES;
		return -1;
	}
	r = xattr_on_fd_path(pfd, op, name, buf, len, flags);
	if (r >= 0 || (errno != ENOENT && errno != ENOTDIR))
		return r;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	fd = p9_reopen(s, pfd, path, &st, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	r = xattr_on_fd_path(fd, op, name, buf, len, flags);
	err = errno;
	close(fd);
	errno = err;
	return r;
}

int p9_op_xattrwalk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[XATTR_NAME_MAX + 1];
	u32 fid = in_u32(in), newfid = in_u32(in);
	struct p9_fid *f, *nf;
	u8 *buf = NULL;
	ssize_t n = -1;
	int pfd, err, tries;

	in_str(in, name, sizeof(name));
	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_READ || f->kind == FID_XATTR_WRITE || newfid == fid)
		return EINVAL;
	if (p9_fid_get(s, newfid))
		return EEXIST;
	pfd = p9_open_path(s, f->path);
	if (pfd < 0)
		return errno_or(ENOENT);
	/* Size, then value; the value may grow in between (ERANGE): retry. */
	for (tries = 0; tries < 3; tries++) {
		n = xattr_op(s, pfd, f->path, name[0] ? XGET : XLIST, name, NULL, 0, 0);
		if (n < 0)
			break;
		if (n > XATTR_SIZE_MAX) {
			errno = E2BIG;
			n = -1;
			break;
		}
		free(buf);
		buf = xmalloc(n ? n : 1);
		if (!n)
			break;
		n = xattr_op(s, pfd, f->path, name[0] ? XGET : XLIST, name, buf, n, 0);
		if (n >= 0 || errno != ERANGE)
			break;
	}
	err = n < 0 ? errno_or(EIO) : 0;
	close(pfd);
	if (err) {
		free(buf);
		return err;
	}
	if (!p9_xattr_room(s, n)) {
		free(buf);
		return ENOMEM;
	}
	err = p9_fid_new(s, newfid, f->uid, xstrdup(f->path));
	if (err) {
		s->xattr_bytes -= n;
		free(buf);
		return err;
	}
	nf = p9_fid_get(s, newfid);
	nf->kind = FID_XATTR_READ;
	nf->xbuf = buf;
	nf->xlen = n;
	out_u64(out, n);
	return 0;
}

/*
 * May the guest set or remove the xattr @name? Under security=restricted
 * only the user.* namespace and POSIX ACLs: security.* holds file
 * capabilities (security.capability makes a program privileged for every
 * host user) and LSM labels, trusted.* is the host's root-only metadata
 * (overlayfs keeps its whiteouts and redirects there), and the rest of
 * system.* belongs to filesystems. Reading them all stays possible.
 */
static bool xattr_settable(const struct p9_server *s, const char *name)
{
	if (s->security == P9_SECURITY_PASSTHROUGH)
		return true;
	return !strncmp(name, "user.", 5) || !strcmp(name, "system.posix_acl_access") ||
	       !strcmp(name, "system.posix_acl_default");
}

int p9_op_xattrcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[XATTR_NAME_MAX + 1];
	u32 fid = in_u32(in), flags;
	u64 size;
	struct p9_fid *f;
	int err;

	in_str(in, name, sizeof(name));
	size = in_u64(in);
	flags = in_u32(in);
	err = p9_parsed_fid_use(s, in, fid, FIDS(FID_PATH), EINVAL, true, &f);
	if (err)
		return err;
	if (!name[0] || (flags & ~(XATTR_CREATE | XATTR_REPLACE)))
		return EINVAL;
	if (!xattr_settable(s, name))
		return EPERM;
	if (size > XATTR_SIZE_MAX)
		return E2BIG;
	if (!p9_xattr_room(s, size))
		return ENOMEM;
	/* The fid now collects the value; Tclunk sets it (size 0: removes it). */
	f->kind = FID_XATTR_WRITE;
	f->xbuf = xzalloc(size ? size : 1);
	f->xlen = size;
	f->xfilled = 0;
	f->xname = xstrdup(name);
	f->xflags = flags;
	return 0;
}

int p9_xattr_commit(struct p9_server *s, struct p9_fid *f)
{
	ssize_t r;
	int pfd, err;

	if (f->xfilled != f->xlen)
		return EINVAL;	/* the value never arrived whole */
	pfd = p9_open_path(s, f->path);
	if (pfd < 0)
		return errno_or(ENOENT);
	if (f->xlen)
		r = xattr_op(s, pfd, f->path, XSET, f->xname, f->xbuf, f->xlen, f->xflags);
	else
		r = xattr_op(s, pfd, f->path, XREMOVE, f->xname, NULL, 0, 0);
	err = r < 0 ? errno_or(EIO) : 0;
	close(pfd);
	return err;
}
