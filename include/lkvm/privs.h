/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PRIVS_H
#define LKVM_PRIVS_H

#include "lkvm/util.h"

struct kvm;
struct kvm_config;

/* --user USER[:GROUP] -> cfg->run_uid/run_gid; -1 after one line. */
int privs_parse_user(struct kvm_config *cfg, const char *cmd);
/* Become --user's user (main thread, before the filters); -1 after one line. */
int privs_drop(struct kvm *kvm);
/* No core dump unless --coredump (at the start of set-up). */
void privs_no_core(struct kvm *kvm);
/* Guest RAM out of core dumps unless --coredump. */
void privs_guard_ram(struct kvm *kvm, void *ram, u64 size);

#endif
