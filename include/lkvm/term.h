/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TERM_H
#define LKVM_TERM_H

#include <pthread.h>
#include <stdatomic.h>

#include "lkvm/util.h"

struct kvm_seccomp;

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

/* One VM's console on the terminal (struct kvm owns it). */
struct term {
	pthread_mutex_t input_lock;	/* input_fn, input_ctx */
	term_input_fn input_fn;
	void *input_ctx;
	int log_fd;			/* --console-log, or -1 */
	u64 log_max;			/* --console-log-max; 0: no limit */
	_Atomic u64 log_used;		/* bytes offered to the log */
	pthread_t input_thread;
	bool input_running;
	int wake_pipe[2];		/* tells the input thread to end */
	atomic_bool stopping;
	void (*quit)(void *ctx);	/* Ctrl-A x */
	void *quit_ctx;
	struct kvm_seccomp *filters;	/* the VM's, for the input thread (seccomp.c) */
	/* now_ns() of the guest's first console byte (--boot-timings); 0: none yet */
	_Atomic u64 first_output_ns;
};

void term_init(struct term *t);
void term_set_input(struct term *t, term_input_fn fn, void *ctx);
/* Guest console output (the serial port's or virtio-console's). */
void term_write(struct term *t, const void *buf, size_t len);
/* now_ns() of the guest's first console byte, 0 when it wrote none. */
u64 term_first_output_ns(const struct term *t);
/* Also write the console to @fd (-1: stop). */
void term_set_log(struct term *t, int fd, u64 max_bytes);
/*
 * Start reading stdin (raw mode when it is a terminal); Ctrl-A x calls
 * @quit(@ctx): the caller decides what quitting means, the terminal knows
 * nothing of the VM.
 */
void term_start(struct term *t, void (*quit)(void *ctx), void *ctx);
void term_stop(struct term *t);
/* Put the terminal back from a signal handler (async-signal-safe). */
void term_emergency_restore(void);

#endif
