/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FS_9P_INTERNAL_H
#define LKVM_FS_9P_INTERNAL_H
/*
 * What the files of the 9P server share (fs/9p-*.c); include/lkvm/9p-server.h
 * is its interface to the rest of lkvm.
 *
 *   9p-wire.h    message encoding            9p-server.c  session, dispatch
 *   9p-qid.c     devices and qids            9p-file.c    open, I/O, readdir
 *   9p-fid.c     the fid table               9p-attr.c    attributes, ownership
 *   9p-path.c    fid paths -> host fds       9p-dir.c     names: create, link, rename
 *   9p-lock.c    byte-range locks            9p-xattr.c   extended attributes
 */
#include <errno.h>
#include <sys/stat.h>

#include "9p-wire.h"

#define FID_BUCKETS		1024

enum fid_kind {
	FID_PATH,		/* walked to, not open */
	FID_OPEN,		/* lopen/lcreate: fd is the open file or directory */
	FID_XATTR_READ,		/* xattrwalk: xbuf holds a value or a name list */
	FID_XATTR_WRITE,	/* xattrcreate: writes fill xbuf, clunk sets it */
};

/* Sets of fid kinds, for p9_fid_use(). */
#define FIDS(kind)		(1U << (kind))
#define FIDS_NOT_XATTR		(FIDS(FID_PATH) | FIDS(FID_OPEN))

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
	enum p9_security security;
	bool is_root;		/* euid 0: pass ownership through */
	u32 msize;		/* 0 until Tversion */
	struct p9_fid *fids[FID_BUCKETS];
	unsigned int nr_fids;
	unsigned int nr_open, max_open;	/* FID_OPEN fids, each holding a host fd */
	u64 xattr_bytes;	/* xbuf bytes held by fids, up to P9_XATTR_BUDGET */
	struct dev_info *devs;	/* devs[0] is the root's device */
	unsigned int nr_devs;
	u8 *dirbuf;		/* readdir scratch, P9_MAX_MSIZE bytes */
};

/* The errno of a failed call, or @fallback when it left none. */
static inline int errno_or(int fallback)
{
	return errno ? errno : fallback;
}

/* 9p-qid.c */
bool p9_pseudo_fs(long type);
unsigned int p9_dev_index(struct p9_server *s, int fd, const struct stat *st);
bool p9_dev_denied(struct p9_server *s, int fd, const struct stat *st);
u64 p9_qid_path(struct p9_server *s, dev_t dev, u64 ino);
void p9_stat_qid(struct p9_server *s, const struct stat *st, struct p9_qid *q);

/* 9p-fid.c */
struct p9_fid *p9_fid_get(struct p9_server *s, u32 id);
int p9_fid_new(struct p9_server *s, u32 id, u32 uid, char *path);
int p9_fid_use(struct p9_server *s, u32 id, unsigned int kinds, int bad_kind,
	       bool modifies, struct p9_fid **fp);
int p9_parsed_fid_use(struct p9_server *s, const struct p9_in *in, u32 id,
		      unsigned int kinds, int bad_kind, bool modifies, struct p9_fid **fp);
void p9_fid_destroy(struct p9_server *s, u32 id);
bool p9_fid_open_room(const struct p9_server *s);
void p9_fid_set_open(struct p9_server *s, struct p9_fid *f, int fd, int accmode);
bool p9_xattr_room(struct p9_server *s, u64 len);
void p9_fids_renamed(struct p9_server *s, const char *from, const char *to);

/* 9p-path.c */
bool p9_is_root_path(const char *p);
char *p9_path_join(const char *dir, const char *name);
char *p9_path_parent(const char *p);
int p9_open_path(struct p9_server *s, const char *path);
int p9_open_dir(struct p9_server *s, const char *path);
int p9_open_parent(struct p9_server *s, const char *path, const char **name);
int p9_reopen(struct p9_server *s, int pfd, const char *path,
	      const struct stat *st, int flags);
int p9_fid_stat(struct p9_server *s, struct p9_fid *f, struct stat *st);
int p9_fid_path_fd(struct p9_server *s, u32 id, int *err);
int p9_dir_fid_fd(struct p9_server *s, u32 fid, struct p9_fid **fp, int *err);

/* 9p-attr.c */
mode_t p9_allowed_mode(const struct p9_server *s, mode_t type, u32 mode);
int p9_drop_privs(struct p9_server *s, int pfd, const char *path, const struct stat *st);
void p9_set_owner(struct p9_server *s, int dfd, const char *name, u32 uid, u32 gid);

/* 9p-xattr.c */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f);

/* The handlers: parse the T-message body in @in, write the R-message body. */
#define P9_OP(name) \
	int p9_op_##name(struct p9_server *s, struct p9_in *in, struct p9_out *out)
P9_OP(version);	P9_OP(attach);	P9_OP(walk);	P9_OP(clunk);	P9_OP(flush);
P9_OP(getattr);	P9_OP(setattr);	P9_OP(statfs);
P9_OP(lopen);	P9_OP(lcreate);	P9_OP(read);	P9_OP(write);	P9_OP(readdir);
P9_OP(fsync);	P9_OP(lock);	P9_OP(getlock);
P9_OP(mkdir);	P9_OP(symlink);	P9_OP(mknod);	P9_OP(readlink);
P9_OP(link);	P9_OP(rename);	P9_OP(renameat); P9_OP(unlinkat); P9_OP(remove);
P9_OP(xattrwalk); P9_OP(xattrcreate);
#undef P9_OP

#endif
