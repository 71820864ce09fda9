/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PVPANIC_H
#define LKVM_PVPANIC_H

#include "lkvm/iobus.h"
#include "lkvm/kvm-arch.h"
#include "lkvm/util.h"

/* Events of the pvpanic register (QEMU's docs/specs/pvpanic.rst). */
#define PVPANIC_PANICKED	(1 << 0)
#define PVPANIC_CRASH_LOADED	(1 << 1)
#define PVPANIC_EVENTS		(PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

/*
 * Where it is: an I/O port on x86 (next to the sandbox exit register, which
 * has 0x504-0x507), a page of MMIO on arm64; kvm-arch.h says which.
 */
#ifdef X86_PVPANIC_PORT
#define PVPANIC_ADDR		X86_PVPANIC_PORT
#define PVPANIC_LEN		1
#define PVPANIC_IS_PIO		1
#else
#define PVPANIC_ADDR		ARM_PVPANIC_BASE
#define PVPANIC_LEN		ARM_PVPANIC_SIZE
#define PVPANIC_IS_PIO		0
#endif

struct kvm;
struct pvpanic {
	struct io_range range;
	struct kvm *kvm;
	_Atomic u32 reported;	/* events already reported: each only once */
};
/* One access to the register (byte 0 of @data); the bus handler's core. */
void pvpanic_access(struct pvpanic *p, u8 *data, u32 len, bool is_write);

#endif
