/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IRQ_H
#define LKVM_IRQ_H

#include "lkvm/util.h"

struct kvm;

/*
 * Interrupt routing: lkvm keeps KVM's GSI routing table in userspace (the
 * arch's wired lines first, then one MSI route per allocated GSI) and sends
 * it whole with KVM_SET_GSI_ROUTING after each change.
 */

/* A GSI for an MSI message (@devid is used only where the ITS needs it). */
int irq_msi_route_alloc(struct kvm *kvm, u64 addr, u32 data, u32 devid);
int irq_msi_route_update(struct kvm *kvm, int gsi, u64 addr, u32 data, u32 devid);

/* Attach/detach an eventfd to a GSI; a write to @fd raises the interrupt. */
int irq_irqfd_add(struct kvm *kvm, int gsi, int fd);
int irq_irqfd_del(struct kvm *kvm, int gsi, int fd);
/*
 * A level-triggered irqfd: a write to @fd asserts the line until the guest
 * EOIs it; then KVM deasserts it and signals @resamplefd, and the device
 * re-asserts if it still has something pending. -1 without
 * KVM_CAP_IRQFD_RESAMPLE (use kvm__irq_line() then).
 */
int irq_irqfd_add_resample(struct kvm *kvm, int gsi, int fd, int resamplefd);

/* Send one MSI directly (KVM_SIGNAL_MSI). */
int irq_signal_msi(struct kvm *kvm, u64 addr, u32 data, u32 devid);

/*
 * Allocate a wired (line) interrupt for a device: on x86 an IOAPIC GSI not
 * used by the legacy devices, on arm64 an SPI. Returns the number, or -1.
 */
int irq_alloc_line(struct kvm *kvm);

/* Arch: add the default routes of the in-kernel interrupt controller. */
void irq_arch_default_routes(struct kvm *kvm);
/* Does this VM's MSI controller need a device id (arm64 ITS)? */
bool irq_arch_msi_needs_devid(struct kvm *kvm);
/* Used by the arch hook above. */
void irq_add_irqchip_route(struct kvm *kvm, u32 gsi, u32 irqchip, u32 pin);

#endif
