/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BUILTIN_H
#define LKVM_BUILTIN_H

#define LKVM_VERSION	"0.1"

/* A command: argv[0] is its name; returns lkvm's exit status. */
typedef int lkvm_cmd_fn(int argc, const char **argv);

lkvm_cmd_fn cmd_run, cmd_sandbox, cmd_version, cmd_help;
/* builtin-ctl.c: commands for running VMs */
lkvm_cmd_fn cmd_list, cmd_stop, cmd_pause, cmd_resume, cmd_balloon, cmd_stat;
/* kvmtool's commands lkvm does not have: one line naming the lkvm way. */
lkvm_cmd_fn cmd_debug, cmd_setup;

#endif
