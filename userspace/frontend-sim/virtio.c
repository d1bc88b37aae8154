// SPDX-License-Identifier: Apache-2.0
/*
 * frontend-sim: the virtio-mmio (version 2) driver and split virtqueues, as
 * a guest kernel runs them: probe, reset, feature negotiation, queue setup
 * in guest RAM, DRIVER_OK, buffers in, notifications out, interrupts in,
 * used ring harvested. Shared-memory ordering follows the Linux driver:
 * descriptors and ring entries are written before the index that publishes
 * them (release), the used index is read before the entries (acquire), and
 * a full barrier separates publishing from the notification decision.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vbackend.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "fsim.h"
#include "libvbackend.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */

#define virtio_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virtio_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)

struct fsim_dev *fsim_dev_add(struct fsim_vm *vm, const char *type,
			      uint32_t device_id, uint64_t base,
			      uint32_t irq_line, const char *spec_extra)
{
	struct fsim_dev *d;

	if (vm->nr_devs >= FSIM_MAX_DEVS)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->vm = vm;
	d->type = type;
	d->device_id = device_id;
	d->base = base;
	d->irq_line = irq_line;
	snprintf(d->spec_extra, sizeof(d->spec_extra), "%s", spec_extra ? spec_extra : "");
	vm->devs[vm->nr_devs++] = d;
	return d;
}

/* ---- registers ----------------------------------------------------------------- */

int fsim_reg_read(struct fsim_dev *d, uint32_t off, unsigned int size,
		  uint64_t *val)
{
	int ret = fsim_access(d->vm, d->base + off, size, false, val, NULL);

	if (ret && !d->io_err)
		d->io_err = ret;
	return ret;
}

int fsim_reg_write(struct fsim_dev *d, uint32_t off, unsigned int size,
		   uint64_t val, uint32_t *result)
{
	int ret = fsim_access(d->vm, d->base + off, size, true, &val, result);

	if (ret && !d->io_err)
		d->io_err = ret;
	return ret;
}

uint32_t fsim_rd32(struct fsim_dev *d, uint32_t off)
{
	uint64_t v = ~0ULL;

	if (fsim_reg_read(d, off, 4, &v))
		return ~0U;
	return (uint32_t)v;
}

void fsim_wr32(struct fsim_dev *d, uint32_t off, uint32_t val)
{
	fsim_reg_write(d, off, 4, val, NULL);
}

int fsim_cfg_read(struct fsim_dev *d, uint32_t off, unsigned int size,
		  void *out)
{
	uint32_t gen, gen2;
	uint64_t lo, hi;
	int tries, ret;

	for (tries = 0; tries < 16; tries++) {
		gen = fsim_rd32(d, VIRTIO_MMIO_CONFIG_GENERATION);
		switch (size) {
		case 1:
		case 2:
		case 4:
			ret = fsim_reg_read(d, VIRTIO_MMIO_CONFIG + off, size, &lo);
			break;
		case 8:
			/* as Linux does it: two 32-bit halves */
			ret = fsim_reg_read(d, VIRTIO_MMIO_CONFIG + off, 4, &lo);
			if (!ret)
				ret = fsim_reg_read(d, VIRTIO_MMIO_CONFIG + off + 4, 4, &hi);
			lo = (lo & 0xffffffffULL) | (hi << 32);
			break;
		default:
			return -EINVAL;
		}
		if (ret)
			return ret;
		gen2 = fsim_rd32(d, VIRTIO_MMIO_CONFIG_GENERATION);
		if (d->io_err)
			return d->io_err;
		if (gen == gen2) {
			memcpy(out, &lo, size);
			return 0;
		}
	}
	fsim_fail("%s: ConfigGeneration kept changing while reading config", d->type);
	return -EAGAIN;
}

uint32_t fsim_dev_status(struct fsim_dev *d)
{
	return fsim_rd32(d, VIRTIO_MMIO_STATUS);
}

static void set_status(struct fsim_dev *d, uint32_t bits)
{
	d->status |= bits;
	fsim_wr32(d, VIRTIO_MMIO_STATUS, d->status);
}

/* ---- probe, reset, negotiation -------------------------------------------------- */

int fsim_dev_probe(struct fsim_dev *d)
{
	uint32_t magic, version, id;

	d->io_err = 0;
	magic = fsim_rd32(d, VIRTIO_MMIO_MAGIC_VALUE);
	version = fsim_rd32(d, VIRTIO_MMIO_VERSION);
	id = fsim_rd32(d, VIRTIO_MMIO_DEVICE_ID);
	d->vendor_id = fsim_rd32(d, VIRTIO_MMIO_VENDOR_ID);
	if (d->io_err) {
		fsim_fail("%s at 0x%" PRIx64 ": register read failed: %s", d->type,
			  d->base, strerror(-d->io_err));
		return d->io_err;
	}
	if (magic != VIRTIO_MMIO_MAGIC) {
		fsim_fail("%s at 0x%" PRIx64 ": MagicValue 0x%08x, expected 0x%08x",
			  d->type, d->base, magic, VIRTIO_MMIO_MAGIC);
		return -ENODEV;
	}
	if (version != 2) {
		fsim_fail("%s at 0x%" PRIx64 ": virtio-mmio Version %u, expected 2 (modern)",
			  d->type, d->base, version);
		return -ENODEV;
	}
	if (id != d->device_id) {
		fsim_fail("%s at 0x%" PRIx64 ": DeviceID %u, expected %u", d->type,
			  d->base, id, d->device_id);
		return -ENODEV;
	}
	return 0;
}

int fsim_dev_reset(struct fsim_dev *d, long timeout_ms)
{
	long end = fsim_now_ms() + timeout_ms;
	unsigned int q;
	uint32_t st;

	d->io_err = 0;
	d->status = 0;
	fsim_wr32(d, VIRTIO_MMIO_STATUS, 0);
	/* the reset is complete once Status reads back 0 */
	for (;;) {
		st = fsim_rd32(d, VIRTIO_MMIO_STATUS);
		if (d->io_err) {
			fsim_fail("%s: reset: %s", d->type, strerror(-d->io_err));
			return d->io_err;
		}
		if (!st)
			break;
		if (fsim_now_ms() > end) {
			fsim_fail("%s: Status still 0x%x %ld ms after writing 0 (reset)",
				  d->type, st, timeout_ms);
			return -ETIMEDOUT;
		}
		fsim_sleep_ms(1);
	}
	for (q = 0; q < FSIM_MAX_QUEUES; q++)
		d->vqs[q].ready = false;
	d->irq_pending = 0;
	return 0;
}

int fsim_dev_negotiate(struct fsim_dev *d, uint64_t wanted)
{
	uint64_t lo, hi, drv;
	uint32_t st;
	int ret;

	ret = fsim_dev_reset(d, 5000);
	if (ret)
		return ret;
	set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(d, VIRTIO_CONFIG_S_DRIVER);

	fsim_wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = fsim_rd32(d, VIRTIO_MMIO_DEVICE_FEATURES);
	fsim_wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = fsim_rd32(d, VIRTIO_MMIO_DEVICE_FEATURES);
	if (d->io_err) {
		fsim_fail("%s: reading DeviceFeatures: %s", d->type, strerror(-d->io_err));
		return d->io_err;
	}
	d->dev_features = lo | hi << 32;
	if (!(d->dev_features & (1ULL << VIRTIO_F_VERSION_1))) {
		fsim_fail("%s: device does not offer VIRTIO_F_VERSION_1 (features 0x%" PRIx64 ")",
			  d->type, d->dev_features);
		set_status(d, VIRTIO_CONFIG_S_FAILED);
		return -ENOTSUP;
	}
	drv = d->dev_features & wanted;
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)drv);
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(drv >> 32));
	set_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	st = fsim_rd32(d, VIRTIO_MMIO_STATUS);
	if (d->io_err) {
		fsim_fail("%s: feature negotiation: %s", d->type, strerror(-d->io_err));
		return d->io_err;
	}
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK)) {
		fsim_fail("%s: device refused features 0x%" PRIx64 " (Status 0x%x)",
			  d->type, drv, st);
		set_status(d, VIRTIO_CONFIG_S_FAILED);
		return -ENOTSUP;
	}
	d->features = drv;
	return 0;
}

void fsim_vq_forget(struct fsim_vq *vq)
{
	unsigned int i;

	if (!vq->state)
		return;
	for (i = 0; i < vq->num; i++) {
		vq->next_shadow[i] = (uint16_t)(i + 1);
		vq->state[i].token = NULL;
	}
	vq->free_head = 0;
	vq->num_free = (uint16_t)vq->num;
	vq->avail_idx = vq->kicked_idx = vq->last_used = 0;
}

static void vq_stats_add(struct fsim_vq_stats *t, const struct fsim_vq_stats *s)
{
	t->added += s->added;
	t->completed += s->completed;
	t->kicks += s->kicks;
	t->kicks_trapped += s->kicks_trapped;
	t->kicks_suppressed += s->kicks_suppressed;
	t->indirect += s->indirect;
}

void fsim_dev_vq_totals(const struct fsim_dev *d, struct fsim_vq_stats *t)
{
	unsigned int q;

	*t = d->vq_gone;
	for (q = 0; q < FSIM_MAX_QUEUES; q++)
		if (d->vqs[q].dev)
			vq_stats_add(t, &d->vqs[q].st);
}

static void vq_free(struct fsim_vq *vq)
{
	struct fsim_vm *vm = vq->dev->vm;

	vq_stats_add(&vq->dev->vq_gone, &vq->st);

	if (vq->desc_gpa) {
		fsim_ram_free(vm, vq->desc_gpa, 16ULL * vq->num);
		fsim_ram_free(vm, vq->avail_gpa, 6 + 2ULL * vq->num);
		fsim_ram_free(vm, vq->used_gpa, 6 + 8ULL * vq->num);
	}
	if (vq->indirect_gpa)
		fsim_ram_free(vm, vq->indirect_gpa, 16ULL * FSIM_MAX_CHAIN * vq->num);
	free(vq->state);
	free(vq->next_shadow);
	memset(&vq->num, 0, sizeof(*vq) - offsetof(struct fsim_vq, num));
}

void fsim_dev_free_queues(struct fsim_dev *d)
{
	unsigned int q;

	for (q = 0; q < FSIM_MAX_QUEUES; q++)
		if (d->vqs[q].dev)
			vq_free(&d->vqs[q]);
	d->nr_vqs = 0;
}

/* QueueNum and the ring addresses of @vq, then QueueReady=1, checked. */
static int vq_enable(struct fsim_dev *d, struct fsim_vq *vq)
{
	uint32_t ready;

	fsim_wr32(d, VIRTIO_MMIO_QUEUE_NUM, vq->num);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)vq->desc_gpa);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(vq->desc_gpa >> 32));
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)vq->avail_gpa);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(vq->avail_gpa >> 32));
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)vq->used_gpa);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(vq->used_gpa >> 32));
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	ready = fsim_rd32(d, VIRTIO_MMIO_QUEUE_READY);
	if (d->io_err) {
		fsim_fail("%s: queue %u setup: %s", d->type, vq->index, strerror(-d->io_err));
		return d->io_err;
	}
	if (ready != 1) {
		fsim_fail("%s: queue %u: QueueReady reads %u after writing 1", d->type,
			  vq->index, ready);
		return -EIO;
	}
	vq->ready = true;
	return 0;
}

int fsim_dev_setup_queue(struct fsim_dev *d, unsigned int index,
			 unsigned int want)
{
	struct fsim_vm *vm = d->vm;
	struct fsim_vq *vq;
	uint32_t max, ready;
	unsigned int num;
	int ret;

	if (index >= FSIM_MAX_QUEUES)
		return -EINVAL;
	vq = &d->vqs[index];
	if (vq->dev)
		vq_free(vq);
	vq->dev = d;
	vq->index = index;

	fsim_wr32(d, VIRTIO_MMIO_QUEUE_SEL, index);
	ready = fsim_rd32(d, VIRTIO_MMIO_QUEUE_READY);
	max = fsim_rd32(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (d->io_err) {
		fsim_fail("%s: queue %u: %s", d->type, index, strerror(-d->io_err));
		return d->io_err;
	}
	if (ready) {
		fsim_fail("%s: queue %u: QueueReady is 1 before setup", d->type, index);
		return -EBUSY;
	}
	if (!max) {
		fsim_fail("%s: queue %u: QueueNumMax is 0 (no such queue)", d->type, index);
		return -ENOENT;
	}
	num = want < max ? want : max;
	if (num > 32768)
		num = 32768;
	while (num & (num - 1))		/* split rings: a power of two */
		num &= num - 1;
	vq->num = num;

	vq->desc_gpa = fsim_ram_alloc(vm, 16ULL * num);
	vq->avail_gpa = fsim_ram_alloc(vm, 6 + 2ULL * num);
	vq->used_gpa = fsim_ram_alloc(vm, 6 + 8ULL * num);
	if (d->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC))
		vq->indirect_gpa = fsim_ram_alloc(vm, 16ULL * FSIM_MAX_CHAIN * num);
	vq->state = calloc(num, sizeof(*vq->state));
	vq->next_shadow = calloc(num, sizeof(*vq->next_shadow));
	if (!vq->desc_gpa || !vq->avail_gpa || !vq->used_gpa || !vq->state ||
	    !vq->next_shadow ||
	    ((d->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)) && !vq->indirect_gpa)) {
		fsim_fail("%s: queue %u: out of guest RAM for %u entries", d->type,
			  index, num);
		return -ENOMEM;
	}
	vq->desc = fsim_gpa(vm, vq->desc_gpa, 16ULL * num);
	vq->avail = fsim_gpa(vm, vq->avail_gpa, 6 + 2ULL * num);
	vq->used = fsim_gpa(vm, vq->used_gpa, 6 + 8ULL * num);
	if (vq->indirect_gpa)
		vq->indirect_pool = fsim_gpa(vm, vq->indirect_gpa,
					     16ULL * FSIM_MAX_CHAIN * num);
	fsim_vq_forget(vq);
	memset(&vq->st, 0, sizeof(vq->st));

	ret = vq_enable(d, vq);
	if (ret)
		return ret;
	if (index >= d->nr_vqs)
		d->nr_vqs = index + 1;
	return 0;
}

int fsim_vq_stop(struct fsim_vq *vq, uint16_t *base)
{
	struct fsim_dev *d = vq->dev;
	uint64_t v = 0;
	int ret;

	fsim_wr32(d, VIRTIO_MMIO_QUEUE_SEL, vq->index);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_READY, 0);
	ret = d->io_err ? d->io_err :
	      fsim_access_vmm(d->vm, d->base + VB_VMM_QUEUE_BASE, 4, false, &v);
	if (ret) {
		fsim_fail("%s: queue %u: stop and base: %s", d->type, vq->index, strerror(-ret));
		return ret;
	}
	/* vq->ready stays: what the device used is still ours to harvest */
	*base = (uint16_t)v;
	return 0;
}

int fsim_vq_resume(struct fsim_vq *vq, uint16_t base)
{
	struct fsim_dev *d = vq->dev;
	uint64_t v = base;
	int ret;

	fsim_wr32(d, VIRTIO_MMIO_QUEUE_SEL, vq->index);
	ret = fsim_access_vmm(d->vm, d->base + VB_VMM_QUEUE_BASE, 4, true, &v);
	if (ret) {
		fsim_fail("%s: queue %u: base %u: %s", d->type, vq->index, base, strerror(-ret));
		return ret;
	}
	return vq_enable(d, vq);
}

int fsim_dev_driver_ok(struct fsim_dev *d)
{
	uint32_t st;

	set_status(d, VIRTIO_CONFIG_S_DRIVER_OK);
	st = fsim_rd32(d, VIRTIO_MMIO_STATUS);
	if (d->io_err) {
		fsim_fail("%s: DRIVER_OK: %s", d->type, strerror(-d->io_err));
		return d->io_err;
	}
	if (st & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) {
		fsim_fail("%s: Status 0x%x after DRIVER_OK (device failed)", d->type, st);
		return -EIO;
	}
	if (!(st & VIRTIO_CONFIG_S_DRIVER_OK)) {
		fsim_fail("%s: Status 0x%x after DRIVER_OK: bit not kept", d->type, st);
		return -EIO;
	}
	return 0;
}

static const char *const transport_names[64] = {
	[VIRTIO_F_NOTIFY_ON_EMPTY] = "NOTIFY_ON_EMPTY",
	[VIRTIO_F_ANY_LAYOUT] = "ANY_LAYOUT",
	[VIRTIO_RING_F_INDIRECT_DESC] = "RING_INDIRECT_DESC",
	[VIRTIO_RING_F_EVENT_IDX] = "RING_EVENT_IDX",
	[VIRTIO_F_VERSION_1] = "VERSION_1",
	[VIRTIO_F_ACCESS_PLATFORM] = "ACCESS_PLATFORM",
	[VIRTIO_F_RING_PACKED] = "RING_PACKED",
	[VIRTIO_F_IN_ORDER] = "IN_ORDER",
	[VIRTIO_F_ORDER_PLATFORM] = "ORDER_PLATFORM",
	[VIRTIO_F_SR_IOV] = "SR_IOV",
	[VIRTIO_F_RING_RESET] = "RING_RESET",
};

static const char *const blk_names[24] = {
	[VIRTIO_BLK_F_SIZE_MAX] = "SIZE_MAX",
	[VIRTIO_BLK_F_SEG_MAX] = "SEG_MAX",
	[VIRTIO_BLK_F_GEOMETRY] = "GEOMETRY",
	[VIRTIO_BLK_F_RO] = "RO",
	[VIRTIO_BLK_F_BLK_SIZE] = "BLK_SIZE",
	[VIRTIO_BLK_F_FLUSH] = "FLUSH",
	[VIRTIO_BLK_F_TOPOLOGY] = "TOPOLOGY",
	[VIRTIO_BLK_F_CONFIG_WCE] = "CONFIG_WCE",
	[VIRTIO_BLK_F_MQ] = "MQ",
	[VIRTIO_BLK_F_DISCARD] = "DISCARD",
	[VIRTIO_BLK_F_WRITE_ZEROES] = "WRITE_ZEROES",
	[VIRTIO_BLK_F_SECURE_ERASE] = "SECURE_ERASE",
};

const char *fsim_features_str(const struct fsim_dev *d, uint64_t f, char *buf,
			      size_t len)
{
	size_t off = 0;
	unsigned int b;

	buf[0] = 0;
	for (b = 0; b < 64 && off < len; b++) {
		const char *name = NULL;

		if (!(f & (1ULL << b)))
			continue;
		if (b >= 24)
			name = transport_names[b];
		else if (d->device_id == VIRTIO_ID_BLOCK)
			name = blk_names[b];
		if (name)
			off += snprintf(buf + off, len - off, "%s%s", off ? " " : "", name);
		else
			off += snprintf(buf + off, len - off, "%sbit%u", off ? " " : "", b);
	}
	if (!off)
		snprintf(buf, len, "(none)");
	return buf;
}

/* ---- interrupts -------------------------------------------------------------- */

int fsim_dev_handle_irq(struct fsim_dev *d)
{
	uint64_t isr = 0;
	int ret;

	if (!d->irq_pending)
		return 0;
	d->irq_pending = 0;
	ret = fsim_reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS, 4, &isr);
	if (ret)
		return ret;
	if (!isr) {
		d->vm->st.spurious_irqs++;
		return 0;
	}
	ret = fsim_reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, 4, isr, NULL);
	if (ret)
		return ret;
	d->st.irqs++;
	fsim_dbg("%s: interrupt, InterruptStatus 0x%" PRIx64, d->type, isr);
	if (isr & VIRTIO_MMIO_INT_VRING)
		d->st.vring_irqs++;
	if (isr & VIRTIO_MMIO_INT_CONFIG)
		d->st.config_irqs++;
	return (int)isr;
}

int fsim_dev_wait_irq(struct fsim_dev *d, long timeout_ms)
{
	long end = fsim_now_ms() + timeout_ms, left;
	int ret;

	for (;;) {
		if (d->irq_pending) {
			ret = fsim_dev_handle_irq(d);
			/*
			 * An interrupt the backend raised into our eventfd
			 * just before it died finds its registers gone with
			 * it: what counts is the PEER_GONE on its way.
			 */
			if (ret == -ENOTCONN || ret == -EPIPE)
				d->irq_pending = 0;
			else if (ret)
				return ret;
			continue;	/* spurious (coalesced): keep waiting */
		}
		if (d->vm->peer_gone)
			return -EPIPE;
		left = end - fsim_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = fsim_vm_pump(d->vm, left > 200 ? 200 : left);
		if (ret < 0)
			return ret;
	}
}

/* ---- split virtqueue ------------------------------------------------------------ */

static inline bool has_feature(const struct fsim_dev *d, unsigned int bit)
{
	return d->features & (1ULL << bit);
}

unsigned int fsim_vq_inflight(const struct fsim_vq *vq)
{
	return (uint16_t)(vq->avail_idx - vq->last_used);
}

int fsim_vq_add(struct fsim_vq *vq, const struct fsim_sg *sg, unsigned int n,
		void *token, int mode)
{
	bool indirect = mode == FSIM_ADD_INDIRECT &&
			has_feature(vq->dev, VIRTIO_RING_F_INDIRECT_DESC) && n > 1;
	unsigned int need = indirect ? 1 : n, k;
	uint16_t head, i, last = 0;

	if (!vq->ready || !n || n > FSIM_MAX_CHAIN || !token)
		return -EINVAL;
	if (!indirect && n > vq->num)
		return -EINVAL;
	if (vq->num_free < need)
		return -ENOSPC;
	head = vq->free_head;

	if (indirect) {
		struct vring_desc *t = vq->indirect_pool + (size_t)head * FSIM_MAX_CHAIN;

		for (k = 0; k < n; k++) {
			t[k].addr = sg[k].gpa;
			t[k].len = sg[k].len;
			t[k].flags = (sg[k].write ? VRING_DESC_F_WRITE : 0) |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[k].next = k + 1 < n ? (uint16_t)(k + 1) : 0;
		}
		vq->desc[head].addr = vq->indirect_gpa +
				      (uint64_t)head * FSIM_MAX_CHAIN * 16;
		vq->desc[head].len = n * 16;
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		last = head;
		vq->st.indirect++;
	} else {
		i = head;
		for (k = 0; k < n; k++) {
			vq->desc[i].addr = sg[k].gpa;
			vq->desc[i].len = sg[k].len;
			vq->desc[i].flags = (sg[k].write ? VRING_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			vq->desc[i].next = k + 1 < n ? vq->next_shadow[i] : 0;
			last = i;
			i = vq->next_shadow[i];
		}
	}
	vq->free_head = vq->next_shadow[last];
	vq->num_free -= need;
	vq->state[head].token = token;
	vq->state[head].ndescs = (uint16_t)need;
	vq->state[head].last = last;
	vq->state[head].indirect = indirect;

	/* the entry, then the index that publishes it */
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = head;
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	vq->st.added++;
	return head;
}

int fsim_vq_kick(struct fsim_vq *vq, bool force)
{
	uint16_t old = vq->kicked_idx, new = vq->avail_idx;
	uint32_t result = 0;
	bool need;
	int ret;

	/* publish before deciding (pairs with the device's barrier) */
	virtio_mb();
	if (has_feature(vq->dev, VIRTIO_RING_F_EVENT_IDX)) {
		uint16_t ev = __atomic_load_n((uint16_t *)&vq->used->ring[vq->num],
					      __ATOMIC_RELAXED);

		need = vring_need_event(ev, new, old);
	} else {
		need = !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	}
	vq->kicked_idx = new;
	if (!need && !force) {
		vq->st.kicks_suppressed++;
		return 0;
	}
	ret = fsim_reg_write(vq->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 4, vq->index, &result);
	fsim_dbg("%s: queue %u notified (avail %u, %s)", vq->dev->type, vq->index, new,
		 ret ? strerror(-ret) : result & VBACKEND_VMM_ACCESS_KICKED ? "kick" : "trap");
	if (ret)
		return ret;
	if (result & VBACKEND_VMM_ACCESS_KICKED)
		vq->st.kicks++;
	else
		vq->st.kicks_trapped++;
	return 1;
}

int fsim_vq_get(struct fsim_vq *vq, void **token, uint32_t *len)
{
	struct vring_used_elem e;
	struct fsim_desc_state *s;
	uint16_t used_idx;

	if (!vq->ready)
		return 0;
	used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	if (used_idx == vq->last_used)
		return 0;
	if ((uint16_t)(used_idx - vq->last_used) > fsim_vq_inflight(vq)) {
		fsim_fail("%s: queue %u: used idx %u jumped past %u in flight (last %u)",
			  vq->dev->type, vq->index, used_idx, fsim_vq_inflight(vq),
			  vq->last_used);
		return -EPROTO;
	}
	e.id = __atomic_load_n(&vq->used->ring[vq->last_used & (vq->num - 1)].id,
			       __ATOMIC_RELAXED);
	e.len = __atomic_load_n(&vq->used->ring[vq->last_used & (vq->num - 1)].len,
				__ATOMIC_RELAXED);
	if (e.id >= vq->num || !vq->state[e.id].token) {
		fsim_fail("%s: queue %u: used entry %u names descriptor %u, not in flight",
			  vq->dev->type, vq->index, vq->last_used, e.id);
		return -EPROTO;
	}
	s = &vq->state[e.id];
	/* give the chain back to the free list; its links are in our shadow */
	vq->next_shadow[s->last] = vq->free_head;
	vq->free_head = (uint16_t)e.id;
	vq->num_free += s->ndescs;
	*token = s->token;
	*len = e.len;
	s->token = NULL;
	vq->last_used++;
	vq->st.completed++;
	if (has_feature(vq->dev, VIRTIO_RING_F_EVENT_IDX)) {
		/* interrupt me for the next one */
		__atomic_store_n(&vq->avail->ring[vq->num], vq->last_used, __ATOMIC_RELAXED);
		virtio_mb();
	}
	return 1;
}

bool fsim_vq_enable_cb(struct fsim_vq *vq)
{
	if (!vq->ready)
		return true;
	if (has_feature(vq->dev, VIRTIO_RING_F_EVENT_IDX))
		__atomic_store_n(&vq->avail->ring[vq->num], vq->last_used, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->avail->flags, 0, __ATOMIC_RELAXED);
	virtio_mb();
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == vq->last_used;
}
