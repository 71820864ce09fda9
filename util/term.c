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

#include "lkvm/seccomp.h"
#include "lkvm/term.h"

/*
 * The user's terminal settings, saved when lkvm makes stdin raw: per
 * process, not per VM (there is one stdin), and restored from a fatal
 * signal's handler, which can only reach statics.
 */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

void term_init(struct term *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->input_lock, NULL);
	t->log_fd = -1;
	t->wake_pipe[0] = t->wake_pipe[1] = -1;
}

void term_set_input(struct term *t, term_input_fn fn, void *ctx)
{
	pthread_mutex_lock(&t->input_lock);
	t->input_fn = fn;
	t->input_ctx = ctx;
	pthread_mutex_unlock(&t->input_lock);
}

/*
 * --console-log: a copy of everything the guest writes (util/console-log.c),
 * up to --console-log-max bytes (0: no limit): a guest printing in a loop
 * must not fill the host's disk. Past the limit one line says so.
 */
void term_set_log(struct term *t, int fd, u64 max_bytes)
{
	t->log_fd = fd;
	t->log_max = max_bytes;
	t->log_used = 0;
}

static void log_write(struct term *t, const void *buf, size_t len)
{
	static const char full[] =
		"\n[lkvm: --console-log-max reached; the rest of the console is not logged]\n";
	u64 before = atomic_fetch_add(&t->log_used, len);

	if (t->log_max && before + len > t->log_max) {
		if (before >= t->log_max)
			return;		/* the line was written already */
		len = t->log_max - before;
	}
	if (write_full(t->log_fd, buf, len) < 0)
		pr_debug("console log write failed: %s", strerror(errno));
	if (t->log_max && before + len >= t->log_max &&
	    write_full(t->log_fd, full, sizeof(full) - 1) < 0)
		pr_debug("console log write failed: %s", strerror(errno));
}

u64 term_first_output_ns(const struct term *t)
{
	return t->first_output_ns;
}

void term_write(struct term *t, const void *buf, size_t len)
{
	u64 none = 0;

	if (!t->first_output_ns && len)
		atomic_compare_exchange_strong(&t->first_output_ns, &none, now_ns());
	if (write_full(STDOUT_FILENO, buf, len) < 0 && errno != EPIPE)
		pr_debug("console write failed: %s", strerror(errno));
	if (t->log_fd >= 0)
		log_write(t, buf, len);
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
static void deliver(struct term *t, const u8 *buf, size_t len)
{
	while (len && !atomic_load(&t->stopping)) {
		size_t n = 0;

		pthread_mutex_lock(&t->input_lock);
		if (t->input_fn)
			n = t->input_fn(t->input_ctx, buf, len);
		else
			n = len;	/* no console device: drop */
		pthread_mutex_unlock(&t->input_lock);
		buf += n;
		len -= n;
		if (len)
			usleep(2000);
	}
}

static void *input_loop(void *arg)
{
	struct term *t = arg;
	bool escape = false;
	u8 buf[256], out[512];

	thread_filter_enter(t->filters, "console-input", "console input");
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = t->wake_pipe[0], .events = POLLIN },
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
					t->quit(t->quit_ctx);
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
		deliver(t, out, n_out);
	}
	return NULL;
}

void term_start(struct term *t, void (*quit)(void *ctx), void *ctx)
{
	t->quit = quit;
	t->quit_ctx = ctx;
	atomic_store(&t->stopping, false);
	set_raw();
	if (pipe(t->wake_pipe) < 0)
		return;
	if (lkvm_thread_create(&t->input_thread, input_loop, t) == 0) {
		thread_set_name(t->input_thread, "term");
		t->input_running = true;
	}
}

void term_stop(struct term *t)
{
	atomic_store(&t->stopping, true);
	if (t->input_running) {
		if (write(t->wake_pipe[1], "", 1) < 0)
			pthread_cancel(t->input_thread);
		pthread_join(t->input_thread, NULL);
		t->input_running = false;
	}
	if (t->wake_pipe[0] >= 0) {
		close(t->wake_pipe[0]);
		close(t->wake_pipe[1]);
		t->wake_pipe[0] = t->wake_pipe[1] = -1;
	}
	restore_termios();
}
