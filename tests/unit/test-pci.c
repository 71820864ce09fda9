// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI bus model and the virtio-pci transport without a VM: config
 * mechanism #1 and ECAM decoding, BAR sizing and relocation on an iobus,
 * capability lists, shared INTx lines, MSI-X masking and the PBA, and a
 * virtio-pci function on the real virtio core, poked like a driver would
 * (and like a hostile one would). KVM's side (routes, irqfds, ioeventfds)
 * is stubbed below and recorded.
 */
#include <linux/virtio_pci.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/ioeventfd.h"
#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio.h"
#include "test.h"
#include "fuzz.h"

#define WIN		0xc0000000ULL
#define WIN_SIZE	0x10000000ULL
#define NO_VEC		0xffff

static struct iobus mmio;
static struct pci_bus bus;
static int line[64];		/* level of each GSI */
static int line_changes;

static void fake_set_irq(void *ctx __unused, unsigned int gsi, bool level)
{
	if (gsi < ARRAY_SIZE(line))
		line[gsi] = level;
	line_changes++;
}

static void bus_setup(unsigned int intx_count)
{
	iobus_init(&mmio, "mmio");
	pci_bus_init(&bus, &mmio, WIN, WIN_SIZE);
	bus.intx_base = 16;
	bus.intx_count = intx_count;
	bus.set_irq = fake_set_irq;
	memset(line, 0, sizeof(line));
	line_changes = 0;
}

static void bus_teardown(void)
{
	pci_bus_exit(&bus);
	iobus_exit(&mmio);
}

/* Config mechanism #1 as a guest uses it. */
static void cf8(u32 v)
{
	u8 d[4];

	put_le(d, v, 4);
	CHECK(pci_conf1_io(&bus, 0, d, 4, true));
}

static u32 conf1_addr(unsigned int slot, u32 reg)
{
	return PCI_CONF1_ENABLE | slot << 11 | (reg & 0xfc);
}

static u32 cfg_read(unsigned int slot, u32 reg, u32 len)
{
	u8 d[4];

	cf8(conf1_addr(slot, reg));
	CHECK(pci_conf1_io(&bus, 4 + (reg & 3), d, len, false));
	return get_le(d, len);
}

static void cfg_write(unsigned int slot, u32 reg, u32 v, u32 len)
{
	u8 d[4];

	put_le(d, v, len);
	cf8(conf1_addr(slot, reg));
	CHECK(pci_conf1_io(&bus, 4 + (reg & 3), d, len, true));
}

static u32 ecam_read(u64 off, u32 len)
{
	u8 d[8];

	pci_ecam_io(&bus, off, d, len, false);
	return get_le(d, len > 4 ? 4 : len);
}

static u64 mmio_read(u64 addr, u32 len)
{
	u8 d[8];
	u64 v = 0;

	iobus_access(&mmio, addr, d, len, false);
	while (len--)
		v = v << 8 | d[len];
	return v;
}

static void mmio_write(u64 addr, u64 v, u32 len)
{
	u8 d[8];
	u32 i;

	for (i = 0; i < len; i++)
		d[i] = v >> (8 * i);
	iobus_access(&mmio, addr, d, len, true);
}

/* A device with a recording BAR handler. */
struct dummy {
	struct pci_device dev;
	struct pci_msix *msix;
	u64 last_off;
	u32 last_len;
	int accesses;
	int maps, unmaps;
	u64 map_addr;
};

static void dummy_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		     bool is_write, void *ctx)
{
	struct dummy *d = ctx;

	d->last_off = off;
	d->last_len = len;
	d->accesses++;
	if (!is_write)
		memset(data, 0x5a, len);
}

static void dummy_bar_map(struct pci_device *dev, unsigned int bar __unused,
			  u64 addr, bool on)
{
	struct dummy *d = (struct dummy *)dev;

	if (on) {
		d->maps++;
		d->map_addr = addr;
	} else {
		d->unmaps++;
	}
}

static void dummy_cfg_write(struct pci_device *dev, u32 off __unused, u32 len __unused)
{
	struct dummy *d = (struct dummy *)dev;

	if (d->msix)
		pci_msix_cfg_update(d->msix);
}

static void dummy_init(struct dummy *d, bool intx)
{
	pci_device_init(&d->dev, "dummy", 0x1234, 0x5678, 0x0b4000, 3);
	d->dev.bar_map = dummy_bar_map;
	d->dev.cfg_write = dummy_cfg_write;
	if (intx)
		pci_set_intx(&d->dev);
	d->msix = NULL;
	d->accesses = d->maps = d->unmaps = 0;
}

static void test_conf1_decode(void)
{
	static struct dummy d;
	u32 id, off, v;
	u8 b[4];

	bus_setup(8);
	dummy_init(&d, true);
	CHECK_EQ(pci_bus_add(&bus, &d.dev), 1);

	/* The address register keeps enable, bus, device, function, register. */
	cf8(0xffffffff);
	CHECK(pci_conf1_io(&bus, 0, b, 4, false));
	CHECK_EQ(get_le(b, 4), 0x80fffffc);
	cf8(0x80000000);
	CHECK(pci_conf1_io(&bus, 0, b, 4, false));
	CHECK_EQ(get_le(b, 4), 0x80000000);

	/* The host bridge. */
	CHECK_EQ(cfg_read(0, PCI_VENDOR_ID, 4), 0x00081b36);
	CHECK_EQ(cfg_read(0, PCI_CLASS_DEVICE, 2), 0x0600);
	CHECK_EQ(cfg_read(0, PCI_HEADER_TYPE, 1), 0);

	/* Every width at every offset of the data port agrees with the dword. */
	for (off = 0; off < 0x40; off += 4) {
		u32 dw = cfg_read(1, off, 4);

		CHECK_EQ(cfg_read(1, off, 1), dw & 0xff);
		CHECK_EQ(cfg_read(1, off + 1, 1), (dw >> 8) & 0xff);
		CHECK_EQ(cfg_read(1, off + 2, 1), (dw >> 16) & 0xff);
		CHECK_EQ(cfg_read(1, off + 3, 1), dw >> 24);
		CHECK_EQ(cfg_read(1, off, 2), dw & 0xffff);
		CHECK_EQ(cfg_read(1, off + 1, 2), (dw >> 8) & 0xffff);
		CHECK_EQ(cfg_read(1, off + 2, 2), dw >> 16);
	}
	id = cfg_read(1, PCI_VENDOR_ID, 4);
	CHECK_EQ(id, 0x56781234);
	CHECK_EQ(cfg_read(1, PCI_CLASS_REVISION, 4), 0x0b400003);

	/* A word at 0xcff would end past the dword: all ones, nothing written. */
	cf8(conf1_addr(1, PCI_INTERRUPT_LINE));
	CHECK(pci_conf1_io(&bus, 7, b, 2, false));
	CHECK_EQ(get_le(b, 2), 0xffff);
	b[0] = b[1] = 0;
	CHECK(pci_conf1_io(&bus, 7, b, 2, true));
	CHECK_EQ(cfg_read(1, PCI_INTERRUPT_LINE, 1), 17);

	/* Enable bit clear, absent slots, functions and buses: all ones. */
	cf8(1 << 11);
	CHECK(pci_conf1_io(&bus, 4, b, 4, false));
	CHECK_EQ(get_le(b, 4), 0xffffffff);
	CHECK_EQ(cfg_read(5, 0, 4), 0xffffffff);
	CHECK_EQ(cfg_read(31, 0, 2), 0xffff);
	cf8(PCI_CONF1_ENABLE | 1 << 11 | 1 << 8);		/* 00:01.1 */
	CHECK(pci_conf1_io(&bus, 4, b, 4, false));
	CHECK_EQ(get_le(b, 4), 0xffffffff);
	cf8(PCI_CONF1_ENABLE | 1 << 16 | 1 << 11);		/* 01:01.0 */
	CHECK(pci_conf1_io(&bus, 4, b, 4, false));
	CHECK_EQ(get_le(b, 4), 0xffffffff);
	cfg_write(5, PCI_COMMAND, 0xffff, 2);			/* dropped */

	/* Not config accesses: the reset register byte at 0xcf9, 0xcf8 words. */
	CHECK(!pci_conf1_io(&bus, 1, b, 1, true));
	CHECK(!pci_conf1_io(&bus, 0, b, 2, false));
	CHECK_EQ(get_le(b, 2), 0xffff);
	CHECK(!pci_conf1_io(&bus, 3, b, 1, false));
	/* A byte write at 0xcf8 does not change the address register. */
	cf8(conf1_addr(1, 0));
	b[0] = 0x44;
	pci_conf1_io(&bus, 0, b, 1, true);
	CHECK_EQ(cfg_read(1, 0, 2), 0x1234);

	/* Read-only registers stay put; the writable ones take the value. */
	cfg_write(1, PCI_VENDOR_ID, 0xffffffff, 4);
	CHECK_EQ(cfg_read(1, PCI_VENDOR_ID, 4), id);
	cfg_write(1, PCI_INTERRUPT_PIN, 0x7, 1);
	CHECK_EQ(cfg_read(1, PCI_INTERRUPT_PIN, 1), 1);
	cfg_write(1, PCI_INTERRUPT_LINE, 0x0b, 1);
	CHECK_EQ(cfg_read(1, PCI_INTERRUPT_LINE, 1), 0x0b);
	v = cfg_read(1, PCI_COMMAND, 2);
	cfg_write(1, PCI_COMMAND, 0xffff, 2);
	CHECK_EQ(cfg_read(1, PCI_COMMAND, 2), 0x0546);
	cfg_write(1, PCI_COMMAND, v, 2);
	bus_teardown();
}

static void test_ecam_decode(void)
{
	static struct dummy d;
	u8 b[8];

	bus_setup(8);
	dummy_init(&d, false);
	pci_bus_add(&bus, &d.dev);
	CHECK_EQ(ecam_read(0, 4), 0x00081b36);
	CHECK_EQ(ecam_read(1 << 15, 4), 0x56781234);
	CHECK_EQ(ecam_read((1 << 15) + 2, 2), 0x5678);
	CHECK_EQ(ecam_read((1 << 15) + 3, 1), 0x56);
	/* Misaligned, odd-sized: all ones. */
	CHECK_EQ(ecam_read((1 << 15) + 1, 2), 0xffff);
	CHECK_EQ(ecam_read((1 << 15) + 2, 4), 0xffffffff);
	CHECK_EQ(ecam_read((1 << 15), 3), 0xffffff);
	/* A qword is two dwords. */
	pci_ecam_io(&bus, 1 << 15, b, 8, false);
	CHECK_EQ(get_le(b, 4), 0x56781234);
	CHECK_EQ(get_le(b + 4, 4), cfg_read(1, 4, 4));
	/* Extended config space exists and is empty; other buses are absent. */
	CHECK_EQ(ecam_read((1 << 15) + 0x100, 4), 0);
	CHECK_EQ(ecam_read((1 << 15) + 0xffc, 4), 0);
	CHECK_EQ(ecam_read(1 << 20, 4), 0xffffffff);
	CHECK_EQ(ecam_read((1 << 15) + (3 << 12), 4), 0xffffffff);	/* function 3 */
	CHECK_EQ(ecam_read(~0ULL - 3, 4), 0xffffffff);
	memset(b, 0xff, sizeof(b));
	pci_ecam_io(&bus, (1 << 15) + 0x200, b, 4, true);	/* ignored */
	pci_ecam_io(&bus, ~0ULL - 3, b, 4, true);
	CHECK_EQ(ecam_read(1 << 15, 4), 0x56781234);
	bus_teardown();
}

static void test_bar_sizing_and_move(void)
{
	static struct dummy d;
	u32 bar2;

	bus_setup(8);
	dummy_init(&d, false);
	CHECK(pci_bar_init(&d.dev, 0, 0x1000, false, dummy_io, &d) == 0);
	CHECK(pci_bar_init(&d.dev, 2, 0x4000, true, dummy_io, &d) == 0);
	/* Bad BARs are refused. */
	CHECK(pci_bar_init(&d.dev, 1, 0x1000, false, dummy_io, &d) == 0);
	CHECK(pci_bar_init(&d.dev, 3, 0x1000, false, dummy_io, &d) == -1);	/* upper half of BAR2 */
	CHECK(pci_bar_init(&d.dev, 5, 0x1000, true, dummy_io, &d) == -1);
	CHECK(pci_bar_init(&d.dev, 4, 0x1800, false, dummy_io, &d) == -1);
	CHECK(pci_bar_init(&d.dev, 4, 8, false, dummy_io, &d) == -1);
	CHECK(pci_bar_init(&d.dev, 6, 0x1000, false, dummy_io, &d) == -1);
	CHECK(pci_bar_init(&d.dev, 0, 0x1000, false, dummy_io, &d) == -1);	/* twice */
	CHECK_EQ(pci_bus_add(&bus, &d.dev), 1);

	/* Pre-assigned, naturally aligned, decoding on, mapped. */
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_0, 4), WIN);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_1, 4), WIN + 0x1000);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_2, 4), (WIN + 0x4000) | 4);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_3, 4), 0);
	CHECK(cfg_read(1, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
	CHECK(iobus_find(&mmio, WIN, 4) == &d.dev.bars[0].range);
	CHECK(iobus_find(&mmio, WIN + 0x4000 + 0x3ffc, 4) == &d.dev.bars[2].range);
	CHECK_EQ(d.maps, 3);
	mmio_read(WIN + 0x10, 4);
	CHECK_EQ(d.last_off, 0x10);

	/* Sizing, with decoding off the way Linux does it. */
	cfg_write(1, PCI_COMMAND, 0, 2);
	CHECK(!iobus_find(&mmio, WIN, 4));
	CHECK_EQ(d.unmaps, 3);
	cfg_write(1, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	bar2 = cfg_read(1, PCI_BASE_ADDRESS_2, 4);
	cfg_write(1, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	cfg_write(1, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_2, 4), 0xffffc004);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	cfg_write(1, PCI_BASE_ADDRESS_2, bar2, 4);
	cfg_write(1, PCI_BASE_ADDRESS_3, 0, 4);
	/* Unimplemented BARs and the ROM BAR size to 0. */
	cfg_write(1, PCI_BASE_ADDRESS_4, 0xffffffff, 4);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_4, 4), 0);
	cfg_write(1, PCI_ROM_ADDRESS, 0xffffffff, 4);
	CHECK_EQ(cfg_read(1, PCI_ROM_ADDRESS, 4), 0);
	CHECK(!iobus_find(&mmio, 0xfffff000, 4));		/* decoding is off */

	/* Moved (an unaligned address is aligned down) and decoding on again. */
	cfg_write(1, PCI_BASE_ADDRESS_0, 0xc8000123, 4);
	CHECK_EQ(cfg_read(1, PCI_BASE_ADDRESS_0, 4), 0xc8000000);
	cfg_write(1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK(iobus_find(&mmio, 0xc8000000, 4) == &d.dev.bars[0].range);
	CHECK(!iobus_find(&mmio, WIN, 4));
	CHECK_EQ(d.map_addr, WIN + 0x4000);	/* BAR2 mapped last */
	mmio_write(0xc8000ffc, 1, 4);
	CHECK_EQ(d.last_off, 0xffc);
	/* Moving with decoding on unmaps the old place at once. */
	cfg_write(1, PCI_BASE_ADDRESS_0, 0xc9000000, 4);
	CHECK(!iobus_find(&mmio, 0xc8000000, 4));
	CHECK(iobus_find(&mmio, 0xc9000000, 4) == &d.dev.bars[0].range);
	/* A 64-bit BAR above 4 GiB. */
	cfg_write(1, PCI_BASE_ADDRESS_2, 4, 4);
	cfg_write(1, PCI_BASE_ADDRESS_3, 0x10, 4);
	CHECK(iobus_find(&mmio, 0x1000000000ULL, 4) == &d.dev.bars[2].range);
	CHECK_EQ(d.map_addr, 0x1000000000ULL);
	/* At the very top of the address space (no wrap). */
	cfg_write(1, PCI_BASE_ADDRESS_2, 0xffffc004, 4);
	cfg_write(1, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	CHECK(iobus_find(&mmio, 0xffffffffffffc000ULL, 4) == &d.dev.bars[2].range);
	/* Address 0 means unassigned. */
	cfg_write(1, PCI_BASE_ADDRESS_2, 4, 4);
	cfg_write(1, PCI_BASE_ADDRESS_3, 0, 4);
	CHECK(!iobus_find(&mmio, 0, 4));
	CHECK(!d.dev.bars[2].mapped);
	bus_teardown();
}

static void test_bar_conflicts(void)
{
	static struct dummy a, b;
	static struct io_range other = { .start = 0xd0000000, .len = 0x1000, .name = "other" };
	int i;

	bus_setup(8);
	dummy_init(&a, false);
	dummy_init(&b, false);
	pci_bar_init(&a.dev, 0, 0x1000, false, dummy_io, &a);
	pci_bar_init(&b.dev, 0, 0x1000, false, dummy_io, &b);
	CHECK_EQ(pci_bus_add(&bus, &a.dev), 1);
	CHECK_EQ(pci_bus_add(&bus, &b.dev), 2);
	CHECK_EQ(cfg_read(2, PCI_BASE_ADDRESS_0, 4), WIN + 0x1000);
	other.fn = dummy_io;
	CHECK(iobus_register(&mmio, &other) == 0);

	/* b's BAR onto a's: b is not mapped, a keeps working. */
	cfg_write(2, PCI_BASE_ADDRESS_0, WIN, 4);
	CHECK(!b.dev.bars[0].mapped);
	CHECK(iobus_find(&mmio, WIN, 4) == &a.dev.bars[0].range);
	/* Onto another range on the bus: same. */
	cfg_write(2, PCI_BASE_ADDRESS_0, 0xd0000000, 4);
	CHECK(!b.dev.bars[0].mapped);
	CHECK(iobus_find(&mmio, 0xd0000000, 4) == &other);
	/* Somewhere free again: mapped. */
	cfg_write(2, PCI_BASE_ADDRESS_0, 0xc1000000, 4);
	CHECK(b.dev.bars[0].mapped);
	CHECK(iobus_find(&mmio, 0xc1000000, 4) == &b.dev.bars[0].range);
	/* A storm of moves leaves exactly one mapping. */
	for (i = 0; i < 1000; i++)
		cfg_write(2, PCI_BASE_ADDRESS_0, (u32)(i * 0x9e3779b9u), 4);
	cfg_write(2, PCI_BASE_ADDRESS_0, 0xc2000000, 4);
	CHECK(iobus_find(&mmio, 0xc2000000, 4) == &b.dev.bars[0].range);
	CHECK_EQ(b.maps - b.unmaps, 1);
	iobus_unregister(&mmio, &other);

	/* The window fills up: a device that doesn't fit is refused. */
	{
		static struct dummy big;

		dummy_init(&big, false);
		pci_bar_init(&big.dev, 0, SZ_1G, false, dummy_io, &big);
		CHECK(pci_bus_add(&bus, &big.dev) < 0);
	}
	bus_teardown();
}

static void test_caps(void)
{
	static struct dummy d;
	u8 c1, c2, c3, p;
	unsigned int n = 0;

	bus_setup(8);
	dummy_init(&d, false);
	CHECK(!(d.dev.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST));
	c1 = pci_cap_add(&d.dev, PCI_CAP_ID_VNDR, 16);
	c2 = pci_cap_add(&d.dev, PCI_CAP_ID_MSIX, 12);
	c3 = pci_cap_add(&d.dev, PCI_CAP_ID_VNDR, 19);
	CHECK_EQ(c1, 0x40);
	CHECK_EQ(c2, 0x50);
	CHECK_EQ(c3, 0x5c);
	CHECK_EQ(pci_cap_add(&d.dev, PCI_CAP_ID_VNDR, 200), 0);	/* no room */
	CHECK_EQ(pci_cap_add(&d.dev, PCI_CAP_ID_VNDR, 1), 0);
	pci_bus_add(&bus, &d.dev);

	/* Walk it the way a guest does, through config space. */
	CHECK(cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (p = cfg_read(1, PCI_CAPABILITY_LIST, 1); p && n < 10; n++) {
		CHECK_EQ(p & 3, 0);
		CHECK_EQ(cfg_read(1, p, 1), n == 1 ? PCI_CAP_ID_MSIX : PCI_CAP_ID_VNDR);
		p = cfg_read(1, p + 1, 1);
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_VNDR, 0), c1);
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_VNDR, c1), c3);
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_VNDR, c3), 0);
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_MSIX, 0), c2);
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_MSI, 0), 0);
	/* The guest cannot rewrite the chain (a loop would hang a walker). */
	cfg_write(1, c3 + 1, c1, 1);
	cfg_write(1, PCI_CAPABILITY_LIST, 0x80, 1);
	CHECK_EQ(cfg_read(1, c3 + 1, 1), 0);
	CHECK_EQ(cfg_read(1, PCI_CAPABILITY_LIST, 1), c1);
	/* Even a looped chain (a device bug) ends the walk. */
	d.dev.cfg[c3 + 1] = c1;
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_MSI, 0), 0);
	bus_teardown();
}

static void test_intx(void)
{
	static struct dummy a, b, c;

	bus_setup(8);
	dummy_init(&a, true);
	dummy_init(&c, false);
	pci_bus_add(&bus, &a.dev);
	pci_bus_add(&bus, &c.dev);
	/* Slot 1, INTA: GSI 16 + (1 + 0) % 8, noted in the line register. */
	CHECK_EQ(a.dev.gsi, 17);
	CHECK_EQ(cfg_read(1, PCI_INTERRUPT_LINE, 1), 17);
	CHECK_EQ(cfg_read(1, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(c.dev.gsi, -1);
	pci_irq_set(&c.dev, true);		/* no pin: nothing happens */
	CHECK_EQ(line_changes, 0);

	pci_irq_set(&a.dev, true);
	CHECK_EQ(line[17], 1);
	CHECK(cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_irq_set(&a.dev, true);		/* level: no second edge */
	CHECK_EQ(line_changes, 1);
	/* INTX_DISABLE gates the line, not the Interrupt Status bit. */
	cfg_write(1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
	CHECK_EQ(line[17], 0);
	CHECK(cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK_EQ(line[17], 1);
	pci_irq_set(&a.dev, false);
	CHECK_EQ(line[17], 0);
	CHECK(!(cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
	bus_teardown();

	/* Two devices on one line: it stays up until both let go. */
	bus_setup(1);
	dummy_init(&a, true);
	dummy_init(&b, true);
	pci_bus_add(&bus, &a.dev);
	pci_bus_add(&bus, &b.dev);
	CHECK_EQ(a.dev.gsi, 16);
	CHECK_EQ(b.dev.gsi, 16);
	pci_irq_set(&a.dev, true);
	pci_irq_set(&b.dev, true);
	pci_irq_set(&a.dev, false);
	CHECK_EQ(line[16], 1);
	pci_irq_set(&a.dev, false);
	CHECK_EQ(line[16], 1);
	pci_irq_set(&b.dev, false);
	CHECK_EQ(line[16], 0);
	CHECK_EQ(line_changes, 2);
	bus_teardown();
}

/* MSI-X with recording ops. */
static int routes, fires[8];
static u64 route_addr;
static u32 route_data;

static void rec_route(void *ctx __unused, unsigned int v __unused, u64 addr, u32 data)
{
	routes++;
	route_addr = addr;
	route_data = data;
}

static void rec_fire(void *ctx __unused, unsigned int v)
{
	fires[v]++;
}

static const struct pci_msix_ops rec_ops = { .route = rec_route, .fire = rec_fire };

static void msix_ctrl(struct pci_msix *m, u16 flags)
{
	cfg_write(1, m->cap + PCI_MSIX_FLAGS, flags, 2);
}

static void table_write(struct pci_msix *m, u32 off, u32 v)
{
	u8 d[4];

	put_le(d, v, 4);
	pci_msix_table_io(m, off, d, 4, true);
}

static u64 pba(struct pci_msix *m)
{
	u8 d[8];

	pci_msix_pba_io(m, 0, d, 8, false);
	return get_le(d, 4) | (u64)get_le(d + 4, 4) << 32;
}

static void test_msix(void)
{
	static struct dummy d;
	static struct pci_msix m;
	u8 buf[16];
	u32 flags;

	bus_setup(8);
	memset(fires, 0, sizeof(fires));
	routes = 0;
	dummy_init(&d, true);
	pci_bar_init(&d.dev, 0, 0x2000, false, dummy_io, &d);
	CHECK(pci_msix_init(&m, &d.dev, 3, 0, 0x1000, 0x1800, &rec_ops, NULL) == 0);
	CHECK(pci_msix_init(&m, &d.dev, 0, 0, 0x1000, 0x1800, &rec_ops, NULL) == -1);
	CHECK(pci_msix_init(&m, &d.dev, 3, 0, 0x1004, 0x1800, &rec_ops, NULL) == -1);
	d.msix = &m;
	pci_bus_add(&bus, &d.dev);

	/* The capability as a guest reads it. */
	CHECK_EQ(pci_cap_find(&d.dev, PCI_CAP_ID_MSIX, 0), m.cap);
	flags = cfg_read(1, m.cap + PCI_MSIX_FLAGS, 2);
	CHECK_EQ(flags, 2);					/* table size - 1 */
	CHECK_EQ(cfg_read(1, m.cap + PCI_MSIX_TABLE, 4), 0x1000);
	CHECK_EQ(cfg_read(1, m.cap + PCI_MSIX_PBA, 4), 0x1800);
	cfg_write(1, m.cap + PCI_MSIX_FLAGS, 0x3fff, 2);	/* size is read-only */
	CHECK_EQ(cfg_read(1, m.cap + PCI_MSIX_FLAGS, 2), 2);

	/* Off: the owner uses INTx. Every vector starts masked. */
	CHECK_EQ(pci_msix_notify(&m, 0), PCI_MSIX_DISABLED);
	pci_msix_table_io(&m, 12, buf, 4, false);
	CHECK_EQ(get_le(buf, 4), 1);

	/* Enabled but masked: pending in the PBA, delivered on unmask. */
	msix_ctrl(&m, PCI_MSIX_FLAGS_ENABLE);
	CHECK(m.enabled);
	CHECK_EQ(pci_msix_notify(&m, 1), PCI_MSIX_PENDING);
	CHECK_EQ(pba(&m), 2);
	CHECK_EQ(fires[1], 0);
	table_write(&m, 16 + 0, 0xfee00000);
	table_write(&m, 16 + 4, 0);
	table_write(&m, 16 + 8, 0x4041);
	CHECK_EQ(routes, 0);					/* still masked */
	table_write(&m, 16 + 12, 0);
	CHECK_EQ(routes, 1);
	CHECK_EQ(route_addr, 0xfee00000);
	CHECK_EQ(route_data, 0x4041);
	CHECK_EQ(fires[1], 1);
	CHECK_EQ(pba(&m), 0);
	CHECK_EQ(pci_msix_notify(&m, 1), PCI_MSIX_SENT);
	CHECK_EQ(fires[1], 2);

	/* Function mask holds every vector. */
	msix_ctrl(&m, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	CHECK_EQ(pci_msix_notify(&m, 1), PCI_MSIX_PENDING);
	CHECK_EQ(pci_msix_notify(&m, 1), PCI_MSIX_PENDING);	/* one bit, one message */
	msix_ctrl(&m, PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(fires[1], 3);
	/* A message change while live re-routes. */
	table_write(&m, 16 + 8, 0x4042);
	CHECK_EQ(route_data, 0x4042);

	/* Reserved vector control bits stay 0; hostile offsets and lengths. */
	table_write(&m, 12, 0xfffffffe);
	pci_msix_table_io(&m, 12, buf, 4, false);
	CHECK_EQ(get_le(buf, 4), 0);
	table_write(&m, 12, 1);
	memset(buf, 0xab, sizeof(buf));
	pci_msix_table_io(&m, 48, buf, 4, true);		/* past the table */
	pci_msix_table_io(&m, 44, buf, 8, true);		/* straddles the end */
	pci_msix_table_io(&m, 44, buf, 8, false);
	CHECK_EQ(buf[0], 0);
	pci_msix_table_io(&m, ~0ULL, buf, 4, true);
	pci_msix_table_io(&m, 0, buf, 0, true);
	pci_msix_table_io(&m, 32 + 12, buf, 4, false);
	CHECK_EQ(get_le(buf, 4), 1);			/* vector 2 still masked */
	CHECK_EQ(pci_msix_notify(&m, 3), PCI_MSIX_DROPPED);
	CHECK_EQ(pci_msix_notify(&m, 0xffff), PCI_MSIX_DROPPED);
	/* The PBA is read-only and bounded. */
	CHECK_EQ(pci_msix_notify(&m, 2), PCI_MSIX_PENDING);
	memset(buf, 0, sizeof(buf));
	pci_msix_pba_io(&m, 0, buf, 8, true);
	CHECK_EQ(pba(&m), 4);
	pci_msix_pba_io(&m, 4, buf, 8, false);
	CHECK_EQ(buf[0], 0);
	pci_msix_clear_pending(&m);
	CHECK_EQ(pba(&m), 0);

	/* Disabled again: INTx. */
	msix_ctrl(&m, 0);
	CHECK_EQ(pci_msix_notify(&m, 1), PCI_MSIX_DISABLED);
	pci_msix_exit(&m);
	bus_teardown();
}

/*
 * virtio-pci on the real virtio core. The stubs stand in for KVM (irq.c,
 * ioeventfd.c) and for the platform's bus.
 */
static struct ioevent *events[8];
static int nr_route_allocs, irqfds, signalled_msis;
static int irqfd_fd[8];

int ioeventfd_add(struct kvm *k __unused, struct ioevent *ev)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(events); i++) {
		if (!events[i]) {
			events[i] = ev;
			return 0;
		}
	}
	return -1;
}

void ioeventfd_del(struct kvm *k __unused, struct ioevent *ev)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(events); i++)
		if (events[i] == ev)
			events[i] = NULL;
}

int irq_msi_route_alloc(struct kvm *k __unused, u64 addr __unused, u32 data __unused,
			u32 id __unused)
{
	return 100 + nr_route_allocs++;
}

int irq_msi_route_update(struct kvm *k __unused, int gsi __unused, u64 addr __unused,
			 u32 data __unused, u32 id __unused)
{
	return 0;
}

int irq_irqfd_add(struct kvm *k __unused, int gsi, int fd)
{
	if (gsi >= 100 && gsi < 108)
		irqfd_fd[gsi - 100] = fd;
	irqfds++;
	return 0;
}

int irq_irqfd_del(struct kvm *k __unused, int gsi __unused, int fd __unused)
{
	return 0;
}

int irq_signal_msi(struct kvm *k __unused, u64 addr __unused, u32 data __unused,
		   u32 id __unused)
{
	signalled_msis++;
	return 0;
}

struct pci_bus *pci_root_bus(struct kvm *k __unused)
{
	return &bus;
}

static void vt_notify(struct virtio_device *vdev __unused, struct virt_queue *vq __unused)
{
}

static const struct virtio_device_ops vt_ops = {
	.name = "test",
	.device_id = 4,		/* entropy: unclassified */
	.notify = vt_notify,
};

static u64 bar0;

static u64 common_rd(u32 off, u32 len)
{
	return mmio_read(bar0 + off, len);
}

static void common_wr(u32 off, u64 v, u32 len)
{
	mmio_write(bar0 + off, v, len);
}

static u64 eventfd_count(int fd)
{
	eventfd_t v = 0;

	if (fd <= 0 || eventfd_read(fd, &v))
		return 0;
	return v;
}

/* Find the virtio vendor capability of @type; 0 if absent. */
static u8 vcap(struct pci_device *dev, u8 type)
{
	u8 c = 0;

	while ((c = pci_cap_find(dev, PCI_CAP_ID_VNDR, c)))
		if (cfg_read(1, c + 3, 1) == type)
			return c;
	return 0;
}

static void test_virtio_pci(void)
{
	static const struct { u32 off, len; } wrong_width[] = {
		{ VIRTIO_PCI_COMMON_Q_SELECT, 4 }, { VIRTIO_PCI_COMMON_Q_SELECT, 1 },
		{ VIRTIO_PCI_COMMON_DFSELECT, 2 }, { VIRTIO_PCI_COMMON_DFSELECT, 8 },
	};
	static struct kvm kvm;
	static struct virtio_device vdev;
	static u8 config[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static u8 ram[SZ_1M];
	struct pci_device *dev;
	u8 c, msix;
	u64 isr_addr;
	unsigned int i;

	bus_setup(8);
	memset(events, 0, sizeof(events));
	guest_mem_add_bank(&kvm.mem, 0, sizeof(ram), ram);
	kvm.cfg.virtio_transport = "pci";
	vdev.ops = &vt_ops;
	vdev.nr_queues = 2;
	vdev.config = config;
	vdev.config_len = sizeof(config);
	CHECK(virtio_device_register(&kvm, &vdev) == 0);
	dev = bus.devs[1];
	CHECK(dev != NULL);
	if (!dev)
		return;

	/* Identity: modern device ID, revision 1, class by type. */
	CHECK_EQ(cfg_read(1, PCI_VENDOR_ID, 4), 0x10441af4);
	CHECK_EQ(cfg_read(1, PCI_CLASS_REVISION, 4), 0x00ff0001);
	CHECK_EQ(cfg_read(1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00041af4);
	bar0 = cfg_read(1, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	CHECK_EQ(bar0, WIN);

	/* Capabilities point into BAR0. */
	c = vcap(dev, VIRTIO_PCI_CAP_COMMON_CFG);
	CHECK(c && cfg_read(1, c + 4, 1) == 0 && cfg_read(1, c + 8, 4) == 0 &&
	      cfg_read(1, c + 12, 4) == 0x38);
	c = vcap(dev, VIRTIO_PCI_CAP_NOTIFY_CFG);
	CHECK(c && cfg_read(1, c + 8, 4) == 0x3000 && cfg_read(1, c + 12, 4) == 8 &&
	      cfg_read(1, c + 16, 4) == 4);
	c = vcap(dev, VIRTIO_PCI_CAP_ISR_CFG);
	CHECK(c && cfg_read(1, c + 8, 4) == 0x1000);
	isr_addr = bar0 + 0x1000;
	c = vcap(dev, VIRTIO_PCI_CAP_DEVICE_CFG);
	CHECK(c && cfg_read(1, c + 8, 4) == 0x2000 && cfg_read(1, c + 12, 4) == 8);
	CHECK(vcap(dev, VIRTIO_PCI_CAP_PCI_CFG) != 0);
	msix = pci_cap_find(dev, PCI_CAP_ID_MSIX, 0);
	CHECK(msix && cfg_read(1, msix + 2, 2) == 2);		/* 3 vectors */

	/* One notify ioeventfd per queue, at its own address. */
	CHECK(events[0] && events[1]);
	if (events[0] && events[1]) {
		CHECK_EQ(events[0]->addr, bar0 + 0x3000);
		CHECK_EQ(events[1]->addr, bar0 + 0x3004);
		CHECK_EQ(events[0]->fd, vdev.vqs[0].kick_fd);
	}

	/* Common config. */
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	CHECK(common_rd(VIRTIO_PCI_COMMON_DF, 4) & 1);		/* VERSION_1 */
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 7, 4);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_DEFAULT_SIZE);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), NO_VEC);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 4096, 2);		/* above the maximum */
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_DEFAULT_SIZE);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x11223344, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 0x55, 4);
	CHECK_EQ(vdev.vqs[0].desc_gpa, 0x5511223344ULL);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 0x123456789aULL, 8);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_AVAILLO, 8), 0x123456789aULL);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO + 2, 0xffff, 2);	/* not a field */
	CHECK_EQ(vdev.vqs[0].used_gpa, 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	/* Selectors written with another width than their own: dropped. */
	for (i = 0; i < ARRAY_SIZE(wrong_width); i++)
		common_wr(wrong_width[i].off, 0, wrong_width[i].len);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 7);
	/* Read-only fields ignore writes; odd widths read consistently. */
	common_wr(VIRTIO_PCI_COMMON_NUMQ, 9, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ - 2, 4) >> 16, 2);
	CHECK_EQ(common_rd(0x36, 4), 0);			/* straddles the end */
	CHECK_EQ(common_rd(0x800, 4), 0);

	/* queue_select beyond num_queues: size 0, every write ignored. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 5, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), NO_VEC);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0xffff, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	mmio_write(bar0 + 0x3000 + 4 * 1000, 0, 2);		/* notify no queue */
	mmio_write(bar0 + 0x3ffe, 0, 2);

	/* Vectors out of the table read back as NO_VECTOR. */
	common_wr(VIRTIO_PCI_COMMON_MSIX, 3, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), NO_VEC);
	common_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);

	/* Device config, bounded by the core. */
	CHECK_EQ(mmio_read(bar0 + 0x2000, 4), 0x04030201);
	CHECK_EQ(mmio_read(bar0 + 0x2006, 4), 0);
	CHECK_EQ(mmio_read(bar0 + 0x2ffc, 4), 0);

	/* The PCI_CFG window reads through config space into the BAR. */
	c = vcap(dev, VIRTIO_PCI_CAP_PCI_CFG);
	cfg_write(1, c + 4, 0, 1);
	cfg_write(1, c + 8, VIRTIO_PCI_COMMON_NUMQ, 4);
	cfg_write(1, c + 12, 2, 4);
	CHECK_EQ(cfg_read(1, c + 16, 2), 2);
	cfg_write(1, c + 8, 0x7fff, 4);				/* misaligned */
	CHECK_EQ(cfg_read(1, c + 16, 4), 0);
	cfg_write(1, c + 8, 0x10000, 4);			/* outside */
	cfg_write(1, c + 12, 0x1000000, 4);
	CHECK_EQ(cfg_read(1, c + 16, 4), 0);

	/* INTx: ISR bit, line up; reading the ISR clears both. */
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(line[17], 1);
	CHECK_EQ(mmio_read(isr_addr, 1), 1);
	CHECK_EQ(line[17], 0);
	CHECK_EQ(mmio_read(isr_addr, 1), 0);
	vdev.tops->signal_config(&vdev);
	CHECK_EQ(mmio_read(isr_addr, 4), 2);

	/* MSI-X: queue 0 on vector 1, programmed and unmasked. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	cfg_write(1, msix + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	mmio_write(bar0 + 0x4000 + 16, 0xfee00000, 4);
	mmio_write(bar0 + 0x4000 + 24, 0x41, 4);
	mmio_write(bar0 + 0x4000 + 28, 0, 4);
	CHECK_EQ(nr_route_allocs, 1);
	CHECK_EQ(irqfds, 1);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(eventfd_count(irqfd_fd[0]), 1);
	CHECK_EQ(line[17], 0);					/* no INTx with MSI-X */
	/* Masked: pending in the PBA, sent on unmask through the same irqfd. */
	mmio_write(bar0 + 0x4000 + 28, 1, 4);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(eventfd_count(irqfd_fd[0]), 0);
	CHECK_EQ(mmio_read(bar0 + 0x5000, 8), 2);
	mmio_write(bar0 + 0x4000 + 28, 0, 4);
	CHECK_EQ(eventfd_count(irqfd_fd[0]), 1);
	CHECK_EQ(mmio_read(bar0 + 0x5000, 8), 0);
	CHECK_EQ(nr_route_allocs, 1);				/* route reused */
	/* Config vector 0 is masked: held. NO_VECTOR: nothing at all. */
	vdev.tops->signal_config(&vdev);
	CHECK_EQ(mmio_read(bar0 + 0x5000, 8), 1);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, NO_VEC, 2);
	vdev.tops->signal_vq(&vdev, &vdev.vqs[0]);
	CHECK_EQ(eventfd_count(irqfd_fd[0]), 0);
	CHECK_EQ(signalled_msis, 0);

	/* The guest moves the BAR: the ioeventfds follow it. */
	cfg_write(1, PCI_COMMAND, 0, 2);
	CHECK(!events[0] && !events[1]);
	cfg_write(1, PCI_BASE_ADDRESS_0, 0xc4000000, 4);
	cfg_write(1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	bar0 = 0xc4000000;
	CHECK(events[0] && events[1]);
	for (i = 0; i < 2; i++)
		if (events[i])
			CHECK_EQ(events[i]->addr & 0xfffff000, 0xc4003000);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);

	/* Reset: status 0, vectors back to NO_VECTOR, queue size to the maximum. */
	common_wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	common_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), NO_VEC);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_DEFAULT_SIZE);
	CHECK_EQ(mmio_read(bar0 + 0x5000, 8), 0);

	/* A full queue bring-up through the BAR, validated by the core. */
	common_wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		  VIRTIO_CONFIG_S_DRIVER, 1);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, 1, 4);
	common_wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		  VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	CHECK(common_rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_GF, 4), 1);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x10000, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 0x11000, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 0x12000, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	/* Enabled: the queue's fields are frozen. */
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 32, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x20000, 4);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 16);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x10000);
	/* A ring outside RAM is refused by the core: NEEDS_RESET. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0xfff00000, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK(common_rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	common_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);

	/* Detach: the slot is free, the BAR and its ioeventfds are gone. */
	virtio_device_unregister(&vdev);
	CHECK(!bus.devs[1]);
	CHECK(!iobus_find(&mmio, bar0, 4));
	CHECK(!events[0] && !events[1]);
	CHECK_EQ(cfg_read(1, PCI_VENDOR_ID, 4), 0xffffffff);
	bus_teardown();
}

/*
 * A randomized hostile driver against virtio-pci: accesses of every width
 * at every offset of BAR0, config space writes through both mechanisms
 * (BAR moves, decoding on and off, MSI-X enable and mask, the PCI_CFG
 * window), scribbled rings, kicks and resets, on a device whose worker
 * walks every chain. Nothing may touch memory outside guest RAM (ASan),
 * and a reset must always give back a working device.
 */
#define FZ_NQ		3
#define FZ_RAM		SZ_1M

static const struct virtio_device_ops fz_ops = {
	.name = "fuzz",
	.device_id = 4,
	.notify = fz_consume,
};

static u8 *fz_ram;

static u64 fz_ring(unsigned int q)
{
	return 0x10000 + q * 0x4000;
}

static bool fz_driver_up(struct virtio_device *vdev, u64 feat, u32 qsize)
{
	u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned int q;

	cfg_write(1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cfg_write(1, PCI_BASE_ADDRESS_0, WIN, 4);
	bar0 = WIN;
	common_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	common_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, (u32)feat, 4);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, (u32)(feat >> 32), 4);
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	common_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
	if (!(common_rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	for (q = 0; q < FZ_NQ; q++) {
		u64 d = fz_ring(q);

		memset(fz_ram + d, 0, 0x4000);
		common_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_SIZE, qsize, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, d, 8);
		common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, d + 0x1000, 4);
		common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
		common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, d + 0x2000, 8);
		common_wr(VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
		if (common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2) != 1)
			return false;
	}
	common_wr(VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	return (virtio_get_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(virtio_get_status(vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* An offset in BAR0: mostly near the start of a register block. */
static u64 fz_bar_offset(void)
{
	if (!fz_below(8))
		return fz_below(0x8000 + 16) - 8;
	return fz_below(6) * 0x1000 + fz_below(0x60);
}

/* A config space register: mostly the header and the capabilities. */
static u32 fz_cfg_offset(struct pci_device *dev)
{
	static const u8 hot[] = { PCI_COMMAND, PCI_COMMAND + 1, PCI_BASE_ADDRESS_0,
				  PCI_BASE_ADDRESS_1, PCI_INTERRUPT_LINE };

	switch (fz_below(4)) {
	case 0:
		return hot[fz_below(ARRAY_SIZE(hot))];
	case 1:		/* the MSI-X capability */
		return pci_cap_find(dev, PCI_CAP_ID_MSIX, 0) + fz_below(12);
	case 2:		/* the PCI_CFG window and its neighbours */
		return vcap(dev, VIRTIO_PCI_CAP_PCI_CFG) + fz_below(20);
	default:
		return fz_below(256);
	}
}

static void fz_cfg_access(struct pci_device *dev, bool write)
{
	u32 off = fz_cfg_offset(dev), len = 1U << fz_below(3);
	u8 d[8];

	put_le(d, fz_value(FZ_RAM, FZ_NQ), 8);
	if (fz_below(2)) {
		/* Mechanism #1 only takes accesses within one dword. */
		off &= ~(len - 1);
		if (write)
			cfg_write(1, off, get_le(d, len), len);
		else
			cfg_read(1, off, len);
	} else {
		/* ECAM: any offset of the 4 KiB, 8 bytes too. */
		if (!fz_below(8))
			off = fz_below(0x1000), len = fz_len();
		pci_ecam_io(&bus, (1 << 15) + off, d, len, write);
	}
}

static void test_virtio_pci_fuzz(void)
{
	static struct kvm kvm;
	static struct virtio_device vdev;
	static u8 config[12];
	const u64 feat = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			 (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	struct pci_device *dev;
	u32 qsize = 16;
	int quiet, ups = 0;
	unsigned int i;
	u8 d[8];

	bus_setup(8);
	memset(events, 0, sizeof(events));
	fz_ram = calloc(1, FZ_RAM);
	guest_mem_add_bank(&kvm.mem, 0, FZ_RAM, fz_ram);
	kvm.cfg.virtio_transport = "pci";
	vdev.ops = &fz_ops;
	vdev.nr_queues = FZ_NQ;
	vdev.config = config;
	vdev.config_len = sizeof(config);
	vdev.queue_max_size = 64;
	CHECK(virtio_device_register(&kvm, &vdev) == 0);
	dev = bus.devs[1];
	CHECK(dev != NULL);
	if (!dev)
		return;

	quiet = fz_quiet();
	for (i = 0; i < 200000; i++) {
		/* Mostly a running device, so that the rings get used. */
		if (!(i % 4096) || (!fz_below(64) &&
				    (virtio_get_status(&vdev) & VIRTIO_CONFIG_S_NEEDS_RESET))) {
			qsize = 1 << fz_below(7);
			ups += fz_driver_up(&vdev, fz_below(4) ? feat : fz_rnd(), qsize);
		}
		switch (fz_below(20)) {
		case 0 ... 6:
			put_le(d, fz_value(FZ_RAM, FZ_NQ), 8);
			mmio_write(bar0 + fz_bar_offset(), get_le(d, 8), fz_len());
			break;
		case 7 ... 9:
			mmio_read(bar0 + fz_bar_offset(), fz_len());
			break;
		case 10:
			fz_cfg_access(dev, true);
			bar0 = cfg_read(1, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
			break;
		case 11:
			fz_cfg_access(dev, false);
			break;
		case 12 ... 15:
			fz_scribble_ring(fz_ram + fz_ring(fz_below(FZ_NQ)), qsize,
					 0x40000, FZ_RAM);
			break;
		case 16 ... 17:
			fz_kick(&vdev, FZ_NQ);
			break;
		case 18:	/* the device raises interrupts whatever the state */
			vdev.tops->signal_vq(&vdev, &vdev.vqs[fz_below(FZ_NQ)]);
			if (!fz_below(4))
				vdev.tops->signal_config(&vdev);
			break;
		default:
			if (!fz_below(1024))
				common_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
			break;
		}
	}
	fz_loud(quiet);
	printf("# pci fuzz: %d bring-ups, %d chains used\n", ups, fz_chains);

	/* Whatever state that left: a reset must bring back a working device. */
	CHECK(fz_driver_up(&vdev, feat & ~(1ULL << VIRTIO_RING_F_EVENT_IDX), 16));
	fz_ram[fz_ring(0) + 0x1000 + 4] = 2;			/* avail ring[0] = desc 2 */
	((struct vring_desc *)(fz_ram + fz_ring(0)))[2] = (struct vring_desc){
		htole64(0x90000), htole32(8), htole16(VRING_DESC_F_WRITE), 0 };
	__atomic_store_n(&((struct vring_avail *)(fz_ram + fz_ring(0) + 0x1000))->idx,
			 htole16(1), __ATOMIC_RELEASE);
	virtio_queue_kick(&vdev, 0);
	for (i = 0; i < 3000 && !fz_ram[fz_ring(0) + 0x2000 + 2]; i++)
		usleep(1000);
	CHECK_EQ(fz_ram[fz_ring(0) + 0x2000 + 2], 1);		/* used idx */
	CHECK_EQ(fz_ram[0x90000], 0xa5);

	virtio_device_unregister(&vdev);
	CHECK(!bus.devs[1]);
	for (i = 0; i < ARRAY_SIZE(events); i++)
		CHECK(!events[i]);
	bus_teardown();
	free(fz_ram);
}

TEST_MAIN_BEGIN("pci")
	RUN(test_conf1_decode);
	RUN(test_ecam_decode);
	RUN(test_bar_sizing_and_move);
	RUN(test_bar_conflicts);
	RUN(test_caps);
	RUN(test_intx);
	RUN(test_msix);
	RUN(test_virtio_pci);
	RUN(test_virtio_pci_fuzz);
TEST_MAIN_END()
