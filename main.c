// SPDX-License-Identifier: GPL-2.0
/* lkvm: dispatch "lkvm <command>" to builtin-<command>.c. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "lkvm/builtin.h"
#include "lkvm/util.h"

struct command {
	const char *name;
	int (*fn)(int argc, const char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "run", cmd_run, "Boot a guest kernel" },
	{ "sandbox", cmd_sandbox, "Run a command in a guest; exit with its status" },
	{ "list", cmd_list, "List the running VMs" },
	{ "stop", cmd_stop, "Stop a running VM" },
	{ "pause", cmd_pause, "Pause a running VM's vCPUs" },
	{ "resume", cmd_resume, "Resume a paused VM" },
	{ "balloon", cmd_balloon, "Inflate or deflate a VM's balloon" },
	{ "stat", cmd_stat, "Show a VM's memory and balloon statistics" },
	/* kvmtool's commands that lkvm refuses with a pointer; not listed. */
	{ "debug", cmd_debug, NULL },
	{ "setup", cmd_setup, NULL },
	{ "version", cmd_version, "Print lkvm's version" },
	{ "help", cmd_help, "List the commands, or describe one" },
};

int cmd_version(int argc __unused, const char **argv __unused)
{
	printf("lkvm version %s\n", LKVM_VERSION);
	return 0;
}

int cmd_help(int argc, const char **argv)
{
	unsigned int i;

	if (argc > 1) {
		const char *h[] = { argv[1], "--help" };

		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (!strcmp(commands[i].name, argv[1]) &&
			    commands[i].fn != cmd_help)
				return commands[i].fn(2, h);
	}
	/*
	 * kvmtool's shape: kvm-unit-tests (scripts/arch-run.bash) tells a
	 * kvmtool-compatible binary by "The most commonly used" in --help.
	 */
	printf("usage: lkvm <command> [<options>]\n\n"
	       "A lightweight virtual machine monitor for KVM.\n\n"
	       " The most commonly used lkvm commands are:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].help)
			printf("   %-10s %s\n", commands[i].name, commands[i].help);
	printf("\n See 'lkvm help <command>' or 'lkvm <command> --help' for the options of a command.\n");
	return 0;
}

int main(int argc, const char **argv)
{
	unsigned int i;

	/*
	 * A reader that goes away (lkvm run | head, a control client that
	 * hangs up) must not kill a running guest: writes get EPIPE instead.
	 */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * One malloc arena for every thread. glibc gives a thread that
	 * allocates its own mmap'd heap, and the first time such a heap
	 * shrinks it opens /proc/sys/vm/overcommit_memory: a vCPU's filter
	 * (seccomp.c) rightly forbids that open. lkvm's threads allocate
	 * little, so one arena also keeps the footprint small.
	 */
	mallopt(M_ARENA_MAX, 1);
	/*
	 * Nothing lkvm runs (tap scripts, passt) gains privileges by exec,
	 * and the thread filters (seccomp.c) need no CAP_SYS_ADMIN.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		pr_err("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return 1;
	}
	if (argc < 2)
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	/* Hidden, for completion scripts and tests: "<command>\t<summary>" lines. */
	if (!strcmp(argv[1], "--list-commands")) {
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			printf("%s\t%s\n", commands[i].name, commands[i].help);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].fn(argc - 1, argv + 1);
	pr_err("'%s' is not an lkvm command (see 'lkvm help')", argv[1]);
	return 1;
}
