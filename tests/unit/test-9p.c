// SPDX-License-Identifier: GPL-2.0
/*
 * The 9P2000.L server (fs/9p-*.c) against malformed messages, escape
 * attempts out of the shared directory (".." and symlinks, absolute,
 * relative, looping, swapped in behind an existing fid) with both the
 * openat2 resolver and the component-walk fallback, and the ordinary file
 * operations a Linux client performs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lkvm/9p-server.h"
#include "lkvm/beneath.h"
#include "lkvm/seccomp.h"
#include "test.h"

#define MSIZE		(512 * 1024)
#define ROOT_FID	1

static char tmp[PATH_MAX], share[PATH_MAX], outside[PATH_MAX];
static struct p9_server *srv;

/* ---- a tiny client ---- */

struct msg {
	u8 b[MSIZE + 64];
	size_t len;
};

static struct msg m;
static u8 resp[MSIZE + 64];
static size_t resp_len;

static void put(u64 v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		m.b[m.len++] = v >> (8 * i);
}

static void m_begin(u8 type)
{
	m.len = 0;
	put(0, 4);
	put(type, 1);
	put(0x1234, 2);
}

static void m_str(const char *s)
{
	size_t n = strlen(s);

	put(n, 2);
	memcpy(m.b + m.len, s, n);
	m.len += n;
}

static void m_bytes(const void *p, size_t n)
{
	memcpy(m.b + m.len, p, n);
	m.len += n;
}

static size_t m_send_len(size_t len)
{
	m.b[0] = m.len;
	m.b[1] = m.len >> 8;
	m.b[2] = m.len >> 16;
	m.b[3] = m.len >> 24;
	resp_len = p9_server_handle(srv, m.b, len, resp, sizeof(resp));
	return resp_len;
}

static u64 r_get(size_t off, int n)
{
	u64 v = 0;
	int i;

	for (i = 0; i < n; i++)
		v |= (u64)resp[off + i] << (8 * i);
	return v;
}

/* Send the message; 0 for an R-message of the right type, else the errno. */
static int m_send(void)
{
	u8 t = m.b[4];

	m_send_len(m.len);
	if (resp_len < 7 || r_get(0, 4) != resp_len || r_get(5, 2) != 0x1234)
		return -1000;
	if (resp[4] == P9_RLERROR)
		return resp_len == 11 ? (int)r_get(7, 4) : -1001;
	return resp[4] == t + 1 ? 0 : -1002;
}

static int version(u32 msize, const char *v)
{
	m_begin(P9_TVERSION);
	put(msize, 4);
	m_str(v);
	return m_send();
}

static int attach(u32 fid)
{
	m_begin(P9_TATTACH);
	put(fid, 4);
	put(P9_NOFID, 4);
	m_str("root");
	m_str("");
	put(0, 4);
	return m_send();
}

/* Twalk fid -> newfid through up to 16 names (NULL-terminated). */
static int walkv(u32 fid, u32 newfid, const char *const *names)
{
	int n = 0;

	while (names[n])
		n++;
	m_begin(P9_TWALK);
	put(fid, 4);
	put(newfid, 4);
	put(n, 2);
	for (n = 0; names[n]; n++)
		m_str(names[n]);
	return m_send();
}

#define walk(fid, newfid, ...) \
	walkv(fid, newfid, (const char *const[]){ __VA_ARGS__, NULL })

static int nwqid(void)
{
	return r_get(7, 2);
}

static u8 qid_type(int i)
{
	return resp[9 + 13 * i];
}

static int clunk(u32 fid)
{
	m_begin(P9_TCLUNK);
	put(fid, 4);
	return m_send();
}

static int lopen(u32 fid, u32 flags)
{
	m_begin(P9_TLOPEN);
	put(fid, 4);
	put(flags, 4);
	return m_send();
}

static int lcreate(u32 fid, const char *name, u32 flags, u32 mode)
{
	m_begin(P9_TLCREATE);
	put(fid, 4);
	m_str(name);
	put(flags, 4);
	put(mode, 4);
	put(0, 4);
	return m_send();
}

static int p9write(u32 fid, u64 off, const void *data, u32 len)
{
	m_begin(P9_TWRITE);
	put(fid, 4);
	put(off, 8);
	put(len, 4);
	m_bytes(data, len);
	return m_send();
}

/* Tread; the data is at resp + 11, its length returned in *n. */
static int p9read(u32 fid, u64 off, u32 count, u32 *n)
{
	int e;

	m_begin(P9_TREAD);
	put(fid, 4);
	put(off, 8);
	put(count, 4);
	e = m_send();
	*n = e ? 0 : r_get(7, 4);
	return e;
}

static int getattr(u32 fid, u32 *mode, u64 *size)
{
	int e;

	m_begin(P9_TGETATTR);
	put(fid, 4);
	put(P9_GETATTR_BASIC, 8);
	e = m_send();
	if (!e) {
		*mode = r_get(7 + 8 + 13, 4);
		*size = r_get(7 + 8 + 13 + 4 + 4 + 4 + 8 + 8, 8);
	}
	return e;
}

static int setattr(u32 fid, u32 valid, u32 mode, u64 size)
{
	m_begin(P9_TSETATTR);
	put(fid, 4);
	put(valid, 4);
	put(mode, 4);
	put(0, 4);
	put(0, 4);
	put(size, 8);
	put(0, 8);
	put(0, 8);
	put(0, 8);
	put(0, 8);
	return m_send();
}

static int mkdir9(u32 dfid, const char *name)
{
	m_begin(P9_TMKDIR);
	put(dfid, 4);
	m_str(name);
	put(0755, 4);
	put(0, 4);
	return m_send();
}

static int symlink9(u32 dfid, const char *name, const char *target)
{
	m_begin(P9_TSYMLINK);
	put(dfid, 4);
	m_str(name);
	m_str(target);
	put(0, 4);
	return m_send();
}

static int mknod9(u32 dfid, const char *name, u32 mode)
{
	m_begin(P9_TMKNOD);
	put(dfid, 4);
	m_str(name);
	put(mode, 4);
	put(8, 4);
	put(0, 4);
	put(0, 4);
	return m_send();
}

static int link9(u32 dfid, u32 fid, const char *name)
{
	m_begin(P9_TLINK);
	put(dfid, 4);
	put(fid, 4);
	m_str(name);
	return m_send();
}

static int renameat9(u32 ofid, const char *oname, u32 nfid, const char *nname)
{
	m_begin(P9_TRENAMEAT);
	put(ofid, 4);
	m_str(oname);
	put(nfid, 4);
	m_str(nname);
	return m_send();
}

static int unlinkat9(u32 dfid, const char *name, u32 flags)
{
	m_begin(P9_TUNLINKAT);
	put(dfid, 4);
	m_str(name);
	put(flags, 4);
	return m_send();
}

static int readlink9(u32 fid, char *out, size_t cap)
{
	int e;

	m_begin(P9_TREADLINK);
	put(fid, 4);
	e = m_send();
	if (!e) {
		size_t n = r_get(7, 2);

		if (n >= cap)
			n = cap - 1;
		memcpy(out, resp + 9, n);
		out[n] = '\0';
	}
	return e;
}

static int xattrwalk(u32 fid, u32 newfid, const char *name, u64 *size)
{
	int e;

	m_begin(P9_TXATTRWALK);
	put(fid, 4);
	put(newfid, 4);
	m_str(name);
	e = m_send();
	if (!e)
		*size = r_get(7, 8);
	return e;
}

static int xattrcreate(u32 fid, const char *name, u64 size, u32 flags)
{
	m_begin(P9_TXATTRCREATE);
	put(fid, 4);
	m_str(name);
	put(size, 8);
	put(flags, 4);
	return m_send();
}

static int lock9(u32 fid, u8 type, u8 *status)
{
	int e;

	m_begin(P9_TLOCK);
	put(fid, 4);
	put(type, 1);
	put(0, 4);
	put(0, 8);
	put(0, 8);
	put(42, 4);
	m_str("guest");
	e = m_send();
	*status = e ? 0xff : resp[7];
	return e;
}

/* Tgetlock: would a write lock on the whole file conflict? The answer is at resp + 7. */
static int getlock9(u32 fid)
{
	m_begin(P9_TGETLOCK);
	put(fid, 4);
	put(P9_LOCK_TYPE_WRLCK, 1);
	put(0, 8);
	put(0, 8);
	put(7, 4);
	m_str("guest");
	return m_send();
}

/* ---- the host side ---- */

static void sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		fprintf(stderr, "test-9p: '%s' failed\n", cmd);
}

static char *host(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	if (snprintf(buf[i], PATH_MAX, "%s/%s", share, rel) >= PATH_MAX)
		abort();
	return buf[i];
}

static bool secret_intact(void)
{
	char p[PATH_MAX], buf[64] = "";
	struct stat st;
	ssize_t n;
	int fd;

	if (snprintf(p, sizeof(p), "%s/secret", outside) >= (int)sizeof(p))
		return false;
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n != 6 || memcmp(buf, "secret", 6) || stat(p, &st) ||
	    (st.st_mode & 07777) != 0600 || st.st_uid != 0 || st.st_nlink != 1)
		return false;
	/* Nothing may appear next to it. */
	{
		DIR *d = opendir(outside);
		struct dirent *e;
		int count = 0;

		if (!d)
			return false;
		while ((e = readdir(d)))
			count++;
		closedir(d);
		if (count != 3)		/* ".", "..", "secret" */
			return false;
	}
	return true;
}

/* A server with the default model and limits. */
static struct p9_server *server(const char *dir, bool readonly)
{
	return p9_server_new(dir, &(struct p9_server_opts){ .readonly = readonly });
}

/* A fresh share with escape hazards, a fresh server, attached as ROOT_FID. */
static void setup_opts(const struct p9_server_opts *opts)
{
	if (srv)
		p9_server_free(srv);
	sh("rm -rf '%s' && mkdir -p '%s/dir/sub' '%s'", tmp, share, outside);
	sh("printf secret > '%s/secret' && chmod 600 '%s/secret'", outside, outside);
	sh("printf hello > '%s'", host("dir/file"));
	sh("ln -s '%s' '%s'", outside, host("abs"));
	sh("ln -s '%s/secret' '%s'", outside, host("abs_file"));
	sh("ln -s ../outside '%s'", host("rel"));
	sh("ln -s ../../outside/secret '%s'", host("dir/up"));
	sh("ln -s loop '%s'", host("loop"));
	sh("ln -s loop3 '%s' && ln -s loop2 '%s'", host("loop2"), host("loop3"));
	sh("mkfifo '%s'", host("fifo"));
	srv = p9_server_new(share, opts);
	version(MSIZE, "9P2000.L");
	attach(ROOT_FID);
}

static void setup(bool readonly)
{
	setup_opts(&(struct p9_server_opts){ .readonly = readonly });
}

/* ---- tests ---- */

static void test_version(void)
{
	setup(false);
	m_begin(P9_TGETATTR);	/* a fresh server: Tversion must come first */
	p9_server_free(srv);
	srv = server(share, false);
	put(ROOT_FID, 4);
	put(0, 8);
	CHECK_EQ(m_send(), EPROTO);
	CHECK_EQ(version(1 << 30, "9P2000.L"), 0);
	CHECK_EQ(r_get(7, 4), P9_MAX_MSIZE);
	CHECK_EQ(r_get(11, 2), 8);
	CHECK(!memcmp(resp + 13, "9P2000.L", 8));
	CHECK_EQ(version(8192, "9P2000"), 0);
	CHECK_EQ(r_get(7, 4), 8192);
	CHECK(!memcmp(resp + 13, "unknown", 7));
	CHECK_EQ(version(100, "9P2000.L"), EINVAL);	/* msize too small */
	CHECK_EQ(version(MSIZE, "9P2000.L"), 0);
	CHECK_EQ(attach(ROOT_FID), 0);
	CHECK_EQ(attach(ROOT_FID), EEXIST);
	/* Tversion ends the session: fids are gone. */
	CHECK_EQ(version(MSIZE, "9P2000.L"), 0);
	CHECK_EQ(p9_server_nr_fids(srv), 0);
	CHECK_EQ(attach(ROOT_FID), 0);
}

static void test_bad_headers(void)
{
	setup(false);
	/* Too short for a header: no answer possible. */
	m_begin(P9_TCLUNK);
	CHECK_EQ(m_send_len(6), 0);
	CHECK_EQ(m_send_len(0), 0);
	/* size field smaller than a header, larger than the buffer, > msize */
	m_begin(P9_TCLUNK);
	put(ROOT_FID, 4);
	m.len = 3;
	m_send_len(11);
	CHECK_EQ(resp[4], P9_RLERROR);
	m_begin(P9_TCLUNK);
	put(ROOT_FID, 4);
	m.b[0] = 200;
	resp_len = p9_server_handle(srv, m.b, 11, resp, sizeof(resp));
	CHECK_EQ(resp[4], P9_RLERROR);
	CHECK_EQ(r_get(7, 4), EINVAL);
	/* The answer needs room. */
	m_begin(P9_TCLUNK);
	put(ROOT_FID, 4);
	m.b[0] = 11;
	CHECK_EQ(p9_server_handle(srv, m.b, 11, resp, 10), 0);
	/* Unknown and R-type messages */
	m_begin(200);
	CHECK_EQ(m_send(), EOPNOTSUPP);
	m_begin(P9_RLERROR);
	CHECK_EQ(m_send(), EOPNOTSUPP);
	m_begin(P9_TAUTH);
	put(5, 4);
	m_str("u");
	m_str("");
	put(0, 4);
	CHECK_EQ(m_send(), EOPNOTSUPP);
	CHECK_EQ(p9_server_nr_fids(srv), 1);
}

/* Every message type with every truncated length must get an Rlerror. */
static void test_truncated(void)
{
	static const u8 types[] = {
		P9_TSTATFS, P9_TLOPEN, P9_TLCREATE, P9_TSYMLINK, P9_TMKNOD,
		P9_TRENAME, P9_TREADLINK, P9_TGETATTR, P9_TSETATTR, P9_TXATTRWALK,
		P9_TXATTRCREATE, P9_TREADDIR, P9_TFSYNC, P9_TLOCK, P9_TGETLOCK,
		P9_TLINK, P9_TMKDIR, P9_TRENAMEAT, P9_TUNLINKAT, P9_TATTACH,
		P9_TFLUSH, P9_TWALK, P9_TREAD, P9_TWRITE, P9_TCLUNK, P9_TREMOVE,
		P9_TVERSION,
	};
	unsigned int i;
	size_t cut;

	setup(false);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		/*
		 * A body that declares long strings and counts, then stops
		 * (fid 77 does not exist: a message that parses still fails).
		 */
		for (cut = 7; cut < 7 + 40; cut++) {
			m_begin(types[i]);
			put(77, 4);
			put(0xffff, 2);	/* a string length or fid bytes */
			put(0xffffffff, 4);
			put(0xffffffffffffffffULL, 8);
			put(0x7fffffff, 4);
			while (m.len < cut)
				put(0xff, 1);
			m.len = cut;
			if (m_send() == 0 && !(types[i] == P9_TFLUSH && cut == 9)) {
				CHECK(!"a truncated message was accepted");
				printf("# type %u cut %zu accepted\n", types[i], cut);
			}
		}
	}
	/* The session survived: the root fid still works. */
	{
		u32 mode;
		u64 size;

		CHECK_EQ(getattr(ROOT_FID, &mode, &size), 0);
		CHECK(S_ISDIR(mode));
	}
}

static void test_walk_limits(void)
{
	const char *many[18];
	int i;

	setup(false);
	for (i = 0; i < 17; i++)
		many[i] = "dir";
	many[17] = NULL;
	CHECK_EQ(walkv(ROOT_FID, 2, many), EINVAL);	/* 17 names */
	many[16] = NULL;
	CHECK_EQ(walkv(ROOT_FID, 2, many), 0);		/* 16: the 2nd fails */
	CHECK_EQ(nwqid(), 1);
	CHECK_EQ(p9_server_nr_fids(srv), 1);
	CHECK_EQ(walk(ROOT_FID, 2, "dir/file"), EINVAL);
	CHECK_EQ(walk(ROOT_FID, 2, "."), EINVAL);
	CHECK_EQ(walk(ROOT_FID, 2, ""), EINVAL);
	/* An embedded NUL */
	m_begin(P9_TWALK);
	put(ROOT_FID, 4);
	put(2, 4);
	put(1, 2);
	put(4, 2);
	m_bytes("di\0r", 4);
	CHECK_EQ(m_send(), EINVAL);
	/* A name longer than the message */
	m_begin(P9_TWALK);
	put(ROOT_FID, 4);
	put(2, 4);
	put(1, 2);
	put(300, 2);
	m_bytes("dir", 3);
	CHECK_EQ(m_send(), EINVAL);
	/* nwname promises more names than present */
	m_begin(P9_TWALK);
	put(ROOT_FID, 4);
	put(2, 4);
	put(3, 2);
	m_str("dir");
	CHECK_EQ(m_send(), EINVAL);
	CHECK_EQ(walk(99, 2, "dir"), EBADF);
	CHECK_EQ(walk(ROOT_FID, 2, "dir"), 0);
	CHECK_EQ(walk(ROOT_FID, 2, "dir"), EEXIST);
	CHECK_EQ(walk(ROOT_FID, P9_NOFID, "dir"), EINVAL);
	CHECK_EQ(walk(2, 2, "file"), 0);		/* in place */
	CHECK_EQ(walk(ROOT_FID, 3, "nonexistent"), ENOENT);
	CHECK_EQ(p9_server_nr_fids(srv), 2);
	CHECK_EQ(clunk(2), 0);
	CHECK_EQ(clunk(2), EBADF);
}

/* The fid table is bounded: a guest cannot make the server allocate forever. */
static void test_fid_limit(void)
{
	u32 i;
	int e = 0;

	setup(false);
	for (i = 0; i < P9_MAX_FIDS + 10 && !e; i++) {
		m_begin(P9_TWALK);
		put(ROOT_FID, 4);
		put(100 + i, 4);
		put(0, 2);
		e = m_send();
	}
	CHECK_EQ(e, ENFILE);
	CHECK_EQ(p9_server_nr_fids(srv), P9_MAX_FIDS);
	CHECK_EQ(clunk(100), 0);
	CHECK_EQ(walk(ROOT_FID, 99, "dir"), 0);
	/* Tversion frees them all */
	CHECK_EQ(version(MSIZE, "9P2000.L"), 0);
	CHECK_EQ(p9_server_nr_fids(srv), 0);
}

static unsigned int seed = 12345;

static u32 rnd(u32 n)
{
	return rand_r(&seed) % n;
}

static void r_fid(void)
{
	put(rnd(8), 4);
}

static void r_name(void)
{
	static const char *const names[] = {
		"dir", "file", "..", "abs", "rel", "x", "loop", "sub", "fifo", "up",
		"abs_file", "y", "user.a", "",
	};

	m_str(names[rnd(ARRAY_SIZE(names))]);
}

/* A well-formed message of a random type with random small fids and names. */
static void r_message(void)
{
	static const u8 types[] = {
		P9_TSTATFS, P9_TLOPEN, P9_TLCREATE, P9_TSYMLINK, P9_TMKNOD,
		P9_TRENAME, P9_TREADLINK, P9_TGETATTR, P9_TSETATTR, P9_TXATTRWALK,
		P9_TXATTRCREATE, P9_TREADDIR, P9_TFSYNC, P9_TLOCK, P9_TGETLOCK,
		P9_TLINK, P9_TMKDIR, P9_TRENAMEAT, P9_TUNLINKAT, P9_TWALK,
		P9_TREAD, P9_TWRITE, P9_TCLUNK, P9_TREMOVE, P9_TATTACH, P9_TFLUSH,
	};
	u8 t = types[rnd(ARRAY_SIZE(types))];
	u32 i, n;

	m_begin(t);
	switch (t) {
	case P9_TSTATFS: case P9_TREADLINK: case P9_TCLUNK: case P9_TREMOVE:
		r_fid();
		break;
	case P9_TLOPEN:
		r_fid();
		put(rnd(2) ? rnd(4) : rand_r(&seed), 4);
		break;
	case P9_TLCREATE:
		r_fid(); r_name(); put(rnd(4) | (rnd(2) ? P9_DOTL_TRUNC : 0), 4);
		put(rnd(01000), 4); put(0, 4);
		break;
	case P9_TSYMLINK:
		r_fid(); r_name(); r_name(); put(0, 4);
		break;
	case P9_TMKNOD:
		r_fid(); r_name(); put(rnd(2) ? S_IFIFO | 0644 : rand_r(&seed), 4);
		put(1, 4); put(3, 4); put(0, 4);
		break;
	case P9_TRENAME: case P9_TLINK:
		r_fid(); r_fid(); r_name();
		break;
	case P9_TGETATTR:
		r_fid(); put(P9_GETATTR_BASIC, 8);
		break;
	case P9_TSETATTR:
		r_fid(); put(rnd(0x200), 4); put(rnd(01000), 4); put(0, 4); put(0, 4);
		put(rnd(100000), 8);
		for (i = 0; i < 4; i++)
			put(rnd(2) ? rnd(1000) : rand_r(&seed), 8);
		break;
	case P9_TXATTRWALK:
		r_fid(); r_fid(); r_name();
		break;
	case P9_TXATTRCREATE:
		r_fid(); r_name(); put(rnd(2) ? rnd(100) : rand_r(&seed), 8); put(rnd(4), 4);
		break;
	case P9_TREADDIR: case P9_TREAD:
		r_fid(); put(rnd(2) ? 0 : rand_r(&seed), 8); put(rand_r(&seed), 4);
		break;
	case P9_TWRITE:
		r_fid(); put(rnd(2) ? rnd(100) : rand_r(&seed), 8);
		n = rnd(64);
		put(n, 4);
		for (i = 0; i < n; i++)
			put(rnd(256), 1);
		break;
	case P9_TFSYNC:
		r_fid(); put(rnd(2), 4);
		break;
	case P9_TLOCK:
		r_fid(); put(rnd(4), 1); put(rnd(4), 4); put(rnd(100), 8); put(rnd(100), 8);
		put(1, 4); m_str("c");
		break;
	case P9_TGETLOCK:
		r_fid(); put(rnd(4), 1); put(rnd(100), 8); put(rnd(100), 8); put(1, 4); m_str("c");
		break;
	case P9_TMKDIR:
		r_fid(); r_name(); put(rnd(01000), 4); put(0, 4);
		break;
	case P9_TRENAMEAT:
		r_fid(); r_name(); r_fid(); r_name();
		break;
	case P9_TUNLINKAT:
		r_fid(); r_name(); put(rnd(2) ? P9_AT_REMOVEDIR : rnd(0x1000), 4);
		break;
	case P9_TWALK:
		r_fid(); r_fid();
		n = rnd(5);
		put(n, 2);
		for (i = 0; i < n; i++)
			r_name();
		break;
	case P9_TATTACH:
		r_fid(); put(P9_NOFID, 4); m_str("u"); m_str(""); put(0, 4);
		break;
	case P9_TFLUSH:
		put(rnd(65536), 2);
		break;
	}
}

/*
 * Well-formed messages with random fids and names, half of them then
 * mutated (flipped bytes, truncated, extended, corrupted lengths): never a
 * crash, always a framed answer, nothing outside the share touched.
 */
static void test_fuzz(void)
{
	unsigned int i, ok = 0;
	bool framed = true;

	setup(false);
	for (i = 0; i < 50000; i++) {
		r_message();
		if (rnd(2)) {
			switch (rnd(4)) {
			case 0:
				m.b[7 + rnd(m.len - 7 + 1) % (m.len - 6)] ^= 1 << rnd(8);
				break;
			case 1:
				m.len = 7 + rnd(m.len - 6);
				break;
			case 2:
				put(rand_r(&seed), 1 + rnd(8));
				break;
			default:
				if (m.len > 9) {
					size_t at = 7 + rnd(m.len - 8);

					m.b[at] = rnd(256);
					m.b[at + 1] = rnd(2) ? 0xff : 0;
				}
				break;
			}
		}
		m_send_len(m.len);
		if (resp_len < 7 || r_get(0, 4) != resp_len || r_get(5, 2) != 0x1234)
			framed = false;
		ok += resp[4] != P9_RLERROR;
		/* A clunked root fid comes back, so the fuzz keeps reaching files. */
		{
			u32 mode;
			u64 size;

			if (getattr(ROOT_FID, &mode, &size))
				attach(ROOT_FID);
			if (rnd(50) == 0)
				walk(ROOT_FID, rnd(8), "dir");
		}
	}
	CHECK(framed);
	CHECK(secret_intact());
	printf("# fuzz: %u of %u messages succeeded\n", ok, i);
}

/* The escape attempts, run with either resolver. */
static void confinement(void)
{
	char target[PATH_MAX];
	u32 mode;
	u64 size;

	setup(false);
	/* ".." at the root stays at the root. */
	CHECK_EQ(walk(ROOT_FID, 2, ".."), 0);
	CHECK_EQ(qid_type(0), P9_QTDIR);
	CHECK_EQ(walk(ROOT_FID, 3, "..", "..", "dir"), 0);
	CHECK_EQ(nwqid(), 3);
	CHECK_EQ(walk(ROOT_FID, 4, "..", "outside"), 0);
	CHECK_EQ(nwqid(), 1);			/* stopped at the root */
	CHECK_EQ(walk(ROOT_FID, 4, "dir", "..", "..", "outside", "secret"), 0);
	CHECK_EQ(nwqid(), 3);
	CHECK_EQ(p9_server_nr_fids(srv), 3);

	/* Symlinks are walked to as themselves and never through. */
	CHECK_EQ(walk(ROOT_FID, 4, "abs"), 0);
	CHECK_EQ(qid_type(0), P9_QTSYMLINK);
	CHECK_EQ(walk(ROOT_FID, 5, "abs", "secret"), 0);
	CHECK_EQ(nwqid(), 1);
	CHECK_EQ(walk(ROOT_FID, 5, "rel", "secret"), 0);
	CHECK_EQ(nwqid(), 1);
	CHECK_EQ(walk(ROOT_FID, 5, "loop", "x"), 0);
	CHECK_EQ(nwqid(), 1);
	CHECK_EQ(walk(ROOT_FID, 5, "loop2", "loop3"), 0);
	CHECK_EQ(nwqid(), 1);
	CHECK_EQ(p9_server_nr_fids(srv), 4);

	/* Operations on a symlink fid act on the link or fail. */
	CHECK_EQ(getattr(4, &mode, &size), 0);
	CHECK(S_ISLNK(mode));
	CHECK_EQ(readlink9(4, target, sizeof(target)), 0);
	CHECK(!strcmp(target, outside));
	CHECK_EQ(lopen(4, P9_DOTL_RDONLY), ELOOP);
	CHECK_EQ(lcreate(4, "new", P9_DOTL_WRONLY, 0644), ENOTDIR);
	CHECK_EQ(mkdir9(4, "new"), ENOTDIR);
	CHECK_EQ(symlink9(4, "new", "x"), ENOTDIR);
	CHECK_EQ(mknod9(4, "new", S_IFIFO | 0644), ENOTDIR);
	CHECK_EQ(unlinkat9(4, "secret", 0), ENOTDIR);
	CHECK_EQ(renameat9(ROOT_FID, "dir", 4, "moved"), ENOTDIR);
	CHECK_EQ(link9(4, 3, "x"), ENOTDIR);
	CHECK_EQ(setattr(4, P9_ATTR_MODE, 0777, 0), EOPNOTSUPP);
	CHECK_EQ(setattr(4, P9_ATTR_SIZE, 0, 0), EINVAL);
	CHECK_EQ(walk(ROOT_FID, 5, "abs_file"), 0);
	CHECK_EQ(lopen(5, P9_DOTL_RDWR | P9_DOTL_TRUNC), ELOOP);
	CHECK_EQ(setattr(5, P9_ATTR_SIZE, 0, 0), EINVAL);
	CHECK_EQ(setattr(5, P9_ATTR_MODE, 0666, 0), EOPNOTSUPP);
	{
		u64 xs;

		CHECK(xattrwalk(5, 6, "user.secret", &xs) != 0);
	}
	/* Creating over an existing symlink opens nothing through it. */
	CHECK_EQ(lcreate(ROOT_FID, "abs_file", P9_DOTL_WRONLY | P9_DOTL_TRUNC, 0666), ELOOP);
	CHECK_EQ(walk(ROOT_FID, 6, "dir"), 0);
	CHECK_EQ(lcreate(6, "up", P9_DOTL_RDWR, 0666), ELOOP);
	CHECK_EQ(clunk(6), 0);
	CHECK_EQ(walk(ROOT_FID, 6, "loop"), 0);
	CHECK_EQ(lopen(6, P9_DOTL_RDONLY), ELOOP);
	CHECK_EQ(clunk(6), 0);

	/* Names with a path in them are refused outright. */
	CHECK_EQ(renameat9(ROOT_FID, "dir", ROOT_FID, "../escaped"), EINVAL);
	CHECK_EQ(lcreate(2, "../escaped", P9_DOTL_WRONLY, 0644), EINVAL);
	CHECK_EQ(mkdir9(ROOT_FID, ".."), EINVAL);
	CHECK_EQ(symlink9(ROOT_FID, "a/b", "x"), EINVAL);
	CHECK_EQ(unlinkat9(ROOT_FID, "..", P9_AT_REMOVEDIR), EINVAL);
	CHECK_EQ(unlinkat9(ROOT_FID, "dir/file", 0), EINVAL);
	CHECK_EQ(link9(ROOT_FID, ROOT_FID, "rootlink"), EPERM);

	/* A symlink the guest makes is stored, never followed by the server. */
	CHECK_EQ(symlink9(ROOT_FID, "mine", "/"), 0);
	CHECK_EQ(walk(ROOT_FID, 6, "mine", "etc"), 0);
	CHECK_EQ(nwqid(), 1);
	CHECK_EQ(symlink9(ROOT_FID, "mine2", "../outside/secret"), 0);
	CHECK_EQ(walk(ROOT_FID, 6, "mine2"), 0);
	CHECK_EQ(lopen(6, P9_DOTL_RDONLY), ELOOP);
	CHECK_EQ(clunk(6), 0);

	/* A directory swapped for a symlink behind a fid's back. */
	CHECK_EQ(walk(ROOT_FID, 7, "dir", "sub"), 0);
	CHECK_EQ(walk(ROOT_FID, 8, "dir", "file"), 0);
	sh("mv '%s' '%s' && ln -s '%s' '%s'", host("dir"), host("dir.real"), outside, host("dir"));
	CHECK(getattr(7, &mode, &size) != 0);
	CHECK(lopen(8, P9_DOTL_RDWR | P9_DOTL_TRUNC) != 0);
	CHECK(setattr(8, P9_ATTR_MODE, 0777, 0) != 0);
	CHECK(lcreate(7, "evil", P9_DOTL_WRONLY, 0644) != 0);
	CHECK(walk(2, 9, "secret") != 0);	/* fid 2 is the root */

	/* Device nodes and FIFOs are never opened or created. */
	CHECK_EQ(mknod9(ROOT_FID, "disk", S_IFBLK | 0666), EPERM);
	CHECK_EQ(mknod9(ROOT_FID, "mem", S_IFCHR | 0666), EPERM);
	CHECK_EQ(mknod9(ROOT_FID, "fifo2", S_IFIFO | 0644), 0);
	CHECK_EQ(walk(ROOT_FID, 9, "fifo"), 0);
	CHECK_EQ(lopen(9, P9_DOTL_RDONLY), EPERM);	/* and it did not block */

	/* Unlinking a symlink removes the link only. */
	CHECK_EQ(unlinkat9(ROOT_FID, "abs", 0), 0);
	CHECK_EQ(unlinkat9(ROOT_FID, "abs_file", 0), 0);
	CHECK(secret_intact());
}

static void test_confinement_openat2(void)
{
	beneath_force_fallback(false);
	confinement();
	if (!beneath_uses_openat2())
		printf("# openat2 is not available here: both runs used the fallback\n");
}

static void test_confinement_fallback(void)
{
	beneath_force_fallback(true);
	confinement();
	beneath_force_fallback(false);
}

static void test_pseudo_fs(void)
{
	struct p9_server *p;

	/* Kernel pseudo filesystems are not shared, and not entered. */
	p = server("/proc", true);
	CHECK(!p);
	p9_server_free(p);
	setup(true);
	p9_server_free(srv);
	srv = server("/", true);
	CHECK(srv);
	version(MSIZE, "9P2000.L");
	attach(ROOT_FID);
	if (access("/proc/self", F_OK) == 0) {
		u32 mode;
		u64 size;

		/* Its root can be reached (to mount over it), nothing below or in it. */
		CHECK_EQ(walk(ROOT_FID, 2, "proc"), 0);
		CHECK_EQ(getattr(2, &mode, &size), 0);
		CHECK(S_ISDIR(mode));
		CHECK_EQ(lopen(2, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY), EACCES);
		CHECK_EQ(walk(2, 3, "self"), EACCES);
		CHECK_EQ(walk(2, 3, "..", "proc"), 0);
		CHECK_EQ(nwqid(), 2);
		CHECK_EQ(walk(ROOT_FID, 4, "proc", "self", "status"), 0);
		CHECK_EQ(nwqid(), 1);
		CHECK_EQ(mkdir9(2, "x"), EACCES);
		CHECK_EQ(setattr(2, P9_ATTR_MODE, 0777, 0), EROFS);
		CHECK_EQ(xattrwalk(2, 4, "", &size), EACCES);
		CHECK_EQ(clunk(2), 0);
		CHECK_EQ(clunk(3), 0);
	}
	if (access("/sys/kernel", F_OK) == 0) {
		CHECK_EQ(walk(ROOT_FID, 2, "sys", "kernel"), 0);
		CHECK_EQ(nwqid(), 1);
	}
	CHECK_EQ(walk(ROOT_FID, 2, "etc"), 0);
	/* The read-only root is read-only. */
	CHECK_EQ(mkdir9(2, "lkvm-test-must-not-exist"), EROFS);
	CHECK(access("/etc/lkvm-test-must-not-exist", F_OK) != 0);
}

static void test_files(void)
{
	static u8 big[400 * 1024], back[400 * 1024];
	char target[64];
	u32 n, mode, i;
	u64 size;
	bool same = true;

	setup(false);
	CHECK_EQ(walk(ROOT_FID, 2, "dir"), 0);
	CHECK_EQ(lcreate(2, "new", P9_DOTL_RDWR, 0640), 0);
	CHECK_EQ(p9write(2, 0, "hello world", 11), 0);
	CHECK_EQ(r_get(7, 4), 11);
	CHECK_EQ(p9write(2, 6, "WORLD", 5), 0);
	CHECK_EQ(p9read(2, 0, 100, &n), 0);
	CHECK_EQ(n, 11);
	CHECK(!memcmp(resp + 11, "hello WORLD", 11));
	CHECK_EQ(p9read(2, 100, 100, &n), 0);
	CHECK_EQ(n, 0);
	/* A write whose count runs past the message */
	m_begin(P9_TWRITE);
	put(2, 4);
	put(0, 8);
	put(1000, 4);
	m_bytes("abc", 3);
	CHECK_EQ(m_send(), EINVAL);
	/* Large I/O at the full msize */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7 + (i >> 12);
	CHECK_EQ(p9write(2, 0, big, sizeof(big)), 0);
	CHECK_EQ(r_get(7, 4), sizeof(big));
	CHECK_EQ(p9read(2, 0, MSIZE, &n), 0);
	CHECK_EQ(n, sizeof(big));
	memcpy(back, resp + 11, sizeof(back));
	for (i = 0; i < sizeof(big); i++)
		same &= big[i] == back[i];
	CHECK(same);
	/* A count larger than msize is clamped, not overflowed. */
	CHECK_EQ(p9read(2, 0, 0xffffffff, &n), 0);
	CHECK(n <= MSIZE - 11);
	/* The client's own buffer limits the answer too. */
	m_begin(P9_TREAD);
	put(2, 4);
	put(0, 8);
	put(4096, 4);
	m.b[0] = m.len;
	resp_len = p9_server_handle(srv, m.b, m.len, resp, 100);
	CHECK_EQ(resp_len, 100);
	CHECK_EQ(r_get(7, 4), 89);
	CHECK_EQ(getattr(2, &mode, &size), 0);
	CHECK_EQ(mode, S_IFREG | 0640);
	CHECK_EQ(size, sizeof(big));
	CHECK_EQ(setattr(2, P9_ATTR_SIZE | P9_ATTR_MODE, 0600, 5), 0);
	CHECK_EQ(getattr(2, &mode, &size), 0);
	CHECK_EQ(mode, S_IFREG | 0600);
	CHECK_EQ(size, 5);
	m_begin(P9_TFSYNC);
	put(2, 4);
	put(1, 4);
	CHECK_EQ(m_send(), 0);
	CHECK_EQ(lopen(2, P9_DOTL_RDONLY), EINVAL);	/* already open */
	CHECK_EQ(clunk(2), 0);

	/* Locks */
	CHECK_EQ(walk(ROOT_FID, 3, "dir", "new"), 0);
	CHECK_EQ(lopen(3, P9_DOTL_RDWR), 0);
	CHECK_EQ(walk(ROOT_FID, 4, "dir", "new"), 0);
	CHECK_EQ(lopen(4, P9_DOTL_RDWR), 0);
	m_begin(P9_TLOCK);
	put(3, 4);
	put(P9_LOCK_TYPE_WRLCK, 1);
	put(0, 4);
	put(0, 8);
	put(10, 8);
	put(42, 4);
	m_str("guest");
	CHECK_EQ(m_send(), 0);
	CHECK_EQ(resp[7], P9_LOCK_SUCCESS);
	m.b[7] = 4;	/* the same lock through the other fid */
	CHECK_EQ(m_send(), 0);
	CHECK_EQ(resp[7], P9_LOCK_BLOCKED);
	CHECK_EQ(getlock9(4), 0);
	CHECK_EQ(resp[7], P9_LOCK_TYPE_WRLCK);
	m_begin(P9_TLOCK);
	put(3, 4);
	put(9, 1);	/* bad type */
	put(0, 4);
	put(0, 8);
	put(0, 8);
	put(0, 4);
	m_str("g");
	CHECK_EQ(m_send(), EINVAL);
	CHECK_EQ(clunk(3), 0);
	CHECK_EQ(clunk(4), 0);

	/* Directories, links, renames */
	CHECK_EQ(mkdir9(ROOT_FID, "d2"), 0);
	CHECK_EQ(resp[7], P9_QTDIR);
	CHECK_EQ(mkdir9(ROOT_FID, "d2"), EEXIST);
	CHECK_EQ(walk(ROOT_FID, 5, "d2"), 0);
	CHECK_EQ(symlink9(5, "sl", "../dir/new"), 0);
	CHECK_EQ(walk(5, 6, "sl"), 0);
	CHECK_EQ(readlink9(6, target, sizeof(target)), 0);
	CHECK(!strcmp(target, "../dir/new"));
	CHECK_EQ(walk(ROOT_FID, 7, "dir", "new"), 0);
	CHECK_EQ(link9(5, 7, "hard"), 0);
	CHECK_EQ(walk(ROOT_FID, 8, "d2", "hard"), 0);
	CHECK_EQ(renameat9(ROOT_FID, "d2", ROOT_FID, "d3"), 0);
	/* Fids below a renamed directory follow it. */
	CHECK_EQ(getattr(8, &mode, &size), 0);
	CHECK_EQ(size, 5);
	CHECK_EQ(walk(6, 9, ".."), 0);
	CHECK_EQ(unlinkat9(5, "hard", 0), 0);
	CHECK_EQ(unlinkat9(5, "sl", 0), 0);
	CHECK_EQ(unlinkat9(ROOT_FID, "d3", P9_AT_REMOVEDIR), 0);
	CHECK(access(host("d3"), F_OK) != 0);
	CHECK_EQ(unlinkat9(ROOT_FID, "dir", 0x1), EINVAL);	/* unknown flag */
	m_begin(P9_TREMOVE);
	put(7, 4);
	CHECK_EQ(m_send(), 0);
	CHECK(access(host("dir/new"), F_OK) != 0);
	CHECK_EQ(clunk(7), EBADF);			/* Tremove clunked it */
	m_begin(P9_TSTATFS);
	put(ROOT_FID, 4);
	CHECK_EQ(m_send(), 0);
	CHECK(r_get(11, 4) > 0);			/* bsize */
	CHECK(secret_intact());
}

static void test_readdir(void)
{
	bool seen[300] = { false };
	u64 off = 0;
	int calls = 0, total = 0, i, dups = 0;

	setup(false);
	sh("mkdir '%s' && cd '%s' && for i in $(seq 0 299); do : > f$i; done",
	   host("many"), host("many"));
	CHECK_EQ(walk(ROOT_FID, 2, "many"), 0);
	CHECK_EQ(lopen(2, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY), 0);
	for (;;) {
		size_t pos, end;
		u32 count;

		m_begin(P9_TREADDIR);
		put(2, 4);
		put(off, 8);
		put(500, 4);	/* a few entries per call */
		if (m_send() || ++calls > 1000)
			break;
		count = r_get(7, 4);
		if (!count)
			break;
		CHECK(count <= 500);
		pos = 11;
		end = 11 + count;
		while (pos < end) {
			u16 nl = r_get(pos + 22, 2);
			char name[64];

			off = r_get(pos + 13, 8);
			memcpy(name, resp + pos + 24, nl < 63 ? nl : 63);
			name[nl < 63 ? nl : 63] = '\0';
			if (name[0] == 'f') {
				i = atoi(name + 1);
				if (i >= 0 && i < 300) {
					dups += seen[i];
					seen[i] = true;
				}
			}
			total++;
			pos += 24 + nl;
		}
	}
	for (i = 0; i < 300; i++)
		CHECK(seen[i]);
	CHECK_EQ(dups, 0);
	CHECK_EQ(total, 302);	/* with "." and ".." */
	/* Readdir needs an open directory */
	CHECK_EQ(walk(ROOT_FID, 3, "many"), 0);
	m_begin(P9_TREADDIR);
	put(3, 4);
	put(0, 8);
	put(500, 4);
	CHECK_EQ(m_send(), EBADF);
}

static void test_xattr(void)
{
	u64 size;
	u32 n;

	setup(false);
	if (setxattr(host("dir/file"), "user.probe", "1", 1, 0) < 0) {
		printf("# host filesystem without user xattrs: %s\n", strerror(errno));
		return;
	}
	CHECK_EQ(walk(ROOT_FID, 2, "dir", "file"), 0);
	CHECK_EQ(xattrcreate(2, "user.lkvm", 5, 0), 0);
	CHECK_EQ(p9write(2, 0, "va", 2), 0);
	CHECK_EQ(p9write(2, 2, "lue", 3), 0);
	CHECK_EQ(p9write(2, 4, "xx", 2), ENOSPC);	/* past the announced size */
	CHECK_EQ(clunk(2), 0);
	CHECK_EQ(walk(ROOT_FID, 3, "dir", "file"), 0);
	CHECK_EQ(xattrwalk(3, 4, "user.lkvm", &size), 0);
	CHECK_EQ(size, 5);
	CHECK_EQ(p9read(4, 0, 100, &n), 0);
	CHECK_EQ(n, 5);
	CHECK(!memcmp(resp + 11, "value", 5));
	CHECK_EQ(clunk(4), 0);
	CHECK_EQ(xattrwalk(3, 4, "", &size), 0);	/* the list */
	CHECK(size >= sizeof("user.lkvm") + sizeof("user.probe"));
	CHECK_EQ(clunk(4), 0);
	CHECK_EQ(xattrwalk(3, 4, "user.none", &size), ENODATA);
	CHECK_EQ(xattrcreate(3, "user.big", 1 << 20, 0), E2BIG);
	CHECK_EQ(xattrcreate(3, "user.bad", 1, 0x80), EINVAL);
	/* A short value is not set */
	CHECK_EQ(xattrcreate(3, "user.short", 4, 0), 0);
	CHECK_EQ(p9write(3, 0, "ab", 2), 0);
	CHECK_EQ(clunk(3), EINVAL);
	CHECK_EQ(walk(ROOT_FID, 3, "dir", "file"), 0);
	CHECK_EQ(xattrwalk(3, 4, "user.short", &size), ENODATA);
	/* Size 0 removes */
	CHECK_EQ(xattrcreate(3, "user.lkvm", 0, 0), 0);
	CHECK_EQ(clunk(3), 0);
	CHECK(getxattr(host("dir/file"), "user.lkvm", NULL, 0) < 0);
}

/*
 * Each xattr fid holds a value of up to 64 KiB in lkvm's memory, and a
 * guest may open 32768 fids: 2 GiB of host memory on request. The values
 * held at once are capped per server; clunking gives the room back.
 */
static void test_xattr_budget(void)
{
	const u32 per = 65536, n = 2 * P9_XATTR_BUDGET / per;
	u32 i, ok = 0, refused = 0;
	int e;

	setup(false);
	for (i = 0; i < n; i++) {
		CHECK_EQ(walk(ROOT_FID, 100 + i, "dir"), 0);
		e = xattrcreate(100 + i, "user.big", per, 0);
		ok += e == 0;
		refused += e == ENOMEM;
	}
	CHECK(ok > 0);
	CHECK(ok <= P9_XATTR_BUDGET / per);
	CHECK_EQ(ok + refused, n);
	/* Clunking one (its value never arrived whole) makes room for another. */
	CHECK_EQ(clunk(100), EINVAL);
	CHECK_EQ(walk(ROOT_FID, 100, "dir"), 0);
	CHECK_EQ(xattrcreate(100, "user.big", per, 0), 0);
	CHECK_EQ(xattrcreate(100 + n - 1, "user.big", per, 0), ENOMEM);
	/* A new session starts with the whole budget. */
	CHECK_EQ(version(MSIZE, "9P2000.L"), 0);
	CHECK_EQ(attach(ROOT_FID), 0);
	CHECK_EQ(walk(ROOT_FID, 2, "dir"), 0);
	CHECK_EQ(xattrcreate(2, "user.big", per, 0), 0);
}

static void test_readonly(void)
{
	u32 n;

	setup(true);
	CHECK_EQ(walk(ROOT_FID, 2, "dir", "file"), 0);
	CHECK_EQ(lopen(2, P9_DOTL_RDWR), EROFS);
	CHECK_EQ(lopen(2, P9_DOTL_RDONLY | P9_DOTL_TRUNC), EROFS);
	CHECK_EQ(lopen(2, P9_DOTL_RDONLY), 0);
	CHECK_EQ(p9read(2, 0, 100, &n), 0);
	CHECK_EQ(n, 5);
	CHECK_EQ(p9write(2, 0, "x", 1), EBADF);
	CHECK_EQ(setattr(2, P9_ATTR_MODE, 0777, 0), EROFS);
	CHECK_EQ(lcreate(ROOT_FID, "n", P9_DOTL_WRONLY, 0644), EROFS);
	CHECK_EQ(mkdir9(ROOT_FID, "n"), EROFS);
	CHECK_EQ(symlink9(ROOT_FID, "n", "x"), EROFS);
	CHECK_EQ(mknod9(ROOT_FID, "n", S_IFIFO | 0644), EROFS);
	CHECK_EQ(walk(ROOT_FID, 3, "dir"), 0);
	CHECK_EQ(link9(ROOT_FID, 2, "n"), EROFS);
	CHECK_EQ(renameat9(ROOT_FID, "dir", ROOT_FID, "n"), EROFS);
	CHECK_EQ(unlinkat9(3, "file", 0), EROFS);
	CHECK_EQ(xattrcreate(3, "user.x", 1, 0), EROFS);
	m_begin(P9_TREMOVE);
	put(3, 4);
	CHECK_EQ(m_send(), EROFS);
	CHECK(access(host("dir/file"), F_OK) == 0);
	CHECK(access(host("n"), F_OK) != 0);
}

static mode_t host_mode(const char *rel)
{
	struct stat st;

	return lstat(host(rel), &st) ? (mode_t)-1 : st.st_mode & 07777;
}

/*
 * security=restricted, the default (issue F1: the guest's root made
 * setuid-root host files with Tsetattr uid 0 then mode 04755, and set
 * trusted.* and security.capability xattrs).
 */
static void test_security_restricted(void)
{
	setup(false);
	/*
	 * Created modes lose setuid and setgid (as root, giving the file to
	 * its owner would clear them too; not so for lkvm as another user).
	 */
	CHECK_EQ(walk(ROOT_FID, 2, "dir"), 0);
	CHECK_EQ(lcreate(2, "suid", P9_DOTL_WRONLY, 04755), 0);
	CHECK_EQ(host_mode("dir/suid"), 0755);
	CHECK_EQ(clunk(2), 0);
	CHECK_EQ(mknod9(ROOT_FID, "sgid", S_IFREG | 06755), 0);
	CHECK_EQ(host_mode("sgid"), 0755);
	CHECK_EQ(mknod9(ROOT_FID, "dev", S_IFCHR | 0600), EPERM);
	/* chmod adding them is refused; other modes are fine. */
	CHECK_EQ(walk(ROOT_FID, 2, "dir", "suid"), 0);
	CHECK_EQ(setattr(2, P9_ATTR_UID | P9_ATTR_MODE, 04755, 0), EPERM);
	CHECK_EQ(setattr(2, P9_ATTR_MODE, 02755, 0), EPERM);
	CHECK_EQ(setattr(2, P9_ATTR_MODE, 0700, 0), 0);
	CHECK_EQ(host_mode("dir/suid"), 0700);
	/* A directory's setgid bit only sets the group of new entries: allowed. */
	CHECK_EQ(walk(ROOT_FID, 3, "dir", "sub"), 0);
	CHECK_EQ(setattr(3, P9_ATTR_MODE, 02775, 0), 0);
	CHECK_EQ(host_mode("dir/sub"), 02775);
	CHECK_EQ(setattr(3, P9_ATTR_MODE, 04775, 0), EPERM);
	/* A host setuid/setgid program loses the bits before the guest writes it. */
	sh("printf x > '%s' && chmod 6755 '%s'", host("prog"), host("prog"));
	sh("printf x > '%s' && chmod 4755 '%s'", host("prog2"), host("prog2"));
	sh("printf x > '%s' && chmod 2644 '%s'", host("mand"), host("mand"));
	CHECK_EQ(walk(ROOT_FID, 4, "prog"), 0);
	CHECK_EQ(lopen(4, P9_DOTL_RDONLY), 0);
	CHECK_EQ(host_mode("prog"), 06755);		/* reading changes nothing */
	CHECK_EQ(clunk(4), 0);
	CHECK_EQ(walk(ROOT_FID, 4, "prog"), 0);
	CHECK_EQ(lopen(4, P9_DOTL_WRONLY), 0);
	CHECK_EQ(host_mode("prog"), 0755);
	CHECK_EQ(walk(ROOT_FID, 5, "prog2"), 0);
	CHECK_EQ(setattr(5, P9_ATTR_SIZE, 0, 0), 0);
	CHECK_EQ(host_mode("prog2"), 0755);
	CHECK_EQ(walk(ROOT_FID, 6, "mand"), 0);	/* setgid without g+x: no privilege */
	CHECK_EQ(lopen(6, P9_DOTL_RDWR), 0);
	CHECK_EQ(host_mode("mand"), 02644);
	/* Only user.* and POSIX ACL xattrs can be set or removed. */
	CHECK_EQ(walk(ROOT_FID, 7, "dir", "file"), 0);
	CHECK_EQ(xattrcreate(7, "trusted.lkvm", 1, 0), EPERM);
	CHECK_EQ(xattrcreate(7, "security.capability", 20, 0), EPERM);
	CHECK_EQ(xattrcreate(7, "security.selinux", 0, 0), EPERM);	/* removal */
	CHECK_EQ(xattrcreate(7, "system.sockprotoname", 1, 0), EPERM);
	CHECK_EQ(xattrcreate(7, "trustedx", 1, 0), EPERM);
	CHECK_EQ(xattrcreate(7, "system.posix_acl_access", 0, 0), 0);
	CHECK_EQ(clunk(7), 0);		/* removing an ACL that is not there */
	CHECK_EQ(walk(ROOT_FID, 7, "dir", "file"), 0);
	CHECK_EQ(xattrcreate(7, "user.lkvm", 0, 0), 0);
	clunk(7);			/* ENODATA: there is none */
	CHECK(getxattr(host("dir/file"), "trusted.lkvm", NULL, 0) < 0);
}

/* security=passthrough applies what the guest asks, as before. */
static void test_security_passthrough(void)
{
	bool trusted;

	setup_opts(&(struct p9_server_opts){ .security = P9_SECURITY_PASSTHROUGH });
	CHECK_EQ(walk(ROOT_FID, 2, "dir"), 0);
	CHECK_EQ(lcreate(2, "suid", P9_DOTL_WRONLY, 0755), 0);
	CHECK_EQ(clunk(2), 0);
	CHECK_EQ(walk(ROOT_FID, 2, "dir", "suid"), 0);
	CHECK_EQ(setattr(2, P9_ATTR_MODE, 06711, 0), 0);
	CHECK_EQ(host_mode("dir/suid"), 06711);
	CHECK_EQ(lopen(2, P9_DOTL_WRONLY), 0);
	CHECK_EQ(host_mode("dir/suid"), 06711);
	CHECK_EQ(mknod9(ROOT_FID, "dev", S_IFCHR | 0600), EPERM);	/* never */
	/* trusted.* needs CAP_SYS_ADMIN and a filesystem that has it */
	trusted = setxattr(host("dir/sub"), "trusted.probe", "1", 1, 0) == 0;
	CHECK_EQ(walk(ROOT_FID, 3, "dir", "file"), 0);
	CHECK_EQ(xattrcreate(3, "trusted.lkvm", 1, 0), 0);
	CHECK_EQ(p9write(3, 0, "1", 1), 0);
	if (trusted) {
		CHECK_EQ(clunk(3), 0);
		CHECK(getxattr(host("dir/file"), "trusted.lkvm", NULL, 0) == 1);
	} else {
		printf("# no trusted.* xattrs here: %s\n", strerror(errno));
		clunk(3);
	}
}

/* Is any lock held on the host file @rel? (From a new open file description.) */
static short host_lock(const char *rel)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(host(rel), O_RDWR);

	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) < 0)
		fl.l_type = -1;
	if (fd >= 0)
		close(fd);
	return fl.l_type;
}

/* Issue F3: a read-only share took host locks on any file lkvm can read. */
static void test_readonly_locks(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	u8 status;
	int fd;

	setup(true);
	CHECK_EQ(walk(ROOT_FID, 2, "dir", "file"), 0);
	CHECK_EQ(lopen(2, P9_DOTL_RDONLY), 0);
	CHECK_EQ(lock9(2, P9_LOCK_TYPE_RDLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);		/* granted to the guest... */
	CHECK_EQ(host_lock("dir/file"), F_UNLCK);	/* ...and not taken on the host */
	/* A host lock neither blocks the guest nor shows. */
	fd = open(host("dir/file"), O_RDWR);
	CHECK(fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	CHECK_EQ(lock9(2, P9_LOCK_TYPE_RDLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(getlock9(2), 0);
	CHECK_EQ(resp[7], P9_LOCK_TYPE_UNLCK);
	CHECK_EQ(lock9(2, 9, &status), EINVAL);		/* still checked */
	CHECK_EQ(lock9(ROOT_FID, P9_LOCK_TYPE_RDLCK, &status), EBADF);
	if (fd >= 0)
		close(fd);
	/* A writable share still locks on the host. */
	setup(false);
	CHECK_EQ(walk(ROOT_FID, 2, "dir", "file"), 0);
	CHECK_EQ(lopen(2, P9_DOTL_RDWR), 0);
	CHECK_EQ(lock9(2, P9_LOCK_TYPE_WRLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(host_lock("dir/file"), F_WRLCK);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* Issue F4: open fids could use up lkvm's descriptors. */
static void test_open_limit(void)
{
	int base;
	u64 size;
	u32 i;

	setup_opts(&(struct p9_server_opts){ .max_open = 4 });
	base = count_fds();
	for (i = 0; i < 4; i++) {
		CHECK_EQ(walk(ROOT_FID, 10 + i, "dir", "file"), 0);
		CHECK_EQ(lopen(10 + i, P9_DOTL_RDONLY), 0);
	}
	CHECK_EQ(p9_server_nr_open(srv), 4);
	CHECK_EQ(count_fds(), base + 4);
	/* Past the cap: EMFILE, and nothing is created. */
	CHECK_EQ(walk(ROOT_FID, 20, "dir", "file"), 0);	/* walked fids hold none */
	CHECK_EQ(lopen(20, P9_DOTL_RDONLY), EMFILE);
	CHECK_EQ(walk(ROOT_FID, 21, "dir"), 0);
	CHECK_EQ(lcreate(21, "new", P9_DOTL_RDWR, 0644), EMFILE);
	CHECK(access(host("dir/new"), F_OK) != 0);
	CHECK_EQ(xattrwalk(ROOT_FID, 22, "", &size), 0);	/* memory, not a descriptor */
	CHECK_EQ(count_fds(), base + 4);
	/* Clunking gives one back; a failed open takes none. */
	CHECK_EQ(clunk(10), 0);
	CHECK_EQ(walk(ROOT_FID, 23, "fifo"), 0);
	CHECK_EQ(lopen(23, P9_DOTL_RDONLY), EPERM);
	CHECK_EQ(lcreate(21, "new", P9_DOTL_RDWR, 0644), 0);
	CHECK_EQ(lopen(20, P9_DOTL_RDONLY), EMFILE);
	CHECK_EQ(p9_server_nr_open(srv), 4);
	CHECK_EQ(count_fds(), base + 4);
	/* A new session starts with the whole allowance. */
	CHECK_EQ(version(MSIZE, "9P2000.L"), 0);
	CHECK_EQ(p9_server_nr_open(srv), 0);
	CHECK_EQ(count_fds(), base);
}

/*
 * A session of every kind of operation on a writable share, as the 9P
 * worker makes it, under the worker's seccomp list (seccomp.c). Returns how
 * many basic operations failed.
 */
static int session_9p(void)
{
	u32 n, mode, fid;
	u64 size;
	u8 st;
	char buf[64];
	int bad = 0;

	bad += walk(ROOT_FID, 2, "dir") != 0;
	bad += lcreate(2, "new", P9_DOTL_RDWR, 0640) != 0;
	bad += p9write(2, 0, "hello", 5) != 0;
	bad += p9read(2, 0, 5, &n) != 0;
	bad += getattr(2, &mode, &size) != 0;
	bad += setattr(2, P9_ATTR_MODE, 0600, 0) != 0;
	bad += setattr(2, P9_ATTR_SIZE, 0, 3) != 0;
	m_begin(P9_TFSYNC);
	put(2, 4);
	put(1, 4);
	bad += m_send() != 0;
	lock9(2, P9_LOCK_TYPE_WRLCK, &st);
	getlock9(2);
	xattrwalk(2, 9, "user.lkvm", &size);
	bad += walk(ROOT_FID, 3, "dir") != 0;
	bad += mkdir9(3, "d") != 0;
	bad += symlink9(3, "s", "target") != 0;
	mknod9(3, "fifo2", S_IFIFO | 0600);
	link9(3, 2, "hard");
	bad += renameat9(3, "d", 3, "d2") != 0;
	walk(3, 4, "s");
	readlink9(4, buf, sizeof(buf));
	for (fid = 5; fid < 7; fid++)
		walk(ROOT_FID, fid, "dir");
	m_begin(P9_TLOPEN);
	put(5, 4);
	put(P9_DOTL_RDONLY | P9_DOTL_DIRECTORY, 4);
	m_send();
	m_begin(P9_TREADDIR);
	put(5, 4);
	put(0, 8);
	put(500, 4);
	bad += m_send() != 0;
	xattrcreate(6, "user.lkvm", 5, 0);
	p9write(6, 0, "value", 5);
	clunk(6);
	m_begin(P9_TSTATFS);
	put(ROOT_FID, 4);
	bad += m_send() != 0;
	bad += unlinkat9(3, "d2", AT_REMOVEDIR) != 0;
	bad += unlinkat9(3, "new", 0) != 0;
	clunk(2);
	return bad;
}

static void test_under_seccomp(void)
{
	int status = -1, pfd[2];
	char err[512] = "";
	ssize_t n;
	pid_t pid;

	setup(false);
	CHECK_EQ(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		if (thread_filter_install("9p", "virtio-9p worker"))
			_exit(100);
		exit(session_9p() ? 101 : 0);
	}
	close(pfd[1]);
	n = read(pfd[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "status 0x%x: %s\n", status, err);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!strstr(err, "seccomp"));
}

TEST_MAIN_BEGIN("test-9p")
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (snprintf(tmp, sizeof(tmp), "%s/lkvm-test-9p.%d", base, (int)getpid()) >= 1000 ||
	    snprintf(share, sizeof(share), "%s/share", tmp) >= (int)sizeof(share) ||
	    snprintf(outside, sizeof(outside), "%s/outside", tmp) >= (int)sizeof(outside))
		return 2;
	RUN(test_version);
	RUN(test_bad_headers);
	RUN(test_truncated);
	RUN(test_walk_limits);
	RUN(test_fid_limit);
	RUN(test_confinement_openat2);
	RUN(test_confinement_fallback);
	RUN(test_pseudo_fs);
	RUN(test_files);
	RUN(test_readdir);
	RUN(test_xattr);
	RUN(test_xattr_budget);
	RUN(test_readonly);
	RUN(test_security_restricted);
	RUN(test_security_passthrough);
	RUN(test_readonly_locks);
	RUN(test_open_limit);
	RUN(test_fuzz);
	RUN(test_under_seccomp);
	p9_server_free(srv);
	sh("rm -rf '%s'", tmp);
TEST_MAIN_END()
