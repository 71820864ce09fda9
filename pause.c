// SPDX-License-Identifier: GPL-2.0
/*
 * Pause and resume of the vCPUs. A pause sets a flag and kicks every vCPU
 * (immediate_exit plus a signal, as a stop does); each vCPU notices the flag
 * before its next KVM_RUN and waits here. The pauser waits until all of them
 * have parked, so that when it returns no vCPU is inside KVM_RUN.
 *
 * One VM per process: the state is file-local, like the devices' own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "lkvm/kvm-cpu.h"
#include "lkvm/pause.h"

/* A parked vCPU looks at kvm->stopping this often (a stop doesn't wake it). */
#define PARK_POLL_MS	50

static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t pause_op_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool pause_requested;
static int nr_parked;

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

/* The condition variable waits on CLOCK_MONOTONIC (set up once). */
static void __attribute__((constructor)) pause_cond_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&pause_cond, &a);
	pthread_condattr_destroy(&a);
}

bool kvm_cpu__pause_point(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	struct timespec ts;

	if (!atomic_load(&pause_requested) && !cpu->run->immediate_exit)
		return false;

	pthread_mutex_lock(&pause_lock);
	if (atomic_load(&pause_requested)) {
		nr_parked++;
		pthread_cond_broadcast(&pause_cond);
		while (atomic_load(&pause_requested) && !atomic_load(&kvm->stopping)) {
			deadline_in(&ts, PARK_POLL_MS);
			pthread_cond_timedwait(&pause_cond, &pause_lock, &ts);
		}
		nr_parked--;
	}
	pthread_mutex_unlock(&pause_lock);

	/*
	 * Clear the kick, then let the caller look at stopping: a stop that
	 * kicked before this store set stopping first and is seen; one that
	 * kicks after it leaves immediate_exit set for KVM_RUN.
	 */
	cpu->run->immediate_exit = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return true;
}

int kvm__pause(struct kvm *kvm, int timeout_ms)
{
	struct timespec ts;
	int i, r = 0;

	pthread_mutex_lock(&pause_op_lock);
	if (atomic_load(&pause_requested))
		goto out;
	atomic_store(&pause_requested, true);
	for (i = 0; i < kvm->nrcpus; i++)
		if (kvm->cpus[i])
			kvm_cpu__kick(kvm->cpus[i]);

	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&pause_lock);
	while (nr_parked < kvm->nrcpus && !atomic_load(&kvm->stopping)) {
		if (pthread_cond_timedwait(&pause_cond, &pause_lock, &ts) == ETIMEDOUT)
			break;
	}
	if (nr_parked < kvm->nrcpus) {
		/* Undo: the vCPUs that did park run on. */
		atomic_store(&pause_requested, false);
		pthread_cond_broadcast(&pause_cond);
		r = -1;
	}
	pthread_mutex_unlock(&pause_lock);
out:
	pthread_mutex_unlock(&pause_op_lock);
	return r;
}

void kvm__resume(struct kvm *kvm __unused)
{
	pthread_mutex_lock(&pause_op_lock);
	pthread_mutex_lock(&pause_lock);
	atomic_store(&pause_requested, false);
	pthread_cond_broadcast(&pause_cond);
	pthread_mutex_unlock(&pause_lock);
	pthread_mutex_unlock(&pause_op_lock);
}

bool kvm__is_paused(struct kvm *kvm __unused)
{
	return atomic_load(&pause_requested);
}
