// SPDX-License-Identifier: GPL-2.0
/*
 * The passt backend (net/passt.c) against a fake passt: the test holds the
 * other end of the stream. Checked: frames in and out with their 32-bit
 * big-endian lengths, frames split across reads, headers split across
 * iovecs, hostile lengths (huge, zero, shorter than an Ethernet header:
 * read and dropped, never written past the buffer, the stream stays in
 * step), passt going away (one message, then -1), a send waiting on a
 * passt that is itself blocked writing to lkvm (no deadlock), and starting passt:
 * readiness through the pid file, a passt that fails (its last line in
 * lkvm's one), a missing passt, a busy forwarded port, a socket= that
 * doesn't exist.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lkvm/net.h"
#include "test.h"

#define BUFSZ	(NET_VNET_HDR_LEN + NET_MAX_FRAME)

static struct net_backend be;
static int peer = -1;
static u8 *buf;

static void setup(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	passt_attach(&be, sv[0]);
	peer = sv[1];
	fcntl(peer, F_SETFL, O_NONBLOCK);
	/* Exactly the size the interface promises: ASan catches one byte more. */
	free(buf);
	buf = malloc(BUFSZ);
}

static void teardown(void)
{
	be.ops->close(&be);
	if (peer >= 0)
		close(peer);
	peer = -1;
}

static void put_len(u32 len)
{
	u8 b[4] = { len >> 24, len >> 16, len >> 8, len };

	if (write(peer, b, 4) != 4)
		abort();
}

/* Write all of @len bytes, blocking on the non-blocking peer as needed. */
static void put(const void *p, size_t len)
{
	while (len) {
		ssize_t r = write(peer, p, len);

		if (r < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (r <= 0)
			abort();
		p = (const u8 *)p + r;
		len -= r;
	}
}

static void fill(u8 *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(i * 7 + seed);
}

static void test_passt_rx(void)
{
	u8 frame[1500];

	setup();
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);	/* nothing yet */
	fill(frame, sizeof(frame), 1);
	put_len(sizeof(frame));
	put(frame, sizeof(frame));
	memset(buf, 0xaa, NET_VNET_HDR_LEN);
	CHECK_EQ(be.ops->recv(&be, 0, buf), NET_VNET_HDR_LEN + sizeof(frame));
	CHECK(!memcmp(buf + NET_VNET_HDR_LEN, frame, sizeof(frame)));
	CHECK(buf[0] == 0 && buf[NET_VNET_HDR_LEN - 1] == 0);	/* a zeroed header */

	/* Piece by piece: length split, then the frame in three writes. */
	fill(frame, sizeof(frame), 2);
	put("\0\0", 2);
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);
	put("\x05\xdc", 2);				/* 1500 */
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);
	put(frame, 100);
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);
	put(frame + 100, 1000);
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);
	put(frame + 1100, 400);
	CHECK_EQ(be.ops->recv(&be, 0, buf), NET_VNET_HDR_LEN + 1500);
	CHECK(!memcmp(buf + NET_VNET_HDR_LEN, frame, sizeof(frame)));

	/* The largest frame allowed fills the buffer exactly. */
	{
		u8 *big = malloc(NET_MAX_FRAME);
		ssize_t r;

		fill(big, NET_MAX_FRAME, 3);
		put_len(NET_MAX_FRAME);
		put(big, NET_MAX_FRAME);
		do
			r = be.ops->recv(&be, 0, buf);
		while (!r);
		CHECK_EQ(r, BUFSZ);
		CHECK(!memcmp(buf + NET_VNET_HDR_LEN, big, NET_MAX_FRAME));
		free(big);
	}
	teardown();
}

static void test_passt_rx_hostile(void)
{
	u8 *junk = calloc(1, NET_MAX_FRAME + 1);
	u8 frame[60];
	ssize_t r;

	setup();
	fill(frame, sizeof(frame), 9);
	/* One byte too long: read and dropped, the next frame still arrives. */
	put_len(NET_MAX_FRAME + 1);
	put(junk, NET_MAX_FRAME + 1);
	put_len(0);				/* empty: nothing */
	put_len(5);				/* shorter than an Ethernet header */
	put("hello", 5);
	put_len(sizeof(frame));
	put(frame, sizeof(frame));
	do
		r = be.ops->recv(&be, 0, buf);
	while (!r);
	CHECK_EQ(r, NET_VNET_HDR_LEN + sizeof(frame));
	CHECK(!memcmp(buf + NET_VNET_HDR_LEN, frame, sizeof(frame)));
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);

	/* 4 GiB announced, then passt dies: no overflow, one message, -1 after. */
	put_len(0xffffffff);
	put(junk, 65000);
	CHECK_EQ(be.ops->recv(&be, 0, buf), 0);
	close(peer);
	peer = -1;
	test_capture_begin();
	r = be.ops->recv(&be, 0, buf);
	CHECK_EQ(be.ops->recv(&be, 0, buf), -1);
	test_capture_end();
	CHECK_EQ(r, -1);
	CHECK_EQ(test_lines(test_captured), 1);
	CHECK(strstr(test_captured, "network is down"));
	teardown();
	free(junk);
}

static void test_passt_tx(void)
{
	u8 hdr[NET_VNET_HDR_LEN] = { 0x55 }, frame[300], got[4 + 300];
	struct iovec iov[4];
	ssize_t r;

	setup();
	fill(frame, sizeof(frame), 5);
	/* The header split over two iovecs, the frame's first part sharing one. */
	u8 first[8 + 50];

	memcpy(first, hdr + 4, 8);
	memcpy(first + 8, frame, 50);
	iov[0] = (struct iovec){ hdr, 4 };
	iov[1] = (struct iovec){ first, sizeof(first) };
	iov[2] = (struct iovec){ frame + 50, 0 };
	iov[3] = (struct iovec){ frame + 50, 250 };
	be.ops->send(&be, 0, iov, 4);
	r = read(peer, got, sizeof(got));
	CHECK_EQ(r, sizeof(got));
	CHECK(got[0] == 0 && got[1] == 0 && got[2] == 1 && got[3] == 44);	/* 300 */
	CHECK(!memcmp(got + 4, frame, sizeof(frame)));

	/* A header alone, or a runt: nothing goes out. */
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	be.ops->send(&be, 0, iov, 1);
	iov[1] = (struct iovec){ frame, 13 };
	be.ops->send(&be, 0, iov, 2);
	CHECK(read(peer, got, sizeof(got)) < 0 && errno == EAGAIN);

	/* passt gone: one message, later frames are dropped quietly. */
	close(peer);
	peer = -1;
	iov[1] = (struct iovec){ frame, sizeof(frame) };
	test_capture_begin();
	be.ops->send(&be, 0, iov, 2);
	be.ops->send(&be, 0, iov, 2);
	CHECK_EQ(be.ops->recv(&be, 0, buf), -1);
	test_capture_end();
	CHECK_EQ(test_lines(test_captured), 1);
	teardown();
}

/*
 * passt finishing a frame with blocking writes while lkvm's send waits on a
 * full socket: lkvm must read (and drop) meanwhile, or both wait for ever.
 * The child plays passt: 1 MiB of frames written blocking, then it reads
 * until lkvm's marker frame and answers with one frame of its own.
 */
#define FILLER		1000
#define MARKER		333

static void fake_passt_writer(void)
{
	u8 f[4 + FILLER], m[MARKER], lenb[4];
	size_t off, len;
	int i;

	fcntl(peer, F_SETFL, 0);	/* blocking, as passt's remainder writes */
	fill(f + 4, FILLER, 11);
	f[0] = 0; f[1] = 0; f[2] = FILLER >> 8; f[3] = FILLER & 0xff;
	for (i = 0; i < 1024; i++)
		for (off = 0; off < sizeof(f); off += len)
			if ((len = write(peer, f + off, sizeof(f) - off)) <= 0 || len > sizeof(f))
				_exit(2);
	/* Now read lkvm's frames, in step, until the marker. */
	for (;;) {
		if (recv(peer, lenb, 4, MSG_WAITALL) != 4)
			_exit(3);
		len = (size_t)lenb[0] << 24 | lenb[1] << 16 | lenb[2] << 8 | lenb[3];
		if (len > sizeof(f) || recv(peer, f, len, MSG_WAITALL) != (ssize_t)len)
			_exit(4);
		if (len == MARKER)
			break;
	}
	fill(m, MARKER, 12);
	if (memcmp(f, m, MARKER))
		_exit(5);
	fill(m, 60, 13);
	lenb[0] = 0; lenb[1] = 0; lenb[2] = 0; lenb[3] = 60;
	if (write(peer, lenb, 4) != 4 || write(peer, m, 60) != 60)
		_exit(6);
	_exit(0);
}

static void test_passt_tx_both_full(void)
{
	u8 hdr[NET_VNET_HDR_LEN] = { 0 }, frame[FILLER], want[60];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { frame, FILLER } };
	int st, i;
	ssize_t r;
	pid_t pid;

	setup();
	/* lkvm's way out full: frames passt has not read yet. */
	fill(frame, FILLER, 12);
	for (i = 0;; i++) {
		u8 f[4 + FILLER] = { 0, 0, FILLER >> 8, FILLER & 0xff };

		memcpy(f + 4, frame, FILLER);
		r = send(be.fds[0], f, sizeof(f), MSG_DONTWAIT);
		if (r < 0)
			break;
		CHECK_EQ(r, sizeof(f));
	}
	CHECK(i > 0 && errno == EAGAIN);
	pid = fork();
	if (!pid)
		fake_passt_writer();
	usleep(100 * 1000);	/* it is blocked in its writes by now */
	iov[1].iov_len = MARKER;
	test_capture_begin();
	be.ops->send(&be, 0, iov, 2);
	test_capture_end();
	CHECK_EQ(test_captured[0], '\0');	/* not "lost passt" */
	if (test_captured[0])
		kill(pid, SIGKILL);	/* still blocked in its writes */
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* What was not dropped is read in step, up to passt's answer. */
	fill(want, sizeof(want), 13);
	for (i = 0; i < 2000; i++) {
		r = be.ops->recv(&be, 0, buf);
		CHECK(r >= 0);
		if (r == NET_VNET_HDR_LEN + sizeof(want))
			break;
		if (r)
			CHECK_EQ(r, NET_VNET_HDR_LEN + FILLER);
	}
	CHECK_EQ(r, NET_VNET_HDR_LEN + sizeof(want));
	CHECK(!memcmp(buf + NET_VNET_HDR_LEN, want, sizeof(want)));
	teardown();
}

/* A stand-in for passt, written as a script, to start through PATH. */
static char fakedir[64];

static const char *fake_passt(const char *body)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/passt", fakedir);
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static void test_passt_start(void)
{
	struct net_config nc = { .mode = NET_MODE_USER };
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	u8 frame[64];
	int r;

	strcpy(fakedir, "/tmp/lkvm-fake-passt-XXXXXX");
	CHECK(mkdtemp(fakedir));

	/* Not installed: one line naming the package. */
	setenv("PATH", fakedir, 1);
	CHECK_ONE_LINE(passt_find() == NULL, "Debian package: passt");

	/*
	 * Ready: the pid file gets a line; then the socket works both ways.
	 * The fake echoes its arguments' fd back: prove it got --fd and -t.
	 */
	fake_passt("fd=; pid=; fwd=\n"
		   "while [ $# -gt 0 ]; do case $1 in --fd) fd=$2; shift;; --pid) pid=$2; shift;;\n"
		   "  -t) fwd=$2; shift;; esac; shift; done\n"
		   "echo $$ > $pid\n"
		   "[ \"$fwd\" = 40999:80 ] || exit 3\n"
		   "exec /bin/cat <&$fd >&$fd");
	nc.passt = passt_find();
	CHECK(nc.passt != NULL);
	nc.fwds[0] = (struct net_fwd){ .host_port = 40999, .guest_port = 80 };
	nc.nr_fwds = 1;
	r = passt_open(&be, &nc);
	CHECK_EQ(r, 0);
	if (!r) {
		struct iovec iov[2];
		u8 hdr[NET_VNET_HDR_LEN] = { 0 };
		ssize_t got;
		int tries = 0;

		fill(frame, sizeof(frame), 7);
		iov[0] = (struct iovec){ hdr, sizeof(hdr) };
		iov[1] = (struct iovec){ frame, sizeof(frame) };
		be.ops->send(&be, 0, iov, 2);
		do {
			got = be.ops->recv(&be, 0, buf);
			if (!got)
				usleep(10000);
		} while (!got && ++tries < 500);
		CHECK_EQ(got, NET_VNET_HDR_LEN + sizeof(frame));
		CHECK(!memcmp(buf + NET_VNET_HDR_LEN, frame, sizeof(frame)));
		be.ops->close(&be);	/* ends and reaps the fake */
	}

	/* Fails to start: lkvm says so in one line, with passt's last one. */
	fake_passt("echo 'Template interface: none' >&2\n"
		   "echo 'External interface not usable' >&2\nexit 1");
	CHECK_ONE_LINE(passt_open(&be, &nc) == -1,
		       "passt failed to start: External interface not usable");

	/* A forwarded port in use: one line, passt not even started. */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(sa);
		int l = socket(AF_INET, SOCK_STREAM, 0);

		CHECK(l >= 0 && !bind(l, (struct sockaddr *)&sa, sizeof(sa)) && !listen(l, 1));
		getsockname(l, (struct sockaddr *)&sa, &sl);
		nc.fwds[0].host_port = ntohs(sa.sin_port);
		fake_passt("exit 9");
		CHECK_ONE_LINE(passt_open(&be, &nc) == -1, "is in use");
		close(l);
	}

	/* socket= naming nothing. */
	nc.nr_fwds = 0;
	nc.socket = "/nonexistent/passt.socket";
	CHECK_ONE_LINE(passt_open(&be, &nc) == -1, "");

	if (old)
		setenv("PATH", old, 1);
	free(old);
	free((char *)nc.passt);
	unlink(fake_passt(""));
	rmdir(fakedir);
}

/*
 * The real passt, when this host has it: a DHCPDISCOVER framed by lkvm gets
 * an offer of the fixed address with the gateway as router, framed as lkvm
 * expects. Proves the framing, the arguments and readiness against passt
 * itself, not only against the fake above.
 */
static const u8 guest_mac[6] = { 0x02, 0x4c, 0, 0, 0, 1 };

static size_t dhcp_discover(u8 *f)
{
	u8 *ip = f + 14, *udp = ip + 20, *bootp = udp + 8, *o;
	size_t blen = 236 + 4 + 4, len = 14 + 20 + 8 + blen;
	u32 sum = 0;
	int i;

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (20 + 8 + blen) >> 8;
	ip[3] = (u8)(20 + 8 + blen);
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	for (i = 0; i < 20; i += 2)
		sum += ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = ~sum >> 8;
	ip[11] = (u8)~sum;
	udp[1] = 68;
	udp[3] = 67;
	udp[4] = (8 + blen) >> 8;
	udp[5] = (u8)(8 + blen);
	bootp[0] = 1;			/* BOOTREQUEST */
	bootp[1] = 1;
	bootp[2] = 6;
	bootp[4] = 0x12;		/* xid */
	bootp[10] = 0x80;		/* broadcast */
	memcpy(bootp + 28, guest_mac, 6);
	o = bootp + 236;
	o[0] = 99; o[1] = 130; o[2] = 83; o[3] = 99;
	o[4] = 53; o[5] = 1; o[6] = 1;	/* DHCPDISCOVER */
	o[7] = 255;
	return len;
}

/* Why test_passt_real cannot run here, or NULL. */
static const char *passt_real_skip(void)
{
	char line[256];
	bool route = false;
	const char *p;
	FILE *f;

	test_capture_begin();
	p = passt_find();
	test_capture_end();
	if (!p)
		return "passt is not installed";
	free((char *)p);
	/* passt wants a host interface with a default route. */
	f = fopen("/proc/net/route", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "\t00000000\t") && !strstr(line, "Iface"))
			route = true;
	if (f)
		fclose(f);
	return route ? NULL : "this host has no default route for passt";
}

static void test_passt_real(void)
{
	struct net_config nc = { .mode = NET_MODE_USER };
	u8 hdr[NET_VNET_HDR_LEN] = { 0 }, frame[400];
	struct iovec iov[2];
	bool offered = false;
	int r, tries;

	nc.passt = passt_find();
	if (!buf)
		buf = malloc(BUFSZ);
	r = passt_open(&be, &nc);
	CHECK_EQ(r, 0);
	if (r) {
		free((char *)nc.passt);
		return;
	}
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ frame, dhcp_discover(frame) };
	be.ops->send(&be, 0, iov, 2);
	for (tries = 0; tries < 300 && !offered; tries++) {
		ssize_t got = be.ops->recv(&be, 0, buf);
		const u8 *f = buf + NET_VNET_HDR_LEN, *bootp = f + 14 + 20 + 8;

		if (!got) {
			usleep(10000);
			continue;
		}
		CHECK(got > 0);
		if (got < 0)
			break;
		/* IPv4, UDP from port 67: the offer (NDP and the like are skipped). */
		if (got < NET_VNET_HDR_LEN + 14 + 20 + 8 + 240 || f[12] != 8 || f[13] != 0 ||
		    f[14 + 9] != 17 || f[14 + 21] != 67)
			continue;
		offered = true;
		CHECK(!memcmp(f, guest_mac, 6));		/* to the guest */
		CHECK(bootp[0] == 2);				/* BOOTREPLY */
		CHECK(!memcmp(bootp + 16, "\x0a\x00\x02\x0f", 4));	/* yiaddr 10.0.2.15 */
	}
	CHECK(offered);
	be.ops->close(&be);
	free((char *)nc.passt);
}

TEST_MAIN_BEGIN("test-net-passt")
	signal(SIGPIPE, SIG_IGN);	/* as lkvm does */
	RUN(test_passt_rx);
	RUN(test_passt_rx_hostile);
	RUN(test_passt_tx);
	RUN(test_passt_tx_both_full);
	RUN(test_passt_start);
	{
		const char *why = passt_real_skip();

		if (why)
			printf("SKIP: unit/test-net-passt/test_passt_real: %s\n", why);
		else
			RUN(test_passt_real);
	}
	free(buf);
TEST_MAIN_END()
