/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BENEATH_H
#define LKVM_BENEATH_H

#include <sys/types.h>

#include "lkvm/util.h"

/*
 * Opening host files strictly beneath a shared directory (fs/beneath.c).
 *
 * Paths are relative to the share root, made of '/'-separated components
 * that are never empty, "." or ".." (the 9P server keeps fid paths in that
 * canonical form and resolves ".." lexically); the root itself is ".".
 * No symbolic link is ever followed, not even one that stays inside the
 * share: a 9P client resolves symlinks itself, so the server only ever
 * needs the link, never its target. A symlink as an intermediate component
 * fails (ELOOP or ENOTDIR); as the last one it is opened itself with O_PATH,
 * and fails with ELOOP otherwise.
 *
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * does the work where the kernel has it (5.6+); elsewhere each component is
 * opened with O_PATH | O_NOFOLLOW from its parent and checked with fstat.
 */

/* Open @path beneath @root_fd; O_NOFOLLOW and O_CLOEXEC are always added. */
int beneath_open(int root_fd, const char *path, int flags, mode_t mode);

/*
 * Validate one name from the guest (a 9P wname or a create/link name):
 * not empty, no '/', no NUL in its @len bytes, at most NAME_MAX bytes.
 * "." and ".." are refused unless @allow_dots (walk handles ".." itself).
 */
bool beneath_name_ok(const char *name, size_t len, bool allow_dots);

/* Tests: 1 forces the component walk, 0 restores the openat2 probe. */
void beneath_force_fallback(bool on);
/* Is openat2 in use (after at least one beneath_open)? */
bool beneath_uses_openat2(void);

#endif
