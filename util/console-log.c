// SPDX-License-Identifier: GPL-2.0
/*
 * --console-log FILE: everything the guest writes to its console also goes
 * to FILE (created or truncated), whatever the console device. Opened
 * before any vCPU runs, so the log starts with the first byte; at most
 * --console-log-max bytes (default LKVM_CONSOLE_LOG_MAX) are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/term.h"

static int console_log_init(struct kvm *kvm)
{
	const char *path = kvm->cfg.console_log;
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_err("cannot open console log '%s': %s", path, strerror(errno));
		return -1;
	}
	term_set_log(&kvm->term, fd, kvm->cfg.console_log_max);
	return 0;
}

static void console_log_exit(struct kvm *kvm)
{
	int fd = kvm->term.log_fd;

	if (fd < 0)
		return;
	term_set_log(&kvm->term, -1, 0);
	close(fd);
}
dev_init(console_log_init, console_log_exit);
