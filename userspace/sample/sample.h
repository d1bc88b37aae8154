/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vbackend-sample: what the files of the sample backend share.
 *
 *   main.c     signals, the event loop, start and stop of the process
 *   options.c  the command line and the device SPECs
 *   device.c   one device: its session, virtio device and queue workers
 *   blk.c      the virtio-blk model (file-backed)
 *   rng.c      the virtio-rng model
 *   status.c   the one-line SIGUSR1 report
 *   inherit.c  descriptors inherited from the parent
 *
 * Everything goes through libvbackend: nothing here knows which
 * hypervisor runs the frontend.
 */
#ifndef VBACKEND_SAMPLE_H
#define VBACKEND_SAMPLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libvbackend.h>

#define PROG		"vbackend-sample"
#define ERR_MAX		512	/* one error line */

/* Exit statuses */
#define EXIT_CLEAN	0	/* stopped by a signal, or every frontend left */
#define EXIT_RUNTIME	1	/* a device failed while running */
#define EXIT_SETUP	2	/* bad command line, target or image */

struct sample_dev;

/*
 * One session per distinct target string: devices given the same target
 * share it (a frontend takes one backend session at a time), and the
 * library dispatches its records to every device on it.
 * @target: given to vb_session_open() as it is
 * @vs: the library session, open while @users > 0
 * @users: running devices on it
 * @owner: the device that frees it (the first one naming the target)
 */
struct sample_session {
	char *target;
	struct vb_session *vs;
	unsigned int users;
	struct sample_dev *owner;
};

/* One queue of a device and the thread that serves it. */
struct sample_queue {
	struct sample_dev *dev;
	struct vb_vq *vq;
	unsigned int index;
	pthread_t thread;
	bool thread_started;
	/* Held while the worker is inside vb_virtio_poll_queue(). */
	pthread_mutex_t lock;
	/* The request being served; reused, never allocated per request. */
	struct vb_vq_req req;
};

/**
 * struct sample_model - a device model (virtio-blk, virtio-rng)
 * @kind: the first word of its SPEC
 * @state_size: bytes of model state, zeroed, at sample_dev.state
 * @option: take a model-specific SPEC key (@val NULL for a bare flag);
 *          0, or -1 with @err set ("unknown key" when it is not one)
 * @open: check the keys, open what the device needs and fill
 *        sample_dev.ops (all but the callbacks) and sample_dev.config;
 *        0, or -1 with @err set
 * @close: release what @open took; safe after a failed @open
 * @serve: serve one request; returns the bytes written to its in buffers
 *         (for vb_vq_push())
 */
struct sample_model {
	const char *kind;
	size_t state_size;
	int (*option)(struct sample_dev *d, const char *key, const char *val,
		      char *err, size_t errlen);
	int (*open)(struct sample_dev *d, char *err, size_t errlen);
	void (*close)(struct sample_dev *d);
	uint32_t (*serve)(struct sample_dev *d, struct vb_vq_req *req);
};

extern const struct sample_model blk_model;
extern const struct sample_model rng_model;

/**
 * struct sample_dev - one device served by the process
 * @name: "blk0", "rng1"... in the order of the command line
 * @model: its model; @state: the model's state
 * @sess: its session, shared with the devices of the same target
 * @params: where the device sits in the frontend
 * @ops, @config: filled by the model's open()
 * @vdev: the library's device while it runs
 * @stop_fd: eventfd, written once to stop every worker
 * @live: DRIVER_OK was set and no reset came since: queues may be used
 * @stopping: no new request is taken
 * @model_open: the model's open() succeeded and close() is due
 * @using_sess: counted in sess->users
 * @running: started and not stopped yet
 * @stopped: it ran and stopped (its counters are in @final)
 * @nr_queues, @queues: one worker per queue
 * @final: queue counters kept when the device stopped
 * @kick_churn_ms: kick-churn=MS: a thread unregisters and registers again
 *                 every queue's kick every MS ms (a test of the kernel's
 *                 kick add/remove under traffic; 0: off)
 * @churn_thread, @churn_started: that thread
 * @churn_cycles: kicks unregistered and registered again so far
 */
struct sample_dev {
	char name[16];
	const struct sample_model *model;
	void *state;
	struct sample_session *sess;
	struct vb_virtio_params params;
	bool have_mmio, have_irq;

	struct vb_virtio_ops ops;
	void *config;

	struct vb_virtio_dev *vdev;
	int stop_fd;
	atomic_bool live;
	atomic_bool stopping;
	bool model_open;
	bool using_sess;
	bool running;
	bool stopped;
	unsigned int nr_queues;
	struct sample_queue *queues;
	struct vb_vq_stats final[VB_MAX_QUEUES];
	unsigned int kick_churn_ms;
	pthread_t churn_thread;
	bool churn_started;
	atomic_ulong churn_cycles;
};

/* options.c */
/* Parse argv into *devs (allocated, *n of them). Prints usage and exits 0
 * for --help; prints one line and exits EXIT_SETUP on a bad option. */
void options_parse(int argc, char **argv, struct sample_dev ***devs,
		   size_t *n);
void options_free(struct sample_dev **devs, size_t n);

/* device.c */
/* Open the model's resources (image...): 0, or -1 with @err set. */
int device_open_model(struct sample_dev *d, char *err, size_t errlen);
/* Bind the session (unless a device of the same target did), create the
 * virtio device, start the workers. */
int device_start(struct sample_dev *d, char *err, size_t errlen);
/* Handle the records of the device's session, for every device on it: 0,
 * -EPIPE when the frontend is gone, another negative errno on failure
 * (vb_last_error() says more). */
int device_handle_events(struct sample_dev *d);
/* Finish the requests being served, join the workers, destroy the device,
 * close the model, and the session when no other device uses it.
 * Idempotent. */
void device_stop(struct sample_dev *d);

/* status.c */
/* Write the one-line status report of every device to @out. */
void status_report(FILE *out, struct sample_dev *const *devs, size_t n);

/* inherit.c */
/* Note the descriptors above stderr the process started with. */
void inherited_note(void);
/* Close the noted ones that are the same character device as @fd (a
 * session of ours): a frontend's session must not be kept open here. */
void inherited_close_like(int fd);
void inherited_forget(void);

#endif /* VBACKEND_SAMPLE_H */
