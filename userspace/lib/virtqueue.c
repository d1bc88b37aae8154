// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues (virtio 1.2, section 2.7) against a hostile driver.
 *
 * Every field the driver can write is read exactly once into a local
 * (atomic loads for the indexes, a copy of each descriptor), every index
 * is bounded by the queue size, chains are bounded in steps and segments,
 * and every buffer goes through vb_translate(). Anything a correct driver
 * cannot produce marks the device broken (DEVICE_NEEDS_RESET); the queue
 * then stops. The used index is the device's own: it is never read back
 * from shared memory. Nothing here allocates.
 *
 * Memory ordering: the avail index is loaded with acquire before its ring
 * entries and descriptors are read; used entries are stored before the
 * used index is stored with release; a full fence separates a used index
 * (or avail_event) store from the load of flags/used_event (or the avail
 * index) that decides on an interrupt (or that re-checks for work).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vb_internal.h"

#define VB_FAIL(why, whylen, ...) \
	(snprintf(why, whylen, __VA_ARGS__), -EIO)

static inline uint16_t vb_load16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline uint16_t vb_load16_acquire(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static inline void vb_store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void vb_store32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/*
 * Copy one descriptor out of shared memory. The compiler barrier keeps the
 * compiler from re-reading the source instead of the copy; memcpy() keeps
 * indirect tables at any alignment well-defined.
 */
static inline void vb_read_desc(const void *src, struct vring_desc *dst)
{
	memcpy(dst, src, sizeof(*dst));
	__asm__ __volatile__("" ::: "memory");
	dst->addr = le64toh(dst->addr);
	dst->len = le32toh(dst->len);
	dst->flags = le16toh(dst->flags);
	dst->next = le16toh(dst->next);
}

static inline bool vb_test_bit(const uint64_t *map, uint16_t bit)
{
	return map[bit / 64] & (1ULL << (bit % 64));
}

static inline void vb_assign_bit(uint64_t *map, uint16_t bit, bool on)
{
	if (on)
		map[bit / 64] |= 1ULL << (bit % 64);
	else
		map[bit / 64] &= ~(1ULL << (bit % 64));
}

/* avail->ring[num] and used->ring[num]: the EVENT_IDX words. */
static inline const void *vb_used_event(const struct vb_vq *vq)
{
	return &vq->avail->ring[vq->num];
}

static inline void *vb_avail_event(const struct vb_vq *vq)
{
	return &vq->used->ring[vq->num];
}

/* ------------------------------------------------------------------ */
/* Start and stop (register thread)                                    */
/* ------------------------------------------------------------------ */

unsigned int vb_drain_ms = VB_DRAIN_MS;

int vb_vq_start(struct vb_vq *vq, uint16_t base, char *why, size_t whylen)
{
	struct vb_virtio_dev *d = vq->dev;
	uint64_t features = atomic_load(&d->features);
	bool event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	uint32_t num = vq->reg_num;
	uint64_t desc_len, avail_len, used_len;
	const void *desc, *avail;
	void *used;

	if (!num || num > d->ops.queue_num_max || (num & (num - 1)))
		return VB_FAIL(why, whylen, "size %u (max %u, power of two)",
			       num, d->ops.queue_num_max);
	if ((vq->reg_desc % VRING_DESC_ALIGN_SIZE) ||
	    (vq->reg_avail % VRING_AVAIL_ALIGN_SIZE) ||
	    (vq->reg_used % VRING_USED_ALIGN_SIZE))
		return VB_FAIL(why, whylen, "misaligned ring");
	desc_len = (uint64_t)num * sizeof(struct vring_desc);
	avail_len = 4 + 2ULL * num + (event_idx ? 2 : 0);
	used_len = 4 + 8ULL * num + (event_idx ? 2 : 0);
	desc = vb_translate(d->s, vq->reg_desc, desc_len, false);
	avail = vb_translate(d->s, vq->reg_avail, avail_len, false);
	used = vb_translate(d->s, vq->reg_used, used_len, true);
	if (!desc || !avail || !used)
		return VB_FAIL(why, whylen, "ring outside frontend memory");

	pthread_mutex_lock(&vq->lock);
	vq->num = (uint16_t)num;
	vq->event_idx = event_idx;
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	/* a queue resumed at @base has used everything before it */
	vq->last_avail = base;
	vq->used_idx = base;
	vq->signalled_used = base;
	vq->signalled_valid = false;
	vq->inflight = 0;
	memset(vq->inflight_map, 0, sizeof(vq->inflight_map));
	vq->gen++;
	atomic_store(&vq->live, true);
	pthread_mutex_unlock(&vq->lock);
	return 0;
}

/* Until the requests in flight are pushed, or vb_drain_ms. */
static void vb_vq_drain_locked(struct vb_vq *vq)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += vb_drain_ms / 1000;
	until.tv_nsec += (long)(vb_drain_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	vq->draining = true;
	while (vq->inflight && !atomic_load(&vq->dev->broken) &&
	       pthread_cond_timedwait(&vq->drained, &vq->lock, &until) != ETIMEDOUT)
		;
	vq->draining = false;
	if (vq->inflight)
		vb_error_msg(ETIMEDOUT, "queue %u stopped with %u requests in flight after %u ms",
			     vq->index, vq->inflight, vb_drain_ms);
}

uint16_t vb_vq_stop(struct vb_vq *vq, bool drain)
{
	uint16_t stopped_at;

	pthread_mutex_lock(&vq->lock);
	if (drain && atomic_load(&vq->live))
		vb_vq_drain_locked(vq);
	stopped_at = vq->last_avail;
	atomic_store(&vq->live, false);
	vq->gen++;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	pthread_mutex_unlock(&vq->lock);
	return stopped_at;
}

/* ------------------------------------------------------------------ */
/* Pop                                                                 */
/* ------------------------------------------------------------------ */

static int vb_add_seg(struct vb_vq_req *req, bool in, void *p, uint32_t len,
		      uint64_t *total_out, uint64_t *total_in,
		      char *why, size_t whylen)
{
	if (in) {
		if (req->nr_in == VB_VQ_MAX_SEGS)
			return VB_FAIL(why, whylen, "more than %u writable segments",
				       VB_VQ_MAX_SEGS);
		req->in[req->nr_in].iov_base = p;
		req->in[req->nr_in].iov_len = len;
		req->nr_in++;
		*total_in += len;
	} else {
		if (req->nr_in)
			return VB_FAIL(why, whylen, "readable segment after a writable one");
		if (req->nr_out == VB_VQ_MAX_SEGS)
			return VB_FAIL(why, whylen, "more than %u readable segments",
				       VB_VQ_MAX_SEGS);
		req->out[req->nr_out].iov_base = p;
		req->out[req->nr_out].iov_len = len;
		req->nr_out++;
		*total_out += len;
	}
	if (*total_in > UINT32_MAX || *total_out > UINT32_MAX)
		return VB_FAIL(why, whylen, "request longer than 4 GiB");
	return 0;
}

/* Walk the chain at @head into @req. */
static int vb_walk(struct vb_vq *vq, uint16_t head, struct vb_vq_req *req,
		   char *why, size_t whylen)
{
	struct vb_session *s = vq->dev->s;
	/* A byte pointer: indirect tables need not be aligned. */
	const uint8_t *table = (const uint8_t *)vq->desc;
	uint32_t table_num = vq->num, steps = 0, idx = head;
	uint64_t total_out = 0, total_in = 0;
	bool indirect = false;
	struct vring_desc dsc;
	void *p;
	int ret;

	req->nr_out = 0;
	req->nr_in = 0;
	for (;;) {
		if (++steps > table_num)
			return VB_FAIL(why, whylen, "descriptor chain at %u loops or is longer than %s",
				       head, indirect ? "its indirect table" : "the queue");
		vb_read_desc(table + (size_t)idx * sizeof(struct vring_desc), &dsc);

		if (dsc.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return VB_FAIL(why, whylen, "indirect descriptor not negotiated");
			if (indirect)
				return VB_FAIL(why, whylen, "nested indirect descriptor");
			if (dsc.flags & VRING_DESC_F_NEXT)
				return VB_FAIL(why, whylen, "indirect descriptor with NEXT");
			if (!dsc.len || dsc.len % sizeof(struct vring_desc))
				return VB_FAIL(why, whylen, "indirect table of %u bytes", dsc.len);
			table = vb_translate(s, dsc.addr, dsc.len, false);
			if (!table)
				return VB_FAIL(why, whylen, "indirect table 0x%" PRIx64 "+%u outside memory",
					       (uint64_t)dsc.addr, dsc.len);
			table_num = dsc.len / sizeof(struct vring_desc);
			indirect = true;
			steps = 0;
			idx = 0;
			continue;
		}

		if (dsc.len) {
			bool in = dsc.flags & VRING_DESC_F_WRITE;

			p = vb_translate(s, dsc.addr, dsc.len, in);
			if (!p)
				return VB_FAIL(why, whylen, "%s buffer 0x%" PRIx64 "+%u outside memory",
					       in ? "writable" : "readable",
					       (uint64_t)dsc.addr, dsc.len);
			ret = vb_add_seg(req, in, p, dsc.len, &total_out,
					 &total_in, why, whylen);
			if (ret)
				return ret;
		}
		if (!(dsc.flags & VRING_DESC_F_NEXT))
			break;
		idx = dsc.next;
		if (idx >= table_num)
			return VB_FAIL(why, whylen, "next descriptor %u beyond %u",
				       idx, table_num);
	}
	req->out_len = (uint32_t)total_out;
	req->in_len = (uint32_t)total_in;
	return 0;
}

static int vb_pop_locked(struct vb_vq *vq, struct vb_vq_req *req, char *why,
			 size_t whylen)
{
	struct vb_virtio_dev *d = vq->dev;
	uint16_t avail_idx, pending, head;
	int ret;

	if (!atomic_load(&vq->live) || vq->draining)
		return 0;
	if (atomic_load(&d->s->gone))
		return -EPIPE;
	if (atomic_load(&d->broken))
		return -EIO;

	avail_idx = vb_load16_acquire(&vq->avail->idx);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (!pending && vq->event_idx) {
		/* Ask for a kick at the next buffer, then look again so that
		 * one added meanwhile is not missed. */
		vb_store16(vb_avail_event(vq), vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = vb_load16_acquire(&vq->avail->idx);
		pending = (uint16_t)(avail_idx - vq->last_avail);
	}
	if (!pending)
		return 0;
	if (pending > vq->num)
		return VB_FAIL(why, whylen, "avail index moved from %u to %u (queue of %u)",
			       vq->last_avail, avail_idx, vq->num);

	head = vb_load16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return VB_FAIL(why, whylen, "head %u beyond %u", head, vq->num);
	if (vb_test_bit(vq->inflight_map, head))
		return VB_FAIL(why, whylen, "head %u made available twice", head);
	ret = vb_walk(vq, head, req, why, whylen);
	if (ret)
		return ret;

	vb_assign_bit(vq->inflight_map, head, true);
	vq->inflight++;
	vq->last_avail++;
	req->head = head;
	req->gen = vq->gen;
	return 1;
}

int vb_vq_pop(struct vb_vq *vq, struct vb_vq_req *req)
{
	char why[128];
	int ret;

	pthread_mutex_lock(&vq->lock);
	why[0] = '\0';
	ret = vb_pop_locked(vq, req, why, sizeof(why));
	pthread_mutex_unlock(&vq->lock);
	if (ret < 0 && why[0]) {
		char msg[160];

		snprintf(msg, sizeof(msg), "queue %u: %s", vq->index, why);
		vb_virtio_fail(vq->dev, msg);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Push and notify                                                     */
/* ------------------------------------------------------------------ */

void vb_vq_push(struct vb_vq *vq, const struct vb_vq_req *req,
		uint32_t written)
{
	struct vring_used_elem *e;
	uint16_t head = req->head;

	pthread_mutex_lock(&vq->lock);
	/* A request of an earlier incarnation of the queue, or after the
	 * device broke, never reaches the ring. */
	if (!atomic_load(&vq->live) || req->gen != vq->gen ||
	    atomic_load(&vq->dev->broken))
		goto out;
	if (head >= vq->num || !vb_test_bit(vq->inflight_map, head))
		goto out;	/* not popped, or pushed twice: a model bug */
	vb_assign_bit(vq->inflight_map, head, false);
	if (!--vq->inflight && vq->draining)
		pthread_cond_signal(&vq->drained);
	if (written > req->in_len)
		written = req->in_len;

	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	vb_store32(&e->id, head);
	vb_store32(&e->len, written);
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);

	atomic_fetch_add_explicit(&vq->st_requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&vq->st_bytes, (uint64_t)req->out_len + written,
				  memory_order_relaxed);
out:
	pthread_mutex_unlock(&vq->lock);
}

void vb_vq_notify(struct vb_vq *vq)
{
	uint16_t old, now;
	bool need = false;

	pthread_mutex_lock(&vq->lock);
	if (!atomic_load(&vq->live) || atomic_load(&vq->dev->broken))
		goto out;
	now = vq->used_idx;
	old = vq->signalled_used;
	if (now == old)
		goto out;	/* nothing used since the last decision */

	/* The used index store must be visible before we read what the
	 * driver asked for (it re-checks after writing it). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		need = !vq->signalled_valid ||
		       vring_need_event(vb_load16(vb_used_event(vq)), now, old);
	else
		need = !(vb_load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = now;
	vq->signalled_valid = true;
out:
	pthread_mutex_unlock(&vq->lock);
	if (need) {
		atomic_fetch_add_explicit(&vq->st_interrupts, 1, memory_order_relaxed);
		vb_vq_interrupt(vq);
	}
}

/* ------------------------------------------------------------------ */
/* Kicks and accessors                                                 */
/* ------------------------------------------------------------------ */

void vb_virtio_poll_queue(struct vb_virtio_dev *d, struct vb_vq *vq)
{
	uint64_t n;

	if (read(vq->kick_fd, &n, sizeof(n)) != sizeof(n))
		return;
	atomic_fetch_add_explicit(&vq->st_kicks, n, memory_order_relaxed);
	if (!atomic_load(&vq->live) || atomic_load(&d->broken))
		return;
	if (d->ops.queue_kick)
		d->ops.queue_kick(d, vq);
}

unsigned int vb_vq_index(const struct vb_vq *vq)
{
	return vq->index;
}

int vb_vq_kick_fd(const struct vb_vq *vq)
{
	return vq->kick_fd;
}

void vb_vq_get_stats(const struct vb_vq *vq, struct vb_vq_stats *st)
{
	struct vb_vq *v = (struct vb_vq *)vq;

	st->requests = atomic_load_explicit(&v->st_requests, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&v->st_bytes, memory_order_relaxed);
	st->kicks = atomic_load_explicit(&v->st_kicks, memory_order_relaxed);
	st->interrupts = atomic_load_explicit(&v->st_interrupts, memory_order_relaxed);
}
