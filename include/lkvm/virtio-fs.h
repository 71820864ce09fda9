/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_FS_H
#define LKVM_VIRTIO_FS_H

#include <sys/types.h>

#include "lkvm/util.h"

struct kvm_config;

#define LKVM_MAX_VIRTIO_FS	8
#define VIRTIO_FS_TAG_MAX	36	/* struct virtio_fs_config's tag[] */

/*
 * One --virtio-fs: DIR,TAG[,ro] (lkvm starts virtiofsd on DIR) or
 * socket=PATH,tag=TAG (a back end already listening at PATH).
 */
struct vfs_config {
	const char *dir;
	const char *socket;
	const char *tag;
	bool readonly;
};

/* Parse one --virtio-fs argument into the next cfg->vfs slot. */
int virtio_fs_parse(struct kvm_config *cfg, const char *arg);

/* The two virtiofsd command lines there are (virtio/virtiofsd.c). */
enum virtiofsd_kind {
	VIRTIOFSD_NONE,
	VIRTIOFSD_C,		/* QEMU's (<= 7.2): --socket-path, -o source=DIR, root only */
	VIRTIOFSD_RUST,		/* the Rust one: --socket-path, --shared-dir DIR */
};

/* The listening socket lkvm hands the daemon (--fd=3). */
#define VIRTIOFSD_LISTEN_FD	3

struct virtiofsd {
	enum virtiofsd_kind kind;
	bool has_readonly;	/* the Rust one's --readonly */
	bool chroot;		/* sandbox by chroot: / is the initramfs (no pivot_root) */
	/*
	 * lkvm's --user: the daemon runs as @uid:@gid, as root of a user
	 * namespace of its own (set by the caller after virtiofsd_find()).
	 */
	bool as_user;
	uid_t uid;
	gid_t gid;
	char path[4096];	/* the program */
	char dir[64];		/* private directory holding the socket */
	char socket[108];	/* sizeof(sun_path) */
	int conn;		/* lkvm's connection to it, once started */
	pid_t pid;
	/* Its command line's options with values (virtiofsd_argv()). */
	char src_opt[4200];
};

/*
 * Find virtiofsd: $LKVM_VIRTIOFSD, else PATH, /usr/libexec, /usr/lib/qemu;
 * the kind is read from its --help, never from where it was found.
 * Returns 0, or -1 (quietly: callers decide whether that is an error).
 */
int virtiofsd_find(struct virtiofsd *d);
/* Classify @help (a virtiofsd's --help output). */
enum virtiofsd_kind virtiofsd_kind_of(const char *help, bool *has_readonly);
/*
 * Build @d's argument vector for sharing @dir (at most @max entries,
 * NULL-terminated). Returns the count.
 */
int virtiofsd_argv(struct virtiofsd *d, const char *dir, bool readonly,
		   const char **argv, int max);
/*
 * Start it on a listening socket lkvm makes in a new private directory and
 * connect to it (d->conn). A daemon that cannot be started says why in one
 * line: -1.
 */
int virtiofsd_start(struct virtiofsd *d, const char *dir, bool readonly);
/*
 * Stop it (SIGTERM, then SIGKILL) and remove its directory. @conn (or NULL):
 * the vhost-user connection to it, closed (and set to -1) first when the
 * daemon may not be signalled, since it then ends on the hang-up.
 */
void virtiofsd_stop(struct virtiofsd *d, int *conn);

#endif
