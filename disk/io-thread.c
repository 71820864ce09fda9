// SPDX-License-Identifier: GPL-2.0
/*
 * A disk's I/O thread (see io-thread.h). One thread per disk, not a pool:
 * a qcow2 image's metadata is not safe for two threads, and one queue in
 * order keeps a flush behind every write queued before it. Completions
 * go back to the device's worker thread, which runs done() there, under
 * its own lock, as for aio.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "io-thread.h"

struct disk_io_thread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more;		/* todo got a request, or stop */
	pthread_cond_t done_cond;	/* done got a request */
	struct disk_req *todo, **todo_tail;
	struct disk_req *done, **done_tail;
	bool stop;
	disk_io_fn fn;
	void *ctx;
	int evfd;
	void (*enter)(void *arg);
	void *arg;
	char name[32];
};

static void *io_thread(void *arg)
{
	struct disk_io_thread *t = arg;
	struct disk_req *req;

	if (t->enter)
		t->enter(t->arg);
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (!t->todo && !t->stop)
			pthread_cond_wait(&t->more, &t->lock);
		req = t->todo;
		if (!req)
			break;		/* stop, and nothing left */
		t->todo = req->next;
		if (!t->todo)
			t->todo_tail = &t->todo;
		pthread_mutex_unlock(&t->lock);

		req->res = t->fn(t->ctx, req);

		pthread_mutex_lock(&t->lock);
		req->next = NULL;
		*t->done_tail = req;
		t->done_tail = &req->next;
		pthread_cond_broadcast(&t->done_cond);
		/* Under the lock: stop() cannot close the eventfd meanwhile. */
		if (eventfd_write(t->evfd, 1) < 0)
			pr_debug("disk %s: eventfd write: %s", t->name, strerror(errno));
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct disk_io_thread *disk_io_thread_start(disk_io_fn fn, void *ctx, int evfd,
					    void (*enter)(void *arg), void *arg,
					    const char *name)
{
	struct disk_io_thread *t = xzalloc(sizeof(*t));
	int r;

	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->more, NULL);
	pthread_cond_init(&t->done_cond, NULL);
	t->todo_tail = &t->todo;
	t->done_tail = &t->done;
	t->fn = fn;
	t->ctx = ctx;
	t->evfd = evfd;
	t->enter = enter;
	t->arg = arg;
	snprintf(t->name, sizeof(t->name), "%s", name);
	r = pthread_create(&t->thread, NULL, io_thread, t);
	if (r) {
		pr_err("disk %s: cannot start its I/O thread: %s", name, strerror(r));
		free(t);
		return NULL;
	}
	return t;
}

void disk_io_thread_queue(struct disk_io_thread *t, struct disk_req *req)
{
	req->next = NULL;
	pthread_mutex_lock(&t->lock);
	*t->todo_tail = req;
	t->todo_tail = &req->next;
	pthread_cond_signal(&t->more);
	pthread_mutex_unlock(&t->lock);
}

struct disk_req *disk_io_thread_done(struct disk_io_thread *t, bool wait)
{
	struct disk_req *list;

	pthread_mutex_lock(&t->lock);
	while (wait && !t->done)
		pthread_cond_wait(&t->done_cond, &t->lock);
	list = t->done;
	t->done = NULL;
	t->done_tail = &t->done;
	pthread_mutex_unlock(&t->lock);
	return list;
}

void disk_io_thread_stop(struct disk_io_thread *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->more);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->more);
	pthread_cond_destroy(&t->done_cond);
	free(t);
}
