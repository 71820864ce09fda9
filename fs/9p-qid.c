// SPDX-License-Identifier: GPL-2.0
/*
 * 9P server: the host filesystems met below a share, and qids.
 *
 * Each device seen gets a slot in a small table (slot 0 is the root's),
 * which gives qids distinct paths across mounts and remembers whether the
 * filesystem is a host pseudo filesystem (proc, sysfs, ...): those describe
 * the host kernel and lkvm itself, so the server does not enter them.
 */
#include <sys/statfs.h>

#include "9p-internal.h"

bool p9_pseudo_fs(long type)
{
	static const unsigned long magic[] = {
		0x9fa0,		/* proc */
		0x62656572,	/* sysfs */
		0x64626720,	/* debugfs */
		0x74726163,	/* tracefs */
		0x73636673,	/* securityfs */
		0xcafe4a11,	/* bpf */
		0x27e0eb,	/* cgroup */
		0x63677270,	/* cgroup2 */
		0xde5e81e4,	/* efivarfs */
		0x62656570,	/* configfs */
		0x6165676c,	/* pstore */
		0x65735543,	/* fusectl */
		0x42494e4d,	/* binfmt_misc */
		0xf97cff8c,	/* selinuxfs */
		0x43415d53,	/* smackfs */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(magic); i++)
		if ((unsigned long)type == magic[i])
			return true;
	return false;
}

/*
 * Index of @st's device in the table, learning it; with an @fd on it, also
 * whether it is a pseudo filesystem to stay out of.
 */
unsigned int p9_dev_index(struct p9_server *s, int fd, const struct stat *st)
{
	struct statfs sf;
	unsigned int i;

	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i].dev == st->st_dev)
			break;
	if (i == s->nr_devs) {
		s->devs = xrealloc(s->devs, (s->nr_devs + 1) * sizeof(*s->devs));
		s->devs[i] = (struct dev_info){ .dev = st->st_dev };
		s->nr_devs++;
	}
	if (fd >= 0 && !s->devs[i].probed && fstatfs(fd, &sf) == 0) {
		s->devs[i].probed = true;
		s->devs[i].denied = p9_pseudo_fs(sf.f_type);
	}
	return i;
}

/* Is the object open as @fd on a filesystem the server must not serve? */
bool p9_dev_denied(struct p9_server *s, int fd, const struct stat *st)
{
	unsigned int i = p9_dev_index(s, fd, st);

	return i && (s->devs[i].denied || !s->devs[i].probed);
}

/*
 * qid.path: the inode number, with the device folded into the top byte
 * for anything not on the root's filesystem so inodes of different mounts
 * do not collide.
 */
u64 p9_qid_path(struct p9_server *s, dev_t dev, u64 ino)
{
	struct stat st = { .st_dev = dev };
	unsigned int i = p9_dev_index(s, -1, &st);

	if (!i)
		return ino;
	return ((u64)(i % 255 + 1) << 56) ^ ino;
}

static u8 qid_type_of_mode(mode_t mode)
{
	if (S_ISDIR(mode))
		return P9_QTDIR;
	if (S_ISLNK(mode))
		return P9_QTSYMLINK;
	return P9_QTFILE;
}

void p9_stat_qid(struct p9_server *s, const struct stat *st, struct p9_qid *q)
{
	q->type = qid_type_of_mode(st->st_mode);
	q->path = p9_qid_path(s, st->st_dev, st->st_ino);
}
