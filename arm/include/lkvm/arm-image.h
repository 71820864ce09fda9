/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_IMAGE_H
#define LKVM_ARM_IMAGE_H

#include "lkvm/util.h"

/*
 * The arm64 kernel Image (Documentation/arch/arm64/booting.rst): a 64-byte
 * little-endian header, then the kernel, loaded text_offset bytes above a
 * 2 MiB-aligned base and entered at its first byte with x0 = DTB address.
 *
 * Nothing here knows about KVM, so the unit tests run it on any host.
 */
#define ARM_IMAGE_HDR_SIZE	64
#define ARM_IMAGE_TEXT_OFFSET	8	/* u64 */
#define ARM_IMAGE_IMAGE_SIZE	16	/* u64: bytes the kernel occupies, with BSS */
#define ARM_IMAGE_FLAGS		24	/* u64 */
#define ARM_IMAGE_MAGIC_OFF	56	/* u32 */
#define ARM_IMAGE_MAGIC		0x644d5241U	/* "ARM\x64" */
#define ARM_IMAGE_FLAG_BE	(1ULL << 0)
#define ARM_IMAGE_PAGE_SHIFT	1	/* bits 1-2: 0 any, 1 4K, 2 16K, 3 64K */
#define ARM_IMAGE_FLAG_ANYWHERE	(1ULL << 3)
/* Images from before Linux 3.17 leave image_size 0 and assume this. */
#define ARM_IMAGE_OLD_TEXT_OFFSET	0x80000ULL
/*
 * A file without the Image header is a raw binary (kvm-unit-tests' .flat
 * tests, bare-metal programs): like kvmtool, lkvm loads it at the default
 * text offset and enters it at its first byte with the same contract.
 */
#define ARM_RAW_TEXT_OFFSET	ARM_IMAGE_OLD_TEXT_OFFSET
/* A 32-bit kernel (zImage) goes 32 KiB into RAM; its data stays in 256 MiB. */
#define ARM_AARCH32_TEXT_OFFSET	0x8000ULL
#define ARM_AARCH32_LOWMEM	(256 * SZ_1M)
/* A 32-bit zImage says what it is here (arch/arm/boot/compressed/head.S). */
#define ARM_ZIMAGE_MAGIC_OFF	0x24
#define ARM_ZIMAGE_MAGIC	0x016f2818U

struct arm_image {
	u64 text_offset;
	u64 image_size;		/* from the header, 0 when unknown (old kernels) */
	u64 flags;
	unsigned int page_size;	/* 0 when the Image does not say */
};

/*
 * Parse the first @len bytes of an Image. Returns 0, or -1 with @err set to
 * a phrase that completes "kernel 'x' ..." (truncated, not an Image,
 * big-endian, ...).
 */
int arm_image_parse(const u8 *hdr, size_t len, struct arm_image *img,
		    const char **err);

/*
 * May a file whose first @len bytes are @hdr, and which has no Image
 * header, be booted as a raw binary? Returns 0, or -1 with @err set when
 * it is recognisably something else (empty, shorter than a header, ELF,
 * PE/EFI, gzip) or when @hdr does have a header (arm_image_parse() judges
 * those).
 */
int arm_raw_check(const u8 *hdr, size_t len, const char **err);

/*
 * Can a guest CPU with this ID_AA64MMFR0_EL1 run the Image's page size?
 * Returns 0, or -1 with @err set like arm_image_parse().
 */
int arm_image_check_page_size(const struct arm_image *img, u64 mmfr0,
			      const char **err);

/*
 * Should the guest kernel be told "arm64.nolva" (no 52-bit virtual
 * addresses)? True for a 4 KiB-page Image (or one that doesn't say) when
 * the guest CPU has FEAT_LPA2 (ID_AA64MMFR0_EL1.TGran4 = 1) but KVM's
 * largest IPA size (KVM_CAP_ARM_VM_IPA_SIZE, @ipa_max; 0 when KVM cannot
 * tell) stays below 52 bits, which says KVM predates its LPA2 support
 * (Linux 6.9).
 *
 * Why: a kernel built for 52-bit VAs with 4 KiB pages (Debian's arm64
 * kernels since 6.12) starts its table walks at level -1 on such a CPU. A
 * stage 2 fault taken during that walk, e.g. on a top-level table after the
 * host split the huge page under it (a balloon inflate does), reaches KVM
 * with a level -1 fault status code, at least from QEMU's emulated CPU,
 * which reports the stage 1 level there. KVM before 6.9 does not know the
 * code: it logs "Unsupported FSC" and KVM_RUN fails with EFAULT. With
 * arm64.nolva the guest keeps 48-bit VAs and four levels, and never walks
 * level -1. A heuristic: a newer KVM on a host without 52-bit IPAs gets
 * the option too, which costs the guest nothing but VA space above 256 TiB.
 */
#define ARM_LPA2_IPA_BITS	52
bool arm_image_avoid_lpa2(const struct arm_image *img, u64 mmfr0, unsigned int ipa_max);

/*
 * The guest RAM the kernel goes into: [gpa, gpa + size) at host address
 * @host. The base is 2 MiB aligned.
 */
struct arm_ram {
	u64 gpa;
	u64 size;
	u8 *host;
};

struct arm_kernel {
	struct arm_image img;
	u64 load;		/* guest address of the Image's first byte */
	u64 file_size;		/* bytes read (after decompression) */
	u64 end;		/* first byte after the kernel, BSS included */
	bool gzip;		/* the input was gzip-compressed */
	bool raw;		/* no Image header: a raw binary */
};

/*
 * Read a kernel from @fd, which may be a regular file, a pipe, a FIFO or any
 * other stream, plain or gzip-compressed: the first 64 bytes are read and
 * parsed, then the rest is read straight to its place in @ram. Returns 0,
 * or -1 with @err set; a system error leaves errno set and @err says what
 * failed. @mmfr0 is the guest CPU's ID_AA64MMFR0_EL1 for the page size check.
 */
int arm_kernel_load(int fd, const struct arm_ram *ram, u64 mmfr0,
		    struct arm_kernel *k, const char **err);

/*
 * kvmtool's --firmware: read all of @fd, uninterpreted, to guest address
 * @addr (which must lie in @ram and be 4-byte aligned: it is the entry
 * point). Sets k->load, k->file_size and k->end (k->raw is true). Returns
 * 0, or -1 with @err set like arm_kernel_load().
 */
int arm_firmware_load(int fd, const struct arm_ram *ram, u64 addr,
		      struct arm_kernel *k, const char **err);

#endif
