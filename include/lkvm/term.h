/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TERM_H
#define LKVM_TERM_H

#include "lkvm/util.h"

struct kvm;

/*
 * The host side of the guest console. Output goes to stdout; input comes
 * from stdin (in raw mode when it is a terminal) and is handed to the one
 * device that owns the console. Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.
 */
#define TERM_ESCAPE_CHAR	0x01	/* Ctrl-A */

/*
 * Console input sink: consume up to @len bytes, return how many were taken
 * (the rest is offered again later).
 */
typedef size_t (*term_input_fn)(void *ctx, const u8 *buf, size_t len);

void term_set_input(term_input_fn fn, void *ctx);
/* Guest console output (the serial port's or virtio-console's). */
void term_write(const void *buf, size_t len);
/* now_ns() of the guest's first console byte, 0 when it wrote none. */
u64 term_first_output_ns(void);
/* Also write the console to @fd (-1: stop). */
void term_set_log(int fd, u64 max_bytes);
void term_start(struct kvm *kvm);
/* Put the terminal back from a signal handler (async-signal-safe). */
void term_emergency_restore(void);
void term_stop(struct kvm *kvm);

#endif
