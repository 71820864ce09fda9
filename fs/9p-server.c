// SPDX-License-Identifier: GPL-2.0
/*
 * A 9P2000.L file server for one shared host directory.
 *
 * Fids name host objects by their path relative to the share root, kept
 * canonical (no ".", "..", empty or symlink components: ".." is resolved
 * lexically at walk time). Every operation re-resolves that path with
 * beneath_open(), which never follows a symlink and never leaves the share,
 * then acts on one final name with an *at() call that does not follow it
 * either. Operations on an object itself (chmod, truncate, xattrs, opening
 * it) go through an O_PATH descriptor of exactly the inode that was checked,
 * reopened through /proc/self/fd when /proc exists.
 *
 * Two more host-protection rules:
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lkvm/9p-server.h"
#include "lkvm/beneath.h"

#ifndef XATTR_SIZE_MAX
#define XATTR_SIZE_MAX		65536
#endif
#ifndef XATTR_NAME_MAX
#define XATTR_NAME_MAX		255
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2		452
#endif

#define FID_BUCKETS		1024
#define RREAD_HDR		(P9_HDR_SIZE + 4)
#define QID_SIZE		13

enum fid_kind {
	FID_PATH,		/* walked to, not open */
	FID_OPEN,		/* lopen/lcreate: fd is the open file or directory */
	FID_XATTR_READ,		/* xattrwalk: xbuf holds a value or a name list */
	FID_XATTR_WRITE,	/* xattrcreate: writes fill xbuf, clunk sets it */
};

struct p9_fid {
	u32 id;
	u32 uid;		/* attach's n_uname: owner of what it creates */
	enum fid_kind kind;
	char *path;		/* canonical, "." is the root */
	int fd;			/* FID_OPEN */
	int accmode;		/* FID_OPEN: O_RDONLY/O_WRONLY/O_RDWR */
	u8 *xbuf;		/* FID_XATTR_* */
	u64 xlen, xfilled;
	char *xname;
	int xflags;
	struct p9_fid *next;
};

struct dev_info {
	dev_t dev;
	bool probed;		/* fstatfs'd: @denied is known */
	bool denied;		/* a host pseudo filesystem */
};

struct p9_server {
	int root_fd;		/* O_PATH directory */
	bool readonly;
	bool is_root;		/* euid 0: pass ownership through */
	u32 msize;		/* 0 until Tversion */
	struct p9_fid *fids[FID_BUCKETS];
	unsigned int nr_fids;
	u64 xattr_bytes;	/* xbuf bytes held by fids, up to P9_XATTR_BUDGET */
	struct dev_info *devs;	/* devs[0] is the root's device */
	unsigned int nr_devs;
	u8 *dirbuf;		/* readdir scratch, P9_MAX_MSIZE bytes */
};

/* ---- message encoding ------------------------------------------------ */

struct p9_in {
	const u8 *p;
	size_t len, off;
	bool bad;		/* ran past the end, or an invalid string */
};

struct p9_out {
	u8 *p;
	size_t cap, off;
	bool overflow;
};

static const u8 *in_take(struct p9_in *in, size_t n)
{
	const u8 *p;

	if (in->bad || n > in->len - in->off) {
		in->bad = true;
		return NULL;
	}
	p = in->p + in->off;
	in->off += n;
	return p;
}

static u8 in_u8(struct p9_in *in)
{
	const u8 *p = in_take(in, 1);

	return p ? p[0] : 0;
}

static u16 in_u16(struct p9_in *in)
{
	const u8 *p = in_take(in, 2);

	return p ? (u16)(p[0] | p[1] << 8) : 0;
}

static u32 in_u32(struct p9_in *in)
{
	const u8 *p = in_take(in, 4);

	return p ? (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24 : 0;
}

static u64 in_u64(struct p9_in *in)
{
	u64 lo = in_u32(in);

	return lo | (u64)in_u32(in) << 32;
}

/* A string's bytes (not terminated) and length, bounds-checked. */
static const char *in_raw_str(struct p9_in *in, u16 *len)
{
	*len = in_u16(in);
	return (const char *)in_take(in, *len);
}

/*
 * A string copied into @buf (@cap bytes with the terminator). Embedded NULs
 * and overlong strings make the message bad.
 */
static void in_str(struct p9_in *in, char *buf, size_t cap)
{
	u16 len;
	const char *s = in_raw_str(in, &len);

	buf[0] = '\0';
	if (!s)
		return;
	if (len >= cap || memchr(s, '\0', len)) {
		in->bad = true;
		return;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
}

static u8 *out_take(struct p9_out *out, size_t n)
{
	u8 *p;

	if (out->overflow || n > out->cap - out->off) {
		out->overflow = true;
		return NULL;
	}
	p = out->p + out->off;
	out->off += n;
	return p;
}

static void out_u8(struct p9_out *out, u8 v)
{
	u8 *p = out_take(out, 1);

	if (p)
		p[0] = v;
}

static void out_u16(struct p9_out *out, u16 v)
{
	u8 *p = out_take(out, 2);

	if (p)
		put_le(p, v, 2);
}

static void out_u32(struct p9_out *out, u32 v)
{
	u8 *p = out_take(out, 4);

	if (p)
		put_le(p, v, 4);
}

static void out_u64(struct p9_out *out, u64 v)
{
	u8 *p = out_take(out, 8);

	if (p)
		put_le(p, v, 8);
}

static void out_strn(struct p9_out *out, const char *s, size_t len)
{
	u8 *p;

	if (len > 0xffff) {
		out->overflow = true;
		return;
	}
	out_u16(out, len);
	p = out_take(out, len);
	if (p)
		memcpy(p, s, len);
}

static void out_str(struct p9_out *out, const char *s)
{
	out_strn(out, s, strlen(s));
}

struct p9_qid {
	u8 type;
	u64 path;
};

static void out_qid(struct p9_out *out, const struct p9_qid *q)
{
	out_u8(out, q->type);
	out_u32(out, 0);	/* version: identity is the path alone */
	out_u64(out, q->path);
}

/* ---- devices and qids ----------------------------------------------- */

static bool pseudo_fs(long type)
{
	static const unsigned long magic[] = {
		0x9fa0,		/* proc */
		0x62656572,	/* sysfs */
		0x64626720,	/* debugfs */
		0x74726163,	/* tracefs */
		0x73636673,	/* securityfs */
		0xcafe4a11,	/* bpf */
		0x27e0eb,	/* cgroup */
		0x63677270,	/* cgroup2 */
		0xde5e81e4,	/* efivarfs */
		0x62656570,	/* configfs */
		0x6165676c,	/* pstore */
		0x65735543,	/* fusectl */
		0x42494e4d,	/* binfmt_misc */
		0xf97cff8c,	/* selinuxfs */
		0x43415d53,	/* smackfs */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(magic); i++)
		if ((unsigned long)type == magic[i])
			return true;
	return false;
}

/*
 * Index of @st's device in the table, learning it; with an @fd on it, also
 * whether it is a pseudo filesystem to stay out of.
 */
static unsigned int dev_index(struct p9_server *s, int fd, const struct stat *st)
{
	struct statfs sf;
	unsigned int i;

	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i].dev == st->st_dev)
			break;
	if (i == s->nr_devs) {
		s->devs = xrealloc(s->devs, (s->nr_devs + 1) * sizeof(*s->devs));
		s->devs[i] = (struct dev_info){ .dev = st->st_dev };
		s->nr_devs++;
	}
	if (fd >= 0 && !s->devs[i].probed && fstatfs(fd, &sf) == 0) {
		s->devs[i].probed = true;
		s->devs[i].denied = pseudo_fs(sf.f_type);
	}
	return i;
}

/* Is the object open as @fd on a filesystem the server must not serve? */
static bool dev_denied(struct p9_server *s, int fd, const struct stat *st)
{
	unsigned int i = dev_index(s, fd, st);

	return i && (s->devs[i].denied || !s->devs[i].probed);
}

/*
 * qid.path: the inode number, with the device folded into the top byte
 * for anything not on the root's filesystem so inodes of different mounts
 * do not collide.
 */
static u64 qid_path(struct p9_server *s, dev_t dev, u64 ino)
{
	struct stat st = { .st_dev = dev };
	unsigned int i = dev_index(s, -1, &st);

	if (!i)
		return ino;
	return ((u64)(i % 255 + 1) << 56) ^ ino;
}

static u8 qid_type_of_mode(mode_t mode)
{
	if (S_ISDIR(mode))
		return P9_QTDIR;
	if (S_ISLNK(mode))
		return P9_QTSYMLINK;
	return P9_QTFILE;
}

static void stat_qid(struct p9_server *s, const struct stat *st, struct p9_qid *q)
{
	q->type = qid_type_of_mode(st->st_mode);
	q->path = qid_path(s, st->st_dev, st->st_ino);
}

/* ---- fids ----------------------------------------------------------- */

static struct p9_fid **fid_slot(struct p9_server *s, u32 id)
{
	struct p9_fid **pp = &s->fids[id % FID_BUCKETS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static struct p9_fid *fid_get(struct p9_server *s, u32 id)
{
	return *fid_slot(s, id);
}

static void fid_release(struct p9_server *s, struct p9_fid *f)
{
	if (f->xbuf)
		s->xattr_bytes -= f->xlen;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->xbuf);
	free(f->xname);
	free(f);
}

/* A new fid @id for @path (taken over). Returns 0 or an errno. */
static int fid_new(struct p9_server *s, u32 id, u32 uid, char *path)
{
	struct p9_fid **pp = fid_slot(s, id), *f;

	if (id == P9_NOFID || *pp) {
		free(path);
		return id == P9_NOFID ? EINVAL : EEXIST;
	}
	if (s->nr_fids >= P9_MAX_FIDS) {
		free(path);
		return ENFILE;
	}
	f = xzalloc(sizeof(*f));
	f->id = id;
	f->uid = uid;
	f->path = path;
	f->fd = -1;
	*pp = f;
	s->nr_fids++;
	return 0;
}

static void fid_destroy(struct p9_server *s, u32 id)
{
	struct p9_fid **pp = fid_slot(s, id), *f = *pp;

	if (f) {
		*pp = f->next;
		fid_release(s, f);
		s->nr_fids--;
	}
}

/*
 * Room for an xattr value of @len bytes held by a fid? Each fid may hold
 * 64 KiB and a client may have 32768 fids: without a cap, 2 GiB of lkvm's
 * memory on a guest's request.
 */
static bool xattr_room(struct p9_server *s, u64 len)
{
	if (len > P9_XATTR_BUDGET - s->xattr_bytes)
		return false;
	s->xattr_bytes += len;
	return true;
}

unsigned int p9_server_nr_fids(const struct p9_server *s)
{
	return s->nr_fids;
}

void p9_server_reset(struct p9_server *s)
{
	unsigned int i;

	for (i = 0; i < FID_BUCKETS; i++) {
		while (s->fids[i]) {
			struct p9_fid *f = s->fids[i];

			s->fids[i] = f->next;
			fid_release(s, f);
		}
	}
	s->nr_fids = 0;
	s->msize = 0;
}

/* ---- paths ---------------------------------------------------------- */

static bool is_root_path(const char *p)
{
	return !strcmp(p, ".");
}

/* @dir + "/" + @name, or NULL (ENAMETOOLONG) when too long. */
static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (is_root_path(dir))
		return xstrdup(name);
	if (dl + 1 + nl >= PATH_MAX)
		return NULL;
	p = xmalloc(dl + nl + 2);
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

static char *path_parent(const char *p)
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
static int open_path(struct p9_server *s, const char *path)
{
	return beneath_open(s->root_fd, path, O_PATH, 0);
}

static bool dev_denied(struct p9_server *s, int fd, const struct stat *st);

/*
 * A directory to create, remove or rename entries in: never one on a host
 * pseudo filesystem (configfs, for one, creates kernel objects on mkdir).
 */
static int open_dir(struct p9_server *s, const char *path)
{
	int fd = beneath_open(s->root_fd, path, O_PATH | O_DIRECTORY, 0);
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) < 0 || dev_denied(s, fd, &st))) {
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
static int open_parent(struct p9_server *s, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (is_root_path(path) || !slash) {
		*name = path;
		return open_dir(s, ".");
	}
	*name = slash + 1;
	dir = path_parent(path);
	fd = open_dir(s, dir);
	free(dir);
	return fd;
}

/*
 * Open the exact inode behind the O_PATH @pfd (already checked to be a
 * regular file or a directory) with @flags: through /proc/self/fd, or,
 * without /proc, by resolving @path again and checking it is the same inode.
 */
static int reopen(struct p9_server *s, int pfd, const char *path,
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

/* Rename bookkeeping: fids under @from now live under @to. */
static void fids_renamed(struct p9_server *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	unsigned int i;
	struct p9_fid *f;

	for (i = 0; i < FID_BUCKETS; i++) {
		for (f = s->fids[i]; f; f = f->next) {
			size_t pl = strlen(f->path);
			char *np;

			if (pl < fl || memcmp(f->path, from, fl) ||
			    (pl > fl && f->path[fl] != '/'))
				continue;
			if (tl + pl - fl >= PATH_MAX)
				continue;	/* unreachable now; keeps failing */
			np = xmalloc(tl + pl - fl + 1);
			memcpy(np, to, tl);
			memcpy(np + tl, f->path + fl, pl - fl + 1);
			free(f->path);
			f->path = np;
		}
	}
}

/* ---- the messages --------------------------------------------------- */

/* After the last field: the message must have been exactly that long. */
#define PARSED(in)	do { if ((in)->bad || (in)->off != (in)->len) return EINVAL; } while (0)

static int errno_or(int fallback)
{
	return errno ? errno : fallback;
}

static int op_version(struct p9_server *s, struct p9_in *in, struct p9_out *out)
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

static int op_attach(struct p9_server *s, struct p9_in *in, struct p9_out *out)
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
	err = fid_new(s, fid, n_uname, xstrdup("."));
	if (err)
		return err;
	stat_qid(s, &st, &q);
	out_qid(out, &q);
	return 0;
}

static int op_walk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
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
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_READ || f->kind == FID_XATTR_WRITE)
		return EINVAL;
	if (newfid != fid && fid_get(s, newfid))
		return EEXIST;

	cur = xstrdup(f->path);
	/*
	 * The root of a host pseudo filesystem (say /proc under a share of /)
	 * can be walked to, so that the guest can mount its own over it, but
	 * nothing below it: a step from an object on one is refused.
	 */
	if (nwname) {
		struct stat st;
		int fd = open_path(s, cur);

		if (fd < 0 || fstat(fd, &st) < 0) {
			err = errno_or(ENOENT);
			if (fd >= 0)
				close(fd);
			free(cur);
			return err;
		}
		in_denied = dev_denied(s, fd, &st);
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
			next = path_parent(cur);	/* the root's parent is the root */
		else
			next = path_join(cur, names[i]);
		if (!next) {
			err = ENAMETOOLONG;
			break;
		}
		fd = open_path(s, next);
		if (fd < 0 || fstat(fd, &st) < 0) {
			err = errno_or(ENOENT);
			if (fd >= 0)
				close(fd);
			free(next);
			break;
		}
		in_denied = dev_denied(s, fd, &st);
		close(fd);
		stat_qid(s, &st, &qids[i]);
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
	return fid_new(s, newfid, f->uid, cur);
}

/* The fid's object: from its open fd, or resolved again by path. */
static int fid_stat(struct p9_server *s, struct p9_fid *f, struct stat *st)
{
	int fd, r;

	if (f->kind == FID_OPEN)
		return fstat(f->fd, st) < 0 ? errno_or(EIO) : 0;
	fd = open_path(s, f->path);
	if (fd < 0)
		return errno_or(ENOENT);
	r = fstat(fd, st) < 0 ? errno_or(EIO) : 0;
	close(fd);
	return r;
}

static int op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in);
	struct p9_fid *f;
	struct stat st;
	struct p9_qid q;
	int err;

	in_u64(in);	/* request mask: we always send the basic set */
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	err = fid_stat(s, f, &st);
	if (err)
		return err;
	stat_qid(s, &st, &q);
	out_u64(out, P9_GETATTR_BASIC);
	out_qid(out, &q);
	out_u32(out, st.st_mode);
	out_u32(out, st.st_uid);
	out_u32(out, st.st_gid);
	out_u64(out, st.st_nlink);
	out_u64(out, st.st_rdev);
	out_u64(out, st.st_size);
	out_u64(out, st.st_blksize);
	out_u64(out, st.st_blocks);
	out_u64(out, st.st_atim.tv_sec);
	out_u64(out, st.st_atim.tv_nsec);
	out_u64(out, st.st_mtim.tv_sec);
	out_u64(out, st.st_mtim.tv_nsec);
	out_u64(out, st.st_ctim.tv_sec);
	out_u64(out, st.st_ctim.tv_nsec);
	out_u64(out, 0);	/* btime */
	out_u64(out, 0);
	out_u64(out, 0);	/* gen */
	out_u64(out, 0);	/* data_version */
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
	fd = reopen(s, pfd, path, st, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return errno_or(EIO);
	r = fchmod(fd, mode) < 0 ? errno : 0;
	close(fd);
	return r;
}

static int do_setattr(struct p9_server *s, struct p9_fid *f, u32 valid, u32 mode,
		      u32 uid, u32 gid, u64 size, const struct timespec *times)
{
	const char *name;
	struct stat st;
	int pfd, dfd, fd, err = 0;

	pfd = open_path(s, f->path);
	if (pfd < 0)
		return errno_or(ENOENT);
	if (fstat(pfd, &st) < 0) {
		err = errno_or(EIO);
		goto out;
	}
	if (dev_denied(s, pfd, &st)) {
		err = EACCES;
		goto out;
	}
	if (valid & P9_ATTR_MODE) {
		if (S_ISLNK(st.st_mode)) {
			err = EOPNOTSUPP;
			goto out;
		}
		err = chmod_fd(s, pfd, f->path, &st, mode & 07777);
		if (err)
			goto out;
	}
	if (valid & (P9_ATTR_UID | P9_ATTR_GID)) {
		if (fchownat(pfd, "", valid & P9_ATTR_UID ? (uid_t)uid : (uid_t)-1,
			     valid & P9_ATTR_GID ? (gid_t)gid : (gid_t)-1,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			err = errno;
			goto out;
		}
	}
	if (valid & P9_ATTR_SIZE) {
		if (size > (u64)INT64_MAX) {
			err = EFBIG;
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			err = EISDIR;
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			err = EINVAL;
			goto out;
		}
		if (f->kind == FID_OPEN && f->accmode != O_RDONLY) {
			fd = f->fd;
		} else {
			fd = reopen(s, pfd, f->path, &st, O_WRONLY);
			if (fd < 0) {
				err = errno_or(EIO);
				goto out;
			}
		}
		if (ftruncate(fd, size) < 0)
			err = errno;
		if (fd != f->fd)
			close(fd);
		if (err)
			goto out;
	}
	if (valid & (P9_ATTR_ATIME | P9_ATTR_MTIME)) {
		dfd = open_parent(s, f->path, &name);
		if (dfd < 0) {
			err = errno_or(ENOENT);
			goto out;
		}
		if (utimensat(dfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			err = errno;
		close(dfd);
	}
	/* P9_ATTR_CTIME alone: the change time follows the other changes. */
out:
	close(pfd);
	return err;
}

static int op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in), valid = in_u32(in), mode = in_u32(in);
	u32 uid = in_u32(in), gid = in_u32(in);
	u64 size = in_u64(in), as = in_u64(in), ans = in_u64(in);
	u64 ms = in_u64(in), mns = in_u64(in);
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	struct p9_fid *f;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_READ || f->kind == FID_XATTR_WRITE)
		return EINVAL;
	if (s->readonly && (valid & ~P9_ATTR_CTIME))
		return EROFS;
	if (valid & P9_ATTR_ATIME) {
		if (valid & P9_ATTR_ATIME_SET)
			times[0] = (struct timespec){ .tv_sec = (time_t)as, .tv_nsec = (long)ans };
		else
			times[0].tv_nsec = UTIME_NOW;
	}
	if (valid & P9_ATTR_MTIME) {
		if (valid & P9_ATTR_MTIME_SET)
			times[1] = (struct timespec){ .tv_sec = (time_t)ms, .tv_nsec = (long)mns };
		else
			times[1].tv_nsec = UTIME_NOW;
	}
	/* Time values are checked by the kernel (nsec < 1e9 or UTIME_*). */
	if (((valid & P9_ATTR_ATIME_SET) && ans >= 1000000000ULL) ||
	    ((valid & P9_ATTR_MTIME_SET) && mns >= 1000000000ULL))
		return EINVAL;
	return do_setattr(s, f, valid, mode, uid, gid, size, times);
}

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
	int pfd, fd;

	pfd = open_path(s, path);
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
	if (dev_denied(s, pfd, &st)) {
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
	fd = reopen(s, pfd, path, &st, flags);
	close(pfd);
	if (fd < 0)
		return errno_or(EIO);
	*out_fd = fd;
	return 0;
}

static int op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), fl = in_u32(in);
	struct p9_fid *f;
	struct stat st;
	struct p9_qid q;
	int flags, fd, err;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind != FID_PATH)
		return EINVAL;
	flags = host_open_flags(fl);
	if (flags < 0)
		return EINVAL;
	if (s->readonly && writes(flags))
		return EROFS;
	err = open_existing(s, f->path, flags, &fd);
	if (err)
		return err;
	if (fstat(fd, &st) < 0) {
		err = errno_or(EIO);
		close(fd);
		return err;
	}
	f->kind = FID_OPEN;
	f->fd = fd;
	f->accmode = flags & O_ACCMODE;
	stat_qid(s, &st, &q);
	out_qid(out, &q);
	out_u32(out, 0);	/* iounit: msize decides */
	return 0;
}

/* Give what the guest created to its owner (when we may). */
static void set_owner(struct p9_server *s, int dfd, const char *name, u32 uid, u32 gid)
{
	if (!s->is_root)
		return;
	if (fchownat(dfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		pr_debug("9p: chown %s: %s", name, strerror(errno));
}

/* Parse a name for creation; sets in->bad when it is not a plain name. */
static void in_name(struct p9_in *in, char *buf)
{
	u16 len;
	const char *n = in_raw_str(in, &len);

	buf[0] = '\0';
	if (!n)
		return;
	if (!beneath_name_ok(n, len, false)) {
		in->bad = true;
		return;
	}
	memcpy(buf, n, len);
	buf[len] = '\0';
}

/* A directory fid: its O_PATH fd, or -1 and an errno in @err. */
static int dir_fid_fd(struct p9_server *s, u32 fid, struct p9_fid **fp, int *err)
{
	struct p9_fid *f = fid_get(s, fid);
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
	fd = open_dir(s, f->path);
	if (fd < 0)
		*err = errno_or(ENOTDIR);
	if (fp)
		*fp = f;
	return fd;
}

static int op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out)
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
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind != FID_PATH)
		return EINVAL;
	if (s->readonly)
		return EROFS;
	flags = host_open_flags(fl);
	if (flags < 0 || (flags & O_DIRECTORY))
		return EINVAL;
	path = path_join(f->path, name);
	if (!path)
		return ENAMETOOLONG;
	dfd = open_dir(s, f->path);
	if (dfd < 0) {
		free(path);
		return errno_or(ENOTDIR);
	}
	/* Create exclusively so that nothing existing is opened blindly here. */
	fd = openat(dfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    mode & 07777);
	if (fd >= 0) {
		set_owner(s, dfd, name, f->uid, gid);
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
	f->kind = FID_OPEN;
	f->fd = fd;
	f->accmode = flags & O_ACCMODE;
	stat_qid(s, &st, &q);
	out_qid(out, &q);
	out_u32(out, 0);
	return 0;
}

/* Reply with the qid of @name in @dfd (after creating it). */
static int reply_qid_at(struct p9_server *s, int dfd, const char *name, struct p9_out *out)
{
	struct stat st;
	struct p9_qid q;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno_or(EIO);
	stat_qid(s, &st, &q);
	out_qid(out, &q);
	return 0;
}

static int op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), mode, gid;
	struct p9_fid *d;
	int dfd, err;

	in_name(in, name);
	mode = in_u32(in);
	gid = in_u32(in);
	PARSED(in);
	dfd = dir_fid_fd(s, dfid, &d, &err);
	if (dfd < 0)
		return err;
	if (s->readonly)
		err = EROFS;
	else if (mkdirat(dfd, name, mode & 07777) < 0)
		err = errno;
	if (!err) {
		set_owner(s, dfd, name, d->uid, gid);
		err = reply_qid_at(s, dfd, name, out);
	}
	close(dfd);
	return err;
}

static int op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1], target[PATH_MAX];
	u32 dfid = in_u32(in), gid;
	struct p9_fid *d;
	int dfd, err;

	in_name(in, name);
	in_str(in, target, sizeof(target));
	gid = in_u32(in);
	PARSED(in);
	if (!target[0])
		return ENOENT;
	dfd = dir_fid_fd(s, dfid, &d, &err);
	if (dfd < 0)
		return err;
	/* The target is only stored: the server never follows it. */
	if (s->readonly)
		err = EROFS;
	else if (symlinkat(target, dfd, name) < 0)
		err = errno;
	if (!err) {
		set_owner(s, dfd, name, d->uid, gid);
		err = reply_qid_at(s, dfd, name, out);
	}
	close(dfd);
	return err;
}

static int op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), mode, gid;
	struct p9_fid *d;
	int dfd, err;

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
	dfd = dir_fid_fd(s, dfid, &d, &err);
	if (dfd < 0)
		return err;
	if (s->readonly)
		err = EROFS;
	else if (mknodat(dfd, name, (mode & S_IFMT) | (mode & 07777), 0) < 0)
		err = errno;
	if (!err) {
		set_owner(s, dfd, name, d->uid, gid);
		err = reply_qid_at(s, dfd, name, out);
	}
	close(dfd);
	return err;
}

static int op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char target[PATH_MAX];
	u32 fid = in_u32(in);
	struct p9_fid *f;
	ssize_t n;
	int fd, err;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	fd = open_path(s, f->path);
	if (fd < 0)
		return errno_or(ENOENT);
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

static int op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in);
	struct p9_fid *f;
	struct statfs sf;
	int fd, err;
	u64 fsid;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	fd = open_path(s, f->path);
	if (fd < 0)
		return errno_or(ENOENT);
	err = fstatfs(fd, &sf) < 0 ? errno_or(EIO) : 0;
	close(fd);
	if (err)
		return err;
	memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
	out_u32(out, sf.f_type);
	out_u32(out, sf.f_bsize);
	out_u64(out, sf.f_blocks);
	out_u64(out, sf.f_bfree);
	out_u64(out, sf.f_bavail);
	out_u64(out, sf.f_files);
	out_u64(out, sf.f_ffree);
	out_u64(out, fsid);
	out_u32(out, sf.f_namelen);
	return 0;
}

static int op_read(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), count;
	u64 off = in_u64(in);
	struct p9_fid *f;
	u8 *data;
	ssize_t n;

	count = in_u32(in);
	PARSED(in);
	f = fid_get(s, fid);
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

static int op_write(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), count;
	u64 off = in_u64(in);
	const u8 *data;
	struct p9_fid *f;
	ssize_t n;

	count = in_u32(in);
	data = in_take(in, count);
	PARSED(in);
	f = fid_get(s, fid);
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

static int op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	u32 fid = in_u32(in), count;
	u64 off = in_u64(in);
	struct p9_fid *f;
	struct stat dst;
	size_t start, used = 0;
	u8 *countp;

	count = in_u32(in);
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind != FID_OPEN)
		return EBADF;
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
			q.path = qid_path(s, dst.st_dev, d->d_ino);
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

static int op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in), datasync = in_u32(in);
	struct p9_fid *f;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f || f->kind != FID_OPEN)
		return EBADF;
	if ((datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
		return errno_or(EIO);
	return 0;
}

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
 * Byte-range locks become open file description locks on the fid's host
 * file, so they conflict with host processes and with other fids; locks
 * between processes of one guest are the guest kernel's business. Never
 * blocks: a conflict answers BLOCKED and the client retries.
 */
static int op_lock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
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
	f = fid_get(s, fid);
	if (!f || f->kind != FID_OPEN)
		return EBADF;
	if (lock_type(type, &fl.l_type) || (flags & ~(P9_LOCK_FLAGS_BLOCK | P9_LOCK_FLAGS_RECLAIM)) ||
	    start > (u64)INT64_MAX || length > (u64)INT64_MAX)
		return EINVAL;
	fl.l_start = start;
	fl.l_len = length;
	if (fcntl(f->fd, F_OFD_SETLK, &fl) == 0)
		status = P9_LOCK_SUCCESS;
	else if (errno == EAGAIN || errno == EACCES)
		status = P9_LOCK_BLOCKED;
	else
		status = P9_LOCK_ERROR;
	out_u8(out, status);
	return 0;
}

static int op_getlock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
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
	f = fid_get(s, fid);
	if (!f || f->kind != FID_OPEN)
		return EBADF;
	if (lock_type(type, &fl.l_type) || start > (u64)INT64_MAX || length > (u64)INT64_MAX)
		return EINVAL;
	fl.l_start = start;
	fl.l_len = length;
	if (fl.l_type == F_UNLCK)
		fl.l_type = F_WRLCK;	/* "is anything there?" */
	if (fcntl(f->fd, F_OFD_GETLK, &fl) < 0)
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

static int op_link(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[NAME_MAX + 1];
	u32 dfid = in_u32(in), fid = in_u32(in);
	const char *oname;
	struct p9_fid *f;
	int dfd, ofd, err;

	in_name(in, name);
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (s->readonly)
		return EROFS;
	if (is_root_path(f->path))
		return EPERM;
	dfd = dir_fid_fd(s, dfid, NULL, &err);
	if (dfd < 0)
		return err;
	ofd = open_parent(s, f->path, &oname);
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
	fids_renamed(s, opath, npath);
	return 0;
}

static int op_rename(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[NAME_MAX + 1];
	u32 fid = in_u32(in), dfid = in_u32(in);
	struct p9_fid *f, *d;
	const char *oname;
	char *opath, *npath;
	int odfd, ndfd, err;

	in_name(in, name);
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (s->readonly)
		return EROFS;
	if (is_root_path(f->path))
		return EBUSY;
	ndfd = dir_fid_fd(s, dfid, &d, &err);
	if (ndfd < 0)
		return err;
	npath = path_join(d->path, name);
	odfd = open_parent(s, f->path, &oname);
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

static int op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
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
	odfd = dir_fid_fd(s, ofid, &od, &err);
	if (odfd < 0)
		return err;
	ndfd = dir_fid_fd(s, nfid, &nd, &err);
	if (ndfd < 0)
		goto out;
	opath = path_join(od->path, oname);
	npath = path_join(nd->path, nname);
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

static int op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
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
	dfd = dir_fid_fd(s, dfid, NULL, &err);
	if (dfd < 0)
		return err;
	if (unlinkat(dfd, name, flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0) < 0)
		err = errno;
	close(dfd);
	return err;
}

/* Tremove: unlink the fid's file; the fid is clunked whatever happens. */
static int op_remove(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in);
	const char *name;
	struct p9_fid *f;
	struct stat st;
	int dfd, err = 0;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (s->readonly)
		err = EROFS;
	else if (is_root_path(f->path))
		err = EBUSY;
	if (!err) {
		dfd = open_parent(s, f->path, &name);
		if (dfd < 0) {
			err = errno_or(ENOENT);
		} else {
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
				err = errno_or(EIO);
			close(dfd);
		}
	}
	fid_destroy(s, fid);
	return err;
}

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
	if (dev_denied(s, pfd, &st)) {
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
	fd = reopen(s, pfd, path, &st, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	r = xattr_on_fd_path(fd, op, name, buf, len, flags);
	err = errno;
	close(fd);
	errno = err;
	return r;
}

static int op_xattrwalk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[XATTR_NAME_MAX + 1];
	u32 fid = in_u32(in), newfid = in_u32(in);
	struct p9_fid *f, *nf;
	u8 *buf = NULL;
	ssize_t n = -1;
	int pfd, err, tries;

	in_str(in, name, sizeof(name));
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_READ || f->kind == FID_XATTR_WRITE || newfid == fid)
		return EINVAL;
	if (fid_get(s, newfid))
		return EEXIST;
	pfd = open_path(s, f->path);
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
	if (!xattr_room(s, n)) {
		free(buf);
		return ENOMEM;
	}
	err = fid_new(s, newfid, f->uid, xstrdup(f->path));
	if (err) {
		s->xattr_bytes -= n;
		free(buf);
		return err;
	}
	nf = fid_get(s, newfid);
	nf->kind = FID_XATTR_READ;
	nf->xbuf = buf;
	nf->xlen = n;
	out_u64(out, n);
	return 0;
}

static int op_xattrcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	char name[XATTR_NAME_MAX + 1];
	u32 fid = in_u32(in), flags;
	u64 size;
	struct p9_fid *f;

	in_str(in, name, sizeof(name));
	size = in_u64(in);
	flags = in_u32(in);
	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind != FID_PATH)
		return EINVAL;
	if (s->readonly)
		return EROFS;
	if (!name[0] || (flags & ~(XATTR_CREATE | XATTR_REPLACE)))
		return EINVAL;
	if (size > XATTR_SIZE_MAX)
		return E2BIG;
	if (!xattr_room(s, size))
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

static int xattr_commit(struct p9_server *s, struct p9_fid *f)
{
	ssize_t r;
	int pfd, err;

	if (f->xfilled != f->xlen)
		return EINVAL;	/* the value never arrived whole */
	pfd = open_path(s, f->path);
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

static int op_clunk(struct p9_server *s, struct p9_in *in, struct p9_out *out __unused)
{
	u32 fid = in_u32(in);
	struct p9_fid *f;
	int err = 0;

	PARSED(in);
	f = fid_get(s, fid);
	if (!f)
		return EBADF;
	if (f->kind == FID_XATTR_WRITE)
		err = xattr_commit(s, f);
	fid_destroy(s, fid);
	return err;
}

static int op_flush(struct p9_server *s __unused, struct p9_in *in,
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
	case P9_TSTATFS:	return op_statfs;
	case P9_TLOPEN:		return op_lopen;
	case P9_TLCREATE:	return op_lcreate;
	case P9_TSYMLINK:	return op_symlink;
	case P9_TMKNOD:		return op_mknod;
	case P9_TRENAME:	return op_rename;
	case P9_TREADLINK:	return op_readlink;
	case P9_TGETATTR:	return op_getattr;
	case P9_TSETATTR:	return op_setattr;
	case P9_TXATTRWALK:	return op_xattrwalk;
	case P9_TXATTRCREATE:	return op_xattrcreate;
	case P9_TREADDIR:	return op_readdir;
	case P9_TFSYNC:		return op_fsync;
	case P9_TLOCK:		return op_lock;
	case P9_TGETLOCK:	return op_getlock;
	case P9_TLINK:		return op_link;
	case P9_TMKDIR:		return op_mkdir;
	case P9_TRENAMEAT:	return op_renameat;
	case P9_TUNLINKAT:	return op_unlinkat;
	case P9_TATTACH:	return op_attach;
	case P9_TFLUSH:		return op_flush;
	case P9_TWALK:		return op_walk;
	case P9_TREAD:		return op_read;
	case P9_TWRITE:		return op_write;
	case P9_TCLUNK:		return op_clunk;
	case P9_TREMOVE:	return op_remove;
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
		err = op_version(s, &in, &out);
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

struct p9_server *p9_server_new(const char *dir, bool readonly)
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
	if (pseudo_fs(sf.f_type)) {
		pr_err("9p: '%s' is a kernel pseudo filesystem; it cannot be shared", dir);
		close(fd);
		return NULL;
	}
	s = xzalloc(sizeof(*s));
	s->root_fd = fd;
	s->readonly = readonly;
	s->is_root = geteuid() == 0;
	s->dirbuf = xmalloc(P9_MAX_MSIZE);
	dev_index(s, fd, &st);	/* devs[0]: the root's own filesystem */
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
