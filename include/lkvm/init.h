/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_INIT_H
#define LKVM_INIT_H

struct kvm;

/*
 * Init stages, run in this order once the VM and its memory exist. Devices
 * register themselves with one of the macros below; their exit functions
 * run in reverse order at teardown.
 */
enum init_stage {
	INIT_DEV,	/* platform devices: serial, rtc, reset */
	INIT_VIRTIO,	/* virtio devices (after their transports' buses) */
	INIT_FIRMWARE,	/* ACPI / device tree: describes every device */
	INIT_LOADER,	/* kernel, initrd, boot parameters */
	INIT_LAST,	/* after all guest memory has been written */
	NR_INIT_STAGES,
};

struct init_item {
	const char *name;
	int (*init)(struct kvm *kvm);
	void (*exit)(struct kvm *kvm);
	enum init_stage stage;
	struct init_item *next;
};

void init_register(struct init_item *item);
/* Run one stage; returns -1 (after a message from the failing item) on error. */
int init_run_stage(struct kvm *kvm, enum init_stage stage);
/* Run the exit functions of every item that was initialised, newest first. */
void init_run_exits(struct kvm *kvm);

#define __lkvm_init(st, fn, ex)						\
	static struct init_item __init_item_##fn = {			\
		.name = #fn, .init = fn, .exit = ex, .stage = st,	\
	};								\
	static void __attribute__((constructor)) __init_reg_##fn(void)	\
	{								\
		init_register(&__init_item_##fn);			\
	}

#define dev_init(fn, ex)	__lkvm_init(INIT_DEV, fn, ex)
#define virtio_dev_init(fn, ex)	__lkvm_init(INIT_VIRTIO, fn, ex)
#define firmware_init(fn, ex)	__lkvm_init(INIT_FIRMWARE, fn, ex)
#define loader_init(fn, ex)	__lkvm_init(INIT_LOADER, fn, ex)
#define last_init(fn, ex)	__lkvm_init(INIT_LAST, fn, ex)

#endif
