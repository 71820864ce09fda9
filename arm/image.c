// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 Image header parsing and kernel loading from any file descriptor.
 *
 * A kernel on a pipe cannot be sized or re-read, and a gzip-compressed
 * one cannot be sized without decompressing it, so every kernel is read the
 * same way: 64 bytes first (through zlib when the input starts with the
 * gzip magic), parsed to find where the kernel goes, then the rest straight
 * into guest memory at that place. Nothing is buffered twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lkvm/arm-image.h"

/* ID_AA64MMFR0_EL1 translation granule fields. */
#define MMFR0_TGRAN4_SHIFT	28	/* 0 or 1: supported, 0xf: not */
#define MMFR0_TGRAN4_52BIT	1	/* 4 KiB granule with FEAT_LPA2 */
#define MMFR0_TGRAN64_SHIFT	24	/* 0: supported, 0xf: not */
#define MMFR0_TGRAN16_SHIFT	20	/* 1 or 2: supported, 0: not */

#define GZIP_IN_CHUNK		(64 * 1024)

int arm_image_parse(const u8 *hdr, size_t len, struct arm_image *img,
		    const char **err)
{
	static const unsigned int page_sizes[] = { 0, 4096, 16384, 65536 };

	memset(img, 0, sizeof(*img));
	if (len == 0) {
		*err = "is empty";
		return -1;
	}
	if (len < ARM_IMAGE_HDR_SIZE) {
		*err = "is truncated: shorter than the 64-byte arm64 Image header";
		return -1;
	}
	if (get_le32(hdr + ARM_IMAGE_MAGIC_OFF) != ARM_IMAGE_MAGIC) {
		/* The EFI zboot wrapper newer distributions ship as vmlinuz. */
		if (hdr[0] == 'M' && hdr[1] == 'Z' && !memcmp(hdr + 4, "zimg", 4))
			*err = "is an EFI zboot image, which lkvm cannot boot (extract the Image from it)";
		else
			*err = "is not an arm64 Image (no \"ARM\\x64\" magic at offset 56)";
		return -1;
	}
	img->text_offset = get_le64(hdr + ARM_IMAGE_TEXT_OFFSET);
	img->image_size = get_le64(hdr + ARM_IMAGE_IMAGE_SIZE);
	img->flags = get_le64(hdr + ARM_IMAGE_FLAGS);
	if (img->image_size == 0) {
		/*
		 * Before 3.17 the header carried neither flags nor a size, and
		 * text_offset was in the kernel's endianness: the boot protocol
		 * says to assume 0x80000.
		 */
		img->text_offset = ARM_IMAGE_OLD_TEXT_OFFSET;
		img->flags = 0;
	}
	if (img->flags & ARM_IMAGE_FLAG_BE) {
		*err = "is a big-endian Image; lkvm boots little-endian kernels only";
		return -1;
	}
	img->page_size = page_sizes[(img->flags >> ARM_IMAGE_PAGE_SHIFT) & 3];
	/* Keep the load address computation far from overflowing. */
	if (img->text_offset >= SZ_1G || img->image_size >= (1ULL << 40)) {
		*err = "has an implausible text_offset or image_size in its header";
		return -1;
	}
	if (img->image_size && img->image_size < ARM_IMAGE_HDR_SIZE) {
		*err = "has an image_size smaller than its own header";
		return -1;
	}
	return 0;
}

int arm_raw_check(const u8 *hdr, size_t len, const char **err)
{
	static const u8 elf[4] = { 0x7f, 'E', 'L', 'F' };

	if (len == 0) {
		*err = "is empty";
		return -1;
	}
	/* kvmtool reads a whole header before it decides, and so does lkvm. */
	if (len < ARM_IMAGE_HDR_SIZE) {
		*err = "is truncated: shorter than the 64-byte arm64 Image header";
		return -1;
	}
	if (get_le32(hdr + ARM_IMAGE_MAGIC_OFF) == ARM_IMAGE_MAGIC) {
		*err = "has an arm64 Image header: it is not a raw binary";
		return -1;
	}
	/*
	 * kvmtool would copy these to RAM and jump into them; lkvm names the
	 * mistake instead, since no such file runs from its first byte.
	 */
	if (!memcmp(hdr, elf, sizeof(elf))) {
		*err = "is an ELF file; lkvm boots an arm64 Image or a raw binary (objcopy -O binary makes one)";
		return -1;
	}
	if (hdr[0] == 0x1f && hdr[1] == 0x8b) {
		*err = "is gzip-compressed but holds no arm64 Image";
		return -1;
	}
	if (get_le32(hdr + ARM_ZIMAGE_MAGIC_OFF) == ARM_ZIMAGE_MAGIC) {
		*err = "is a 32-bit ARM zImage: boot it with --aarch32";
		return -1;
	}
	if (hdr[0] == 'M' && hdr[1] == 'Z') {
		if (!memcmp(hdr + 4, "zimg", 4))
			*err = "is an EFI zboot image, which lkvm cannot boot (extract the Image from it)";
		else
			*err = "is a PE/EFI executable without an arm64 Image header (an x86 kernel?)";
		return -1;
	}
	return 0;
}

int arm_image_check_page_size(const struct arm_image *img, u64 mmfr0,
			      const char **err)
{
	unsigned int t4 = (mmfr0 >> MMFR0_TGRAN4_SHIFT) & 0xf;
	unsigned int t64 = (mmfr0 >> MMFR0_TGRAN64_SHIFT) & 0xf;
	unsigned int t16 = (mmfr0 >> MMFR0_TGRAN16_SHIFT) & 0xf;

	switch (img->page_size) {
	case 4096:
		if (t4 == 0xf)
			goto unsupported;
		break;
	case 16384:
		if (t16 == 0)
			goto unsupported;
		break;
	case 65536:
		if (t64 == 0xf)
			goto unsupported;
		break;
	}
	return 0;
unsupported:
	switch (img->page_size) {
	case 4096:
		*err = "uses 4 KiB pages, which this host's CPU cannot run in a guest";
		break;
	case 16384:
		*err = "uses 16 KiB pages, which this host's CPU cannot run in a guest";
		break;
	default:
		*err = "uses 64 KiB pages, which this host's CPU cannot run in a guest";
		break;
	}
	return -1;
}

bool arm_image_avoid_lpa2(const struct arm_image *img, u64 mmfr0, unsigned int ipa_max)
{
	unsigned int t4 = (mmfr0 >> MMFR0_TGRAN4_SHIFT) & 0xf;

	/* Only the 4 KiB granule has a level -1 (16 and 64 KiB start at 0). */
	if (img->page_size && img->page_size != 4096)
		return false;
	return t4 == MMFR0_TGRAN4_52BIT && ipa_max < ARM_LPA2_IPA_BITS;
}

/* --- one reader for plain and gzip-compressed streams -------------------- */

struct src {
	int fd;
	u8 pre[ARM_IMAGE_HDR_SIZE];	/* read before the format was known */
	size_t pre_len, pre_off;
	bool gzip, gzip_end;
	z_stream zs;
	u8 *in;
};

/* Read up to @len bytes, from what was read ahead first. */
static ssize_t raw_read(struct src *s, u8 *dst, size_t len)
{
	size_t n = min(len, s->pre_len - s->pre_off);
	ssize_t r;

	memcpy(dst, s->pre + s->pre_off, n);
	s->pre_off += n;
	if (n == len)
		return n;
	r = read_full(s->fd, dst + n, len - n);
	return r < 0 ? -1 : (ssize_t)(n + r);
}

/* Fill @dst completely unless the stream ends; -1 with @err on failure. */
static ssize_t src_read(struct src *s, u8 *dst, size_t len, const char **err)
{
	size_t done = 0;

	if (!s->gzip) {
		ssize_t r = raw_read(s, dst, len);

		if (r < 0)
			*err = "cannot be read";
		return r;
	}
	while (done < len && !s->gzip_end) {
		size_t chunk = min(len - done, (size_t)1 << 30);
		int zr;

		if (s->zs.avail_in == 0) {
			ssize_t r = raw_read(s, s->in, GZIP_IN_CHUNK);

			if (r < 0) {
				*err = "cannot be read";
				return -1;
			}
			if (r == 0) {
				*err = "is a truncated gzip stream";
				errno = 0;
				return -1;
			}
			s->zs.next_in = s->in;
			s->zs.avail_in = r;
		}
		s->zs.next_out = dst + done;
		s->zs.avail_out = chunk;
		zr = inflate(&s->zs, Z_NO_FLUSH);
		done += chunk - s->zs.avail_out;
		if (zr == Z_STREAM_END) {
			s->gzip_end = true;
		} else if (zr != Z_OK && !(zr == Z_BUF_ERROR && s->zs.avail_out)) {
			*err = zr == Z_MEM_ERROR ? "cannot be decompressed: out of memory" :
			       "is a corrupt gzip stream";
			errno = 0;
			return -1;
		}
	}
	return done;
}

static int src_open(struct src *s, int fd, const char **err)
{
	ssize_t r;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	r = read_full(fd, s->pre, sizeof(s->pre));
	if (r < 0) {
		*err = "cannot be read";
		return -1;
	}
	s->pre_len = r;
	if (r < 2 || s->pre[0] != 0x1f || s->pre[1] != 0x8b)
		return 0;
	/* gzip (RFC 1952): inflate with the gzip wrapper (16 + window bits). */
	s->gzip = true;
	s->in = xmalloc(GZIP_IN_CHUNK);
	if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK) {
		free(s->in);
		s->in = NULL;
		*err = "cannot be decompressed: zlib failed to start";
		errno = 0;
		return -1;
	}
	return 0;
}

static void src_close(struct src *s)
{
	if (s->gzip)
		inflateEnd(&s->zs);
	free(s->in);
	s->in = NULL;
}

int arm_kernel_load(int fd, const struct arm_ram *ram, u64 mmfr0,
		    struct arm_kernel *k, const char **err)
{
	u8 hdr[ARM_IMAGE_HDR_SIZE], extra;
	u64 off, room;
	ssize_t n;
	struct src s;
	int ret = -1;

	memset(k, 0, sizeof(*k));
	errno = 0;
	if (src_open(&s, fd, err))
		return -1;
	k->gzip = s.gzip;
	n = src_read(&s, hdr, sizeof(hdr), err);
	if (n < 0)
		goto out;
	if (!s.gzip && (n < (ssize_t)sizeof(hdr) ||
			get_le32(hdr + ARM_IMAGE_MAGIC_OFF) != ARM_IMAGE_MAGIC)) {
		/* No header: a raw binary, read up to the end of RAM. */
		if (arm_raw_check(hdr, n, err)) {
			errno = 0;
			goto out;
		}
		k->raw = true;
		k->img.text_offset = ARM_RAW_TEXT_OFFSET;
	} else if (arm_image_parse(hdr, n, &k->img, err) ||
		   arm_image_check_page_size(&k->img, mmfr0, err)) {
		errno = 0;
		goto out;
	}

	/* RAM starts 2 MiB aligned, so its first byte is a valid base. */
	k->load = ram->gpa + k->img.text_offset;
	off = k->img.text_offset;
	if (off + (k->img.image_size ? k->img.image_size : ARM_IMAGE_HDR_SIZE) > ram->size) {
		*err = "does not fit in guest memory";
		errno = 0;
		goto out;
	}
	/* The rest goes straight to its place, bounded by image_size or RAM. */
	room = (k->img.image_size ? k->img.image_size : ram->size - off) - sizeof(hdr);
	memcpy(ram->host + off, hdr, sizeof(hdr));
	n = src_read(&s, ram->host + off + sizeof(hdr), room, err);
	if (n < 0)
		goto out;
	k->file_size = sizeof(hdr) + n;
	if ((u64)n == room) {
		/* Anything left over means the Image lied about its size. */
		ssize_t more = src_read(&s, &extra, 1, err);

		if (more < 0)
			goto out;
		if (more) {
			*err = k->img.image_size ?
			       "is larger than the image_size in its header" :
			       "does not fit in guest memory";
			errno = 0;
			goto out;
		}
	}
	k->end = k->load + max(k->file_size, k->img.image_size);
	ret = 0;
out:
	src_close(&s);
	return ret;
}

int arm_firmware_load(int fd, const struct arm_ram *ram, u64 addr,
		      struct arm_kernel *k, const char **err)
{
	u64 off = addr - ram->gpa, room;
	struct src s;
	ssize_t n;
	u8 extra;

	memset(k, 0, sizeof(*k));
	errno = 0;
	if (addr < ram->gpa || off >= ram->size) {
		*err = "cannot be loaded there: the address is outside guest RAM";
		return -1;
	}
	if (addr & 3) {
		*err = "cannot be entered there: the address is not 4-byte aligned";
		return -1;
	}
	/* Taken as it is: no header, no decompression. */
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	room = ram->size - off;
	n = src_read(&s, ram->host + off, room, err);
	if (n < 0)
		return -1;
	if (n == 0) {
		*err = "is empty";
		return -1;
	}
	if ((u64)n == room) {
		ssize_t more = src_read(&s, &extra, 1, err);

		if (more < 0)
			return -1;
		if (more) {
			*err = "does not fit in guest memory at that address";
			errno = 0;
			return -1;
		}
	}
	k->raw = true;
	k->load = addr;
	k->file_size = n;
	k->end = addr + n;
	return 0;
}
