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

/*
 * Parse "--name N" (and nothing else but @extra positional words); also
 * "--json" when @json is given.
 */
static int parse_name(int argc, const char **argv, const char *cmd,
		      const char *usage, const char **name, int extra, bool *json)
{
	struct option opts[] = {
		OPTION_STRING('n', "name", name, "<name>", "name of the VM (lkvm list)"),
		OPTION_BOOLEAN(0, "json", json,
			       "print one JSON object (fields: doc/control.md)"),
		OPTION_END(),
	};
	int n;

	if (!json)
		opts[1] = (struct option)OPTION_END();
	n = parse_options(argc - 1, argv + 1, opts, cmd);

	if (n == PARSE_OPT_HELP) {
		usage_with_options(stdout, usage, opts);
		return PARSE_OPT_HELP;
	}
	if (n < 0)
		return -1;
	if (n != extra) {
		if (n > extra)
			pr_err("%s: unexpected argument '%s' (see 'lkvm %s --help')", cmd,
			       argv[1 + extra], cmd);
		else
			pr_err("%s: missing argument (see 'lkvm %s --help')", cmd, cmd);
		return -1;
	}
	if (!*name) {
		pr_err("%s: which VM? give --name (see 'lkvm list')", cmd);
		return -1;
	}
	return 0;
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

static int simple(int argc, const char **argv, enum ctl_cmd c, const char *cmd,
		  const char *usage, bool print_body)
{
	struct ctl_request req = { .cmd = c };
	const char *name = NULL;
	bool json = false;
	int r = parse_name(argc, argv, cmd, usage, &name, 0, print_body ? &json : NULL);

	if (r)
		return r == PARSE_OPT_HELP ? 0 : 1;
	return call(cmd, name, &req, print_body, json);
}

int cmd_stop(int argc, const char **argv)
{
	return simple(argc, argv, CTL_STOP, "stop",
		      "lkvm stop --name <name>\n\n"
		      "Stop the VM; its 'lkvm run' exits with status 0.", false);
}

int cmd_pause(int argc, const char **argv)
{
	return simple(argc, argv, CTL_PAUSE, "pause",
		      "lkvm pause --name <name>\n\n"
		      "Stop the VM's vCPUs until 'lkvm resume'.", false);
}

int cmd_resume(int argc, const char **argv)
{
	return simple(argc, argv, CTL_RESUME, "resume",
		      "lkvm resume --name <name>\n\nLet a paused VM run again.", false);
}

int cmd_stat(int argc, const char **argv)
{
	return simple(argc, argv, CTL_STAT, "stat",
		      "lkvm stat --name <name> [--json]\n\n"
		      "Print the VM's state, the VMM's resident memory, the balloon's\n"
		      "counters (memory given back by inflation and by free page\n"
		      "reporting) and the guest's memory statistics, one 'key value' per line\n"
		      "(with --json: one JSON object with the same keys).",
		      true);
}

int cmd_balloon(int argc, const char **argv)
{
	static const char usage[] =
		"lkvm balloon --name <name> inflate|deflate <size>\n\n"
		"Grow or shrink the VM's balloon (--balloon) by <size>: MiB, or with\n"
		"a K/M/G suffix. The guest gives back (or takes back) that much memory.";
	struct ctl_request req = { .cmd = CTL_BALLOON };
	const char *name = NULL;
	int r = parse_name(argc, argv, "balloon", usage, &name, 2, NULL);

	if (r)
		return r == PARSE_OPT_HELP ? 0 : 1;
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
	return call("balloon", name, &req, false, false);
}

/* Every VM with a socket in ~/.lkvm; sockets of dead VMs are removed. */
int cmd_list(int argc, const char **argv)
{
	static const char usage[] =
		"lkvm list [--json]\n\nList the running VMs of this user (sockets in ~/.lkvm).";
	bool json = false;
	const struct option opts[] = {
		OPTION_BOOLEAN(0, "json", &json,
			       "print a JSON array of objects (name, pid, state; doc/control.md)"),
		OPTION_END(),
	};
	int listed = 0;
	char dir[CTL_PATH_MAX], path[CTL_PATH_MAX + 8];
	struct ctl_request req = { .cmd = CTL_INFO };
	struct dirent *de;
	bool header = false;
	DIR *d;
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
	if (ctl_sock_dir(dir, sizeof(dir))) {
		pr_err("list: cannot name the socket directory (set HOME)");
		return 1;
	}
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			if (json)
				puts("[]");
			return 0;	/* no VM ever ran */
		}
		pr_err("list: %s: %s", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(CTL_SOCK_SUFFIX);
		char name[CTL_NAME_MAX + 1], reply[CTL_REPLY_MAX + 1];
		char pid[32] = "?", state[32] = "?";
		struct stat st;
		int fd;
		char *p;

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
			/* Nobody listens: the VM died without removing it. */
			if (errno == ECONNREFUSED && !lstat(path, &st) &&
			    S_ISSOCK(st.st_mode) && !unlink(path))
				pr_info("removed the stale socket of '%s'", name);
			continue;
		}
		close(fd);
		if (ctl_call(name, &req, reply, sizeof(reply)))
			continue;
		if (json) {
			fputs(listed++ ? "," : "[", stdout);
			ctl_reply_json(stdout, reply + strlen("ok\n"));
			continue;
		}
		p = strstr(reply, "\npid ");
		if (p)
			sscanf(p + 5, "%31s", pid);
		p = strstr(reply, "\nstate ");
		if (p)
			sscanf(p + 7, "%31s", state);
		if (!header) {
			printf("%-24s %-8s %s\n", "NAME", "PID", "STATE");
			header = true;
		}
		printf("%-24s %-8s %s\n", name, pid, state);
	}
	closedir(d);
	if (json)
		puts(listed ? "]" : "[]");
	return 0;
}
