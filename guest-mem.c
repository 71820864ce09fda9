// SPDX-License-Identifier: GPL-2.0
/* The one bounds-checked accessor for guest memory. */
#include <string.h>

#include "lkvm/guest-mem.h"

int guest_mem_add_bank(struct guest_mem *mem, u64 gpa, u64 size, void *host)
{
	struct guest_bank *prev;

	if (mem->nr_banks >= GUEST_MEM_MAX_BANKS || !size || gpa + size < gpa)
		return -1;
	if (mem->nr_banks) {
		prev = &mem->banks[mem->nr_banks - 1];
		if (gpa < prev->gpa + prev->size)
			return -1;
	}
	mem->banks[mem->nr_banks++] = (struct guest_bank){ gpa, size, host };
	mem->ram_size += size;
	return 0;
}

const struct guest_bank *guest_bank_of(const struct guest_mem *mem, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < mem->nr_banks; i++) {
		const struct guest_bank *b = &mem->banks[i];

		if (gpa >= b->gpa && gpa - b->gpa < b->size)
			return b;
	}
	return NULL;
}

void *guest_ptr(const struct guest_mem *mem, u64 gpa, u64 len)
{
	const struct guest_bank *b = guest_bank_of(mem, gpa);
	u64 off;

	if (!b || !len)
		return NULL;
	off = gpa - b->gpa;
	/* off < size holds; written this way nothing can overflow. */
	if (len > b->size - off)
		return NULL;
	return b->host + off;
}

int guest_write(const struct guest_mem *mem, u64 gpa, const void *src, u64 len)
{
	void *p = guest_ptr(mem, gpa, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int guest_read(const struct guest_mem *mem, u64 gpa, void *dst, u64 len)
{
	void *p = guest_ptr(mem, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}
