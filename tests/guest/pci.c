// SPDX-License-Identifier: GPL-2.0
/*
 * PCI bus 0 through configuration mechanism #1 (address at 0xcf8, data at
 * 0xcfc-0xcff), the BARs and the capability list.  Everything read back is
 * treated as untrusted: loops are bounded and offsets are masked.
 */
#include "vpci.h"

#define CONF1_ADDR	0xcf8
#define CONF1_DATA	0xcfc
#define CAP_WALK_MAX	48

static void conf1_select(u32 bdf, u32 off)
{
	outl(CONF1_ADDR, 0x80000000u | bdf << 8 | (off & 0xfc));
}

/* @len is 1, 2 or 4; the access must not cross a dword. */
u32 pci_read(u32 bdf, u32 off, u32 len)
{
	u16 port = (u16)(CONF1_DATA + (off & 3));

	conf1_select(bdf, off);
	switch (len) {
	case 1:
		return inb(port);
	case 2:
		return inw(port);
	default:
		return inl(CONF1_DATA);
	}
}

void pci_write(u32 bdf, u32 off, u32 v, u32 len)
{
	u16 port = (u16)(CONF1_DATA + (off & 3));

	conf1_select(bdf, off);
	switch (len) {
	case 1:
		outb(port, (u8)v);
		break;
	case 2:
		outw(port, (u16)v);
		break;
	default:
		outl(CONF1_DATA, v);
		break;
	}
}

bool pci_find(u16 vendor, u16 device, struct pci_dev *pd)
{
	u32 dev, fn;

	for (dev = 0; dev < 32; dev++) {
		u32 nfn = 1;

		for (fn = 0; fn < nfn; fn++) {
			u32 bdf = PCI_BDF(0, dev, fn);
			u32 id = pci_read(bdf, PCI_VENDOR_ID, 4);

			if ((id & 0xffff) == 0xffff)
				continue;
			if (fn == 0 && (pci_read(bdf, PCI_HEADER_TYPE, 1) & 0x80))
				nfn = 8;
			if ((id & 0xffff) != vendor || id >> 16 != device)
				continue;
			memset(pd, 0, sizeof(*pd));
			pd->bdf = bdf;
			pd->vendor = vendor;
			pd->device = device;
			pci_read_bars(pd);
			return true;
		}
	}
	return false;
}

void pci_read_bars(struct pci_dev *pd)
{
	unsigned int i;

	for (i = 0; i < 6; i++) {
		u32 lo = pci_read(pd->bdf, PCI_BAR0 + 4 * i, 4);

		pd->bar[i] = 0;
		pd->bar_is64[i] = false;
		pd->bar_isio[i] = lo & 1;
		if (lo & 1)
			continue;
		pd->bar[i] = lo & ~0xfULL;
		if (((lo >> 1) & 3) == 2 && i < 5) {
			pd->bar_is64[i] = true;
			pd->bar[i] |= (u64)pci_read(pd->bdf, PCI_BAR0 + 4 * (i + 1),
						    4) << 32;
			i++;
			pd->bar[i] = 0;
			pd->bar_is64[i] = false;
			pd->bar_isio[i] = false;
		}
	}
}

/* Size memory BAR @n with memory decoding off; 0 if not implemented. */
static u64 pci_bar_size(struct pci_dev *pd, unsigned int n)
{
	u32 off = PCI_BAR0 + 4 * n;
	u16 cmd = (u16)pci_read(pd->bdf, PCI_COMMAND, 2);
	u32 lo, hi = 0, mlo, mhi = 0xffffffffu;
	u64 mask;

	pci_write(pd->bdf, PCI_COMMAND, cmd & ~PCI_CMD_MEM, 2);
	lo = pci_read(pd->bdf, off, 4);
	pci_write(pd->bdf, off, 0xffffffffu, 4);
	mlo = pci_read(pd->bdf, off, 4);
	pci_write(pd->bdf, off, lo, 4);
	if (pd->bar_is64[n]) {
		hi = pci_read(pd->bdf, off + 4, 4);
		pci_write(pd->bdf, off + 4, 0xffffffffu, 4);
		mhi = pci_read(pd->bdf, off + 4, 4);
		pci_write(pd->bdf, off + 4, hi, 4);
	}
	pci_write(pd->bdf, PCI_COMMAND, cmd, 2);

	mask = (u64)mhi << 32 | (mlo & ~0xfu);
	if (!pd->bar_is64[n])
		mask |= 0xffffffff00000000ULL;
	pd->bar_size[n] = mask ? ~mask + 1 : 0;
	return pd->bar_size[n];
}

u64 pci_alloc_from = PCI_WIN_START;

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Is [addr, addr + size) free of RAM, the ECAM window and every memory BAR
 * on bus 0 (sized on the way, which costs a few exits, but this only runs
 * when the VMM left a BAR unassigned)?
 */
static bool window_free(u64 addr, u64 size, const struct pci_dev *self,
			const struct acpi_info *ai)
{
	u32 dev, i;

	if (addr < ram_end_below_4g() || in_ram(addr, 1) ||
	    in_ram(addr + size - 1, 1))
		return false;
	if (ai->mcfg_base &&
	    overlaps(addr, size, ai->mcfg_base,
		     (u64)(ai->mcfg_bus_end - ai->mcfg_bus_start + 1) << 20))
		return false;
	for (dev = 0; dev < 32; dev++) {
		struct pci_dev other;
		u32 id = pci_read(PCI_BDF(0, dev, 0), PCI_VENDOR_ID, 4);

		if ((id & 0xffff) == 0xffff)
			continue;
		memset(&other, 0, sizeof(other));
		other.bdf = PCI_BDF(0, dev, 0);
		pci_read_bars(&other);
		for (i = 0; i < 6; i++) {
			u64 base = other.bar[i];

			if (other.bdf == self->bdf)
				base = self->bar[i];
			if (other.bar_isio[i] || !base)
				continue;
			if (!other.bar_size[i] && pci_bar_size(&other, i) == 0)
				continue;
			if (overlaps(addr, size, base, other.bar_size[i]))
				return false;
		}
	}
	return true;
}

u64 pci_bar_ensure(struct pci_dev *pd, unsigned int n,
		   const struct acpi_info *ai)
{
	u64 size, addr;
	u32 off = PCI_BAR0 + 4 * n;
	u16 cmd;

	if (n >= 6 || pd->bar_isio[n])
		return 0;
	size = pd->bar_size[n] ? pd->bar_size[n] : pci_bar_size(pd, n);
	if (!size || size > PCI_WIN_END - PCI_WIN_START)
		return 0;
	if (pd->bar[n] && phys_ok(pd->bar[n], size))
		goto enable;

	addr = (pci_alloc_from + size - 1) & ~(size - 1);
	for (; addr + size <= PCI_WIN_END; addr += size)
		if (window_free(addr, size, pd, ai))
			break;
	if (addr + size > PCI_WIN_END)
		return 0;
	say("vpci bar%u unassigned (0x%lx), placed at 0x%lx size=0x%lx", n,
	    pd->bar[n], addr, size);
	cmd = (u16)pci_read(pd->bdf, PCI_COMMAND, 2);
	pci_write(pd->bdf, PCI_COMMAND, cmd & ~PCI_CMD_MEM, 2);
	pci_write(pd->bdf, off, (u32)addr, 4);
	if (pd->bar_is64[n])
		pci_write(pd->bdf, off + 4, 0, 4);
	pci_read_bars(pd);
	if (pd->bar[n] != addr) {
		say("vpci bar%u reads 0x%lx after writing 0x%lx", n, pd->bar[n],
		    addr);
		return 0;
	}
enable:
	cmd = (u16)pci_read(pd->bdf, PCI_COMMAND, 2);
	if ((cmd & (PCI_CMD_MEM | PCI_CMD_MASTER)) !=
	    (PCI_CMD_MEM | PCI_CMD_MASTER))
		pci_write(pd->bdf, PCI_COMMAND, cmd | PCI_CMD_MEM | PCI_CMD_MASTER,
			  2);
	return pd->bar[n];
}

u8 pci_cap_next(u32 bdf, u8 id, u8 from)
{
	u8 off;
	u32 n;

	if (!from) {
		if (!(pci_read(bdf, PCI_STATUS, 2) & PCI_STATUS_CAPS))
			return 0;
		off = (u8)pci_read(bdf, PCI_CAP_PTR, 1) & 0xfc;
	} else {
		off = (u8)pci_read(bdf, from + 1, 1) & 0xfc;
	}
	for (n = 0; off >= 0x40 && n < CAP_WALK_MAX; n++) {
		if (pci_read(bdf, off, 1) == id)
			return off;
		off = (u8)pci_read(bdf, off + 1, 1) & 0xfc;
	}
	return 0;
}
