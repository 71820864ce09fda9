// SPDX-License-Identifier: GPL-2.0
/*
 * PCI bus 0: configuration space of the host bridge and its devices, BAR
 * sizing and relocation, capability lists, INTx lines and MSI-X.
 *
 * Nothing here talks to KVM: BARs go on an iobus, interrupts leave through
 * a callback and MSI-X delivery through the owner's ops, so the unit tests
 * drive all of it without a VM.
 *
 * Locking: bus->lock serialises config space (and with it BAR mappings and
 * the 0xcf8 register); device hooks run under it and may take their own
 * locks. bus->irq_lock protects the INTx state and is innermost: device
 * code calls pci_irq_set() with its own locks held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/pci.h"

/* The host bridge: Red Hat's "QEMU PCIe host bridge" ID, which no guest driver claims. */
#define HOST_VENDOR		0x1b36
#define HOST_DEVICE		0x0008
#define HOST_CLASS		0x060000

/* COMMAND bits a guest may set; there are no I/O BARs, so no I/O decoding. */
#define COMMAND_WMASK		(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
				 PCI_COMMAND_INTX_DISABLE)
#define CAP_START		0x40	/* first byte after the type 0 header */
#define CAP_WALK_MAX		48	/* (256 - 64) / 4: more means a loop */

static bool valid_len(u32 len)
{
	return len == 1 || len == 2 || len == 4;
}

void pci_device_init(struct pci_device *dev, const char *name, u16 vendor,
		     u16 device, u32 class, u8 revision)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->gsi = -1;
	dev->cap_free = CAP_START;
	pci_cfg_set(dev, PCI_VENDOR_ID, vendor, 2);
	pci_cfg_set(dev, PCI_DEVICE_ID, device, 2);
	pci_cfg_set(dev, PCI_CLASS_REVISION, class << 8 | revision, 4);
	dev->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	pci_wmask_set(dev, PCI_COMMAND, COMMAND_WMASK, 2);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_LATENCY_TIMER] = 0xff;
	/* Firmware's note of the IRQ it routed; the OS may rewrite it. */
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

void pci_set_subsystem(struct pci_device *dev, u16 vendor, u16 id)
{
	pci_cfg_set(dev, PCI_SUBSYSTEM_VENDOR_ID, vendor, 2);
	pci_cfg_set(dev, PCI_SUBSYSTEM_ID, id, 2);
}

void pci_set_intx(struct pci_device *dev)
{
	dev->cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA */
}

int pci_bar_init(struct pci_device *dev, unsigned int n, u64 size, bool is_64,
		 io_fn_t fn, void *ctx)
{
	u32 reg = PCI_BASE_ADDRESS_0 + 4 * n;
	struct pci_bar *b;

	if (n >= PCI_NR_BARS || (is_64 && n + 1 >= PCI_NR_BARS) || size < 16 ||
	    (size & (size - 1)) || (!is_64 && size > SZ_1G) || !fn)
		return -1;
	b = &dev->bars[n];
	if (b->size || (n && dev->bars[n - 1].is_64))
		return -1;
	b->size = size;
	b->is_64 = is_64;
	b->fn = fn;
	b->ctx = ctx;
	/*
	 * The writable bits are the address bits above the size, so that
	 * writing all ones reads back the size mask (the sizing protocol),
	 * and any address the guest writes is naturally aligned.
	 */
	pci_cfg_set(dev, reg, is_64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0, 4);
	pci_wmask_set(dev, reg, (u32)~(size - 1) & PCI_BASE_ADDRESS_MEM_MASK, 4);
	if (is_64)
		pci_wmask_set(dev, reg + 4, (u32)(~(size - 1) >> 32), 4);
	return 0;
}

u8 pci_cap_add(struct pci_device *dev, u8 id, u8 len)
{
	u32 off = ALIGN_UP((u32)dev->cap_free, 4);

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return 0;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	if (dev->cap_last)
		dev->cfg[dev->cap_last + 1] = off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = off;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_last = off;
	dev->cap_free = off + len;
	return off;
}

u8 pci_cap_find(const struct pci_device *dev, u8 id, u8 from)
{
	u8 p = from ? dev->cfg[from + 1] : dev->cfg[PCI_CAPABILITY_LIST];
	unsigned int i;

	for (i = 0; i < CAP_WALK_MAX; i++) {
		p &= ~3;
		if (p < CAP_START)
			return 0;
		if (dev->cfg[p] == id)
			return p;
		p = dev->cfg[p + 1];
	}
	return 0;
}

/*
 * No registered range overlaps [start, start + len). The iobus refuses
 * overlaps too, but loudly; a guest may legitimately park a BAR on top of
 * another one for a moment, so check quietly first.
 */
static bool mmio_free(struct iobus *bus, u64 start, u64 len)
{
	u64 end = start + len - 1;
	unsigned int i;
	bool ok = true;

	pthread_rwlock_rdlock(&bus->lock);
	for (i = 0; i < bus->nr && ok; i++) {
		struct io_range *r = bus->ranges[i];

		if (r->start <= end && start <= r->start + r->len - 1)
			ok = false;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ok;
}

static u64 bar_addr(const struct pci_device *dev, unsigned int n)
{
	const struct pci_bar *b = &dev->bars[n];
	u32 reg = PCI_BASE_ADDRESS_0 + 4 * n;
	u64 a = pci_cfg_get(dev, reg, 4) & PCI_BASE_ADDRESS_MEM_MASK;

	if (b->is_64)
		a |= (u64)pci_cfg_get(dev, reg + 4, 4) << 32;
	return a & ~(b->size - 1);
}

/*
 * Make the mappings follow COMMAND.MEMORY and the BAR registers. Called
 * after every write to either, so a 64-bit BAR passes through the address
 * of each half-written state; those are mapped too if free, which is
 * harmless (the guest has decoding on and gets what it asked for).
 */
static void update_bars(struct pci_device *dev)
{
	bool decode = pci_cfg_get(dev, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
	struct iobus *mmio = dev->bus->mmio;
	unsigned int n;

	for (n = 0; n < PCI_NR_BARS; n++) {
		struct pci_bar *b = &dev->bars[n];
		u64 addr;
		bool want;

		if (!b->size)
			continue;
		addr = bar_addr(dev, n);
		/* Address 0 means unassigned; a BAR may not wrap past 2^64. */
		want = decode && addr && addr + b->size - 1 > addr;
		if (b->mapped && (!want || addr != b->range.start)) {
			iobus_unregister(mmio, &b->range);
			b->mapped = false;
			if (dev->bar_map)
				dev->bar_map(dev, n, b->range.start, false);
		}
		if (!want || b->mapped)
			continue;
		if (!mmio_free(mmio, addr, b->size)) {
			pr_debug("pci %02x: BAR%u at 0x%llx overlaps another device; not mapped",
				 dev->slot, n, (unsigned long long)addr);
			continue;
		}
		b->range.start = addr;
		b->range.len = b->size;
		if (iobus_register(mmio, &b->range))
			continue;
		b->mapped = true;
		if (dev->bar_map)
			dev->bar_map(dev, n, addr, true);
	}
}

/* INTx, with bus->irq_lock held. Devices on one shared line are ORed. */
static void intx_update(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus;
	bool out = dev->intx_level && !dev->intx_disabled && dev->gsi >= 0;
	unsigned int line;

	if (out == dev->intx_out)
		return;
	dev->intx_out = out;
	line = dev->gsi - bus->intx_base;
	if (out) {
		if (bus->intx_users[line]++ == 0 && bus->set_irq)
			bus->set_irq(bus->irq_ctx, dev->gsi, true);
	} else {
		if (--bus->intx_users[line] == 0 && bus->set_irq)
			bus->set_irq(bus->irq_ctx, dev->gsi, false);
	}
}

void pci_irq_set(struct pci_device *dev, bool level)
{
	struct pci_bus *bus = dev->bus;

	if (!bus)
		return;
	pthread_mutex_lock(&bus->irq_lock);
	__atomic_store_n(&dev->intx_level, level, __ATOMIC_RELAXED);
	intx_update(dev);
	pthread_mutex_unlock(&bus->irq_lock);
}

/* One access to one device's config space, with bus->lock held. */
static void dev_cfg_access(struct pci_device *dev, u32 off, u8 *data, u32 len,
			   bool is_write)
{
	u32 i;

	/*
	 * Extended config space (ECAM offsets 0x100-0xfff) is empty: a
	 * conventional device has none, and zero there ends the (absent)
	 * extended capability list.
	 */
	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		if (dev->cfg_read)
			dev->cfg_read(dev, off, len);
		memcpy(data, dev->cfg + off, len);
		/*
		 * STATUS.INTERRUPT is the function's request, whether or not
		 * COMMAND.INTX_DISABLE keeps it off the line (PCI 3.0, 6.2.3).
		 */
		if (pci_cfg_overlaps(off, len, PCI_STATUS, 1) &&
		    __atomic_load_n(&dev->intx_level, __ATOMIC_RELAXED))
			data[PCI_STATUS - off] |= PCI_STATUS_INTERRUPT;
		return;
	}
	for (i = 0; i < len; i++) {
		u8 m = dev->wmask[off + i];

		if (m)
			dev->cfg[off + i] = (dev->cfg[off + i] & ~m) | (data[i] & m);
	}
	if (pci_cfg_overlaps(off, len, PCI_COMMAND, 2)) {
		pthread_mutex_lock(&dev->bus->irq_lock);
		dev->intx_disabled = pci_cfg_get(dev, PCI_COMMAND, 2) &
				     PCI_COMMAND_INTX_DISABLE;
		intx_update(dev);
		pthread_mutex_unlock(&dev->bus->irq_lock);
	}
	if (pci_cfg_overlaps(off, len, PCI_COMMAND, 2) ||
	    pci_cfg_overlaps(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NR_BARS))
		update_bars(dev);
	if (dev->cfg_write)
		dev->cfg_write(dev, off, len);
}

/* Route an access with bus->lock held; see pci_cfg_access(). */
static void cfg_access_locked(struct pci_bus *bus, unsigned int busnr,
			      unsigned int slot, unsigned int fn, u32 off, u8 *data,
			      u32 len, bool is_write)
{
	/* Only function 0 of each slot exists (the header says single-function). */
	if (busnr != 0 || slot >= PCI_MAX_SLOTS || fn != 0 || !bus->devs[slot]) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	dev_cfg_access(bus->devs[slot], off, data, len, is_write);
}

void pci_cfg_access(struct pci_bus *bus, unsigned int busnr, unsigned int slot,
		    unsigned int fn, u32 off, u8 *data, u32 len, bool is_write)
{
	if (!valid_len(len) || (off & 3) + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	cfg_access_locked(bus, busnr, slot, fn, off, data, len, is_write);
	pthread_mutex_unlock(&bus->lock);
}

/*
 * Configuration mechanism #1: a dword write to 0xcf8 selects enable (bit
 * 31), bus (23-16), device (15-11), function (10-8) and dword register
 * (7-2); 0xcfc-0xcff then read or write that dword's bytes.
 */
bool pci_conf1_io(struct pci_bus *bus, u64 off, u8 *data, u32 len, bool is_write)
{
	u32 a, reg;

	if (off < 4) {
		if (off != 0 || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
			return false;
		}
		pthread_mutex_lock(&bus->lock);
		if (is_write)	/* bits 30-24 and 1-0 are reserved: they read 0 */
			bus->conf1_addr = get_le(data, 4) & 0x80fffffcU;
		else
			put_le(data, bus->conf1_addr, 4);
		pthread_mutex_unlock(&bus->lock);
		return true;
	}
	if (off >= PCI_CONF1_LEN || !valid_len(len) || off - 4 + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return true;
	}
	pthread_mutex_lock(&bus->lock);
	a = bus->conf1_addr;
	if (!(a & PCI_CONF1_ENABLE)) {
		if (!is_write)
			memset(data, 0xff, len);
	} else {
		reg = (a & 0xfc) + (off - 4);
		cfg_access_locked(bus, (a >> 16) & 0xff, (a >> 11) & 0x1f,
				  (a >> 8) & 7, reg, data, len, is_write);
	}
	pthread_mutex_unlock(&bus->lock);
	return true;
}

/* ECAM: bus in bits 27-20, device 19-15, function 14-12, register 11-0. */
void pci_ecam_io(struct pci_bus *bus, u64 off, u8 *data, u32 len, bool is_write)
{
	if (len == 8 && !(off & 7)) {
		/* Two dwords, as a 64-bit CPU access is defined to split. */
		pci_ecam_io(bus, off, data, 4, is_write);
		pci_ecam_io(bus, off + 4, data + 4, 4, is_write);
		return;
	}
	if (!valid_len(len) || (off & (len - 1)) || off >= 256 * PCI_ECAM_BUS_SIZE) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci_cfg_access(bus, off >> 20, (off >> 15) & 0x1f, (off >> 12) & 7,
		       off & 0xfff, data, len, is_write);
}

void pci_bus_init(struct pci_bus *bus, struct iobus *mmio, u64 win_start,
		  u64 win_size)
{
	memset(bus, 0, sizeof(*bus));
	bus->mmio = mmio;
	bus->win_start = bus->win_next = win_start;
	bus->win_end = win_start + win_size;
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->irq_lock, NULL);

	pci_device_init(&bus->host, "host-bridge", HOST_VENDOR, HOST_DEVICE,
			HOST_CLASS, 0);
	bus->host.bus = bus;
	bus->host.slot = 0;
	bus->devs[0] = &bus->host;
}

void pci_bus_exit(struct pci_bus *bus)
{
	unsigned int s, n;

	pthread_mutex_lock(&bus->lock);
	for (s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_device *dev = bus->devs[s];

		for (n = 0; dev && n < PCI_NR_BARS; n++) {
			if (dev->bars[n].mapped) {
				iobus_unregister(bus->mmio, &dev->bars[n].range);
				dev->bars[n].mapped = false;
			}
		}
		bus->devs[s] = NULL;
	}
	pthread_mutex_unlock(&bus->lock);
}

int pci_bus_add(struct pci_bus *bus, struct pci_device *dev)
{
	u64 next = bus->win_next, addr[PCI_NR_BARS] = { 0 };
	unsigned int slot, n, pin = dev->cfg[PCI_INTERRUPT_PIN];

	pthread_mutex_lock(&bus->lock);
	for (slot = 1; slot < PCI_MAX_SLOTS && bus->devs[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		pthread_mutex_unlock(&bus->lock);
		pr_err("pci: no free slot for %s (at most %d devices)", dev->name,
		       PCI_MAX_SLOTS - 1);
		return -1;
	}
	/* Pre-assign like firmware does: naturally aligned, in order. */
	for (n = 0; n < PCI_NR_BARS; n++) {
		u64 size = dev->bars[n].size;

		if (!size)
			continue;
		addr[n] = ALIGN_UP(next, size);
		if (addr[n] < next || addr[n] + size > bus->win_end) {
			pthread_mutex_unlock(&bus->lock);
			pr_err("pci: the MMIO window has no room for %s's BAR%u", dev->name, n);
			return -1;
		}
		next = addr[n] + size;
	}
	bus->win_next = next;
	for (n = 0; n < PCI_NR_BARS; n++) {
		u32 reg = PCI_BASE_ADDRESS_0 + 4 * n;

		if (!dev->bars[n].size)
			continue;
		pci_cfg_set(dev, reg, (pci_cfg_get(dev, reg, 4) & ~PCI_BASE_ADDRESS_MEM_MASK) |
			    (u32)addr[n], 4);
		if (dev->bars[n].is_64)
			pci_cfg_set(dev, reg + 4, addr[n] >> 32, 4);
		snprintf(dev->bars[n].name, sizeof(dev->bars[n].name), "pci-%02x-%s",
			 slot, dev->name ? dev->name : "dev");
		dev->bars[n].range.name = dev->bars[n].name;
		dev->bars[n].range.fn = dev->bars[n].fn;
		dev->bars[n].range.ctx = dev->bars[n].ctx;
	}
	dev->bus = bus;
	dev->slot = slot;
	if (pin >= 1 && pin <= PCI_INTX_PINS && bus->intx_count &&
	    bus->intx_count <= ARRAY_SIZE(bus->intx_users)) {
		dev->gsi = bus->intx_base + (slot + pin - 1) % bus->intx_count;
		dev->cfg[PCI_INTERRUPT_LINE] = dev->gsi;
	}
	pci_cfg_set(dev, PCI_COMMAND, pci_cfg_get(dev, PCI_COMMAND, 2) |
		    PCI_COMMAND_MEMORY, 2);
	bus->devs[slot] = dev;
	update_bars(dev);
	pthread_mutex_unlock(&bus->lock);
	return slot;
}

void pci_bus_remove(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus;
	unsigned int n;

	if (!bus)
		return;
	pci_irq_set(dev, false);
	pthread_mutex_lock(&bus->lock);
	for (n = 0; n < PCI_NR_BARS; n++) {
		struct pci_bar *b = &dev->bars[n];

		if (!b->mapped)
			continue;
		iobus_unregister(bus->mmio, &b->range);
		b->mapped = false;
		if (dev->bar_map)
			dev->bar_map(dev, n, b->range.start, false);
	}
	if (dev->slot < PCI_MAX_SLOTS && bus->devs[dev->slot] == dev)
		bus->devs[dev->slot] = NULL;
	pthread_mutex_unlock(&bus->lock);
	dev->bus = NULL;
}

/* MSI-X */

static u8 *msix_entry(const struct pci_msix *m, unsigned int v)
{
	return m->table + v * PCI_MSIX_ENTRY_SIZE;
}

bool pci_msix_vector_masked(const struct pci_msix *m, unsigned int v)
{
	return v >= m->nr ||
	       (msix_entry(m, v)[PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool pci_msix_pending(const struct pci_msix *m, unsigned int v)
{
	return v < m->nr && (m->pba[v / 64] >> (v % 64)) & 1;
}

static void set_pending(struct pci_msix *m, unsigned int v, bool on)
{
	if (on)
		m->pba[v / 64] |= 1ULL << (v % 64);
	else
		m->pba[v / 64] &= ~(1ULL << (v % 64));
}

void pci_msix_message(const struct pci_msix *m, unsigned int v, u64 *addr, u32 *data)
{
	const u8 *e;

	*addr = 0;
	*data = 0;
	if (v >= m->nr)
		return;
	e = msix_entry(m, v);
	*addr = get_le(e + PCI_MSIX_ENTRY_LOWER_ADDR, 4) |
		(u64)get_le(e + PCI_MSIX_ENTRY_UPPER_ADDR, 4) << 32;
	*data = get_le(e + PCI_MSIX_ENTRY_DATA, 4);
}

/* Deliverable: MSI-X on, function and vector unmasked. */
static bool vector_live(const struct pci_msix *m, unsigned int v)
{
	return m->enabled && !m->masked && !pci_msix_vector_masked(m, v);
}

/* A vector may have become deliverable: route it, send what was held back. */
static void vector_sync(struct pci_msix *m, unsigned int v)
{
	u64 addr;
	u32 data;

	if (!vector_live(m, v))
		return;
	pci_msix_message(m, v, &addr, &data);
	m->ops->route(m->ctx, v, addr, data);
	if (pci_msix_pending(m, v)) {
		set_pending(m, v, false);
		m->ops->fire(m->ctx, v);
	}
}

int pci_msix_init(struct pci_msix *m, struct pci_device *dev, u16 nr,
		  unsigned int bar, u32 table_off, u32 pba_off,
		  const struct pci_msix_ops *ops, void *ctx)
{
	unsigned int v;
	u8 cap;

	if (!nr || nr > PCI_MSIX_FLAGS_QSIZE + 1 || bar >= PCI_NR_BARS ||
	    (table_off & 7) || (pba_off & 7))
		return -1;
	cap = pci_cap_add(dev, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (!cap)
		return -1;
	*m = (struct pci_msix){
		.dev = dev, .cap = cap, .nr = nr, .ops = ops, .ctx = ctx,
		.table = xzalloc(pci_msix_table_size(nr)),
		.pba = xzalloc(pci_msix_pba_size(nr)),
	};
	/* Every vector starts masked (PCI 3.0, 6.8.2.9). */
	for (v = 0; v < nr; v++)
		msix_entry(m, v)[PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	pci_cfg_set(dev, cap + PCI_MSIX_FLAGS, nr - 1, 2);
	pci_wmask_set(dev, cap + PCI_MSIX_FLAGS,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	pci_cfg_set(dev, cap + PCI_MSIX_TABLE, table_off | bar, 4);
	pci_cfg_set(dev, cap + PCI_MSIX_PBA, pba_off | bar, 4);
	return 0;
}

void pci_msix_exit(struct pci_msix *m)
{
	free(m->table);
	free(m->pba);
	m->table = NULL;
	m->pba = NULL;
	m->nr = 0;
}

void pci_msix_cfg_update(struct pci_msix *m)
{
	u16 ctrl = pci_cfg_get(m->dev, m->cap + PCI_MSIX_FLAGS, 2);
	bool en = ctrl & PCI_MSIX_FLAGS_ENABLE, mask = ctrl & PCI_MSIX_FLAGS_MASKALL;
	unsigned int v;

	if (en == m->enabled && mask == m->masked)
		return;
	m->enabled = en;
	m->masked = mask;
	for (v = 0; v < m->nr; v++)
		vector_sync(m, v);
}

void pci_msix_table_io(struct pci_msix *m, u64 off, u8 *data, u32 len, bool is_write)
{
	u32 size = pci_msix_table_size(m->nr), i;
	unsigned int v;

	if (!len || off >= size || len > size - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		memcpy(data, m->table + off, len);
		return;
	}
	for (i = 0; i < len; i++) {
		u32 o = off + i, field = o % PCI_MSIX_ENTRY_SIZE;

		/* In Vector Control only the mask bit is writable; 31-1 are reserved. */
		if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
			m->table[o] = (m->table[o] & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) |
				      (data[i] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
		else if (field < PCI_MSIX_ENTRY_VECTOR_CTRL)
			m->table[o] = data[i];
	}
	for (v = off / PCI_MSIX_ENTRY_SIZE; v <= (off + len - 1) / PCI_MSIX_ENTRY_SIZE; v++)
		vector_sync(m, v);
}

void pci_msix_pba_io(struct pci_msix *m, u64 off, u8 *data, u32 len, bool is_write)
{
	u32 size = pci_msix_pba_size(m->nr), i;

	if (is_write)		/* read-only; writes are ignored */
		return;
	if (!len || off >= size || len > size - off) {
		memset(data, 0, len);
		return;
	}
	for (i = 0; i < len; i++)
		data[i] = m->pba[(off + i) / 8] >> (8 * ((off + i) % 8));
}

int pci_msix_notify(struct pci_msix *m, unsigned int v)
{
	if (!m->enabled)
		return PCI_MSIX_DISABLED;
	if (v >= m->nr)
		return PCI_MSIX_DROPPED;
	if (!vector_live(m, v)) {
		set_pending(m, v, true);
		return PCI_MSIX_PENDING;
	}
	m->ops->fire(m->ctx, v);
	return PCI_MSIX_SENT;
}

void pci_msix_clear_pending(struct pci_msix *m)
{
	memset(m->pba, 0, pci_msix_pba_size(m->nr));
}
