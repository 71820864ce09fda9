// SPDX-License-Identifier: GPL-2.0
/*
 * Commands that control a running VM through its socket (control.h):
 * lkvm list, stop, pause, resume, balloon and stat.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/control.h"
#include "lkvm/parse-options.h"

/* Which VMs a command is for: --name N, or kvmtool's -a/--all. */
struct target {
	const char *name;
	bool all;
	bool memory;		/* lkvm stat -m (kvmtool): what stat prints anyway */
	u64 inflate, deflate;	/* lkvm balloon -i/-d MiB (kvmtool's spelling) */
	bool json;		/* lkvm stat --json */
};

static int parse_size_opt(const struct option *opt, const char *arg)
{
	if (parse_size(arg, SZ_1M, opt->value) || !*(u64 *)opt->value) {
		pr_err("balloon: bad size '%s' (MiB, or with a K/M/G suffix)", arg);
		return -1;
	}
	return 0;
}

/*
 * Parse the options of @cmd (--name, --all, and for stat and balloon
 * kvmtool's own) and nothing else but @extra positional words (-2: none
 * or two). Returns -1, PARSE_OPT_HELP, or the number of words.
 */
static int parse_target(int argc, const char **argv, const char *cmd,
			const char *usage, struct target *t, int extra)
{
	/* --name and --all for every command; stat's and balloon's own after them. */
	const struct option all_opts[] = {
		OPTION_STRING('n', "name", &t->name, "<name>", "name of the VM (lkvm list)"),
		OPTION_BOOLEAN('a', "all", &t->all, "every running VM"),
		OPTION_END(),
	};
	const struct option stat_opts[] = {
		OPTION_BOOLEAN('m', "memory", &t->memory,
			       "accepted for kvmtool: memory statistics are always shown"),
		OPTION_BOOLEAN(0, "json", &t->json,
			       "print one JSON object (fields: doc/control.md)"),
		OPTION_END(),
	};
	const struct option balloon_opts[] = {
		OPTION_CALLBACK('i', "inflate", &t->inflate, "<size>",
				"the same as 'inflate <size>'", parse_size_opt),
		OPTION_CALLBACK('d', "deflate", &t->deflate, "<size>",
				"the same as 'deflate <size>'", parse_size_opt),
		OPTION_END(),
	};
	const struct option *own = !strcmp(cmd, "stat") ? stat_opts :
				   !strcmp(cmd, "balloon") ? balloon_opts : NULL;
	struct option opts[ARRAY_SIZE(all_opts) + 2];
	size_t i, k = 0;
	int n;

	for (i = 0; i < ARRAY_SIZE(all_opts) - 1; i++)
		opts[k++] = all_opts[i];
	for (i = 0; own && own[i].type != OPT_END; i++)
		opts[k++] = own[i];
	opts[k] = all_opts[ARRAY_SIZE(all_opts) - 1];

	n = parse_options(argc - 1, argv + 1, opts, cmd);

	if (n == PARSE_OPT_HELP) {
		usage_with_options(stdout, usage, opts);
		return PARSE_OPT_HELP;
	}
	if (n < 0)
		return -1;
	if (extra == -2)
		extra = n ? 2 : 0;
	if (n != extra) {
		if (n > extra)
			pr_err("%s: unexpected argument '%s' (see 'lkvm %s --help')", cmd,
			       argv[1 + extra], cmd);
		else
			pr_err("%s: missing argument (see 'lkvm %s --help')", cmd, cmd);
		return -1;
	}
	if (t->all && t->name) {
		pr_err("%s: give --name or --all, not both", cmd);
		return -1;
	}
	if (!t->name && !t->all) {
		pr_err("%s: which VM? give --name (see 'lkvm list') or --all", cmd);
		return -1;
	}
	return n;
}

/*
 * Send @req; print the reply's body (as JSON with @json) or its error, and
 * map to an exit status.
 */
static int call(const char *cmd, const char *name, const struct ctl_request *req,
		bool print_body, bool json)
{
	char reply[CTL_REPLY_MAX + 1];
	int r = ctl_call(name, req, reply, sizeof(reply));

	if (r < 0)
		return 1;
	if (r > 0) {
		reply[strcspn(reply, "\n")] = '\0';
		pr_err("%s: %s", cmd, reply + strlen("error "));
		return 1;
	}
	if (print_body && json) {
		ctl_reply_json(stdout, reply + strlen("ok\n"));
		putchar('\n');
	} else if (print_body) {
		fputs(reply + strlen("ok\n"), stdout);
	}
	return 0;
}

/*
 * Call @fn for every running VM of this user (sockets in ~/.lkvm), in
 * directory order; sockets nobody listens on any more are removed. Returns
 * -1 when the directory cannot be read, else the number of failed calls.
 */
static int for_each_vm(const char *cmd, int (*fn)(const char *name, void *ctx), void *ctx)
{
	char dir[CTL_PATH_MAX], path[CTL_PATH_MAX + 8];
	struct dirent *de;
	int failed = 0;
	DIR *d;

	if (ctl_sock_dir(dir, sizeof(dir))) {
		pr_err("%s: cannot name the socket directory (set HOME)", cmd);
		return -1;
	}
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;	/* no VM ever ran */
		pr_err("%s: %s: %s", cmd, dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(CTL_SOCK_SUFFIX);
		char name[CTL_NAME_MAX + 1];
		struct stat st;
		int fd, lock;

		if (len <= sl || len - sl > CTL_NAME_MAX ||
		    strcmp(de->d_name + len - sl, CTL_SOCK_SUFFIX))
			continue;
		memcpy(name, de->d_name, len - sl);
		name[len - sl] = '\0';
		if (!ctl_name_valid(name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = ctl_connect_path(path);
		if (fd < 0) {
			/*
			 * Nobody listens: the VM died without removing it,
			 * unless the name's lock is held (a VM of that name
			 * is alive; it listens before its socket appears, so
			 * this is one about to remove its socket at exit).
			 */
			if (errno == ECONNREFUSED && (lock = ctl_lock_name(name)) >= 0) {
				if (!lstat(path, &st) && S_ISSOCK(st.st_mode) && !unlink(path))
					pr_info("removed the stale socket of '%s'", name);
				ctl_unlock_name(name, lock);
			}
			continue;
		}
		close(fd);
		if (fn(name, ctx))
			failed++;
	}
	closedir(d);
	return failed;
}

struct call_ctx {
	const char *cmd;
	const struct ctl_request *req;
	bool print_body, json;
};

static int call_one(const char *name, void *ctx)
{
	struct call_ctx *c = ctx;

	/* With --all, each VM's statistics under its name (JSON: one object a line). */
	if (c->print_body && !c->json)
		printf("name %s\n", name);
	return call(c->cmd, name, c->req, c->print_body, c->json);
}

/* Send @req to the target VM, or to every VM with --all. */
static int call_target(const char *cmd, const struct target *t,
		       const struct ctl_request *req, bool print_body)
{
	struct call_ctx c = { cmd, req, print_body, t->json };

	if (!t->all)
		return call(cmd, t->name, req, print_body, t->json);
	return for_each_vm(cmd, call_one, &c) ? 1 : 0;
}

static int simple(int argc, const char **argv, enum ctl_cmd c, const char *cmd,
		  const char *usage, bool print_body)
{
	struct ctl_request req = { .cmd = c };
	struct target t = { 0 };
	int r = parse_target(argc, argv, cmd, usage, &t, 0);

	if (r < 0)
		return r == PARSE_OPT_HELP ? 0 : 1;
	return call_target(cmd, &t, &req, print_body);
}

int cmd_stop(int argc, const char **argv)
{
	return simple(argc, argv, CTL_STOP, "stop",
		      "lkvm stop --name <name> | --all\n\n"
		      "Stop the VM; its 'lkvm run' exits with status 0.", false);
}

int cmd_pause(int argc, const char **argv)
{
	return simple(argc, argv, CTL_PAUSE, "pause",
		      "lkvm pause --name <name> | --all\n\n"
		      "Stop the VM's vCPUs until 'lkvm resume'.", false);
}

int cmd_resume(int argc, const char **argv)
{
	return simple(argc, argv, CTL_RESUME, "resume",
		      "lkvm resume --name <name> | --all\n\nLet a paused VM run again.", false);
}

int cmd_stat(int argc, const char **argv)
{
	return simple(argc, argv, CTL_STAT, "stat",
		      "lkvm stat --name <name> | --all [--json]\n\n"
		      "Print the VM's state, the VMM's resident memory, the balloon's\n"
		      "counters (memory given back by inflation and by free page\n"
		      "reporting) and the guest's memory statistics, one 'key value' per line\n"
		      "(with --json: one JSON object with the same keys; one a line with --all).",
		      true);
}

int cmd_balloon(int argc, const char **argv)
{
	static const char usage[] =
		"lkvm balloon --name <name> | --all  inflate|deflate <size>\n"
		"lkvm balloon --name <name> | --all  -i|-d <size>\n\n"
		"Grow or shrink the VM's balloon (--balloon) by <size>: MiB, or with\n"
		"a K/M/G suffix. The guest gives back (or takes back) that much memory.";
	struct ctl_request req = { .cmd = CTL_BALLOON };
	struct target t = { 0 };
	bool words;
	int n, r;

	/* lkvm's two words, or kvmtool's -i/-d SIZE. */
	r = parse_target(argc, argv, "balloon", usage, &t, -2);
	if (r < 0)
		return r == PARSE_OPT_HELP ? 0 : 1;
	words = r == 2;
	n = !!t.inflate + !!t.deflate + words;
	if (n != 1) {
		pr_err("balloon: say inflate or deflate, once (see 'lkvm balloon --help')");
		return 1;
	}
	if (words) {
		/* parse_options() moved the two words to argv[1] and argv[2]. */
		if (!strcmp(argv[1], "inflate")) {
			req.inflate = true;
		} else if (strcmp(argv[1], "deflate")) {
			pr_err("balloon: '%s' is neither inflate nor deflate", argv[1]);
			return 1;
		}
		if (parse_size(argv[2], SZ_1M, &req.bytes) || !req.bytes) {
			pr_err("balloon: bad size '%s' (MiB, or with a K/M/G suffix)", argv[2]);
			return 1;
		}
	} else {
		req.inflate = t.inflate != 0;
		req.bytes = t.inflate ? t.inflate : t.deflate;
	}
	return call_target("balloon", &t, &req, false);
}

struct list_ctx {
	bool header, json;
	int listed;
};

static int list_one(const char *name, void *ctx)
{
	struct ctl_request req = { .cmd = CTL_INFO };
	char reply[CTL_REPLY_MAX + 1], pid[32] = "?", state[32] = "?";
	struct list_ctx *l = ctx;
	char *p;

	if (ctl_call(name, &req, reply, sizeof(reply)))
		return 0;	/* it went away meanwhile */
	if (l->json) {
		fputs(l->listed++ ? "," : "[", stdout);
		ctl_reply_json(stdout, reply + strlen("ok\n"));
		return 0;
	}
	p = strstr(reply, "\npid ");
	if (p)
		copy_word(pid, sizeof(pid), p + 5);
	p = strstr(reply, "\nstate ");
	if (p)
		copy_word(state, sizeof(state), p + 7);
	if (!l->header) {
		printf("%-24s %-8s %s\n", "NAME", "PID", "STATE");
		l->header = true;
	}
	printf("%-24s %-8s %s\n", name, pid, state);
	return 0;
}

/* Every VM with a socket in ~/.lkvm; sockets of dead VMs are removed. */
int cmd_list(int argc, const char **argv)
{
	static const char usage[] =
		"lkvm list [--json]\n\nList the running VMs of this user (sockets in ~/.lkvm).";
	struct list_ctx l = { 0 };
	bool run = false, rootfs = false;
	int r;
	const struct option opts[] = {
		OPTION_BOOLEAN(0, "json", &l.json,
			       "print a JSON array of objects (name, pid, state; doc/control.md)"),
		OPTION_BOOLEAN('i', "run", &run, "the running VMs (what lkvm list shows)"),
		OPTION_BOOLEAN('r', "rootfs", &rootfs,
			       "kvmtool's rootfs instances: lkvm has none, so none are listed"),
		OPTION_END(),
	};
	int n;

	n = parse_options(argc - 1, argv + 1, opts, "list");
	if (n == PARSE_OPT_HELP) {
		usage_with_options(stdout, usage, opts);
		return 0;
	}
	if (n != 0) {
		if (n > 0)
			pr_err("list: unexpected argument '%s'", argv[1]);
		return 1;
	}
	/* kvmtool: -r alone lists rootfs instances only. */
	r = rootfs && !run ? 0 : for_each_vm("list", list_one, &l);
	if (l.json && r >= 0)
		puts(l.listed ? "]" : "[]");
	return r < 0 ? 1 : 0;
}

/* kvmtool's "lkvm debug": dumps, NMIs and sysrq through its socket. */
int cmd_debug(int argc __unused, const char **argv __unused)
{
	pr_err("debug: lkvm has no debug command: 'lkvm stat --name N' shows a VM's state, "
	       "and SIGTERM or --timeout prints where its vCPUs are");
	return 1;
}

/* kvmtool's "lkvm setup NAME": a rootfs instance for its rootfs mode. */
int cmd_setup(int argc __unused, const char **argv __unused)
{
	pr_err("setup: lkvm has no rootfs instances: 'lkvm sandbox -- COMMAND' runs a command on the host's root");
	return 1;
}
