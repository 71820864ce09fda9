// SPDX-License-Identifier: GPL-2.0
/* Ordered init stages with matching teardown. */
#include <stddef.h>

#include "lkvm/init.h"
#include "lkvm/util.h"

static struct init_item *stages[NR_INIT_STAGES];
/* Items that initialised successfully, most recent first. */
static struct init_item *done[64];
static unsigned int nr_done;

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
			if (nr_done == ARRAY_SIZE(done))
				die("init: too many items");
			done[nr_done++] = it;
		}
	}
	return 0;
}

void init_run_exits(struct kvm *kvm)
{
	while (nr_done)
		done[--nr_done]->exit(kvm);
}
