// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm run: the command line becomes a struct kvm_config, then the VM runs.
 * The option table is shared with lkvm sandbox (builtin-sandbox.c), which
 * adds its own options after these.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/builtin-run.h"
#include "lkvm/control.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/parse-options.h"
#include "lkvm/virtio-fs.h"
#include "lkvm/privs.h"
#include "lkvm/term.h"

/* Arch defaults and arch-only options (kvm-arch.h); x86 has none. */
#ifndef LKVM_ARCH_DEFAULT_TRANSPORT
#define LKVM_ARCH_DEFAULT_TRANSPORT	"pci"
#endif
#ifndef LKVM_ARCH_RUN_OPTIONS
#define LKVM_ARCH_RUN_OPTIONS(cfg)
#endif

static const char run_usage[] =
	"lkvm run [<options>] [<kernel image>]";

static const char run_epilogue[] =
	"\nThe guest's serial console is this terminal; type Ctrl-A x to quit.\n"
	"Exit status: 0 when the guest powers off or reboots, 1 on bad input or\n"
	"a VMM error, 2 when the guest crashes (triple fault, internal error,\n"
	"a kernel panic reported through pvpanic),\n"
	"124 when --timeout expires, 128+N when lkvm is stopped by signal N.\n"
	"\nWhile it runs the VM listens on ~/.lkvm/<name>.sock for lkvm list, stop\n"
	"(exit status 0), pause, resume, balloon and stat.\n";

static int check_console(const struct option *opt, const char *arg)
{
	if (strcmp(arg, "serial") && strcmp(arg, "virtio")) {
		pr_err("--console '%s' is not supported (use: serial, virtio)", arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

static int check_transport(const struct option *opt, const char *arg)
{
	/* kvmtool's legacy (0.9) transports. */
	if (!strcmp(arg, "pci-legacy") || !strcmp(arg, "mmio-legacy")) {
		pr_err("--virtio-transport '%s': lkvm offers modern (1.x) virtio only (use: pci, mmio)",
		       arg);
		return -1;
	}
	if (strcmp(arg, "pci") && strcmp(arg, "mmio")) {
		pr_err("--virtio-transport '%s' is not supported (use: pci, mmio)", arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

static int set_loglevel(const struct option *opt, const char *arg)
{
	int l = lkvm_parse_loglevel(arg);

	if (l < 0) {
		pr_err("--loglevel '%s' is not a level (use: error, warning, info, debug)", arg);
		return -1;
	}
	*(int *)opt->value = l;
	return 0;
}

static int set_vcpu_affinity(const struct option *opt, const char *arg)
{
	cpu_set_t **set = opt->value;

	if (!*set)
		*set = xmalloc(sizeof(**set));	/* lives as long as the config */
	if (parse_cpulist(arg, (unsigned long *)*set, CPU_SETSIZE)) {
		pr_err("--vcpu-affinity '%s' is not a CPU list such as 0-3,6", arg);
		return -1;
	}
	return 0;
}

/* kvmtool's --no-dhcp: lkvm never asks the guest kernel for DHCP anyway. */
static int accept_no_dhcp(const struct option *opt __unused, const char *arg __unused)
{
	return 0;
}

/* -d PATH[,ro][,direct] */
static int add_disk(const struct option *opt, const char *arg)
{
	struct kvm_config *cfg = opt->value;
	struct disk_config *d;
	char *copy, *tok, *save = NULL;
	struct stat st;

	d = opt_next_item(cfg->disks, sizeof(*d), cfg->nr_disks, LKVM_MAX_DISKS, "disks");
	if (!d)
		return -1;
	copy = xstrdup(arg);		/* lives as long as the config */
	d->path = strtok_r(copy, ",", &save);
	if (!d->path || !*d->path) {
		pr_err("--disk needs a path");
		return -1;
	}
	/* kvmtool boots a directory given here as a 9p root; lkvm does not. */
	if (!stat(d->path, &st) && S_ISDIR(st.st_mode)) {
		pr_err("--disk '%s' is a directory: share it with --9p DIR,TAG, or run a command on a host directory with lkvm sandbox",
		       d->path);
		return -1;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "ro"))
			d->readonly = true;
		else if (!strcmp(tok, "direct"))
			d->direct = true;
		else {
			pr_err("unknown --disk flag '%s' (use: ro, direct)", tok);
			return -1;
		}
	}
	cfg->nr_disks++;
	return 0;
}

static int add_9p(const struct option *opt, const char *arg)
{
	return virtio_9p_parse(opt->value, arg);
}

static int add_virtio_fs(const struct option *opt, const char *arg)
{
	return virtio_fs_parse(opt->value, arg);
}

static int add_network(const struct option *opt, const char *arg)
{
	return virtio_net_parse(opt->value, arg);
}

static int set_vsock(const struct option *opt, const char *arg)
{
	u64 *cid = opt->value;
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	/* 0-2 are the hypervisor's, the loopback's and the host's; -1U is "any". */
	if (!*arg || *end || errno || v < 3 || v >= 0xffffffffULL || *arg == '-') {
		pr_err("--vsock: '%s' is not a guest CID (3 to 4294967294)", arg);
		return -1;
	}
	*cid = v;
	return 0;
}

void kvm_config_defaults(struct kvm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = LKVM_DEFAULT_RAM;
	cfg->nrcpus = 1;
	cfg->console = "serial";
	cfg->virtio_transport = LKVM_ARCH_DEFAULT_TRANSPORT;
	cfg->loglevel = LKVM_LOG_INFO;
	cfg->console_log_max = LKVM_CONSOLE_LOG_MAX;
}

struct option *kvm_run_options(struct kvm_config *cfg, const struct option *extra)
{
	const struct option opts[] = {
		OPTION_GROUP("Basic options:"),
		OPTION_STRING('k', "kernel", &cfg->kernel_filename, "<file>",
			      "kernel to boot (x86: bzImage or ELF vmlinux with a PVH entry; arm64: Image, may be gzipped)"),
		OPTION_STRING('i', "initrd", &cfg->initrd_filename, "<file>",
			      "initial ramdisk"),
		OPTION_STRING('p', "params", &cfg->params, "<params>",
			      "kernel command line, added after lkvm's defaults"),
		OPTION_SIZE('m', "mem", &cfg->ram_size, "<size>",
			    "guest memory, in MiB unless suffixed K/M/G (default 256)",
			    SZ_1M),
		OPTION_INTEGER('c', "cpus", &cfg->nrcpus, "<n>",
			       "number of vCPUs (default 1)", 1, 4096),
		OPTION_STRING(0, "name", &cfg->name, "<name>",
			      "name of the guest, for lkvm stop/pause/stat... (default guest-<pid>)"),
		OPTION_CALLBACK(0, "console", &cfg->console, "serial|virtio",
				"guest console: ttyS0 (default) or virtio hvc0", check_console),
		OPTION_STRING(0, "console-log", &cfg->console_log, "<file>",
			      "also write the guest console to <file>"),
		OPTION_SIZE(0, "console-log-max", &cfg->console_log_max, "<size>",
			    "stop --console-log at this size, in MiB unless suffixed K/M/G "
			    "(default 64; 0: no limit)", SZ_1M),
		OPTION_STRING('f', "firmware", &cfg->firmware, "<file>",
			      "boot this raw binary instead of a kernel (arm64)"),
		OPTION_BOOLEAN(0, "nodefaults", &cfg->nodefaults,
			       "pass the kernel only the -p command line, none of lkvm's defaults"),
		OPTION_STRING(0, "dev", &cfg->dev, "<file>",
			      "the KVM device (default /dev/kvm)"),
		OPTION_CALLBACK(0, "vcpu-affinity", &cfg->vcpu_affinity, "<cpulist>",
				"run the vCPU threads on these host CPUs only (e.g. 0-3,6)",
				set_vcpu_affinity),
		OPTION_STRING(0, "user", &cfg->user, "<user>[:<group>]",
			      "a root-started lkvm becomes this user once the VM is set up"),
		OPTION_GROUP("Devices:"),
		OPTION_CALLBACK('d', "disk", cfg, "<path>[,ro][,direct]",
				"add a virtio-blk disk backed by a raw or qcow2 image (repeatable)",
				add_disk),
		OPTION_CALLBACK(0, "9p", cfg, "<hostdir>,<tag>[,ro][,security=restricted|passthrough]",
				"share a host directory over virtio-9p (repeatable)", add_9p),
		{ .type = OPT_CALLBACK, .long_name = "virtio-9p", .value = cfg,
		  .argh = "<hostdir>,<tag>[,ro][,security=restricted|passthrough]", .help = "the same as --9p",
		  .cb = add_9p, .flags = OPT_ALIAS },
		OPTION_CALLBACK(0, "virtio-fs", cfg, "<dir>,<tag>[,ro]|socket=<path>,tag=<tag>",
				"share a host directory over virtio-fs: lkvm starts virtiofsd, or "
				"uses one listening at <path> (repeatable)", add_virtio_fs),
		OPTION_BOOLEAN(0, "mem-shared", &cfg->mem_shared,
			       "guest RAM in a shared memfd (implied by --virtio-fs)"),
		OPTION_CALLBACK('n', "network", cfg, "mode=tap|user|none[,...]",
				"a virtio-net NIC on a tap: [,tapif=<if>][,script=<path>]"
				"[,mac=<mac>][,queues=<n>][,vhost=on|off], or user-mode through "
				"passt: [,hostfwd=tcp:<hostport>:<guestport>]...[,socket=<path>] "
				"(repeatable; no NIC by default)",
				add_network),
		OPTION_CALLBACK(0, "vsock", &cfg->vsock_cid, "<cid>",
				"a virtio-vsock with guest CID <cid>, through /dev/vhost-vsock",
				set_vsock),
		OPTION_BOOLEAN(0, "rng", &cfg->rng, "add a virtio-rng device"),
		OPTION_BOOLEAN(0, "balloon", &cfg->balloon,
			       "add a virtio-balloon (statistics, free page reporting)"),
		OPTION_BOOLEAN(0, "balloon-no-reporting", &cfg->balloon_no_reporting,
			       "the same without free page reporting"),
		OPTION_CALLBACK(0, "virtio-transport", &cfg->virtio_transport, "pci|mmio",
				"transport for virtio devices (default " LKVM_ARCH_DEFAULT_TRANSPORT ")",
				check_transport),
		OPTION_BOOLEAN(0, "virtio-mmio-msi", &cfg->virtio_mmio_msi,
			       "offer the virtio-mmio MSI and per-queue notify extension (fixed vectors)"),
		OPTION_BOOLEAN(0, "virtio-mmio-msi-shared", &cfg->virtio_mmio_msi_shared,
			       "the same, in sharing mode (vectors mapped by the driver)"),
		OPTION_INTEGER(0, "timeout", &cfg->timeout, "<seconds>",
			       "stop the guest after this long (exit status 124)",
			       0, 100000000),
		OPTION_BOOLEAN(0, "nested", &cfg->nested,
			       "let the guest run its own hypervisor (VMX/SVM on x86, EL2 on arm64)"),
		OPTION_BOOLEAN(0, "spe", &cfg->spe,
			       "give the guest the Statistical Profiling Extension (arm64, KVM SPE RFC)"),
		LKVM_ARCH_RUN_OPTIONS(*cfg)
		OPTION_GROUP("Debugging:"),
		OPTION_BOOLEAN(0, "debug", &cfg->debug,
			       "log VMM events (unhandled I/O, device setup)"),
		OPTION_BOOLEAN(0, "boot-timings", &cfg->boot_timings,
			       "at exit, print when lkvm started, first ran a vCPU, got the "
			       "guest's first console byte and exited (ms, on stderr)"),
		OPTION_CALLBACK(0, "loglevel", &cfg->loglevel, "error|warning|info|debug",
				"what lkvm prints besides errors (debug: as --debug)",
				set_loglevel),
		OPTION_BOOLEAN(0, "no-seccomp", &cfg->no_seccomp,
			       "no system call filters on lkvm's threads (for debugging)"),
		OPTION_BOOLEAN(0, "coredump", &cfg->coredump,
			       "let lkvm dump core on a crash, guest memory included"),
		OPTION_CALLBACK_NOARG(0, "no-dhcp", NULL,
				      "accepted for kvmtool: lkvm never configures DHCP",
				      accept_no_dhcp),
		OPTION_END(),
	};
	const struct option *refused = kvmtool_refusals();
	size_t n = ARRAY_SIZE(opts) - 1, nr = 0, ne = 0;
	struct option *all;

	while (refused[nr].type != OPT_END)
		nr++;
	while (extra && extra[ne].type != OPT_END)
		ne++;
	all = xmalloc((n + nr + ne + 1) * sizeof(*all));
	memcpy(all, opts, n * sizeof(*all));
	memcpy(all + n, refused, nr * sizeof(*all));
	if (ne)
		memcpy(all + n + nr, extra, ne * sizeof(*all));
	all[n + nr + ne] = (struct option)OPTION_END();
	return all;
}

int kvm_config_finish(struct kvm_config *cfg, const char *cmd)
{
	/* Per process, like the pid in it; cfg->name may point here. */
	static char default_name[32];

#ifndef LKVM_ARCH_HAS_SPE
	if (cfg->spe) {
		pr_err("%s: --spe (the Statistical Profiling Extension) is an arm64 feature", cmd);
		return -1;
	}
#endif
#ifndef LKVM_ARCH_HAS_FIRMWARE
	if (cfg->firmware) {
		pr_err("%s: --firmware: lkvm loads no firmware on x86; it boots a bzImage directly (-k)",
		       cmd);
		return -1;
	}
#endif
	if (cfg->firmware && !strcmp(cmd, "sandbox")) {
		pr_err("sandbox: --firmware: lkvm sandbox boots a Linux kernel (-k)");
		return -1;
	}
	if (cfg->firmware && (cfg->kernel_filename || cfg->initrd_filename)) {
		pr_err("%s: --firmware boots the firmware alone (as kvmtool does): drop -k and -i",
		       cmd);
		return -1;
	}
	if (cfg->virtio_mmio_msi_shared)
		cfg->virtio_mmio_msi = true;
	if (cfg->virtio_mmio_msi && strcmp(cfg->virtio_transport, "mmio")) {
		pr_err("%s: --virtio-mmio-msi needs --virtio-transport mmio", cmd);
		return -1;
	}
	if (cfg->balloon_no_reporting)
		cfg->balloon = true;
	/* The name names the control socket ~/.lkvm/<name>.sock (control.c). */
	if (!cfg->name) {
		snprintf(default_name, sizeof(default_name), "guest-%d", (int)getpid());
		cfg->name = default_name;
	} else if (!ctl_name_valid(cfg->name)) {
		pr_err("%s: --name '%s': use 1-%d letters, digits, '.', '_' or '-'",
		       cmd, cfg->name, CTL_NAME_MAX);
		return -1;
	}
	if (privs_parse_user(cfg, cmd))
		return -1;
	if (cfg->loglevel == LKVM_LOG_DEBUG)
		cfg->debug = true;
	lkvm_debug = cfg->debug;
	lkvm_loglevel = cfg->loglevel;
	return 0;
}

int kvm_run_parse(struct kvm_config *cfg, const struct option *extra, int argc,
		  const char **argv, const char *cmd, const char *usage,
		  const char *epilogue)
{
	struct option *opts;
	int n;

	kvm_config_defaults(cfg);
	opts = kvm_run_options(cfg, extra);
	n = parse_options(argc - 1, argv + 1, opts, cmd);
	if (n == PARSE_OPT_HELP) {
		usage_with_options(stdout, usage, opts);
		fputs(epilogue, stdout);
	}
	free(opts);
	return n < 0 && n != PARSE_OPT_HELP ? -1 : n;
}

static void timing(const char *what, u64 t)
{
	if (t)
		fprintf(stderr, "lkvm: boot-timings: %-18s %10.1f ms\n", what,
			(t - lkvm_start_ns()) / 1e6);
	else
		fprintf(stderr, "lkvm: boot-timings: %-18s %10s\n", what, "never");
}

/* --boot-timings: one line per milestone, in ms since lkvm started. */
static void print_boot_timings(const struct kvm *kvm)
{
	timing("exec", lkvm_start_ns());
	timing("first KVM_RUN", kvm->first_run_ns);
	timing("first console byte", term_first_output_ns(&kvm->term));
	timing("exit", now_ns());
}

int kvm_run_config(const struct kvm_config *cfg, int *sandbox_status)
{
	struct kvm kvm = { .sandbox_status = -1 };
	int ret;

	if (sandbox_status)
		*sandbox_status = -1;
	if (kvm_config_check(cfg))
		return LKVM_EXIT_ERROR;
	kvm.cfg = *cfg;
	/* The layers from the top: vCPUs (kvm-cpu.c), the VM (kvm.c), devices. */
	if (kvm__init(&kvm) || kvm_cpu__init_all(&kvm) || kvm__init_devices(&kvm) ||
	    kvm_cpu__boot_all(&kvm))
		ret = LKVM_EXIT_ERROR;
	else
		ret = kvm_cpu__run_all(&kvm);
	kvm__exit_devices(&kvm);
	kvm_cpu__exit_all(&kvm);
	kvm__exit(&kvm);
	if (cfg->boot_timings)
		print_boot_timings(&kvm);
	if (sandbox_status)
		*sandbox_status = kvm.sandbox_status;
	return ret;
}

int cmd_run(int argc, const char **argv)
{
	/* Static: option strings the callbacks copy live as long as the run. */
	static struct kvm_config cfg;
	int n;

	n = kvm_run_parse(&cfg, NULL, argc, argv, "run", run_usage, run_epilogue);
	if (n == PARSE_OPT_HELP)
		return 0;
	if (n < 0)
		return LKVM_EXIT_ERROR;
	/* kvmtool accepts the kernel as a plain argument too. */
	if (n == 1 && !cfg.kernel_filename) {
		cfg.kernel_filename = argv[1];
	} else if (n > 0) {
		pr_err("run: unexpected argument '%s'", argv[1]);
		return LKVM_EXIT_ERROR;
	}
	if (!cfg.kernel_filename && !cfg.firmware) {
		pr_err("run: no kernel given (use -k/--kernel <file>)");
		return LKVM_EXIT_ERROR;
	}
	if (kvm_config_finish(&cfg, "run"))
		return LKVM_EXIT_ERROR;
	return kvm_run_config(&cfg, NULL);
}
