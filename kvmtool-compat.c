// SPDX-License-Identifier: GPL-2.0
/*
 * kvmtool's `lkvm run` options that lkvm does not have. A kvmtool command
 * line must fail on them with one line that says what lkvm does instead,
 * never with "unknown option", so each is an entry of the run option table
 * (hidden from the help) whose callback refuses it. The options lkvm takes
 * with kvmtool's meaning are in builtin-run.c's table itself; the README's
 * kvmtool table lists both, and tests/unit/test-cli.sh checks each row.
 */
#include <string.h>

#include "lkvm/builtin-run.h"
#include "lkvm/parse-options.h"

/* The option's value is the sentence that says why and what to use. */
int kvmtool_refuse(const struct option *opt, const char *arg __unused)
{
	pr_err("--%s: %s", opt->long_name, (const char *)opt->value);
	return -1;
}

#define REFUSE_SHORT(s, l, why)	{ .type = OPT_CALLBACK, .short_name = (s), \
				  .long_name = (l), .value = (void *)(why), \
				  .cb = kvmtool_refuse, .flags = OPT_HIDDEN }
#define REFUSE(l, why)		REFUSE_SHORT(0, l, why)
#define REFUSE_NOARG(l, why)	{ .type = OPT_CALLBACK, .long_name = (l), \
				  .value = (void *)(why), .cb = kvmtool_refuse, \
				  .flags = OPT_HIDDEN | OPT_NOARG }

#define NO_FRAMEBUFFER	"lkvm has no framebuffer: the guest's console is the serial port " \
			"(or --console virtio)"
#define NO_TRACE	"lkvm does not trace guest accesses; --debug logs the unhandled ones"

static const struct option refusals[] = {
	REFUSE_NOARG("vnc", NO_FRAMEBUFFER),
	REFUSE_NOARG("gtk", NO_FRAMEBUFFER),
	REFUSE_NOARG("sdl", NO_FRAMEBUFFER),
	REFUSE("vidmode", NO_FRAMEBUFFER),
	REFUSE_SHORT('F', "flash", "lkvm has no flash device; boot a kernel with -k"),
	REFUSE_NOARG("virtio-legacy",
		     "lkvm offers modern (1.x) virtio only; pick the transport with "
		     "--virtio-transport pci|mmio"),
	REFUSE("tty", "lkvm's guest console is its own stdin and stdout (and --console-log "
	       "FILE); run lkvm in a terminal or under socat for a pty"),
	REFUSE("sandbox", "run a command in a guest with 'lkvm sandbox [options] -- COMMAND'"),
	REFUSE("hugetlbfs", "lkvm backs guest RAM with anonymous memory and transparent "
	       "huge pages; it does not use hugetlbfs"),
	REFUSE("vfio-pci", "lkvm has no VFIO device assignment"),
	REFUSE_NOARG("debug-single-step", "lkvm does not single-step guests; --debug "
		     "logs VMM events"),
	REFUSE_NOARG("debug-ioport", NO_TRACE),
	REFUSE_NOARG("debug-mmio", NO_TRACE),
	REFUSE("debug-iodelay", "lkvm does not delay guest I/O; --debug logs VMM events"),
	LKVM_ARCH_KVMTOOL_REFUSALS
	OPTION_END(),
};

const struct option *kvmtool_refusals(void)
{
	return refusals;
}
