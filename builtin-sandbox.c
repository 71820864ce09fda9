// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox [<run options>] [--scratch <dir>] -- <command> [<args>...]
 *
 * Boots a kernel (default: the host's /boot/vmlinuz-$(uname -r)), runs
 * <command> in it and exits with the command's exit status. The guest's
 * root is the host's / shared read-only over 9p, with the guest's own /dev,
 * /proc, /sys and /run, and a writable host scratch directory at /tmp (the
 * kvmtool approach); or the first --disk; or a given --initrd.
 *
 * lkvm writes the whole initramfs itself, in memory: its own init (a static
 * program built from sandbox/init.c and embedded in lkvm, so nothing is
 * needed from the guest's root but the command), the kernel modules that
 * init must load (from /lib/modules/<release>/modules.dep), and the command
 * as NUL-separated strings (no quoting). The init reports the command's
 * status on the sandbox exit register (hw/sandbox-exit.c); the command's
 * stdout and stderr are the guest console, which is lkvm's stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/builtin-run.h"
#include "lkvm/kvm.h"
#include "lkvm/load.h"
#include "lkvm/parse-options.h"
#include "lkvm/sandbox.h"

static const char sandbox_usage[] =
	"lkvm sandbox [<options>] -- <command> [<args>...]";

static const char sandbox_epilogue[] =
	"\nRuns <command> in a guest and exits with its exit status. The guest's root\n"
	"is this host's / (read-only, over 9p) with a writable scratch directory at\n"
	"/tmp, or the first --disk, or --initrd. --9p shares appear at their host\n"
	"paths. The kernel defaults to /boot/vmlinuz-$(uname -r); its modules come\n"
	"from /lib/modules/<release>. The command's output is the guest console.\n"
	"Exit status: the command's (128+N if it died of signal N), 124 when\n"
	"--timeout expires, 1 when lkvm or the guest failed before the command ended.\n";

/* The init's instructions: NUL-separated key=value strings. */
struct strbuf {
	char *buf;
	size_t len;
};

static void kv(struct strbuf *sb, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = strlen(val);

	sb->buf = xrealloc(sb->buf, sb->len + kl + vl + 2);
	memcpy(sb->buf + sb->len, key, kl);
	sb->buf[sb->len + kl] = '=';
	memcpy(sb->buf + sb->len + kl + 1, val, vl + 1);
	sb->len += kl + vl + 2;
}

static int check_root_fs(const struct option *opt, const char *arg)
{
	if (strcmp(arg, "auto") && strcmp(arg, "9p") && strcmp(arg, "virtiofs")) {
		pr_err("sandbox: --root-fs must be auto, 9p or virtiofs, not '%s'", arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

static int add_share(struct kvm_config *cfg, const char *dir, const char *tag, bool ro)
{
	if (cfg->nr_9p == LKVM_MAX_9P) {
		pr_err("sandbox: too many --9p shares");
		return -1;
	}
	cfg->shares_9p[cfg->nr_9p++] = (struct p9_share_config){
		.dir = dir, .tag = tag, .readonly = ro,
	};
	return 0;
}

#define NO_MODULES_DEP	(-2)

/* Does the kernel of @moddir have virtiofs, as a module or built in? */
static bool kernel_has_virtiofs(const char *moddir)
{
	static const char *const want[] = { "virtiofs", NULL };
	char path[PATH_MAX], **mods, *missing, *line = NULL;
	bool found = false;
	size_t cap = 0;
	FILE *f;
	int nr, i;

	if (!moddir)
		return false;
	nr = modules_resolve(moddir, want, &mods, &missing);
	if (nr > 0) {
		found = true;
		for (i = 0; i < nr; i++)
			if (snprintf(path, sizeof(path), "%s/%s", moddir, mods[i]) >= (int)sizeof(path) ||
			    access(path, R_OK))
				found = false;
	}
	if (nr >= 0) {
		modules_free(mods, nr);
		free(missing);
	}
	if (found)
		return true;
	snprintf(path, sizeof(path), "%s/modules.builtin", moddir);
	f = fopen(path, "re");
	while (f && !found && getline(&line, &cap, f) > 0)
		found = strstr(line, "/virtiofs.ko") != NULL;
	free(line);
	if (f)
		fclose(f);
	return found;
}

/*
 * Where the host's root goes: over virtio-fs when it works as 9p would, that
 * is when virtiofsd is here, can run as we are and share / read-only, the
 * guest kernel has virtiofs, and no --user asks for the user's view of the
 * files (virtiofsd then runs as the user, root only of a user namespace in
 * which no other uid exists: root's files, most of /, would show as
 * nobody's, where 9p shows their owners); else over 9p. @want is --root-fs
 * (NULL or "auto", "9p", "virtiofs"). Returns true for virtio-fs; -1 in
 * *err when virtio-fs was asked for and cannot be.
 */
static bool root_on_virtiofs(const struct kvm_config *cfg, const char *want,
			     const char *moddir, int *err)
{
	struct virtiofsd d;
	const char *why = NULL;

	*err = 0;
	if (want && !strcmp(want, "9p")) {
		pr_info("sandbox: the root is on 9p (--root-fs 9p)");
		return false;
	}
	/* The kernel first: looking for virtiofsd runs it (--help). */
	if (cfg->user)
		why = "--user: virtiofsd, run as the user, would show root's files as nobody's";
	else if (!kernel_has_virtiofs(moddir))
		why = "the guest kernel has no virtiofs module";
	else if (virtiofsd_find(&d))
		why = "no virtiofsd found";
	else if (d.kind == VIRTIOFSD_C && geteuid() != 0)
		why = "QEMU's virtiofsd needs root";
	else if (!d.has_readonly && geteuid() != 0)
		why = "this virtiofsd has no --readonly, and / is read-only only with root";
	if (!why) {
		pr_info("sandbox: the root is on virtio-fs (%s)", d.path);
		return true;
	}
	if (want && !strcmp(want, "virtiofs")) {
		pr_err("sandbox: --root-fs virtiofs: %s", why);
		*err = -1;
		return false;
	}
	pr_info("sandbox: the root is on 9p (%s)", why);
	return false;
}

/*
 * Put the modules @want resolves to (dependencies first) into the archive,
 * numbered from *@seq on: the init loads them in that order. Those in
 * @skip (an earlier set) are not added again. An @optional set is added
 * only when every file of it is readable, so a partial module tree costs
 * the feature, not the run. Returns the count (the resolved paths in
 * *@out), NO_MODULES_DEP, or -1 after a message.
 */
static int add_module_set(struct cpio *c, const char *moddir, const char *const *want,
			  bool optional, char **skip, int nr_skip, char ***out, int *seq)
{
	char path[PATH_MAX], name[PATH_MAX], **mods, *missing;
	int nr, i, j;

	*out = NULL;
	nr = modules_resolve(moddir, want, &mods, &missing);
	if (nr < 0)
		return NO_MODULES_DEP;
	if (missing)
		pr_debug("sandbox: not in %s (built in?): %s", moddir, missing);
	free(missing);
	for (i = 0; optional && i < nr; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", moddir, mods[i]) >= (int)sizeof(path) ||
		    access(path, R_OK)) {
			pr_debug("sandbox: %s is missing; going without %s", path, want[0]);
			modules_free(mods, nr);
			return 0;
		}
	}
	for (i = 0; i < nr; i++) {
		const char *base = strrchr(mods[i], '/');
		struct load_file f;
		u8 *data;
		s64 len;

		for (j = 0; j < nr_skip && strcmp(skip[j], mods[i]); j++)
			;
		if (j < nr_skip)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", moddir, mods[i]) >= (int)sizeof(path) ||
		    load_open(&f, "kernel module", path))
			goto out;
		len = load_read_stream(&f, 256 * SZ_1M, &data);
		load_close(&f);
		if (len < 0)
			goto out;
		if (snprintf(name, sizeof(name), "%s/%03d-%s", SANDBOX_MODULES + 1, (*seq)++,
			     base ? base + 1 : mods[i]) >= (int)sizeof(name)) {
			free(data);
			goto out;
		}
		cpio_file(c, name, 0644, data, len);
		free(data);
	}
	*out = mods;
	return nr;
out:
	modules_free(mods, nr);
	return -1;
}

/* The modules the init needs for this configuration, into the archive. */
static int add_modules(struct cpio *c, const struct kvm_config *cfg, const char *moddir,
		       const char *rootfs)
{
	/* A guest panic is reported at once (hw/pvpanic.c), when it can be. */
	static const char *const optional[] = { "pvpanic_mmio", NULL };
	const char *want[16];
	char **mods, **opt_mods;
	int n = 0, nr, nr_opt, seq = 0;

	want[n++] = strcmp(cfg->virtio_transport, "mmio") ? "virtio_pci" : "virtio_mmio";
	if (cfg->nr_9p) {
		want[n++] = "9pnet_virtio";
		want[n++] = "9p";
	}
	if (cfg->nr_vfs)
		want[n++] = "virtiofs";	/* and fuse, from modules.dep */
	if (cfg->console && !strcmp(cfg->console, "virtio"))
		want[n++] = "virtio_console";
	if (cfg->nr_disks)
		want[n++] = "virtio_blk";
	if (!strcmp(rootfs, "disk")) {
		want[n++] = "crc32c_generic";	/* ext4 asks for it by name only */
		want[n++] = "ext4";
	}
	if (cfg->nr_nets)
		want[n++] = "virtio_net";
	if (cfg->rng)
		want[n++] = "virtio_rng";
	if (cfg->vsock_cid)
		want[n++] = "vmw_vsock_virtio_transport";
	want[n] = NULL;

	nr = add_module_set(c, moddir, want, false, NULL, 0, &mods, &seq);
	if (nr == NO_MODULES_DEP) {
		pr_warn("sandbox: no %s/modules.dep: assuming the kernel has virtio%s built in",
			moddir, cfg->nr_9p ? " and 9p" : "");
		return 0;
	}
	if (nr < 0)
		return -1;
	nr_opt = add_module_set(c, moddir, optional, true, mods, nr, &opt_mods, &seq);
	if (opt_mods)
		modules_free(opt_mods, nr_opt);
	modules_free(mods, nr);
	return nr_opt == -1 ? -1 : 0;
}

/* The initrd: the user's, if any, then lkvm's archive; in a memfd. */
static int write_initrd(const char *user_initrd, const struct cpio *c, char *path,
			size_t path_len)
{
	int fd = memfd_create("lkvm-sandbox-initrd", MFD_CLOEXEC);
	static const u8 zero[4];
	u64 len = 0;

	if (fd < 0) {
		pr_err("sandbox: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (user_initrd) {
		struct load_file f;
		u8 *data;
		s64 n;

		if (load_open(&f, "initrd", user_initrd))
			goto fail;
		n = load_read_stream(&f, 4 * SZ_1G, &data);
		load_close(&f);
		if (n < 0)
			goto fail;
		/* Archives are concatenated on 4-byte boundaries. */
		if (write_full(fd, data, n) < 0 || write_full(fd, zero, (4 - (n & 3)) & 3) < 0) {
			free(data);
			goto fail_io;
		}
		free(data);
		len = ALIGN_UP((u64)n, 4);
	}
	if (write_full(fd, c->buf, c->len) < 0)
		goto fail_io;
	pr_debug("sandbox: initrd of %llu KiB", (unsigned long long)(len + c->len) >> 10);
	/* The loader opens it by name; this process's fd stays open for it. */
	snprintf(path, path_len, "/proc/self/fd/%d", fd);
	return 0;
fail_io:
	pr_err("sandbox: cannot write the initrd: %s", strerror(errno));
fail:
	close(fd);
	return -1;
}

/* One sandbox run; static, since the options and the config point into it. */
struct sandbox {
	struct kvm_config cfg;
	const char *scratch, *moddir, *rootfs;
	const char *root_fs;		/* --root-fs */
	u64 scratch_size;		/* --scratch-size */
	bool scratch_mounted;		/* the temporary one is a tmpfs */
	bool net;			/* --net: a user-mode network */
	char kernel[PATH_MAX], release[256], tmpdir[PATH_MAX], initrd[64];
	char moddir_buf[PATH_MAX], params[4096], cwd[PATH_MAX];
	struct strbuf conf;		/* the init's instructions */
};

/* Returns the number of command words, 0 for --help, or -1. */
static int parse_args(struct sandbox *sb, int argc, const char **argv)
{
	const struct option extra[] = {
		OPTION_GROUP("Sandbox options:"),
		OPTION_STRING(0, "scratch", &sb->scratch, "<dir>",
			      "the guest's writable /tmp: this host directory (kept), instead "
			      "of a new temporary one removed at exit"),
		OPTION_SIZE(0, "scratch-size", &sb->scratch_size, "<size>",
			    "the temporary /tmp's size when lkvm runs as root (a tmpfs), in MiB "
			    "unless suffixed K/M/G (default 1G; 0: no limit)", SZ_1M),
		OPTION_STRING(0, "modules", &sb->moddir, "<dir>",
			      "the kernel's modules and modules.dep (default /lib/modules/<release>)"),
		OPTION_CALLBACK(0, "root-fs", &sb->root_fs, "auto|9p|virtiofs",
				"how the host's root is shared (default auto: virtio-fs when "
				"virtiofsd and the kernel's virtiofs are there)", check_root_fs),
		OPTION_BOOLEAN(0, "net", &sb->net,
			       "a user-mode network for the command (passt; the same as "
			       "-n mode=user, configured by the init)"),
		OPTION_END(),
	};
	int n;

	sb->scratch_size = SANDBOX_SCRATCH_SIZE;
	n = kvm_run_parse(&sb->cfg, extra, argc, argv, "sandbox", sandbox_usage,
			  sandbox_epilogue);
	if (n == PARSE_OPT_HELP)
		return 0;
	if (n < 0)
		return -1;
	if (n == 0) {
		pr_err("sandbox: no command given (lkvm sandbox [<options>] -- <command> [<args>])");
		return -1;
	}
	/* --net: the first NIC, so that it is the guest's eth0. */
	if (sb->net) {
		if (sb->cfg.nr_nets) {
			pr_err("sandbox: --net adds its own NIC; leave out -n/--network");
			return -1;
		}
		if (virtio_net_parse(&sb->cfg, "mode=user"))
			return -1;
	}
	return n;
}

/* The kernel (default: this host's), its release and its modules. */
static int find_kernel(struct sandbox *sb)
{
	struct utsname u;

	if (!sb->cfg.kernel_filename) {
		if (uname(&u) < 0)
			return -1;
		snprintf(sb->kernel, sizeof(sb->kernel), "/boot/vmlinuz-%s", u.release);
		if (access(sb->kernel, R_OK)) {
			pr_err("sandbox: no kernel given and %s: %s (use -k/--kernel)",
			       sb->kernel, strerror(errno));
			return -1;
		}
		sb->cfg.kernel_filename = sb->kernel;
		snprintf(sb->release, sizeof(sb->release), "%s", u.release);
	} else if (kernel_release(sb->cfg.kernel_filename, sb->release, sizeof(sb->release))) {
		sb->release[0] = '\0';
	}
	return 0;
}

static void find_moddir(struct sandbox *sb)
{
	if (!sb->moddir && sb->release[0]) {
		snprintf(sb->moddir_buf, sizeof(sb->moddir_buf), "/lib/modules/%s",
			 sb->release);
		sb->moddir = sb->moddir_buf;
	} else if (!sb->moddir) {
		pr_warn("sandbox: cannot tell the kernel's release; loading no modules (see --modules)");
	}
}

/* The scratch directory: the guest's /tmp. */
static int make_scratch(struct sandbox *sb)
{
	if (sb->scratch)
		return 0;
	if (scratch_create(sb->tmpdir, sizeof(sb->tmpdir), sb->scratch_size,
			   &sb->scratch_mounted))
		return -1;
	/* --user: the guest's /tmp is the user's to write. */
	if (sb->cfg.user && chown(sb->tmpdir, sb->cfg.run_uid, sb->cfg.run_gid) < 0) {
		pr_err("sandbox: cannot give %s to --user %s: %s", sb->tmpdir, sb->cfg.user,
		       strerror(errno));
		scratch_remove(sb->tmpdir, sb->scratch_mounted);
		return -1;
	}
	sb->scratch = sb->tmpdir;
	return 0;
}

/* "share=TAG:PATH" (9p), "vshare=TAG:PATH" (virtio-fs): the init mounts TAG at PATH. */
static void kv_share(struct sandbox *sb, const char *key, const char *tag, const char *path)
{
	char *item = xmalloc(strlen(tag) + strlen(path) + 2);

	sprintf(item, "%s:%s", tag, path);
	kv(&sb->conf, key, item);
	free(item);
}

/* @dir made absolute, for kv_share(); -1 with a message. */
static int kv_share_dir(struct sandbox *sb, const char *key, const char *opt,
			const char *tag, const char *dir)
{
	char *abs = realpath(dir, NULL);

	if (!abs) {
		pr_err("sandbox: %s %s: %s", opt, dir, strerror(errno));
		return -1;
	}
	kv_share(sb, key, tag, abs);
	free(abs);
	return 0;
}

/* The user's --9p and --virtio-fs shares are mounted at their host paths. */
static int add_user_shares(struct sandbox *sb)
{
	int i;

	for (i = 0; i < sb->cfg.nr_9p; i++)
		if (kv_share_dir(sb, "share", "--9p", sb->cfg.shares_9p[i].tag,
				 sb->cfg.shares_9p[i].dir))
			return -1;
	/* (A socket= --virtio-fs has no host path: the command mounts it by tag.) */
	for (i = 0; i < sb->cfg.nr_vfs; i++)
		if (sb->cfg.vfs[i].dir && kv_share_dir(sb, "vshare", "--virtio-fs",
						       sb->cfg.vfs[i].tag, sb->cfg.vfs[i].dir))
			return -1;
	return 0;
}

/* The guest's root: the first disk, the given initramfs, or the host's /. */
static int add_root(struct sandbox *sb)
{
	int err;

	if ((sb->cfg.nr_disks || sb->cfg.initrd_filename) && sb->root_fs &&
	    strcmp(sb->root_fs, "auto")) {
		pr_err("sandbox: --root-fs %s: the root is the %s", sb->root_fs,
		       sb->cfg.nr_disks ? "first --disk" : "--initrd");
		return -1;
	}
	if (sb->cfg.nr_disks) {
		sb->rootfs = "disk";
		kv(&sb->conf, "root", "/dev/vda");
		kv(&sb->conf, "rootro", sb->cfg.disks[0].readonly ? "1" : "0");
	} else if (sb->cfg.initrd_filename) {
		sb->rootfs = "initramfs";
	} else if (root_on_virtiofs(&sb->cfg, sb->root_fs, sb->moddir, &err)) {
		sb->rootfs = "virtiofs";
		if (sb->cfg.nr_vfs == LKVM_MAX_VIRTIO_FS) {
			pr_err("sandbox: too many --virtio-fs shares");
			return -1;
		}
		sb->cfg.vfs[sb->cfg.nr_vfs++] = (struct vfs_config){
			.dir = "/", .tag = SANDBOX_ROOT_TAG, .readonly = true,
		};
		sb->cfg.mem_shared = true;
		kv(&sb->conf, "root", SANDBOX_ROOT_TAG);
		kv(&sb->conf, "rootro", "1");
	} else if (err) {
		return -1;
	} else {
		sb->rootfs = "9p";
		if (add_share(&sb->cfg, "/", SANDBOX_ROOT_TAG, true))
			return -1;
		kv(&sb->conf, "root", SANDBOX_ROOT_TAG);
		kv(&sb->conf, "rootro", "1");
	}
	kv(&sb->conf, "rootfs", sb->rootfs);
	if (add_share(&sb->cfg, sb->scratch, SANDBOX_SCRATCH_TAG, false))
		return -1;
	kv(&sb->conf, "scratch", SANDBOX_SCRATCH_TAG);
	return 0;
}

/* The command starts where lkvm did. */
static int add_cwd(struct sandbox *sb)
{
	const char *cwd = sb->cwd;

	if (!getcwd(sb->cwd, sizeof(sb->cwd)))
		return 0;
	kv(&sb->conf, "cwd", cwd);
	/*
	 * The guest's own /tmp, /run, /dev hide the host's: a working
	 * directory below them is shared (read-only, like the rest of the
	 * host's root) so that the command starts where lkvm did.
	 */
	if ((strcmp(sb->rootfs, "9p") && strcmp(sb->rootfs, "virtiofs")) ||
	    (strncmp(cwd, "/tmp/", 5) &&
	    strncmp(cwd, "/run/", 5) && strncmp(cwd, "/dev/", 5)))
		return 0;
	if (add_share(&sb->cfg, cwd, "lkvm-cwd", true))
		return -1;
	kv_share(sb, "share", "lkvm-cwd", cwd);
	return 0;
}

/* The host's PATH (or a default) and a few variables that make a shell usable. */
static void add_env(struct sandbox *sb)
{
	static const char *const pass_env[] = { "HOME", "TERM", "LANG", "LC_ALL", "USER", NULL };
	const char *path = getenv("PATH");
	char e[PATH_MAX + 8];
	int i;

	snprintf(e, sizeof(e), "PATH=%s", path && *path ? path :
		 "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	kv(&sb->conf, "env", e);
	for (i = 0; pass_env[i]; i++) {
		const char *v = getenv(pass_env[i]);

		if (v && strlen(v) < 1024 - 64) {
			snprintf(e, sizeof(e), "%s=%s", pass_env[i], v);
			kv(&sb->conf, "env", e);
		}
	}
	kv(&sb->conf, "env", "LKVM_SANDBOX=1");
}

/* Everything the init is told, in its config file. */
static int build_conf(struct sandbox *sb, const char **cmd, int n)
{
	int i;

	if (add_user_shares(sb) || add_root(sb))
		return -1;
	if (!strcmp(sb->cfg.console, "virtio"))
		kv(&sb->conf, "console", "/dev/hvc0");
	kv(&sb->conf, "stdin", isatty(STDIN_FILENO) ? "tty" : "null");
	kv(&sb->conf, "hostname", sb->cfg.name);
	if (sb->net) {
		kv(&sb->conf, "net", "eth0 " NET_USER_GUEST "/" NET_USER_PREFIX " " NET_USER_GATEWAY);
		kv(&sb->conf, "dns", NET_USER_DNS);
	}
	if (add_cwd(sb))
		return -1;
	add_env(sb);
	for (i = 0; i < n; i++)
		kv(&sb->conf, "arg", cmd[i]);
	return 0;
}

/* The initramfs: lkvm's init, its config and modules; cfg.initrd_filename. */
static int build_initrd(struct sandbox *sb)
{
	struct cpio c;
	int r;

	cpio_init(&c);
	cpio_dir(&c, "dev", 0755);
	cpio_chardev(&c, "dev/console", 0600, 5, 1);
	cpio_dir(&c, "proc", 0755);
	cpio_dir(&c, "sys", 0755);
	cpio_dir(&c, "run", 0755);
	cpio_dir(&c, "tmp", 01777);
	cpio_dir(&c, "newroot", 0755);
	cpio_dir(&c, "lkvm", 0755);
	cpio_dir(&c, SANDBOX_MODULES + 1, 0755);
	if (sb->moddir && add_modules(&c, &sb->cfg, sb->moddir, sb->rootfs)) {
		cpio_free(&c);
		return -1;
	}
	cpio_file(&c, SANDBOX_CONFIG + 1, 0600, sb->conf.buf, sb->conf.len);
	cpio_file(&c, "init", 0755, sandbox_init_start,
		  sandbox_init_end - sandbox_init_start);
	cpio_finish(&c);
	r = write_initrd(sb->cfg.initrd_filename, &c, sb->initrd, sizeof(sb->initrd));
	cpio_free(&c);
	if (r)
		return -1;
	sb->cfg.initrd_filename = sb->initrd;
	return 0;
}

/*
 * Quiet boot; a panic reboots, which ends lkvm, rather than hang. Our own
 * console= leaves out lkvm's default earlyprintk (and with it the boot
 * messages before the command's output); with --console virtio, ttyS0
 * still shows errors until hvc0 exists.
 */
static void set_params(struct sandbox *sb)
{
	const char *user = sb->cfg.params ? sb->cfg.params : "";

	snprintf(sb->params, sizeof(sb->params), "quiet panic=-1%s %s",
		 strstr(user, "console=") ? "" :
		 strcmp(sb->cfg.console, "virtio") ? " console=ttyS0" :
		 " console=ttyS0 console=hvc0", user);
	sb->cfg.params = sb->params;
	sb->cfg.sandbox = true;
}

/* Run the guest; the command's status, or why there is none. */
static int run_guest(struct sandbox *sb)
{
	int status, ret = kvm_run_config(&sb->cfg, &status);

	if (status >= 0)
		return status;
	if (ret == LKVM_EXIT_OK || ret == LKVM_EXIT_GUEST_CRASH) {
		/* 2 could be the command's own status: failures before it are 1. */
		pr_err("sandbox: the guest stopped before the command finished (see the console)");
		return LKVM_EXIT_ERROR;
	}
	return ret;
}

int cmd_sandbox(int argc, const char **argv)
{
	static struct sandbox sb;
	int n, ret = LKVM_EXIT_ERROR;

	n = parse_args(&sb, argc, argv);
	if (n <= 0)
		return n ? LKVM_EXIT_ERROR : 0;
	if (find_kernel(&sb) || kvm_config_finish(&sb.cfg, "sandbox"))
		return LKVM_EXIT_ERROR;
	find_moddir(&sb);
	if (make_scratch(&sb))
		return LKVM_EXIT_ERROR;
	if (!build_conf(&sb, argv + 1, n) && !build_initrd(&sb)) {
		set_params(&sb);
		ret = run_guest(&sb);
	}
	free(sb.conf.buf);
	if (sb.scratch == sb.tmpdir)
		scratch_remove(sb.tmpdir, sb.scratch_mounted);
	return ret;
}
