/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_CPU_H
#define LKVM_KVM_CPU_H

#include <linux/kvm.h>
#include <pthread.h>

#include "lkvm/kvm.h"

struct kvm_cpu {
	struct kvm *kvm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
};

/*
 * Every vCPU of the VM: created after kvm__init() (registering
 * kvm->kick_vcpus), set up for boot after kvm__init_devices(), run until
 * the VM stops (returns lkvm's exit status), destroyed after
 * kvm__exit_devices().
 */
int kvm_cpu__init_all(struct kvm *kvm);
int kvm_cpu__boot_all(struct kvm *kvm);
int kvm_cpu__run_all(struct kvm *kvm);
void kvm_cpu__exit_all(struct kvm *kvm);

struct kvm_cpu *kvm_cpu__create(struct kvm *kvm, unsigned int id);
void kvm_cpu__destroy(struct kvm_cpu *cpu);
int kvm_cpu__start(struct kvm_cpu *cpu);
/* Make the vCPU leave KVM_RUN soon (immediate_exit + a signal). */
void kvm_cpu__kick(struct kvm_cpu *cpu);
/* Print the vCPU's registers, one short block, to stderr. */
void kvm_cpu__dump(struct kvm_cpu *cpu);
/* One line: where the vCPU is ("vCPU 0: rip 0x... (halted)"). */
void kvm_cpu__show_position(struct kvm_cpu *cpu);

/* Arch hooks. */
int kvm_cpu__arch_init(struct kvm_cpu *cpu);		/* at creation */
int kvm_cpu__arch_setup_boot(struct kvm_cpu *cpu);	/* after the loaders */
void kvm_cpu__arch_dump(struct kvm_cpu *cpu);
void kvm_cpu__arch_show_position(struct kvm_cpu *cpu);

#endif
