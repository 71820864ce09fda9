// SPDX-License-Identifier: GPL-2.0
/* Ordered init stages with matching teardown. */
#include <stddef.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"

/* The registry: per process, filled by constructors before main(). */
static struct init_item *stages[NR_INIT_STAGES];

void init_register(struct init_item *item)
{
	struct init_item **p = &stages[item->stage];

	/* Keep registration order within a stage (link order). */
	while (*p)
		p = &(*p)->next;
	item->next = NULL;
	*p = item;
}

int init_run_stage(struct kvm *kvm, enum init_stage stage)
{
	struct init_item *it;

	for (it = stages[stage]; it; it = it->next) {
		pr_debug("init: %s", it->name);
		if (it->init(kvm) < 0)
			return -1;
		if (it->exit) {
			if (kvm->nr_init_done == ARRAY_SIZE(kvm->init_done))
				die("init: too many items");
			kvm->init_done[kvm->nr_init_done++] = it;
		}
	}
	return 0;
}

void init_run_exits(struct kvm *kvm)
{
	while (kvm->nr_init_done)
		kvm->init_done[--kvm->nr_init_done]->exit(kvm);
}
