// SPDX-License-Identifier: Apache-2.0
/*
 * virtio devices on a session: creation (trap range, per-queue kicks,
 * interrupt), destruction, device reset, and the register thread's loop
 * body that turns trap records into register accesses.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vb_internal.h"

/* Transport features the library implements; other transport bits are
 * never offered, whatever the model asks. */
#define VB_TRANSPORT_MASK \
	(((1ULL << (VIRTIO_TRANSPORT_F_END - VIRTIO_TRANSPORT_F_START)) - 1) \
	 << VIRTIO_TRANSPORT_F_START)
#define VB_TRANSPORT_OFFER \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

static int vb_check_ops(const struct vb_virtio_ops *ops, const void *config)
{
	uint16_t qmax = ops->queue_num_max;

	if (!ops->num_queues || ops->num_queues > VB_MAX_QUEUES)
		return vb_error_msg(EINVAL, "virtio device: %u queues (1..%u)",
				    ops->num_queues, VB_MAX_QUEUES);
	if (!qmax || qmax > VB_QUEUE_NUM_LIMIT || (qmax & (qmax - 1)))
		return vb_error_msg(EINVAL, "virtio device: queue_num_max %u",
				    qmax);
	if (ops->config_size > VB_CONFIG_MAX || (ops->config_size && !config))
		return vb_error_msg(EINVAL, "virtio device: config of %u bytes",
				    ops->config_size);
	return 0;
}

static void vb_dev_unregister(struct vb_virtio_dev *d)
{
	struct vb_session *s = d->s;
	unsigned int i;

	for (i = 0; i < d->ops.num_queues; i++) {
		if (d->vq[i].kick_registered)
			vb_kick_del(s, d->vq[i].kick_id);
		if (d->vq[i].irq_registered)
			vb_irq_del(s, d->vq[i].irq_id);
	}
	if (d->trap_registered)
		vb_trap_del(s, d->trap_id);
	if (d->vmm_trap_registered)
		vb_trap_del(s, d->vmm_trap_id);
	if (d->irq_registered)
		vb_irq_del(s, d->irq_id);
}

static void vb_dev_free(struct vb_virtio_dev *d)
{
	unsigned int i;

	for (i = 0; i < d->ops.num_queues; i++) {
		if (d->vq[i].kick_fd >= 0)
			close(d->vq[i].kick_fd);
		if (d->vq[i].irq_fd >= 0)
			close(d->vq[i].irq_fd);
		pthread_mutex_destroy(&d->vq[i].lock);
		pthread_cond_destroy(&d->vq[i].drained);
	}
	if (d->irq_fd >= 0)
		close(d->irq_fd);
	free(d);
}

/*
 * The queue's kick: QueueNotify writes of its index signal its eventfd, or
 * the notifier the kernel issued at the first registration (kept for the
 * queue's life: a registration again shares it, so the fd never changes).
 */
static int vb_vq_kick_register(struct vb_vq *vq)
{
	struct vb_virtio_dev *d = vq->dev;
	uint64_t addr = d->params.mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY;
	int ret;

	if (vb_session_has_notifiers(d->s))
		ret = vb_kick_add_notifier(d->s, false, addr, 4, true, vq->index,
					   &vq->kick_fd, &vq->kick_id);
	else
		ret = vb_kick_add(d->s, false, addr, 4, true, vq->index,
				  vq->kick_fd, &vq->kick_id);
	if (ret)
		return ret;
	vq->kick_registered = true;
	return 0;
}

int vb_vq_set_kick(struct vb_vq *vq, bool registered)
{
	int ret;

	if (vq->kick_registered == registered)
		return 0;
	if (registered)
		return vb_vq_kick_register(vq);
	ret = vb_kick_del(vq->dev->s, vq->kick_id);
	if (ret)
		return ret;
	vq->kick_registered = false;
	return 0;
}

static int vb_dev_register(struct vb_virtio_dev *d)
{
	const struct vb_virtio_params *p = &d->params;
	struct vb_session *s = d->s;
	bool notifiers = vb_session_has_notifiers(s);
	struct vb_vq *vq;
	unsigned int i;
	int ret;

	ret = vb_trap_add(s, false, p->mmio_base, VB_MMIO_SIZE, &d->trap_id);
	if (ret)
		return ret;
	d->trap_registered = true;
	/* the VMM's registers, where the provider keeps them from guests */
	if (vb_session_has_vmm_space(s)) {
		ret = vb_trap_add_vmm(s, p->mmio_base, VB_VMM_REGS_SIZE, &d->vmm_trap_id);
		if (ret)
			return ret;
		d->vmm_trap_registered = true;
	}
	for (i = 0; i < d->ops.num_queues; i++) {
		vq = &d->vq[i];
		if (!notifiers) {
			vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (vq->kick_fd < 0)
				return vb_error(errno, "eventfd");
		}
		ret = vb_vq_kick_register(vq);
		if (ret)
			return ret;
		/* its own interrupt, when the frontend has one per queue */
		if (!vb_session_irq_per_queue(s))
			continue;
		ret = vb_irq_add_fd(s, VBACKEND_IRQ_TARGET_QUEUE, p->mmio_base,
				    vq->index, &vq->irq_fd, &vq->irq_id);
		if (ret)
			return ret;
		vq->irq_registered = true;
	}
	ret = vb_irq_add_fd(s, p->irq_type, p->irq_target[0], p->irq_target[1],
			    &d->irq_fd, &d->irq_id);
	if (ret)
		return ret;
	d->irq_registered = true;
	return 0;
}

int vb_virtio_create(struct vb_session *s, const struct vb_virtio_params *p,
		     const struct vb_virtio_ops *ops, void *config, void *opaque,
		     struct vb_virtio_dev **out)
{
	pthread_condattr_t cattr;
	struct vb_virtio_dev *d;
	unsigned int i;
	int ret;

	if (!s || !p || !ops || !out)
		return vb_error_msg(EINVAL, "virtio device: missing argument");
	*out = NULL;
	ret = vb_check_ops(ops, config);
	if (ret)
		return ret;
	if (p->mmio_base + VB_MMIO_SIZE < p->mmio_base)
		return vb_error_msg(EOVERFLOW, "virtio device at 0x%" PRIx64,
				    p->mmio_base);
	if (s->nr_devs == VB_MAX_DEVS)
		return vb_error_msg(ENOSPC, "virtio device: %u per session",
				    VB_MAX_DEVS);

	d = calloc(1, sizeof(*d));
	if (!d)
		return vb_error(ENOMEM, "virtio device");
	d->s = s;
	d->ops = *ops;
	d->params = *p;
	d->config = config;
	d->opaque = opaque;
	d->irq_fd = -1;
	d->host_features = (ops->features & ~VB_TRANSPORT_MASK) | VB_TRANSPORT_OFFER;
	/* a drain's deadline is on the monotonic clock */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	for (i = 0; i < ops->num_queues; i++) {
		d->vq[i].dev = d;
		d->vq[i].index = (uint16_t)i;
		d->vq[i].kick_fd = -1;
		d->vq[i].irq_fd = -1;
		pthread_mutex_init(&d->vq[i].lock, NULL);
		pthread_cond_init(&d->vq[i].drained, &cattr);
	}
	pthread_condattr_destroy(&cattr);

	ret = vb_dev_register(d);
	if (ret) {
		vb_dev_unregister(d);
		vb_dev_free(d);
		return ret;
	}
	s->devs[s->nr_devs++] = d;
	*out = d;
	return 0;
}

void vb_virtio_destroy(struct vb_virtio_dev *d)
{
	struct vb_session *s;
	unsigned int i;

	if (!d)
		return;
	s = d->s;
	for (i = 0; i < d->ops.num_queues; i++)
		vb_vq_stop(&d->vq[i], false);
	for (i = 0; i < s->nr_devs; i++) {
		if (s->devs[i] != d)
			continue;
		s->devs[i] = s->devs[--s->nr_devs];
		s->devs[s->nr_devs] = NULL;
		break;
	}
	if (!atomic_load(&s->gone))
		vb_dev_unregister(d);
	vb_dev_free(d);
}

void vb_virtio_reset(struct vb_virtio_dev *d)
{
	struct vb_vq *vq;
	unsigned int i;

	/* Stop the rings first: queue threads see live == false from now
	 * on and their pushes of older requests are dropped. */
	for (i = 0; i < d->ops.num_queues; i++)
		vb_vq_stop(&d->vq[i], false);
	if (d->started && d->ops.reset)
		d->ops.reset(d);
	d->started = false;

	for (i = 0; i < d->ops.num_queues; i++) {
		vq = &d->vq[i];
		vq->reg_num = 0;
		vq->reg_ready = false;
		vq->reg_desc = 0;
		vq->reg_avail = 0;
		vq->reg_used = 0;
		vq->reg_base = 0;
		vq->reg_base_set = false;
	}
	d->dev_feat_sel = 0;
	d->drv_feat_sel = 0;
	d->queue_sel = 0;
	d->shm_sel = 0;
	d->drv_features = 0;
	atomic_store(&d->features, 0);
	atomic_store(&d->isr, 0);
	d->why[0] = '\0';
	atomic_store(&d->broken, false);
	atomic_store(&d->status, 0);
}

void *vb_virtio_opaque(struct vb_virtio_dev *d)
{
	return d->opaque;
}

uint64_t vb_virtio_features(struct vb_virtio_dev *d)
{
	return atomic_load(&d->features);
}

struct vb_vq *vb_virtio_queue(struct vb_virtio_dev *d, unsigned int index)
{
	if (index >= d->ops.num_queues)
		return NULL;
	return &d->vq[index];
}

/* ------------------------------------------------------------------ */
/* The register thread                                                 */
/* ------------------------------------------------------------------ */

static uint64_t vb_size_mask(uint32_t size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* One trapped access: the value to complete it with (0 for writes and
 * for addresses no device claims). */
static uint64_t vb_trap(struct vb_session *s, const struct vbackend_access *a)
{
	struct vb_virtio_dev *d;
	bool vmm = a->space == VBACKEND_SPACE_VMM;
	uint64_t size = vmm ? VB_VMM_REGS_SIZE : VB_MMIO_SIZE;
	uint64_t mask = vb_size_mask(a->size);
	bool write = a->dir == VBACKEND_DIR_WRITE;
	uint64_t off, v;
	unsigned int i;

	if (a->space != VBACKEND_SPACE_MMIO && !vmm)
		return 0;
	for (i = 0; i < s->nr_devs; i++) {
		d = s->devs[i];
		if (a->addr < d->params.mmio_base)
			continue;
		off = a->addr - d->params.mmio_base;
		if (off >= size || a->size > size - off)
			continue;
		v = vmm ? vb_vmm_access(d, off, a->size, write, a->data & mask) :
			  vb_mmio_access(d, off, a->size, write, a->data & mask);
		return v & mask;
	}
	return 0;
}

int vb_virtio_handle_events(struct vb_virtio_dev *d)
{
	struct vbackend_completion c[VB_EVENT_BATCH];
	struct vbackend_event ev[VB_EVENT_BATCH];
	struct vb_session *s = d->s;
	bool gone = false;
	unsigned int i, j, nc;
	int n, round;

	/* Bounded, so that a frontend flooding traps cannot keep us here:
	 * the fd stays readable and the caller comes back. */
	for (round = 0; round < 64 && !gone; round++) {
		n = vb_events_read(s, ev, VB_EVENT_BATCH);
		if (n < 0)
			return n;	/* -EPIPE at EOF */
		if (n == 0)
			break;
		nc = 0;
		for (i = 0; i < (unsigned int)n; i++) {
			switch (ev[i].type) {
			case VBACKEND_EVENT_TRAP:
				memset(&c[nc], 0, sizeof(c[nc]));
				c[nc].seq = ev[i].seq;
				c[nc].data = vb_trap(s, &ev[i].u.access);
				nc++;
				break;
			case VBACKEND_EVENT_RESET:
				for (j = 0; j < s->nr_devs; j++)
					vb_virtio_reset(s->devs[j]);
				break;
			case VBACKEND_EVENT_PEER_GONE:
				atomic_store(&s->gone, true);
				gone = true;
				break;
			case VBACKEND_EVENT_ERROR:
				vb_error(-ev[i].u.status.error, "provider error");
				break;
			case VBACKEND_EVENT_MEMORY:
				/* mapped before the accesses queued after it */
				vb_session_map_memory(s);
				break;
			default:
				break;
			}
		}
		if (nc)
			vb_complete(s, c, nc);
	}
	if (gone) {
		vb_error_msg(EPIPE, "frontend gone");
		return -EPIPE;
	}
	return 0;
}
