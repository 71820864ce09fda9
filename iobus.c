// SPDX-License-Identifier: GPL-2.0
/* The I/O bus shared by port I/O and MMIO. */
#include <stdlib.h>
#include <string.h>

#include "lkvm/iobus.h"

void iobus_init(struct iobus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void iobus_exit(struct iobus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->alloc = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above @addr (may be bus->nr). */
static unsigned int lower_bound(struct iobus *bus, u64 addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct io_range *r = bus->ranges[mid];

		if (r->start + r->len - 1 < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int iobus_register(struct iobus *bus, struct io_range *r)
{
	unsigned int i;

	if (!r->len || r->start + r->len - 1 < r->start) {
		pr_err("%s bus: bad range for %s", bus->name, r->name);
		return -1;
	}
	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, r->start);
	if (i < bus->nr && bus->ranges[i]->start <= r->start + r->len - 1) {
		struct io_range *o = bus->ranges[i];

		pthread_rwlock_unlock(&bus->lock);
		pr_err("%s bus: %s at 0x%llx-0x%llx overlaps %s at 0x%llx-0x%llx",
		       bus->name, r->name, (unsigned long long)r->start,
		       (unsigned long long)(r->start + r->len - 1), o->name,
		       (unsigned long long)o->start,
		       (unsigned long long)(o->start + o->len - 1));
		return -1;
	}
	if (bus->nr == bus->alloc) {
		bus->alloc = bus->alloc ? bus->alloc * 2 : 16;
		bus->ranges = xrealloc(bus->ranges, bus->alloc * sizeof(*bus->ranges));
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = r;
	bus->nr++;
	pthread_rwlock_unlock(&bus->lock);
	return 0;
}

void iobus_unregister(struct iobus *bus, struct io_range *r)
{
	unsigned int i;

	pthread_rwlock_wrlock(&bus->lock);
	for (i = 0; i < bus->nr; i++) {
		if (bus->ranges[i] == r) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->nr - i - 1) * sizeof(*bus->ranges));
			bus->nr--;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
}

static struct io_range *find_locked(struct iobus *bus, u64 addr, u32 len)
{
	unsigned int i = lower_bound(bus, addr);
	struct io_range *r;

	if (i >= bus->nr || !len)
		return NULL;
	r = bus->ranges[i];
	if (addr < r->start || addr + len < addr ||
	    addr + len - 1 > r->start + r->len - 1)
		return NULL;
	return r;
}

struct io_range *iobus_find(struct iobus *bus, u64 addr, u32 len)
{
	struct io_range *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = find_locked(bus, addr, len);
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

bool iobus_access(struct iobus *bus, u64 addr, u8 *data, u32 len, bool is_write)
{
	struct io_range *r;
	u64 off = 0;

	if (!is_write)
		memset(data, 0xff, len);
	/*
	 * The lock is dropped before the handler runs: a handler may itself
	 * (un)register ranges, e.g. when the guest moves a PCI BAR. Ranges are
	 * never freed while vCPUs run, so @r stays valid; but its start may
	 * change as soon as the lock is dropped (another vCPU moving the BAR),
	 * so the offset is taken while it still describes where @r was found.
	 */
	pthread_rwlock_rdlock(&bus->lock);
	r = find_locked(bus, addr, len);
	if (r)
		off = addr - r->start;
	pthread_rwlock_unlock(&bus->lock);
	if (!r) {
		pr_debug("%s bus: unhandled %s of %u bytes at 0x%llx", bus->name,
			 is_write ? "write" : "read", len, (unsigned long long)addr);
		return false;
	}
	r->fn(r, off, data, len, is_write, r->ctx);
	return true;
}
