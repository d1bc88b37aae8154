// SPDX-License-Identifier: Apache-2.0
/*
 * frontend-sim: a virtio-blk driver and the workloads and scenarios the
 * tests run with it.
 *
 * Every sector's content is known to the driver: a generation number per
 * sector says which pseudo-random pattern (or zeroes) it must hold, so a
 * read verifies each sector against a pattern regenerated on the fly, and
 * after a FLUSH the image file itself is checked the same way. Writes in
 * flight never overlap; reads and writes are spread over every queue with
 * mixed sizes (512 B .. 1 MiB), offsets and segment layouts, direct and
 * indirect descriptors mixed when INDIRECT_DESC is negotiated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/vbackend.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_rng.h>

#include "blk.h"

#define BLK_MMIO	0x0a000000ULL
#define BLK_IRQ		5
#define RNG_MMIO	0x0a001000ULL
#define RNG_IRQ		6

static inline bool feat(const struct blk *b, unsigned int bit)
{
	return b->d->features & (1ULL << bit);
}

/* ---- data patterns ------------------------------------------------------------- */

static void pattern(const struct blk *b, uint64_t sector, uint32_t gen,
		    uint8_t *out)
{
	uint64_t s = b->pat_seed ^ (sector * 0x9e3779b97f4a7c15ULL) ^
		     ((uint64_t)gen * 0xd1b54a32d192ed03ULL);
	uint64_t *w = (uint64_t *)out;
	unsigned int i;

	if (gen == GEN_ZERO) {
		memset(out, 0, BLK_SECTOR);
		return;
	}
	/* self-describing head: a misdirected sector says where it belongs */
	w[0] = sector;
	w[1] = (uint64_t)gen << 32 | 0x5ec7u;
	for (i = 2; i < BLK_SECTOR / 8; i++)
		w[i] = fsim_splitmix(&s);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Check one sector against what the driver knows. 0, or 1 on mismatch. */
static int check_sector(struct blk *b, uint64_t sector, const uint8_t *got,
			const char *where)
{
	uint32_t g = b->gen[sector];
	uint8_t want[BLK_SECTOR];
	const uint64_t *w = (const uint64_t *)got;
	unsigned int i;

	if (g == GEN_UNKNOWN)
		return 0;
	b->sectors_checked++;
	if (g & GEN_OR_ZERO) {
		if (all_zero(got, BLK_SECTOR))
			return 0;
		g &= ~GEN_OR_ZERO;
	}
	pattern(b, sector, g, want);
	b->sum_read += fnv(got, BLK_SECTOR) * (2 * sector + 1);
	b->sum_expect += fnv(want, BLK_SECTOR) * (2 * sector + 1);
	if (!memcmp(want, got, BLK_SECTOR))
		return 0;
	for (i = 0; i < BLK_SECTOR && want[i] == got[i]; i++)
		;
	if (++b->mismatches <= 5)
		fsim_fail("%s: sector %" PRIu64 " differs at byte %u: expected generation %u; "
			  "it holds %s", where, sector, i, g,
			  all_zero(got, BLK_SECTOR) ? "zeroes" :
			  (w[1] & 0xffffffffu) == 0x5ec7u ? "another pattern" : "garbage");
	if ((w[1] & 0xffffffffu) == 0x5ec7u && b->mismatches <= 5)
		fsim_fail("%s: ... sector %" PRIu64 " holds the data of sector %" PRIu64
			  " generation %u", where, sector, w[0], (uint32_t)(w[1] >> 32));
	return 1;
}

/* ---- requests ----------------------------------------------------------------- */

static uint32_t rand_nsec(struct blk *b)
{
	uint32_t max = b->max_req / BLK_SECTOR, e = 0, n, base;

	while ((2u << e) <= max)
		e++;
	/* log-uniform: as many small requests as big ones */
	base = 1u << fsim_rand(&b->rnd, e + 1);
	n = base + (uint32_t)fsim_rand(&b->rnd, base);
	return n > max ? max : n;
}

/* Split @len bytes into data segments of at most seg_limit, max_segs of them. */
static unsigned int split(struct blk *b, uint32_t len, uint32_t *parts,
			  unsigned int max_segs)
{
	unsigned int min = (len + b->seg_limit - 1) / b->seg_limit, hi, n, i, k;

	if (!min)
		min = 1;
	hi = min + 7;
	if (hi > max_segs)
		hi = max_segs;
	if (hi > len)
		hi = len;
	if (hi < min)
		hi = min;
	n = min + (unsigned int)fsim_rand(&b->rnd, hi - min + 1);
	for (i = 0; i < n; i++)
		parts[i] = len / n + (i < len % n);
	/* move bytes between neighbours: odd sizes and boundaries */
	for (k = 0; n > 1 && k < n; k++) {
		unsigned int a = (unsigned int)fsim_rand(&b->rnd, n), c = (a + 1) % n;
		uint32_t room = b->seg_limit - parts[c], have = parts[a] - 1;
		uint32_t m = have < room ? have : room;

		if (fsim_rand(&b->rnd, 4) == 0)
			m = m / BLK_SECTOR * BLK_SECTOR;	/* sometimes sector-sized */
		m = (uint32_t)fsim_rand(&b->rnd, (uint64_t)m + 1);
		parts[a] -= m;
		parts[c] += m;
	}
	return n;
}

void blk_prep(struct blk *b, struct blk_req *r)
{
	struct fsim_vm *vm = b->vm;
	struct virtio_blk_outhdr *h = fsim_gpa(vm, r->meta_gpa, BLK_META_SIZE);
	uint8_t *meta = (uint8_t *)h, *buf;
	uint32_t parts[FSIM_MAX_CHAIN];
	uint64_t at = r->buf_gpa;
	unsigned int n, i;
	bool in = r->type == VIRTIO_BLK_T_IN;

	h->type = r->type;
	h->ioprio = 0;
	h->sector = r->sector;
	meta[BLK_META_STATUS] = BLK_STATUS_UNSET;
	r->status = BLK_STATUS_UNSET;
	r->used_len = 0;
	r->nsg = 0;
	r->sg[r->nsg++] = (struct fsim_sg){ r->meta_gpa, sizeof(*h), false };

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		r->data_len = r->nsec * BLK_SECTOR;
		if (!in)
			for (i = 0; i < r->nsec; i++)
				pattern(b, r->sector + i, r->gen, b->expect + i * BLK_SECTOR);
		n = split(b, r->data_len, parts, b->max_segs);
		for (i = 0; i < n; i++) {
			uint32_t gap = BLK_GUARD + (uint32_t)fsim_rand(&b->rnd, 256);

			buf = fsim_gpa(vm, at, parts[i] + gap);
			if (in)
				memset(buf, BLK_POISON_BYTE, parts[i]);
			memset(buf + parts[i], BLK_GUARD_BYTE, gap);
			r->sg[r->nsg++] = (struct fsim_sg){ at, parts[i], in };
			at += parts[i] + gap;
		}
		if (!in) {
			uint32_t off = 0;

			for (i = 1; i < r->nsg; i++) {
				memcpy(fsim_gpa(vm, r->sg[i].gpa, r->sg[i].len),
				       b->expect + off, r->sg[i].len);
				off += r->sg[i].len;
			}
		}
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (!r->data_len)
			r->data_len = VIRTIO_BLK_ID_BYTES;
		memset(meta + BLK_META_ID, BLK_POISON_BYTE, r->data_len);
		memset(meta + BLK_META_ID + r->data_len, BLK_GUARD_BYTE, BLK_GUARD);
		r->sg[r->nsg++] = (struct fsim_sg){ r->meta_gpa + BLK_META_ID, r->data_len, true };
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		/* segments already written at BLK_META_SEGS, data_len set */
		r->sg[r->nsg++] = (struct fsim_sg){ r->meta_gpa + BLK_META_SEGS, r->data_len, false };
		break;
	default:		/* FLUSH and unknown types: header and status only */
		r->data_len = 0;
		break;
	}
	r->sg[r->nsg++] = (struct fsim_sg){ r->meta_gpa + BLK_META_STATUS, 1, true };
}

int blk_submit(struct blk *b, struct blk_req *r)
{
	struct fsim_vq *vq = &b->d->vqs[r->q];
	bool can_ind = feat(b, VIRTIO_RING_F_INDIRECT_DESC) && !r->force_direct;
	int mode = FSIM_ADD_DIRECT, ret;

	/* mixed: half the requests indirect, and whatever does not fit */
	if (can_ind && (fsim_rand(&b->rnd, 2) || r->nsg > vq->num_free))
		mode = FSIM_ADD_INDIRECT;
	ret = fsim_vq_add(vq, r->sg, r->nsg, r, mode);
	if (ret < 0)
		return ret;
	r->busy = true;
	r->t0 = fsim_now_ms();
	b->nreq++;
	return 0;
}

struct blk_req *blk_free_slot(struct blk *b, unsigned int q)
{
	unsigned int i;

	for (i = 0; i < b->slots; i++)
		if (!b->reqs[q * b->slots + i].busy)
			return &b->reqs[q * b->slots + i];
	return NULL;
}

static bool ring_has_room(struct blk *b, unsigned int q)
{
	struct fsim_vq *vq = &b->d->vqs[q];

	if (feat(b, VIRTIO_RING_F_INDIRECT_DESC))
		return vq->num_free >= 1;
	return vq->num_free >= b->max_segs + 2;
}

/* Check a completion's status byte, used length and guard bytes. */
static int blk_finish(struct blk *b, struct blk_req *r)
{
	uint8_t *meta = fsim_gpa(b->vm, r->meta_gpa, BLK_META_SIZE);
	uint32_t want_len = 1;
	unsigned int i;

	r->busy = false;
	r->status = meta[BLK_META_STATUS];
	if (r->status == BLK_STATUS_UNSET) {
		fsim_fail("request type %u sector %" PRIu64 ": completed without a status byte",
			  r->type, r->sector);
		return -EPROTO;
	}
	if (r->status != VIRTIO_BLK_S_OK)
		return 0;	/* failures are the caller's to judge */
	if (r->type == VIRTIO_BLK_T_IN)
		want_len = r->data_len + 1;
	if (r->type == VIRTIO_BLK_T_GET_ID ? r->used_len < 1 || r->used_len > r->data_len + 1
					   : r->used_len != want_len) {
		if (++b->len_errors <= 3)
			fsim_fail("request type %u of %u bytes: used length %u, expected %u",
				  r->type, r->data_len, r->used_len, want_len);
	}
	for (i = 1; i + 1 < r->nsg; i++) {
		const uint8_t *g;
		unsigned int k;

		if (!r->sg[i].write)
			continue;
		g = fsim_gpa(b->vm, r->sg[i].gpa + r->sg[i].len, BLK_GUARD);
		for (k = 0; k < BLK_GUARD && g[k] == BLK_GUARD_BYTE; k++)
			;
		if (k < BLK_GUARD) {
			fsim_fail("request type %u: the device wrote past the end of a "
				  "%u-byte buffer", r->type, r->sg[i].len);
			return -EPROTO;
		}
	}
	if (r->type == VIRTIO_BLK_T_IN)
		b->bytes_in += r->data_len;
	else if (r->type == VIRTIO_BLK_T_OUT)
		b->bytes_out += r->data_len;
	return 0;
}

int blk_verify_in(struct blk *b, struct blk_req *r)
{
	uint32_t off = 0, i;
	int bad = 0;
	char where[64];

	for (i = 1; i + 1 < r->nsg; i++) {
		memcpy(b->scratch + off, fsim_gpa(b->vm, r->sg[i].gpa, r->sg[i].len),
		       r->sg[i].len);
		off += r->sg[i].len;
	}
	snprintf(where, sizeof(where), "read on queue %u", r->q);
	for (i = 0; i < r->nsec; i++)
		bad += check_sector(b, r->sector + i, b->scratch + i * BLK_SECTOR, where);
	return bad;
}

bool blk_backend_ok(struct blk *b)
{
	char buf[64], rep[256];

	if (fsim_backend_log_has_sanitizer_report(b->vm, rep, sizeof(rep))) {
		fsim_fail("backend sanitizer report: %s", rep);
		return false;
	}
	if (!fsim_backend_alive(b->vm)) {
		fsim_fail("backend died: %s",
			  fsim_wait_str(b->vm->exit_status, buf, sizeof(buf)));
		return false;
	}
	return true;
}

/* ---- the engine -------------------------------------------------------------- */

static unsigned int busy_count(struct blk *b)
{
	unsigned int i, n = 0;

	for (i = 0; i < b->nq * b->slots; i++)
		n += b->reqs[i].busy;
	return n;
}

static int harvest(struct blk *b, blk_done_fn done, void *ctx)
{
	unsigned int q, n = 0;
	struct blk_req *r;
	uint32_t len;
	void *tok;
	int ret;

	for (q = 0; q < b->nq; q++) {
		while ((ret = fsim_vq_get(&b->d->vqs[q], &tok, &len)) > 0) {
			r = tok;
			r->used_len = len;
			ret = blk_finish(b, r);
			if (!ret && done)
				ret = done(b, r, ctx);
			if (ret < 0)
				return ret;
			n++;
		}
		if (ret < 0)
			return ret;
	}
	return (int)n;
}

/* Why nothing completed: a lost interrupt, or a stalled / broken device. */
static int stall_report(struct blk *b, int why)
{
	unsigned int q;
	uint32_t st;

	if (why == -EPIPE || b->vm->peer_gone) {
		fsim_fail("backend went away with %u requests in flight", busy_count(b));
		return -EPIPE;
	}
	if (why != -ETIMEDOUT) {
		fsim_fail("interrupt handling: %s", strerror(-why));
		return why;
	}
	for (q = 0; q < b->nq; q++) {
		struct fsim_vq *vq = &b->d->vqs[q];

		if (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) != vq->last_used) {
			fsim_fail("queue %u: used ring advanced but no interrupt came in %ld ms "
				  "(lost interrupt)", q, b->wait_ms);
			return -ETIMEDOUT;
		}
	}
	st = fsim_dev_status(b->d);
	fsim_fail("device stalled: %u requests in flight, no completion in %ld ms "
		  "(Status 0x%x)", busy_count(b), b->wait_ms, st);
	return -ETIMEDOUT;
}

int blk_run(struct blk *b, blk_next_fn next, blk_done_fn done, void *ctx)
{
	bool exhausted = !next, idle;
	unsigned int q, start = 0;
	struct blk_req *r;
	int ret;

	for (;;) {
		/* fill every queue, starting with a different one each round */
		for (q = 0; q < b->nq && !exhausted; q++) {
			unsigned int qq = (start + q) % b->nq;
			bool added = false;

			while (!exhausted && ring_has_room(b, qq) &&
			       (r = blk_free_slot(b, qq))) {
				ret = next(b, r, ctx);
				if (ret == 0)
					exhausted = true;
				if (ret <= 0)
					break;
				blk_prep(b, r);
				ret = blk_submit(b, r);
				if (ret) {
					fsim_fail("queue %u: adding a %u-descriptor chain: %s", qq,
						  r->nsg, strerror(-ret));
					return ret;
				}
				added = true;
			}
			if (added) {
				ret = fsim_vq_kick(&b->d->vqs[qq], false);
				if (ret < 0)
					return stall_report(b, ret == -EPIPE || ret == -ENOTCONN ?
								 -EPIPE : ret);
			}
		}
		start++;
		if (!busy_count(b)) {
			if (exhausted)
				return 0;
			continue;
		}
		ret = harvest(b, done, ctx);
		if (ret < 0)
			return ret;
		if (ret > 0)
			continue;
		idle = true;
		for (q = 0; q < b->nq; q++)
			idle &= fsim_vq_enable_cb(&b->d->vqs[q]);
		if (!idle)
			continue;
		ret = fsim_dev_wait_irq(b->d, b->wait_ms);
		if (ret < 0)
			return stall_report(b, ret);
		if (ret & VIRTIO_MMIO_INT_CONFIG) {
			uint32_t st = fsim_dev_status(b->d);

			if (st & VIRTIO_CONFIG_S_NEEDS_RESET) {
				fsim_fail("device set DEVICE_NEEDS_RESET (Status 0x%x) during a "
					  "valid workload", st);
				return -EIO;
			}
		}
	}
}

/* ---- setup ------------------------------------------------------------------ */

void blk_release_slots(struct blk *b)
{
	if (b->slot_ram)
		fsim_ram_free(b->vm, b->slot_ram, b->slot_ram_size);
	b->slot_ram = 0;
	free(b->reqs);
	b->reqs = NULL;
}

int blk_init(struct blk *b)
{
	uint64_t wanted = 1ULL << VIRTIO_F_VERSION_1 |
			  1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
			  1ULL << VIRTIO_BLK_F_GEOMETRY | 1ULL << VIRTIO_BLK_F_RO |
			  1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
			  1ULL << VIRTIO_BLK_F_TOPOLOGY | 1ULL << VIRTIO_BLK_F_MQ |
			  1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	struct fsim_dev *d = b->d;
	uint64_t per_slot, budget;
	unsigned int q, i;
	int ret;

	if (b->o->indirect)
		wanted |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (b->o->event_idx)
		wanted |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	blk_release_slots(b);
	fsim_dev_free_queues(d);

	ret = fsim_dev_probe(d);
	if (!ret)
		ret = fsim_dev_negotiate(d, wanted);
	if (ret)
		return ret;

	ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, capacity), 8, &b->capacity);
	if (!ret && feat(b, VIRTIO_BLK_F_SIZE_MAX))
		ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, size_max), 4, &b->size_max);
	if (!ret && feat(b, VIRTIO_BLK_F_SEG_MAX))
		ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, seg_max), 4, &b->seg_max);
	if (!ret && feat(b, VIRTIO_BLK_F_BLK_SIZE))
		ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, blk_size), 4, &b->blk_size);
	b->num_queues = 1;
	if (!ret && feat(b, VIRTIO_BLK_F_MQ))
		ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, num_queues), 2,
				    &b->num_queues);
	if (!ret && feat(b, VIRTIO_BLK_F_DISCARD)) {
		ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, max_discard_sectors),
				    4, &b->max_discard_sectors);
		if (!ret)
			ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, max_discard_seg),
					    4, &b->max_discard_seg);
		if (!ret)
			ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config,
							discard_sector_alignment),
					    4, &b->discard_align);
	}
	if (!ret && feat(b, VIRTIO_BLK_F_WRITE_ZEROES)) {
		ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, max_write_zeroes_sectors),
				    4, &b->max_wz_sectors);
		if (!ret)
			ret = fsim_cfg_read(d, offsetof(struct virtio_blk_config, max_write_zeroes_seg),
					    4, &b->max_wz_seg);
	}
	if (ret) {
		fsim_fail("blk: reading config space: %s", strerror(-ret));
		return ret;
	}
	if (b->capacity != b->o->size / BLK_SECTOR) {
		fsim_fail("blk: capacity %" PRIu64 " sectors, the image has %" PRIu64,
			  b->capacity, b->o->size / BLK_SECTOR);
		return -EINVAL;
	}
	if (!b->num_queues || b->num_queues > FSIM_MAX_QUEUES) {
		fsim_fail("blk: num_queues %u (1..%u expected)", b->num_queues, FSIM_MAX_QUEUES);
		return -EINVAL;
	}
	if (b->num_queues != b->o->queues) {
		fsim_fail("blk: the device has %u queue(s)%s, the backend was asked for %u",
			  b->num_queues, feat(b, VIRTIO_BLK_F_MQ) ? "" : " (no VIRTIO_BLK_F_MQ)",
			  b->o->queues);
		return -EINVAL;
	}
	b->nq = b->num_queues;

	for (q = 0; q < b->nq; q++) {
		ret = fsim_dev_setup_queue(d, q, b->o->qsize);
		if (ret)
			return ret;
	}
	b->qsize = d->vqs[0].num;

	/* request limits from the config: segment size and count */
	b->seg_limit = feat(b, VIRTIO_BLK_F_SIZE_MAX) && b->size_max ? b->size_max : BLK_MAX_REQ;
	if (b->seg_limit > BLK_MAX_REQ)
		b->seg_limit = BLK_MAX_REQ;
	b->max_segs = feat(b, VIRTIO_BLK_F_SEG_MAX) && b->seg_max ? b->seg_max : 16;
	if (b->max_segs > FSIM_MAX_CHAIN - 2)
		b->max_segs = FSIM_MAX_CHAIN - 2;
	if (!feat(b, VIRTIO_RING_F_INDIRECT_DESC) && b->max_segs > b->qsize - 2)
		b->max_segs = b->qsize - 2;
	if (!b->max_segs) {
		fsim_fail("blk: a %u-entry queue leaves no room for data segments", b->qsize);
		return -EINVAL;
	}
	b->max_req = BLK_MAX_REQ;
	if ((uint64_t)b->max_segs * b->seg_limit < b->max_req)
		b->max_req = b->max_segs * b->seg_limit / BLK_SECTOR * BLK_SECTOR;
	if (b->max_req < BLK_SECTOR) {
		fsim_fail("blk: size_max %u x seg_max %u cannot carry one sector",
			  b->size_max, b->seg_max);
		return -EINVAL;
	}

	/* request slots: up to 8 per queue, within half the guest RAM */
	per_slot = BLK_META_SIZE + b->max_req + BLK_BUF_SLACK;
	budget = b->vm->ram_size / 2;
	b->slots = 8;
	while (b->slots > 1 && (uint64_t)b->slots * b->nq * per_slot > budget)
		b->slots--;
	if (b->slots > b->qsize)
		b->slots = b->qsize;
	b->reqs = calloc((size_t)b->nq * b->slots, sizeof(*b->reqs));
	b->slot_ram_size = (uint64_t)b->nq * b->slots * per_slot;
	b->slot_ram = fsim_ram_alloc(b->vm, b->slot_ram_size);
	if (!b->reqs || !b->slot_ram) {
		fsim_fail("blk: no guest RAM for %u x %u request buffers (--ram)", b->nq, b->slots);
		return -ENOMEM;
	}
	for (i = 0; i < b->nq * b->slots; i++) {
		b->reqs[i].b = b;
		b->reqs[i].q = i / b->slots;
		b->reqs[i].meta_gpa = b->slot_ram + i * per_slot;
		b->reqs[i].buf_gpa = b->reqs[i].meta_gpa + BLK_META_SIZE;
	}
	return fsim_dev_driver_ok(d);
}

/* ---- simple requests ---------------------------------------------------------- */

int blk_req_run(struct blk *b, struct blk_req *r)
{
	int ret;

	blk_prep(b, r);
	ret = blk_submit(b, r);
	if (ret) {
		fsim_fail("queue %u: adding a %u-descriptor chain: %s", r->q, r->nsg,
			  strerror(-ret));
		return ret;
	}
	ret = fsim_vq_kick(&b->d->vqs[r->q], false);
	if (ret < 0)
		return stall_report(b, ret == -ENOTCONN ? -EPIPE : ret);
	ret = blk_run(b, NULL, NULL, NULL);
	return ret ? ret : r->status;
}

int blk_simple(struct blk *b, unsigned int q, uint32_t type, uint64_t sector,
	       uint32_t nsec, struct blk_req **out)
{
	struct blk_req *r = blk_free_slot(b, q);
	uint32_t i;
	int ret;

	if (!r)
		return -EBUSY;
	r->type = type;
	r->sector = sector;
	r->nsec = nsec;
	r->gen = type == VIRTIO_BLK_T_OUT ? ++b->next_gen : 0;
	r->data_len = 0;
	r->force_direct = false;
	ret = blk_req_run(b, r);
	if (out)
		*out = r;
	if (ret == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_OUT)
		for (i = 0; i < nsec; i++)
			b->gen[sector + i] = r->gen;
	return ret;
}

/* A free slot of queue @q described for a request with caller-made data. */
static struct blk_req *blk_slot(struct blk *b, unsigned int q, uint32_t type,
				uint32_t data_len)
{
	struct blk_req *r = blk_free_slot(b, q);

	r->type = type;
	r->sector = 0;
	r->nsec = 0;
	r->gen = 0;
	r->data_len = data_len;
	r->force_direct = false;
	return r;
}

/* ---- workloads ------------------------------------------------------------------ */

struct write_ctx {
	uint64_t left;		/* bytes still to write */
};

static bool overlaps_busy(struct blk *b, uint64_t sector, uint32_t nsec)
{
	unsigned int i;

	for (i = 0; i < b->nq * b->slots; i++) {
		struct blk_req *o = &b->reqs[i];

		if (o->busy && (o->type == VIRTIO_BLK_T_OUT || o->type == VIRTIO_BLK_T_IN ||
				o->type == VIRTIO_BLK_T_DISCARD ||
				o->type == VIRTIO_BLK_T_WRITE_ZEROES) &&
		    sector < o->sector + o->nsec && o->sector < sector + nsec)
			return true;
	}
	return false;
}

static int write_next(struct blk *b, struct blk_req *r, void *ctx)
{
	struct write_ctx *c = ctx;
	uint32_t nsec;
	uint64_t sector;
	int tries;

	if (!c->left)
		return 0;
	nsec = rand_nsec(b);
	if ((uint64_t)nsec * BLK_SECTOR > c->left)
		nsec = (uint32_t)((c->left + BLK_SECTOR - 1) / BLK_SECTOR);
	if (nsec > b->capacity)
		nsec = (uint32_t)b->capacity;
	for (tries = 0; tries < 16; tries++) {
		sector = fsim_rand(&b->rnd, b->capacity - nsec + 1);
		if (!overlaps_busy(b, sector, nsec))
			break;
	}
	if (tries == 16)
		return -EAGAIN;
	r->type = VIRTIO_BLK_T_OUT;
	r->sector = sector;
	r->nsec = nsec;
	r->gen = ++b->next_gen;
	r->data_len = 0;
	c->left -= (uint64_t)nsec * BLK_SECTOR < c->left ? (uint64_t)nsec * BLK_SECTOR : c->left;
	return 1;
}

static int write_done(struct blk *b, struct blk_req *r, void *ctx)
{
	uint32_t i;

	(void)ctx;
	if (r->status != VIRTIO_BLK_S_OK) {
		fsim_fail("write of %u sectors at %" PRIu64 " on queue %u failed: status %u",
			  r->nsec, r->sector, r->q, r->status);
		for (i = 0; i < r->nsec; i++)
			b->gen[r->sector + i] = GEN_UNKNOWN;
		return -EIO;
	}
	for (i = 0; i < r->nsec; i++)
		b->gen[r->sector + i] = r->gen;
	return 0;
}

struct read_ctx {
	uint64_t *chunks;	/* sector << 16 | nsec, shuffled */
	size_t n, next;
};

static int read_next(struct blk *b, struct blk_req *r, void *ctx)
{
	struct read_ctx *c = ctx;

	(void)b;
	if (c->next == c->n)
		return 0;
	r->type = VIRTIO_BLK_T_IN;
	r->sector = c->chunks[c->next] >> 16;
	r->nsec = (uint32_t)(c->chunks[c->next] & 0xffff);
	r->data_len = 0;
	c->next++;
	return 1;
}

static int read_done(struct blk *b, struct blk_req *r, void *ctx)
{
	(void)ctx;
	if (r->status != VIRTIO_BLK_S_OK) {
		fsim_fail("read of %u sectors at %" PRIu64 " on queue %u failed: status %u",
			  r->nsec, r->sector, r->q, r->status);
		return -EIO;
	}
	blk_verify_in(b, r);
	return b->mismatches > 50 ? -EIO : 0;
}

static void report_rate(const char *label, uint64_t reqs, uint64_t bytes, long ms,
			const char *extra)
{
	char mib[32];
	double secs = ms > 0 ? ms / 1000.0 : 0.001;

	fsim_say(label, "%" PRIu64 " requests, %s in %.2f s, %.1f MiB/s%s", reqs,
		 fsim_mib(bytes, mib, sizeof(mib)), secs, bytes / 1048576.0 / secs, extra);
}

static int phase_write(struct blk *b, uint64_t bytes, const char *label)
{
	struct write_ctx c = { .left = bytes };
	uint64_t r0 = b->nreq, b0 = b->bytes_out;
	long t0 = fsim_now_ms();
	int ret;

	ret = blk_run(b, write_next, write_done, &c);
	if (!ret && !b->quiet)
		report_rate(label, b->nreq - r0, b->bytes_out - b0, fsim_now_ms() - t0,
			    ", 512 B to 1 MiB at random offsets");
	return ret;
}

/* Read [first, first + count) sectors back in shuffled chunks; verify. */
static int phase_read(struct blk *b, uint64_t first, uint64_t count, const char *label)
{
	struct read_ctx c = { 0 };
	uint64_t r0 = b->nreq, b0 = b->bytes_in, s, i, j, tmp;
	unsigned int mm0 = b->mismatches;
	long t0 = fsim_now_ms();
	char extra[128];
	int ret;

	c.chunks = malloc((count + 1) * sizeof(*c.chunks));
	if (!c.chunks)
		return -ENOMEM;
	for (s = first; s < first + count; s += c.chunks[c.n++] & 0xffff) {
		uint32_t n = rand_nsec(b);

		if (n > first + count - s)
			n = (uint32_t)(first + count - s);
		c.chunks[c.n] = s << 16 | n;
	}
	for (i = c.n; i > 1; i--) {
		j = fsim_rand(&b->rnd, i);
		tmp = c.chunks[i - 1];
		c.chunks[i - 1] = c.chunks[j];
		c.chunks[j] = tmp;
	}
	b->sum_read = b->sum_expect = 0;
	ret = blk_run(b, read_next, read_done, &c);
	free(c.chunks);
	if (!ret && b->mismatches > mm0)
		ret = -EIO;
	if (!ret && !b->quiet) {
		snprintf(extra, sizeof(extra), ", verified (checksum %016" PRIx64 " == %016" PRIx64 ")",
			 b->sum_read, b->sum_expect);
		report_rate(label, b->nreq - r0, b->bytes_in - b0, fsim_now_ms() - t0, extra);
	}
	return ret;
}

static int phase_flush(struct blk *b)
{
	unsigned int q;
	int st;

	if (!feat(b, VIRTIO_BLK_F_FLUSH)) {
		if (!b->quiet)
			fsim_say("flush", "VIRTIO_BLK_F_FLUSH not offered: the device is write-through");
		return 0;
	}
	for (q = 0; q < b->nq; q++) {
		st = blk_simple(b, q, VIRTIO_BLK_T_FLUSH, 0, 0, NULL);
		if (st < 0)
			return st;
		if (st != VIRTIO_BLK_S_OK) {
			fsim_fail("FLUSH on queue %u: status %d", q, st);
			return -EIO;
		}
	}
	if (!b->quiet)
		fsim_say("flush", "ok on %u queue(s)", b->nq);
	return 0;
}

/* The image file, as the backend left it, against the driver's view. */
static int check_file(struct blk *b)
{
	uint64_t s, n, chunk = BLK_MAX_REQ / BLK_SECTOR;
	unsigned int mm0 = b->mismatches;
	char mib[32];
	ssize_t got;
	int fd;

	fd = open(b->o->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fsim_fail("open %s: %s", b->o->image, strerror(errno));
		return -errno;
	}
	b->sum_read = b->sum_expect = 0;
	for (s = 0; s < b->capacity; s += n) {
		n = b->capacity - s < chunk ? b->capacity - s : chunk;
		got = pread(fd, b->scratch, n * BLK_SECTOR, s * BLK_SECTOR);
		if (got != (ssize_t)(n * BLK_SECTOR)) {
			fsim_fail("read %s at %" PRIu64 ": %s", b->o->image, s * BLK_SECTOR,
				  got < 0 ? strerror(errno) : "short read");
			close(fd);
			return -EIO;
		}
		for (uint64_t i = 0; i < n; i++)
			check_sector(b, s + i, b->scratch + i * BLK_SECTOR, "image file");
		if (b->mismatches > mm0 + 5)
			break;
	}
	close(fd);
	if (b->mismatches > mm0)
		return -EIO;
	if (!b->quiet)
		fsim_say("image", "%s on disk matches (%s, checksum %016" PRIx64 ")",
			 b->o->image, fsim_mib(b->capacity * BLK_SECTOR, mib, sizeof(mib)),
			 b->sum_read);
	return 0;
}

int blk_quick_io(struct blk *b, uint64_t bytes)
{
	bool quiet = b->quiet;
	int ret;

	b->quiet = true;
	ret = phase_write(b, bytes, "write");
	if (!ret)
		ret = phase_read(b, 0, b->capacity, "read");
	b->quiet = quiet;
	return ret;
}

static int do_get_id(struct blk *b, bool verbose)
{
	struct blk_req *r = blk_slot(b, 0, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_ID_BYTES);
	uint8_t *id;
	unsigned int i;
	int st;

	st = blk_req_run(b, r);
	if (st < 0)
		return st;
	if (st != VIRTIO_BLK_S_OK) {
		fsim_fail("GET_ID: status %d", st);
		return -EIO;
	}
	id = fsim_gpa(b->vm, r->meta_gpa + BLK_META_ID, VIRTIO_BLK_ID_BYTES);
	for (i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++) {
		if (id[i] < 0x20 || id[i] > 0x7e) {
			fsim_fail("GET_ID: byte %u is 0x%02x, not printable", i, id[i]);
			return -EIO;
		}
		b->id[i] = (char)id[i];
	}
	b->id[i] = 0;
	for (; i < VIRTIO_BLK_ID_BYTES; i++) {
		if (id[i]) {
			fsim_fail("GET_ID: byte %u after the NUL is 0x%02x", i, id[i]);
			return -EIO;
		}
	}
	if (!b->id[0]) {
		fsim_fail("GET_ID: empty id");
		return -EIO;
	}
	if (verbose)
		fsim_say("get-id", "\"%s\" (%zu bytes, NUL padded)", b->id, strlen(b->id));
	return 0;
}

/* ---- scenarios ------------------------------------------------------------------- */

static void say_device(struct blk *b)
{
	char f[512], mib[32];

	fsim_say("device", "virtio-blk at 0x%" PRIx64 ", irq line %u, backend %s (pid %d)",
		 b->d->base, b->d->irq_line, b->vm->backend, (int)b->vm->pid);
	fsim_say("features", "%s", fsim_features_str(b->d, b->d->features, f, sizeof(f)));
	fsim_say("disk", "%s (%" PRIu64 " sectors), %u queue(s) x %u entries, "
		 "seg_max %u, size_max %u, blk_size %u%s",
		 fsim_mib(b->capacity * BLK_SECTOR, mib, sizeof(mib)), b->capacity, b->nq,
		 b->qsize, b->max_segs, b->seg_limit, b->blk_size,
		 feat(b, VIRTIO_BLK_F_RO) ? ", read-only" : "");
}

static int sc_integrity(struct blk *b)
{
	int ret;

	ret = do_get_id(b, true);
	if (ret)
		return ret;
	ret = phase_write(b, b->o->bytes, "write");
	if (!ret && b->o->verify)
		ret = phase_read(b, 0, b->capacity, "read");
	if (!ret)
		ret = phase_flush(b);
	if (!ret && b->o->verify)
		ret = check_file(b);
	return ret;
}

static int sc_get_id(struct blk *b)
{
	struct blk_req *r;
	uint8_t *id;
	unsigned int k;
	int st, ret;

	ret = do_get_id(b, true);
	if (ret)
		return ret;
	/* a buffer shorter than the id: the device must not write past it */
	r = blk_slot(b, 0, VIRTIO_BLK_T_GET_ID, 8);
	st = blk_req_run(b, r);
	if (st < 0)
		return st;
	id = fsim_gpa(b->vm, r->meta_gpa + BLK_META_ID, 8 + BLK_GUARD);
	for (k = 8; k < 8 + BLK_GUARD; k++)
		if (id[k] != BLK_GUARD_BYTE) {
			fsim_fail("GET_ID with an 8-byte buffer: the device wrote past it");
			return -EIO;
		}
	fsim_say("get-id", "8-byte buffer: status %d, nothing written past it", st);
	return blk_quick_io(b, 1 << 20);
}

/* Write a pattern over [0, span), discard parts of it, check the rules. */
static int sc_discard(struct blk *b)
{
	struct virtio_blk_discard_write_zeroes *seg;
	uint64_t span = 8192, start, n, i;
	uint32_t align, nseg;
	struct blk_req *r;
	int st, ret;

	if (!feat(b, VIRTIO_BLK_F_DISCARD) && !feat(b, VIRTIO_BLK_F_WRITE_ZEROES)) {
		fsim_say("discard", "neither DISCARD nor WRITE_ZEROES is offered");
		return -ENOTSUP;
	}
	if (span > b->capacity)
		span = b->capacity;
	/* a known pattern everywhere first */
	for (i = 0; i < span; i += 2048) {
		st = blk_simple(b, 0, VIRTIO_BLK_T_OUT, i, 2048, NULL);
		if (st) {
			fsim_fail("discard: preparing write: status %d", st);
			return -EIO;
		}
	}
	if (feat(b, VIRTIO_BLK_F_DISCARD)) {
		align = b->discard_align ? b->discard_align : 1;
		start = (1000 + align - 1) / align * align;
		n = 2048 / align * align;
		if (!n)
			n = align;
		if (b->max_discard_sectors && n > b->max_discard_sectors)
			n = b->max_discard_sectors / align * align;
		nseg = b->max_discard_seg >= 2 ? 2 : 1;
		r = blk_slot(b, 0, VIRTIO_BLK_T_DISCARD, nseg * sizeof(*seg));
		seg = fsim_gpa(b->vm, r->meta_gpa + BLK_META_SEGS, 2 * sizeof(*seg));
		seg[0] = (struct virtio_blk_discard_write_zeroes){ .sector = start,
								  .num_sectors = (uint32_t)n };
		seg[1] = (struct virtio_blk_discard_write_zeroes){ .sector = start + 2 * n,
								  .num_sectors = (uint32_t)n };
		st = blk_req_run(b, r);
		if (st != VIRTIO_BLK_S_OK) {
			fsim_fail("DISCARD of %u segment(s) of %" PRIu64 " sectors: status %d",
				  nseg, n, st);
			return -EIO;
		}
		for (i = 0; i < n; i++) {
			b->gen[start + i] |= GEN_OR_ZERO;
			if (nseg == 2)
				b->gen[start + 2 * n + i] |= GEN_OR_ZERO;
		}
		ret = phase_read(b, 0, span, "read");
		if (ret)
			return ret;
		fsim_say("discard", "%u segment(s) of %" PRIu64 " sectors: ok, reads give zeroes "
			 "or the old data, the rest is intact", nseg, n);
		/* a range past the end must fail */
		r = blk_slot(b, 0, VIRTIO_BLK_T_DISCARD, sizeof(*seg));
		seg = fsim_gpa(b->vm, r->meta_gpa + BLK_META_SEGS, sizeof(*seg));
		seg[0] = (struct virtio_blk_discard_write_zeroes){ .sector = b->capacity - 1,
								  .num_sectors = 16 };
		st = blk_req_run(b, r);
		if (st == VIRTIO_BLK_S_OK) {
			fsim_fail("DISCARD past the end of the disk succeeded");
			return -EIO;
		}
		fsim_say("discard", "range past the end of the disk: status %d (refused)", st);
	}
	if (feat(b, VIRTIO_BLK_F_WRITE_ZEROES)) {
		n = 1024;
		if (b->max_wz_sectors && n > b->max_wz_sectors)
			n = b->max_wz_sectors;
		start = 4000;
		r = blk_slot(b, 0, VIRTIO_BLK_T_WRITE_ZEROES, sizeof(*seg));
		seg = fsim_gpa(b->vm, r->meta_gpa + BLK_META_SEGS, sizeof(*seg));
		seg[0] = (struct virtio_blk_discard_write_zeroes){ .sector = start,
								  .num_sectors = (uint32_t)n };
		st = blk_req_run(b, r);
		if (st != VIRTIO_BLK_S_OK) {
			fsim_fail("WRITE_ZEROES of %" PRIu64 " sectors: status %d", n, st);
			return -EIO;
		}
		for (i = 0; i < n; i++)
			b->gen[start + i] = GEN_ZERO;
		ret = phase_read(b, 0, span, "read");
		if (ret)
			return ret;
		fsim_say("zeroes", "WRITE_ZEROES of %" PRIu64 " sectors: reads back zeroes", n);
	}
	ret = phase_flush(b);
	return ret ? ret : check_file(b);
}

static int sc_readonly(struct blk *b)
{
	struct blk_req *r;
	int st, ret;

	if (!feat(b, VIRTIO_BLK_F_RO)) {
		fsim_fail("readonly backend does not offer VIRTIO_BLK_F_RO");
		return -EIO;
	}
	ret = phase_read(b, 0, b->capacity, "read");
	if (ret)
		return ret;
	st = blk_simple(b, 0, VIRTIO_BLK_T_OUT, 10, 8, &r);
	if (st < 0)
		return st;
	if (st == VIRTIO_BLK_S_OK) {
		fsim_fail("a write to a read-only disk succeeded");
		return -EIO;
	}
	fsim_say("readonly", "write refused with status %d, the disk is unchanged", st);
	return check_file(b);
}

/* Submit writes on every queue and return without waiting for them. */
static int fill_queues(struct blk *b, bool kick_all)
{
	struct write_ctx c = { .left = UINT64_MAX };
	struct blk_req *r;
	unsigned int q, n = 0;
	int ret;

	for (q = 0; q < b->nq; q++) {
		while (ring_has_room(b, q) && (r = blk_free_slot(b, q))) {
			if (write_next(b, r, &c) <= 0)
				break;
			blk_prep(b, r);
			ret = blk_submit(b, r);
			if (ret)
				return ret;
			n++;
		}
		/* leave some queues with requests the device was not told about */
		if (kick_all || q % 2 == 0) {
			ret = fsim_vq_kick(&b->d->vqs[q], true);
			if (ret < 0)
				return ret;
		}
	}
	return (int)n;
}

/* A completion while the device goes away: success counts, failure is allowed. */
static int lenient_done(struct blk *b, struct blk_req *r, void *ctx)
{
	uint32_t i;

	(void)ctx;
	if (r->type == VIRTIO_BLK_T_OUT)
		for (i = 0; i < r->nsec; i++)
			b->gen[r->sector + i] = r->status == VIRTIO_BLK_S_OK ? r->gen : GEN_UNKNOWN;
	return 0;
}

/* After a reset or a dead backend: what completed counts, the rest is lost. */
static unsigned int drop_inflight(struct blk *b)
{
	unsigned int i, n = 0;
	uint32_t k;

	harvest(b, lenient_done, NULL);
	for (i = 0; i < b->nq * b->slots; i++) {
		struct blk_req *r = &b->reqs[i];

		if (!r->busy)
			continue;
		if (r->type == VIRTIO_BLK_T_OUT)
			for (k = 0; k < r->nsec; k++)
				b->gen[r->sector + k] = GEN_UNKNOWN;
		r->busy = false;
		n++;
	}
	for (i = 0; i < b->nq; i++)
		fsim_vq_forget(&b->d->vqs[i]);
	return n;
}

/* Nothing of the old rings may change once the reset has completed. */
static int check_quiet(struct blk *b, long ms)
{
	uint64_t before[FSIM_MAX_QUEUES], after;
	unsigned int q;
	long end = fsim_now_ms() + ms;

	for (q = 0; q < b->nq; q++) {
		struct fsim_vq *vq = &b->d->vqs[q];

		before[q] = fnv((uint8_t *)vq->used, 4 + 8ULL * vq->num);
	}
	while (fsim_now_ms() < end)
		fsim_vm_pump(b->vm, 20);
	for (q = 0; q < b->nq; q++) {
		struct fsim_vq *vq = &b->d->vqs[q];

		after = fnv((uint8_t *)vq->used, 4 + 8ULL * vq->num);
		if (after != before[q]) {
			fsim_fail("queue %u: the used ring changed %ld ms after the reset completed",
				  q, ms);
			return -EIO;
		}
	}
	return 0;
}

/*
 * Reset with requests queued (some not even notified): Status 0, or the
 * whole machine (VBACKEND_VMM_RESET). The rings must be quiet afterwards;
 * what had not completed is dropped. Return: the requests dropped, with
 * @queued the requests queued, or a negative errno.
 */
static int reset_queued(struct blk *b, bool vmm_reset, int *queued)
{
	struct vbackend_vmm_ctl ctl = { .argsz = sizeof(ctl) };
	long end;
	uint32_t st;
	int n, ret;

	n = fill_queues(b, false);
	if (n < 0)
		return n;
	*queued = n;
	if (vmm_reset) {
		/* the whole machine resets: the device must follow */
		if (ioctl(b->vm->fd, VBACKEND_VMM_RESET, &ctl)) {
			fsim_fail("VBACKEND_VMM_RESET: %s", strerror(errno));
			return -errno;
		}
		end = fsim_now_ms() + 10000;
		while ((st = fsim_dev_status(b->d)) != 0) {
			if (b->d->io_err || fsim_now_ms() > end) {
				fsim_fail("Status 0x%x (%s) 10 s after VBACKEND_VMM_RESET", st,
					  b->d->io_err ? strerror(-b->d->io_err) : "not reset");
				return -EIO;
			}
			fsim_sleep_ms(5);
		}
		b->d->status = 0;
	} else {
		ret = fsim_dev_reset(b->d, 10000);
		if (ret)
			return ret;
	}
	ret = check_quiet(b, 300);
	if (ret)
		return ret;
	return (int)drop_inflight(b);
}

/* New writes (a quarter of --bytes), the disk read back, a flush, the image file. */
static int verify_writes(struct blk *b)
{
	int ret = phase_write(b, b->o->bytes / 4 ? b->o->bytes / 4 : 1 << 20, "write");

	if (!ret)
		ret = phase_read(b, 0, b->capacity, "read");
	if (!ret)
		ret = phase_flush(b);
	if (!ret)
		ret = check_file(b);
	return ret;
}

static int sc_reset(struct blk *b, bool vmm_reset)
{
	int n, lost, ret;

	ret = phase_write(b, b->o->bytes / 4 ? b->o->bytes / 4 : 1 << 20, "write");
	if (ret)
		return ret;
	lost = reset_queued(b, vmm_reset, &n);
	if (lost < 0)
		return lost;
	fsim_say("reset", "%s with %d requests queued: Status reads 0, rings quiet; %d were "
		 "not completed", vmm_reset ? "VBACKEND_VMM_RESET" : "Status=0", n, lost);
	ret = blk_init(b);
	if (!ret)
		ret = verify_writes(b);
	if (!ret)
		fsim_say("reset", "re-initialised: I/O verified after the reset");
	return ret;
}

struct pending_access {
	struct fsim_vm *vm;
	uint64_t addr;
	int ret;
	volatile int done;
	long t_done;
};

static void *pending_thread(void *arg)
{
	struct pending_access *p = arg;
	uint64_t v;

	p->ret = fsim_access(p->vm, p->addr, 4, false, &v, NULL);
	p->t_done = fsim_now_ms();
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A new backend on the same VMM session, the device initialised again. */
static int restart_backend(struct blk *b)
{
	int ret;

	ret = fsim_backend_start(b->vm);
	if (!ret)
		ret = fsim_backend_wait_ready(b->vm, 30000);
	return ret ? ret : blk_init(b);
}

/*
 * After a backend change: the whole disk reads as it was, then new writes
 * read back (verify_writes()).
 */
static int verify_new_backend(struct blk *b)
{
	int ret = phase_read(b, 0, b->capacity, "read");

	return ret ? ret : verify_writes(b);
}

static int sc_kill(struct blk *b)
{
	struct pending_access p = { .vm = b->vm, .addr = b->d->base + VIRTIO_MMIO_STATUS };
	char buf[64];
	long t_kill, end;
	pthread_t t;
	uint64_t v;
	unsigned int lost;
	int n, ret;

	ret = phase_write(b, b->o->bytes / 4 ? b->o->bytes / 4 : 1 << 20, "write");
	if (!ret)
		ret = phase_flush(b);
	if (ret)
		return ret;
	/* freeze the backend: the requests and one register access are surely
	 * pending when it dies */
	fsim_backend_signal(b->vm, SIGSTOP);
	fsim_sleep_ms(100);
	n = fill_queues(b, true);
	if (n < 0)
		return n;
	if (pthread_create(&t, NULL, pending_thread, &p))
		return -EAGAIN;
	fsim_sleep_ms(300);
	if (__atomic_load_n(&p.done, __ATOMIC_ACQUIRE)) {
		fsim_fail("a register read completed while the backend was stopped (%s)",
			  strerror(-p.ret));
		pthread_join(t, NULL);
		return -EIO;
	}
	fsim_backend_signal(b->vm, SIGKILL);
	t_kill = fsim_now_ms();
	end = t_kill + 10000;
	while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) && fsim_now_ms() < end)
		fsim_sleep_ms(5);
	if (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE)) {
		fsim_fail("the pending VMM_ACCESS still waits 10 s after SIGKILL of the backend");
		return -ETIMEDOUT;	/* the thread keeps waiting: the watchdog ends it */
	}
	pthread_join(t, NULL);
	if (p.ret != -EPIPE) {
		fsim_fail("pending VMM_ACCESS after SIGKILL: %s, expected EPIPE",
			  p.ret ? strerror(-p.ret) : "success");
		return -EIO;
	}
	fsim_say("kill", "SIGKILL with %d requests in flight: the pending register read "
		 "failed with EPIPE after %ld ms", n, p.t_done - t_kill);
	ret = fsim_dev_wait_irq(b->d, 10000);
	if (ret != -EPIPE) {
		fsim_fail("waiting for an interrupt after SIGKILL: %s, expected PEER_GONE",
			  ret < 0 ? strerror(-ret) : "an interrupt");
		return -EIO;
	}
	ret = fsim_access(b->vm, p.addr, 4, false, &v, NULL);
	if (ret != -ENOTCONN && ret != -EPIPE) {
		fsim_fail("register read with no backend: %s, expected ENOTCONN",
			  ret ? strerror(-ret) : "success");
		return -EIO;
	}
	if (fsim_backend_wait_exit(b->vm, 5000)) {
		fsim_fail("SIGKILLed backend not reaped in 5 s");
		return -ETIMEDOUT;
	}
	fsim_say("kill", "PEER_GONE received, new accesses fail with %s, backend %s",
		 strerror(-ret), fsim_wait_str(b->vm->exit_status, buf, sizeof(buf)));
	lost = drop_inflight(b);
	ret = restart_backend(b);
	if (ret)
		return ret;
	fsim_say("restart", "new backend pid %d bound to the same VMM session; %u requests "
		 "were lost with the old one", (int)b->vm->pid, lost);
	return verify_new_backend(b);
}

/* A completion across a resume: each must succeed. */
static int resume_done(struct blk *b, struct blk_req *r, void *ctx)
{
	unsigned int *n = ctx;

	if (r->status != VIRTIO_BLK_S_OK) {
		fsim_fail("request type %u sector %" PRIu64 " failed across the resume "
			  "(status %u)", r->type, r->sector, r->status);
		return -EIO;
	}
	(*n)++;
	return lenient_done(b, r, NULL);
}

/*
 * The backend replaced under a live frontend, without a reset, the way
 * vhost-user does it: with requests queued (some queues not even kicked),
 * each queue is stopped with QueueReady=0, which drains (what the device
 * took is used), and its base read (VB_VMM_QUEUE_BASE); the backend exits
 * on SIGTERM and a new one starts on the same VMM session; the device is
 * set up again around the very same rings, each queue resumed at its base,
 * where the requests the old one never took wait. Each request completes
 * exactly once and the disk reads back as written.
 */
static int sc_resume(struct blk *b)
{
	uint16_t base[FSIM_MAX_QUEUES];
	unsigned int q, used = 0, waiting = 0, after = 0;
	int n, ret;

	if (!fsim_vm_has_vmm_space(b->vm)) {
		fsim_say("resume", "SKIP: the VMM-fed provider has no VBACKEND_SPACE_VMM");
		return -ENOTSUP;
	}
	ret = phase_write(b, b->o->bytes / 4 ? b->o->bytes / 4 : 1 << 20, "write");
	if (!ret)
		ret = phase_flush(b);
	if (ret)
		return ret;
	n = fill_queues(b, false);
	if (n < 0)
		return n;
	for (q = 0; q < b->nq; q++) {
		struct fsim_vq *vq = &b->d->vqs[q];
		uint16_t used_idx;

		ret = fsim_vq_stop(vq, &base[q]);
		if (ret)
			return ret;
		used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
		if (used_idx != base[q] || (uint16_t)(vq->avail_idx - base[q]) > vq->num) {
			fsim_fail("queue %u stopped at %u, but its used index is %u and its "
				  "avail index %u: not drained", q, base[q], used_idx,
				  vq->avail_idx);
			return -EIO;
		}
		waiting += (uint16_t)(vq->avail_idx - base[q]);
	}
	ret = harvest(b, resume_done, &used);
	if (ret < 0)
		return ret;
	if (used + waiting != (unsigned int)n) {
		fsim_fail("%d requests queued: %u used by the old backend, %u waiting in the "
			  "rings", n, used, waiting);
		return -EIO;
	}
	fsim_backend_signal(b->vm, SIGTERM);
	ret = fsim_backend_expect_exit(b->vm, 20000, "SIGTERM with its queues stopped");
	if (!ret)
		ret = fsim_backend_start(b->vm);
	if (!ret)
		ret = fsim_backend_wait_ready(b->vm, 30000);
	/* the new device afresh, our rings as they are */
	if (!ret)
		ret = fsim_dev_probe(b->d);
	if (!ret)
		ret = fsim_dev_negotiate(b->d, b->d->features);
	for (q = 0; !ret && q < b->nq; q++)
		ret = fsim_vq_resume(&b->d->vqs[q], base[q]);
	if (!ret)
		ret = fsim_dev_driver_ok(b->d);
	for (q = 0; !ret && q < b->nq; q++)
		ret = fsim_vq_kick(&b->d->vqs[q], true) < 0 ? -EIO : 0;
	if (!ret)
		ret = blk_run(b, NULL, resume_done, &after);
	if (ret)
		return ret;
	if (after != waiting) {
		fsim_fail("%u requests waited in the rings, the new backend completed %u",
			  waiting, after);
		return -EIO;
	}
	fsim_say("resume", "%d requests queued: %u used before the stop, %u taken by the new "
		 "backend (pid %d) where the old one stopped, each once", n, used, after,
		 (int)b->vm->pid);
	return verify_new_backend(b);
}

static int sc_sigterm_busy(struct blk *b, bool *stopped)
{
	uint64_t v;
	int n, ret, done;

	ret = phase_write(b, 4 << 20, "write");
	if (ret)
		return ret;
	n = fill_queues(b, true);
	if (n < 0)
		return n;
	fsim_backend_signal(b->vm, SIGTERM);
	*stopped = true;
	ret = fsim_backend_expect_exit(b->vm, 20000, "SIGTERM with requests in flight");
	if (ret)
		return ret;
	done = harvest(b, lenient_done, NULL);
	if (done < 0)
		return done;
	ret = fsim_access(b->vm, b->d->base, 4, false, &v, NULL);
	if (ret != -ENOTCONN) {
		fsim_fail("register read after the backend exited: %s, expected ENOTCONN",
			  ret ? strerror(-ret) : "success");
		return -EIO;
	}
	fsim_say("sigterm", "%d requests in flight: exit status 0, %d completed before "
		 "the exit (verified), registers now ENOTCONN", n, done);
	drop_inflight(b);
	return 0;
}

static int sc_frontend_gone(struct blk *b, bool *stopped)
{
	char buf[256];
	int ret;

	ret = blk_quick_io(b, 2 << 20);
	if (ret)
		return ret;
	/* the VM dies: the backend must notice and leave */
	close(b->vm->fd);
	b->vm->fd = -1;
	*stopped = true;
	/* a backend that keeps its inherited VMM descriptor never sees this */
	ret = fsim_backend_expect_exit(b->vm, 15000, "its frontend went away");
	if (ret)
		return ret;
	fsim_say("gone", "VMM session closed: the backend exited by itself (%s)",
		 fsim_wait_str(b->vm->exit_status, buf, sizeof(buf)));
	return 0;
}

/* Parse a status line: is there a request count above zero? */
static bool status_has_requests(const char *line)
{
	const char *p = line;

	while ((p = strstr(p, "req"))) {
		const char *q = p;

		while (*q && *q != '=' && *q != ':' && *q != ' ')
			q++;
		while (*q == '=' || *q == ':' || *q == ' ')
			q++;
		if (*q >= '1' && *q <= '9')
			return true;
		p += 3;
	}
	return false;
}

static int sc_status(struct blk *b)
{
	char line[1024];
	int ret;

	ret = blk_quick_io(b, 4 << 20);
	if (ret)
		return ret;
	ret = fsim_backend_status(b->vm, line, sizeof(line), 10000);
	if (ret) {
		fsim_fail("no status line within 10 s of SIGUSR1: %s", strerror(-ret));
		return ret;
	}
	fsim_say("status", "%s", line);
	if (!status_has_requests(line)) {
		fsim_fail("the SIGUSR1 status line has no request count above 0");
		return -EIO;
	}
	if (!fsim_backend_alive(b->vm)) {
		fsim_fail("the backend exited after SIGUSR1");
		return -ESRCH;
	}
	return blk_quick_io(b, 1 << 20);
}

/* SIGKILL of the backend with requests in flight (served or about to be),
 * then a new backend on the same session. Return: requests lost, or a
 * negative errno. */
static int kill_mid_io(struct blk *b)
{
	long end;
	int n, lost;

	n = fill_queues(b, true);
	if (n < 0)
		return n;
	/* let it get going: some requests done, some being served */
	end = fsim_now_ms() + (long)fsim_rand(&b->rnd, 30);
	while (fsim_now_ms() < end)
		fsim_vm_pump(b->vm, 5);
	fsim_backend_signal(b->vm, SIGKILL);
	if (fsim_backend_wait_exit(b->vm, 10000)) {
		fsim_fail("SIGKILLed backend not reaped in 10 s");
		return -ETIMEDOUT;
	}
	end = fsim_now_ms() + 10000;
	while (!b->vm->peer_gone) {
		if (fsim_now_ms() > end) {
			fsim_fail("no VBACKEND_EVENT_PEER_GONE 10 s after the backend was killed");
			return -ETIMEDOUT;
		}
		fsim_vm_pump(b->vm, 20);
	}
	lost = (int)drop_inflight(b);
	n = restart_backend(b);
	return n ? n : lost;
}

/* Add the kick-churn=N counts of the backend's status line to @cycles. */
static int churn_count(struct blk *b, uint64_t *cycles)
{
	char line[1024];
	const char *p;
	int ret;

	if (!b->o->kick_churn_ms)
		return 0;
	ret = fsim_backend_status(b->vm, line, sizeof(line), 10000);
	if (ret) {
		fsim_fail("no status line within 10 s of SIGUSR1: %s", strerror(-ret));
		return ret;
	}
	for (p = line; (p = strstr(p, "kick-churn=")); p++)
		*cycles += strtoull(p + strlen("kick-churn="), NULL, 10);
	return 0;
}

/*
 * soak: --rounds rounds; each writes --bytes at random offsets and ends
 * with an event, in turn none, SIGKILL of the backend mid-I/O and a new
 * backend on the same session, a reset with requests queued (Status 0,
 * VBACKEND_VMM_RESET the next time); then the whole disk is read back and
 * verified. A FLUSH and the image file checked at the end. One "soak:"
 * line sums it up for tools/testing/soak, whatever the outcome.
 */
static int sc_soak(struct blk *b)
{
	static const char *const events[] = { "no event", "backend killed", "reset" };
	unsigned int round, done = 0, kills = 0, resets = 0;
	uint64_t churn = 0, trapped, lost_total = 0;
	struct fsim_vq_stats t;
	int ret = 0, n = 0, lost = 0;

	b->quiet = true;
	for (round = 0; round < b->o->rounds && !ret; round++) {
		ret = phase_write(b, b->o->bytes, "write");
		if (!ret && round % 3 == 1) {
			ret = churn_count(b, &churn);
			if (!ret) {
				lost = kill_mid_io(b);
				kills++;
			}
		} else if (!ret && round % 3 == 2) {
			lost = reset_queued(b, resets % 2, &n);
			if (lost >= 0)
				ret = blk_init(b);
			resets++;
		}
		if (!ret && lost < 0)
			ret = lost;
		if (!ret)
			ret = phase_read(b, 0, b->capacity, "read");
		if (!ret) {
			done++;
			fsim_say("round", "%u: %s%s, %d requests lost; disk verified", round,
				 events[round % 3],
				 round % 3 == 2 ? (resets % 2 ? " (Status 0)" : " (VMM)") : "",
				 round % 3 ? lost : 0);
		}
		if (lost > 0)
			lost_total += (uint64_t)lost;
		lost = 0;
	}
	if (!ret)
		ret = phase_flush(b);
	if (!ret)
		ret = check_file(b);
	if (!ret)
		ret = churn_count(b, &churn);
	fsim_dev_vq_totals(b->d, &t);
	trapped = t.kicks_trapped;
	fsim_say("soak", "%u rounds, %" PRIu64 " bytes verified, %u backend kills, "
		 "%u frontend resets, %" PRIu64 " requests lost in them, %" PRIu64
		 " kick churn cycles, %" PRIu64 " notifications trapped", done,
		 b->sectors_checked * BLK_SECTOR, kills, resets, lost_total, churn, trapped);
	return ret;
}

/* ---- main ---------------------------------------------------------------------- */

static int make_image(const struct fsim_blk_opts *o, struct blk *b)
{
	int fd = open(o->image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	uint64_t i;

	if (fd < 0) {
		fsim_fail("create %s: %s", o->image, strerror(errno));
		return -errno;
	}
	if (ftruncate(fd, o->size)) {
		fsim_fail("truncate %s to %" PRIu64 " bytes: %s", o->image, o->size,
			  strerror(errno));
		close(fd);
		return -errno;
	}
	if (o->readonly) {
		/* something to read back: generation 1 over the first MiB */
		for (i = 0; i < 2048 && i < o->size / BLK_SECTOR; i++) {
			pattern(b, i, 1, b->expect);
			if (pwrite(fd, b->expect, BLK_SECTOR, i * BLK_SECTOR) != BLK_SECTOR) {
				fsim_fail("write %s: %s", o->image, strerror(errno));
				close(fd);
				return -EIO;
			}
			b->gen[i] = 1;
		}
		b->next_gen = 1;
	}
	close(fd);
	return 0;
}

int fsim_blk_main(struct fsim_vm *vm, const struct fsim_blk_opts *o)
{
	struct blk b = { .vm = vm, .o = o, .image_fd = -1 };
	const char *sc = o->scenario ? o->scenario : "integrity";
	char extra[384], line[1024], mib[32];
	struct fsim_dev *rng = NULL;
	bool stopped = false, skip;
	long t0 = fsim_now_ms();
	uint64_t seed = o->seed;
	int ret;

	b.rnd = fsim_splitmix(&seed);
	b.pat_seed = fsim_splitmix(&seed);
	b.wait_ms = 20000;
	b.gen = calloc(o->size / BLK_SECTOR + 1, sizeof(*b.gen));
	b.scratch = malloc(BLK_MAX_REQ + BLK_BUF_SLACK);
	b.expect = malloc(BLK_MAX_REQ + BLK_BUF_SLACK);
	if (!b.gen || !b.scratch || !b.expect)
		return -ENOMEM;
	ret = make_image(o, &b);
	if (ret)
		goto out;

	snprintf(extra, sizeof(extra), ",image=%s,queues=%u", o->image, o->queues);
	if (o->readonly)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",readonly");
	if (o->kick_churn_ms)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",kick-churn=%u",
			 o->kick_churn_ms);
	b.d = fsim_dev_add(vm, "blk", VIRTIO_ID_BLOCK, BLK_MMIO, BLK_IRQ, extra);
	if (o->with_rng)
		rng = fsim_dev_add(vm, "rng", VIRTIO_ID_RNG, RNG_MMIO, RNG_IRQ, "");
	if (!b.d || (o->with_rng && !rng)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fsim_backend_start(vm);
	if (!ret)
		ret = fsim_backend_wait_ready(vm, 30000);
	if (ret)
		goto out;
	ret = blk_init(&b);
	if (ret)
		goto out;
	say_device(&b);
	if (rng) {
		struct fsim_rng_opts ro = {
			.bytes = 256 << 10, .indirect = o->indirect, .event_idx = o->event_idx,
			.seed = o->seed,
		};

		/* the second device of the same backend process */
		ret = fsim_rng_check(vm, rng, &ro, false);
		if (ret)
			goto out;
	}

	if (o->hostile) {
		ret = blk_hostile(&b, o->hostile);
	} else if (!strcmp(sc, "integrity")) {
		ret = sc_integrity(&b);
	} else if (!strcmp(sc, "get-id")) {
		ret = sc_get_id(&b);
	} else if (!strcmp(sc, "discard")) {
		ret = sc_discard(&b);
	} else if (!strcmp(sc, "readonly")) {
		ret = sc_readonly(&b);
	} else if (!strcmp(sc, "reset")) {
		ret = sc_reset(&b, false);
	} else if (!strcmp(sc, "vmm-reset")) {
		ret = sc_reset(&b, true);
	} else if (!strcmp(sc, "kill")) {
		ret = sc_kill(&b);
	} else if (!strcmp(sc, "resume")) {
		ret = sc_resume(&b);
	} else if (!strcmp(sc, "sigterm-busy")) {
		ret = sc_sigterm_busy(&b, &stopped);
	} else if (!strcmp(sc, "frontend-gone")) {
		ret = sc_frontend_gone(&b, &stopped);
	} else if (!strcmp(sc, "status")) {
		ret = sc_status(&b);
	} else if (!strcmp(sc, "soak")) {
		ret = sc_soak(&b);
	} else {
		fsim_fail("unknown scenario '%s'", sc);
		ret = -EINVAL;
	}
	skip = ret == -ENOTSUP && !fsim_failures();
	if (skip)
		ret = 0;

	if (!stopped && fsim_backend_alive(vm)) {
		uint32_t st = fsim_dev_status(b.d);

		if (!ret && (st & VIRTIO_CONFIG_S_NEEDS_RESET) && !o->hostile) {
			fsim_fail("device reports DEVICE_NEEDS_RESET (Status 0x%x) at the end", st);
			ret = -EIO;
		}
		if (strcmp(sc, "status") && !fsim_backend_status(vm, line, sizeof(line), 5000))
			fsim_say("backend", "%s", line);
		if (fsim_backend_stop(vm, 20000) && !ret)
			ret = -EIO;
		stopped = true;
	}
	if (!ret && !stopped && !blk_backend_ok(&b))
		ret = -EIO;
	if (!ret && skip)
		ret = -ENOTSUP;
	if (!ret) {
		long ms = fsim_now_ms() - t0;
		struct fsim_vq_stats t;

		fsim_dev_vq_totals(b.d, &t);
		fsim_say("rings", "%" PRIu64 " chains (%" PRIu64 " indirect), %" PRIu64
			 " notifications (%" PRIu64 " as kicks), %" PRIu64 " left out by %s, "
			 "%" PRIu64 " interrupts, %" PRIu64 " register accesses",
			 t.added, t.indirect, t.kicks + t.kicks_trapped, t.kicks,
			 t.kicks_suppressed,
			 feat(&b, VIRTIO_RING_F_EVENT_IDX) ? "EVENT_IDX" : "NO_NOTIFY",
			 b.d->st.irqs, vm->st.accesses);
		fsim_say("vmm-fds", "%" PRIu64 " kicks into our eventfds, %" PRIu64
			 " interrupts out of them, %" PRIu64 " attached; %" PRIu64
			 " interrupts of one queue",
			 vm->st.fd_kicks, vm->st.fd_irqs, vm->st.attaches,
			 vm->st.queue_irqs);
		fsim_say("total", "%" PRIu64 " requests, %s moved in %.2f s: %.1f MiB/s",
			 b.nreq, fsim_mib(b.bytes_in + b.bytes_out, mib, sizeof(mib)),
			 ms / 1000.0, (b.bytes_in + b.bytes_out) / 1048576.0 / (ms ? ms / 1000.0 : 1));
	}
out:
	if (ret && ret != -ENOTSUP && vm->logfd >= 0 && fsim_backend_log_size(vm))
		fsim_backend_log_dump(vm, 30);
	blk_release_slots(&b);
	free(b.gen);
	free(b.scratch);
	free(b.expect);
	return ret;
}
