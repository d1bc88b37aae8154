/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvbackend: write a device backend once, serve it on any hypervisor.
 *
 * The library binds a /dev/vbackend session from a target string it does not
 * interpret, maps the frontend's memory, and implements a virtio-mmio
 * (version 2) transport with split virtqueues on top of the session's trap
 * records, kicks and interrupt eventfds. It allocates nothing on the data
 * path and treats everything the frontend writes as hostile.
 *
 * Conventions: functions returning int give 0 or a negative errno;
 * vb_last_error() holds a one-line description of the last failure of the
 * calling thread ("window map 0x40000000+0x10000000: No space left").
 */
#ifndef LIBVBACKEND_H
#define LIBVBACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/vbackend.h>

#ifdef __cplusplus
extern "C" {
#endif

const char *vb_last_error(void);

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

struct vb_session;

/* Open /dev/vbackend (O_CLOEXEC) and bind it to @target, then map every
 * frontend memory region (VBACKEND_MEM_REGION + WINDOW_MAP + mmap). */
int vb_session_open(const char *target, struct vb_session **out);
/* Unmap every window and close the fd; in-flight traps are failed by the
 * kernel. Safe on NULL. */
void vb_session_close(struct vb_session *s);
int vb_session_fd(const struct vb_session *s);
const struct vbackend_info *vb_session_info(const struct vb_session *s);

/* Host address for [gpa, gpa + len) if it lies inside one mapped window
 * (and that window is writable when @write); NULL otherwise. Overflow
 * safe. When the frontend dies its windows are revoked and a touch would
 * SIGBUS: the library's SIGBUS handler (installed by vb_session_open(),
 * chained to any previous one for other addresses) maps anonymous zero
 * pages over the dead window and marks the session gone, so a worker in
 * the middle of a copy finishes it harmlessly and sees -EPIPE next. */
void *vb_translate(struct vb_session *s, uint64_t gpa, uint64_t len,
		   bool write);

int vb_trap_add(struct vb_session *s, bool pio, uint64_t addr, uint64_t size,
		uint32_t *id);
/* A trap range of the VMM's own registers (VBACKEND_SPACE_VMM): only the
 * frontend's VMM reaches them, never its guest. Where the provider has
 * that space (vb_session_has_vmm_space()). */
bool vb_session_has_vmm_space(const struct vb_session *s);
int vb_trap_add_vmm(struct vb_session *s, uint64_t addr, uint64_t size,
		    uint32_t *id);
/* Remove a trap range (its kicks first); used by vb_virtio_destroy(). */
int vb_trap_del(struct vb_session *s, uint32_t id);
int vb_kick_add(struct vb_session *s, bool pio, uint64_t addr, uint32_t len,
		bool datamatch, uint64_t data, int eventfd, uint32_t *id);
int vb_kick_del(struct vb_session *s, uint32_t id);
int vb_irq_add(struct vb_session *s, int eventfd, uint32_t type,
	       uint64_t target0, uint64_t target1, uint32_t *id);
int vb_irq_del(struct vb_session *s, uint32_t id);
/* With VBACKEND_FEATURE_NOTIFIER_FD (vb_session_has_notifiers()): the
 * kernel issues the kick's or interrupt's fd, a notifier, so that the
 * frontend's VMM can attach its own eventfds behind it at any time.
 * *@fd == -1 asks for a new kick notifier (made non-blocking, returned in
 * *@fd); a kick notifier from an earlier call is shared. The fd is the
 * caller's to close. */
bool vb_session_has_notifiers(const struct vb_session *s);
int vb_kick_add_notifier(struct vb_session *s, bool pio, uint64_t addr,
			 uint32_t len, bool datamatch, uint64_t data, int *fd,
			 uint32_t *id);
int vb_irq_add_notifier(struct vb_session *s, uint32_t type, uint64_t target0,
			uint64_t target1, int *fd, uint32_t *id);
/* A notifier when the kernel has them, else a new eventfd: in *@fd. */
int vb_irq_add_fd(struct vb_session *s, uint32_t type, uint64_t target0,
		  uint64_t target1, int *fd, uint32_t *id);
/* The frontend has one interrupt per queue (VBACKEND_IRQ_TARGET_QUEUE in
 * VBACKEND_GET_SESSION's irq_targets): a virtio device then raises each
 * queue's used-buffer interrupt on its own, and keeps the params' target
 * for configuration changes. */
bool vb_session_irq_per_queue(const struct vb_session *s);

/* Read up to @max records without blocking: count, 0 when none, -EPIPE
 * once the peer is gone and nothing is left (EOF). */
int vb_events_read(struct vb_session *s, struct vbackend_event *ev,
		   unsigned int max);
/* Complete @n traps in one write(). */
int vb_complete(struct vb_session *s, const struct vbackend_completion *c,
		unsigned int n);

/* ------------------------------------------------------------------ */
/* virtio-mmio device (virtio 1.x, MMIO transport version 2)           */
/* ------------------------------------------------------------------ */

#define VB_VQ_MAX_SEGS	64	/* segments per request; longer chains fail */
#define VB_MAX_QUEUES	16

/*
 * The VMM's registers of a device, at its mmio_base in VBACKEND_SPACE_VMM
 * (where the provider has it): what a VMM-side protocol such as vhost-user
 * needs and virtio-mmio lacks. 32-bit, on the queue QueueSel selects.
 *
 * VB_VMM_QUEUE_BASE: read while the queue is ready, the avail index the
 * device takes next; after QueueReady=0, the index it stopped at. That
 * stop drains: the QueueReady=0 write completes once every request the
 * device had taken is used (VB_DRAIN_MS, 2 s, at most), so everything
 * before the index is used. Written while the queue is not ready, the
 * index the next QueueReady=1 resumes at (a backend restarted under a live
 * frontend, vhost-user's SET_VRING_BASE); without a write a queue starts
 * at 0, as a driver's fresh ring does. A device reset clears it.
 */
#define VB_VMM_QUEUE_BASE	0x00
#define VB_VMM_REGS_SIZE	0x10

struct vb_virtio_dev;
struct vb_vq;

/**
 * struct vb_vq_req - one request popped from a virtqueue
 * @head: descriptor chain head, returned by vb_vq_push()
 * @out: driver-to-device buffers (host addresses, bounds-checked)
 * @in: device-to-driver buffers
 * @nr_out, @nr_in: segments used
 * @out_len, @in_len: total bytes
 * @gen: private: the queue incarnation it was popped from (a push after a
 *       reset or queue restart is dropped)
 */
struct vb_vq_req {
	uint16_t head;
	uint16_t nr_out;
	uint16_t nr_in;
	uint32_t out_len;
	uint32_t in_len;
	uint32_t gen;
	struct iovec out[VB_VQ_MAX_SEGS];
	struct iovec in[VB_VQ_MAX_SEGS];
};

/**
 * struct vb_virtio_ops - what a device model provides
 * @device_id: VIRTIO_ID_*
 * @features: device features offered (VIRTIO_F_VERSION_1 is added, and
 *            so are VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_RING_F_EVENT_IDX
 *            which the library implements; other transport bits 28..41,
 *            e.g. VIRTIO_F_RING_PACKED, are masked)
 * @num_queues: queues the device has (<= VB_MAX_QUEUES)
 * @queue_num_max: QueueNumMax for every queue (power of two, <= 32768)
 * @config_size: bytes of device config space
 * @config_write: a driver wrote config space at @off (optional; read-only
 *                config if NULL)
 * @start: DRIVER_OK was set; features are final. Non-zero fails the
 *         device (DEVICE_NEEDS_RESET).
 * @reset: the driver reset the device; stop using every queue first
 * @queue_kick: the driver notified @vq; called from the thread that runs
 *              vb_virtio_poll_queue() for it
 */
struct vb_virtio_ops {
	uint32_t device_id;
	uint64_t features;
	uint16_t num_queues;
	uint16_t queue_num_max;
	uint32_t config_size;
	void (*config_write)(struct vb_virtio_dev *d, uint32_t off,
			     const void *buf, uint32_t len);
	int (*start)(struct vb_virtio_dev *d);
	void (*reset)(struct vb_virtio_dev *d);
	void (*queue_kick)(struct vb_virtio_dev *d, struct vb_vq *vq);
};

/**
 * struct vb_virtio_params - where the device sits in the frontend
 * @mmio_base: start of its 0x200-byte virtio-mmio register window
 * @irq_type: VBACKEND_IRQ_TARGET_* for its interrupt
 * @irq_target: the target words, passed to the kernel as they are
 */
struct vb_virtio_params {
	uint64_t mmio_base;
	uint32_t irq_type;
	uint64_t irq_target[2];
};

/* Claim the register window, register one kick eventfd per queue
 * (datamatch on QueueNotify) and the interrupt eventfd. @config points to
 * @ops->config_size bytes the model owns; the device keeps the pointer. */
int vb_virtio_create(struct vb_session *s, const struct vb_virtio_params *p,
		     const struct vb_virtio_ops *ops, void *config, void *opaque,
		     struct vb_virtio_dev **out);
void vb_virtio_destroy(struct vb_virtio_dev *d);
void *vb_virtio_opaque(struct vb_virtio_dev *d);
uint64_t vb_virtio_features(struct vb_virtio_dev *d);	/* negotiated */
/* The model changed its config: bump ConfigGeneration, raise a config
 * interrupt. */
void vb_virtio_config_changed(struct vb_virtio_dev *d);
/* Mark DEVICE_NEEDS_RESET and interrupt; the queues stop. */
void vb_virtio_fail(struct vb_virtio_dev *d, const char *why);

/* Handle every queued trap record (register accesses) and lifecycle event
 * of the session; call when vb_session_fd() is readable. -EPIPE once the
 * frontend is gone. Records are dispatched to every device of @d's
 * session, so with several devices on one session one thread calls this
 * for any of them; vb_virtio_create/destroy must not run concurrently with
 * it on the same session. */
int vb_virtio_handle_events(struct vb_virtio_dev *d);

struct vb_vq *vb_virtio_queue(struct vb_virtio_dev *d, unsigned int index);
unsigned int vb_vq_index(const struct vb_vq *vq);
/* Kick eventfd of the queue: readable when the driver notified it. */
int vb_vq_kick_fd(const struct vb_vq *vq);
/* Unregister the queue's kick (false) or register it again (true); while
 * it is unregistered, QueueNotify writes arrive as traps and
 * vb_virtio_handle_events() forwards them to the same eventfd, so the
 * driver sees no difference. For tests that churn kicks under traffic.
 * One thread at a time, never concurrently with vb_virtio_destroy(). */
int vb_vq_set_kick(struct vb_vq *vq, bool registered);
/* Drain the kick eventfd and call ops->queue_kick if the queue is live. */
void vb_virtio_poll_queue(struct vb_virtio_dev *d, struct vb_vq *vq);

/* Pop the next available request: 1 with @req filled, 0 when none (or the
 * queue is not live), or a negative errno after marking the device broken
 * (hostile ring); -EIO while the device stays broken, -EPIPE once the
 * frontend is gone. With EVENT_IDX, 0 also re-arms avail_event. */
int vb_vq_pop(struct vb_vq *vq, struct vb_vq_req *req);
/* Return a request with @written bytes written to its in buffers. */
void vb_vq_push(struct vb_vq *vq, const struct vb_vq_req *req,
		uint32_t written);
/* Interrupt the driver if it wants one (EVENT_IDX / NO_INTERRUPT). */
void vb_vq_notify(struct vb_vq *vq);

/* Per-queue counters, for status reports. @bytes counts, per request
 * pushed, its out_len plus the bytes written. */
struct vb_vq_stats {
	uint64_t requests;
	uint64_t bytes;
	uint64_t kicks;
	uint64_t interrupts;
};
void vb_vq_get_stats(const struct vb_vq *vq, struct vb_vq_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* LIBVBACKEND_H */
