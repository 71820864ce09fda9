// SPDX-License-Identifier: GPL-2.0
/*
 * Starting and stopping virtiofsd for --virtio-fs DIR,TAG. Two programs
 * answer to that name with different command lines: QEMU's C daemon (Debian
 * 12: /usr/lib/qemu/virtiofsd, `-o source=DIR`, needs root) and the Rust one
 * (`--shared-dir DIR`, runs unprivileged). Which one we found is read from
 * its --help, not guessed from its path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/virtio-fs.h"

#define VIRTIOFSD_HELP_MAX	65536
#define VIRTIOFSD_STOP_MS	3000
/* Open files for a daemon under --user: it keeps one per inode the guest knows. */
#define VIRTIOFSD_NOFILE	1000000

#define STR_(x)			#x
#define STR(x)			STR_(x)
#define LISTEN_FD_STR		STR(VIRTIOFSD_LISTEN_FD)

static bool is_exec(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static int find_program(char *out, size_t len)
{
	static const char *const dirs[] = { "/usr/libexec", "/usr/lib/qemu" };
	const char *env = getenv("LKVM_VIRTIOFSD"), *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	size_t i;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return is_exec(out) ? 0 : -1;
	}
	if (path) {
		copy = xstrdup(path);
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			snprintf(out, len, "%s/virtiofsd", *dir ? dir : ".");
			if (is_exec(out)) {
				free(copy);
				return 0;
			}
		}
		free(copy);
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(out, len, "%s/virtiofsd", dirs[i]);
		if (is_exec(out))
			return 0;
	}
	return -1;
}

enum virtiofsd_kind virtiofsd_kind_of(const char *help, bool *has_readonly)
{
	*has_readonly = false;
	/* The Rust daemon's options are all long ones; the C one takes -o source=. */
	if (strstr(help, "--shared-dir")) {
		*has_readonly = strstr(help, "--readonly") != NULL;
		return VIRTIOFSD_RUST;
	}
	if (strstr(help, "source=") && strstr(help, "--socket-path"))
		return VIRTIOFSD_C;
	return VIRTIOFSD_NONE;
}

/* Run `@prog --help` and collect what it prints (both streams). */
static char *read_help(const char *prog)
{
	char *buf = xzalloc(VIRTIOFSD_HELP_MAX + 1);
	size_t got = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl(prog, prog, "--help", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf + got, VIRTIOFSD_HELP_MAX - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (got == VIRTIOFSD_HELP_MAX)
			break;
	}
	close(p[0]);
	kill(pid, SIGKILL);	/* a program that keeps writing is not virtiofsd */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return buf;
fail:
	free(buf);
	return NULL;
}

int virtiofsd_find(struct virtiofsd *d)
{
	char *help;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->conn = -1;
	if (find_program(d->path, sizeof(d->path)))
		return -1;
	help = read_help(d->path);
	if (!help)
		return -1;
	d->kind = virtiofsd_kind_of(help, &d->has_readonly);
	free(help);
	return d->kind == VIRTIOFSD_NONE ? -1 : 0;
}

int virtiofsd_argv(struct virtiofsd *d, const char *dir, bool readonly,
		   const char **argv, int max)
{
	int n = 0;

#define ARG(s) do { if (n < max - 1) argv[n++] = (s); } while (0)
	ARG(d->path);
	/* lkvm's socket, already listening: no pid file, no waiting for it. */
	ARG("--fd=" LISTEN_FD_STR);
	if (d->kind == VIRTIOFSD_C) {
		snprintf(d->src_opt, sizeof(d->src_opt), "source=%s", dir);
		ARG("-o");
		ARG(d->src_opt);
		/* One request at a time, completed in order; errors only on stderr. */
		ARG("--thread-pool-size=0");
		ARG("-o");
		ARG("log_level=err");
		if (d->chroot) {
			ARG("-o");
			ARG("sandbox=chroot");
		}
	} else {
		snprintf(d->src_opt, sizeof(d->src_opt), "--shared-dir=%s", dir);
		ARG(d->src_opt);
		ARG("--thread-pool-size=0");
		ARG("--log-level=error");
		if (readonly && d->has_readonly)
			ARG("--readonly");
		/* Its namespace sandbox needs privileges an unprivileged lkvm lacks. */
		if (geteuid() != 0 && !d->as_user)
			ARG("--sandbox=none");
		else if (d->chroot)
			ARG("--sandbox=chroot");
	}
	/* Raised by lkvm before the daemon lost the right to (become_user()). */
	if (d->as_user)
		ARG("--rlimit-nofile=0");
#undef ARG
	argv[n] = NULL;
	return n;
}

/*
 * A read-only share the daemon cannot enforce itself: in the daemon's own
 * mount namespace @dir is bind-mounted read-only at @at (in lkvm's private
 * directory), which the daemon shares instead, so every write fails with
 * EROFS in the host kernel, whatever the daemon does. Only @at is read-only:
 * the daemon still writes its pid file and socket elsewhere (making @dir
 * itself read-only would take / with it when / is shared). Needs root (as
 * the C daemon does anyway).
 */
static int make_readonly(const char *dir, const char *at)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(dir, at, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	/* The mounts below @dir too (Linux 5.12+); else only @dir's own. */
	if (!mount_setattr(AT_FDCWD, at, AT_RECURSIVE, &ro, sizeof(ro)))
		return 0;
	return mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

/*
 * Is / the initial ramfs? Then pivot_root(2), which both daemons' namespace
 * sandbox uses, fails (EINVAL: rootfs has no parent mount), and they must
 * chroot instead. Seen in initramfs-only systems such as the test L1.
 */
static bool root_is_rootfs(void)
{
	char line[1024], *sep;
	bool rootfs = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	/* Fields: id parent major:minor root mountpoint ... - fstype source ... */
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[4];

		copy_word(mnt, sizeof(mnt), skip_words(line, 4));
		if (strcmp(mnt, "/"))
			continue;
		sep = strstr(line, " - ");
		/* The last mount on / is the one that counts. */
		rootfs = sep && !strncmp(sep + 3, "rootfs ", 7);
	}
	if (f)
		fclose(f);
	return rootfs;
}

/* Write @s into a /proc/self file. */
static int write_proc(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * lkvm's --user, for the daemon (in its child, still root): both kinds want
 * to be root (QEMU's has no other mode; the Rust one switches to the
 * guest's uids for every create), so the child becomes the user and then
 * root of a user namespace of its own in which uid 0 is the user and no
 * other id is mapped. The daemon then reaches only what the user may, and
 * what it makes on the host is the user's, as with 9P under --user: the
 * guest's root works as the user; other guest uids cannot create files
 * (EINVAL: not mapped). Returns what failed, or NULL.
 */
static const char *become_user(const struct virtiofsd *d)
{
	struct rlimit nofile;
	char map[32];

	/* Only root may raise it, and the daemon won't be (--rlimit-nofile=0). */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max < VIRTIOFSD_NOFILE) {
		nofile.rlim_cur = nofile.rlim_max = VIRTIOFSD_NOFILE;
		setrlimit(RLIMIT_NOFILE, &nofile);	/* else the daemon lives with less */
	}
	if (setgroups(0, NULL) < 0 || setresgid(d->gid, d->gid, d->gid) < 0 ||
	    setresuid(d->uid, d->uid, d->uid) < 0)
		return "cannot change to the user";
	if (unshare(CLONE_NEWUSER) < 0)
		return "cannot create a user namespace (user.max_user_namespaces?)";
	/*
	 * The change of uid (and the new namespace's capabilities) made us
	 * undumpable, and so /proc/self/ root's, maps included.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)d->uid);
	if (write_proc("/proc/self/setgroups", "deny") < 0 ||
	    write_proc("/proc/self/uid_map", map) < 0)
		return "cannot map the user into its user namespace";
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)d->gid);
	if (write_proc("/proc/self/gid_map", map) < 0)
		return "cannot map the group into its user namespace";
	return NULL;
}

/* The child: set up, then exec the daemon; on failure tell @errfd why. */
static void __attribute__((noreturn))
run_daemon(const struct virtiofsd *d, const char **argv, const char *dir, const char *ro_root,
	   pid_t parent, int lfd, int errfd)
{
	char msg[512];
	const char *what = NULL;
	sigset_t none;
	int e = 0;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The daemon's descriptor number must not be the error pipe's. */
	if (errfd == VIRTIOFSD_LISTEN_FD)
		errfd = fcntl(errfd, F_DUPFD_CLOEXEC, VIRTIOFSD_LISTEN_FD + 1);
	if (ro_root && make_readonly(dir, ro_root) < 0) {
		e = errno;
		snprintf(msg, sizeof(msg), "cannot make %s read-only: %s", dir, strerror(e));
		goto fail;
	}
	/* The terminal is the guest's: the daemon reads nothing. */
	close(0);
	open("/dev/null", O_RDONLY);
	/* At its number, without O_CLOEXEC (which dup2() onto itself keeps). */
	if (lfd == VIRTIOFSD_LISTEN_FD ? fcntl(lfd, F_SETFD, 0) < 0 :
	    dup2(lfd, VIRTIOFSD_LISTEN_FD) < 0) {
		snprintf(msg, sizeof(msg), "cannot pass the socket: %s", strerror(errno));
		goto fail;
	}
	if (d->as_user && (what = become_user(d))) {
		e = errno;
		snprintf(msg, sizeof(msg), "--user: %s: %s", what, strerror(e));
		goto fail;
	}
	/*
	 * It must not outlive lkvm, even a SIGKILLed one (set here: a change of
	 * user clears it).
	 */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	execv(argv[0], (char **)argv);
	snprintf(msg, sizeof(msg), "cannot run %s: %s", argv[0], strerror(errno));
fail:
	if (write(errfd, msg, strlen(msg)) < 0)
		_exit(127);
	_exit(126);
}

/* lkvm's end: a socket listening at @path, for the daemon to accept on. */
static int listen_at(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
		pr_err("virtiofsd: cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int virtiofsd_start(struct virtiofsd *d, const char *dir, bool readonly)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *argv[16], *src = dir;
	char tmpl[] = "/tmp/lkvm-virtiofs-XXXXXX", ro_root[96], msg[512];
	bool bind_ro = readonly && !d->has_readonly;
	int lfd = -1, errp[2], status;
	pid_t pid, parent = getpid();
	ssize_t n;

	d->conn = -1;
	if (readonly && !d->has_readonly && geteuid() != 0) {
		pr_err("--virtio-fs %s,ro: this virtiofsd has no --readonly; lkvm needs root to make the share read-only",
		       dir);
		return -1;
	}
	/* The socket lives in a directory only we (and --user) can enter. */
	if (!mkdtemp(tmpl)) {
		pr_err("virtiofsd: cannot create a private directory: %s", strerror(errno));
		return -1;
	}
	snprintf(d->dir, sizeof(d->dir), "%s", tmpl);
	snprintf(d->socket, sizeof(d->socket), "%s/sock", d->dir);
	/* The daemon under --user reaches root/ through it; lkvm empties it at exit. */
	if (d->as_user && chown(d->dir, d->uid, d->gid) < 0) {
		pr_err("virtiofsd: cannot give %s to --user: %s", d->dir, strerror(errno));
		goto fail;
	}
	d->chroot = root_is_rootfs();
	if (bind_ro) {
		snprintf(ro_root, sizeof(ro_root), "%s/root", d->dir);
		if (mkdir(ro_root, 0700) < 0) {
			pr_err("virtiofsd: cannot create %s: %s", ro_root, strerror(errno));
			goto fail;
		}
		src = ro_root;
	}
	virtiofsd_argv(d, src, readonly, argv, ARRAY_SIZE(argv));
	lfd = listen_at(d->socket);
	if (lfd < 0)
		goto fail;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		pr_err("virtiofsd: pipe: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		close(errp[0]);
		run_daemon(d, argv, dir, bind_ro ? ro_root : NULL, parent, lfd, errp[1]);
	}
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		pr_err("virtiofsd: fork: %s", strerror(errno));
		goto fail;
	}
	/* The pipe closes on exec; what comes through it is why there was none. */
	do
		n = read(errp[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n > 0) {
		msg[n] = '\0';
		pr_err("virtiofsd (%s): %s", d->path, msg);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	d->pid = pid;
	pr_debug("virtiofsd: started %s (pid %d) for %s on %s%s", d->path, pid, dir, d->socket,
		 d->as_user ? " as --user" : "");
	/* Queued until the daemon accepts; a daemon that dies resets it. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", d->socket);
	d->conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->conn < 0 || connect(d->conn, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		pr_err("virtiofsd: cannot connect to %s: %s", d->socket, strerror(errno));
		goto fail;
	}
	close(lfd);
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	virtiofsd_stop(d, NULL);
	return -1;
}

static bool reaped(pid_t pid, int ms)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int i, status;

	for (i = 0; i <= ms / 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

void virtiofsd_stop(struct virtiofsd *d, int *conn)
{
	if (d->pid > 0) {
		/*
		 * SIGTERM while the connection is up: QEMU's daemon ends quietly
		 * then, but complains ("Unexpected poll revents") when it sees
		 * the connection close first. Should lkvm no longer be allowed
		 * to signal it (EPERM; under --user the daemon runs as that
		 * user, so it should not happen), closing the connection is what
		 * ends it.
		 */
		if (kill(d->pid, SIGTERM) < 0 && errno == EPERM) {
			if (conn && *conn >= 0) {
				close(*conn);
				*conn = -1;
			}
			if (!reaped(d->pid, VIRTIOFSD_STOP_MS))
				pr_warn("virtiofsd (pid %d) did not exit and cannot be signalled",
					d->pid);
		} else if (!reaped(d->pid, VIRTIOFSD_STOP_MS)) {
			kill(d->pid, SIGKILL);
			reaped(d->pid, VIRTIOFSD_STOP_MS);
		}
		d->pid = -1;
	}
	if (d->conn >= 0)
		close(d->conn);
	d->conn = -1;
	/* The socket and whatever the daemon put beside it. */
	if (d->dir[0]) {
		DIR *dir = opendir(d->dir);
		struct dirent *e;

		while (dir && (e = readdir(dir)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    unlinkat(dirfd(dir), e->d_name, 0) < 0)
				unlinkat(dirfd(dir), e->d_name, AT_REMOVEDIR);	/* root/ */
		if (dir)
			closedir(dir);
		rmdir(d->dir);
	}
	d->socket[0] = d->dir[0] = '\0';
}
