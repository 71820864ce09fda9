/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_PL031_H
#define LKVM_ARM_PL031_H

#include <pthread.h>

#include "lkvm/util.h"

/*
 * An ARM PrimeCell PL031 real-time clock (ARM DDI 0224): a 32-bit seconds
 * counter that starts at the host's UTC time and can be loaded by the
 * guest. The match register is kept but never fires: no alarm interrupts.
 * The model knows no VM, so the unit tests drive it directly.
 */
#define PL031_DR	0x000	/* data: the current count (RO) */
#define PL031_MR	0x004	/* match */
#define PL031_LR	0x008	/* load: sets the count */
#define PL031_CR	0x00c	/* control: bit 0 starts the counter */
#define PL031_IMSC	0x010	/* interrupt mask */
#define PL031_RIS	0x014	/* raw interrupt status */
#define PL031_MIS	0x018	/* masked interrupt status */
#define PL031_ICR	0x01c	/* interrupt clear (WO) */
#define PL031_ID	0xfe0	/* PeriphID0-3, PCellID0-3: one byte per word */
#define PL031_SIZE	0x1000

struct pl031 {
	pthread_mutex_t lock;
	s64 offset;		/* count = host seconds + offset */
	u32 mr, imsc;
	u64 (*now)(void);	/* host UTC seconds; time(2) unless a test says */
};

void pl031_init(struct pl031 *rtc, u64 (*now)(void));
/* A guest access at @off (any length; registers are 32-bit words). */
void pl031_access(struct pl031 *rtc, u64 off, u8 *data, u32 len, bool is_write);

#endif
