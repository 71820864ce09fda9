// SPDX-License-Identifier: GPL-2.0
/*
 * What every action of the test guest shares: counting failed expectations
 * ("lkvmtest: bad <what>" lines), running the case an action names and
 * printing its "<action> result=pass" or "result=fail bad=<n>" line, and
 * counting device interrupts by vector with bounded waits for them.
 */
#include "guest.h"

u32 nbad;
volatile u32 irq_counts[IDT_VECTORS];

void bad(const char *fmt, ...)
{
	va_list ap;

	nbad++;
	va_start(ap, fmt);
	vsay("bad ", fmt, ap);
	va_end(ap);
}

void case_run(const char *act, const struct guest_case *cases, u32 n)
{
	u32 i;

	for (i = 0; i < n && strcmp(act, cases[i].name); i++)
		;
	if (i == n)
		fatal("unknown action %s", act);
	cases[i].run();
}

void case_result(const char *act)
{
	if (nbad)
		say("%s result=fail bad=%u", act, nbad);
	else
		say("%s result=pass", act);
}

u32 irq_total(void)
{
	u32 v, n = 0;

	for (v = VEC_DEV_FIRST; v < IDT_VECTORS; v++)
		n += irq_counts[v];
	return n;
}

bool irq_wait(u32 v, u32 count, u32 ms)
{
	deadline_set(ms);
	while (irq_counts[v] < count && !timer_fired)
		asm volatile("sti; hlt; cli" : : : "memory");
	deadline_clear();
	return irq_counts[v] >= count;
}

bool irq_wait_any(u32 seen, u32 ms)
{
	deadline_set(ms);
	while (irq_total() == seen && !timer_fired)
		asm volatile("sti; hlt; cli" : : : "memory");
	deadline_clear();
	return irq_total() != seen;
}
