/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_H
#define LKVM_KVM_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "lkvm/9p.h"
#include "lkvm/guest-mem.h"
#include "lkvm/iobus.h"
#include "lkvm/ioeventfd.h"
#include "lkvm/net.h"
#include "lkvm/pause.h"
#include "lkvm/term.h"
#include "lkvm/virtio-fs.h"
#include "lkvm/seccomp.h"
#include "lkvm/util.h"
#include "lkvm/kvm-arch.h"

/* lkvm's exit status, documented in the README and `lkvm run --help`. */
#define LKVM_EXIT_OK		0	/* guest powered off or rebooted */
#define LKVM_EXIT_ERROR		1	/* bad input or a VMM error */
#define LKVM_EXIT_GUEST_CRASH	2	/* triple fault, internal error, ... */
#define LKVM_EXIT_TIMEOUT	124	/* --timeout expired (as timeout(1)) */

#define LKVM_DEFAULT_RAM	(256 * SZ_1M)
#define LKVM_MIN_RAM		(4 * SZ_1M)

#define LKVM_MAX_DISKS		16
#define LKVM_CONSOLE_LOG_MAX	(64 * SZ_1M)	/* --console-log-max default */

struct disk_config {
	const char *path;
	bool readonly;		/* ",ro" */
	bool direct;		/* ",direct": O_DIRECT, bypass the host page cache */
};

/* Everything the command line decides; builtin-run.c fills it. */
struct kvm_config {
	const char *kernel_filename;
	const char *initrd_filename;
	const char *params;		/* user's kernel command line */
	const char *name;
	const char *console;		/* "serial" (default) or "virtio" */
	const char *virtio_transport;	/* "pci" (x86 default) or "mmio" */
	struct disk_config disks[LKVM_MAX_DISKS];
	int nr_disks;
	bool rng;			/* --rng: virtio-rng */
	struct vfs_config vfs[LKVM_MAX_VIRTIO_FS];	/* --virtio-fs */
	int nr_vfs;
	bool mem_shared;		/* RAM in a memfd (--mem-shared, vhost-user) */
	struct p9_share_config shares_9p[LKVM_MAX_9P];	/* --9p */
	int nr_9p;
	struct net_config nets[LKVM_MAX_NETS];	/* -n/--network mode=tap */
	int nr_nets;
	u64 vsock_cid;			/* --vsock: the guest's CID, 0 = no vsock */
	const char *console_log;	/* --console-log: console copied here */
	u64 console_log_max;		/* --console-log-max: bytes, 0 = no limit */
	bool sandbox;			/* lkvm sandbox: the exit-status port */
	bool balloon;			/* --balloon: virtio-balloon */
	bool balloon_no_reporting;	/* ... without free page reporting */
	bool virtio_mmio_msi;		/* offer the MMIO MSI/notify extension */
	bool virtio_mmio_msi_shared;	/* ... in sharing (dynamic mapping) mode */
	u64 ram_size;			/* bytes */
	int nrcpus;
	int timeout;			/* seconds, 0 = none */
	bool nested;
	bool spe;			/* --spe: arm64 Statistical Profiling Extension */
	/* arm64 only (arm/include/lkvm/kvm-arch.h lists their options) */
	const char *irqchip;		/* "gicv2", "gicv3", "gicv3-its"; NULL: best */
	bool pmu;			/* PMUv3 */
	bool e2h0;			/* --nested with HCR_EL2.E2H 0 */
	const char *dump_dtb;		/* write the device tree here */
	bool aarch32;			/* --aarch32: a 32-bit EL1 guest */
	u64 firmware_addr;		/* --firmware-address; 0: RAM base */
	u64 kaslr_seed;			/* --kaslr-seed; 0: none given */
	/* kvmtool's options (kvmtool-compat.c lists those lkvm refuses) */
	bool nodefaults;		/* only the user's command line, no defaults */
	const char *firmware;		/* --firmware: booted instead of a kernel */
	const char *dev;		/* --dev: the KVM device (default /dev/kvm) */
	cpu_set_t *vcpu_affinity;	/* --vcpu-affinity: where vCPU threads run */
	int loglevel;			/* --loglevel (enum lkvm_loglevel) */
	bool debug;
	bool boot_timings;		/* --boot-timings: where the boot's time went */
	bool no_seccomp;		/* --no-seccomp: no system call filters */
	const char *user;		/* --user USER[:GROUP]: run as, after set-up */
	u32 run_uid, run_gid;		/* ... resolved (privs.c) */
	bool coredump;			/* --coredump: core dumps with guest RAM */
};

struct kvm_cpu;
struct mmio_dev;
struct ctl_server;
struct pci_root;
struct virtio_device;
struct init_item;
struct uart;
struct pvpanic;
struct balloon_dev;
struct console_dev;

struct kvm {
	struct kvm_config cfg;
	int sys_fd;			/* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;
	int max_vcpus;

	void *ram;			/* host mapping of all guest RAM */
	u64 ram_map_size;
	int ram_fd;			/* its memfd (shared mapping), or -1 (anonymous) */
	struct guest_mem mem;

	struct iobus pio_bus;
	struct iobus mmio_bus;

	/* KVM_CHECK_EXTENSION answers the layers below the VM need. */
	struct {
		bool ioeventfd, ioeventfd_any_length, irqfd_resample;
	} caps;

	/* The vCPUs: created, run and kicked by the vCPU layer (kvm-cpu.c). */
	int nrcpus;
	struct kvm_cpu **cpus;
	/* Registered by kvm-cpu.c: make every vCPU leave KVM_RUN soon. */
	void (*kick_vcpus)(struct kvm *kvm);
	struct kvm_pause pause;		/* pause.c */
	struct term term;		/* the console on the host terminal */
	struct ctl_server *ctl;		/* the control socket (control.c) */
	struct pci_root *pci_root;	/* PCI bus 0, if any (hw/pci-root.c) */
	struct virtio_device *virtio_devs;	/* registered, newest first (virtio/core.c) */

	/*
	 * Devices' own state, made by their init stage and freed by its
	 * exit; NULL when the VM has no such device.
	 */
	struct uart *serial;			/* hw/serial.c */
	struct pvpanic *pvpanic;		/* hw/pvpanic.c */
	struct balloon_dev *balloon;		/* virtio/balloon.c, at most one */
	struct console_dev *virtio_console;	/* virtio/console.c, at most one */
	/* lkvm sandbox: the exit register (hw/sandbox-exit.c) and its report. */
	struct io_range sandbox_exit_io;
	atomic_int sandbox_status;		/* -1: nothing reported (yet) */

	/* Stopping: the first request wins and sets the exit status. */
	atomic_bool stopping;
	int exit_code;
	int stop_fd;			/* eventfd, wakes the main thread */
	int signal_fd;			/* SIGINT, SIGTERM, ... (kvm__catch_signals) */

	/* KVM's GSI routing table, kept here and sent whole (irq.c). */
	struct kvm_irq_routing *irq_routing;
	unsigned int next_gsi;		/* first free GSI for MSI routes */
	unsigned int next_line_irq;	/* next wired interrupt to hand out */
	struct ioevent_list ioevents;	/* registered ioeventfds (ioeventfd.c) */
	/* virtio-mmio devices in creation order, and how many were ever made. */
	struct mmio_dev *virtio_mmio_devs;
	unsigned int virtio_mmio_made;
	pthread_mutex_t irq_lock;

	char cmdline[4096];		/* the guest's full command line */
	_Atomic u64 first_run_ns;	/* first KVM_RUN of any vCPU (--boot-timings) */

	/* Init items that ran and have an exit, in order (util/init.c). */
	struct init_item *init_done[64];
	unsigned int nr_init_done;

	struct kvm_seccomp seccomp;	/* thread filters (seccomp.c) */

	struct kvm_arch arch;
};

/*
 * The VM's life, driven from above (builtin-run.c, with kvm-cpu.c's vCPUs
 * created between kvm__init() and kvm__init_devices()):
 * kvm__init() creates the VM described by @cfg: /dev/kvm checks, memory,
 * the interrupt controller. kvm__init_devices() runs the init stages
 * (devices, firmware tables, loaders).
 */
int kvm__init(struct kvm *kvm);
int kvm__init_devices(struct kvm *kvm);
/* Block the stop signals (before any thread that must not take them starts). */
int kvm__catch_signals(struct kvm *kvm);
/* Wait until a stop is requested (signal, --timeout, ...); the exit status. */
int kvm__wait(struct kvm *kvm);
void kvm__exit_devices(struct kvm *kvm);
void kvm__exit(struct kvm *kvm);

/*
 * Ask every vCPU to stop; the first caller decides the exit status. @fmt,
 * when given, is printed as the one-line reason. Safe from any thread.
 */
void kvm__request_stop(struct kvm *kvm, int exit_code, const char *fmt, ...)
	__printf(3, 4);

/* KVM_CHECK_EXTENSION on /dev/kvm (vm == false) or on the VM. */
int kvm__check_cap(struct kvm *kvm, long cap);
int kvm__vm_check_cap(struct kvm *kvm, long cap);

/*
 * Checks of the configuration that need no KVM (memory size, kernel and
 * initrd files); returns -1 after one line saying what is wrong.
 */
int kvm_config_check(const struct kvm_config *cfg);

/* Register guest RAM with KVM; the arch code calls it from its layout. */
int kvm__register_ram(struct kvm *kvm, u64 gpa, u64 size, void *host);

/* Drive a wired interrupt line of the in-kernel interrupt controller. */
int kvm__irq_line(struct kvm *kvm, u32 irq, int level);
void kvm__irq_trigger(struct kvm *kvm, u32 irq);

/* Append " @s" to the guest command line (bounded). */
int kvm__append_cmdline(struct kvm *kvm, const char *s);

/*
 * The architecture interface, implemented once per arch (x86/, arm/).
 */
struct kvm_cap_req {
	long cap;
	const char *name;
};
extern const struct kvm_cap_req kvm_arch_required_caps[];
/* Lay out and register guest RAM of cfg.ram_size bytes at kvm->ram. */
int kvm__arch_setup_ram(struct kvm *kvm);
/* Refuse a memory size the arch cannot map; returns -1 with a message. */
int kvm__arch_check_ram_size(struct kvm *kvm, u64 size);
/* After the VM is created, before guest memory: probes, VM-wide setup. */
int kvm__arch_init(struct kvm *kvm);
/* After guest memory, before vCPUs: the in-kernel interrupt controller. */
int kvm__arch_create_irqchip(struct kvm *kvm);
/*
 * Is the start of a kernel file (@len bytes of a @size-byte regular file,
 * open as @fd for formats that say more further in) something this arch
 * can boot? Returns 0, or -1 with *err completing "kernel 'path' ...".
 * Runs before /dev/kvm is opened.
 */
#define KVM_KERNEL_PROBE_LEN	4096
int kvm__arch_check_kernel(int fd, const u8 *hdr, size_t len, u64 size, const char **err);
void kvm__arch_exit(struct kvm *kvm);

#endif
