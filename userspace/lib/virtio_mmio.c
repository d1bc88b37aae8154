// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio version 2 register file (virtio 1.2, section 4.2.2).
 *
 * Runs in the register thread only (see the locking rule in vb_internal.h).
 * Registers are 32-bit: other sizes or unaligned offsets read 0 and are
 * ignored on write, as are unknown registers. Config space (0x100 onwards)
 * takes 1, 2, 4 and 8-byte accesses that lie inside ops->config_size.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vb_internal.h"

#define VB_MMIO_MAGIC	0x74726976	/* "virt" */
#define VB_MMIO_VERSION	2

static struct vb_vq *vb_sel_queue(struct vb_virtio_dev *d)
{
	if (d->queue_sel >= d->ops.num_queues)
		return NULL;
	return &d->vq[d->queue_sel];
}

static uint32_t vb_hi(uint64_t v)
{
	return (uint32_t)(v >> 32);
}

static void vb_set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static uint64_t vb_config_access(struct vb_virtio_dev *d, uint64_t off,
				 uint32_t size, bool write, uint64_t data)
{
	uint8_t buf[8];
	uint64_t v = 0;
	uint32_t i;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return 0;
	if (off > d->ops.config_size || size > d->ops.config_size - off)
		return 0;
	if (write) {
		if (!d->ops.config_write)
			return 0;
		for (i = 0; i < size; i++)
			buf[i] = (uint8_t)(data >> (8 * i));
		d->ops.config_write(d, (uint32_t)off, buf, size);
		return 0;
	}
	/* Little endian, byte by byte: no alignment assumed. */
	for (i = 0; i < size; i++)
		v |= (uint64_t)((const uint8_t *)d->config)[off + i] << (8 * i);
	return v;
}

static uint32_t vb_reg_read(struct vb_virtio_dev *d, uint32_t off)
{
	struct vb_vq *vq = vb_sel_queue(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VB_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VB_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops.device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VB_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_feat_sel == 0)
			return (uint32_t)d->host_features;
		if (d->dev_feat_sel == 1)
			return vb_hi(d->host_features);
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? d->ops.queue_num_max : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq ? vq->reg_num : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->reg_ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&d->isr);
	case VIRTIO_MMIO_STATUS:
		return atomic_load(&d->status);
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return vq ? (uint32_t)vq->reg_desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return vq ? vb_hi(vq->reg_desc) : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return vq ? (uint32_t)vq->reg_avail : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return vq ? vb_hi(vq->reg_avail) : 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return vq ? (uint32_t)vq->reg_used : 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return vq ? vb_hi(vq->reg_used) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff;	/* no shared memory region: length -1 */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return atomic_load(&d->config_gen);
	default:
		return 0;
	}
}

/* FEATURES_OK: what the driver accepted must be offered and modern. */
static bool vb_features_ok(struct vb_virtio_dev *d)
{
	uint64_t f = d->drv_features;

	return !(f & ~d->host_features) && (f & (1ULL << VIRTIO_F_VERSION_1));
}

static void vb_status_write(struct vb_virtio_dev *d, uint32_t val)
{
	uint32_t old = atomic_load(&d->status);
	uint32_t set;

	if (val == 0) {
		vb_virtio_reset(d);
		return;
	}
	/* The driver never clears bits (only a reset does): only new ones. */
	set = val & ~old & 0xff;
	if (set & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (vb_features_ok(d))
			atomic_store(&d->features, d->drv_features);
		else
			set &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((set & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !((old | set) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		set &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		atomic_fetch_or(&d->status, set);
		vb_virtio_fail(d, "DRIVER_OK without FEATURES_OK");
		return;
	}
	/* NEEDS_RESET is the device's to set. */
	set &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
	atomic_fetch_or(&d->status, set);

	if ((set & VIRTIO_CONFIG_S_DRIVER_OK) && !atomic_load(&d->broken)) {
		d->started = true;
		if (d->ops.start && d->ops.start(d))
			vb_virtio_fail(d, "device start failed");
	}
}

static void vb_queue_ready_write(struct vb_virtio_dev *d, struct vb_vq *vq,
				 uint32_t val)
{
	char why[128];
	char msg[160];

	if (!(val & 1)) {
		/* drained: what was popped is used, and where it stopped
		 * is VB_VMM_QUEUE_BASE */
		if (vq->reg_ready)
			vq->reg_base = vb_vq_stop(vq, true);
		vq->reg_base_set = false;
		vq->reg_ready = false;
		return;
	}
	if (vq->reg_ready)
		return;
	if (!(atomic_load(&d->status) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		vb_virtio_fail(d, "QueueReady before FEATURES_OK");
		return;
	}
	/* at the index the VMM set, or fresh */
	if (vb_vq_start(vq, vq->reg_base_set ? vq->reg_base : 0, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "queue %u: %s", vq->index, why);
		vb_virtio_fail(d, msg);
		return;
	}
	vq->reg_base_set = false;
	vq->reg_ready = true;
}

static void vb_queue_notify_write(struct vb_virtio_dev *d, uint32_t val)
{
	uint64_t one = 1;
	ssize_t n;

	/* Normally consumed by the kernel as a kick; a trapped one (a kick
	 * not registered, or a provider without datamatch) is forwarded to
	 * the same eventfd. Unknown queues are ignored. */
	if (val >= d->ops.num_queues)
		return;
	do {
		n = write(d->vq[val].kick_fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

static void vb_reg_write(struct vb_virtio_dev *d, uint32_t off, uint32_t val)
{
	struct vb_vq *vq = vb_sel_queue(d);
	bool setup = vq && !vq->reg_ready;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (atomic_load(&d->status) & VIRTIO_CONFIG_S_FEATURES_OK)
			break;	/* features are final */
		if (d->drv_feat_sel < 2)
			vb_set_half(&d->drv_features, d->drv_feat_sel == 1, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (setup)
			vq->reg_num = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (vq)
			vb_queue_ready_write(d, vq, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		vb_queue_notify_write(d, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&d->isr, ~val);
		break;
	case VIRTIO_MMIO_STATUS:
		vb_status_write(d, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (setup)
			vb_set_half(&vq->reg_desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (setup)
			vb_set_half(&vq->reg_avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (setup)
			vb_set_half(&vq->reg_used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		d->shm_sel = val;
		break;
	default:
		break;	/* read-only or unknown: ignored */
	}
}

uint64_t vb_mmio_access(struct vb_virtio_dev *d, uint64_t off, uint32_t size,
			bool write, uint64_t data)
{
	if (off >= VB_MMIO_SIZE)
		return 0;
	if (off >= VIRTIO_MMIO_CONFIG)
		return vb_config_access(d, off - VIRTIO_MMIO_CONFIG, size, write, data);
	if (size != 4 || (off & 3))
		return 0;
	if (write) {
		vb_reg_write(d, (uint32_t)off, (uint32_t)data);
		return 0;
	}
	return vb_reg_read(d, (uint32_t)off);
}

/*
 * The VMM's registers (VB_VMM_*, in VBACKEND_SPACE_VMM: no guest reaches
 * them), acting on the queue QueueSel selects. 32-bit; others ignored.
 */
uint64_t vb_vmm_access(struct vb_virtio_dev *d, uint64_t off, uint32_t size,
		       bool write, uint64_t data)
{
	struct vb_vq *vq = vb_sel_queue(d);
	uint64_t v;

	if (!vq || off != VB_VMM_QUEUE_BASE || size != 4)
		return 0;
	if (write) {
		/* a running queue keeps its place */
		if (!vq->reg_ready) {
			vq->reg_base = (uint16_t)data;
			vq->reg_base_set = true;
		}
		return 0;
	}
	if (!vq->reg_ready)
		return vq->reg_base;
	pthread_mutex_lock(&vq->lock);
	v = vq->last_avail;
	pthread_mutex_unlock(&vq->lock);
	return v;
}
