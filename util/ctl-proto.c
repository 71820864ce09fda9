// SPDX-License-Identifier: GPL-2.0
/*
 * The control channel's protocol and socket naming, shared by the VM side
 * (control.c) and the commands that talk to it (builtin-ctl.c). Requests
 * come from other processes and are parsed strictly: anything not exactly
 * in the grammar of control.h is refused with a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/control.h"
#include "lkvm/json.h"

#define CTL_DIR_NAME	".lkvm"
_Static_assert(CTL_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "CTL_PATH_MAX is sun_path's size");
#define CTL_CALL_TIMEOUT_MS	15000	/* a pause or stat may take a while */

static const struct {
	const char *word;
	enum ctl_cmd cmd;
	int nargs;
} ctl_cmds[] = {
	{ "info", CTL_INFO, 0 },
	{ "stop", CTL_STOP, 0 },
	{ "pause", CTL_PAUSE, 0 },
	{ "resume", CTL_RESUME, 0 },
	{ "stat", CTL_STAT, 0 },
	{ "balloon", CTL_BALLOON, 2 },
};

#define MAX_WORDS	4

/* A decimal number of at most 20 digits that fits in a u64. */
static int parse_dec(const char *s, u64 *out)
{
	u64 v = 0;

	if (!*s || strlen(s) > 20)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (u64)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (u64)(*s - '0');
	}
	*out = v;
	return 0;
}

int ctl_parse_request(const char *buf, size_t len, struct ctl_request *req,
		      char *err, size_t errlen)
{
	char line[CTL_REQ_MAX];
	char *words[MAX_WORDS];
	unsigned int nw = 0, i;
	size_t n;
	char *p;

	memset(req, 0, sizeof(*req));
	if (!len || len > CTL_REQ_MAX) {
		snprintf(err, errlen, "request must be 1 to %d bytes", CTL_REQ_MAX);
		return -1;
	}
	if (buf[len - 1] != '\n') {
		snprintf(err, errlen, "request must end with a newline");
		return -1;
	}
	n = len - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = buf[i];

		if (c < 0x20 || c > 0x7e) {
			snprintf(err, errlen, "request has a control or non-ASCII byte (0x%02x)", c);
			return -1;
		}
	}
	memcpy(line, buf, n);
	line[n] = '\0';

	/* Words separated by exactly one space; nothing before or after. */
	p = line;
	for (;;) {
		char *sp = strchr(p, ' ');

		if (!*p || (sp == p)) {
			snprintf(err, errlen, "empty word in request (one space between words)");
			return -1;
		}
		if (nw == MAX_WORDS) {
			snprintf(err, errlen, "too many words in request");
			return -1;
		}
		words[nw++] = p;
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}

	for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		if (!strcmp(words[0], ctl_cmds[i].word))
			break;
	if (i == ARRAY_SIZE(ctl_cmds)) {
		snprintf(err, errlen, "unknown command '%.32s'", words[0]);
		return -1;
	}
	if (nw - 1 != (unsigned int)ctl_cmds[i].nargs) {
		snprintf(err, errlen, "'%s' takes %d argument(s)", ctl_cmds[i].word,
			 ctl_cmds[i].nargs);
		return -1;
	}
	req->cmd = ctl_cmds[i].cmd;
	if (req->cmd != CTL_BALLOON)
		return 0;

	if (!strcmp(words[1], "inflate")) {
		req->inflate = true;
	} else if (strcmp(words[1], "deflate")) {
		snprintf(err, errlen, "balloon: '%.32s' is not inflate or deflate", words[1]);
		return -1;
	}
	if (parse_dec(words[2], &req->bytes) || !req->bytes) {
		snprintf(err, errlen, "balloon: '%.32s' is not a byte count (decimal, > 0)",
			 words[2]);
		return -1;
	}
	return 0;
}

int ctl_format_request(const struct ctl_request *req, char *buf, size_t len)
{
	unsigned int i;
	int n;

	for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		if (ctl_cmds[i].cmd == req->cmd)
			break;
	if (i == ARRAY_SIZE(ctl_cmds))
		return -1;
	if (req->cmd == CTL_BALLOON)
		n = snprintf(buf, len, "balloon %s %llu\n",
			     req->inflate ? "inflate" : "deflate",
			     (unsigned long long)req->bytes);
	else
		n = snprintf(buf, len, "%s\n", ctl_cmds[i].word);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* Keys with text values; doc/control.md lists them for other programs. */
static const char *const ctl_string_keys[] = {
	"name", "state", "balloon", "balloon_reporting",
};

bool ctl_string_key(const char *key, size_t len)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctl_string_keys); i++)
		if (strlen(ctl_string_keys[i]) == len && !strncmp(ctl_string_keys[i], key, len))
			return true;
	return false;
}

int ctl_reply_json(FILE *f, const char *body)
{
	const char *line = body, *nl;
	int members = 0;

	putc('{', f);
	for (; (nl = strchr(line, '\n')); line = nl + 1) {
		const char *sp = memchr(line, ' ', nl - line), *k;
		char value[CTL_REPLY_MAX + 1];
		size_t klen, vlen;
		u64 num;

		if (!sp || sp == line)
			continue;
		klen = sp - line;
		for (k = line; k < sp; k++)
			if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
				break;
		if (k != sp)
			continue;
		vlen = min((size_t)(nl - sp - 1), sizeof(value) - 1);
		memcpy(value, sp + 1, vlen);
		value[vlen] = '\0';
		fprintf(f, "%s\"%.*s\":", members++ ? "," : "", (int)klen, line);
		if (!ctl_string_key(line, klen) && !parse_dec(value, &num))
			fprintf(f, "%llu", (unsigned long long)num);
		else
			json_string(f, value);
	}
	putc('}', f);
	return members;
}

bool ctl_name_valid(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!n || n > CTL_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int ctl_sock_dir(char *buf, size_t len)
{
	const char *home = getenv("HOME");
	int n;

	/* No password database lookup: lkvm-static must not need NSS. */
	if (!home || home[0] != '/')
		return -1;
	n = snprintf(buf, len, "%s/%s", home, CTL_DIR_NAME);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ctl_sock_path(const char *name, char *buf, size_t len)
{
	char dir[CTL_PATH_MAX];
	int n;

	if (!ctl_name_valid(name) || ctl_sock_dir(dir, sizeof(dir)))
		return -1;
	n = snprintf(buf, len, "%s/%s%s", dir, name, CTL_SOCK_SUFFIX);
	/* The path must also fit in sun_path. */
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(dir))
		return -1;
	return 0;
}

int ctl_make_sock_dir(void)
{
	char dir[CTL_PATH_MAX];
	struct stat st;

	if (ctl_sock_dir(dir, sizeof(dir))) {
		pr_err("cannot name the control socket directory (set HOME)");
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		pr_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0) {
		pr_err("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		pr_err("%s is not a directory owned by this user", dir);
		return -1;
	}
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0) {
		pr_err("cannot make %s private: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int ctl_lock_path(const char *name, char *buf, size_t len)
{
	char dir[CTL_PATH_MAX];
	int n;

	if (!ctl_name_valid(name) || ctl_sock_dir(dir, sizeof(dir)))
		return -1;
	n = snprintf(buf, len, "%s/%s.lock", dir, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ctl_lock_name(const char *name)
{
	char path[CTL_PATH_MAX + 16];
	struct stat a, b;
	int fd;

	if (ctl_lock_path(name, path, sizeof(path))) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/*
	 * The holder unlinks the file before it lets go: a lock taken on a
	 * file that is no longer at the path is worth nothing, try again.
	 */
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
}

void ctl_unlock_name(const char *name, int fd)
{
	char path[CTL_PATH_MAX + 16];

	if (fd < 0)
		return;
	if (!ctl_lock_path(name, path, sizeof(path)))
		unlink(path);
	close(fd);
}

int ctl_connect_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int ctl_call(const char *name, const struct ctl_request *req, char *reply,
	     size_t len)
{
	char path[CTL_PATH_MAX], line[CTL_REQ_MAX + 1];
	struct pollfd pfd;
	size_t got = 0;
	int fd, n;

	if (ctl_sock_path(name, path, sizeof(path))) {
		pr_err("'%s' is not a valid VM name", name);
		return -1;
	}
	n = ctl_format_request(req, line, sizeof(line));
	if (n < 0)
		return -1;
	fd = ctl_connect_path(path);
	if (fd < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			pr_err("no VM named '%s' is running", name);
		else
			pr_err("cannot reach VM '%s' at %s: %s", name, path, strerror(errno));
		return -1;
	}
	if (write_full(fd, line, n) != n) {
		pr_err("VM '%s': cannot send the request: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (got + 1 < len) {
		ssize_t r;

		if (poll(&pfd, 1, CTL_CALL_TIMEOUT_MS) <= 0) {
			pr_err("VM '%s' did not answer", name);
			close(fd);
			return -1;
		}
		r = read(fd, reply + got, len - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	reply[got] = '\0';
	if (!strncmp(reply, "ok\n", 3))
		return 0;
	if (!strncmp(reply, "error ", 6))
		return 1;
	pr_err("VM '%s' sent a malformed reply", name);
	return -1;
}
