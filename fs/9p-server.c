// SPDX-License-Identifier: GPL-2.0
/*
 * A 9P2000.L file server for one shared host directory: the session
 * (version, attach, walk, clunk), message dispatch, and the server's life.
 * The other fs/9p-*.c files each own one part (see fs/9p-internal.h).
 *
 * Host-protection rules, enforced across those files:
 * - every host path is resolved beneath the share root without following
 *   symlinks (fs/beneath.c, fs/9p-path.c);
 * - only regular files and directories are ever opened: a client never
 *   opens a device node, FIFO or socket through the server (the Linux
 *   client handles those itself), and opening a host device could read
 *   the host's disks or memory;
 * - host pseudo filesystems (proc, sysfs, debugfs, ...) met below the root
 *   are not entered: they describe the host kernel and lkvm itself.
 * Device nodes cannot be created either (mknod of a FIFO or socket is fine).
 *
 * Ownership is passed through: what the guest creates belongs to the
 * guest's uid/gid when lkvm runs as root (so a writable share gives the
 * guest's root the host's root powers over that directory tree).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "9p-internal.h"

int p9_op_version(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 msize = in_u32(in);
	u16 len;
	const char *v = in_raw_str(in, &len);

	PARSED(in);
	if (msize < P9_MIN_MSIZE)
		return EINVAL;
	/* A new session: every fid of the old one is gone. */
	p9_server_reset(s);
	s->msize = min(msize, (u32)P9_MAX_MSIZE);
	out_u32(out, s->msize);
	if (len >= 8 && !memcmp(v, "9P2000.L", 8) && (len == 8 || v[8] == '.'))
		out_str(out, "9P2000.L");
	else
		out_str(out, "unknown");
	return 0;
}

int p9_op_attach(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), afid = in_u32(in), n_uname;
	u16 len;
	struct stat st;
	struct p9_qid q;
	int err;

	in_raw_str(in, &len);	/* uname */
	in_raw_str(in, &len);	/* aname: always the share root */
	n_uname = in_u32(in);
	PARSED(in);
	if (afid != P9_NOFID)
		return EINVAL;	/* no authentication */
	if (fstat(s->root_fd, &st) < 0)
		return errno_or(EIO);
	err = p9_fid_new(s, fid, n_uname, xstrdup("."));
	if (err)
		return err;
	p9_stat_qid(s, &st, &q);
	out_qid(out, &q);
	return 0;
}

int p9_op_walk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char names[P9_MAXWELEM][NAME_MAX + 1];
	struct p9_qid qids[P9_MAXWELEM];
	u32 fid = in_u32(in), newfid = in_u32(in);
	u16 nwname = in_u16(in), i;
	struct p9_fid *f;
	bool in_denied = false;
	char *cur;
	int err = 0;

	if (nwname > P9_MAXWELEM)
		return EINVAL;
	for (i = 0; i < nwname; i++) {
		u16 len;
		const char *n = in_raw_str(in, &len);

		if (!n)
			break;
		if (!beneath_name_ok(n, len, true) || (len == 1 && n[0] == '.'))
			return EINVAL;
		memcpy(names[i], n, len);
		names[i][len] = '\0';
	}
	PARSED(in);
	err = p9_fid_use(s, fid, FIDS_NOT_XATTR, EINVAL, false, &f);
	if (err)
		return err;
	if (newfid != fid && p9_fid_get(s, newfid))
		return EEXIST;

	cur = xstrdup(f->path);
	/*
	 * The root of a host pseudo filesystem (say /proc under a share of /)
	 * can be walked to, so that the guest can mount its own over it, but
	 * nothing below it: a step from an object on one is refused.
	 */
	if (nwname) {
		struct stat st;
		int fd = p9_open_path(s, cur);

		if (fd < 0 || fstat(fd, &st) < 0) {
			err = errno_or(ENOENT);
			if (fd >= 0)
				close(fd);
			free(cur);
			return err;
		}
		in_denied = p9_dev_denied(s, fd, &st);
		close(fd);
	}
	for (i = 0; i < nwname; i++) {
		struct stat st;
		char *next;
		int fd;

		if (in_denied && strcmp(names[i], "..")) {
			err = EACCES;
			break;
		}

		if (!strcmp(names[i], ".."))
			next = p9_path_parent(cur);	/* the root's parent is the root */
		else
			next = p9_path_join(cur, names[i]);
		if (!next) {
			err = ENAMETOOLONG;
			break;
		}
		fd = p9_open_path(s, next);
		if (fd < 0 || fstat(fd, &st) < 0) {
			err = errno_or(ENOENT);
			if (fd >= 0)
				close(fd);
			free(next);
			break;
		}
		in_denied = p9_dev_denied(s, fd, &st);
		close(fd);
		p9_stat_qid(s, &st, &qids[i]);
		free(cur);
		cur = next;
	}
	/* The first name failing is an error; a later one a short Rwalk. */
	if (nwname && !i) {
		free(cur);
		return err;
	}
	out_u16(out, i);
	for (u16 j = 0; j < i; j++)
		out_qid(out, &qids[j]);
	if (i < nwname) {
		free(cur);
		return 0;
	}
	if (newfid == fid) {
		free(f->path);
		f->path = cur;
		return 0;
	}
	return p9_fid_new(s, newfid, f->uid, cur);
}

int p9_op_clunk(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in);
	struct p9_fid *f;
	int err = 0;

	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_WRITE)
		err = p9_xattr_commit(s, f);
	p9_fid_destroy(s, fid);
	return err;
}

int p9_op_flush(struct p9_server *s __unused, struct p9_in *in,
		    struct p9_out *out __unused)
{
	in_u16(in);	/* oldtag: requests are answered in order, so it is done */
	PARSED(in);
	return 0;
}

typedef int (*p9_op)(struct p9_server *s, struct p9_in *in, struct p9_out *out);

static p9_op op_for(u8 type)
{
	switch (type) {
	case P9_TSTATFS:	return p9_op_statfs;
	case P9_TLOPEN:		return p9_op_lopen;
	case P9_TLCREATE:	return p9_op_lcreate;
	case P9_TSYMLINK:	return p9_op_symlink;
	case P9_TMKNOD:		return p9_op_mknod;
	case P9_TRENAME:	return p9_op_rename;
	case P9_TREADLINK:	return p9_op_readlink;
	case P9_TGETATTR:	return p9_op_getattr;
	case P9_TSETATTR:	return p9_op_setattr;
	case P9_TXATTRWALK:	return p9_op_xattrwalk;
	case P9_TXATTRCREATE:	return p9_op_xattrcreate;
	case P9_TREADDIR:	return p9_op_readdir;
	case P9_TFSYNC:		return p9_op_fsync;
	case P9_TLOCK:		return p9_op_lock;
	case P9_TGETLOCK:	return p9_op_getlock;
	case P9_TLINK:		return p9_op_link;
	case P9_TMKDIR:		return p9_op_mkdir;
	case P9_TRENAMEAT:	return p9_op_renameat;
	case P9_TUNLINKAT:	return p9_op_unlinkat;
	case P9_TATTACH:	return p9_op_attach;
	case P9_TFLUSH:		return p9_op_flush;
	case P9_TWALK:		return p9_op_walk;
	case P9_TREAD:		return p9_op_read;
	case P9_TWRITE:		return p9_op_write;
	case P9_TCLUNK:		return p9_op_clunk;
	case P9_TREMOVE:	return p9_op_remove;
	}
	return NULL;
}

size_t p9_server_handle(struct p9_server *s, const u8 *req, size_t req_len,
			u8 *resp, size_t resp_cap)
{
	struct p9_in in;
	struct p9_out out;
	u32 size;
	u8 type;
	u16 tag;
	int err;

	if (req_len < P9_HDR_SIZE || resp_cap < P9_HDR_SIZE + 4)
		return 0;
	size = (u32)req[0] | (u32)req[1] << 8 | (u32)req[2] << 16 | (u32)req[3] << 24;
	type = req[4];
	tag = req[5] | req[6] << 8;

	in = (struct p9_in){ .p = req + P9_HDR_SIZE };
	/* R-messages never exceed msize, nor the buffer the client gave us. */
	out = (struct p9_out){ .p = resp, .off = P9_HDR_SIZE,
			       .cap = min(resp_cap, (size_t)(s->msize ? s->msize : P9_MAX_MSIZE)) };
	if (size < P9_HDR_SIZE || size > req_len ||
	    size > (s->msize ? s->msize : P9_MAX_MSIZE)) {
		err = EINVAL;
	} else if (type == P9_TVERSION) {
		in.len = size - P9_HDR_SIZE;
		err = p9_op_version(s, &in, &out);
	} else if (!s->msize) {
		err = EPROTO;	/* Tversion first */
	} else if (type == P9_TAUTH) {
		err = EOPNOTSUPP;
	} else if (!op_for(type)) {
		err = EOPNOTSUPP;
	} else {
		in.len = size - P9_HDR_SIZE;
		errno = 0;
		err = op_for(type)(s, &in, &out);
	}
	if (!err && out.overflow)
		err = ENOBUFS;
	if (err) {
		out.overflow = false;
		out.off = P9_HDR_SIZE;
		out_u32(&out, err);
		type = P9_TLERROR;
	}
	put_le(resp, out.off, 4);
	resp[4] = type + 1;
	put_le(resp + 5, tag, 2);
	return out.off;
}

struct p9_server *p9_server_new(const char *dir, const struct p9_server_opts *opts)
{
	struct p9_server *s;
	struct statfs sf;
	struct stat st;
	int fd;

	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("9p: cannot open shared directory '%s': %s", dir, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0) {
		pr_err("9p: cannot stat '%s': %s", dir, strerror(errno));
		close(fd);
		return NULL;
	}
	if (p9_pseudo_fs(sf.f_type)) {
		pr_err("9p: '%s' is a kernel pseudo filesystem; it cannot be shared", dir);
		close(fd);
		return NULL;
	}
	s = xzalloc(sizeof(*s));
	s->root_fd = fd;
	s->readonly = opts->readonly;
	s->security = opts->security;
	s->max_open = opts->max_open ? opts->max_open : P9_MAX_FIDS;
	s->is_root = geteuid() == 0;
	s->dirbuf = xmalloc(P9_MAX_MSIZE);
	p9_dev_index(s, fd, &st);	/* devs[0]: the root's own filesystem */
	return s;
}

void p9_server_free(struct p9_server *s)
{
	if (!s)
		return;
	p9_server_reset(s);
	close(s->root_fd);
	free(s->devs);
	free(s->dirbuf);
	free(s);
}
