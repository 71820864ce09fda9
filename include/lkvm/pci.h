/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PCI_H
#define LKVM_PCI_H

#include <linux/pci_regs.h>
#include <pthread.h>

#include "lkvm/iobus.h"
#include "lkvm/util.h"

/*
 * A conventional PCI bus 0 (hw/pci.c): a host bridge at 00:00.0 and up to
 * 31 single-function devices, reached through configuration mechanism #1
 * (ports 0xcf8/0xcfc on x86) and an ECAM window. The bus model only knows
 * an MMIO iobus to map BARs on and a callback to drive wired interrupts,
 * so it runs without a VM (tests/unit/test-pci.c); the platform glue
 * (x86/pci-acpi.c) connects it to KVM and describes it to the guest.
 *
 * Every value a guest writes (config offsets, lengths, BAR addresses, the
 * config address register) is untrusted and checked here.
 */

#define PCI_MAX_SLOTS		32
#define PCI_NR_BARS		6
#define PCI_CFG_SIZE		256	/* conventional config space */
#define PCI_ECAM_FN_SIZE	4096	/* config space of one function in ECAM */
#define PCI_ECAM_BUS_SIZE	SZ_1M	/* 32 devices x 8 functions x 4 KiB */
#define PCI_CONF1_PORT		0xcf8	/* config address; data at 0xcfc */
#define PCI_CONF1_LEN		8
#define PCI_CONF1_ENABLE	0x80000000U
#define PCI_INTX_PINS		4	/* INTA..INTD */

struct pci_bus;
struct pci_device;

/* A 32-bit or 64-bit memory BAR. */
struct pci_bar {
	u64 size;		/* power of two >= 16; 0: not implemented */
	bool is_64;		/* takes this BAR and the next one */
	io_fn_t fn;		/* handler; offsets are from the BAR's base */
	void *ctx;
	/* private to hw/pci.c */
	struct io_range range;
	bool mapped;		/* range is on the bus at range.start */
	char name[24];
};

struct pci_device {
	const char *name;
	u8 cfg[PCI_CFG_SIZE];	/* little endian, as the guest sees it */
	u8 wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	struct pci_bar bars[PCI_NR_BARS];
	void *priv;

	/*
	 * Optional hooks, called with the bus lock held. cfg_read may refresh
	 * cfg[] before bytes [off, off + len) are returned; cfg_write runs after
	 * the guest changed them. bar_map tells the device its BAR now decodes
	 * at @addr (@on) or stopped decoding there (!@on).
	 */
	void (*cfg_read)(struct pci_device *dev, u32 off, u32 len);
	void (*cfg_write)(struct pci_device *dev, u32 off, u32 len);
	void (*bar_map)(struct pci_device *dev, unsigned int bar, u64 addr, bool on);

	/* private to hw/pci.c */
	struct pci_bus *bus;
	unsigned int slot;
	int gsi;		/* INTx line, -1 without an interrupt pin */
	u8 cap_free;		/* where the next capability goes */
	u8 cap_last;		/* the last capability, 0 if none */
	bool intx_level;	/* what the device asks for */
	bool intx_out;		/* what the line carries (after INTX_DISABLE) */
	bool intx_disabled;	/* mirror of COMMAND.INTX_DISABLE */
};

struct pci_bus {
	struct pci_device *devs[PCI_MAX_SLOTS];
	struct iobus *mmio;		/* where memory BARs are mapped */
	u64 win_start, win_end;		/* pre-assignment window [start, end) */
	u64 win_next;
	u32 conf1_addr;			/* the 0xcf8 register */
	pthread_mutex_t lock;		/* config spaces, BAR mappings, conf1_addr */

	/* INTx: pin p of slot s drives GSI intx_base + (s + p) % intx_count. */
	unsigned int intx_base, intx_count;
	void (*set_irq)(void *ctx, unsigned int gsi, bool level);
	void *irq_ctx;
	pthread_mutex_t irq_lock;	/* the INTx state below and in devices */
	u8 intx_users[32];		/* asserting devices per shared line */

	struct pci_device host;		/* 00:00.0 */
};

/*
 * Set up @bus with its host bridge; BARs are pre-assigned in
 * [win_start, win_start + win_size) and mapped on @mmio.
 */
void pci_bus_init(struct pci_bus *bus, struct iobus *mmio, u64 win_start,
		  u64 win_size);
/* Unmap every BAR (the devices stay allocated by their owners). */
void pci_bus_exit(struct pci_bus *bus);

/* Fill a type 0 header. @class is base << 16 | sub << 8 | prog-if. */
void pci_device_init(struct pci_device *dev, const char *name, u16 vendor,
		     u16 device, u32 class, u8 revision);
void pci_set_subsystem(struct pci_device *dev, u16 vendor, u16 id);
/* Use INTA: the bus wires it to a GSI when the device is added. */
void pci_set_intx(struct pci_device *dev);
/* Declare memory BAR @n of @size bytes (a power of two >= 16). */
int pci_bar_init(struct pci_device *dev, unsigned int n, u64 size, bool is_64,
		 io_fn_t fn, void *ctx);
/*
 * Append a capability of @len bytes with ID @id to the list; returns its
 * config space offset (bytes 0-1 filled in, the rest zero and read-only
 * until the caller sets wmask), or 0 when config space is full.
 */
u8 pci_cap_add(struct pci_device *dev, u8 id, u8 len);
/* Offset of the first capability with ID @id after @from (0: from the start). */
u8 pci_cap_find(const struct pci_device *dev, u8 id, u8 from);

/*
 * Put @dev in the first free slot, wire its INTx, pre-assign its BARs in
 * the window, enable memory decoding and map them. Returns the slot or -1.
 * Call before the vCPUs run.
 */
int pci_bus_add(struct pci_bus *bus, struct pci_device *dev);
/* Undo pci_bus_add(): lower INTx, unmap the BARs (bar_map is told), free the slot. */
void pci_bus_remove(struct pci_device *dev);

static inline u32 pci_cfg_get(const struct pci_device *dev, u32 off, u32 len)
{
	return off + len <= PCI_CFG_SIZE ? get_le(dev->cfg + off, len) : 0;
}

static inline void pci_cfg_set(struct pci_device *dev, u32 off, u32 v, u32 len)
{
	if (off + len <= PCI_CFG_SIZE)
		put_le(dev->cfg + off, v, len);
}

/* Does a config access of @len bytes at @off touch [@start, @start + @n)? */
static inline bool pci_cfg_overlaps(u32 off, u32 len, u32 start, u32 n)
{
	return off < start + n && start < off + len;
}

static inline void pci_wmask_set(struct pci_device *dev, u32 off, u32 v, u32 len)
{
	if (off + len <= PCI_CFG_SIZE)
		put_le(dev->wmask + off, v, len);
}

/*
 * Guest config space accesses. @len is 1, 2 or 4 and the access must not
 * cross a dword; anything else reads as all ones and is not written.
 * Absent devices, functions other than 0 and buses other than 0 read all
 * ones. Takes the bus lock.
 */
void pci_cfg_access(struct pci_bus *bus, unsigned int busnr, unsigned int slot,
		    unsigned int fn, u32 off, u8 *data, u32 len, bool is_write);
/*
 * Ports 0xcf8-0xcff at offset @off. Returns false for an access that is not
 * a configuration access (anything but a dword at 0xcf8 in the address
 * half); reads of those are filled with all ones and the platform may
 * claim them (x86: the reset control register at 0xcf9).
 */
bool pci_conf1_io(struct pci_bus *bus, u64 off, u8 *data, u32 len, bool is_write);
/* An access to the ECAM window at offset @off (1, 2, 4 or 8 bytes, aligned). */
void pci_ecam_io(struct pci_bus *bus, u64 off, u8 *data, u32 len, bool is_write);

/* Drive the device's INTx pin (level triggered); safe from any thread. */
void pci_irq_set(struct pci_device *dev, bool level);

/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2): the capability, the vector table and
 * the pending bit array, with the masking rules; the owner provides the
 * delivery. pci_msix_* functions take no lock: the owner serialises calls
 * for one struct pci_msix with its own lock.
 */
struct pci_msix_ops {
	/*
	 * Vector @v became deliverable, or its message changed while it is:
	 * make sure a route for (@addr, @data) exists before fire() is called.
	 */
	void (*route)(void *ctx, unsigned int v, u64 addr, u32 data);
	/* Send vector @v now. */
	void (*fire)(void *ctx, unsigned int v);
};

struct pci_msix {
	struct pci_device *dev;
	u8 cap;				/* capability offset in config space */
	u16 nr;				/* table entries */
	u8 *table;			/* nr * PCI_MSIX_ENTRY_SIZE bytes */
	u64 *pba;			/* pending bits */
	bool enabled, masked;		/* MSI-X Enable, Function Mask */
	const struct pci_msix_ops *ops;
	void *ctx;
};

/* Result of pci_msix_notify(). */
enum {
	PCI_MSIX_SENT,
	PCI_MSIX_PENDING,		/* masked: pending bit set */
	PCI_MSIX_DISABLED,		/* MSI-X is off: use INTx */
	PCI_MSIX_DROPPED,		/* no such vector */
};

/*
 * Add the capability; the table lives in BAR @bar at @table_off and the
 * PBA at @pba_off (both 8-byte aligned). Returns -1 if config space is full.
 */
int pci_msix_init(struct pci_msix *m, struct pci_device *dev, u16 nr,
		  unsigned int bar, u32 table_off, u32 pba_off,
		  const struct pci_msix_ops *ops, void *ctx);
void pci_msix_exit(struct pci_msix *m);
/* Bytes needed for the table and for the PBA. */
static inline u32 pci_msix_table_size(u16 nr) { return nr * PCI_MSIX_ENTRY_SIZE; }
static inline u32 pci_msix_pba_size(u16 nr) { return (nr + 63) / 64 * 8; }
/* Re-read Enable and Function Mask after a config write to the capability. */
void pci_msix_cfg_update(struct pci_msix *m);
/* Guest accesses at offset @off into the table / the PBA. */
void pci_msix_table_io(struct pci_msix *m, u64 off, u8 *data, u32 len, bool is_write);
void pci_msix_pba_io(struct pci_msix *m, u64 off, u8 *data, u32 len, bool is_write);
/* Raise vector @v; see the PCI_MSIX_* results. */
int pci_msix_notify(struct pci_msix *m, unsigned int v);
/* The message of vector @v. */
void pci_msix_message(const struct pci_msix *m, unsigned int v, u64 *addr, u32 *data);
bool pci_msix_vector_masked(const struct pci_msix *m, unsigned int v);
bool pci_msix_pending(const struct pci_msix *m, unsigned int v);
/* Forget every pending interrupt (the owner's device was reset). */
void pci_msix_clear_pending(struct pci_msix *m);

/*
 * The VM's root bus (hw/pci-root.c), or NULL when this machine has no PCI.
 * The arch sets it up with its layout: the memory window for BARs, the
 * ECAM window and the interrupt lines INTx is wired to.
 */
struct kvm;
struct pci_root_layout {
	u64 win_start, win_size;
	u64 ecam_start, ecam_size;
	unsigned int intx_base, intx_count;
};
struct pci_bus *pci_root_bus(struct kvm *kvm);
int pci_root_init(struct kvm *kvm, const struct pci_root_layout *l);
void pci_root_exit(struct kvm *kvm);

#endif
