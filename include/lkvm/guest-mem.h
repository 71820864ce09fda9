/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_GUEST_MEM_H
#define LKVM_GUEST_MEM_H

#include "lkvm/util.h"

/*
 * Guest RAM as a list of banks: guest-physical ranges backed by host
 * memory. Every access to guest memory, by the loaders, the firmware tables
 * and every device, goes through guest_ptr(), which bounds-checks the whole
 * range against one bank.
 */
#define GUEST_MEM_MAX_BANKS	4

struct guest_bank {
	u64 gpa;
	u64 size;
	u8 *host;
};

struct guest_mem {
	struct guest_bank banks[GUEST_MEM_MAX_BANKS];
	unsigned int nr_banks;
	u64 ram_size;		/* sum of the bank sizes */
};

/* Add a bank; banks must be added in ascending, non-overlapping order. */
int guest_mem_add_bank(struct guest_mem *mem, u64 gpa, u64 size, void *host);

/*
 * Host pointer for guest-physical [gpa, gpa + len), or NULL when any byte
 * of it is outside guest RAM or the range wraps. len 0 is refused.
 */
void *guest_ptr(const struct guest_mem *mem, u64 gpa, u64 len);

/* True if [gpa, gpa + len) lies entirely in one RAM bank. */
static inline bool guest_range_ok(const struct guest_mem *mem, u64 gpa, u64 len)
{
	return guest_ptr(mem, gpa, len) != NULL;
}

/* The bank containing @gpa, or NULL. */
const struct guest_bank *guest_bank_of(const struct guest_mem *mem, u64 gpa);

/* Copy to/from guest memory; -1 if the range is not all RAM. */
int guest_write(const struct guest_mem *mem, u64 gpa, const void *src, u64 len);
int guest_read(const struct guest_mem *mem, u64 gpa, void *dst, u64 len);

#endif
