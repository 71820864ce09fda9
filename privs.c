// SPDX-License-Identifier: GPL-2.0
/*
 * What lkvm may do once the VM is set up, and what a crash leaves behind.
 *
 * --user USER[:GROUP]: a root-started lkvm opens /dev/kvm, taps, disks and
 * sockets, then becomes USER (GROUP, or USER's primary group, as its only
 * group) before the guest runs. Changing every uid from 0 clears the
 * permitted, effective and ambient capabilities of each thread (glibc
 * applies set*id to all threads); no_new_privs (main.c) keeps exec from
 * gaining any back.
 *
 * Guest memory is the guest's secret: it is left out of core dumps
 * (MADV_DONTDUMP), and lkvm dumps no core at all (RLIMIT_CORE 0, not
 * dumpable, which also keeps other processes of the user from ptrace and
 * /proc/PID/mem) unless --coredump asks for one.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/privs.h"

/*
 * USER and GROUP come from /etc/passwd and /etc/group, read directly (no
 * NSS: lkvm-static must not need glibc's shared libraries), or are numbers.
 */
struct db_entry {
	const char *name;
	u32 id;				/* uid or gid */
	u32 gid;			/* passwd: the primary group */
};

static bool next_entry(FILE *f, bool group, struct db_entry *e)
{
	struct passwd *pw;
	struct group *gr;

	if (group) {
		gr = fgetgrent(f);
		if (gr)
			*e = (struct db_entry){ gr->gr_name, gr->gr_gid, gr->gr_gid };
		return gr != NULL;
	}
	pw = fgetpwent(f);
	if (pw)
		*e = (struct db_entry){ pw->pw_name, pw->pw_uid, pw->pw_gid };
	return pw != NULL;
}

/* The entry of /etc/group (or /etc/passwd) named @name, or numbered @id if no name. */
static bool find_entry(bool group, const char *name, u32 id, struct db_entry *e)
{
	FILE *f = fopen(group ? "/etc/group" : "/etc/passwd", "re");
	bool found = false;

	while (f && !found && next_entry(f, group, e))
		found = name ? !strcmp(e->name, name) : e->id == id;
	if (f)
		fclose(f);
	return found;
}

static int parse_number(const char *s, u32 *id)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v >= (u32)-1)
		return -1;
	*id = v;
	return 0;
}

/* A user name or number: its uid and primary gid (the uid without an entry). */
static int lookup_user(const char *s, u32 *uid, u32 *gid)
{
	struct db_entry e;

	if (find_entry(false, s, 0, &e)) {
		*uid = e.id;
		*gid = e.gid;
		return 0;
	}
	if (parse_number(s, uid))
		return -1;
	*gid = find_entry(false, NULL, *uid, &e) ? e.gid : *uid;
	return 0;
}

static int lookup_group(const char *s, u32 *gid)
{
	struct db_entry e;

	if (!find_entry(true, s, 0, &e))
		return parse_number(s, gid);
	*gid = e.id;
	return 0;
}

int privs_parse_user(struct kvm_config *cfg, const char *cmd)
{
	char *user, *group;
	u32 gid = 0;

	if (!cfg->user)
		return 0;
	if (geteuid() != 0) {
		pr_err("%s: --user %s: only an lkvm started as root can become another user",
		       cmd, cfg->user);
		return -1;
	}
	user = xstrdup(cfg->user);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	if (lookup_user(user, &cfg->run_uid, &gid)) {
		pr_err("%s: --user '%s': no such user", cmd, user);
		free(user);
		return -1;
	}
	if (group && lookup_group(group, &gid)) {
		pr_err("%s: --user '%s': no such group '%s'", cmd, cfg->user, group);
		free(user);
		return -1;
	}
	cfg->run_gid = gid;
	free(user);
	return 0;
}

int privs_drop(struct kvm *kvm)
{
	uid_t uid = kvm->cfg.run_uid, r, e, s;
	gid_t gid = kvm->cfg.run_gid;

	if (!kvm->cfg.user)
		return 0;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		pr_err("--user %s: cannot change to uid %u gid %u: %s", kvm->cfg.user,
		       (unsigned int)uid, (unsigned int)gid, strerror(errno));
		return -1;
	}
	/* uid 0 given as the user keeps root: say so rather than pretend. */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid) {
		pr_err("--user %s: the change of user did not take", kvm->cfg.user);
		return -1;
	}
	pr_debug("running as uid %u gid %u", (unsigned int)uid, (unsigned int)gid);
	return 0;
}

void privs_no_core(struct kvm *kvm)
{
	struct rlimit none = { 0, 0 };

	if (kvm->cfg.coredump)
		return;
	if (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		pr_warn("cannot turn core dumps off: %s", strerror(errno));
}

void privs_guard_ram(struct kvm *kvm, void *ram, u64 size)
{
	if (!kvm->cfg.coredump && madvise(ram, size, MADV_DONTDUMP) < 0)
		pr_warn("guest memory stays in core dumps: madvise: %s", strerror(errno));
}
