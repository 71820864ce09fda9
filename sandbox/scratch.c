// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox's temporary scratch directory, the guest's /tmp.
 *
 * Size: when lkvm runs as root it mounts a tmpfs of --scratch-size bytes
 * on the new directory, in a mount namespace of its own (so no other
 * process sees the mount, and it goes away with lkvm, however lkvm ends).
 * The guest then gets ENOSPC past the limit instead of filling the host's
 * disk. Without root (or without CAP_SYS_ADMIN, with a warning) there is
 * no mount, and no limit.
 *
 * Removal: whatever the guest left, including directories it made
 * unreadable (chmod 000), which rm -rf as a non-root user cannot enter:
 * every directory is made 0700 before it is read. Symlinks are never
 * followed and other file systems never entered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/sandbox.h"

#define SCRATCH_MAX_DEPTH	4096	/* deeper is left behind, not a stack overflow */

int scratch_create(char *dir, size_t len, u64 max_bytes, bool *mounted)
{
	const char *t = getenv("TMPDIR");
	char opts[64];

	*mounted = false;
	snprintf(dir, len, "%s/lkvm-sandbox.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		pr_err("sandbox: cannot create a scratch directory in %s: %s",
		       t && *t ? t : "/tmp", strerror(errno));
		return -1;
	}
	if (!max_bytes || geteuid() != 0)
		return 0;
	/*
	 * Our own copy of the mount table, taking the host's later mounts
	 * but never showing it ours (MS_SLAVE). Before any thread exists:
	 * unshare refuses a multi-threaded process.
	 */
	snprintf(opts, sizeof(opts), "size=%llu,mode=0700", (unsigned long long)max_bytes);
	/* Root without CAP_SYS_ADMIN (a container): say so, go on unlimited. */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount("lkvm-scratch", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		pr_warn("sandbox: the scratch directory has no size limit (tmpfs: %s)",
			strerror(errno));
		return 0;
	}
	*mounted = true;
	return 0;
}

static void remove_at(int dfd, const char *name, dev_t dev, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(dfd, name, 0);
		return;
	}
	if (st.st_dev == dev && depth < SCRATCH_MAX_DEPTH) {
		/* Readable, and writable for its entries to go. */
		if ((st.st_mode & 0700) != 0700)
			fchmodat(dfd, name, 0700, 0);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d && fd >= 0)
			close(fd);
		while (d && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_at(dirfd(d), de->d_name, dev, depth + 1);
		}
		if (d)
			closedir(d);
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		pr_debug("sandbox: cannot remove %s: %s", name, strerror(errno));
}

void scratch_remove(const char *dir, bool mounted)
{
	struct stat st;

	if (mounted && umount2(dir, MNT_DETACH) < 0)
		pr_debug("sandbox: cannot unmount %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) == 0)
		remove_at(AT_FDCWD, dir, st.st_dev, 0);
}
