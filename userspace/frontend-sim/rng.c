// SPDX-License-Identifier: Apache-2.0
/*
 * frontend-sim: a virtio-rng driver. Device-writable buffers of mixed sizes
 * go in; what comes back must fit the buffer (nothing written past it, used
 * length within it) and, all together, not look constant.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "fsim.h"

#define RNG_MMIO	0x0a001000ULL
#define RNG_IRQ		6
#define RNG_SLOTS	16
#define RNG_BUF		4096u
#define RNG_GUARD	16u
#define RNG_GUARD_BYTE	0xa5

struct rng_slot {
	uint64_t gpa;
	uint32_t len;
	bool busy;
};

int fsim_rng_check(struct fsim_vm *vm, struct fsim_dev *d,
		   const struct fsim_rng_opts *o, bool quiet)
{
	uint64_t wanted = 1ULL << VIRTIO_F_VERSION_1, got = 0, reqs = 0, zero_len = 0;
	uint64_t rnd = o->seed ^ 0x726e67, hist[256] = { 0 }, ram;
	struct rng_slot slot[RNG_SLOTS];
	struct fsim_vq *vq;
	unsigned int i, distinct = 0;
	long t0, ms;
	char f[256], mib[32];
	int ret;

	if (o->indirect)
		wanted |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (o->event_idx)
		wanted |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	ret = fsim_dev_probe(d);
	if (!ret)
		ret = fsim_dev_negotiate(d, wanted);
	if (!ret)
		ret = fsim_dev_setup_queue(d, 0, 64);
	if (!ret)
		ret = fsim_dev_driver_ok(d);
	if (ret)
		return ret;
	vq = &d->vqs[0];
	ram = fsim_ram_alloc(vm, RNG_SLOTS * (RNG_BUF + RNG_GUARD));
	if (!ram)
		return -ENOMEM;
	for (i = 0; i < RNG_SLOTS; i++)
		slot[i] = (struct rng_slot){ ram + i * (RNG_BUF + RNG_GUARD), 0, false };
	if (!quiet) {
		fsim_say("device", "virtio-rng at 0x%" PRIx64 ", irq line %u, backend %s (pid %d)",
			 d->base, d->irq_line, vm->backend, (int)vm->pid);
		fsim_say("features", "%s", fsim_features_str(d, d->features, f, sizeof(f)));
	}

	t0 = fsim_now_ms();
	for (;;) {
		bool added = false;
		unsigned int busy = 0, harvested = 0;
		struct rng_slot *s;
		uint32_t len;
		void *tok;

		for (i = 0; i < RNG_SLOTS && got < o->bytes; i++) {
			struct fsim_sg sg;
			uint8_t *p;

			if (slot[i].busy || !vq->num_free)
				continue;
			slot[i].len = 1 + (uint32_t)fsim_rand(&rnd, RNG_BUF);
			p = fsim_gpa(vm, slot[i].gpa, slot[i].len + RNG_GUARD);
			memset(p, 0, slot[i].len);
			memset(p + slot[i].len, RNG_GUARD_BYTE, RNG_GUARD);
			sg = (struct fsim_sg){ slot[i].gpa, slot[i].len, true };
			ret = fsim_vq_add(vq, &sg, 1, &slot[i], FSIM_ADD_DIRECT);
			if (ret < 0) {
				fsim_fail("rng: adding a buffer: %s", strerror(-ret));
				goto out;
			}
			slot[i].busy = true;
			added = true;
			reqs++;
		}
		if (added) {
			ret = fsim_vq_kick(vq, false);
			if (ret < 0) {
				fsim_fail("rng: notify: %s", strerror(-ret));
				goto out;
			}
		}
		for (i = 0; i < RNG_SLOTS; i++)
			busy += slot[i].busy;
		if (!busy)
			break;
		while ((ret = fsim_vq_get(vq, &tok, &len)) > 0) {
			uint8_t *p;

			s = tok;
			s->busy = false;
			p = fsim_gpa(vm, s->gpa, s->len + RNG_GUARD);
			if (len > s->len) {
				fsim_fail("rng: used length %u for a %u-byte buffer", len, s->len);
				ret = -EPROTO;
				goto out;
			}
			for (i = 0; i < RNG_GUARD; i++)
				if (p[s->len + i] != RNG_GUARD_BYTE) {
					fsim_fail("rng: the device wrote past a %u-byte buffer", s->len);
					ret = -EPROTO;
					goto out;
				}
			if (!len && ++zero_len > 1000) {
				fsim_fail("rng: 1000 buffers came back empty");
				ret = -EIO;
				goto out;
			}
			for (i = 0; i < len; i++)
				hist[p[i]]++;
			got += len;
			harvested++;
		}
		if (ret < 0)
			goto out;
		if (harvested)
			continue;	/* refill first */
		if (!fsim_vq_enable_cb(vq))
			continue;
		ret = fsim_dev_wait_irq(d, 20000);
		if (ret < 0) {
			if (ret == -ETIMEDOUT &&
			    __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) != vq->last_used)
				fsim_fail("rng: used ring advanced but no interrupt came (lost interrupt)");
			else
				fsim_fail("rng: waiting for entropy: %s", strerror(-ret));
			goto out;
		}
	}
	ms = fsim_now_ms() - t0;
	for (i = 0; i < 256; i++)
		distinct += hist[i] != 0;
	if (got && hist[0] == got) {
		fsim_fail("rng: %" PRIu64 " bytes, all zero", got);
		ret = -EIO;
		goto out;
	}
	/* a weak sanity check, not a randomness test: many values occur */
	if (got >= 65536 && distinct < 250) {
		fsim_fail("rng: only %u distinct byte values in %" PRIu64 " bytes", distinct, got);
		ret = -EIO;
		goto out;
	}
	fsim_say("rng", "%" PRIu64 " requests, %s of entropy in %.2f s, %u distinct byte "
		 "values, not all zero", reqs, fsim_mib(got, mib, sizeof(mib)), ms / 1000.0,
		 distinct);
	ret = 0;
out:
	fsim_ram_free(vm, ram, RNG_SLOTS * (RNG_BUF + RNG_GUARD));
	return ret;
}

int fsim_rng_main(struct fsim_vm *vm, const struct fsim_rng_opts *o)
{
	struct fsim_dev *d = fsim_dev_add(vm, "rng", VIRTIO_ID_RNG, RNG_MMIO, RNG_IRQ, "");
	char line[1024];
	int ret;

	if (!d)
		return -ENOMEM;
	ret = fsim_backend_start(vm);
	if (!ret)
		ret = fsim_backend_wait_ready(vm, 30000);
	if (!ret)
		ret = fsim_rng_check(vm, d, o, false);
	if (!ret) {
		uint32_t st = fsim_dev_status(d);

		if (st & VIRTIO_CONFIG_S_NEEDS_RESET) {
			fsim_fail("rng: DEVICE_NEEDS_RESET (Status 0x%x) at the end", st);
			ret = -EIO;
		}
	}
	if (fsim_backend_alive(vm)) {
		if (!fsim_backend_status(vm, line, sizeof(line), 5000))
			fsim_say("backend", "%s", line);
		if (fsim_backend_stop(vm, 20000) && !ret)
			ret = -EIO;
	}
	if (ret && vm->logfd >= 0 && fsim_backend_log_size(vm))
		fsim_backend_log_dump(vm, 30);
	return ret;
}
