/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_SANDBOX_H
#define LKVM_SANDBOX_H

/*
 * lkvm sandbox (builtin-sandbox.c): lkvm generates an initramfs holding its
 * own small init (sandbox/init.c, a static binary embedded in lkvm), the
 * kernel modules that init needs and a description of the command; the
 * init mounts the root, runs the command and reports its exit status on
 * the sandbox exit register (hw/sandbox-exit.c).
 *
 * This header is shared with the guest init: it holds only constants and,
 * outside the init, the host helpers.
 */

/*
 * The exit register: a 32-bit write of SANDBOX_EXIT_MAGIC | status ends the
 * VM with lkvm exit status @status (0-255). Other values are ignored, so a
 * stray probe of the port cannot stop the guest.
 */
#if defined(__x86_64__) || defined(__i386__)
#define SANDBOX_EXIT_PORT	0x504
#endif
#define SANDBOX_EXIT_MAGIC	0x4c4b5600u	/* "LKV" and the status byte */

/* Paths inside the generated initramfs. */
#define SANDBOX_CONFIG		"/lkvm/config"	/* NUL-separated key=value */
#define SANDBOX_MODULES		"/lkvm/modules"	/* NNN-name.ko, loaded in order */

/* 9P tags of the sandbox's own shares. */
#define SANDBOX_ROOT_TAG	"lkvm-root"
#define SANDBOX_SCRATCH_TAG	"lkvm-scratch"
#define SANDBOX_SCRATCH_SIZE	(1ULL << 30)	/* --scratch-size default */

#ifndef LKVM_SANDBOX_INIT
#include "lkvm/util.h"

/* A newc cpio archive built in memory (sandbox/cpio.c). */
struct cpio {
	u8 *buf;
	size_t len, cap;
	unsigned int ino;
};

void cpio_init(struct cpio *c);
void cpio_dir(struct cpio *c, const char *path, unsigned int mode);
void cpio_file(struct cpio *c, const char *path, unsigned int mode,
	       const void *data, size_t len);
/* A character device node (S_IFCHR with @mode's permission bits). */
void cpio_chardev(struct cpio *c, const char *path, unsigned int mode,
		  unsigned int major, unsigned int minor);
void cpio_finish(struct cpio *c);
void cpio_free(struct cpio *c);

/*
 * Modules @want (names, '-' or '_') and everything they need, in load order,
 * from @moddir's modules.dep: malloc'd paths relative to @moddir in *@out.
 * Names the kernel has built in (modules.builtin) or that modules.dep does
 * not know are skipped (listed in *@missing, comma-separated, may be
 * NULL). Returns the count, or -1 when modules.dep cannot be read.
 */
int modules_resolve(const char *moddir, const char *const *want, char ***out,
		    char **missing);
void modules_free(char **paths, int n);

/*
 * Kernel release of an x86 bzImage (from its setup header) or of an ELF
 * vmlinux (from its "Linux version" banner); 0 or -1.
 */
int kernel_release(const char *kernel, char *buf, size_t len);

/* The exit register (hw/sandbox-exit.c): did the guest report a status? */
bool sandbox_exit_status(int *status);

/* The embedded init (sandbox/init-blob.S). */
extern const unsigned char sandbox_init_start[], sandbox_init_end[];

/*
 * The temporary scratch directory (sandbox/scratch.c): created in $TMPDIR,
 * a tmpfs of @max_bytes when lkvm is root (*@mounted); -1 after one line.
 */
int scratch_create(char *dir, size_t len, u64 max_bytes, bool *mounted);
/* rm -rf, unreadable directories included; never leaves the file system. */
void scratch_remove(const char *dir, bool mounted);
#endif

#endif
