// SPDX-License-Identifier: GPL-2.0
/*
 * pvpanic (hw/pvpanic.c): a guest writing "crash kernel loaded" in a loop
 * gets one line on lkvm's stderr, not one per write (issue F5); a panic
 * stops the VM; other bits are ignored.
 */
#include <stdatomic.h>

#include "lkvm/kvm.h"
#include "lkvm/pvpanic.h"
#include "test.h"

static int stops, stop_code;

void kvm__request_stop(struct kvm *kvm __unused, int exit_code, const char *fmt __unused, ...)
{
	if (!stops++)
		stop_code = exit_code;
}

/* Writes @n times @val; returns the lines that reached stderr. */
static int lines_for(struct pvpanic *p, u8 val, int n)
{
	char buf[65536];
	int pfd[2], saved, i, lines = 0;
	ssize_t got;

	if (pipe(pfd) < 0)
		return -1;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(pfd[1], STDERR_FILENO);
	for (i = 0; i < n; i++) {
		u8 d = val;

		pvpanic_access(p, &d, 1, true);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pfd[1]);
	while ((got = read(pfd[0], buf, sizeof(buf))) > 0)
		for (i = 0; i < got; i++)
			lines += buf[i] == '\n';
	close(pfd[0]);
	return lines;
}

static void test_crash_loaded_reported_once(void)
{
	struct pvpanic p = { 0 };

	CHECK_EQ(lines_for(&p, PVPANIC_CRASH_LOADED, 1000), 1);
	CHECK_EQ(lines_for(&p, PVPANIC_CRASH_LOADED, 10), 0);
	CHECK_EQ(stops, 0);
}

static void test_unknown_bits_say_nothing(void)
{
	struct pvpanic p = { 0 };

	CHECK_EQ(lines_for(&p, 0x80, 100), 0);
	CHECK_EQ(lines_for(&p, 0x00, 100), 0);
	CHECK_EQ(stops, 0);
}

static void test_panic_stops(void)
{
	struct pvpanic p = { 0 };
	u8 d = 0;

	CHECK_EQ(lines_for(&p, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED, 3), 0);
	CHECK(stops >= 1);
	CHECK_EQ(stop_code, LKVM_EXIT_GUEST_CRASH);
	pvpanic_access(&p, &d, 1, false);
	CHECK_EQ(d, PVPANIC_EVENTS);
}

TEST_MAIN_BEGIN("test-pvpanic")
	RUN(test_crash_loaded_reported_once);
	RUN(test_unknown_bits_say_nothing);
	RUN(test_panic_stops);
TEST_MAIN_END()
