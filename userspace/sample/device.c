// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: one device's life.
 *
 * A device is one virtio-mmio device on a session (bound from its target
 * string, shared by the devices of the same target) and one worker thread
 * per queue. A worker sleeps in poll() on its queue's kick eventfd and on
 * the device's stop eventfd; on a kick it calls vb_virtio_poll_queue(),
 * whose queue_kick callback pops every available request, has the model
 * serve it, pushes it back and notifies the driver once per batch.
 *
 * Stopping (SIGTERM, frontend gone) closes the gate (@stopping): each
 * worker finishes and pushes the request it is serving, notifies, and
 * exits; then the device is destroyed and the session closed.
 *
 * The main thread runs the register file (vb_virtio_handle_events()), so
 * a driver reset arrives there while workers may be serving: the reset
 * callback closes the gate (@live) and waits until no worker is inside
 * its queue before the library tears the queues down.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sample.h"

/* Requests served between two notifications when the ring keeps filling. */
#define BATCH_MAX	256

/* The queue whose lock the calling thread holds, if any. */
static _Thread_local struct sample_queue *current_queue;

static void dev_queue_kick(struct vb_virtio_dev *vd, struct vb_vq *vq)
{
	struct sample_dev *d = vb_virtio_opaque(vd);
	unsigned int idx = vb_vq_index(vq), n = 0;
	struct sample_queue *q;

	if (idx >= d->nr_queues)
		return;
	q = &d->queues[idx];
	while (atomic_load(&d->live) && !atomic_load(&d->stopping)) {
		/* < 0: a hostile ring; the library marked the device broken. */
		if (vb_vq_pop(vq, &q->req) <= 0)
			break;
		vb_vq_push(vq, &q->req, d->model->serve(d, &q->req));
		if (++n == BATCH_MAX) {
			vb_vq_notify(vq);
			n = 0;
		}
	}
	if (n)
		vb_vq_notify(vq);
}

static int dev_start_cb(struct vb_virtio_dev *vd)
{
	struct sample_dev *d = vb_virtio_opaque(vd);

	atomic_store(&d->live, true);
	return 0;
}

/* Stop using every queue: no worker is inside one when this returns. */
static void dev_reset_cb(struct vb_virtio_dev *vd)
{
	struct sample_dev *d = vb_virtio_opaque(vd);

	atomic_store(&d->live, false);
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct sample_queue *q = &d->queues[i];

		if (q == current_queue)
			continue;
		pthread_mutex_lock(&q->lock);
		pthread_mutex_unlock(&q->lock);
	}
}

static void *worker(void *arg)
{
	struct sample_queue *q = arg;
	struct sample_dev *d = q->dev;
	struct pollfd p[2] = {
		{ .fd = vb_vq_kick_fd(q->vq), .events = POLLIN },
		{ .fd = d->stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG ": %s q%u: poll: %s\n", d->name,
				q->index, strerror(errno));
			break;
		}
		if (p[1].revents || atomic_load(&d->stopping))
			break;
		if (p[0].revents & POLLIN) {
			pthread_mutex_lock(&q->lock);
			current_queue = q;
			vb_virtio_poll_queue(d->vdev, q->vq);
			current_queue = NULL;
			pthread_mutex_unlock(&q->lock);
		} else if (p[0].revents) {
			fprintf(stderr, PROG ": %s q%u: kick eventfd failed\n",
				d->name, q->index);
			break;
		}
	}
	return NULL;
}

/* Wait up to @ms for the stop eventfd: true once the device stops. */
static bool stop_wait(struct sample_dev *d, int ms)
{
	struct pollfd p = { .fd = d->stop_fd, .events = POLLIN };
	int r;

	do {
		r = poll(&p, 1, ms);
	} while (r < 0 && errno == EINTR);
	return r != 0 || atomic_load(&d->stopping);
}

/* Every queue's kick unregistered (false) or registered again (true). */
static int set_kicks(struct sample_dev *d, bool registered)
{
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		int r = vb_vq_set_kick(d->queues[i].vq, registered);

		if (r)
			return r;
	}
	return 0;
}

/*
 * kick-churn=MS: every MS ms the queues' kicks go away for half the
 * period and come back, while the workers serve. Meanwhile the driver's
 * QueueNotify writes arrive as traps, which the library forwards to the
 * same eventfds: nothing may be lost either way. A failure marks the
 * device broken (the driver sees DEVICE_NEEDS_RESET); a frontend that is
 * gone just ends the churn.
 */
static void *kick_churn(void *arg)
{
	struct sample_dev *d = arg;
	int off_ms = (int)d->kick_churn_ms / 2;
	int on_ms = (int)d->kick_churn_ms - off_ms;
	int r;

	for (;;) {
		r = set_kicks(d, false);
		if (r)
			break;
		if (stop_wait(d, off_ms))
			return NULL;	/* destroy skips unregistered kicks */
		r = set_kicks(d, true);
		if (r)
			break;
		atomic_fetch_add(&d->churn_cycles, d->nr_queues);
		if (stop_wait(d, on_ms))
			return NULL;
	}
	if (r != -EPIPE && r != -ENOTCONN && !atomic_load(&d->stopping)) {
		fprintf(stderr, PROG ": %s: kick churn: %s\n", d->name,
			vb_last_error());
		vb_virtio_fail(d->vdev, "kick churn failed");
	}
	return NULL;
}

int device_open_model(struct sample_dev *d, char *err, size_t errlen)
{
	char why[ERR_MAX];

	if (d->model->open(d, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", d->name, why);
		d->model->close(d);
		return -1;
	}
	d->model_open = true;
	d->ops.config_write = NULL;
	d->ops.start = dev_start_cb;
	d->ops.reset = dev_reset_cb;
	d->ops.queue_kick = dev_queue_kick;
	return 0;
}

int device_start(struct sample_dev *d, char *err, size_t errlen)
{
	unsigned int nq = d->ops.num_queues;
	int r;

	if (!nq || nq > VB_MAX_QUEUES) {
		snprintf(err, errlen, "%s: %u queues", d->name, nq);
		return -1;
	}
	d->queues = calloc(nq, sizeof(*d->queues));
	if (!d->queues) {
		snprintf(err, errlen, "%s: out of memory", d->name);
		return -1;
	}
	/* Locks first: the library may reset the device from now on. */
	for (unsigned int i = 0; i < nq; i++) {
		d->queues[i].dev = d;
		d->queues[i].index = i;
		pthread_mutex_init(&d->queues[i].lock, NULL);
	}
	d->nr_queues = nq;
	d->running = true;

	d->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (d->stop_fd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", d->name,
			 strerror(errno));
		goto fail;
	}
	if (!d->sess->vs) {
		r = vb_session_open(d->sess->target, &d->sess->vs);
		if (r) {
			d->sess->vs = NULL;
			snprintf(err, errlen, "%s: target '%s': %s", d->name,
				 d->sess->target, vb_last_error());
			goto fail;
		}
	}
	d->sess->users++;
	d->using_sess = true;
	r = vb_virtio_create(d->sess->vs, &d->params, &d->ops, d->config, d,
			     &d->vdev);
	if (r) {
		snprintf(err, errlen, "%s: %s", d->name, vb_last_error());
		goto fail;
	}
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct sample_queue *q = &d->queues[i];

		q->vq = vb_virtio_queue(d->vdev, i);
		if (!q->vq) {
			snprintf(err, errlen, "%s: no queue %u: %s", d->name,
				 i, vb_last_error());
			goto fail;
		}
		r = pthread_create(&q->thread, NULL, worker, q);
		if (r) {
			snprintf(err, errlen, "%s: worker thread: %s",
				 d->name, strerror(r));
			goto fail;
		}
		q->thread_started = true;
	}
	if (d->kick_churn_ms) {
		r = pthread_create(&d->churn_thread, NULL, kick_churn, d);
		if (r) {
			snprintf(err, errlen, "%s: kick churn thread: %s",
				 d->name, strerror(r));
			goto fail;
		}
		d->churn_started = true;
	}
	return 0;
fail:
	device_stop(d);
	return -1;
}

int device_handle_events(struct sample_dev *d)
{
	return vb_virtio_handle_events(d->vdev);
}

void device_stop(struct sample_dev *d)
{
	static const uint64_t one = 1;

	if (d->running) {
		atomic_store(&d->stopping, true);
		if (d->stop_fd >= 0 &&
		    write(d->stop_fd, &one, sizeof(one)) < 0)
			fprintf(stderr, PROG ": %s: stop: %s\n", d->name,
				strerror(errno));
		if (d->churn_started)
			pthread_join(d->churn_thread, NULL);
		d->churn_started = false;
		for (unsigned int i = 0; i < d->nr_queues; i++) {
			struct sample_queue *q = &d->queues[i];

			if (q->thread_started)
				pthread_join(q->thread, NULL);
			q->thread_started = false;
			if (q->vq)
				vb_vq_get_stats(q->vq, &d->final[i]);
			q->vq = NULL;
		}
		if (d->vdev)
			vb_virtio_destroy(d->vdev);
		d->vdev = NULL;
		if (d->using_sess && !--d->sess->users) {
			vb_session_close(d->sess->vs);
			d->sess->vs = NULL;
		}
		d->using_sess = false;
		for (unsigned int i = 0; i < d->nr_queues; i++)
			pthread_mutex_destroy(&d->queues[i].lock);
		free(d->queues);
		d->queues = NULL;
		if (d->stop_fd >= 0)
			close(d->stop_fd);
		d->stop_fd = -1;
		d->running = false;
		d->stopped = true;
	}
	if (d->model_open)
		d->model->close(d);
	d->model_open = false;
	d->config = NULL;
}
