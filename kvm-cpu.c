// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads: the KVM_RUN loop, exit dispatch and stopping. The top of
 * lkvm's layers: it calls into the VM (kvm.c, pause.c), the devices' buses
 * (iobus.c, ioeventfd.c) and the terminal; nothing below calls back here
 * but through the kick_vcpus callback registered in struct kvm.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/ioeventfd.h"
#include "lkvm/kvm-compat.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/pause.h"
#include "lkvm/privs.h"
#include "lkvm/term.h"

#define SIG_KICK	SIGUSR1

static void kick_handler(int sig __unused)
{
	/* Only there to make KVM_RUN return with EINTR. */
}

struct kvm_cpu *kvm_cpu__create(struct kvm *kvm, unsigned int id)
{
	struct kvm_cpu *cpu = xzalloc(sizeof(*cpu));

	cpu->kvm = kvm;
	cpu->id = id;
	cpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (cpu->fd < 0) {
		pr_err("KVM_CREATE_VCPU %u failed: %s", id, strerror(errno));
		free(cpu);
		return NULL;
	}
	cpu->run = mmap(NULL, kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, cpu->fd, 0);
	if (cpu->run == MAP_FAILED) {
		pr_err("mmap of vCPU %u failed: %s", id, strerror(errno));
		close(cpu->fd);
		free(cpu);
		return NULL;
	}
	if (kvm_cpu__arch_init(cpu)) {
		kvm_cpu__destroy(cpu);
		return NULL;
	}
	return cpu;
}

void kvm_cpu__destroy(struct kvm_cpu *cpu)
{
	munmap(cpu->run, cpu->kvm->vcpu_mmap_size);
	close(cpu->fd);
	free(cpu);
}

void kvm_cpu__kick(struct kvm_cpu *cpu)
{
	/*
	 * immediate_exit covers a vCPU that is between exits; the signal
	 * covers one that is inside KVM_RUN.
	 */
	cpu->run->immediate_exit = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (cpu->thread_started)
		pthread_kill(cpu->thread, SIG_KICK);
}

static void handle_io(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;
	u8 *data = (u8 *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	u32 i;

	/* A string instruction with a rep prefix arrives as count accesses. */
	for (i = 0; i < run->io.count; i++) {
		if (!ioeventfd_signal(cpu->kvm, run->io.port, data, run->io.size,
				      is_write, true))
			iobus_access(&cpu->kvm->pio_bus, run->io.port, data,
				     run->io.size, is_write);
		data += run->io.size;
	}
}

static void handle_mmio(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;
	u32 len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (!ioeventfd_signal(cpu->kvm, run->mmio.phys_addr, run->mmio.data, len,
			      run->mmio.is_write, false))
		iobus_access(&cpu->kvm->mmio_bus, run->mmio.phys_addr, run->mmio.data,
			     len, run->mmio.is_write);
}

static void guest_crashed(struct kvm_cpu *cpu, const char *what)
{
	struct kvm *kvm = cpu->kvm;

	if (atomic_load(&kvm->stopping))
		return;
	kvm__request_stop(kvm, LKVM_EXIT_GUEST_CRASH, "guest crashed: %s on vCPU %u",
			  what, cpu->id);
	kvm_cpu__dump(cpu);
}

static void handle_system_event(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;

	switch (cpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		kvm__request_stop(kvm, LKVM_EXIT_OK, NULL);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		kvm__request_stop(kvm, LKVM_EXIT_OK, NULL);
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		guest_crashed(cpu, "crash event");
		break;
	default:
		pr_debug("vCPU %u: ignoring system event %u", cpu->id,
			 cpu->run->system_event.type);
		break;
	}
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;
	char why[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(cpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(cpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/*
		 * With the in-kernel LAPIC a halt only reaches us when the
		 * guest halted for good: interrupts off, nothing can wake it.
		 */
		kvm__request_stop(cpu->kvm, LKVM_EXIT_GUEST_CRASH,
				  "guest halted with interrupts disabled on vCPU %u",
				  cpu->id);
		return false;
	case KVM_EXIT_SHUTDOWN:
		guest_crashed(cpu, "triple fault");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(cpu);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		guest_crashed(cpu, why);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "VM entry failed (reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		guest_crashed(cpu, why);
		return false;
	default:
		snprintf(why, sizeof(why), "unhandled KVM exit %u", run->exit_reason);
		guest_crashed(cpu, why);
		return false;
	}
}

/*
 * Before each KVM_RUN: park while a pause is on, and clear the kick
 * (immediate_exit) that made KVM_RUN return. Returns true when it did
 * either: the caller must look at kvm->stopping again before entering
 * KVM_RUN, since a stop may have raced with the clearing.
 */
static bool pause_point(struct kvm_cpu *cpu)
{
	if (!kvm__pause_requested(cpu->kvm) && !cpu->run->immediate_exit)
		return false;
	kvm__pause_park(cpu->kvm);
	/*
	 * Clear the kick, then let the caller look at stopping: a stop that
	 * kicked before this store set stopping first and is seen; one that
	 * kicks after it leaves immediate_exit set for KVM_RUN.
	 */
	cpu->run->immediate_exit = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_cpu *cpu = arg;
	struct kvm *kvm = cpu->kvm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", cpu->id);
	thread_filter_enter(&kvm->seccomp, "vcpu", name);
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&kvm->stopping)) {
		/* Parked while paused; after a kick, look at stopping again. */
		if (pause_point(cpu))
			continue;
		if (unlikely(!kvm->first_run_ns)) {
			u64 none = 0;

			atomic_compare_exchange_strong(&kvm->first_run_ns, &none, now_ns());
		}
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			kvm__request_stop(kvm, LKVM_EXIT_ERROR,
					  "KVM_RUN on vCPU %u failed: %s", cpu->id,
					  strerror(errno));
			break;
		}
		if (!handle_exit(cpu))
			break;
	}
	return NULL;
}

int kvm_cpu__start(struct kvm_cpu *cpu)
{
	static bool handler_installed;
	int r;

	if (!handler_installed) {
		struct sigaction sa = { .sa_handler = kick_handler };

		sigemptyset(&sa.sa_mask);
		sigaction(SIG_KICK, &sa, NULL);
		handler_installed = true;
	}
	r = lkvm_thread_create(&cpu->thread, vcpu_thread, cpu);
	if (r) {
		pr_err("cannot start vCPU %u thread: %s", cpu->id, strerror(r));
		return -1;
	}
	/* Started: joined by kvm_cpu__run_all() whatever happens next. */
	cpu->thread_started = true;
	thread_set_name(cpu->thread, "vcpu%u", cpu->id);
	if (cpu->kvm->cfg.vcpu_affinity &&
	    pthread_setaffinity_np(cpu->thread, sizeof(cpu_set_t),
				   cpu->kvm->cfg.vcpu_affinity) == EINVAL) {
		pr_err("--vcpu-affinity: lkvm may run on none of those CPUs");
		return -1;
	}
	return 0;
}

void kvm_cpu__dump(struct kvm_cpu *cpu)
{
	kvm_cpu__arch_dump(cpu);
}

void kvm_cpu__show_position(struct kvm_cpu *cpu)
{
	kvm_cpu__arch_show_position(cpu);
}

static void kick_all(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->nrcpus; i++)
		if (kvm->cpus[i])
			kvm_cpu__kick(kvm->cpus[i]);
}

int kvm_cpu__init_all(struct kvm *kvm)
{
	int i;

	kvm->nrcpus = kvm->cfg.nrcpus;
	kvm->cpus = xzalloc(kvm->nrcpus * sizeof(*kvm->cpus));
	kvm->kick_vcpus = kick_all;
	for (i = 0; i < kvm->nrcpus; i++) {
		kvm->cpus[i] = kvm_cpu__create(kvm, i);
		if (!kvm->cpus[i])
			return -1;
	}
	return 0;
}

int kvm_cpu__boot_all(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->nrcpus; i++)
		if (kvm_cpu__arch_setup_boot(kvm->cpus[i]))
			return -1;
	return 0;
}

/* Ctrl-A x on the terminal. */
static void term_quit(void *ctx)
{
	kvm__request_stop(ctx, LKVM_EXIT_OK, NULL);
}

int kvm_cpu__run_all(struct kvm *kvm)
{
	int i;

	if (kvm__catch_signals(kvm))
		return LKVM_EXIT_ERROR;
	/*
	 * Set-up is over: lkvm becomes --user (every thread, glibc sees to
	 * that), then every thread takes its filter before the guest runs.
	 */
	if (privs_drop(kvm))
		return LKVM_EXIT_ERROR;
	thread_filter_setup_done(kvm);
	for (i = 0; i < kvm->nrcpus; i++) {
		if (kvm_cpu__start(kvm->cpus[i])) {
			kvm__request_stop(kvm, LKVM_EXIT_ERROR, NULL);
			break;
		}
	}
	term_start(&kvm->term, term_quit, kvm);
	/* Last, once every thread exists: no thread inherits the main list. */
	if (thread_filter_main(kvm))
		kvm__request_stop(kvm, LKVM_EXIT_ERROR, NULL);

	kvm__wait(kvm);

	for (i = 0; i < kvm->nrcpus; i++) {
		if (kvm->cpus[i]->thread_started)
			pthread_join(kvm->cpus[i]->thread, NULL);
		kvm->cpus[i]->thread_started = false;
	}
	if (kvm->exit_code == LKVM_EXIT_TIMEOUT)
		for (i = 0; i < kvm->nrcpus; i++)
			kvm_cpu__show_position(kvm->cpus[i]);
	term_stop(&kvm->term);
	return kvm->exit_code;
}

void kvm_cpu__exit_all(struct kvm *kvm)
{
	int i;

	for (i = 0; kvm->cpus && i < kvm->nrcpus; i++)
		if (kvm->cpus[i])
			kvm_cpu__destroy(kvm->cpus[i]);
	free(kvm->cpus);
	kvm->cpus = NULL;
	kvm->kick_vcpus = NULL;
}
