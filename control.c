// SPDX-License-Identifier: GPL-2.0
/*
 * The VM side of the control channel (protocol in include/lkvm/control.h):
 * a thread that accepts connections on ~/.lkvm/<name>.sock, reads one
 * request line from each, answers it and closes. Clients are other processes of the
 * same user (the directory is 0700, the socket 0600, and the peer's uid is
 * checked), but their bytes are still untrusted: a malformed, oversized or
 * slow request gets an error reply and the VM carries on.
 */
#include <errno.h>
#include <fcntl.h>
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
#define CTL_MAX_CLIENTS		16	/* served at once */

/* One VM's server (kvm->ctl). */
struct ctl_server {
	int lfd, wake_fd, statm_fd, lock_fd;
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

/* /proc/self/statm is opened at start: the control thread opens no files. */
static u64 vmm_rss_bytes(const struct ctl_server *srv)
{
	unsigned long long resident;
	long psz = sysconf(_SC_PAGESIZE);
	char buf[128], *end, *end2;
	ssize_t n;

	if (!srv || srv->statm_fd < 0)
		return 0;
	n = pread(srv->statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "size resident shared ...", in pages: the second number. */
	errno = 0;
	strtoull(buf, &end, 10);
	resident = strtoull(end, &end2, 10);
	if (errno || end == buf || end2 == end || psz <= 0)
		return 0;
	return resident * (u64)psz;
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
	rprintf(r, "rss_bytes %llu\n", (unsigned long long)vmm_rss_bytes(kvm->ctl));
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
 * Clients are served side by side, none ever waited for: each connection is
 * non-blocking and has CTL_READ_TIMEOUT_MS for its request line, so a slow
 * or silent client delays nobody else. Up to CTL_MAX_CLIENTS at once; more
 * wait in the listen backlog.
 */
struct ctl_client {
	int fd;
	size_t got;
	u64 deadline;
	char buf[CTL_REQ_MAX + 1];
};

/*
 * Is @c's request complete? 1 when it is (or @eof says no more comes), 0
 * when more may arrive, -1 with the reason in @err.
 */
static int request_state(const struct ctl_client *c, bool eof, char *err, size_t errlen)
{
	const char *nl = memchr(c->buf, '\n', c->got);

	if (nl && (size_t)(nl - c->buf) + 1 != c->got) {
		snprintf(err, errlen, "data after the request line");
		return -1;
	}
	if (nl)
		return 1;
	if (c->got >= sizeof(c->buf)) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
		return -1;
	}
	if (!eof)
		return 0;
	if (!c->got) {
		snprintf(err, errlen, "empty request");
		return -1;
	}
	return 1;		/* EOF: the parser says what is missing */
}

/* One try: a client that does not read its reply loses it. */
static void reply_and_close(struct ctl_client *c, const char *reply)
{
	if (send(c->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("control: reply lost: %s", strerror(errno));
	close(c->fd);
	c->fd = -1;
}

static void client_error(struct ctl_client *c, const char *err)
{
	char reply[192];

	snprintf(reply, sizeof(reply), "error %s\n", err);
	reply_and_close(c, reply);
}

static void client_read(struct kvm *kvm, struct ctl_client *c)
{
	char *reply = kvm->ctl->reply;
	bool eof = false;
	char err[128];
	int st;

	for (;;) {
		ssize_t r = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got,
				 MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			eof = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
			break;
		}
		c->got += r;
		if (c->got == sizeof(c->buf))
			break;
	}
	st = request_state(c, eof, err, sizeof(err));
	if (st < 0) {
		client_error(c, err);
	} else if (st > 0) {
		ctl_handle_request(kvm, c->buf, c->got, reply, CTL_REPLY_MAX);
		reply_and_close(c, reply);
	}
}

static void client_accept(struct ctl_client *c, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	c->fd = fd;
	c->got = 0;
	c->deadline = now_ns() + CTL_READ_TIMEOUT_MS * 1000000ULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0))
		client_error(c, "permission denied");
}

/* Accept one connection into a free slot; false when out of descriptors. */
static bool accept_one(struct ctl_server *srv, struct ctl_client *clients)
{
	int fd, i;

	for (i = 0; i < CTL_MAX_CLIENTS && clients[i].fd >= 0; i++)
		;
	if (i == CTL_MAX_CLIENTS)
		return true;
	fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return !(errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			 errno == ENOMEM);	/* else: the client gave up */
	client_accept(&clients[i], fd);
	return true;
}

static void *ctl_thread(void *arg)
{
	struct kvm *kvm = arg;
	struct ctl_server *srv = kvm->ctl;
	struct ctl_client clients[CTL_MAX_CLIENTS];
	struct pollfd pfd[2 + CTL_MAX_CLIENTS];
	int idx[2 + CTL_MAX_CLIENTS];
	bool starved = false;
	int i;

	thread_filter_enter(&kvm->seccomp, "control", "control");
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	for (;;) {
		int n = 0, wait_ms = -1;
		u64 now = now_ns();

		pfd[n++] = (struct pollfd){ .fd = srv->wake_fd, .events = POLLIN };
		/*
		 * Out of descriptors or memory, a connection stays queued and
		 * poll() reports it again at once: wait (for stop, a client
		 * or the retry) instead of spinning.
		 */
		if (!starved)
			pfd[n++] = (struct pollfd){ .fd = srv->lfd, .events = POLLIN };
		else
			wait_ms = CTL_ACCEPT_RETRY_MS;
		for (i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct ctl_client *c = &clients[i];
			int left;

			if (c->fd < 0)
				continue;
			if (now >= c->deadline) {
				char err[80];

				snprintf(err, sizeof(err),
					 "incomplete request (no newline within %d ms)",
					 CTL_READ_TIMEOUT_MS);
				client_error(c, err);
				continue;
			}
			left = (c->deadline - now) / 1000000 + 1;
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = left;
			idx[n] = i;
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		}
		if (poll(pfd, n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("control: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		starved = false;
		for (i = 1; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == srv->lfd)
				starved = !accept_one(srv, clients);
			else
				client_read(kvm, &clients[idx[i]]);
		}
	}
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	return NULL;
}

/*
 * Take the name and its socket path: a live VM of the same name is an
 * error; a socket nobody listens on is what a dead VM left behind, and is
 * removed (only while holding the name lock, see ctl_lock_name()).
 */
static int claim_path(struct ctl_server *srv, const char *path, const char *name)
{
	struct stat st;
	int fd;

	srv->lock_fd = ctl_lock_name(name);
	if (srv->lock_fd < 0) {
		if (errno == EWOULDBLOCK)
			pr_err("a VM named '%s' is already running (%s); pick another --name",
			       name, path);
		else
			pr_err("cannot lock the name '%s': %s", name, strerror(errno));
		return -1;
	}
	fd = ctl_connect_path(path);

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

	srv->lfd = srv->wake_fd = srv->statm_fd = srv->lock_fd = -1;
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
	if (ctl_make_sock_dir() || claim_path(srv, srv->path, srv->name))
		return -1;

	srv->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	srv->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (srv->lfd < 0 || srv->wake_fd < 0) {
		pr_err("control socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * Bound and listening under a temporary name, then renamed into
	 * place: a client (or lkvm list) never finds the socket refusing
	 * connections while the VM is alive.
	 */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s/.%d.tmp",
		     (int)(strrchr(srv->path, '/') - srv->path), srv->path,
		     (int)getpid()) >= (int)sizeof(sa.sun_path)) {
		pr_err("control socket %s: the directory's name is too long", srv->path);
		return -1;
	}
	unlink(sa.sun_path);
	/* Never visible with looser permissions than 0600, even briefly. */
	mask = umask(0177);
	r = bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (r < 0) {
		pr_err("cannot bind %s: %s", sa.sun_path, strerror(errno));
		return -1;
	}
	if (chmod(sa.sun_path, 0600) < 0 || listen(srv->lfd, 16) < 0 ||
	    rename(sa.sun_path, srv->path) < 0) {
		pr_err("control socket %s: %s", srv->path, strerror(errno));
		unlink(sa.sun_path);
		return -1;
	}
	srv->bound = true;

	/* The thread takes no signals: kvm__run's signalfd gets them all. */
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
	ctl_unlock_name(srv->name, srv->lock_fd);
	close_fd(&srv->lfd);
	close_fd(&srv->wake_fd);
	close_fd(&srv->statm_fd);
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
