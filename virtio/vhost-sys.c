// SPDX-License-Identifier: GPL-2.0
/* vhost's system calls, alone in a file so unit tests can record them instead. */
#include <fcntl.h>
#include <sys/ioctl.h>

#include "lkvm/vhost.h"

int vhost_sys_open(const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

int vhost_sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}
