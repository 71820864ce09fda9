/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PAUSE_H
#define LKVM_PAUSE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct kvm;

/*
 * Pausing a running VM (lkvm pause / lkvm resume, pause.c): every vCPU is
 * kicked out of KVM_RUN and parks until resumed. Devices keep running.
 */
struct kvm_pause {
	pthread_mutex_t lock;		/* nr_parked, with cond */
	pthread_cond_t cond;		/* on CLOCK_MONOTONIC */
	pthread_mutex_t op_lock;	/* one pause or resume at a time */
	atomic_bool requested;
	int nr_parked;
};

void kvm__pause_init(struct kvm *kvm);
/*
 * Park every vCPU; returns 0 once all of them are outside KVM_RUN, -1 if
 * the VM is stopping or they did not all park within @timeout_ms (the
 * pause is then undone). Pausing a paused VM succeeds.
 */
int kvm__pause(struct kvm *kvm, int timeout_ms);
/* Let parked vCPUs run again; resuming a running VM does nothing. */
void kvm__resume(struct kvm *kvm);
bool kvm__is_paused(struct kvm *kvm);

/*
 * For the vCPU loop, before KVM_RUN: is a pause on? Then park in
 * kvm__pause_park() until it is lifted or the VM stops.
 */
bool kvm__pause_requested(struct kvm *kvm);
void kvm__pause_park(struct kvm *kvm);

#endif
