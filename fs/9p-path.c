// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: from a fid's path to a host descriptor.
 *
 * Fid paths are kept canonical (no ".", "..", empty or symlink components:
 * ".." is resolved lexically at walk time). Every operation re-resolves the
 * path with beneath_open(), which never follows a symlink and never leaves
 * the share, then acts on one final name with an *at() call that does not
 * follow it either. Operations on an object itself (chmod, truncate,
 * xattrs, opening it) go through an O_PATH descriptor of exactly the inode
 * that was checked, reopened through /proc/self/fd when /proc exists.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "9p-internal.h"

bool p9_is_root_path(const char *p)
{
	return !strcmp(p, ".");
}

/* @dir + "/" + @name, or NULL (ENAMETOOLONG) when too long. */
char *p9_path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (p9_is_root_path(dir))
		return xstrdup(name);
	if (dl + 1 + nl >= PATH_MAX)
		return NULL;
	p = xmalloc(dl + nl + 2);
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

char *p9_path_parent(const char *p)
{
	const char *slash = strrchr(p, '/');
	char *r;

	if (!slash)
		return xstrdup(".");
	r = xmalloc(slash - p + 1);
	memcpy(r, p, slash - p);
	r[slash - p] = '\0';
	return r;
}

/* O_PATH descriptor of @path (the object itself, symlinks included). */
int p9_open_path(struct p9_server *s, const char *path)
{
	return beneath_open(s->root_fd, path, O_PATH, 0);
}

/*
 * A directory to create, remove or rename entries in: never one on a host
 * pseudo filesystem (configfs, for one, creates kernel objects on mkdir).
 */
int p9_open_dir(struct p9_server *s, const char *path)
{
	int fd = beneath_open(s->root_fd, path, O_PATH | O_DIRECTORY, 0);
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) < 0 || p9_dev_denied(s, fd, &st))) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/*
 * The directory holding @path and @path's last name in it (the root is its
 * own directory, named "."). Returns the directory fd or -1 with errno.
 */
int p9_open_parent(struct p9_server *s, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (p9_is_root_path(path) || !slash) {
		*name = path;
		return p9_open_dir(s, ".");
	}
	*name = slash + 1;
	dir = p9_path_parent(path);
	fd = p9_open_dir(s, dir);
	free(dir);
	return fd;
}

/*
 * Open the exact inode behind the O_PATH @pfd (already checked to be a
 * regular file or a directory) with @flags: through /proc/self/fd, or,
 * without /proc, by resolving @path again and checking it is the same inode.
 */
int p9_reopen(struct p9_server *s, int pfd, const char *path,
		  const struct stat *st, int flags)
{
	char proc[40];
	struct stat now;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, flags | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR))
		return fd;
	fd = beneath_open(s->root_fd, path, flags | O_NOCTTY, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/* The fid's object: from its open fd, or resolved again by path. */
int p9_fid_stat(struct p9_server *s, struct p9_fid *f, struct stat *st)
{
	int fd, r;

	if (f->kind == FID_OPEN)
		return fstat(f->fd, st) < 0 ? errno_or(EIO) : 0;
	fd = p9_open_path(s, f->path);
	if (fd < 0)
		return errno_or(ENOENT);
	r = fstat(fd, st) < 0 ? errno_or(EIO) : 0;
	close(fd);
	return r;
}

/* An O_PATH descriptor of fid @id's object, or -1 and an errno in @err. */
int p9_fid_path_fd(struct p9_server *s, u32 id, int *err)
{
	struct p9_fid *f = p9_fid_get(s, id);
	int fd;

	if (!f) {
		*err = EBADF;
		return -1;
	}
	fd = p9_open_path(s, f->path);
	if (fd < 0)
		*err = errno_or(ENOENT);
	return fd;
}

/* A directory fid: its O_PATH fd, or -1 and an errno in @err. */
int p9_dir_fid_fd(struct p9_server *s, u32 fid, struct p9_fid **fp, int *err)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	int fd;

	*err = 0;
	if (!f) {
		*err = EBADF;
		return -1;
	}
	if (f->kind == FID_XATTR_READ || f->kind == FID_XATTR_WRITE) {
		*err = EINVAL;
		return -1;
	}
	fd = p9_open_dir(s, f->path);
	if (fd < 0)
		*err = errno_or(ENOTDIR);
	if (fp)
		*fp = f;
	return fd;
}
