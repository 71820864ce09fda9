/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BUILTIN_H
#define LKVM_BUILTIN_H

#define LKVM_VERSION	"0.1"

int cmd_run(int argc, const char **argv);
int cmd_sandbox(int argc, const char **argv);
int cmd_version(int argc, const char **argv);
int cmd_help(int argc, const char **argv);
/* builtin-ctl.c: commands for running VMs */
int cmd_list(int argc, const char **argv);
int cmd_stop(int argc, const char **argv);
int cmd_pause(int argc, const char **argv);
int cmd_resume(int argc, const char **argv);
int cmd_balloon(int argc, const char **argv);
int cmd_stat(int argc, const char **argv);
/* kvmtool's commands lkvm does not have: one line naming the lkvm way. */
int cmd_debug(int argc, const char **argv);
int cmd_setup(int argc, const char **argv);

#endif
