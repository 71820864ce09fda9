// SPDX-License-Identifier: GPL-2.0
/*
 * Confined opens for the 9P server: every host path a guest names is
 * resolved beneath the share root without following symbolic links (see
 * include/lkvm/beneath.h for the rules and why).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lkvm/beneath.h"

#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH		0x08
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS	0x02
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS	0x04
#endif

/* 1: openat2 works, 0: not probed yet, -1: use the component walk. */
static atomic_int have_openat2;

void beneath_force_fallback(bool on)
{
	atomic_store(&have_openat2, on ? -1 : 0);
}

bool beneath_uses_openat2(void)
{
	return atomic_load(&have_openat2) > 0;
}

bool beneath_name_ok(const char *name, size_t len, bool allow_dots)
{
	if (!len || len > NAME_MAX || memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	if (!allow_dots && ((len == 1 && name[0] == '.') ||
			    (len == 2 && name[0] == '.' && name[1] == '.')))
		return false;
	return true;
}

/* Is @path canonical: "." or components that are not empty, "." or ".."? */
static bool path_ok(const char *path)
{
	const char *p = path, *slash;

	if (!strcmp(path, "."))
		return true;
	if (strlen(path) >= PATH_MAX)
		return false;
	for (;;) {
		slash = strchr(p, '/');
		if (!beneath_name_ok(p, slash ? (size_t)(slash - p) : strlen(p), false))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static int open_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *slash;
	struct stat st;
	int dir = root_fd, fd, err;

	if (!strcmp(path, "."))
		return openat(root_fd, ".", flags, mode);
	while ((slash = strchr(p, '/'))) {
		size_t len = slash - p;

		memcpy(comp, p, len);
		comp[len] = '\0';
		/* An intermediate symlink fails here: O_DIRECTORY without following. */
		fd = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = errno;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
			close(fd);
			fd = -1;
			err = ENOTDIR;
		}
		if (dir != root_fd)
			close(dir);
		if (fd < 0) {
			errno = err;
			return -1;
		}
		dir = fd;
		p = slash + 1;
	}
	fd = openat(dir, p, flags, mode);
	err = errno;
	if (dir != root_fd)
		close(dir);
	errno = err;
	return fd;
}

static int open_openat2(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (u64)flags,
		/* openat2 refuses a mode without O_CREAT/O_TMPFILE. */
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

int beneath_open(int root_fd, const char *path, int flags, mode_t mode)
{
	int fd, state;

	if (!path_ok(path)) {
		errno = EINVAL;
		return -1;
	}
	flags |= O_NOFOLLOW | O_CLOEXEC;
	state = atomic_load(&have_openat2);
	if (state >= 0) {
		fd = open_openat2(root_fd, path, flags, mode);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM) || state > 0) {
			if (!state && (fd >= 0 || errno != ENOSYS))
				atomic_store(&have_openat2, 1);
			/*
			 * EXDEV would mean an escape attempt; with canonical
			 * paths and no symlinks it cannot happen. Report it
			 * the way the component walk would.
			 */
			if (fd < 0 && errno == EXDEV)
				errno = EACCES;
			return fd;
		}
		/* ENOSYS, or EPERM from a seccomp filter: not available. */
		atomic_store(&have_openat2, -1);
	}
	return open_walk(root_fd, path, flags, mode);
}
