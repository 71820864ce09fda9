// SPDX-License-Identifier: GPL-2.0
/*
 * A newc ("070701") cpio writer for the sandbox's initramfs: 110-byte ASCII
 * headers, names and data padded to 4 bytes, a TRAILER!!! entry at the end
 * (the format the kernel's initramfs unpacker reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lkvm/sandbox.h"

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->ino = 1;
}

static void put(struct cpio *c, const void *p, size_t n)
{
	if (c->len + n > c->cap) {
		c->cap = max(c->cap * 2, c->len + n + 4096);
		c->buf = xrealloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void pad4(struct cpio *c)
{
	static const u8 zero[4];

	put(c, zero, (4 - (c->len & 3)) & 3);
}

static void entry(struct cpio *c, const char *path, unsigned int mode,
		  unsigned int rmaj, unsigned int rmin, const void *data, size_t len)
{
	char hdr[111];
	size_t namesize = strlen(path) + 1;

	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 c->ino++, mode, 0, 0, 1, 0, (unsigned int)len, 0, 0, rmaj, rmin,
		 (unsigned int)namesize, 0);
	put(c, hdr, 110);
	put(c, path, namesize);
	pad4(c);
	if (len) {
		put(c, data, len);
		pad4(c);
	}
}

void cpio_dir(struct cpio *c, const char *path, unsigned int mode)
{
	entry(c, path, S_IFDIR | (mode & 07777), 0, 0, NULL, 0);
}

void cpio_file(struct cpio *c, const char *path, unsigned int mode,
	       const void *data, size_t len)
{
	entry(c, path, S_IFREG | (mode & 07777), 0, 0, data, len);
}

void cpio_chardev(struct cpio *c, const char *path, unsigned int mode,
		  unsigned int major, unsigned int minor)
{
	entry(c, path, S_IFCHR | (mode & 07777), major, minor, NULL, 0);
}

void cpio_finish(struct cpio *c)
{
	entry(c, "TRAILER!!!", 0, 0, 0, NULL, 0);
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
