// SPDX-License-Identifier: GPL-2.0
/* lkvm run: the command line becomes a struct kvm_config, then the VM runs. */
#include <stdio.h>
#include <string.h>

#include "lkvm/builtin.h"
#include "lkvm/kvm.h"
#include "lkvm/parse-options.h"

static const char run_usage[] =
	"lkvm run [<options>] [<kernel image>]";

static const char run_epilogue[] =
	"\nThe guest's serial console is this terminal; type Ctrl-A x to quit.\n"
	"Exit status: 0 when the guest powers off or reboots, 1 on bad input or\n"
	"a VMM error, 2 when the guest crashes (triple fault, internal error),\n"
	"124 when --timeout expires, 128+N when lkvm is stopped by signal N.\n";

static int check_console(const struct option *opt, const char *arg)
{
	if (strcmp(arg, "serial") && strcmp(arg, "virtio")) {
		pr_err("run: --console '%s' is not supported (use: serial, virtio)", arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

static int check_transport(const struct option *opt, const char *arg)
{
	if (strcmp(arg, "pci") && strcmp(arg, "mmio")) {
		pr_err("run: --virtio-transport '%s' is not supported (use: pci, mmio)",
		       arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

/* -d PATH[,ro][,direct] */
static int add_disk(const struct option *opt, const char *arg)
{
	struct kvm_config *cfg = opt->value;
	struct disk_config *d;
	char *copy, *tok, *save = NULL;

	if (cfg->nr_disks == LKVM_MAX_DISKS) {
		pr_err("run: at most %d disks", LKVM_MAX_DISKS);
		return -1;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	copy = xstrdup(arg);		/* lives as long as the config */
	d->path = strtok_r(copy, ",", &save);
	if (!d->path || !*d->path) {
		pr_err("run: --disk needs a path");
		return -1;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "ro"))
			d->readonly = true;
		else if (!strcmp(tok, "direct"))
			d->direct = true;
		else {
			pr_err("run: unknown --disk flag '%s' (use: ro, direct)", tok);
			return -1;
		}
	}
	cfg->nr_disks++;
	return 0;
}

int cmd_run(int argc, const char **argv)
{
	struct kvm_config cfg = {
		.ram_size = LKVM_DEFAULT_RAM,
		.nrcpus = 1,
		.console = "serial",
		.virtio_transport = "pci",
		.name = "guest",
	};
	const struct option opts[] = {
		OPTION_GROUP("Basic options:"),
		OPTION_STRING('k', "kernel", &cfg.kernel_filename, "<file>",
			      "kernel to boot (x86: bzImage)"),
		OPTION_STRING('i', "initrd", &cfg.initrd_filename, "<file>",
			      "initial ramdisk"),
		OPTION_STRING('p', "params", &cfg.params, "<params>",
			      "kernel command line, added after lkvm's defaults"),
		OPTION_SIZE('m', "mem", &cfg.ram_size, "<size>",
			    "guest memory, in MiB unless suffixed K/M/G (default 256)",
			    SZ_1M),
		OPTION_INTEGER('c', "cpus", &cfg.nrcpus, "<n>",
			       "number of vCPUs (default 1)", 1, 4096),
		OPTION_STRING(0, "name", &cfg.name, "<name>", "name of the guest"),
		OPTION_CALLBACK(0, "console", &cfg.console, "serial|virtio",
				"guest console: ttyS0 (default) or virtio hvc0", check_console),
		OPTION_GROUP("Devices:"),
		OPTION_CALLBACK('d', "disk", &cfg, "<path>[,ro][,direct]",
				"add a virtio-blk disk backed by a raw image (repeatable)",
				add_disk),
		OPTION_BOOLEAN(0, "rng", &cfg.rng, "add a virtio-rng device"),
		OPTION_CALLBACK(0, "virtio-transport", &cfg.virtio_transport, "pci|mmio",
				"transport for virtio devices (default pci)",
				check_transport),
		OPTION_INTEGER(0, "timeout", &cfg.timeout, "<seconds>",
			       "stop the guest after this long (exit status 124)",
			       0, 100000000),
		OPTION_GROUP("Debugging:"),
		OPTION_BOOLEAN(0, "debug", &cfg.debug,
			       "log VMM events (unhandled I/O, device setup)"),
		OPTION_END(),
	};
	struct kvm kvm = { 0 };
	int n, ret;

	n = parse_options(argc - 1, argv + 1, opts, "run");
	if (n == PARSE_OPT_HELP) {
		usage_with_options(stdout, run_usage, opts);
		fputs(run_epilogue, stdout);
		return 0;
	}
	if (n < 0)
		return LKVM_EXIT_ERROR;
	/* kvmtool accepts the kernel as a plain argument too. */
	if (n == 1 && !cfg.kernel_filename) {
		cfg.kernel_filename = argv[1];
	} else if (n > 0) {
		pr_err("run: unexpected argument '%s'", argv[1]);
		return LKVM_EXIT_ERROR;
	}
	if (!cfg.kernel_filename) {
		pr_err("run: no kernel given (use -k/--kernel <file>)");
		return LKVM_EXIT_ERROR;
	}
	lkvm_debug = cfg.debug;
	kvm.cfg = cfg;

	if (kvm__init(&kvm)) {
		kvm__exit(&kvm);
		return LKVM_EXIT_ERROR;
	}
	ret = kvm__run(&kvm);
	kvm__exit(&kvm);
	return ret;
}
