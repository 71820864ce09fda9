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
static bool passwd_entry(const char *name, u32 uid, bool by_name, u32 *id, u32 *gid)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	bool found = false;

	while (f && (pw = fgetpwent(f))) {
		if (by_name ? !strcmp(pw->pw_name, name) : pw->pw_uid == uid) {
			*id = pw->pw_uid;
			*gid = pw->pw_gid;
			found = true;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static bool group_entry(const char *name, u32 *id)
{
	FILE *f = fopen("/etc/group", "re");
	struct group *gr;
	bool found = false;

	while (f && (gr = fgetgrent(f))) {
		if (!strcmp(gr->gr_name, name)) {
			*id = gr->gr_gid;
			found = true;
			break;
		}
	}
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
	if (passwd_entry(s, 0, true, uid, gid))
		return 0;
	if (parse_number(s, uid))
		return -1;
	if (!passwd_entry(NULL, *uid, false, uid, gid))
		*gid = *uid;
	return 0;
}

static int lookup_group(const char *s, u32 *gid)
{
	return group_entry(s, gid) ? 0 : parse_number(s, gid);
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
