/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PAUSE_H
#define LKVM_PAUSE_H

#include <stdbool.h>

struct kvm;
struct kvm_cpu;

/*
 * Pausing a running VM (lkvm pause / lkvm resume, pause.c): every vCPU is
 * kicked out of KVM_RUN and parks until resumed. Devices keep running.
 */

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
 * Called by each vCPU thread before KVM_RUN. Parks while a pause is on, and
 * clears the kick (immediate_exit) that made KVM_RUN return. Returns true
 * when it did either: the caller must look at kvm->stopping again before
 * entering KVM_RUN, since a stop may have raced with the clearing.
 */
bool kvm_cpu__pause_point(struct kvm_cpu *cpu);

#endif
