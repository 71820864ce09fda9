// SPDX-License-Identifier: GPL-2.0
/* x86 vCPU setup: CPUID, MSRs, LAPIC, FPU and the 64-bit boot state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/kvm-cpu.h"
#include "lkvm/x86-cpuid.h"

#define MSR_IA32_MISC_ENABLE		0x1a0
#define MISC_ENABLE_FAST_STRING		(1ULL << 0)

#define APIC_LVT0			0x350
#define APIC_LVT1			0x360
#define APIC_MODE_EXTINT		0x700
#define APIC_MODE_NMI			0x400

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/* A vCPU ioctl the set-up needs: 0, or -1 after saying which failed. */
static int vcpu_ioctl(struct kvm_cpu *cpu, unsigned long req, const char *name, void *arg)
{
	if (ioctl(cpu->fd, req, arg) >= 0)
		return 0;
	pr_err("%s on vCPU %u failed: %s", name, cpu->id, strerror(errno));
	return -1;
}
#define VCPU_IOCTL(cpu, req, arg)	vcpu_ioctl(cpu, req, #req, arg)

static int setup_cpuid(struct kvm_cpu *cpu)
{
	const struct kvm_cpuid2 *in = cpu->kvm->arch.cpuid;
	struct kvm_cpuid2 *out;
	int r;

	out = xzalloc(sizeof(*out) + (in->nent + 3) * sizeof(out->entries[0]));
	x86_cpuid_for_vcpu(in, out, cpu->id, cpu->kvm->nrcpus ? cpu->kvm->nrcpus :
			   (unsigned int)cpu->kvm->cfg.nrcpus, cpu->kvm->cfg.nested);
	r = VCPU_IOCTL(cpu, KVM_SET_CPUID2, out);
	free(out);
	return r;
}

static void setup_msrs(struct kvm_cpu *cpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} m = {
		.hdr.nmsrs = 1,
		.e[0] = { .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
	};

	if (ioctl(cpu->fd, KVM_SET_MSRS, &m) != 1)
		pr_debug("vCPU %u: KVM did not take MSR_IA32_MISC_ENABLE", cpu->id);
}

static int setup_lapic(struct kvm_cpu *cpu)
{
	struct kvm_lapic_state s;
	u32 *lvt0 = (u32 *)&s.regs[APIC_LVT0], *lvt1 = (u32 *)&s.regs[APIC_LVT1];

	if (VCPU_IOCTL(cpu, KVM_GET_LAPIC, &s))
		return -1;
	/* Virtual wire: the PIC through LINT0, NMIs through LINT1. */
	*lvt0 = (*lvt0 & ~0x700U) | APIC_MODE_EXTINT;
	*lvt1 = (*lvt1 & ~0x700U) | APIC_MODE_NMI;
	return VCPU_IOCTL(cpu, KVM_SET_LAPIC, &s);
}

static int setup_fpu(struct kvm_cpu *cpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	return VCPU_IOCTL(cpu, KVM_SET_FPU, &fpu);
}

int kvm_cpu__arch_init(struct kvm_cpu *cpu)
{
	if (setup_cpuid(cpu) || setup_lapic(cpu) || setup_fpu(cpu))
		return -1;
	setup_msrs(cpu);
	return 0;
}

/* A flat 4 GiB segment: 64-bit code (@l), or 32-bit code or data. */
static struct kvm_segment flat_segment(u16 selector, u8 type, bool l)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = !l, .s = 1, .l = l, .g = 1,
	};
}

/*
 * The PVH entry (Xen's x86/HVM direct boot ABI): 32-bit protected mode,
 * paging off, CR4 clear, flat 32-bit segments, a 32-bit TSS with base 0 and
 * limit 0x67, EBX = the hvm_start_info page (x86/pvh.c wrote the GDT).
 */
static void pvh_sregs(struct kvm_sregs *sregs)
{
	struct kvm_segment tss = {
		.base = 0, .limit = 0x67, .selector = 0x20, .type = 0xb, .present = 1,
	};

	sregs->cs = flat_segment(0x10, 0xb, false);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = flat_segment(0x18, 0x3, false);
	sregs->tr = tss;
	sregs->gdt.base = X86_GDT_ADDR;
	sregs->gdt.limit = 5 * 8 - 1;
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
}

/* The 64-bit boot protocol: long mode on lkvm's identity map (x86/boot.c). */
static void linux64_sregs(struct kvm_sregs *sregs)
{
	sregs->cs = flat_segment(0x10, 0xb, true);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = flat_segment(0x18, 0x3, false);
	sregs->gdt.base = X86_GDT_ADDR;
	sregs->gdt.limit = 4 * 8 - 1;
	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs->cr3 = X86_PML4_ADDR;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

int kvm_cpu__arch_setup_boot(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	/*
	 * Only the boot vCPU gets a state: with the in-kernel LAPIC the
	 * others wait for INIT/SIPI from the guest, whichever way it booted.
	 */
	if (cpu->id != 0)
		return 0;
	if (VCPU_IOCTL(cpu, KVM_GET_SREGS, &sregs))
		return -1;
	if (kvm->arch.boot_pvh)
		pvh_sregs(&sregs);
	else
		linux64_sregs(&sregs);
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (VCPU_IOCTL(cpu, KVM_SET_SREGS, &sregs))
		return -1;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = kvm->arch.boot_rip;
	regs.rsi = kvm->arch.boot_rsi;
	regs.rbx = kvm->arch.boot_rbx;
	return VCPU_IOCTL(cpu, KVM_SET_REGS, &regs);
}

static void seg(const char *n, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s %04x base %016llx limit %08x type %x dpl %u%s%s\n",
		n, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->dpl, s->l ? " long" : "", s->present ? "" : " not-present");
}

void kvm_cpu__arch_dump(struct kvm_cpu *cpu)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(cpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(cpu->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vCPU %u: cannot read registers: %s", cpu->id, strerror(errno));
		return;
	}
	fprintf(stderr,
		"vCPU %u registers:\n"
		"  rip %016llx rsp %016llx rflags %016llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n"
		"  efer %016llx apic_base %016llx gdt %016llx/%x idt %016llx/%x\n",
		cpu->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
		r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.apic_base,
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
	seg("cs", &s.cs);
	seg("ss", &s.ss);
	seg("ds", &s.ds);
	seg("tr", &s.tr);
}

void kvm_cpu__arch_show_position(struct kvm_cpu *cpu)
{
	static const char *const states[] = {
		"running", "waiting for SIPI", "waiting for INIT", "halted",
		"got SIPI",
	};
	struct kvm_mp_state mp = { 0 };
	struct kvm_regs r;

	if (ioctl(cpu->fd, KVM_GET_REGS, &r) < 0)
		return;
	ioctl(cpu->fd, KVM_GET_MP_STATE, &mp);
	pr_info("vCPU %u: rip 0x%llx rsp 0x%llx (%s)", cpu->id, r.rip, r.rsp,
		mp.mp_state < ARRAY_SIZE(states) ? states[mp.mp_state] : "?");
}
