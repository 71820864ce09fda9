// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox's host helpers: the newc cpio writer (read back with a
 * strict parser, and with cpio(1) when it is installed), module load order
 * from modules.dep (dependencies first, built-ins and unknown names
 * skipped, cycles survived), and the kernel release from a bzImage header,
 * including truncated and hostile headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/sandbox.h"
#include "test.h"

static char dir[PATH_MAX];

static unsigned long hex8(const u8 *p)
{
	char b[9];

	memcpy(b, p, 8);
	b[8] = '\0';
	return strtoul(b, NULL, 16);
}

/* Walk a newc archive; returns the number of entries before the trailer, -1 if bad. */
static int cpio_walk(const u8 *buf, size_t len, const char *want_name, unsigned long *mode,
		     const u8 **data, size_t *data_len)
{
	size_t off = 0;
	int n = 0;

	while (off + 110 <= len) {
		unsigned long nsz, fsz;
		const char *name;

		if (memcmp(buf + off, "070701", 6))
			return -1;
		nsz = hex8(buf + off + 94);
		fsz = hex8(buf + off + 54);
		name = (const char *)buf + off + 110;
		if (off + 110 + nsz > len || name[nsz - 1])
			return -1;
		if (!strcmp(name, "TRAILER!!!"))
			return (off + 110 + nsz + 3) / 4 * 4 == len ? n : -1;
		if (want_name && !strcmp(name, want_name)) {
			*mode = hex8(buf + off + 14);
			*data = buf + ((off + 110 + nsz + 3) & ~3UL);
			*data_len = fsz;
		}
		off = (off + 110 + nsz + 3) & ~3UL;
		off = (off + fsz + 3) & ~3UL;
		n++;
	}
	return -1;
}

static void test_cpio(void)
{
	struct cpio c;
	unsigned long mode = 0;
	const u8 *data = NULL;
	size_t dlen = 0;

	cpio_init(&c);
	cpio_dir(&c, "dev", 0755);
	cpio_chardev(&c, "dev/console", 0600, 5, 1);
	cpio_file(&c, "a/odd", 0644, "xyz", 3);
	cpio_file(&c, "init", 0755, "#!x\n\0bin", 9);
	cpio_file(&c, "empty", 0600, NULL, 0);
	cpio_finish(&c);
	CHECK_EQ(c.len % 4, 0);
	CHECK_EQ(cpio_walk(c.buf, c.len, "init", &mode, &data, &dlen), 5);
	CHECK_EQ(mode, S_IFREG | 0755);
	CHECK_EQ(dlen, 9);
	CHECK(data && !memcmp(data, "#!x\n\0bin", 9));
	CHECK_EQ(cpio_walk(c.buf, c.len, "dev/console", &mode, &data, &dlen), 5);
	CHECK_EQ(mode, S_IFCHR | 0600);
	CHECK_EQ(cpio_walk(c.buf, c.len, "a/odd", &mode, &data, &dlen), 5);
	CHECK(!memcmp(data, "xyz", 3));
	/* cpio(1), when present, must agree */
	if (!system("command -v cpio >/dev/null 2>&1")) {
		char path[PATH_MAX + 64], cmd[3 * PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/t.cpio", dir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && write(fd, c.buf, c.len) == (ssize_t)c.len);
		close(fd);
		snprintf(cmd, sizeof(cmd), "cpio -it --quiet < '%s' | tr '\\n' ' ' | "
			 "grep -qx 'dev dev/console a/odd init empty '", path);
		CHECK(!system(cmd));
	}
	cpio_free(&c);
}

static void write_file(const char *rel, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int index_of(char **mods, int n, const char *suffix)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t l = strlen(mods[i]), s = strlen(suffix);

		if (l >= s && !strcmp(mods[i] + l - s, suffix))
			return i;
	}
	return -1;
}

static void test_modules(void)
{
	const char *want[] = { "9p", "virtio-pci", "virtio_console", "nonexistent", "ext4", NULL };
	char **mods, *missing;
	int n;

	write_file("modules.dep",
		   "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n"
		   "kernel/net/9p/9pnet.ko:\n"
		   "kernel/fs/netfs/netfs.ko:\n"
		   "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko "
		   "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
		   "kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n"
		   "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
		   "kernel/drivers/virtio/virtio_ring.ko:\n"
		   "kernel/drivers/char/virtio_console.ko.xz: kernel/drivers/virtio/virtio.ko "
		   "kernel/drivers/virtio/virtio_ring.ko\n"
		   "kernel/a/cyc1.ko: kernel/a/cyc2.ko\n"
		   "kernel/a/cyc2.ko: kernel/a/cyc1.ko\n"
		   "garbage line without colon\n"
		   ":\n");
	write_file("modules.builtin", "kernel/fs/ext4/ext4.ko\n");
	n = modules_resolve(dir, want, &mods, &missing);
	CHECK_EQ(n, 8);
	CHECK(index_of(mods, n, "/9pnet.ko") < index_of(mods, n, "/9p.ko"));
	CHECK(index_of(mods, n, "/netfs.ko") < index_of(mods, n, "/9p.ko"));
	CHECK(index_of(mods, n, "/virtio_ring.ko") < index_of(mods, n, "/virtio.ko"));
	CHECK(index_of(mods, n, "/virtio.ko") < index_of(mods, n, "/virtio_pci.ko"));
	CHECK(index_of(mods, n, "/virtio_pci_modern_dev.ko") < index_of(mods, n, "/virtio_pci.ko"));
	CHECK(index_of(mods, n, "/virtio_console.ko.xz") > index_of(mods, n, "/virtio.ko"));
	CHECK(index_of(mods, n, "ext4.ko") < 0);		/* built in */
	CHECK(missing && !strcmp(missing, "nonexistent"));	/* built-ins are not missing */
	modules_free(mods, n);
	free(missing);

	/* A dependency cycle terminates. */
	{
		const char *cyc[] = { "cyc1", NULL };

		n = modules_resolve(dir, cyc, &mods, NULL);
		CHECK_EQ(n, 2);
		modules_free(mods, n);
	}
	/* No modules.dep: -1 */
	{
		const char *w[] = { "9p", NULL };

		CHECK_EQ(modules_resolve("/nonexistent-lkvm", w, &mods, NULL), -1);
	}
}

static int write_kernel(const u8 *buf, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/bz", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return -1;
	close(fd);
	return 0;
}

static void test_release(void)
{
	static u8 bz[0x1000];
	char rel[64], path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/bz", dir);
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x0f;
	bz[0x207] = 0x02;
	bz[0x20e] = 0x00;	/* string at 0x200 + 0x300 */
	bz[0x20f] = 0x03;
	strcpy((char *)bz + 0x500, "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP");
	CHECK(!write_kernel(bz, sizeof(bz)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), 0);
	CHECK(!strcmp(rel, "6.1.0-56-amd64"));
	CHECK_EQ(kernel_release(path, rel, 5), -1);		/* no room */
	/* Pointer past the end of the file */
	bz[0x20f] = 0x7f;
	CHECK(!write_kernel(bz, sizeof(bz)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	/* No pointer, no magic, too short */
	bz[0x20e] = bz[0x20f] = 0;
	CHECK(!write_kernel(bz, sizeof(bz)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	bz[0x20f] = 0x03;
	bz[0x202] = 'X';
	CHECK(!write_kernel(bz, sizeof(bz)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	CHECK(!write_kernel(bz, 0x100));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	/* An empty version string */
	bz[0x202] = 'H';
	bz[0x500] = '\0';
	CHECK(!write_kernel(bz, sizeof(bz)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	CHECK_EQ(kernel_release("/nonexistent-lkvm", rel, sizeof(rel)), -1);
}

/* A vmlinux: the release comes from the banner, not from format strings. */
static void test_release_elf(void)
{
	static u8 elf[0x2000];
	char rel[64], path[PATH_MAX + 64];
	static const char fmt[] = "Linux version %s (%s)";
	static const char banner[] = "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)";

	snprintf(path, sizeof(path), "%s/bz", dir);	/* where write_kernel writes */
	memcpy(elf, "\177ELF", 4);
	memcpy(elf + 0x100, fmt, sizeof(fmt));
	memcpy(elf + 0x800, banner, sizeof(banner));
	CHECK(!write_kernel(elf, sizeof(elf)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), 0);
	CHECK(!strcmp(rel, "6.1.0-57-amd64"));
	CHECK_EQ(kernel_release(path, rel, 8), -1);		/* no room */
	/* A banner cut by the end of the file, then none at all. */
	CHECK(!write_kernel(elf, 0x800 + 20));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	CHECK(!write_kernel(elf, 4));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
	memset(elf + 0x800, 'x', sizeof(banner));
	CHECK(!write_kernel(elf, sizeof(elf)));
	CHECK_EQ(kernel_release(path, rel, sizeof(rel)), -1);
}

/* Runs @fn in a child, as nobody when we are root; its exit status. */
static int as_child(int (*fn)(void), bool drop)
{
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (drop && geteuid() == 0 && (setresgid(65534, 65534, 65534) ||
					       setresuid(65534, 65534, 65534)))
			_exit(3);
		_exit(fn());
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char scratch[PATH_MAX];

/* What a guest may leave: unreadable, unwritable directories, a symlink. */
static int leave_a_mess(void)
{
	char p[PATH_MAX + 32];
	int fd;

	snprintf(p, sizeof(p), "%s/a", scratch);
	if (mkdir(p, 0700))
		return 1;
	snprintf(p, sizeof(p), "%s/a/b", scratch);
	if (mkdir(p, 0700))
		return 1;
	snprintf(p, sizeof(p), "%s/a/b/file", scratch);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return 1;
	close(fd);
	snprintf(p, sizeof(p), "%s/a/link", scratch);
	if (symlink("/etc", p))
		return 1;
	snprintf(p, sizeof(p), "%s/a/b", scratch);
	if (chmod(p, 0))
		return 1;
	snprintf(p, sizeof(p), "%s/a", scratch);
	return chmod(p, 0500) ? 1 : 0;
}

static int remove_locked_tree(void)
{
	struct stat st;
	bool mounted;

	if (scratch_create(scratch, sizeof(scratch), 0, &mounted) || mounted ||
	    leave_a_mess())
		return 1;
	scratch_remove(scratch, mounted);
	if (!lstat(scratch, &st) || errno != ENOENT || lstat("/etc/passwd", &st))
		return 2;
	return 0;
}

static void test_scratch_removed_with_chmod_000(void)
{
	/* As nobody: root could enter a mode 000 directory anyway. */
	CHECK_EQ(as_child(remove_locked_tree, true), 0);
}

static int fill_limited_scratch(void)
{
	static char buf[1 << 16];
	char p[PATH_MAX + 8];
	bool mounted;
	size_t total = 0;
	ssize_t n = 0;
	int fd, err = 0;

	if (scratch_create(scratch, sizeof(scratch), 1 << 20, &mounted) || !mounted)
		return 1;
	snprintf(p, sizeof(p), "%s/big", scratch);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	while (fd >= 0 && total < (4u << 20) && (n = write(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	leave_a_mess();
	scratch_remove(scratch, mounted);
	if (access(scratch, F_OK) == 0)
		return 3;
	return total <= (1u << 20) && err == ENOSPC ? 0 : 2;
}

static void test_scratch_size_limited(void)
{
	CHECK_EQ(as_child(fill_limited_scratch, false), 0);
}

TEST_MAIN_BEGIN("test-sandbox")
	char cmd[PATH_MAX + 32];

	snprintf(dir, sizeof(dir), "%s/lkvm-test-sandbox.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return 2;
	RUN(test_cpio);
	RUN(test_modules);
	RUN(test_release);
	RUN(test_release_elf);
	RUN(test_scratch_removed_with_chmod_000);
	/* A tmpfs needs root (CAP_SYS_ADMIN), as lkvm sandbox's limit does. */
	if (geteuid() == 0)
		RUN(test_scratch_size_limited);
	else
		printf("SKIP: unit/test-sandbox/test_scratch_size_limited: not root\n");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 2;
TEST_MAIN_END()
