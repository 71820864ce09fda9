// SPDX-License-Identifier: GPL-2.0
/*
 * The VM side of the control channel (protocol in include/lkvm/control.h):
 * a thread that accepts connections on ~/.lkvm/<name>.sock, reads one
 * request line, answers it and closes. Clients are other processes of the
 * same user (the directory is 0700, the socket 0600, and the peer's uid is
 * checked), but their bytes are still untrusted: a malformed, oversized or
 * slow request gets an error reply and the VM carries on.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/balloon.h"
#include "lkvm/control.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/pause.h"

#define CTL_READ_TIMEOUT_MS	2000	/* for the request line to arrive */
#define CTL_PAUSE_TIMEOUT_MS	5000
#define CTL_STATS_REFRESH_MS	1000	/* how long `stat` waits for the guest */
#define CTL_ACCEPT_RETRY_MS	100	/* after accept4 ran out of descriptors */

/* One VM's server (kvm->ctl). */
struct ctl_server {
	int lfd, wake_fd;
	pthread_t thread;
	bool running;
	bool bound;
	char path[CTL_PATH_MAX];
	char name[CTL_NAME_MAX + 1];
	char reply[CTL_REPLY_MAX];	/* only the server's thread builds replies */
};

/* Replies are built in a fixed buffer; what doesn't fit is cut off. */
struct reply {
	char *buf;
	size_t len, used;
};

static void __printf(2, 3) rprintf(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->used + 1 >= r->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->used = min(r->used + n, r->len - 1);
}

static u64 vmm_rss_bytes(void)
{
	unsigned long long size, resident;
	long psz = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 && psz > 0 ? resident * (u64)psz : 0;
}

static void reply_state(struct kvm *kvm, struct reply *r)
{
	rprintf(r, "name %s\n", kvm->ctl ? kvm->ctl->name : "");
	rprintf(r, "pid %d\n", (int)getpid());
	rprintf(r, "state %s\n", atomic_load(&kvm->stopping) ? "stopping" :
		kvm__is_paused(kvm) ? "paused" : "running");
}

static void reply_stat(struct kvm *kvm, struct reply *r)
{
	struct balloon_info bi;
	unsigned int i;
	int refresh = kvm__is_paused(kvm) ? 0 : CTL_STATS_REFRESH_MS;

	reply_state(kvm, r);
	rprintf(r, "rss_bytes %llu\n", (unsigned long long)vmm_rss_bytes());
	rprintf(r, "guest_ram_bytes %llu\n", (unsigned long long)kvm->cfg.ram_size);
	if (balloon_get_info(kvm, &bi, refresh)) {
		rprintf(r, "balloon absent\n");
		return;
	}
	rprintf(r, "balloon %s\n", bi.driver_ok ? "active" : "waiting-for-driver");
	rprintf(r, "balloon_reporting %s\n",
		bi.features & (1ULL << VIRTIO_BALLOON_F_REPORTING) ? "on" : "off");
	rprintf(r, "balloon_target_bytes %llu\n", (unsigned long long)bi.target_bytes);
	rprintf(r, "balloon_actual_bytes %llu\n", (unsigned long long)bi.actual_bytes);
	rprintf(r, "balloon_inflated_pages %llu\n", (unsigned long long)bi.inflated_pages);
	rprintf(r, "balloon_deflated_pages %llu\n", (unsigned long long)bi.deflated_pages);
	rprintf(r, "balloon_inflate_freed_bytes %llu\n",
		(unsigned long long)bi.inflate_freed_bytes);
	rprintf(r, "reported_freed_bytes %llu\n", (unsigned long long)bi.reported_bytes);
	rprintf(r, "reported_ranges %llu\n", (unsigned long long)bi.reports);
	rprintf(r, "balloon_rejected %llu\n", (unsigned long long)bi.rejected);
	if (!bi.have_stats)
		return;
	rprintf(r, "stats_age_ms %llu\n", (unsigned long long)bi.stats_age_ms);
	for (i = 0; i < BALLOON_NR_STATS; i++)
		if (bi.stats.mask & (1U << i))
			rprintf(r, "guest_%s %llu\n", balloon_stat_names[i],
				(unsigned long long)bi.stats.val[i]);
}

void ctl_handle_request(struct kvm *kvm, const char *buf, size_t len, char *out,
			size_t outlen)
{
	struct reply r = { .buf = out, .len = outlen };
	struct ctl_request req;
	char err[160];

	out[0] = '\0';
	if (ctl_parse_request(buf, len, &req, err, sizeof(err))) {
		rprintf(&r, "error %s\n", err);
		return;
	}
	switch (req.cmd) {
	case CTL_INFO:
		rprintf(&r, "ok\n");
		reply_state(kvm, &r);
		break;
	case CTL_STOP:
		kvm__request_stop(kvm, LKVM_EXIT_OK, "guest stopped by 'lkvm stop'");
		rprintf(&r, "ok\n");
		break;
	case CTL_PAUSE:
		if (kvm__pause(kvm, CTL_PAUSE_TIMEOUT_MS))
			rprintf(&r, "error the vCPUs could not be paused%s\n",
				atomic_load(&kvm->stopping) ? " (the VM is stopping)" : "");
		else
			rprintf(&r, "ok\n");
		break;
	case CTL_RESUME:
		kvm__resume(kvm);
		rprintf(&r, "ok\n");
		break;
	case CTL_STAT:
		rprintf(&r, "ok\n");
		reply_stat(kvm, &r);
		break;
	case CTL_BALLOON:
		if (balloon_adjust(kvm, req.inflate, req.bytes, err, sizeof(err)))
			rprintf(&r, "error %s\n", err);
		else
			rprintf(&r, "ok\n");
		break;
	}
}

/*
 * Read the request: up to the first newline, at most CTL_REQ_MAX bytes, in
 * at most CTL_READ_TIMEOUT_MS. Returns its length, or 0 with the reason in
 * @err. @size is CTL_REQ_MAX + 1, so an overlong line is seen as such.
 */
static size_t read_request(int fd, char *buf, size_t size, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	u64 deadline = now_ns() + CTL_READ_TIMEOUT_MS * 1000000ULL;
	size_t got = 0;
	char *nl;

	while (got < size) {
		u64 now = now_ns();
		ssize_t r;

		if (now >= deadline || poll(&pfd, 1, (deadline - now) / 1000000 + 1) <= 0) {
			snprintf(err, errlen, "incomplete request (no newline within %d ms)",
				 CTL_READ_TIMEOUT_MS);
			return 0;
		}
		r = recv(fd, buf + got, size - got, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;		/* EOF: the parser says what is missing */
		got += r;
		nl = memchr(buf, '\n', got);
		if (nl && (size_t)(nl - buf) + 1 != got) {
			snprintf(err, errlen, "data after the request line");
			return 0;
		}
		if (nl)
			return got;
	}
	if (got >= size) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
		return 0;
	}
	if (!got)
		snprintf(err, errlen, "empty request");
	return got;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* the client went away; nothing to do */
		p += n;
		len -= n;
	}
}

static void serve(struct kvm *kvm, int fd)
{
	char *reply = kvm->ctl->reply;
	char buf[CTL_REQ_MAX + 1], err[128];
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	size_t len;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0)) {
		snprintf(reply, CTL_REPLY_MAX, "error permission denied\n");
	} else if (!(len = read_request(fd, buf, sizeof(buf), err, sizeof(err)))) {
		snprintf(reply, CTL_REPLY_MAX, "error %s\n", err);
	} else {
		ctl_handle_request(kvm, buf, len, reply, CTL_REPLY_MAX);
	}
	send_all(fd, reply, strlen(reply));
}

static void *ctl_thread(void *arg)
{
	struct kvm *kvm = arg;
	struct ctl_server *srv = kvm->ctl;
	struct pollfd pfd[2] = {
		{ .fd = srv->lfd, .events = POLLIN },
		{ .fd = srv->wake_fd, .events = POLLIN },
	};

	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("control: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/*
			 * Out of descriptors or memory: the connection stays
			 * queued and poll() reports it again at once, so wait
			 * (for stop, or the retry) instead of spinning.
			 */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				poll(&pfd[1], 1, CTL_ACCEPT_RETRY_MS);
			continue;	/* or the client gave up already */
		}
		serve(kvm, fd);
		close(fd);
	}
}

/*
 * Take the socket path: a live VM of the same name is an error; a socket
 * nobody listens on is what a dead VM left behind, and is removed.
 */
static int claim_path(const char *path, const char *name)
{
	struct stat st;
	int fd = ctl_connect_path(path);

	if (fd >= 0) {
		close(fd);
		pr_err("a VM named '%s' is already running (%s); pick another --name",
		       name, path);
		return -1;
	}
	if (errno == ENOENT)
		return 0;
	if (errno != ECONNREFUSED || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		pr_err("control socket %s is unusable: %s", path,
		       errno == ECONNREFUSED ? "not a socket" : strerror(errno));
		return -1;
	}
	pr_debug("control: removing the stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		pr_err("cannot remove the stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int ctl_server_start(struct kvm *kvm)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t all, old;
	mode_t mask;
	struct ctl_server *srv = xzalloc(sizeof(*srv));
	int r;

	srv->lfd = srv->wake_fd = -1;
	kvm->ctl = srv;
	if (kvm->cfg.name)
		snprintf(srv->name, sizeof(srv->name), "%s", kvm->cfg.name);
	else
		snprintf(srv->name, sizeof(srv->name), "guest-%d", (int)getpid());
	if (ctl_sock_path(srv->name, srv->path, sizeof(srv->path))) {
		pr_err("--name '%s': use 1-%d letters, digits, '.', '_' or '-' (the control socket's name)",
		       srv->name, CTL_NAME_MAX);
		return -1;
	}
	if (ctl_make_sock_dir() || claim_path(srv->path, srv->name))
		return -1;

	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	srv->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (srv->lfd < 0 || srv->wake_fd < 0) {
		pr_err("control socket: %s", strerror(errno));
		return -1;
	}
	strcpy(sa.sun_path, srv->path);
	/* Never visible with looser permissions than 0600, even briefly. */
	mask = umask(0177);
	r = bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (r < 0) {
		pr_err("cannot bind %s: %s%s", srv->path, strerror(errno),
		       errno == EADDRINUSE ? " (another VM took this name)" : "");
		return -1;
	}
	srv->bound = true;
	if (chmod(srv->path, 0600) < 0 || listen(srv->lfd, 16) < 0) {
		pr_err("control socket %s: %s", srv->path, strerror(errno));
		return -1;
	}

	/* The thread takes no signals: kvm__catch_signals()' signalfd gets them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = lkvm_thread_create(&srv->thread, ctl_thread, kvm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pr_err("cannot start the control thread: %s", strerror(r));
		return -1;
	}
	thread_set_name(srv->thread, "ctl");
	srv->running = true;
	pr_debug("control: listening on %s", srv->path);
	return 0;
}

void ctl_server_stop(struct kvm *kvm)
{
	struct ctl_server *srv = kvm->ctl;

	if (!srv)
		return;
	if (srv->running) {
		eventfd_write(srv->wake_fd, 1);
		pthread_join(srv->thread, NULL);
	}
	if (srv->bound)
		unlink(srv->path);
	close_fd(&srv->lfd);
	close_fd(&srv->wake_fd);
	free(srv);
	kvm->ctl = NULL;
}

static int control_init(struct kvm *kvm)
{
	/* A failed init item gets no exit call: clean up here. */
	if (ctl_server_start(kvm)) {
		ctl_server_stop(kvm);
		return -1;
	}
	return 0;
}

static void control_exit(struct kvm *kvm)
{
	ctl_server_stop(kvm);
}
last_init(control_init, control_exit);
