/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BUILTIN_RUN_H
#define LKVM_BUILTIN_RUN_H

#include "lkvm/kvm.h"
#include "lkvm/parse-options.h"

/*
 * What lkvm run and lkvm sandbox share (builtin-run.c): one option table,
 * the checks after parsing, and running the VM.
 */
void kvm_config_defaults(struct kvm_config *cfg);
/*
 * The run options writing into @cfg, followed by @extra (terminated by
 * OPTION_END(), may be NULL). The table is malloc'd; free() it.
 */
struct option *kvm_run_options(struct kvm_config *cfg, const struct option *extra);
/*
 * kvm_config_defaults(), then parse `lkvm @cmd ARGS...` with the run options
 * and @extra. Returns how many arguments are left (argv[1..n]),
 * PARSE_OPT_HELP once @usage and @epilogue are printed, or -1.
 */
int kvm_run_parse(struct kvm_config *cfg, const struct option *extra, int argc,
		  const char **argv, const char *cmd, const char *usage,
		  const char *epilogue);
/* Checks and defaults after parsing; -1 after a message naming @cmd. */
int kvm_config_finish(struct kvm_config *cfg, const char *cmd);
/* Create, run and tear down the VM; returns lkvm's exit status. */
int kvm_run_config(const struct kvm_config *cfg);

/*
 * kvmtool-compat.c: kvmtool's run options that lkvm refuses, each with one
 * line naming the lkvm way (hidden entries of the run table, OPTION_END()
 * terminated), and the callback that refuses them.
 */
const struct option *kvmtool_refusals(void);
int kvmtool_refuse(const struct option *opt, const char *arg);
/* An arch's own refusals (kvm-arch.h), REFUSE() entries with a comma each. */
#ifndef LKVM_ARCH_KVMTOOL_REFUSALS
#define LKVM_ARCH_KVMTOOL_REFUSALS
#endif

#endif
