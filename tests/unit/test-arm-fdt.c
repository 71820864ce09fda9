// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 device tree, read back with libfdt: every node lkvm writes,
 * with and without --nested, SPE, the PMU, an ITS, a GICv2, PCI and the
 * virtio-mmio MSI extension.
 */
#include <libfdt.h>

#include "lkvm/arm-fdt.h"
#include "lkvm/arm-layout.h"
#include "test.h"

#define BUF_SIZE	(64 * 1024)

static u8 fdt[BUF_SIZE];
static const u64 mpidr[4] = { 0x80000000, 0x80000001, 0x80000002, 0x80000003 };
static struct virtio_mmio_info mmio[2] = {
	{ .base = ARM_VIRTIO_MMIO_START, .size = 0x1000, .irq = ARM_SPI_DYNAMIC,
	  .device_id = 2, .msi_devid = VIRTIO_MMIO_MSI_DEVID_BASE },
	{ .base = ARM_VIRTIO_MMIO_START + 0x1000, .size = 0x1000, .irq = ARM_SPI_DYNAMIC + 1,
	  .device_id = 4, .msi_devid = VIRTIO_MMIO_MSI_DEVID_BASE + 1 },
};

static struct arm_fdt_info base_info(void)
{
	struct arm_fdt_info i = {
		.ram_base = ARM_RAM_BASE, .ram_size = 512 * SZ_1M,
		.nr_cpus = 2, .mpidr = mpidr, .gic = ARM_GIC_V3_ITS,
		.mmio = mmio, .nr_mmio = 2,
		.bootargs = "console=ttyS0 earlycon quiet",
		.initrd_start = 0x9f000000, .initrd_size = 0x123456,
	};

	mmio[0].msi = mmio[1].msi = false;
	return i;
}

static int build(const struct arm_fdt_info *info)
{
	int r;

	memset(fdt, 0, sizeof(fdt));
	r = arm_fdt_build(info, fdt, sizeof(fdt));
	if (r)
		return r;
	return fdt_check_full(fdt, sizeof(fdt));
}

static int node(const char *path)
{
	return fdt_path_offset(fdt, path);
}

static const void *getprop(const char *path, const char *name, int *len)
{
	int off = node(path);

	*len = -1;
	return off < 0 ? NULL : fdt_getprop(fdt, off, name, len);
}

/* Cell @i of a property, or 0xdeadbeef when it is missing or too short. */
static u32 cell(const char *path, const char *name, int i)
{
	int len;
	const fdt32_t *p = getprop(path, name, &len);

	if (!p || len < (i + 1) * 4)
		return 0xdeadbeef;
	return fdt32_to_cpu(p[i]);
}

static int ncells(const char *path, const char *name)
{
	int len;

	return getprop(path, name, &len) ? len / 4 : -1;
}

static u64 prop64(const char *path, const char *name)
{
	int len;
	const void *p = getprop(path, name, &len);
	fdt64_t v;

	/* Property values are only 4-byte aligned. */
	if (!p || len != 8)
		return 0xdeadbeef;
	memcpy(&v, p, 8);
	return fdt64_to_cpu(v);
}

static bool has(const char *path, const char *name)
{
	int len;

	return getprop(path, name, &len) != NULL;
}

/* Does the string list @name of @path contain @s? */
static bool str_has(const char *path, const char *name, const char *s)
{
	int off = node(path);

	return off >= 0 && fdt_stringlist_search(fdt, off, name, s) >= 0;
}

static bool str_is(const char *path, const char *name, const char *s)
{
	int len;
	const char *p = getprop(path, name, &len);

	return p && len == (int)strlen(s) + 1 && !memcmp(p, s, len);
}

#define GIC	"/intc@8000000"
#define ITS	GIC "/its@8080000"

static void test_root_memory_chosen(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_is("/", "compatible", "linux,dummy-virt"));
	CHECK_EQ(cell("/", "#address-cells", 0), 2);
	CHECK_EQ(cell("/", "#size-cells", 0), 2);
	CHECK_EQ(cell("/", "interrupt-parent", 0), ARM_FDT_PHANDLE_GIC);
	CHECK(str_is("/memory@80000000", "device_type", "memory"));
	CHECK_EQ(ncells("/memory@80000000", "reg"), 4);
	CHECK_EQ(cell("/memory@80000000", "reg", 1), 0x80000000);
	CHECK_EQ(cell("/memory@80000000", "reg", 3), 512 * SZ_1M);
	CHECK(str_is("/chosen", "bootargs", "console=ttyS0 earlycon quiet"));
	CHECK(str_is("/chosen", "stdout-path", ARM_FDT_UART_PATH));
	CHECK_EQ(prop64("/chosen", "linux,initrd-start"), 0x9f000000);
	CHECK_EQ(prop64("/chosen", "linux,initrd-end"), 0x9f000000 + 0x123456);
	CHECK(str_is("/aliases", "serial0", ARM_FDT_UART_PATH));
	CHECK(!has("/chosen", "rng-seed"));
	/* No initrd: no initrd properties. */
	i.initrd_size = 0;
	i.bootargs = NULL;
	CHECK(build(&i) == 0);
	CHECK(!has("/chosen", "linux,initrd-start"));
	CHECK(!has("/chosen", "linux,initrd-end"));
	CHECK(str_is("/chosen", "bootargs", ""));
}

static void test_rng_seed(void)
{
	struct arm_fdt_info i = base_info();
	static const u8 seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int len;
	const u8 *p;

	i.rng_seed = seed;
	i.rng_seed_len = sizeof(seed);
	CHECK(build(&i) == 0);
	p = getprop("/chosen", "rng-seed", &len);
	CHECK(p && len == 8 && !memcmp(p, seed, 8));
	CHECK(!has("/chosen", "kaslr-seed"));
	/* kvmtool's --kaslr-seed: a u64 the kernel randomises its base with. */
	i.kaslr_seed = 0x0123456789abcdefULL;
	CHECK(build(&i) == 0);
	CHECK_EQ(prop64("/chosen", "kaslr-seed"), 0x0123456789abcdefULL);
}

static void test_cpus_psci(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK_EQ(cell("/cpus", "#address-cells", 0), 1);
	CHECK_EQ(cell("/cpus", "#size-cells", 0), 0);
	CHECK(str_is("/cpus/cpu@0", "device_type", "cpu"));
	CHECK(str_is("/cpus/cpu@0", "enable-method", "psci"));
	CHECK(str_is("/cpus/cpu@0", "compatible", "arm,arm-v8"));
	/* reg is MPIDR's affinity, not bit 31 (RES1). */
	CHECK_EQ(cell("/cpus/cpu@0", "reg", 0), 0);
	CHECK_EQ(cell("/cpus/cpu@1", "reg", 0), 1);
	CHECK(node("/cpus/cpu@2") < 0);
	CHECK(str_has("/psci", "compatible", "arm,psci-0.2"));
	CHECK(str_has("/psci", "compatible", "arm,psci-1.0"));
	CHECK(str_is("/psci", "method", "hvc"));
	/* Aff3 needs a second address cell. */
	{
		static const u64 big[2] = { 0x80000000, 0x0100000000ULL | 0x80000000 };

		i.mpidr = big;
		CHECK(build(&i) == 0);
		CHECK_EQ(cell("/cpus", "#address-cells", 0), 2);
		CHECK_EQ(cell("/cpus/cpu@100000000", "reg", 0), 1);
		CHECK_EQ(cell("/cpus/cpu@100000000", "reg", 1), 0);
	}
}

static void check_ppi(const char *path, const char *name, int idx, u32 ppi, u32 flags)
{
	CHECK_EQ(cell(path, name, 3 * idx), ARM_FDT_IRQ_PPI);
	CHECK_EQ(cell(path, name, 3 * idx + 1), ppi);
	CHECK_EQ(cell(path, name, 3 * idx + 2), flags);
}

static void test_timer(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_is("/timer", "compatible", "arm,armv8-timer"));
	CHECK(has("/timer", "always-on"));
	CHECK_EQ(ncells("/timer", "interrupts"), 12);
	check_ppi("/timer", "interrupts", 0, 13, 4);
	check_ppi("/timer", "interrupts", 1, 14, 4);
	check_ppi("/timer", "interrupts", 2, 11, 4);
	check_ppi("/timer", "interrupts", 3, 10, 4);
}

static void test_gicv3_its(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_is(GIC, "compatible", "arm,gic-v3"));
	CHECK(has(GIC, "interrupt-controller"));
	CHECK_EQ(cell(GIC, "#interrupt-cells", 0), 3);
	CHECK_EQ(cell(GIC, "phandle", 0), ARM_FDT_PHANDLE_GIC);
	CHECK_EQ(ncells(GIC, "reg"), 8);
	CHECK_EQ(cell(GIC, "reg", 1), ARM_GIC_DIST_BASE);
	CHECK_EQ(cell(GIC, "reg", 3), 0x10000);
	CHECK_EQ(cell(GIC, "reg", 5), ARM_GIC_REDIST_BASE);
	CHECK_EQ(cell(GIC, "reg", 7), 2 * 0x20000);	/* one frame pair per vCPU */
	CHECK(!has(GIC, "interrupts"));			/* maintenance: nested only */
	CHECK(str_is(ITS, "compatible", "arm,gic-v3-its"));
	CHECK(has(ITS, "msi-controller"));
	CHECK_EQ(cell(ITS, "#msi-cells", 0), 1);
	CHECK_EQ(cell(ITS, "reg", 1), ARM_GIC_ITS_BASE);
	CHECK_EQ(cell(ITS, "reg", 3), 0x20000);
	CHECK_EQ(cell(ITS, "phandle", 0), ARM_FDT_PHANDLE_ITS);
	/* Without the ITS. */
	i.gic = ARM_GIC_V3;
	CHECK(build(&i) == 0);
	CHECK(str_is(GIC, "compatible", "arm,gic-v3"));
	CHECK(node(ITS) < 0);
}

static void test_gicv2(void)
{
	struct arm_fdt_info i = base_info();

	i.gic = ARM_GIC_V2;
	mmio[0].msi = true;
	i.pci = true;
	CHECK(build(&i) == 0);
	CHECK(str_is(GIC, "compatible", "arm,cortex-a15-gic"));
	CHECK_EQ(cell(GIC, "reg", 1), ARM_GIC_DIST_BASE);
	CHECK_EQ(cell(GIC, "reg", 3), 0x1000);
	CHECK_EQ(cell(GIC, "reg", 5), ARM_GIC_CPU_BASE);
	CHECK_EQ(cell(GIC, "reg", 7), 0x2000);
	CHECK(node(ITS) < 0);
	/* GICv2 PPIs name their target CPUs: two of them. */
	check_ppi("/timer", "interrupts", 0, 13, 0x304);
	check_ppi("/timer", "interrupts", 3, 10, 0x304);
	/* No MSI controller to point at. */
	CHECK(!has("/virtio_mmio@b000000", "msi-parent"));
	CHECK(!has("/pci@30000000", "msi-map"));
}

static void test_uart(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_is(ARM_FDT_UART_PATH, "compatible", "ns16550a"));
	CHECK_EQ(cell(ARM_FDT_UART_PATH, "reg", 1), ARM_UART_BASE);
	CHECK_EQ(cell(ARM_FDT_UART_PATH, "interrupts", 0), ARM_FDT_IRQ_SPI);
	CHECK_EQ(cell(ARM_FDT_UART_PATH, "interrupts", 1), ARM_SPI_UART);
	CHECK_EQ(cell(ARM_FDT_UART_PATH, "interrupts", 2), ARM_FDT_IRQ_LEVEL_HIGH);
	CHECK_EQ(cell(ARM_FDT_UART_PATH, "clock-frequency", 0), 1843200);
	CHECK_EQ(cell(ARM_FDT_UART_PATH, "reg-io-width", 0), 1);
}

static void test_rtc(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_has(ARM_FDT_RTC_PATH, "compatible", "arm,pl031"));
	CHECK(str_has(ARM_FDT_RTC_PATH, "compatible", "arm,primecell"));
	CHECK_EQ(cell(ARM_FDT_RTC_PATH, "reg", 1), ARM_RTC_BASE);
	CHECK_EQ(cell(ARM_FDT_RTC_PATH, "interrupts", 1), ARM_SPI_RTC);
	CHECK(str_is(ARM_FDT_RTC_PATH, "clock-names", "apb_pclk"));
	CHECK_EQ(cell(ARM_FDT_RTC_PATH, "clocks", 0), ARM_FDT_PHANDLE_APB_CLK);
	CHECK(str_is("/apb-pclk", "compatible", "fixed-clock"));
	CHECK_EQ(cell("/apb-pclk", "phandle", 0), ARM_FDT_PHANDLE_APB_CLK);
	CHECK_EQ(cell("/apb-pclk", "#clock-cells", 0), 0);
}

static void test_pvpanic(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_is("/pvpanic@a002000", "compatible", "qemu,pvpanic-mmio"));
	CHECK_EQ(cell("/pvpanic@a002000", "reg", 1), ARM_PVPANIC_BASE);
	CHECK_EQ(cell("/pvpanic@a002000", "reg", 3), ARM_PVPANIC_SIZE);
}

static void test_virtio_mmio(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(str_is("/virtio_mmio@b000000", "compatible", "virtio,mmio"));
	CHECK_EQ(cell("/virtio_mmio@b000000", "reg", 1), ARM_VIRTIO_MMIO_START);
	CHECK_EQ(cell("/virtio_mmio@b000000", "reg", 3), 0x1000);
	CHECK_EQ(cell("/virtio_mmio@b000000", "interrupts", 0), ARM_FDT_IRQ_SPI);
	CHECK_EQ(cell("/virtio_mmio@b000000", "interrupts", 1), ARM_SPI_DYNAMIC);
	CHECK_EQ(cell("/virtio_mmio@b000000", "interrupts", 2), ARM_FDT_IRQ_LEVEL_HIGH);
	CHECK(has("/virtio_mmio@b000000", "dma-coherent"));
	CHECK_EQ(cell("/virtio_mmio@b001000", "interrupts", 1), ARM_SPI_DYNAMIC + 1);
	CHECK(!has("/virtio_mmio@b000000", "msi-parent"));
	/* The MSI extension with an ITS: msi-parent = <&its device-id>. */
	mmio[0].msi = mmio[1].msi = true;
	CHECK(build(&i) == 0);
	CHECK_EQ(ncells("/virtio_mmio@b001000", "msi-parent"), 2);
	CHECK_EQ(cell("/virtio_mmio@b000000", "msi-parent", 0), ARM_FDT_PHANDLE_ITS);
	CHECK_EQ(cell("/virtio_mmio@b000000", "msi-parent", 1), VIRTIO_MMIO_MSI_DEVID_BASE);
	CHECK_EQ(cell("/virtio_mmio@b001000", "msi-parent", 1), VIRTIO_MMIO_MSI_DEVID_BASE + 1);
	/* No devices, no nodes. */
	i.nr_mmio = 0;
	CHECK(build(&i) == 0);
	CHECK(node("/virtio_mmio@b000000") < 0);
}

static void test_pci(void)
{
	struct arm_fdt_info i = base_info();
	const char *pci = "/pci@30000000";
	int e;

	CHECK(build(&i) == 0);
	CHECK(node(pci) < 0);
	i.pci = true;
	CHECK(build(&i) == 0);
	CHECK(str_is(pci, "compatible", "pci-host-ecam-generic"));
	CHECK(str_is(pci, "device_type", "pci"));
	CHECK_EQ(cell(pci, "#address-cells", 0), 3);
	CHECK_EQ(cell(pci, "#size-cells", 0), 2);
	CHECK_EQ(cell(pci, "#interrupt-cells", 0), 1);
	CHECK_EQ(cell(pci, "bus-range", 1), 0);
	CHECK_EQ(cell(pci, "reg", 1), ARM_PCI_ECAM_BASE);
	CHECK_EQ(cell(pci, "reg", 3), SZ_1M);
	CHECK_EQ(cell(pci, "ranges", 0), 0x02000000);
	CHECK_EQ(cell(pci, "ranges", 2), ARM_PCI_MMIO_BASE);
	CHECK_EQ(cell(pci, "ranges", 4), ARM_PCI_MMIO_BASE);
	CHECK_EQ(cell(pci, "ranges", 6), ARM_PCI_MMIO_SIZE);
	CHECK_EQ(cell(pci, "interrupt-map-mask", 0), 0xf800);
	CHECK_EQ(cell(pci, "interrupt-map-mask", 3), 7);
	CHECK_EQ(ncells(pci, "interrupt-map"), 32 * 4 * 10);
	/* Slot 3, INTB (pin 2): the (slot + pin - 1) % 4 swizzle of hw/pci.c. */
	e = (3 * 4 + 1) * 10;
	CHECK_EQ(cell(pci, "interrupt-map", e), 3 << 11);
	CHECK_EQ(cell(pci, "interrupt-map", e + 3), 2);
	CHECK_EQ(cell(pci, "interrupt-map", e + 4), ARM_FDT_PHANDLE_GIC);
	CHECK_EQ(cell(pci, "interrupt-map", e + 7), ARM_FDT_IRQ_SPI);
	CHECK_EQ(cell(pci, "interrupt-map", e + 8), ARM_SPI_PCI_INTX + (3 + 2 - 1) % 4);
	CHECK_EQ(cell(pci, "interrupt-map", e + 9), ARM_FDT_IRQ_LEVEL_HIGH);
	CHECK_EQ(cell(pci, "msi-map", 0), 0);
	CHECK_EQ(cell(pci, "msi-map", 1), ARM_FDT_PHANDLE_ITS);
	CHECK_EQ(cell(pci, "msi-map", 2), 0);
	CHECK_EQ(cell(pci, "msi-map", 3), ARM_PCI_RID_RANGE);
	i.gic = ARM_GIC_V3;
	CHECK(build(&i) == 0);
	CHECK(!has(pci, "msi-map"));
}

static void test_nested(void)
{
	struct arm_fdt_info i = base_info();

	i.nested = true;
	CHECK(build(&i) == 0);
	/* VGIC maintenance interrupt: PPI 9, level. */
	CHECK_EQ(ncells(GIC, "interrupts"), 3);
	check_ppi(GIC, "interrupts", 0, 9, 4);
	/* The EL2 virtual timer joins, last. */
	CHECK_EQ(ncells("/timer", "interrupts"), 15);
	check_ppi("/timer", "interrupts", 0, 13, 4);
	check_ppi("/timer", "interrupts", 3, 10, 4);
	check_ppi("/timer", "interrupts", 4, 12, 4);
	/* A guest at EL2 calls PSCI with SMC. */
	CHECK(str_is("/psci", "method", "smc"));
	CHECK(node("/spe") < 0);
}

static void test_pmu_spe(void)
{
	struct arm_fdt_info i = base_info();

	CHECK(build(&i) == 0);
	CHECK(node("/pmu") < 0);
	CHECK(node("/spe") < 0);
	i.pmu = true;
	i.spe = true;
	CHECK(build(&i) == 0);
	CHECK(str_is("/pmu", "compatible", "arm,armv8-pmuv3"));
	check_ppi("/pmu", "interrupts", 0, 7, 4);
	CHECK(str_is("/spe", "compatible", "arm,statistical-profiling-extension-v1"));
	CHECK_EQ(ncells("/spe", "interrupts"), 3);
	check_ppi("/spe", "interrupts", 0, 5, 4);	/* INTID 21 */
	CHECK(str_is("/psci", "method", "hvc"));
}

static void test_too_small(void)
{
	struct arm_fdt_info i = base_info();

	i.pci = true;
	CHECK(arm_fdt_build(&i, fdt, 1024) == -FDT_ERR_NOSPACE);
	CHECK(arm_fdt_build(&i, fdt, 16) < 0);
}

TEST_MAIN_BEGIN("arm-fdt")
	RUN(test_root_memory_chosen);
	RUN(test_rng_seed);
	RUN(test_cpus_psci);
	RUN(test_timer);
	RUN(test_gicv3_its);
	RUN(test_gicv2);
	RUN(test_uart);
	RUN(test_rtc);
	RUN(test_pvpanic);
	RUN(test_virtio_mmio);
	RUN(test_pci);
	RUN(test_nested);
	RUN(test_pmu_spe);
	RUN(test_too_small);
TEST_MAIN_END()
