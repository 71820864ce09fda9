// SPDX-License-Identifier: GPL-2.0
/*
 * The VM: /dev/kvm checks, guest memory, init stages, the run/stop cycle
 * and teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm-compat.h"
#include "lkvm/kvm.h"
#include "lkvm/privs.h"

/* Capabilities every architecture relies on. */
static const struct kvm_cap_req common_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ 0, NULL },
};

int kvm__check_cap(struct kvm *kvm, long cap)
{
	int r = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int kvm__vm_check_cap(struct kvm *kvm, long cap)
{
	int r = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int check_caps(struct kvm *kvm, const struct kvm_cap_req *req)
{
	for (; req->name; req++) {
		if (!kvm__vm_check_cap(kvm, req->cap)) {
			pr_err("KVM lacks %s, which lkvm needs", req->name);
			return -1;
		}
	}
	return 0;
}

static int open_kvm(struct kvm *kvm)
{
	int v;

	const char *dev = kvm->cfg.dev ? kvm->cfg.dev : "/dev/kvm";

	kvm->sys_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		if (errno == ENOENT && !kvm->cfg.dev)
			pr_err("/dev/kvm does not exist: load the kvm module, or use a host with virtualization");
		else
			pr_err("cannot open %s: %s", dev, strerror(errno));
		return -1;
	}
	v = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		if (v < 0)
			pr_err("%s is not a KVM device: %s", dev, strerror(errno));
		else
			pr_err("%s speaks KVM API version %d, lkvm needs %d", dev, v,
			       KVM_API_VERSION);
		return -1;
	}
	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM failed: %s", strerror(errno));
		return -1;
	}
	if (check_caps(kvm, common_caps) || check_caps(kvm, kvm_arch_required_caps))
		return -1;

	kvm->vcpu_mmap_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE failed");
		return -1;
	}
	kvm->max_vcpus = kvm__vm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (!kvm->max_vcpus)
		kvm->max_vcpus = kvm__vm_check_cap(kvm, KVM_CAP_NR_VCPUS);
	if (!kvm->max_vcpus)
		kvm->max_vcpus = 4;	/* documented default when unreported */
	/* Probed once here, so that the layers below never call back up. */
	kvm->caps.ioeventfd = kvm__vm_check_cap(kvm, KVM_CAP_IOEVENTFD);
	kvm->caps.ioeventfd_any_length = kvm__vm_check_cap(kvm, KVM_CAP_IOEVENTFD_ANY_LENGTH);
	kvm->caps.irqfd_resample = kvm__vm_check_cap(kvm, KVM_CAP_IRQFD_RESAMPLE);
	return 0;
}

int kvm__register_ram(struct kvm *kvm, u64 gpa, u64 size, void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = kvm->mem.nr_banks,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)host,
	};

	if (guest_mem_add_bank(&kvm->mem, gpa, size, host)) {
		pr_err("bad guest memory bank at 0x%llx", (unsigned long long)gpa);
		return -1;
	}
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (0x%llx, %llu MiB) failed: %s",
		       (unsigned long long)gpa, (unsigned long long)(size >> 20),
		       strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Guest RAM starts on a 2 MiB boundary of the host's address space too, so
 * transparent huge pages can back guest-physical 2 MiB blocks one to one
 * (and a balloon discard of such a block frees a whole huge page).
 */
static void *map_ram_aligned(u64 size, int fd)
{
	u64 slack = SZ_2M;
	u8 *p, *aligned;

	p = mmap(NULL, size + slack, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (u8 *)ALIGN_UP((unsigned long)p, SZ_2M);
	if (aligned > p)
		munmap(p, aligned - p);
	if (aligned + size < p + size + slack)
		munmap(aligned + size, p + size + slack - (aligned + size));
	/* A memfd replaces the reservation in place, keeping the alignment. */
	if (fd >= 0 && mmap(aligned, size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0) == MAP_FAILED) {
		munmap(aligned, size);
		return NULL;
	}
	return aligned;
}

/*
 * Guest RAM another process must map (a vhost-user back end) lives in a
 * memfd, mapped shared: the back end gets the descriptor in SET_MEM_TABLE.
 * The balloon then gives pages back with fallocate(PUNCH_HOLE) on it
 * (mem-discard.c): MADV_DONTNEED would only drop lkvm's page table entries.
 */
static int open_ram_memfd(struct kvm *kvm, u64 size)
{
	kvm->ram_fd = memfd_create("lkvm-guest-ram", MFD_CLOEXEC);
	if (kvm->ram_fd < 0 || ftruncate(kvm->ram_fd, size) < 0) {
		pr_err("cannot create %llu MiB of shared guest memory: %s",
		       (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_ram(struct kvm *kvm)
{
	u64 size = kvm->cfg.ram_size;

	if (kvm__arch_check_ram_size(kvm, size))
		return -1;

	/*
	 * One anonymous mapping holds all guest RAM; the arch code maps it
	 * into one or more guest-physical banks. Nothing is touched here:
	 * pages are populated on first use by the loaders or the guest.
	 */
	kvm->ram_map_size = size;
	if (kvm->cfg.mem_shared && open_ram_memfd(kvm, size))
		return -1;
	kvm->ram = map_ram_aligned(size, kvm->ram_fd);
	if (!kvm->ram) {
		pr_err("cannot allocate %llu MiB of guest memory: %s",
		       (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	madvise(kvm->ram, size, MADV_HUGEPAGE);
	madvise(kvm->ram, size, MADV_DONTFORK);
	privs_guard_ram(kvm, kvm->ram, size);
	return kvm__arch_setup_ram(kvm);
}

int kvm__append_cmdline(struct kvm *kvm, const char *s)
{
	size_t len = strlen(kvm->cmdline), add = strlen(s);

	if (!add)
		return 0;
	if (len + !!len + add >= sizeof(kvm->cmdline)) {
		pr_err("kernel command line is too long");
		return -1;
	}
	if (len)
		kvm->cmdline[len++] = ' ';
	memcpy(kvm->cmdline + len, s, add + 1);
	return 0;
}

static int build_cmdline(struct kvm *kvm)
{
	const char *user = kvm->cfg.params ? kvm->cfg.params : "";
	const char *def = ARCH_CMDLINE_SERIAL;

	/* A user who picks a console picks all of them. */
	if (strstr(user, "console="))
		def = "";
	else if (kvm->cfg.console && !strcmp(kvm->cfg.console, "virtio"))
		def = ARCH_CMDLINE_VIRTIO;
	/*
	 * The arch defaults come first so that the user's words override them;
	 * kvmtool's --nodefaults leaves the user's words alone (kvm-unit-tests
	 * reads its arguments from there).
	 */
	kvm->cmdline[0] = '\0';
	if (!kvm->cfg.nodefaults && kvm__append_cmdline(kvm, def))
		return -1;
	return kvm__append_cmdline(kvm, user);
}

/* How KVM_IRQ_LINE names line @irq (arm64 adds the interrupt type). */
#ifndef KVM_ARCH_IRQ_LINE
#define KVM_ARCH_IRQ_LINE(irq)	(irq)
#endif

int kvm__irq_line(struct kvm *kvm, u32 irq, int level)
{
	struct kvm_irq_level l = { .irq = KVM_ARCH_IRQ_LINE(irq), .level = level };

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l) < 0) {
		pr_warn("KVM_IRQ_LINE %u: %s", irq, strerror(errno));
		return -1;
	}
	return 0;
}

void kvm__irq_trigger(struct kvm *kvm, u32 irq)
{
	kvm__irq_line(kvm, irq, 1);
	kvm__irq_line(kvm, irq, 0);
}

void kvm__request_stop(struct kvm *kvm, int exit_code, const char *fmt, ...)
{
	bool expected = false;
	u64 one = 1;
	va_list ap;
	char msg[512];

	if (!atomic_compare_exchange_strong(&kvm->stopping, &expected, true))
		return;
	kvm->exit_code = exit_code;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		pr_info("%s", msg);
	}
	if (kvm->kick_vcpus)
		kvm->kick_vcpus(kvm);
	if (write(kvm->stop_fd, &one, sizeof(one)) < 0)
		pr_warn("stop: eventfd write failed");
}

static int check_ram_size(u64 size)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (size < LKVM_MIN_RAM) {
		pr_err("guest memory of %llu KiB is too small (minimum %llu MiB)",
		       (unsigned long long)(size >> 10),
		       (unsigned long long)(LKVM_MIN_RAM >> 20));
		return -1;
	}
	if (pages > 0 && psz > 0 && size > (u64)pages * psz) {
		pr_err("guest memory of %llu MiB exceeds the host's %llu MiB",
		       (unsigned long long)(size >> 20),
		       (unsigned long long)(((u64)pages * psz) >> 20));
		return -1;
	}
	return 0;
}

/*
 * A kernel or initrd that is missing, a directory, or (for a regular file)
 * not a kernel this arch boots. Pipes, FIFOs and devices are only stat()ed:
 * opening one here could eat data its writer has already sent, so the
 * loaders check those as they read them.
 */
static int check_input_file(const char *what, const char *path, bool kernel)
{
	u8 hdr[KVM_KERNEL_PROBE_LEN];
	const char *err;
	struct stat st;
	ssize_t len;
	int fd;

	if (stat(path, &st) < 0) {
		/*
		 * kvmtool's words for a missing kernel: kvm-unit-tests' runner
		 * probes the VMM with a kernel that does not exist and takes
		 * any other answer for a VMM that cannot run the test.
		 */
		if (kernel)
			pr_err("Fatal: Unable to open kernel %s: %s", path, strerror(errno));
		else
			pr_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		pr_err("%s '%s' is a directory", what, path);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	len = kernel ? pread_full(fd, hdr, sizeof(hdr), 0) : 0;
	if (len < 0) {
		pr_err("cannot read %s '%s': %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (kernel && kvm__arch_check_kernel(fd, hdr, len, st.st_size, &err)) {
		pr_err("%s '%s' %s", what, path, err);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * What can be refused without KVM is refused before /dev/kvm is opened: a
 * typo gets a message about the typo, also on a host without KVM.
 */
int kvm_config_check(const struct kvm_config *cfg)
{
	struct stat st;
	int i;

	if (check_ram_size(cfg->ram_size))
		return -1;
	if (cfg->firmware) {
		if (check_input_file("firmware", cfg->firmware, false))
			return -1;
	} else if (check_input_file("kernel", cfg->kernel_filename,
				     !cfg->aarch32 /* a 32-bit kernel is any raw binary */)) {
		return -1;
	}
	if (cfg->initrd_filename && check_input_file("initrd", cfg->initrd_filename, false))
		return -1;
	for (i = 0; i < cfg->nr_disks; i++) {
		if (stat(cfg->disks[i].path, &st) < 0) {
			pr_err("cannot open disk '%s': %s", cfg->disks[i].path,
			       strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			pr_err("disk '%s' is a directory", cfg->disks[i].path);
			return -1;
		}
	}
	return 0;
}

int kvm__init(struct kvm *kvm)
{
	kvm->sys_fd = kvm->vm_fd = kvm->signal_fd = kvm->ram_fd = -1;
	privs_no_core(kvm);
	thread_filter_set_exit_hook(term_emergency_restore);
	/* Before any thread: those started during set-up wait for its end. */
	if (thread_filter_prepare(kvm))
		return -1;
	kvm->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (kvm->stop_fd < 0) {
		pr_err("eventfd: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&kvm->irq_lock, NULL);
	kvm__pause_init(kvm);
	term_init(&kvm->term);
	kvm->term.filters = &kvm->seccomp;
	ioeventfd_init(&kvm->ioevents);
	iobus_init(&kvm->pio_bus, "pio");
	iobus_init(&kvm->mmio_bus, "mmio");

	if (open_kvm(kvm))
		return -1;
	if (kvm->cfg.nrcpus < 1 || kvm->cfg.nrcpus > kvm->max_vcpus) {
		pr_err("%d vCPUs requested; this host's KVM allows 1 to %d",
		       kvm->cfg.nrcpus, kvm->max_vcpus);
		return -1;
	}
	if (build_cmdline(kvm))
		return -1;
	if (kvm__arch_init(kvm))
		return -1;
	/*
	 * Memory slots go in before the interrupt controller: once it exists,
	 * every slot change waits for an SRCU grace period (~5 ms here).
	 */
	if (setup_ram(kvm))
		return -1;
	return kvm__arch_create_irqchip(kvm);
}

int kvm__init_devices(struct kvm *kvm)
{
	int i;

	for (i = 0; i < NR_INIT_STAGES; i++)
		if (init_run_stage(kvm, i))
			return -1;
	return 0;
}

static void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

int kvm__catch_signals(struct kvm *kvm)
{
	sigset_t set;

	/* Threads started from now on inherit the blocked set; signalfd gets them. */
	block_stop_signals(&set);
	kvm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (kvm->signal_fd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kvm__wait(struct kvm *kvm)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	int sfd = kvm->signal_fd;
	u64 deadline = 0;

	if (kvm->cfg.timeout > 0)
		deadline = now_ns() + (u64)kvm->cfg.timeout * 1000000000ULL;

	pfd[0] = (struct pollfd){ .fd = kvm->stop_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (!atomic_load(&kvm->stopping)) {
		int wait_ms = -1;

		if (deadline) {
			u64 now = now_ns();

			if (now >= deadline) {
				kvm__request_stop(kvm, LKVM_EXIT_TIMEOUT,
						  "timeout: guest stopped after %d s",
						  kvm->cfg.timeout);
				break;
			}
			wait_ms = (deadline - now) / 1000000 + 1;
		}
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN &&
		    read(sfd, &si, sizeof(si)) == sizeof(si))
			kvm__request_stop(kvm, 128 + si.ssi_signo,
					  "stopping the guest on signal %s",
					  strsignal(si.ssi_signo));
	}
	return kvm->exit_code;
}

void kvm__exit_devices(struct kvm *kvm)
{
	/* Threads still waiting for the end of set-up may now just exit. */
	thread_filter_release(kvm);
	init_run_exits(kvm);
}

void kvm__exit(struct kvm *kvm)
{
	kvm__arch_exit(kvm);
	free(kvm->irq_routing);
	kvm->irq_routing = NULL;
	if (kvm->ram)
		munmap(kvm->ram, kvm->ram_map_size);
	if (kvm->ram_fd >= 0)
		close(kvm->ram_fd);
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	if (kvm->stop_fd >= 0)
		close(kvm->stop_fd);
	if (kvm->signal_fd >= 0)
		close(kvm->signal_fd);
	iobus_exit(&kvm->pio_bus);
	iobus_exit(&kvm->mmio_bus);
}
