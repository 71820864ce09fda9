/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CONTROL_H
#define LKVM_CONTROL_H

#include <stdio.h>

#include "lkvm/util.h"

/*
 * The control channel of a running VM: a Unix stream socket
 * ~/.lkvm/<name>.sock (directory 0700, socket 0600), served by control.c
 * and used by `lkvm list|stop|pause|resume|balloon|stat` (builtin-ctl.c).
 *
 * One request per connection: the client sends one line, the VM answers
 * and closes. Requests (strict: lower-case words separated by one space,
 * printable ASCII, ending in "\n", at most CTL_REQ_MAX bytes):
 *
 *   info                      name, pid and state
 *   stop                      end the VM; `lkvm run` exits with status 0
 *   pause | resume            park the vCPUs / let them run again
 *   stat                      state, RSS, balloon counters and statistics
 *   balloon inflate <bytes>   grow the balloon target by <bytes> (decimal)
 *   balloon deflate <bytes>   shrink it
 *
 * Replies: "ok\n" followed by "key value\n" lines, or "error <reason>\n".
 * doc/control.md describes the protocol and every key for other programs.
 */
#define CTL_REQ_MAX	128
#define CTL_REPLY_MAX	8192
#define CTL_NAME_MAX	64
#define CTL_SOCK_SUFFIX	".sock"
#define CTL_PATH_MAX	108	/* sizeof(sockaddr_un.sun_path) */

enum ctl_cmd {
	CTL_INFO,
	CTL_STOP,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_STAT,
	CTL_BALLOON,
};

struct ctl_request {
	enum ctl_cmd cmd;
	bool inflate;		/* CTL_BALLOON: inflate or deflate */
	u64 bytes;		/* CTL_BALLOON */
};

/*
 * Parse the @len bytes at @buf, which must be exactly one request line
 * (see above). Returns 0, or -1 with a one-line reason in @err.
 */
int ctl_parse_request(const char *buf, size_t len, struct ctl_request *req,
		      char *err, size_t errlen);
/* The request line for @req; returns its length, or -1 if @len is too small. */
int ctl_format_request(const struct ctl_request *req, char *buf, size_t len);

/* 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool ctl_name_valid(const char *name);
/* $HOME/.lkvm; -1 if HOME is unset or not absolute. */
int ctl_sock_dir(char *buf, size_t len);
/* ~/.lkvm/<name>.sock; -1 if the name is invalid or the path too long. */
int ctl_sock_path(const char *name, char *buf, size_t len);
/*
 * Create ~/.lkvm (0700) if needed and check it is a directory owned by us
 * that nobody else can write to. Returns 0 or -1 after a message.
 */
int ctl_make_sock_dir(void);

/*
 * The name lock, ~/.lkvm/<name>.lock: the VM of that name holds it (flock)
 * for its whole life, so a socket nobody listens on is stale only when the
 * lock can be taken; `lkvm list` and a new VM remove a socket only while
 * they hold it. Returns the locked fd, or -1 with errno (EWOULDBLOCK: a
 * live VM holds the name).
 */
int ctl_lock_name(const char *name);
/* Remove the lock file and let go of it. */
void ctl_unlock_name(const char *name, int fd);

/*
 * Connect to the socket at @path. Returns the fd, or -1 with errno
 * (ECONNREFUSED: nobody listens, the socket is stale; ENOENT: no socket).
 */
int ctl_connect_path(const char *path);
/*
 * Send @req to the VM @name and read the whole reply into @reply (NUL
 * terminated). Returns 0 for an "ok" reply, 1 for an "error" reply, -1
 * when the VM can't be reached (after a message).
 */
int ctl_call(const char *name, const struct ctl_request *req, char *reply,
	     size_t len);

/*
 * Write the body of an "ok" reply (the "key value" lines after "ok\n") as
 * one JSON object with the same keys, in order: the values of
 * ctl_string_key()s are strings; every other value is a number when it is
 * decimal digits, else a string. Lines that are not "key value" with a key
 * of [a-z0-9_] (such as a last line cut off without its newline) are left
 * out. Returns the number of members written.
 */
int ctl_reply_json(FILE *f, const char *body);
/* Keys whose values are always strings (a VM named "42" stays a string). */
bool ctl_string_key(const char *key, size_t len);

struct kvm;
/* The VM side (control.c): serve the socket of @kvm from a thread. */
int ctl_server_start(struct kvm *kvm);
void ctl_server_stop(struct kvm *kvm);
/* Execute one request line and write the reply (used by the server and tests). */
void ctl_handle_request(struct kvm *kvm, const char *buf, size_t len, char *reply,
			size_t replylen);

#endif
