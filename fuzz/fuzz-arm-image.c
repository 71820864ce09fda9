// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the arm64 kernel loader (arm/image.c), built
 * natively: it knows nothing of KVM. The input is a kernel file, given on
 * a pipe as lkvm takes kernels from one: an Image, a raw binary or a gzip
 * of either, loaded into an 8 MiB guest RAM; then the page size and LPA2
 * checks with an ID_AA64MMFR0_EL1 value from the input, and the same bytes
 * as --firmware. Any crash or sanitizer report is a bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/arm-image.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define RAM_SIZE	(8 << 20)

static u8 *ram;

/* The input on a pipe (its buffer holds 64 KiB, fuzz/run.sh's max_len). */
static int input_fd(const u8 *data, size_t size)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		abort();
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	return p[0];
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct arm_ram r;
	struct arm_kernel k;
	struct arm_image img;
	const char *err = NULL;
	u64 mmfr0 = size >= 72 ? get_le64(data + 64) : 0;
	int fd;

	if (!ram)
		ram = malloc(RAM_SIZE);
	r = (struct arm_ram){ .gpa = 0x80000000ULL, .size = RAM_SIZE, .host = ram };

	fd = input_fd(data, size);
	if (arm_kernel_load(fd, &r, mmfr0, &k, &err) == 0) {
		if (k.end < k.load || k.load - r.gpa + k.file_size > r.size)
			__builtin_trap();	/* it said it fit */
		arm_image_avoid_lpa2(&k.img, mmfr0, mmfr0 & 63);
	} else if (!err) {
		__builtin_trap();		/* a refusal always says why */
	}
	close(fd);

	if (arm_image_parse(data, size, &img, &err) == 0)
		arm_image_check_page_size(&img, mmfr0, &err);
	arm_raw_check(data, size, &err);

	fd = input_fd(data, size);
	arm_firmware_load(fd, &r, r.gpa + ((mmfr0 >> 8) & (RAM_SIZE - 1) & ~3ULL), &k, &err);
	close(fd);
	return 0;
}
