// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 code's system boundary: KVM ioctls and memory locking. Kept in
 * one small file so the unit tests can link a recorder in its place.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "lkvm/arm-vm.h"

int arm_kvm_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

int arm_sys_mlock(const void *addr, size_t len)
{
	return mlock(addr, len);
}

int arm_sys_raise_memlock(u64 bytes)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return -1;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= bytes)
		return 0;
	rl.rlim_cur = bytes;
	/* Raising the hard limit needs CAP_SYS_RESOURCE; EPERM otherwise. */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < bytes)
		rl.rlim_max = bytes;
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}
