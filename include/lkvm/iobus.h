/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IOBUS_H
#define LKVM_IOBUS_H

#include <pthread.h>

#include "lkvm/util.h"

/*
 * The I/O bus: guest port I/O and MMIO exits are dispatched through one of
 * two instances of it (kvm->pio_bus, kvm->mmio_bus). Ranges never overlap and
 * are kept sorted, so a lookup is a binary search.
 *
 * A handler gets the offset of the access from the start of its range. It
 * must cope with any length the guest uses (1, 2, 4 or 8 bytes); on a read
 * it fills @data completely (the bus pre-fills it with 0xff).
 */
struct io_range;
typedef void (*io_fn_t)(struct io_range *r, u64 offset, u8 *data, u32 len,
			bool is_write, void *ctx);

struct io_range {
	u64 start;
	u64 len;
	io_fn_t fn;
	void *ctx;
	const char *name;
};

struct iobus {
	const char *name;
	pthread_rwlock_t lock;
	struct io_range **ranges;	/* sorted by start */
	unsigned int nr, alloc;
};

void iobus_init(struct iobus *bus, const char *name);
void iobus_exit(struct iobus *bus);

/*
 * Register [start, start + len). Returns 0, or -1 (with a message) if it
 * overlaps an existing range or wraps. @r is owned by the caller and must
 * stay valid until it is unregistered and the vCPUs are stopped.
 */
int iobus_register(struct iobus *bus, struct io_range *r);
void iobus_unregister(struct iobus *bus, struct io_range *r);

/* The range containing [addr, addr + len), or NULL. */
struct io_range *iobus_find(struct iobus *bus, u64 addr, u32 len);

/*
 * Dispatch one access. Returns true if a device handled it; unclaimed reads
 * return all ones and unclaimed writes are dropped (and logged with --debug).
 */
bool iobus_access(struct iobus *bus, u64 addr, u8 *data, u32 len, bool is_write);

#endif
