// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp-bpf allow-lists, one per thread class, built with libseccomp.
 *
 * The guest is untrusted and reaches lkvm's code on the vCPU threads (MMIO,
 * port I/O), the device workers (virtqueues), and indirectly the control
 * and console-input threads. Each class may make only the system calls its
 * work needs; anything else is a bug or an exploit, and ends lkvm.
 *
 * A violation traps (SCMP_ACT_TRAP) rather than killing the process
 * outright: the SIGSYS handler below prints one line naming the thread and
 * the system call with write(2), puts the terminal back (the exit hook:
 * tcsetattr) and exits with status 1. SCMP_ACT_KILL_PROCESS would end
 * lkvm with a bare status 159 and, at best, an audit record. The handler
 * cannot be taken away by a thread that handles guest input: rt_sigaction
 * is only in the main thread's list (and the sanitizer build's), and a
 * blocked SIGSYS still kills the process (the kernel forces it).
 *
 * mmap and mprotect are allowed without PROT_EXEC only: lkvm never maps
 * code after start. ioctl is allowed for the requests a class uses. An
 * x32 or foreign-architecture system call kills the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/seccomp.h"

/* A struct kvm never prepared (unit tests) neither waits nor filters. */
enum { SECCOMP_RELEASED, SECCOMP_SETUP, SECCOMP_FILTER };

#define NR_FCHMODAT2	452	/* the same on x86_64 and arm64 */

/*
 * Signal-handler state, hence process-wide rather than in struct kvm: the
 * calling thread's name, and the system call names, resolved before any
 * filter is loaded (libseccomp's lookup allocates).
 */
#define NR_SYSCALL_NAMES	512
static const char *syscall_names[NR_SYSCALL_NAMES];
static __thread char thread_name[32];
static void (*exit_hook)(void);	/* puts the terminal back */

/* Every thread: the C library, locks, time, its own signals, exit. */
static const char *const common_calls[] = {
	"read", "write", "readv", "writev", "close", "futex", "restart_syscall",
	"rt_sigreturn", "rt_sigprocmask", "exit", "exit_group", "brk", "munmap",
	"mremap", "madvise", "getpid", "gettid", "tgkill", "clock_gettime",
	"clock_nanosleep", "nanosleep", "gettimeofday", "sched_yield", "poll",
	"ppoll", "fstat", "newfstatat", "getrandom", "getuid", "geteuid", "getgid",
	"getegid", "time", "rseq",
	NULL,
};

/*
 * The interrupts a device raises (irq.c): lines, MSIs and their routes;
 * and its doorbells: a worker that serves a queue the driver moved to its
 * own notify address (the virtio-mmio notify extension) registers that
 * address's ioeventfd (virtio/transport.c).
 */
static const unsigned long irq_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_SET_GSI_ROUTING, KVM_IOEVENTFD, 0,
};

/*
 * A vCPU runs the guest, emulates the devices' registers (a device reset
 * or a doorbell set-up happens here), and shows its registers when the
 * guest crashes.
 */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MP_STATE, KVM_GET_ONE_REG,
#ifdef __x86_64__
	KVM_GET_LAPIC,
#endif
	KVM_IOEVENTFD, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_SET_GSI_ROUTING,
	TUNSETOFFLOAD, TUNSETQUEUE,
	/*
	 * vhost-net and vhost-vsock: the driver's DRIVER_OK, a reset or a
	 * queue's set-up hands the rings to the kernel (virtio/vhost.c).
	 */
	VHOST_GET_FEATURES, VHOST_SET_FEATURES, VHOST_SET_OWNER, VHOST_SET_MEM_TABLE,
	VHOST_SET_VRING_NUM, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_BASE,
	VHOST_GET_VRING_BASE, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
	VHOST_NET_SET_BACKEND, VHOST_VSOCK_SET_GUEST_CID, VHOST_VSOCK_SET_RUNNING, 0,
};
static const char *const vcpu_calls[] = {
	/* virtio-blk's reset waits for its requests in flight */
	"io_getevents", "io_pgetevents", "io_submit", "io_cancel", "fdatasync", "epoll_ctl",
	/* an MSI-X or MMIO MSI vector gets its irqfd when the driver sets it */
	"eventfd2", "timerfd_settime",
	/*
	 * vhost-user (virtio/vhost-user.c): the driver's DRIVER_OK, a reset or
	 * a queue's stop talks to the back end (guest RAM and the rings' eventfds
	 * go as SCM_RIGHTS) and waits for its replies.
	 */
	"sendmsg", "recvmsg",
	NULL,
};

/* Disk images: raw (libaio or synchronous) and qcow2. */
static const char *const blk_calls[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "fdatasync", "fsync", "fallocate",
	"ftruncate", "lseek", "io_submit", "io_getevents", "io_pgetevents", "io_cancel",
	NULL,
};

/*
 * A disk's I/O thread (disk/io-thread.c): what the backend does
 * synchronously, qcow2 and raw, on files opened at set-up. No interrupts,
 * no epoll: its completions go back through an eventfd (write).
 */
static const char *const disk_io_calls[] = {
	"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"fdatasync", "fsync", "fallocate", "ftruncate", "lseek",
	NULL,
};

/*
 * virtio-net: on a tap, frames are read(2)/write(2)n and offloads change;
 * through passt, they go over its socket (recv, sendmsg), and a passt that
 * died is reaped (wait4) to say so.
 */
static const char *const net_calls[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "recvfrom", "sendmsg", "wait4", NULL,
};
static const unsigned long net_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_SET_GSI_ROUTING,
	TUNSETOFFLOAD, TUNSETQUEUE, 0,
};

/* The 9P2000.L server: files below the share roots (fs/). */
static const char *const p9_calls[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "open", "openat", "openat2",
	"statx", "fstatfs", "statfs", "getdents64", "lseek", "pread64", "pwrite64",
	"preadv", "pwritev", "mkdirat", "mknodat", "unlinkat", "renameat",
	"renameat2", "linkat", "symlinkat", "readlinkat", "fchmod", "fchmodat",
	"fchown", "fchownat", "utimensat", "ftruncate", "fsync", "fdatasync",
	"fcntl", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr",
	"fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
	"lremovexattr", "fremovexattr", "getrlimit", "prlimit64",
	/* a mode change through /proc/self/fd/N (fs/9p-attr.c) */
	"chmod",
	NULL,
};

/*
 * Any other virtio device: its queues and its interrupt; the console's
 * settle timer, the balloon's discards (madvise, or a hole in a file).
 */
static const char *const device_calls[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "timerfd_settime", "fallocate",
	/* glibc's qsort() asks for the machine's memory size (the balloon's pages) */
	"sysinfo", NULL,
};

/* The control socket: one client at a time (control.c). */
static const char *const control_calls[] = {
	"accept4", "recvfrom", "sendto", "getsockopt", "pread64",
	NULL,
};

/*
 * The main thread after set-up waits for a stop, then tears the VM down:
 * devices flush and close, the control socket and lkvm sandbox's scratch
 * directory are removed. It handles no guest input.
 */
static const char *const main_calls[] = {
	"read", "unlink", "unlinkat", "rmdir", "open", "openat", "getdents64",
	"lseek", "pread64", "pwrite64", "pwritev", "fdatasync", "fsync",
	"ftruncate", "fallocate", "fcntl", "flock", "io_destroy", "io_getevents", "io_pgetevents",
	"epoll_ctl", "wait4", "kill", "fchmod", "fchmodat", "rt_sigaction", "umount2",
	NULL,
};

/*
 * lkvm-asan only: the sanitizer runtime's own calls, for its reports
 * (reading the binary and /proc/self/maps) and the leak check at exit
 * (a tracer task that stops the threads with ptrace).
 */
static const char *const sanitizer_calls[] = {
	"readlink", "readlinkat", "getdents", "getdents64", "clone",
	"ptrace", "wait4", "prctl", "sigaltstack", "rt_sigaction", "kill",
	"getppid", "sched_getaffinity", "pipe2", "lseek", "pread64", "fcntl",
	NULL,
};

#if defined(__SANITIZE_ADDRESS__)
#define LKVM_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LKVM_SANITIZER	1
#endif
#endif
#ifndef LKVM_SANITIZER
#define LKVM_SANITIZER	0
#endif

struct seccomp_class {
	const char *kind;
	const char *const *calls;
	const unsigned long *ioctls;
};

static const struct seccomp_class classes[] = {
	{ "main", main_calls, vcpu_ioctls },
	{ "vcpu", vcpu_calls, vcpu_ioctls },
	{ "blk", blk_calls, irq_ioctls },
	{ "disk-io", disk_io_calls, NULL },
	{ "net", net_calls, net_ioctls },
	{ "9p", p9_calls, irq_ioctls },
	{ "control", control_calls, irq_ioctls },
	{ "console-input", device_calls, irq_ioctls },
	/*
	 * virtio-fs's worker ("fs") relays the back end's call eventfds and, once
	 * it hangs up, answers requests with EIO itself: the device list.
	 */
	/* last: rng, console, balloon and any device without a list of its own */
	{ "device", device_calls, irq_ioctls },
};

static const struct seccomp_class *find_class(const char *kind)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(classes); i++)
		if (!strcmp(classes[i].kind, kind))
			return &classes[i];
	return &classes[ARRAY_SIZE(classes) - 1];
}

static void resolve_names_once(void)
{
	int nr;

	for (nr = 0; nr < NR_SYSCALL_NAMES; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

static void resolve_names(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, resolve_names_once);
}

/* write(2) only: the handler may run in any thread, in any state. */
static size_t put(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at + 1 < size)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t size, long v)
{
	char d[24];
	int n = 0;

	if (v < 0) {
		at = put(buf, at, size, "-");
		v = -v;
	}
	do {
		d[n++] = '0' + v % 10;
		v /= 10;
	} while (v && n < (int)sizeof(d));
	while (n && at + 1 < size)
		buf[at++] = d[--n];
	return at;
}

static size_t put_hex(char *buf, size_t at, size_t size, unsigned long v)
{
	char d[16];
	int n = 0;

	at = put(buf, at, size, "0x");
	do {
		d[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v && n < (int)sizeof(d));
	while (n && at + 1 < size)
		buf[at++] = d[--n];
	return at;
}

/* The second argument of the trapped call: the request of an ioctl. */
static unsigned long trapped_arg1(void *uc)
{
	const ucontext_t *u = uc;

#if defined(__x86_64__)
	return u->uc_mcontext.gregs[REG_RSI];
#elif defined(__aarch64__)
	return u->uc_mcontext.regs[1];
#else
	(void)u;
	return 0;
#endif
}

static void sigsys_handler(int sig __unused, siginfo_t *si, void *uc)
{
	int nr = si->si_syscall;
	char msg[200];
	size_t n = 0;

	n = put(msg, n, sizeof(msg), "lkvm: seccomp: thread '");
	n = put(msg, n, sizeof(msg), thread_name[0] ? thread_name : "?");
	n = put(msg, n, sizeof(msg), "' made a forbidden system call ");
	if (nr >= 0 && nr < NR_SYSCALL_NAMES && syscall_names[nr])
		n = put(msg, n, sizeof(msg), syscall_names[nr]);
	else
		n = put(msg, n, sizeof(msg), "?");
	n = put(msg, n, sizeof(msg), " (");
	n = put_num(msg, n, sizeof(msg), nr);
	if (nr == SCMP_SYS(ioctl)) {
		/* Which request: the one line must say what to allow. */
		n = put(msg, n, sizeof(msg), ", request ");
		n = put_hex(msg, n, sizeof(msg), trapped_arg1(uc));
	} else if (nr == SCMP_SYS(openat) && trapped_arg1(uc)) {
		/* Which file: our own memory, the call never ran. */
		n = put(msg, n, sizeof(msg), ", ");
		n = put(msg, n, sizeof(msg), (const char *)trapped_arg1(uc));
	}
	n = put(msg, n, sizeof(msg), "); stopping (--no-seccomp turns the filters off)\n");
	if (write(STDERR_FILENO, msg, n) < 0)
		n = 0;
	if (exit_hook)
		exit_hook();
	_exit(LKVM_EXIT_ERROR);
}

/*
 * The handler for the process; SIGSYS unblocked in the calling thread (a
 * thread that blocks it would meet the kernel's default action instead,
 * silently: the process dies without saying why).
 */
static int install_handler(void)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
	sigset_t sys;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		pr_err("seccomp: sigaction(SIGSYS): %s", strerror(errno));
		return -1;
	}
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	return 0;
}

static int allow_names(scmp_filter_ctx ctx, const char *const *names)
{
	int nr;

	for (; *names; names++) {
		nr = seccomp_syscall_resolve_name(*names);
		if (nr == __NR_SCMP_ERROR) {
			pr_err("seccomp: '%s' is no system call libseccomp knows", *names);
			return -1;
		}
		if (nr < 0)
			continue;	/* not a system call of this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			return -1;
	}
	return 0;
}

static bool has_call(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

/* The sanitizer reads files (open flags are the 2nd argument, openat's the 3rd). */
static int allow_read_only_open(scmp_filter_ctx ctx, const char *const *calls)
{
	const unsigned long mask = O_ACCMODE | O_CREAT | O_TRUNC;

	if (!has_call(calls, "openat") &&
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, mask, O_RDONLY)) < 0)
		return -1;
	if (!has_call(calls, "open") && seccomp_syscall_resolve_name("open") >= 0 &&
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, mask, O_RDONLY)) < 0)
		return -1;
	return 0;
}

/* ioctl(fd, req, ...): the kernel reads req as 32 bits. */
static int allow_ioctl(scmp_filter_ctx ctx, unsigned long req)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, req));
}

static int build(scmp_filter_ctx ctx, const struct seccomp_class *c)
{
	static const unsigned long termios_set[] = { TCSETS, TCSETSW, TCSETSF, 0 };
	const unsigned long *r;
	unsigned int i;

	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
	    allow_names(ctx, common_calls) || allow_names(ctx, c->calls))
		return -1;
	/* ... and whether stderr is a terminal (TCGETS), for colours */
	if (LKVM_SANITIZER && (allow_names(ctx, sanitizer_calls) ||
			       allow_read_only_open(ctx, c->calls) || allow_ioctl(ctx, TCGETS)))
		return -1;
	/* Code is mapped at start only: no executable mapping afterwards. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		return -1;
	/* The SIGSYS handler and the exit path put the terminal back. */
	for (i = 0; termios_set[i]; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, STDIN_FILENO),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
					     termios_set[i])) < 0)
			return -1;
	for (r = c->ioctls; r && *r; r++)
		if (allow_ioctl(ctx, *r))
			return -1;
	/* fchmodat2 (Linux 6.6, fs/9p-attr.c) is newer than some libseccomp. */
	if (!strcmp(c->kind, "9p") &&
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, NR_FCHMODAT2, 0) < 0)
		return -1;
	/* virtio-console reads the terminal's size. */
	if (!strcmp(c->kind, "device") && allow_ioctl(ctx, TIOCGWINSZ))
		return -1;
	return 0;
}

int thread_filter_install(const char *kind, const char *name)
{
	const struct seccomp_class *c = find_class(kind);
	scmp_filter_ctx ctx;
	int r = -EINVAL;

	snprintf(thread_name, sizeof(thread_name), "%s", name);
	resolve_names();
	if (install_handler())
		return -1;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx && !build(ctx, c))
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	/*
	 * Building a filter takes libseccomp a few hundred KiB of heap for
	 * a moment; give them back, or every VM keeps them resident for its
	 * life (brk and madvise are in every list). Not under ASan: its
	 * allocator replaces malloc but not malloc_trim(), which would walk
	 * a glibc heap that was never set up.
	 */
#ifndef __SANITIZE_ADDRESS__
	malloc_trim(0);
#endif
	if (r) {
		pr_err("seccomp: cannot install the %s filter for thread '%s': %s",
		       c->kind, name, strerror(r < 0 ? -r : EINVAL));
		return -1;
	}
	return 0;
}

void thread_filter_set_exit_hook(void (*fn)(void))
{
	exit_hook = fn;
}

int thread_filter_prepare(struct kvm *kvm)
{
	struct kvm_seccomp *s = &kvm->seccomp;

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->state = SECCOMP_SETUP;
	s->enabled = !kvm->cfg.no_seccomp;
	if (!s->enabled)
		return 0;
	resolve_names();
	return install_handler();
}

static void set_state(struct kvm *kvm, int state)
{
	struct kvm_seccomp *s = &kvm->seccomp;

	pthread_mutex_lock(&s->lock);
	if (s->state == SECCOMP_SETUP)
		s->state = state;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void thread_filter_setup_done(struct kvm *kvm)
{
	set_state(kvm, kvm->seccomp.enabled ? SECCOMP_FILTER : SECCOMP_RELEASED);
}

void thread_filter_release(struct kvm *kvm)
{
	set_state(kvm, SECCOMP_RELEASED);
}

void thread_filter_enter(struct kvm_seccomp *s, const char *kind, const char *name)
{
	bool filter;

	snprintf(thread_name, sizeof(thread_name), "%s", name);
	if (!s)
		return;		/* a terminal of no VM (tests) */
	pthread_mutex_lock(&s->lock);
	while (s->state == SECCOMP_SETUP)
		pthread_cond_wait(&s->cond, &s->lock);
	filter = s->state == SECCOMP_FILTER;
	pthread_mutex_unlock(&s->lock);
	/* A thread that cannot be filtered must not serve the guest. */
	if (filter && thread_filter_install(kind, name)) {
		if (exit_hook)
			exit_hook();
		_exit(LKVM_EXIT_ERROR);
	}
}

int thread_filter_main(struct kvm *kvm)
{
	if (!kvm->seccomp.enabled)
		return 0;
	return thread_filter_install("main", "main");
}
