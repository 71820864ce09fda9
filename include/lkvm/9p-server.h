/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_9P_SERVER_H
#define LKVM_9P_SERVER_H

#include "lkvm/util.h"

/*
 * A 9P2000.L file server for one shared host directory (fs/9p-*.c).
 * It knows nothing about virtio: it takes one complete T-message and writes
 * one R-message. Every field of a message comes from the guest and is
 * bounds-checked; a malformed message gets an Rlerror (EINVAL, or EPROTO
 * for an unknown type), never a crash. Every host path is resolved beneath
 * the share root (fs/beneath.c).
 *
 * Not thread-safe: a server is driven by one thread (its device's worker).
 */

#define P9_MAX_MSIZE		(512 * 1024)	/* largest msize we agree to */
#define P9_MIN_MSIZE		4096		/* smallest we accept */
#define P9_MAX_FIDS		32768		/* per server (open ones: see max_open) */
/* Bytes of xattr values held for fids (Txattrwalk, Txattrcreate), per server. */
#define P9_XATTR_BUDGET		(16 << 20)

struct p9_server;

/*
 * What a guest may do to the host through a writable share (--9p ...,security=).
 * RESTRICTED, the default, passes ownership through (as root) but keeps
 * host privileges out of the guest's reach: no setuid files, no setgid
 * files (a directory's setgid bit is allowed: it grants nothing), a write
 * or truncate clears the setuid/setgid bits of a host executable as the
 * kernel does for unprivileged writers, and only user.* and POSIX ACL
 * xattrs can be set or removed (not security.*, trusted.* or other
 * system.*). PASSTHROUGH applies the guest's modes and xattrs as they come.
 * Device nodes are never created in either.
 */
enum p9_security {
	P9_SECURITY_RESTRICTED,
	P9_SECURITY_PASSTHROUGH,
};

struct p9_server_opts {
	bool readonly;			/* refuse every modification with EROFS */
	enum p9_security security;
	/*
	 * Host descriptors that fids may hold open at once (Tlopen, Tlcreate);
	 * past it they get EMFILE, so a guest cannot exhaust lkvm's. 0: P9_MAX_FIDS.
	 */
	unsigned int max_open;
};

/* Share @dir (must be a directory). Returns NULL after a message. */
struct p9_server *p9_server_new(const char *dir, const struct p9_server_opts *opts);
void p9_server_free(struct p9_server *s);
/* Forget every fid (device reset); the share stays. */
void p9_server_reset(struct p9_server *s);

/*
 * Serve the T-message in @req (@req_len bytes available) and write the
 * R-message into @resp (at most @resp_cap bytes). Returns the R-message's
 * length, or 0 when @req is too short to hold even a header or @resp_cap
 * cannot hold an Rlerror (nothing sensible can be answered).
 */
size_t p9_server_handle(struct p9_server *s, const u8 *req, size_t req_len,
			u8 *resp, size_t resp_cap);

/* Number of fids in use, and of those holding an open host file (tests). */
unsigned int p9_server_nr_fids(const struct p9_server *s);
unsigned int p9_server_nr_open(const struct p9_server *s);

/* 9P2000.L message types (the T form; the R form is T + 1). */
enum {
	P9_TLERROR = 6,	P9_RLERROR = 7,
	P9_TSTATFS = 8,
	P9_TLOPEN = 12,
	P9_TLCREATE = 14,
	P9_TSYMLINK = 16,
	P9_TMKNOD = 18,
	P9_TRENAME = 20,
	P9_TREADLINK = 22,
	P9_TGETATTR = 24,
	P9_TSETATTR = 26,
	P9_TXATTRWALK = 30,
	P9_TXATTRCREATE = 32,
	P9_TREADDIR = 40,
	P9_TFSYNC = 50,
	P9_TLOCK = 52,
	P9_TGETLOCK = 54,
	P9_TLINK = 70,
	P9_TMKDIR = 72,
	P9_TRENAMEAT = 74,
	P9_TUNLINKAT = 76,
	P9_TVERSION = 100,
	P9_TAUTH = 102,
	P9_TATTACH = 104,
	P9_TFLUSH = 108,
	P9_TWALK = 110,
	P9_TREAD = 116,
	P9_TWRITE = 118,
	P9_TCLUNK = 120,
	P9_TREMOVE = 122,
};

#define P9_NOFID		0xffffffffU
#define P9_NOTAG		0xffff
#define P9_MAXWELEM		16
#define P9_HDR_SIZE		7	/* size[4] type[1] tag[2] */

/* qid types */
#define P9_QTDIR		0x80
#define P9_QTSYMLINK		0x02
#define P9_QTFILE		0x00

/* Tsetattr valid bits */
#define P9_ATTR_MODE		0x001
#define P9_ATTR_UID		0x002
#define P9_ATTR_GID		0x004
#define P9_ATTR_SIZE		0x008
#define P9_ATTR_ATIME		0x010
#define P9_ATTR_MTIME		0x020
#define P9_ATTR_CTIME		0x040
#define P9_ATTR_ATIME_SET	0x080
#define P9_ATTR_MTIME_SET	0x100

/* Tgetattr: the fields we fill (everything but btime, gen, data_version) */
#define P9_GETATTR_BASIC	0x7ffULL

/* Tlock */
#define P9_LOCK_TYPE_RDLCK	0
#define P9_LOCK_TYPE_WRLCK	1
#define P9_LOCK_TYPE_UNLCK	2
#define P9_LOCK_SUCCESS		0
#define P9_LOCK_BLOCKED		1
#define P9_LOCK_ERROR		2
#define P9_LOCK_FLAGS_BLOCK	1
#define P9_LOCK_FLAGS_RECLAIM	2

/* Tlopen/Tlcreate flags (the Linux client's own numbering). */
#define P9_DOTL_RDONLY		00000000
#define P9_DOTL_WRONLY		00000001
#define P9_DOTL_RDWR		00000002
#define P9_DOTL_ACCMODE		00000003
#define P9_DOTL_CREATE		00000100
#define P9_DOTL_EXCL		00000200
#define P9_DOTL_NOCTTY		00000400
#define P9_DOTL_TRUNC		00001000
#define P9_DOTL_APPEND		00002000
#define P9_DOTL_NONBLOCK	00004000
#define P9_DOTL_DSYNC		00010000
#define P9_DOTL_FASYNC		00020000
#define P9_DOTL_DIRECT		00040000
#define P9_DOTL_LARGEFILE	00100000
#define P9_DOTL_DIRECTORY	00200000
#define P9_DOTL_NOFOLLOW	00400000
#define P9_DOTL_NOATIME		01000000
#define P9_DOTL_CLOEXEC		02000000
#define P9_DOTL_SYNC		04000000

#define P9_AT_REMOVEDIR		0x200

#endif
