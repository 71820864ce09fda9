// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: the fid table. A fid names a host object by its canonical
 * path below the share root; an open fid also holds a descriptor, an xattr
 * fid a value in transit. Both the number of fids and the xattr bytes they
 * hold are bounded (a guest must not make lkvm allocate without limit).
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "9p-internal.h"

static struct p9_fid **fid_slot(struct p9_server *s, u32 id)
{
	struct p9_fid **pp = &s->fids[id % FID_BUCKETS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

struct p9_fid *p9_fid_get(struct p9_server *s, u32 id)
{
	return *fid_slot(s, id);
}

/*
 * The fid @id for a handler, in *@fp: EBADF when there is none, @bad_kind
 * when its kind is not in @kinds (FIDS_*), and EROFS for a read-only share
 * when the handler @modifies. Returns 0 or that errno.
 */
int p9_fid_use(struct p9_server *s, u32 id, unsigned int kinds, int bad_kind,
	       bool modifies, struct p9_fid **fp)
{
	struct p9_fid *f = p9_fid_get(s, id);

	if (!f)
		return EBADF;
	if (!(kinds & FIDS(f->kind)))
		return bad_kind;
	if (modifies && s->readonly)
		return EROFS;
	*fp = f;
	return 0;
}

/* The request was parsed to its end (else EINVAL): p9_fid_use() its fid. */
int p9_parsed_fid_use(struct p9_server *s, const struct p9_in *in, u32 id,
		      unsigned int kinds, int bad_kind, bool modifies, struct p9_fid **fp)
{
	if (!in_parsed(in))
		return EINVAL;
	return p9_fid_use(s, id, kinds, bad_kind, modifies, fp);
}

static void fid_release(struct p9_server *s, struct p9_fid *f)
{
	if (f->xbuf)
		s->xattr_bytes -= f->xlen;
	if (f->fd >= 0) {
		close(f->fd);
		s->nr_open--;
	}
	free(f->path);
	free(f->xbuf);
	free(f->xname);
	free(f);
}

/* A new fid @id for @path (taken over). Returns 0 or an errno. */
int p9_fid_new(struct p9_server *s, u32 id, u32 uid, char *path)
{
	struct p9_fid **pp = fid_slot(s, id), *f;

	if (id == P9_NOFID || *pp) {
		free(path);
		return id == P9_NOFID ? EINVAL : EEXIST;
	}
	if (s->nr_fids >= P9_MAX_FIDS) {
		free(path);
		return ENFILE;
	}
	f = xzalloc(sizeof(*f));
	f->id = id;
	f->uid = uid;
	f->path = path;
	f->fd = -1;
	*pp = f;
	s->nr_fids++;
	return 0;
}

void p9_fid_destroy(struct p9_server *s, u32 id)
{
	struct p9_fid **pp = fid_slot(s, id), *f = *pp;

	if (f) {
		*pp = f->next;
		fid_release(s, f);
		s->nr_fids--;
	}
}

/*
 * Room for one more open host file? Every open fid holds a descriptor, and
 * a guest may open as many fids as it likes: without a cap per share it
 * could use up lkvm's descriptors (RLIMIT_NOFILE) and starve the disks,
 * the control socket and the other shares. Past the cap, Tlopen and
 * Tlcreate fail with EMFILE, as open(2) would in the guest.
 */
bool p9_fid_open_room(const struct p9_server *s)
{
	return s->nr_open < s->max_open;
}

/* @f (a FID_PATH fid) now holds the open host file @fd. */
void p9_fid_set_open(struct p9_server *s, struct p9_fid *f, int fd, int accmode)
{
	f->kind = FID_OPEN;
	f->fd = fd;
	f->accmode = accmode;
	s->nr_open++;
}

/*
 * Room for an xattr value of @len bytes held by a fid? Each fid may hold
 * 64 KiB and a client may have 32768 fids: without a cap, 2 GiB of lkvm's
 * memory on a guest's request.
 */
bool p9_xattr_room(struct p9_server *s, u64 len)
{
	if (len > P9_XATTR_BUDGET - s->xattr_bytes)
		return false;
	s->xattr_bytes += len;
	return true;
}

unsigned int p9_server_nr_fids(const struct p9_server *s)
{
	return s->nr_fids;
}

unsigned int p9_server_nr_open(const struct p9_server *s)
{
	return s->nr_open;
}

void p9_server_reset(struct p9_server *s)
{
	unsigned int i;

	for (i = 0; i < FID_BUCKETS; i++) {
		while (s->fids[i]) {
			struct p9_fid *f = s->fids[i];

			s->fids[i] = f->next;
			fid_release(s, f);
		}
	}
	s->nr_fids = 0;
	s->msize = 0;
}

/* Rename bookkeeping: fids under @from now live under @to. */
void p9_fids_renamed(struct p9_server *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	unsigned int i;
	struct p9_fid *f;

	for (i = 0; i < FID_BUCKETS; i++) {
		for (f = s->fids[i]; f; f = f->next) {
			size_t pl = strlen(f->path);
			char *np;

			if (pl < fl || memcmp(f->path, from, fl) ||
			    (pl > fl && f->path[fl] != '/'))
				continue;
			if (tl + pl - fl >= PATH_MAX)
				continue;	/* unreachable now; keeps failing */
			np = xmalloc(tl + pl - fl + 1);
			memcpy(np, to, tl);
			memcpy(np + tl, f->path + fl, pl - fl + 1);
			free(f->path);
			f->path = np;
		}
	}
}
