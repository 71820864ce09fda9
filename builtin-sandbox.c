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
#include <ftw.h>
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

/* @key=TAG:PATH for the init, PATH being @dir made absolute. */
static int share_at_host_path(struct strbuf *conf, const char *key, const char *opt,
			      const char *tag, const char *dir)
{
	char *abs = realpath(dir, NULL), *item;

	if (!abs) {
		pr_err("sandbox: %s %s: %s", opt, dir, strerror(errno));
		return -1;
	}
	item = xmalloc(strlen(tag) + strlen(abs) + 2);
	sprintf(item, "%s:%s", tag, abs);
	kv(conf, key, item);
	free(item);
	free(abs);
	return 0;
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
 * Where the host's root goes: over virtio-fs when virtiofsd is here (and
 * can run as we are) and the guest kernel has virtiofs, else over 9p.
 * @want is --root-fs (NULL or "auto", "9p", "virtiofs"). Returns true for
 * virtio-fs; -1 in *err when virtio-fs was asked for and cannot be.
 */
static bool root_on_virtiofs(const char *want, const char *moddir, int *err)
{
	struct virtiofsd d;
	const char *why = NULL;

	*err = 0;
	if (want && !strcmp(want, "9p")) {
		pr_info("sandbox: the root is on 9p (--root-fs 9p)");
		return false;
	}
	/* The kernel first: looking for virtiofsd runs it (--help). */
	if (!kernel_has_virtiofs(moddir))
		why = "the guest kernel has no virtiofs module";
	else if (virtiofsd_find(&d))
		why = "no virtiofsd found";
	else if (d.kind == VIRTIOFSD_C && geteuid() != 0)
		why = "QEMU's virtiofsd needs root";
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

static int rm_entry(const char *path, const struct stat *st __unused, int flag __unused,
		    struct FTW *ftw __unused)
{
	if (remove(path) < 0)
		pr_debug("sandbox: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* rm -rf without following symlinks or leaving the scratch's filesystem. */
static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int cmd_sandbox(int argc, const char **argv)
{
	static struct kvm_config cfg;
	static const char *scratch, *moddir, *root_fs;
	static char kernel[PATH_MAX], release[256], tmpdir[PATH_MAX], initrd[64];
	static char moddir_buf[PATH_MAX];
	static char params[4096], cwd[PATH_MAX];
	const struct option extra[] = {
		OPTION_GROUP("Sandbox options:"),
		OPTION_STRING(0, "scratch", &scratch, "<dir>",
			      "the guest's writable /tmp: this host directory (kept), instead "
			      "of a new temporary one removed at exit"),
		OPTION_STRING(0, "modules", &moddir, "<dir>",
			      "the kernel's modules and modules.dep (default /lib/modules/<release>)"),
		OPTION_CALLBACK(0, "root-fs", &root_fs, "auto|9p|virtiofs",
				"how the host's root is shared (default auto: virtio-fs when "
				"virtiofsd and the kernel's virtiofs are there)", check_root_fs),
		OPTION_END(),
	};
	struct strbuf conf = { 0 };
	const char *rootfs, *env, *user;
	int i, n, nr_user_shares, ret = LKVM_EXIT_ERROR, status, err;
	struct option *opts;
	struct utsname u;
	struct cpio c;

	kvm_config_defaults(&cfg);
	opts = kvm_run_options(&cfg, extra);
	n = parse_options(argc - 1, argv + 1, opts, "sandbox");
	if (n == PARSE_OPT_HELP) {
		usage_with_options(stdout, sandbox_usage, opts);
		fputs(sandbox_epilogue, stdout);
		free(opts);
		return 0;
	}
	free(opts);
	if (n < 0)
		return LKVM_EXIT_ERROR;
	if (n == 0) {
		pr_err("sandbox: no command given (lkvm sandbox [<options>] -- <command> [<args>])");
		return LKVM_EXIT_ERROR;
	}
	if (!cfg.kernel_filename) {
		if (uname(&u) < 0)
			return LKVM_EXIT_ERROR;
		snprintf(kernel, sizeof(kernel), "/boot/vmlinuz-%s", u.release);
		if (access(kernel, R_OK)) {
			pr_err("sandbox: no kernel given and %s: %s (use -k/--kernel)", kernel,
			       strerror(errno));
			return LKVM_EXIT_ERROR;
		}
		cfg.kernel_filename = kernel;
		snprintf(release, sizeof(release), "%s", u.release);
	} else if (kernel_release(cfg.kernel_filename, release, sizeof(release))) {
		release[0] = '\0';
	}
	if (kvm_config_finish(&cfg, "sandbox"))
		return LKVM_EXIT_ERROR;
	if (!moddir && release[0]) {
		snprintf(moddir_buf, sizeof(moddir_buf), "/lib/modules/%s", release);
		moddir = moddir_buf;
	} else if (!moddir) {
		pr_warn("sandbox: cannot tell the kernel's release; loading no modules (see --modules)");
	}

	/* The scratch directory: the guest's /tmp. */
	if (!scratch) {
		const char *t = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/lkvm-sandbox.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir)) {
			pr_err("sandbox: cannot create a scratch directory in %s: %s",
			       t && *t ? t : "/tmp", strerror(errno));
			return LKVM_EXIT_ERROR;
		}
		scratch = tmpdir;
	}

	/* The user's --9p and --virtio-fs shares are mounted at their host paths. */
	nr_user_shares = cfg.nr_9p;
	for (i = 0; i < nr_user_shares; i++)
		if (share_at_host_path(&conf, "share", "--9p", cfg.shares_9p[i].tag,
				       cfg.shares_9p[i].dir))
			goto out;
	/* (A socket= --virtio-fs has no host path: the command mounts it by tag.) */
	for (i = 0; i < cfg.nr_vfs; i++)
		if (cfg.vfs[i].dir && share_at_host_path(&conf, "vshare", "--virtio-fs",
							 cfg.vfs[i].tag, cfg.vfs[i].dir))
			goto out;
	if ((cfg.nr_disks || cfg.initrd_filename) && root_fs && strcmp(root_fs, "auto")) {
		pr_err("sandbox: --root-fs %s: the root is the %s", root_fs,
		       cfg.nr_disks ? "first --disk" : "--initrd");
		goto out;
	}
	if (cfg.nr_disks) {
		rootfs = "disk";
		kv(&conf, "root", "/dev/vda");
		kv(&conf, "rootro", cfg.disks[0].readonly ? "1" : "0");
	} else if (cfg.initrd_filename) {
		rootfs = "initramfs";
	} else if (root_on_virtiofs(root_fs, moddir, &err)) {
		rootfs = "virtiofs";
		if (cfg.nr_vfs == LKVM_MAX_VIRTIO_FS) {
			pr_err("sandbox: too many --virtio-fs shares");
			goto out;
		}
		cfg.vfs[cfg.nr_vfs++] = (struct vfs_config){
			.dir = "/", .tag = SANDBOX_ROOT_TAG, .readonly = true,
		};
		cfg.mem_shared = true;
		kv(&conf, "root", SANDBOX_ROOT_TAG);
		kv(&conf, "rootro", "1");
	} else if (err) {
		goto out;
	} else {
		rootfs = "9p";
		if (add_share(&cfg, "/", SANDBOX_ROOT_TAG, true))
			goto out;
		kv(&conf, "root", SANDBOX_ROOT_TAG);
		kv(&conf, "rootro", "1");
	}
	kv(&conf, "rootfs", rootfs);
	if (add_share(&cfg, scratch, SANDBOX_SCRATCH_TAG, false))
		goto out;
	kv(&conf, "scratch", SANDBOX_SCRATCH_TAG);
	if (!strcmp(cfg.console, "virtio"))
		kv(&conf, "console", "/dev/hvc0");
	kv(&conf, "stdin", isatty(STDIN_FILENO) ? "tty" : "null");
	kv(&conf, "hostname", cfg.name);
	if (getcwd(cwd, sizeof(cwd))) {
		kv(&conf, "cwd", cwd);
		/*
		 * The guest's own /tmp, /run, /dev hide the host's: a working
		 * directory below them is shared (read-only, like the rest of
		 * the host's root) so that the command starts where lkvm did.
		 */
		if ((!strcmp(rootfs, "9p") || !strcmp(rootfs, "virtiofs")) &&
		    (!strncmp(cwd, "/tmp/", 5) ||
		    !strncmp(cwd, "/run/", 5) || !strncmp(cwd, "/dev/", 5))) {
			char *item = xmalloc(strlen(cwd) + 16);

			if (add_share(&cfg, cwd, "lkvm-cwd", true))
				goto out;
			sprintf(item, "lkvm-cwd:%s", cwd);
			kv(&conf, "share", item);
			free(item);
		}
	}
	env = getenv("PATH");
	{
		char *e = xmalloc(PATH_MAX + 8);

		snprintf(e, PATH_MAX + 8, "PATH=%s", env && *env ? env :
			 "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
		kv(&conf, "env", e);
		free(e);
	}
	static const char *const pass_env[] = { "HOME", "TERM", "LANG", "LC_ALL", "USER", NULL };
	for (i = 0; pass_env[i]; i++) {
		const char *v = getenv(pass_env[i]);
		char e[1024];

		if (v && strlen(v) < sizeof(e) - 64) {
			snprintf(e, sizeof(e), "%s=%s", pass_env[i], v);
			kv(&conf, "env", e);
		}
	}
	kv(&conf, "env", "LKVM_SANDBOX=1");
	for (i = 1; i <= n; i++)
		kv(&conf, "arg", argv[i]);

	/* The initramfs. */
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
	if (moddir && add_modules(&c, &cfg, moddir, rootfs)) {
		cpio_free(&c);
		goto out;
	}
	cpio_file(&c, SANDBOX_CONFIG + 1, 0600, conf.buf, conf.len);
	cpio_file(&c, "init", 0755, sandbox_init_start,
		  sandbox_init_end - sandbox_init_start);
	cpio_finish(&c);
	i = write_initrd(cfg.initrd_filename, &c, initrd, sizeof(initrd));
	cpio_free(&c);
	if (i)
		goto out;
	cfg.initrd_filename = initrd;

	/*
	 * Quiet boot; a panic reboots, which ends lkvm, rather than hang. Our
	 * own console= leaves out lkvm's default earlyprintk (and with it the
	 * boot messages before the command's output); with --console virtio,
	 * ttyS0 still shows errors until hvc0 exists.
	 */
	user = cfg.params ? cfg.params : "";
	snprintf(params, sizeof(params), "quiet panic=-1%s %s",
		 strstr(user, "console=") ? "" :
		 strcmp(cfg.console, "virtio") ? " console=ttyS0" : " console=ttyS0 console=hvc0",
		 user);
	cfg.params = params;
	cfg.sandbox = true;

	ret = kvm_run_config(&cfg);
	if (sandbox_exit_status(&status)) {
		ret = status;
	} else if (ret == LKVM_EXIT_OK || ret == LKVM_EXIT_GUEST_CRASH) {
		/* 2 could be the command's own status: failures before it are 1. */
		pr_err("sandbox: the guest stopped before the command finished (see the console)");
		ret = LKVM_EXIT_ERROR;
	}
out:
	free(conf.buf);
	if (scratch == tmpdir)
		remove_tree(tmpdir);
	return ret;
}
