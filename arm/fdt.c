// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 device tree (bindings: Documentation/devicetree/bindings in
 * Linux: arm/cpus, arm/psci, timer/arm,arch_timer, interrupt-controller/
 * arm,gic(-v3), serial/8250, virtio/mmio, pci/host-generic-pci, perf/
 * arm,pmu, arm,spe-pmu, rtc/arm,pl031). Built with libfdt's sequential writer.
 */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/arm-fdt.h"
#include "lkvm/arm-layout.h"

/* A writer that remembers the first error, so the tree reads top down. */
struct fw {
	void *fdt;
	int err;
};

static void begin(struct fw *w, const char *name)
{
	if (!w->err)
		w->err = fdt_begin_node(w->fdt, name);
}

static void beginf(struct fw *w, const char *fmt, u64 addr)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, (unsigned long long)addr);
	begin(w, name);
}

static void end(struct fw *w)
{
	if (!w->err)
		w->err = fdt_end_node(w->fdt);
}

static void prop(struct fw *w, const char *name, const void *val, int len)
{
	if (!w->err)
		w->err = fdt_property(w->fdt, name, val, len);
}

static void prop_u32(struct fw *w, const char *name, u32 v)
{
	if (!w->err)
		w->err = fdt_property_u32(w->fdt, name, v);
}

static void prop_u64(struct fw *w, const char *name, u64 v)
{
	if (!w->err)
		w->err = fdt_property_u64(w->fdt, name, v);
}

static void prop_str(struct fw *w, const char *name, const char *s)
{
	prop(w, name, s, strlen(s) + 1);
}

/* A property of big-endian cells. */
static void prop_cells(struct fw *w, const char *name, const u32 *cells, unsigned int n)
{
	fdt32_t be[64];
	unsigned int i;

	if (n > ARRAY_SIZE(be)) {
		w->err = -FDT_ERR_INTERNAL;
		return;
	}
	for (i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	prop(w, name, be, n * sizeof(be[0]));
}

/* reg = <base size> with two address and two size cells. */
static void prop_reg(struct fw *w, u64 base, u64 size)
{
	u32 c[4] = { base >> 32, (u32)base, size >> 32, (u32)size };

	prop_cells(w, "reg", c, 4);
}

static void prop_irq(struct fw *w, u32 type, u32 num, u32 flags)
{
	u32 c[3] = { type, num, flags };

	prop_cells(w, "interrupts", c, 3);
}

/* PPI flags: GICv2 also names the CPUs that receive it. */
static u32 ppi_flags(const struct arm_fdt_info *info, u32 trigger)
{
	if (info->gic != ARM_GIC_V2)
		return trigger;
	return trigger | (((1U << info->nr_cpus) - 1) & 0xff) << 8;
}

static void build_chosen(struct fw *w, const struct arm_fdt_info *info)
{
	begin(w, "chosen");
	prop_str(w, "bootargs", info->bootargs ? info->bootargs : "");
	/* earlycon without arguments finds the UART here. */
	prop_str(w, "stdout-path", ARM_FDT_UART_PATH);
	if (info->initrd_size) {
		prop_u64(w, "linux,initrd-start", info->initrd_start);
		prop_u64(w, "linux,initrd-end", info->initrd_start + info->initrd_size);
	}
	if (info->rng_seed_len)
		prop(w, "rng-seed", info->rng_seed, info->rng_seed_len);
	if (info->kaslr_seed)
		prop_u64(w, "kaslr-seed", info->kaslr_seed);
	end(w);

	begin(w, "aliases");
	prop_str(w, "serial0", ARM_FDT_UART_PATH);
	end(w);
}

static void build_cpus(struct fw *w, const struct arm_fdt_info *info)
{
	/* Only the affinity fields of MPIDR_EL1 go into reg. */
	const u64 aff_mask = 0xff00ffffffULL;
	unsigned int i, addr_cells = 1;

	for (i = 0; i < info->nr_cpus; i++)
		if (info->mpidr[i] & aff_mask & ~0xffffffULL)
			addr_cells = 2;

	begin(w, "cpus");
	prop_u32(w, "#address-cells", addr_cells);
	prop_u32(w, "#size-cells", 0);
	for (i = 0; i < info->nr_cpus; i++) {
		u64 mpidr = info->mpidr[i] & aff_mask;
		u32 reg[2] = { mpidr >> 32, (u32)mpidr };

		beginf(w, "cpu@%llx", mpidr);
		prop_str(w, "device_type", "cpu");
		prop_str(w, "compatible", "arm,arm-v8");
		prop_str(w, "enable-method", "psci");
		prop_cells(w, "reg", addr_cells == 2 ? reg : reg + 1, addr_cells);
		end(w);
	}
	end(w);

	/*
	 * KVM implements PSCI 1.x. A guest at EL2 (--nested) owns HVC, so it
	 * reaches KVM's PSCI with SMC.
	 */
	begin(w, "psci");
	prop(w, "compatible", "arm,psci-1.0\0arm,psci-0.2", sizeof("arm,psci-1.0\0arm,psci-0.2"));
	prop_str(w, "method", info->nested ? "smc" : "hvc");
	end(w);
}

static void build_timer(struct fw *w, const struct arm_fdt_info *info)
{
	/* Secure, non-secure physical, virtual, EL2 physical, EL2 virtual. */
	static const u32 ppis[] = {
		ARM_PPI_TIMER_SEC, ARM_PPI_TIMER_PHYS, ARM_PPI_TIMER_VIRT,
		ARM_PPI_TIMER_HYP, ARM_PPI_TIMER_HYP_VIRT,
	};
	unsigned int n = info->nested ? 5 : 4, i;
	u32 c[15];

	for (i = 0; i < n; i++) {
		c[3 * i] = ARM_FDT_IRQ_PPI;
		c[3 * i + 1] = ppis[i];
		c[3 * i + 2] = ppi_flags(info, ARM_FDT_IRQ_LEVEL_HIGH);
	}
	begin(w, "timer");
	prop_str(w, "compatible", "arm,armv8-timer");
	prop_cells(w, "interrupts", c, 3 * n);
	prop(w, "always-on", NULL, 0);
	end(w);
}

static void build_gic(struct fw *w, const struct arm_fdt_info *info)
{
	bool v2 = info->gic == ARM_GIC_V2;

	beginf(w, "intc@%llx", ARM_GIC_DIST_BASE);
	prop_str(w, "compatible", v2 ? "arm,cortex-a15-gic" : "arm,gic-v3");
	prop_u32(w, "#interrupt-cells", 3);
	prop(w, "interrupt-controller", NULL, 0);
	/* Two address cells for the ITS child (and in interrupt-maps). */
	prop_u32(w, "#address-cells", 2);
	prop_u32(w, "#size-cells", 2);
	prop(w, "ranges", NULL, 0);
	if (v2) {
		u32 reg[8] = {
			0, (u32)ARM_GIC_DIST_BASE, 0, 0x1000,
			0, (u32)ARM_GIC_CPU_BASE, 0, (u32)ARM_GIC_CPU_SIZE,
		};

		prop_cells(w, "reg", reg, 8);
	} else {
		u64 redist = (u64)info->nr_cpus * ARM_GIC_REDIST_SIZE;
		u32 reg[8] = {
			0, (u32)ARM_GIC_DIST_BASE, 0, (u32)ARM_GIC_DIST_SIZE,
			0, (u32)ARM_GIC_REDIST_BASE, redist >> 32, (u32)redist,
		};

		prop_cells(w, "reg", reg, 8);
	}
	/* A guest hypervisor needs the VGIC maintenance interrupt. */
	if (info->nested)
		prop_irq(w, ARM_FDT_IRQ_PPI, ARM_PPI_VGIC_MAINT,
			 ppi_flags(info, ARM_FDT_IRQ_LEVEL_HIGH));
	prop_u32(w, "phandle", ARM_FDT_PHANDLE_GIC);
	if (info->gic == ARM_GIC_V3_ITS) {
		beginf(w, "its@%llx", ARM_GIC_ITS_BASE);
		prop_str(w, "compatible", "arm,gic-v3-its");
		prop(w, "msi-controller", NULL, 0);
		prop_u32(w, "#msi-cells", 1);
		prop_reg(w, ARM_GIC_ITS_BASE, ARM_GIC_ITS_SIZE);
		prop_u32(w, "phandle", ARM_FDT_PHANDLE_ITS);
		end(w);
	}
	end(w);
}

static void build_pmu_spe(struct fw *w, const struct arm_fdt_info *info)
{
	if (info->pmu) {
		begin(w, "pmu");
		prop_str(w, "compatible", "arm,armv8-pmuv3");
		prop_irq(w, ARM_FDT_IRQ_PPI, ARM_PPI_PMU, ppi_flags(info, ARM_FDT_IRQ_LEVEL_HIGH));
		end(w);
	}
	if (info->spe) {
		begin(w, "spe");
		prop_str(w, "compatible", "arm,statistical-profiling-extension-v1");
		prop_irq(w, ARM_FDT_IRQ_PPI, ARM_PPI_SPE, ppi_flags(info, ARM_FDT_IRQ_LEVEL_HIGH));
		end(w);
	}
}

static void build_uart(struct fw *w)
{
	beginf(w, "uart@%llx", ARM_UART_BASE);
	prop_str(w, "compatible", "ns16550a");
	prop_reg(w, ARM_UART_BASE, ARM_UART_SIZE);
	prop_irq(w, ARM_FDT_IRQ_SPI, ARM_SPI_UART, ARM_FDT_IRQ_LEVEL_HIGH);
	prop_u32(w, "clock-frequency", 1843200);
	prop_u32(w, "reg-shift", 0);
	prop_u32(w, "reg-io-width", 1);
	end(w);
}

/*
 * The PL031 is an AMBA PrimeCell: Linux's AMBA bus wants its bus clock
 * ("apb_pclk") before it reads the peripheral ID.
 */
static void build_rtc(struct fw *w)
{
	begin(w, "apb-pclk");
	prop_str(w, "compatible", "fixed-clock");
	prop_u32(w, "#clock-cells", 0);
	prop_u32(w, "clock-frequency", 24000000);
	prop_str(w, "clock-output-names", "apb_pclk");
	prop_u32(w, "phandle", ARM_FDT_PHANDLE_APB_CLK);
	end(w);

	beginf(w, "rtc@%llx", ARM_RTC_BASE);
	prop(w, "compatible", "arm,pl031\0arm,primecell", sizeof("arm,pl031\0arm,primecell"));
	prop_reg(w, ARM_RTC_BASE, ARM_RTC_SIZE);
	prop_irq(w, ARM_FDT_IRQ_SPI, ARM_SPI_RTC, ARM_FDT_IRQ_LEVEL_HIGH);
	prop_u32(w, "clocks", ARM_FDT_PHANDLE_APB_CLK);
	prop_str(w, "clock-names", "apb_pclk");
	end(w);
}

/* hw/pvpanic.c; Linux's pvpanic-mmio driver matches this compatible. */
static void build_pvpanic(struct fw *w)
{
	beginf(w, "pvpanic@%llx", ARM_PVPANIC_BASE);
	prop_str(w, "compatible", "qemu,pvpanic-mmio");
	prop_reg(w, ARM_PVPANIC_BASE, ARM_PVPANIC_SIZE);
	end(w);
}

static void build_virtio_mmio(struct fw *w, const struct arm_fdt_info *info)
{
	unsigned int i;

	for (i = 0; i < info->nr_mmio; i++) {
		const struct virtio_mmio_info *m = &info->mmio[i];

		beginf(w, "virtio_mmio@%llx", m->base);
		prop_str(w, "compatible", "virtio,mmio");
		prop_reg(w, m->base, m->size);
		prop_irq(w, ARM_FDT_IRQ_SPI, m->irq, ARM_FDT_IRQ_LEVEL_HIGH);
		prop(w, "dma-coherent", NULL, 0);
		/* The MSI extension's messages go to the ITS as this device ID. */
		if (m->msi && info->gic == ARM_GIC_V3_ITS) {
			u32 mp[2] = { ARM_FDT_PHANDLE_ITS, m->msi_devid };

			prop_cells(w, "msi-parent", mp, 2);
		}
		end(w);
	}
}

static void build_pci(struct fw *w, const struct arm_fdt_info *info)
{
	/* 32 slots x 4 pins, each: 3 address + 1 pin + phandle + 2 + 3 cells. */
	u32 map[32 * 4 * 10];
	u32 ranges[7] = {
		0x02000000, 0, (u32)ARM_PCI_MMIO_BASE,			/* 32-bit memory */
		0, (u32)ARM_PCI_MMIO_BASE, 0, (u32)ARM_PCI_MMIO_SIZE,
	};
	u32 mask[4] = { 0xf800, 0, 0, 7 };	/* device number and pin */
	u32 bus_range[2] = { 0, 0 };
	u32 msi_map[4] = { 0, ARM_FDT_PHANDLE_ITS, 0, ARM_PCI_RID_RANGE };
	fdt32_t *be = (fdt32_t *)map;
	unsigned int slot, pin, n = 0;

	beginf(w, "pci@%llx", ARM_PCI_ECAM_BASE);
	prop_str(w, "compatible", "pci-host-ecam-generic");
	prop_str(w, "device_type", "pci");
	prop_u32(w, "#address-cells", 3);
	prop_u32(w, "#size-cells", 2);
	prop_u32(w, "#interrupt-cells", 1);
	prop_cells(w, "bus-range", bus_range, 2);
	prop_reg(w, ARM_PCI_ECAM_BASE, ARM_PCI_ECAM_SIZE);
	prop_cells(w, "ranges", ranges, 7);
	prop(w, "dma-coherent", NULL, 0);
	/* INTx: the same swizzle as hw/pci.c, onto four SPIs. */
	prop_cells(w, "interrupt-map-mask", mask, 4);
	for (slot = 0; slot < 32; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			u32 e[10] = {
				slot << 11, 0, 0, pin, ARM_FDT_PHANDLE_GIC, 0, 0,
				ARM_FDT_IRQ_SPI,
				ARM_SPI_PCI_INTX + (slot + pin - 1) % ARM_SPI_PCI_INTX_NR,
				ARM_FDT_IRQ_LEVEL_HIGH,
			};
			unsigned int i;

			for (i = 0; i < 10; i++)
				be[n++] = cpu_to_fdt32(e[i]);
		}
	}
	prop(w, "interrupt-map", map, n * sizeof(u32));
	/* MSI-X through the ITS, device ID = requester ID. */
	if (info->gic == ARM_GIC_V3_ITS)
		prop_cells(w, "msi-map", msi_map, 4);
	end(w);
}

int arm_fdt_build(const struct arm_fdt_info *info, void *buf, size_t size)
{
	struct fw w = { .fdt = buf };

	w.err = fdt_create(buf, size);
	if (!w.err)
		w.err = fdt_finish_reservemap(buf);
	begin(&w, "");
	prop_str(&w, "compatible", "linux,dummy-virt");
	prop_str(&w, "model", "lkvm");
	prop_u32(&w, "#address-cells", 2);
	prop_u32(&w, "#size-cells", 2);
	prop_u32(&w, "interrupt-parent", ARM_FDT_PHANDLE_GIC);

	build_chosen(&w, info);
	beginf(&w, "memory@%llx", info->ram_base);
	prop_str(&w, "device_type", "memory");
	prop_reg(&w, info->ram_base, info->ram_size);
	end(&w);
	build_cpus(&w, info);
	build_timer(&w, info);
	build_gic(&w, info);
	build_pmu_spe(&w, info);
	build_uart(&w);
	build_rtc(&w);
	build_pvpanic(&w);
	build_virtio_mmio(&w, info);
	if (info->pci)
		build_pci(&w, info);
	end(&w);
	if (!w.err)
		w.err = fdt_finish(buf);
	return w.err;
}
