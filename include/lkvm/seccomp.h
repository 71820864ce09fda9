/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_SECCOMP_H
#define LKVM_SECCOMP_H

#include <pthread.h>
#include <stdbool.h>

struct kvm;

/*
 * seccomp.c: one system call allow-list per thread class. Every lkvm thread
 * of a VM calls thread_filter_enter() first thing; threads started during
 * set-up wait there until the main thread calls thread_filter_setup_done(), then
 * install their class's filter before they touch anything of the guest's.
 * The main thread filters itself last (thread_filter_main()), after it has
 * created every thread, so no thread inherits the main list.
 *
 * Thread kinds (the @kind of thread_filter_enter()): "vcpu", "control",
 * "console-input", and each virtio device's name for its worker ("blk",
 * "net", "9p", "rng", "console", "balloon"). A thread of a helper started
 * before the filters (passt, virtiofsd) gets its own kind and list in
 * seccomp.c's class table.
 */
struct kvm_seccomp {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;		/* SECCOMP_SETUP, then _FILTER or _RELEASED */
	bool enabled;		/* not --no-seccomp */
};

/* In struct kvm; before any thread is created (kvm__init). */
int thread_filter_prepare(struct kvm *kvm);
/* First call of every VM thread (@s: its VM's); names it in violation messages. */
void thread_filter_enter(struct kvm_seccomp *s, const char *kind, const char *name);
/* Set-up is done: release the waiting threads into their filters. */
void thread_filter_setup_done(struct kvm *kvm);
/* Run by a violation before lkvm exits (async-signal-safe: the terminal). */
void thread_filter_set_exit_hook(void (*fn)(void));
/* Teardown: release waiting threads without filters (they only exit). */
void thread_filter_release(struct kvm *kvm);
/* The main thread, after it has started every thread: its own filter. */
int thread_filter_main(struct kvm *kvm);

/*
 * Install the filter of @kind ("main" for the main thread's) on the
 * calling thread, which @name names in a violation message. Returns 0, or
 * -1 after one line. For tests: what thread_filter_enter() does.
 */
int thread_filter_install(const char *kind, const char *name);

#endif
