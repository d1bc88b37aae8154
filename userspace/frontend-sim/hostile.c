// SPDX-License-Identifier: Apache-2.0
/*
 * frontend-sim: a hostile guest. Each case breaks one rule of the virtio
 * spec on queue 0 of a live virtio-blk device, then watches what the device
 * does. Acceptable ends are the device marking itself broken
 * (DEVICE_NEEDS_RESET in Status) or the request failing (a used entry whose
 * status byte is not VIRTIO_BLK_S_OK); never a crash, a hang or a sanitizer
 * report in the backend. After each case the driver resets the device,
 * initialises it again and moves verified data: the backend must still be
 * alive and serving.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <linux/virtio_mmio.h>

#include "blk.h"

enum outcome {
	OUT_NONE = 0,	/* no reaction */
	OUT_OK = 1,	/* the request completed with VIRTIO_BLK_S_OK */
	OUT_FAILED = 2,	/* completed with another status, or refused */
	OUT_BROKEN = 4,	/* DEVICE_NEEDS_RESET */
};

#define ACC_BAD		(OUT_FAILED | OUT_BROKEN)
#define ACC_ANY		(OUT_OK | OUT_FAILED | OUT_BROKEN | 8)
#define CASE_WAIT_MS	10000

struct hctx {
	struct blk *b;
	struct fsim_dev *d;
	struct fsim_vq *vq;
	struct fsim_vm *vm;
	uint64_t meta;		/* header at 0, status at 16 */
	uint64_t data;		/* 64 KiB of data buffers */
	uint64_t table;		/* 64 KiB for indirect tables */
	uint8_t *status;
	const char *detail;	/* what the device did, for the report */
};

static const char *outcome_str(int o)
{
	switch (o) {
	case OUT_OK: return "the request completed OK";
	case OUT_FAILED: return "the request failed";
	case OUT_BROKEN: return "DEVICE_NEEDS_RESET";
	default: return "no reaction";
	}
}

/* ---- raw ring access ----------------------------------------------------------- */

static void put_desc(struct vring_desc *t, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	__atomic_store_n(&t[i].addr, addr, __ATOMIC_RELAXED);
	__atomic_store_n(&t[i].len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&t[i].flags, flags, __ATOMIC_RELAXED);
	__atomic_store_n(&t[i].next, next, __ATOMIC_RELAXED);
}

static void header(struct hctx *h, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr *hdr = fsim_gpa(h->vm, h->meta, 16);

	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	*h->status = BLK_STATUS_UNSET;
}

static void publish(struct hctx *h, uint16_t head)
{
	struct fsim_vq *vq = h->vq;

	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = head;
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
}

static int kick(struct hctx *h)
{
	uint32_t res;

	/* used_event: interrupt me for anything */
	__atomic_store_n(&h->vq->avail->ring[h->vq->num], h->vq->last_used, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return fsim_reg_write(h->d, VIRTIO_MMIO_QUEUE_NOTIFY, 4, h->vq->index, &res);
}

/*
 * Watch for up to @ms: DEVICE_NEEDS_RESET, or a used entry for @head (any
 * head when @head < 0). Used entries of other heads are consumed.
 */
static int wait_outcome(struct hctx *h, int head, long ms)
{
	struct fsim_vq *vq = h->vq;
	long end = fsim_now_ms() + ms;
	uint16_t used_idx;
	uint32_t st, id;

	for (;;) {
		st = fsim_dev_status(h->d);
		if (h->d->io_err)
			return h->d->io_err;
		if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
			return OUT_BROKEN;
		used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
		while (vq->last_used != used_idx) {
			id = __atomic_load_n(&vq->used->ring[vq->last_used & (vq->num - 1)].id,
					     __ATOMIC_RELAXED);
			vq->last_used++;
			if (head < 0 || id == (uint32_t)head)
				return *h->status == VIRTIO_BLK_S_OK ? OUT_OK : OUT_FAILED;
		}
		if (fsim_now_ms() > end)
			return OUT_NONE;
		if (!fsim_backend_alive(h->vm))
			return -ESRCH;
		fsim_dev_wait_irq(h->d, 100);
		fsim_vq_enable_cb(vq);
	}
}

static int submit_wait(struct hctx *h, uint16_t head)
{
	int ret;

	publish(h, head);
	ret = kick(h);
	if (ret)
		return ret;
	return wait_outcome(h, head, CASE_WAIT_MS);
}

/* A valid IN request of @n sectors at descriptors 0.. (direct). */
static int good_read(struct hctx *h, uint32_t n)
{
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(h->vq->desc, 1, h->data, n * BLK_SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	return submit_wait(h, 0);
}

/* ---- the cases -------------------------------------------------------------- */

static int c_desc_loop(struct hctx *h)
{
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(h->vq->desc, 1, h->data, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	return submit_wait(h, 0);
}

static int c_chain_too_long(struct hctx *h)
{
	unsigned int num = h->vq->num, i;

	/* every descriptor of the ring in one chain, the last one back to the head */
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	for (i = 1; i < num - 1; i++)
		put_desc(h->vq->desc, i, h->data + (i % 64) * 512, 512,
			 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	put_desc(h->vq->desc, num - 1, h->meta + 16, 1,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	return submit_wait(h, 0);
}

static int c_indirect_too_long(struct hctx *h)
{
	struct vring_desc *t = fsim_gpa(h->vm, h->table, 65536);
	unsigned int n = h->vq->num + 2, i;

	if (!(h->d->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC))) {
		h->detail = "INDIRECT_DESC not negotiated: a direct chain of num + 1 instead";
		return c_chain_too_long(h);
	}
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(t, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	for (i = 1; i < n - 1; i++)
		put_desc(t, i, h->data + (i % 64) * 512, 512,
			 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	put_desc(t, n - 1, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	put_desc(h->vq->desc, 0, h->table, n * 16, VRING_DESC_F_INDIRECT, 0);
	return submit_wait(h, 0);
}

static int c_next_out_of_range(struct hctx *h)
{
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, (uint16_t)(h->vq->num + 7));
	return submit_wait(h, 0);
}

static int bad_data(struct hctx *h, uint64_t addr, uint32_t len, bool dev_writes)
{
	header(h, dev_writes ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(h->vq->desc, 1, addr, len,
		 (dev_writes ? VRING_DESC_F_WRITE : 0) | VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	return submit_wait(h, 0);
}

static int c_addr_outside(struct hctx *h)
{
	return bad_data(h, 0x1000, 4096, true);
}

static int c_addr_wrap(struct hctx *h)
{
	return bad_data(h, 0xfffffffffffff000ULL, 0x2000, true);
}

static int c_len_overflow(struct hctx *h)
{
	/* starts in RAM, runs 4 GiB past its end */
	return bad_data(h, h->vm->ram_gpa + h->vm->ram_size - 512, 0xfffffe00u, true);
}

static int c_len_sum_overflow(struct hctx *h)
{
	uint64_t ram = h->vm->ram_size, n = (1ULL << 32) / ram;
	struct stat sb;
	unsigned int i;
	int o;

	/* n valid descriptors, each the whole RAM: their lengths add up to 2^32 */
	if (n < 1 || n + 2 > FSIM_MAX_CHAIN || n + 2 > h->vq->num || n * ram != 1ULL << 32) {
		h->detail = "RAM size does not divide 4 GiB: skipped";
		return OUT_FAILED;
	}
	header(h, VIRTIO_BLK_T_OUT, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	for (i = 1; i <= n; i++)
		put_desc(h->vq->desc, i, h->vm->ram_gpa, (uint32_t)ram, VRING_DESC_F_NEXT,
			 (uint16_t)(i + 1));
	put_desc(h->vq->desc, n + 1, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	o = submit_wait(h, 0);
	if (!stat(h->b->o->image, &sb) && (uint64_t)sb.st_size != h->b->o->size) {
		fsim_fail("the image grew from %" PRIu64 " to %lld bytes", h->b->o->size,
			  (long long)sb.st_size);
		return -EIO;
	}
	/* whatever landed on the disk is not known any more */
	for (i = 0; i < 2048 && i < h->b->capacity; i++)
		h->b->gen[i] = GEN_UNKNOWN;
	return o;
}

static int c_avail_jump(struct hctx *h)
{
	struct fsim_vq *vq = h->vq;

	header(h, VIRTIO_BLK_T_IN, 0);
	vq->avail_idx += vq->num + 5;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	if (kick(h))
		return h->d->io_err;
	return wait_outcome(h, -1, CASE_WAIT_MS);
}

static int c_avail_backwards(struct hctx *h)
{
	struct fsim_vq *vq = h->vq;
	int o = good_read(h, 8);

	if (o != OUT_OK) {
		fsim_fail("a valid read before the case: %s", outcome_str(o));
		return -EIO;
	}
	vq->avail_idx -= 3;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	if (kick(h))
		return h->d->io_err;
	return wait_outcome(h, -1, CASE_WAIT_MS);
}

static int c_avail_head_oob(struct hctx *h)
{
	header(h, VIRTIO_BLK_T_IN, 0);
	publish(h, (uint16_t)(h->vq->num + 3));
	if (kick(h))
		return h->d->io_err;
	return wait_outcome(h, -1, CASE_WAIT_MS);
}

static int indirect_case(struct hctx *h, uint64_t addr, uint32_t len, bool nested)
{
	struct vring_desc *t = fsim_gpa(h->vm, h->table, 4096);

	if (!(h->d->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC))) {
		/* an INDIRECT descriptor the driver did not negotiate is hostile too */
		h->detail = "INDIRECT_DESC not negotiated: used anyway";
	}
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(t, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, nested ? h->table : h->data, nested ? 48 : 512,
		 nested ? VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT :
			  VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(t, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	put_desc(h->vq->desc, 0, addr, len, VRING_DESC_F_INDIRECT, 0);
	return submit_wait(h, 0);
}

static int c_indirect_bad_len(struct hctx *h)
{
	return indirect_case(h, h->table, 17, false);
}

static int c_indirect_zero_len(struct hctx *h)
{
	return indirect_case(h, h->table, 0, false);
}

static int c_indirect_huge(struct hctx *h)
{
	return indirect_case(h, h->table, 0xfffffff0u, false);
}

static int c_indirect_outside(struct hctx *h)
{
	return indirect_case(h, 0x2000, 48, false);
}

static int c_indirect_nested(struct hctx *h)
{
	return indirect_case(h, h->table, 48, true);
}

static int c_bad_header(struct hctx *h)
{
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(h->vq->desc, 0, h->meta, 8, VRING_DESC_F_NEXT, 1);	/* 8 of 16 bytes */
	put_desc(h->vq->desc, 1, h->data, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	return submit_wait(h, 0);
}

static int c_write_to_readonly_desc(struct hctx *h)
{
	/* a read whose data and status buffers are not device-writable */
	header(h, VIRTIO_BLK_T_IN, 0);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(h->vq->desc, 1, h->data, 512, VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, 0, 0);
	return submit_wait(h, 0);
}

static int c_sector_out_of_range(struct hctx *h)
{
	header(h, VIRTIO_BLK_T_IN, h->b->capacity - 1);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(h->vq->desc, 1, h->data, 8 * 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	return submit_wait(h, 0);
}

static int c_sector_wrap(struct hctx *h)
{
	/* sector * 512 overflows 64 bits */
	header(h, VIRTIO_BLK_T_IN, 0xffffffffffffff00ULL);
	put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
	put_desc(h->vq->desc, 1, h->data, 8 * 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
	return submit_wait(h, 0);
}

static int c_used_backwards(struct hctx *h)
{
	struct fsim_vq *vq = h->vq;
	int o = good_read(h, 8);

	if (o != OUT_OK) {
		fsim_fail("a valid read before the case: %s", outcome_str(o));
		return -EIO;
	}
	/* the driver scribbles over the device's used index */
	__atomic_store_n(&vq->used->idx, (uint16_t)(vq->last_used - 5), __ATOMIC_RELEASE);
	vq->last_used -= 5;
	h->detail = "used idx moved back by 5; the device must keep its own";
	return good_read(h, 8);
}

static int c_notify_bad_queue(struct hctx *h)
{
	uint32_t res;

	fsim_reg_write(h->d, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 99, &res);
	fsim_reg_write(h->d, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0xffffffffu, &res);
	fsim_reg_write(h->d, VIRTIO_MMIO_QUEUE_NOTIFY, 2, 0, &res);
	if (h->d->io_err == -EIO)
		h->d->io_err = 0;	/* a bus error for a bad access is fine */
	return good_read(h, 8);
}

static int c_unoffered_feature(struct hctx *h)
{
	struct fsim_dev *d = h->d;
	uint64_t bad = 0;
	unsigned int bit;
	uint32_t st;

	/* a feature bit the device did not offer */
	for (bit = 63; bit > 0 && !bad; bit--)
		if (!(d->dev_features & (1ULL << bit)))
			bad = 1ULL << bit;
	if (fsim_dev_reset(d, 5000))
		return d->io_err ? d->io_err : -EIO;
	d->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	fsim_wr32(d, VIRTIO_MMIO_STATUS, d->status);
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features | bad));
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fsim_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)((d->features | bad) >> 32));
	d->status |= VIRTIO_CONFIG_S_FEATURES_OK;
	fsim_wr32(d, VIRTIO_MMIO_STATUS, d->status);
	st = fsim_dev_status(d);
	if (d->io_err)
		return d->io_err;
	h->detail = st & VIRTIO_CONFIG_S_FEATURES_OK ? "FEATURES_OK kept" :
						       "FEATURES_OK cleared";
	if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
		return OUT_BROKEN;
	return st & VIRTIO_CONFIG_S_FEATURES_OK ? OUT_OK : OUT_FAILED;
}

static int c_ring_outside(struct hctx *h)
{
	struct fsim_dev *d = h->d;
	uint32_t ready, st;
	long end;

	/* a queue whose rings are not in guest memory */
	if (fsim_dev_reset(d, 5000) || fsim_dev_negotiate(d, d->features))
		return d->io_err ? d->io_err : -EIO;
	fsim_dev_free_queues(d);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_NUM, 64);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0xfffff000u);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0xffffffffu);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_USED_LOW, 0x3000);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x7);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	ready = fsim_rd32(d, VIRTIO_MMIO_QUEUE_READY);
	d->status |= VIRTIO_CONFIG_S_DRIVER_OK;
	fsim_wr32(d, VIRTIO_MMIO_STATUS, d->status);
	fsim_wr32(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	if (d->io_err)
		return d->io_err;
	end = fsim_now_ms() + CASE_WAIT_MS;
	do {
		st = fsim_dev_status(d);
		if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
			return OUT_BROKEN;
		if (!ready) {
			h->detail = "QueueReady refused";
			return OUT_FAILED;
		}
		fsim_dev_wait_irq(d, 100);
	} while (fsim_now_ms() < end && !d->io_err);
	return d->io_err ? d->io_err : OUT_NONE;
}

struct flipper {
	struct hctx *h;
	volatile int stop;
	uint64_t rnd;
	unsigned long flips;
};

static void *flip_thread(void *arg)
{
	struct flipper *f = arg;
	struct fsim_vq *vq = f->h->vq;
	unsigned int i;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		i = (unsigned int)fsim_rand(&f->rnd, 3);
		/* mostly the descriptors the device is reading; the avail ring less */
		switch (fsim_rand(&f->rnd, 34)) {
		case 0:
			__atomic_store_n(&vq->desc[i].next, (uint16_t)fsim_rand(&f->rnd, vq->num + 8),
					 __ATOMIC_RELAXED);
			break;
		case 1:
			__atomic_store_n(&vq->desc[i].flags,
					 (uint16_t)fsim_rand(&f->rnd, 8), __ATOMIC_RELAXED);
			break;
		case 2:
			__atomic_store_n(&vq->desc[i].len,
					 fsim_rand(&f->rnd, 2) ? 0xffffffffu : (uint32_t)fsim_rand(&f->rnd, 5000),
					 __ATOMIC_RELAXED);
			break;
		case 3:
		case 6 ... 32:
			if (fsim_rand(&f->rnd, 4))
				break;		/* mostly: let the device read a valid chain */
			__atomic_store_n(&vq->desc[i].addr,
					 fsim_rand(&f->rnd, 2) ? fsim_splitmix(&f->rnd) : f->h->data,
					 __ATOMIC_RELAXED);
			break;
		case 4:
			__atomic_store_n(&vq->avail->ring[fsim_rand(&f->rnd, vq->num)],
					 (uint16_t)fsim_rand(&f->rnd, vq->num + 8), __ATOMIC_RELAXED);
			break;
		default:
			__atomic_store_n(&vq->avail->idx,
					 (uint16_t)(vq->avail_idx + fsim_rand(&f->rnd, 3)),
					 __ATOMIC_RELAXED);
			break;
		}
		if (!(__atomic_add_fetch(&f->flips, 1, __ATOMIC_RELAXED) & 63))
			sched_yield();
	}
	return NULL;
}

static int c_ring_rewrite(struct hctx *h)
{
	struct flipper f = { .h = h, .rnd = h->b->rnd };
	int seen[8] = { 0 }, o = OUT_NONE, i;
	static char detail[160];
	pthread_t t;

	if (pthread_create(&t, NULL, flip_thread, &f))
		return -EAGAIN;
	while (__atomic_load_n(&f.flips, __ATOMIC_RELAXED) < 1000)
		sched_yield();
	/* valid requests, rewritten under the device while it reads them */
	for (i = 0; i < 300 && o != OUT_BROKEN; i++) {
		header(h, VIRTIO_BLK_T_IN, (uint64_t)fsim_rand(&f.rnd, 64));
		put_desc(h->vq->desc, 0, h->meta, 16, VRING_DESC_F_NEXT, 1);
		put_desc(h->vq->desc, 1, h->data, 4096, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
		put_desc(h->vq->desc, 2, h->meta + 16, 1, VRING_DESC_F_WRITE, 0);
		publish(h, 0);
		if (kick(h))
			break;
		o = wait_outcome(h, -1, 50);
		if (o < 0)
			break;
		seen[o]++;
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	if (o < 0)
		return o;
	if (h->d->io_err)
		return h->d->io_err;
	snprintf(detail, sizeof(detail), "%d rounds, %lu rewrites: %d ok, %d failed, "
		 "%d no answer yet", i, f.flips, seen[OUT_OK], seen[OUT_FAILED], seen[OUT_NONE]);
	h->detail = detail;
	if (o == OUT_BROKEN)
		return OUT_BROKEN;
	/* still alive: the ring now holds garbage; one more notification */
	return c_desc_loop(h);
}

static int c_register_fuzz(struct hctx *h)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	uint64_t rnd = h->b->rnd ^ 0xf022, v;
	unsigned int i, size, off;
	uint32_t res;

	for (i = 0; i < 400; i++) {
		size = sizes[fsim_rand(&rnd, 4)];
		off = (unsigned int)fsim_rand(&rnd, 0x200 / size) * size;
		if (fsim_rand(&rnd, 2)) {
			fsim_access(h->vm, h->d->base + off, size, false, &v, NULL);
		} else {
			v = fsim_splitmix(&rnd);
			if (size < 8)
				v &= (1ULL << (size * 8)) - 1;
			fsim_access(h->vm, h->d->base + off, size, true, &v, &res);
		}
		if (!fsim_backend_alive(h->vm))
			return -ESRCH;
	}
	h->detail = "400 random register accesses";
	return OUT_OK;
}

static int c_config_write(struct hctx *h)
{
	uint64_t cap = 0, v = 0x12345678;
	uint32_t res;

	fsim_access(h->vm, h->d->base + VIRTIO_MMIO_CONFIG, 4, true, &v, &res);
	fsim_access(h->vm, h->d->base + VIRTIO_MMIO_CONFIG + 0xf8, 8, true, &v, &res);
	fsim_access(h->vm, h->d->base + VIRTIO_MMIO_CONFIG + 0xfc, 4, false, &v, NULL);
	h->d->io_err = 0;
	if (fsim_cfg_read(h->d, 0, 8, &cap))
		return h->d->io_err;
	if (cap != h->b->capacity) {
		fsim_fail("a write to read-only config changed capacity to %" PRIu64, cap);
		return -EIO;
	}
	h->detail = "read-only config kept";
	return good_read(h, 8);
}

struct hcase {
	const char *name;
	const char *what;
	int (*fn)(struct hctx *h);
	int accept;
};

static const struct hcase cases[] = {
	{ "desc-loop", "descriptor chain that loops", c_desc_loop, ACC_BAD },
	{ "chain-too-long", "chain through every descriptor and back", c_chain_too_long, ACC_BAD },
	{ "indirect-too-long", "indirect table longer than the ring", c_indirect_too_long, ACC_BAD },
	{ "next-out-of-range", "next index past the ring", c_next_out_of_range, ACC_BAD },
	{ "addr-outside", "buffer outside every window", c_addr_outside, ACC_BAD },
	{ "addr-wrap", "buffer address + length wraps 64 bits", c_addr_wrap, ACC_BAD },
	{ "len-overflow", "4 GiB buffer from the end of RAM", c_len_overflow, ACC_BAD },
	{ "len-sum-overflow", "buffer lengths summing to 2^32", c_len_sum_overflow, ACC_BAD },
	{ "avail-jump", "avail idx jumps by more than the ring", c_avail_jump, OUT_BROKEN },
	{ "avail-backwards", "avail idx goes backwards", c_avail_backwards, OUT_BROKEN },
	{ "avail-head-oob", "avail entry names a descriptor past the ring", c_avail_head_oob,
	  OUT_BROKEN },
	{ "ring-outside", "queue rings outside guest memory", c_ring_outside, ACC_BAD },
	{ "ring-rewrite", "ring rewritten under the device", c_ring_rewrite, ACC_BAD },
	{ "indirect-bad-len", "indirect table of 17 bytes", c_indirect_bad_len, ACC_BAD },
	{ "indirect-zero-len", "indirect table of 0 bytes", c_indirect_zero_len, ACC_BAD },
	{ "indirect-huge", "indirect table of 4 GiB", c_indirect_huge, ACC_BAD },
	{ "indirect-outside", "indirect table outside guest memory", c_indirect_outside, ACC_BAD },
	{ "indirect-nested", "indirect descriptor inside an indirect table", c_indirect_nested,
	  ACC_BAD },
	{ "bad-header", "request header of 8 bytes", c_bad_header, ACC_BAD },
	{ "readonly-in-buffer", "read into buffers the device may not write",
	  c_write_to_readonly_desc, ACC_BAD },
	{ "sector-out-of-range", "read past the end of the disk", c_sector_out_of_range, ACC_BAD },
	{ "sector-wrap", "sector number whose byte offset wraps", c_sector_wrap, ACC_BAD },
	{ "used-backwards", "driver moves the used idx back", c_used_backwards, ACC_ANY },
	{ "notify-bad-queue", "notification of queues that do not exist", c_notify_bad_queue,
	  OUT_OK | OUT_BROKEN },
	{ "unoffered-feature", "driver accepts a feature not offered", c_unoffered_feature,
	  ACC_BAD },
	{ "config-write", "writes to read-only config space", c_config_write, OUT_OK },
	{ "register-fuzz", "random register accesses", c_register_fuzz, ACC_ANY },
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

void fsim_hostile_list(void)
{
	unsigned int i;

	for (i = 0; i < NR_CASES; i++)
		printf("%-20s %s\n", cases[i].name, cases[i].what);
}

static int run_case(struct blk *b, const struct hcase *c)
{
	struct hctx h = { .b = b, .d = b->d, .vm = b->vm };
	uint64_t ram;
	char acc[80] = "";
	int o, ret;

	/* queue 0 is ours: nothing of the driver's own in flight */
	h.vq = &b->d->vqs[0];
	ram = fsim_ram_alloc(b->vm, 3 * 65536);
	if (!ram)
		return -ENOMEM;
	h.meta = ram;
	h.data = ram + 65536;
	h.table = ram + 2 * 65536;
	h.status = fsim_gpa(b->vm, h.meta + 16, 1);

	o = c->fn(&h);
	if (o >= 0 && !(c->accept & o) && !(c->accept & 8)) {
		snprintf(acc, sizeof(acc), "%s%s%s",
			 c->accept & OUT_BROKEN ? "DEVICE_NEEDS_RESET" : "",
			 (c->accept & OUT_BROKEN) && (c->accept & ~OUT_BROKEN) ? " or " : "",
			 c->accept & OUT_FAILED ? "a failed request" :
			 c->accept & OUT_OK ? "success" : "");
		fsim_fail("hostile %s (%s): %s%s%s, expected %s", c->name, c->what, outcome_str(o),
			  h.detail ? ": " : "", h.detail ? h.detail : "", acc);
		ret = -EIO;
	} else if (o < 0) {
		fsim_fail("hostile %s (%s): %s", c->name, c->what,
			  o == -ESRCH ? "the backend died" : strerror(-o));
		ret = o;
	} else {
		fsim_say("hostile", "%-19s %s: %s%s%s", c->name, c->what, outcome_str(o),
			 h.detail ? "; " : "", h.detail ? h.detail : "");
		ret = 0;
	}
	fsim_ram_free(b->vm, ram, 3 * 65536);
	if (!blk_backend_ok(b))
		return -ESRCH;

	/* recovery: reset, initialise again, move verified data */
	if (!ret) {
		b->d->io_err = 0;
		ret = fsim_dev_reset(b->d, 10000);
		if (!ret)
			ret = blk_init(b);
		if (!ret)
			ret = blk_quick_io(b, 2 << 20);
		if (!ret && !blk_backend_ok(b))
			ret = -ESRCH;
		if (ret)
			fsim_fail("after hostile %s: the device did not recover (reset, "
				  "re-initialise, I/O)", c->name);
		else
			fsim_say("recover", "reset, re-initialised, 2 MiB written and verified; "
				 "backend pid %d alive", (int)b->vm->pid);
	}
	return ret;
}

int blk_hostile(struct blk *b, const char *name)
{
	unsigned int i, ran = 0;
	int ret, first = 0;

	if (!strcmp(name, "list")) {
		fsim_hostile_list();
		return 0;
	}
	for (i = 0; i < NR_CASES; i++) {
		if (strcmp(name, "all") && strcmp(name, cases[i].name))
			continue;
		ret = run_case(b, &cases[i]);
		ran++;
		if (ret && !first)
			first = ret;
		if (ret == -ESRCH || ret == -EPIPE)
			break;	/* nothing more to learn from a dead backend */
	}
	if (!ran) {
		fsim_fail("unknown hostile case '%s' (try --hostile list)", name);
		return -EINVAL;
	}
	return first;
}
