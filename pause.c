// SPDX-License-Identifier: GPL-2.0
/*
 * Pause and resume of the vCPUs. A pause sets a flag and kicks every vCPU
 * (immediate_exit plus a signal, as a stop does, through the callback the
 * vCPU layer registered); each vCPU notices the flag before its next
 * KVM_RUN and parks in kvm__pause_park(). The pauser waits until all of
 * them have parked, so that when it returns no vCPU is inside KVM_RUN.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "lkvm/kvm.h"
#include "lkvm/pause.h"

/* A parked vCPU looks at kvm->stopping this often (a stop doesn't wake it). */
#define PARK_POLL_MS	50

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

void kvm__pause_init(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;
	pthread_condattr_t a;

	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->op_lock, NULL);
	/* The condition variable waits on CLOCK_MONOTONIC. */
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &a);
	pthread_condattr_destroy(&a);
	atomic_store(&p->requested, false);
	p->nr_parked = 0;
}

bool kvm__pause_requested(struct kvm *kvm)
{
	return atomic_load(&kvm->pause.requested);
}

void kvm__pause_park(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;
	struct timespec ts;

	pthread_mutex_lock(&p->lock);
	if (atomic_load(&p->requested)) {
		p->nr_parked++;
		pthread_cond_broadcast(&p->cond);
		while (atomic_load(&p->requested) && !atomic_load(&kvm->stopping)) {
			deadline_in(&ts, PARK_POLL_MS);
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		}
		p->nr_parked--;
	}
	pthread_mutex_unlock(&p->lock);
}

int kvm__pause(struct kvm *kvm, int timeout_ms)
{
	struct kvm_pause *p = &kvm->pause;
	struct timespec ts;
	int r = 0;

	pthread_mutex_lock(&p->op_lock);
	if (atomic_load(&p->requested))
		goto out;
	atomic_store(&p->requested, true);
	if (kvm->kick_vcpus)
		kvm->kick_vcpus(kvm);

	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&p->lock);
	while (p->nr_parked < kvm->nrcpus && !atomic_load(&kvm->stopping)) {
		if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (p->nr_parked < kvm->nrcpus) {
		/* Undo: the vCPUs that did park run on. */
		atomic_store(&p->requested, false);
		pthread_cond_broadcast(&p->cond);
		r = -1;
	}
	pthread_mutex_unlock(&p->lock);
out:
	pthread_mutex_unlock(&p->op_lock);
	return r;
}

void kvm__resume(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;

	pthread_mutex_lock(&p->op_lock);
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->requested, false);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->op_lock);
}

bool kvm__is_paused(struct kvm *kvm)
{
	return kvm__pause_requested(kvm);
}
