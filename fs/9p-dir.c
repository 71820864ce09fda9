// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: names in directories: creating (Tmkdir, Tsymlink, Tmknod),
 * reading a symlink, linking, renaming and removing. Each acts on one name
 * in a directory opened beneath the share, with an *at() call that does
 * not follow it.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "9p-internal.h"

/* Reply with the qid of @name in @dfd (after creating it). */
static int reply_qid_at(struct p9_server *s, int dfd, const char *name, struct p9_out *out)
{
	struct stat st;
	struct p9_qid q;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno_or(EIO);
	p9_stat_qid(s, &st, &q);
	out_qid(out, &q);
	return 0;
}

/* What Tmkdir, Tsymlink and Tmknod create. */
struct new_entry {
	mode_t type;		/* S_IFDIR, S_IFLNK, or mknod's (0: a regular file) */
	u32 mode;		/* the guest's, before p9_allowed_mode() */
	const char *target;	/* S_IFLNK */
};

/* Create @name in the directory fid @dfid, give it to its owner, reply with its qid. */
static int create_entry(struct p9_server *s, u32 dfid, const char *name, u32 gid,
			const struct new_entry *e, struct p9_out *out)
{
	struct p9_fid *d;
	int dfd, err, r;

	dfd = p9_dir_fid_fd(s, dfid, &d, &err);
	if (dfd < 0)
		return err;
	if (s->readonly) {
		err = EROFS;
	} else {
		if (S_ISDIR(e->type))
			r = mkdirat(dfd, name, p9_allowed_mode(s, S_IFDIR, e->mode));
		else if (S_ISLNK(e->type))	/* only stored: the server never follows it */
			r = symlinkat(e->target, dfd, name);
		else
			r = mknodat(dfd, name, e->type | p9_allowed_mode(s, e->type, e->mode), 0);
		err = r < 0 ? errno : 0;
	}
	if (!err) {
		p9_set_owner(s, dfd, name, d->uid, gid);
		err = reply_qid_at(s, dfd, name, out);
	}
	close(dfd);
	return err;
}

int p9_op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), mode, gid;

	in_name(in, name);
	mode = in_u32(in);
	gid = in_u32(in);
	PARSED(in);
	return create_entry(s, dfid, name, gid, &(struct new_entry){ S_IFDIR, mode }, out);
}

int p9_op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1], target[PATH_MAX];
	u32 dfid = in_u32(in), gid;

	in_name(in, name);
	in_str(in, target, sizeof(target));
	gid = in_u32(in);
	PARSED(in);
	if (!target[0])
		return ENOENT;
	return create_entry(s, dfid, name, gid,
			    &(struct new_entry){ .type = S_IFLNK, .target = target }, out);
}

int p9_op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), mode, gid;

	in_name(in, name);
	mode = in_u32(in);
	in_u32(in);	/* major */
	in_u32(in);	/* minor */
	gid = in_u32(in);
	PARSED(in);
	switch (mode & S_IFMT) {
	case 0:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		/* A device node in a host directory could expose host devices. */
		return EPERM;
	default:
		return EINVAL;
	}
	return create_entry(s, dfid, name, gid, &(struct new_entry){ mode & S_IFMT, mode }, out);
}

int p9_op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char target[PATH_MAX];
	u32 fid = in_u32(in);
	ssize_t n;
	int fd, err;

	PARSED(in);
	fd = p9_fid_path_fd(s, fid, &err);
	if (fd < 0)
		return err;
	n = readlinkat(fd, "", target, sizeof(target));
	err = n < 0 ? errno_or(EINVAL) : 0;
	close(fd);
	if (err)
		return err;
	if ((size_t)n >= sizeof(target))
		return ENAMETOOLONG;
	out_strn(out, target, n);
	return 0;
}

/*
 * What Tlink and Trename work on: the fid @id of an object on a writable
 * share (EROFS) that is not the share's root (@root_err), and the
 * directory fid @dfid, returned open (or -1 with *@err).
 */
static int object_and_dir(struct p9_server *s, u32 id, int root_err, u32 dfid,
			  struct p9_fid **fp, struct p9_fid **dp, int *err)
{
	*err = p9_fid_use(s, id, ~0U, 0, true, fp);
	if (!*err && p9_is_root_path((*fp)->path))
		*err = root_err;
	return *err ? -1 : p9_dir_fid_fd(s, dfid, dp, err);
}

int p9_op_link(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), fid = in_u32(in);
	const char *oname;
	struct p9_fid *f;
	int dfd, ofd, err;

	in_name(in, name);
	PARSED(in);
	dfd = object_and_dir(s, fid, EPERM, dfid, &f, NULL, &err);
	if (dfd < 0)
		return err;
	ofd = p9_open_parent(s, f->path, &oname);
	if (ofd < 0) {
		err = errno_or(ENOENT);
	} else {
		/* No AT_SYMLINK_FOLLOW: a symlink is linked, never its target. */
		if (linkat(ofd, oname, dfd, name, 0) < 0)
			err = errno;
		close(ofd);
	}
	close(dfd);
	return err;
}

static int do_rename(struct p9_server *s, int odfd, const char *opath,
		     const char *oname, int ndfd, const char *npath, const char *nname)
{
	if (renameat(odfd, oname, ndfd, nname) < 0)
		return errno_or(EIO);
	p9_fids_renamed(s, opath, npath);
	return 0;
}

int p9_op_rename(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[NAME_MAX + 1];
	u32 fid = in_u32(in), dfid = in_u32(in);
	struct p9_fid *f, *d;
	const char *oname;
	char *opath, *npath;
	int odfd, ndfd, err;

	in_name(in, name);
	PARSED(in);
	ndfd = object_and_dir(s, fid, EBUSY, dfid, &f, &d, &err);
	if (ndfd < 0)
		return err;
	npath = p9_path_join(d->path, name);
	odfd = p9_open_parent(s, f->path, &oname);
	if (!npath) {
		err = ENAMETOOLONG;
	} else if (odfd < 0) {
		err = errno_or(ENOENT);
	} else {
		opath = xstrdup(f->path);	/* f->path changes in do_rename */
		err = do_rename(s, odfd, opath, oname, ndfd, npath, name);
		free(opath);
	}
	if (odfd >= 0)
		close(odfd);
	close(ndfd);
	free(npath);
	return err;
}

int p9_op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
	u32 ofid = in_u32(in), nfid;
	struct p9_fid *od, *nd;
	char *opath = NULL, *npath = NULL;
	int odfd, ndfd = -1, err;

	in_name(in, oname);
	nfid = in_u32(in);
	in_name(in, nname);
	PARSED(in);
	if (s->readonly)
		return EROFS;
	odfd = p9_dir_fid_fd(s, ofid, &od, &err);
	if (odfd < 0)
		return err;
	ndfd = p9_dir_fid_fd(s, nfid, &nd, &err);
	if (ndfd < 0)
		goto out;
	opath = p9_path_join(od->path, oname);
	npath = p9_path_join(nd->path, nname);
	if (!opath || !npath)
		err = ENAMETOOLONG;
	else
		err = do_rename(s, odfd, opath, oname, ndfd, npath, nname);
out:
	free(opath);
	free(npath);
	if (ndfd >= 0)
		close(ndfd);
	close(odfd);
	return err;
}

int p9_op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), flags;
	int dfd, err;

	in_name(in, name);
	flags = in_u32(in);
	PARSED(in);
	if (flags & ~P9_AT_REMOVEDIR)
		return EINVAL;
	if (s->readonly)
		return EROFS;
	dfd = p9_dir_fid_fd(s, dfid, NULL, &err);
	if (dfd < 0)
		return err;
	if (unlinkat(dfd, name, flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0) < 0)
		err = errno;
	close(dfd);
	return err;
}

/* Tremove: unlink the fid's file; the fid is clunked whatever happens. */
int p9_op_remove(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in);
	const char *name;
	struct p9_fid *f;
	struct stat st;
	int dfd, err = 0;

	PARSED(in);
	f = p9_fid_get(s, fid);
	if (!f)
		return EBADF;
	if (s->readonly)
		err = EROFS;
	else if (p9_is_root_path(f->path))
		err = EBUSY;
	if (!err) {
		dfd = p9_open_parent(s, f->path, &name);
		if (dfd < 0) {
			err = errno_or(ENOENT);
		} else {
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
				err = errno_or(EIO);
			close(dfd);
		}
	}
	p9_fid_destroy(s, fid);
	return err;
}
