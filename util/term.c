// SPDX-License-Identifier: GPL-2.0
/* The guest console on the host terminal. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/term.h"

static term_input_fn input_fn;
static void *input_ctx;
static pthread_mutex_t input_lock = PTHREAD_MUTEX_INITIALIZER;

static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;
static pthread_t input_thread;
static bool input_running;
static int wake_pipe[2] = { -1, -1 };

void term_set_input(term_input_fn fn, void *ctx)
{
	pthread_mutex_lock(&input_lock);
	input_fn = fn;
	input_ctx = ctx;
	pthread_mutex_unlock(&input_lock);
}

/*
 * --console-log: a copy of everything the guest writes (util/console-log.c),
 * up to --console-log-max bytes (0: no limit): a guest printing in a loop
 * must not fill the host's disk. Past the limit one line says so.
 */
static int log_fd = -1;
static u64 log_max;
static _Atomic u64 log_used;

void term_set_log(int fd, u64 max_bytes)
{
	log_fd = fd;
	log_max = max_bytes;
	log_used = 0;
}

static void log_write(const void *buf, size_t len)
{
	static const char full[] =
		"\n[lkvm: --console-log-max reached; the rest of the console is not logged]\n";
	u64 before = atomic_fetch_add(&log_used, len);

	if (log_max && before + len > log_max) {
		if (before >= log_max)
			return;		/* the line was written already */
		len = log_max - before;
	}
	if (write_full(log_fd, buf, len) < 0)
		pr_debug("console log write failed: %s", strerror(errno));
	if (log_max && before + len >= log_max && write_full(log_fd, full, sizeof(full) - 1) < 0)
		pr_debug("console log write failed: %s", strerror(errno));
}

/* When the guest first wrote to its console (--boot-timings); 0: not yet. */
static _Atomic u64 first_output_ns;

u64 term_first_output_ns(void)
{
	return first_output_ns;
}

void term_write(const void *buf, size_t len)
{
	u64 none = 0;

	if (!first_output_ns && len)
		atomic_compare_exchange_strong(&first_output_ns, &none, now_ns());
	if (write_full(STDOUT_FILENO, buf, len) < 0 && errno != EPIPE)
		pr_debug("console write failed: %s", strerror(errno));
	if (log_fd >= 0)
		log_write(buf, len);
}

static void restore_termios(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		termios_saved = 0;
	}
}

void term_emergency_restore(void)
{
	restore_termios();
}

static void fatal_signal(int sig)
{
	/* Never leave the user's terminal raw, even when lkvm crashes. */
	restore_termios();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void set_raw(void)
{
	struct termios t;
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	unsigned int i;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	termios_saved = 1;
	atexit(restore_termios);
	for (i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], fatal_signal);
	t = saved_termios;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;	/* keep "\n" -> "\r\n" for lkvm's own messages */
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* Deliver @len bytes, waiting while the device's buffer is full. */
static void deliver(struct kvm *kvm, const u8 *buf, size_t len)
{
	while (len && !atomic_load(&kvm->stopping)) {
		size_t n = 0;

		pthread_mutex_lock(&input_lock);
		if (input_fn)
			n = input_fn(input_ctx, buf, len);
		else
			n = len;	/* no console device: drop */
		pthread_mutex_unlock(&input_lock);
		buf += n;
		len -= n;
		if (len)
			usleep(2000);
	}
}

static void *input_loop(void *arg)
{
	struct kvm *kvm = arg;
	bool escape = false;
	u8 buf[256], out[512];

	thread_filter_enter(kvm, "console-input", "console input");
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = wake_pipe[0], .events = POLLIN },
		};
		size_t n_out = 0;
		ssize_t n, i;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;		/* EOF: the guest keeps running without input */
		for (i = 0; i < n; i++) {
			u8 c = buf[i];

			if (escape) {
				escape = false;
				if (c == 'x' || c == 'X') {
					kvm__request_stop(kvm, LKVM_EXIT_OK, NULL);
					return NULL;
				}
				if (c != TERM_ESCAPE_CHAR)
					out[n_out++] = TERM_ESCAPE_CHAR;
			} else if (c == TERM_ESCAPE_CHAR && termios_saved) {
				/* Only an interactive terminal has the escape. */
				escape = true;
				continue;
			}
			out[n_out++] = c;
		}
		deliver(kvm, out, n_out);
	}
	return NULL;
}

void term_start(struct kvm *kvm)
{
	set_raw();
	if (pipe(wake_pipe) < 0)
		return;
	if (lkvm_thread_create(&input_thread, input_loop, kvm) == 0)
		input_running = true;
}

void term_stop(struct kvm *kvm __unused)
{
	if (input_running) {
		if (write(wake_pipe[1], "", 1) < 0)
			pthread_cancel(input_thread);
		pthread_join(input_thread, NULL);
		input_running = false;
	}
	if (wake_pipe[0] >= 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		wake_pipe[0] = wake_pipe[1] = -1;
	}
	restore_termios();
}
