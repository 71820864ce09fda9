// SPDX-License-Identifier: GPL-2.0
/* Reading kernels and initrds from files, pipes and FIFOs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/guest-mem.h"
#include "lkvm/load.h"

int load_open(struct load_file *f, const char *what, const char *path)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->what = what;
	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		pr_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(f->fd, &st) < 0) {
		pr_err("cannot stat %s '%s': %s", what, path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		pr_err("%s '%s' is a directory", what, path);
		goto fail;
	}
	f->seekable = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(f->fd, 0, SEEK_END);

		if (end < 0 || lseek(f->fd, 0, SEEK_SET) < 0)
			f->seekable = false;
		else
			f->size = end;
	} else {
		f->size = st.st_size;
	}
	return 0;
fail:
	close(f->fd);
	f->fd = -1;
	return -1;
}

void load_close(struct load_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

s64 load_read_stream(struct load_file *f, u64 max, u8 **out)
{
	size_t cap = 1 << 20, len = 0;
	u8 *buf = xmalloc(cap);

	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > max) {
				pr_err("%s '%s' is larger than guest memory", f->what, f->path);
				free(buf);
				return -1;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(f->fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_err("cannot read %s '%s': %s", f->what, f->path, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len > max) {
		pr_err("%s '%s' is larger than guest memory", f->what, f->path);
		free(buf);
		return -1;
	}
	*out = buf;
	return len;
}

int load_initrd(const struct guest_mem *mem, const char *path, u64 max,
		initrd_place_fn place, void *ctx, u64 *addr, u64 *size)
{
	struct load_file f;
	u8 *stream = NULL, *dst;
	s64 len;
	int ret = -1;

	*addr = *size = 0;
	if (load_open(&f, "initrd", path))
		return -1;
	if (f.seekable) {
		len = f.size;
	} else {
		len = load_read_stream(&f, max, &stream);
		if (len < 0)
			goto out;
	}
	if (len == 0) {
		pr_err("initrd '%s' is empty", f.path);
		goto out;
	}
	if (place(len, addr, f.path, ctx))
		goto out;
	dst = guest_ptr(mem, *addr, len);
	if (!dst)
		goto out;
	if (stream) {
		memcpy(dst, stream, len);
	} else if (pread_full(f.fd, dst, len, 0) != len) {
		pr_err("cannot read initrd '%s': short read", f.path);
		goto out;
	}
	*size = len;
	ret = 0;
out:
	free(stream);
	load_close(&f);
	return ret;
}
