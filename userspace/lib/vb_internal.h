/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvbackend internals: the objects behind the opaque handles of
 * libvbackend.h, and the hooks the host unit tests (lib/tests/) use to run
 * the virtio code over malloc'ed "guest RAM" without a kernel.
 */
#ifndef VB_INTERNAL_H
#define VB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "libvbackend.h"

#define VB_DEV_PATH		"/dev/vbackend"
#define VB_MAX_WINDOWS		64	/* windows per session (regions max 64) */
#define VB_MAX_DEVS		32	/* virtio devices per session */
#define VB_MMIO_SIZE		0x200	/* virtio-mmio register window */
#define VB_DRAIN_MS		2000	/* a stop waits this long for pushes */
#define VB_CONFIG_MAX		0x100	/* config space: 0x100..0x1ff */
#define VB_QUEUE_NUM_LIMIT	32768	/* split ring limit */
#define VB_VENDOR_ID		0x6b636276 /* "vbck" */
#define VB_EVENT_BATCH		32	/* records per read() */

/* Format vb_last_error() as "<what>: <strerror(err)>"; returns -err. */
int vb_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same without an errno suffix; returns -err. */
int vb_error_msg(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

struct vb_window {
	uint64_t gpa;
	uint64_t size;
	void *host;
	uint32_t id;
	bool write;
	bool owned;		/* mmap()ed by us: munmap() on close */
};

/*
 * The device list is written only while the session is set up
 * (vb_session_open, vb_virtio_create/destroy) and read without locks
 * afterwards. Windows are read without locks too (vb_translate() is on
 * every data path) but may still be added later, by one thread at a time
 * (the one that reads the record stream: VBACKEND_EVENT_MEMORY): an entry
 * is complete before the release store of nr_windows that publishes it.
 */
struct vb_session {
	int fd;
	bool fake;		/* test session: ioctls succeed without a kernel */
	atomic_bool gone;	/* frontend gone (PEER_GONE, EOF or SIGBUS) */
	uint32_t fake_ids;
	struct vbackend_info info;
	struct vbackend_session_info sinfo;	/* after bind (GET_SESSION) */
	uint32_t prov_caps;	/* the bound provider's VBACKEND_PROVIDER_CAP_* */
	_Atomic unsigned int nr_windows;
	uint32_t next_region;	/* first VBACKEND_MEM_REGION index not mapped */
	struct vb_window win[VB_MAX_WINDOWS];
	unsigned int nr_devs;
	struct vb_virtio_dev *devs[VB_MAX_DEVS];
};

/* Map the memory regions the frontend has added since the last call. */
int vb_session_map_memory(struct vb_session *s);

/* SIGBUS guard (sigbus.c): windows whose revocation must not kill us. */
int vb_guard_install(void);
int vb_guard_add(void *host, size_t len, atomic_bool *gone);
void vb_guard_del(void *host);

/*
 * Test hooks. A fake session has no kernel behind it: trap/kick/irq
 * registration succeeds with made-up ids, and events are read from and
 * completions written to @fd (a socketpair end, or -1 for none).
 */
struct vb_session *vb_session_fake(int fd);
int vb_session_fake_window(struct vb_session *s, uint64_t gpa, void *host,
			   uint64_t size, bool write);

/* ------------------------------------------------------------------ */
/* virtio-mmio device                                                  */
/* ------------------------------------------------------------------ */

#define VB_INFLIGHT_WORDS	(VB_QUEUE_NUM_LIMIT / 64)

/*
 * Locking rule (one register thread, one thread per queue):
 *
 *  - Register state (the reg_* fields, selectors, driver features, @started)
 *    belongs to the thread that runs vb_virtio_handle_events().
 *  - Ring state (everything from @live to @inflight) is protected by the
 *    queue's @lock. vb_vq_pop/push/notify hold it for their duration; the
 *    register thread takes it to start a queue (QueueReady=1) or to stop
 *    it (QueueReady=0, device reset, destroy). A request popped before a
 *    stop carries the old @gen and its push is dropped, so a reset never
 *    races with a queue thread writing the used ring.
 *  - ops->queue_kick() and ops->reset() are called without any queue lock
 *    held, so the model may wait in reset() for its queue threads.
 *  - Device-wide state shared by both sides (status, negotiated features,
 *    ISR, config generation, broken) is atomic. vb_virtio_fail() takes no
 *    lock and may be called from any thread, with or without a queue lock.
 */
struct vb_vq {
	struct vb_virtio_dev *dev;
	uint16_t index;
	int kick_fd;
	uint32_t kick_id;
	bool kick_registered;
	/* The queue's own interrupt (VBACKEND_IRQ_TARGET_QUEUE), when the
	 * frontend has one per queue; -1: the device's. */
	int irq_fd;
	uint32_t irq_id;
	bool irq_registered;

	/* Register file (register thread). */
	uint32_t reg_num;
	bool reg_ready;
	/* VB_VMM_QUEUE_BASE: where it stopped, or (@reg_base_set) where the
	 * next start resumes; a start without a write begins at 0. */
	uint16_t reg_base;
	bool reg_base_set;
	uint64_t reg_desc;
	uint64_t reg_avail;
	uint64_t reg_used;

	/* Ring state (@lock). */
	pthread_mutex_t lock;
	atomic_bool live;
	uint32_t gen;
	uint16_t num;
	bool event_idx;
	bool indirect;
	const struct vring_desc *desc;
	const struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_valid;
	uint32_t inflight;
	uint64_t inflight_map[VB_INFLIGHT_WORDS];
	bool draining;		/* a stop waits: no pop, pushes still land */
	pthread_cond_t drained;	/* @inflight reached 0 while @draining */

	/* Statistics, relaxed atomics. */
	atomic_uint_fast64_t st_requests;
	atomic_uint_fast64_t st_bytes;
	atomic_uint_fast64_t st_kicks;
	atomic_uint_fast64_t st_interrupts;
};

struct vb_virtio_dev {
	struct vb_session *s;
	struct vb_virtio_ops ops;
	struct vb_virtio_params params;
	void *config;
	void *opaque;
	uint64_t host_features;
	uint32_t trap_id;
	bool trap_registered;
	uint32_t vmm_trap_id;		/* its VB_VMM_* registers */
	bool vmm_trap_registered;
	int irq_fd;
	uint32_t irq_id;
	bool irq_registered;

	/* Register file (register thread). */
	uint32_t dev_feat_sel;
	uint32_t drv_feat_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint64_t drv_features;
	bool started;		/* ops->start() was called */

	/* Shared. */
	_Atomic uint32_t status;
	_Atomic uint64_t features;	/* accepted with FEATURES_OK */
	_Atomic uint32_t isr;
	_Atomic uint32_t config_gen;
	atomic_bool broken;
	char why[160];			/* first failure, set once */

	struct vb_vq vq[VB_MAX_QUEUES];
};

/* virtio_mmio.c: one register access at @off in the 0x200 window. */
uint64_t vb_mmio_access(struct vb_virtio_dev *d, uint64_t off, uint32_t size,
			bool write, uint64_t data);
/* virtio_mmio.c: one access at @off of the VMM's VB_VMM_* registers. */
uint64_t vb_vmm_access(struct vb_virtio_dev *d, uint64_t off, uint32_t size,
		       bool write, uint64_t data);
/* virtio_dev.c: device reset (status 0 or a frontend reset). */
void vb_virtio_reset(struct vb_virtio_dev *d);
/* virtio_irq.c: set @bits in InterruptStatus and signal the irq eventfd. */
void vb_virtio_interrupt(struct vb_virtio_dev *d, uint32_t bits);
void vb_vq_interrupt(struct vb_vq *vq);
/* virtqueue.c: start (QueueReady=1) at avail index @base, or stop a
 * queue, with @drain first waiting (VB_DRAIN_MS at most) for the requests
 * in flight to be pushed; start returns 0 or -errno with a reason in @why,
 * stop the avail index it stopped at. */
int vb_vq_start(struct vb_vq *vq, uint16_t base, char *why, size_t whylen);
uint16_t vb_vq_stop(struct vb_vq *vq, bool drain);
extern unsigned int vb_drain_ms;	/* VB_DRAIN_MS; the tests shorten it */

#endif /* VB_INTERNAL_H */
