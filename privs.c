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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/privs.h"

/* A name or a number; -1 when it is neither. */
static int lookup_id(const char *s, bool group, u32 *id, u32 *primary_gid)
{
	char *end;
	unsigned long v;

	if (group) {
		struct group *gr = getgrnam(s);

		if (gr) {
			*id = gr->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = getpwnam(s);

		if (pw) {
			*id = pw->pw_uid;
			*primary_gid = pw->pw_gid;
			return 0;
		}
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v >= (u32)-1)
		return -1;
	*id = v;
	if (!group) {
		struct passwd *pw = getpwuid(v);

		*primary_gid = pw ? pw->pw_gid : v;
	}
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
	if (lookup_id(user, false, &cfg->run_uid, &gid)) {
		pr_err("%s: --user '%s': no such user", cmd, user);
		free(user);
		return -1;
	}
	if (group && lookup_id(group, true, &gid, NULL)) {
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
