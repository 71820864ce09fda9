// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's /init for lkvm sandbox. A static program, built with the
 * guest's architecture and embedded in lkvm (sandbox/init-blob.S), so the
 * sandbox needs nothing from the guest's root filesystem but the command:
 * no shell, no busybox, no initramfs tools.
 *
 * 1. mount /dev, /proc, /sys; load the modules lkvm put in /lkvm/modules
 *    (virtio transport, 9p, console...), in their file name order;
 * 2. mount the root: the host's / over 9p read-only, a disk, or stay in
 *    the initramfs; over it mount the guest's own /dev, /proc, /sys, /run,
 *    and the writable scratch share at /tmp, then other shares at their
 *    host paths; switch to it;
 *    with --net, eth0 gets the address passt hands out and a default route;
 * 3. run the command with the console as its stdout and stderr;
 * 4. drain the console, sync, and write the command's status to lkvm's
 *    sandbox exit register, which ends the VM.
 *
 * What to do comes from /lkvm/config: NUL-separated key=value strings
 * (see builtin-sandbox.c), so arguments need no quoting.
 */
#define LKVM_SANDBOX_INIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif

#include "lkvm/sandbox.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE	4
#endif

#define MAX_ITEMS	4096

static char *config[MAX_ITEMS];
static int nr_config;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "lkvm-sandbox: ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(buf);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The first value of @key, or NULL. */
static const char *get(const char *key)
{
	size_t kl = strlen(key);
	int i;

	for (i = 0; i < nr_config; i++)
		if (!strncmp(config[i], key, kl) && config[i][kl] == '=')
			return config[i] + kl + 1;
	return NULL;
}

/* Every value of @key, NULL-terminated, in order. */
static char **get_all(const char *key)
{
	static char *vals[MAX_ITEMS + 1];
	size_t kl = strlen(key);
	int i, n = 0;

	for (i = 0; i < nr_config; i++)
		if (!strncmp(config[i], key, kl) && config[i][kl] == '=')
			vals[n++] = config[i] + kl + 1;
	vals[n] = NULL;
	return vals;
}

static char **dup_all(const char *key)
{
	char **src = get_all(key), **dst;
	int n = 0;

	while (src[n])
		n++;
	dst = calloc(n + 1, sizeof(*dst));
	if (dst)
		memcpy(dst, src, n * sizeof(*dst));
	return dst;
}

static int read_config(void)
{
	static char buf[1 << 20];
	ssize_t n, off = 0;
	int fd = open(SANDBOX_CONFIG, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
		off += n;
	close(fd);
	buf[off] = '\0';
	for (n = 0; n < off && nr_config < MAX_ITEMS; n += strlen(buf + n) + 1)
		config[nr_config++] = buf + n;
	return 0;
}

static void mount_warn(const char *src, const char *dst, const char *type,
		       unsigned long flags, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0)
		say("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_modules(void)
{
	static char *names[1024];
	struct dirent *e;
	int n = 0, i;
	DIR *d = opendir(SANDBOX_MODULES);

	if (!d)
		return;
	while ((e = readdir(d)) && n < 1024)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		char path[512];
		int fd, flags = 0;

		snprintf(path, sizeof(path), "%s/%s", SANDBOX_MODULES, names[i]);
		if (!strstr(names[i], ".ko") || strstr(names[i], ".ko")[3])
			flags = MODULE_INIT_COMPRESSED_FILE;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
			say("cannot load %s: %s", names[i], strerror(errno));
		close(fd);
	}
}

/* Open the console device for the command's stdio (it may still be appearing). */
static void open_console(const char *dev)
{
	int fd = -1, i;

	for (i = 0; i < 100 && fd < 0; i++) {
		fd = open(dev, O_RDWR | O_NOCTTY);
		if (fd < 0)
			sleep_ms(50);
	}
	if (fd < 0) {
		say("cannot open %s: %s", dev, strerror(errno));
		return;
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int mount_9p(const char *tag, const char *dst, bool ro, const char *cache)
{
	char opts[256];
	int i;

	snprintf(opts, sizeof(opts), "trans=virtio,version=9p2000.L,msize=%s,cache=%s",
		 get("msize") ? get("msize") : "512000", cache);
	/* The device may still be probing right after its module loaded. */
	for (i = 0; i < 40; i++) {
		if (mount(tag, dst, "9p", ro ? MS_RDONLY : 0, opts) == 0)
			return 0;
		if (errno != ENOENT && errno != ENODEV)
			break;
		sleep_ms(50);
	}
	say("cannot mount the 9p share '%s' on %s: %s", tag, dst, strerror(errno));
	return -1;
}

static int mount_virtiofs(const char *tag, const char *dst, bool ro)
{
	int i;

	for (i = 0; i < 40; i++) {
		if (mount(tag, dst, "virtiofs", ro ? MS_RDONLY : 0, NULL) == 0)
			return 0;
		if (errno != ENOENT && errno != ENODEV && errno != EINVAL)
			break;
		sleep_ms(50);
	}
	say("cannot mount the virtio-fs share '%s' on %s: %s", tag, dst, strerror(errno));
	return -1;
}

/* mkdir -p, ignoring errors (the mount that follows reports them). */
static void mkdirs(const char *path)
{
	char p[4096];
	size_t i;

	snprintf(p, sizeof(p), "%s", path);
	for (i = 1; p[i]; i++) {
		if (p[i] == '/') {
			p[i] = '\0';
			mkdir(p, 0755);
			p[i] = '/';
		}
	}
	mkdir(p, 0755);
}

static int mount_disk(const char *dev, const char *dst, bool ro)
{
	static const char *const types[] = { "ext4", "xfs", "btrfs", "ext2", "vfat", NULL };
	int i, j;

	for (j = 0; j < 40; j++) {
		for (i = 0; types[i]; i++)
			if (mount(dev, dst, types[i], ro ? MS_RDONLY : 0, NULL) == 0)
				return 0;
		if (errno != ENOENT && errno != ENXIO)
			break;
		sleep_ms(50);
	}
	say("cannot mount %s: %s", dev, strerror(errno));
	return -1;
}

/* Mount the shares of config key @key (TAG:PATH) at PATH below @dir. */
static void mount_shares(const char *dir, const char *key, bool virtiofs)
{
	char p[4096], **shares = get_all(key);
	int i;

	for (i = 0; shares[i]; i++) {
		char *colon = strchr(shares[i], ':');

		if (!colon)
			continue;
		*colon = '\0';
		snprintf(p, sizeof(p), "%s%s", strcmp(dir, "/") ? dir : "", colon + 1);
		mkdirs(p);
		if (virtiofs)
			mount_virtiofs(shares[i], p, false);
		else
			mount_9p(shares[i], p, false, "mmap");
		*colon = ':';
	}
}

/* Build the command's root under @dir (or in place when @dir is "/"). */
static void populate(const char *dir)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/dev", dir);
	if (strcmp(dir, "/"))
		mount_warn("devtmpfs", p, "devtmpfs", MS_NOSUID, "mode=0755");
	snprintf(p, sizeof(p), "%s/dev/pts", dir);
	mount_warn("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666");
	snprintf(p, sizeof(p), "%s/dev/shm", dir);
	mount_warn("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	if (strcmp(dir, "/")) {
		snprintf(p, sizeof(p), "%s/proc", dir);
		mount_warn("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
		snprintf(p, sizeof(p), "%s/sys", dir);
		mount_warn("sysfs", p, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	}
	snprintf(p, sizeof(p), "%s/run", dir);
	mount_warn("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	snprintf(p, sizeof(p), "%s/tmp", dir);
	if (get("scratch")) {
		mkdir(p, 01777);
		mount_9p(get("scratch"), p, false, "mmap");
	} else {
		mount_warn("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	}
	/*
	 * share=TAG:PATH, vshare=TAG:PATH - the user's --9p and --virtio-fs
	 * shares, where they are on the host.
	 */
	mount_shares(dir, "share", false);
	mount_shares(dir, "vshare", true);
}

static void switch_root(const char *dir)
{
	if (chdir(dir) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		say("cannot switch to the new root: %s", strerror(errno));
}

static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/*
 * net=IF ADDR/PREFIX GATEWAY (lkvm sandbox --net): the addresses passt
 * hands out are fixed, so no DHCP client is needed here.
 */
static void net_up(void)
{
	struct sockaddr_in *sin;
	struct rtentry rt = { 0 };
	struct ifreq ifr = { 0 };
	char ifname[IFNAMSIZ] = "", addr[16] = "", gw[16] = "";
	unsigned int prefix = 0;
	int s;

	if (!get("net") || sscanf(get("net"), "%15s %15[0-9.]/%u %15s", ifname, addr, &prefix,
				  gw) != 4 || prefix > 32)
		return;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	strcpy(ifr.ifr_name, ifname);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		say("%s: cannot set its address: %s", ifname, strerror(errno));
	sin->sin_addr.s_addr = htonl(prefix ? ~0U << (32 - prefix) : 0);
	ioctl(s, SIOCSIFNETMASK, &ifr);
	/* passt's own MTU (what its DHCP would say): fewer, larger frames. */
	ifr.ifr_mtu = 65520;
	ioctl(s, SIOCSIFMTU, &ifr);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	sin = (struct sockaddr_in *)&rt.rt_gateway;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, gw, &sin->sin_addr);
	((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(s, SIOCADDRT, &rt) < 0)
		say("%s: cannot add the default route: %s", ifname, strerror(errno));
	close(s);
}

/*
 * The host's /etc/resolv.conf names servers the guest cannot reach (often
 * its own loopback): cover it with one naming passt's DNS forwarder.
 */
static void resolv_conf(const char *root)
{
	char path[64], line[64];
	int fd, n;

	if (!get("dns"))
		return;
	snprintf(path, sizeof(path), "%s/run/lkvm-resolv.conf", root);
	n = snprintf(line, sizeof(line), "nameserver %s\n", get("dns"));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n)
		say("resolv.conf: %s", strerror(errno));
	close(fd);
	snprintf(line, sizeof(line), "%s/etc/resolv.conf", root);
	/* Quietly not, when it is missing or a symlink into the host's /run. */
	mount(path, line, NULL, MS_BIND, NULL);
}

static __attribute__((noreturn)) void finish(int status, bool report)
{
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	sync();
	if (report) {
#ifdef SANDBOX_EXIT_PORT
		if (ioperm(SANDBOX_EXIT_PORT, 4, 1) == 0)
			outl(SANDBOX_EXIT_MAGIC | (status & 0xff), SANDBOX_EXIT_PORT);
		else
			say("cannot reach the exit register: %s", strerror(errno));
#else
		(void)status;	/* no exit register on this architecture */
#endif
	}
	/* Only reached when the register did not stop the VM. */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static int run_command(void)
{
	char **argv = dup_all("arg"), **envp = dup_all("env");
	const char *cwd = get("cwd"), *in = get("stdin");
	pid_t pid, w;
	int st;

	if (!argv || !argv[0]) {
		say("no command given");
		return 127;
	}
	if (in && !strcmp(in, "null")) {
		struct termios t;
		int fd = open("/dev/null", O_RDONLY);

		/* Output as written: no "\n" -> "\r\n" on the console. */
		if (tcgetattr(STDOUT_FILENO, &t) == 0) {
			t.c_oflag &= ~OPOST;
			tcsetattr(STDOUT_FILENO, TCSANOW, &t);
		}
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
	}
	pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		return 127;
	}
	if (!pid) {
		setsid();
		if (!in || strcmp(in, "null"))
			ioctl(STDIN_FILENO, TIOCSCTTY, 1);
		if (cwd && chdir(cwd) < 0) {
			say("working directory %s: %s; using /", cwd, strerror(errno));
			if (chdir("/") < 0)
				_exit(127);
		}
		clearenv();
		for (char **e = envp; e && *e; e++)
			putenv(*e);
		execvp(argv[0], argv);
		say("cannot run %s: %s", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* As PID 1, reap everything; the command's own status is the answer. */
	for (;;) {
		w = wait(&st);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return 127;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* The command's root on /newroot: the host's over 9p or virtio-fs, or a disk. */
static void enter_root(const char *rootfs, const char *root, bool ro)
{
	int err;

	mkdir("/newroot", 0755);
	if (!strcmp(rootfs, "9p"))
		err = mount_9p(root, "/newroot", ro, ro ? "loose" : "mmap");
	else if (!strcmp(rootfs, "virtiofs"))
		err = mount_virtiofs(root, "/newroot", ro);
	else
		err = mount_disk(root, "/newroot", ro);
	if (err)
		finish(0, false);
	populate("/newroot");
	/* Not on a virtio-fs root: it never was; changing that wants its own test. */
	if (strcmp(rootfs, "virtiofs"))
		resolv_conf("/newroot");
	switch_root("/newroot");
}

int main(void)
{
	const char *rootfs, *root;
	bool ro;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0)
		open_console("/dev/console");
	mount_warn("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_warn("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

	if (read_config() < 0) {
		say("no %s in the initramfs", SANDBOX_CONFIG);
		finish(0, false);
	}
	load_modules();
	if (get("console"))
		open_console(get("console"));
	if (get("hostname"))
		sethostname(get("hostname"), strlen(get("hostname")));
	loopback_up();
	net_up();

	rootfs = get("rootfs");
	root = get("root");
	ro = get("rootro") && !strcmp(get("rootro"), "1");
	if (rootfs && (!strcmp(rootfs, "9p") || !strcmp(rootfs, "virtiofs") ||
		       !strcmp(rootfs, "disk"))) {
		enter_root(rootfs, root, ro);
	} else {
		populate("/");
		resolv_conf("");
	}
	finish(run_command(), true);
}
