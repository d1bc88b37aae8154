// SPDX-License-Identifier: Apache-2.0
/*
 * The fake frontend of the host tests (see guest.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

static int tm_start(struct vb_virtio_dev *d)
{
	struct tguest *g = vb_virtio_opaque(d);

	g->m.starts++;
	return g->m.start_ret;
}

static void tm_reset(struct vb_virtio_dev *d)
{
	struct tguest *g = vb_virtio_opaque(d);

	g->m.resets++;
}

static void tm_kick(struct vb_virtio_dev *d, struct vb_vq *vq)
{
	struct tguest *g = vb_virtio_opaque(d);

	g->m.kicks[vb_vq_index(vq)]++;
}

static void tm_config_write(struct vb_virtio_dev *d, uint32_t off,
			    const void *buf, uint32_t len)
{
	struct tguest *g = vb_virtio_opaque(d);

	g->m.config_writes++;
	g->m.cfg_off = off;
	g->m.cfg_len = len;
	memcpy(g->m.cfg_buf, buf, len);
}

static const struct vb_virtio_ops tm_ops = {
	.device_id = VIRTIO_ID_RNG,
	.features = G_FEATURE_DEV,
	.num_queues = G_NUM_QUEUES,
	.queue_num_max = G_QMAX,
	.config_size = G_CONFIG_SIZE,
	.config_write = tm_config_write,
	.start = tm_start,
	.reset = tm_reset,
	.queue_kick = tm_kick,
};

int tg_init(struct tguest *g)
{
	struct vb_virtio_params p = {
		.mmio_base = G_MMIO_BASE,
		.irq_type = VBACKEND_IRQ_TARGET_LINE,
		.irq_target = { 5, 0 },
	};
	unsigned int i;
	int ret;

	memset(g, 0, sizeof(*g));
	g->ram = aligned_alloc(4096, G_RAM_SIZE);
	g->ro = aligned_alloc(4096, G_RO_SIZE);
	g->s = vb_session_fake(-1);
	if (!g->ram || !g->ro || !g->s)
		return -ENOMEM;
	memset(g->ram, 0, G_RAM_SIZE);
	memset(g->ro, 0, G_RO_SIZE);
	ret = vb_session_fake_window(g->s, G_RAM_GPA, g->ram, G_RAM_SIZE, true);
	if (!ret)
		ret = vb_session_fake_window(g->s, G_RO_GPA, g->ro, G_RO_SIZE, false);
	if (ret)
		return ret;
	for (i = 0; i < G_CONFIG_SIZE; i++)
		g->config[i] = (uint8_t)(0x10 + i);
	g->heap = G_RAM_GPA + G_HEAP_OFF;
	return vb_virtio_create(g->s, &p, &tm_ops, g->config, g, &g->d);
}

void tg_fini(struct tguest *g)
{
	vb_virtio_destroy(g->d);
	vb_session_close(g->s);
	free(g->ram);
	free(g->ro);
}

uint32_t tg_rd(struct tguest *g, uint32_t off)
{
	return (uint32_t)vb_mmio_access(g->d, off, 4, false, 0);
}

void tg_wr(struct tguest *g, uint32_t off, uint32_t val)
{
	vb_mmio_access(g->d, off, 4, true, val);
}

uint64_t tg_rd_cfg(struct tguest *g, uint32_t off, uint32_t size)
{
	return vb_mmio_access(g->d, VIRTIO_MMIO_CONFIG + off, size, false, 0);
}

void tg_wr_cfg(struct tguest *g, uint32_t off, uint32_t size, uint64_t val)
{
	vb_mmio_access(g->d, VIRTIO_MMIO_CONFIG + off, size, true, val);
}

uint32_t tg_negotiate(struct tguest *g, uint64_t features)
{
	tg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	tg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	      VIRTIO_CONFIG_S_DRIVER);
	tg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	tg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	tg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	tg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	      VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return tg_rd(g, VIRTIO_MMIO_STATUS);
}

void tg_queue_regs(struct tguest *g, unsigned int q, uint16_t num,
		   uint64_t desc, uint64_t avail, uint64_t used)
{
	tg_wr(g, VIRTIO_MMIO_QUEUE_SEL, q);
	tg_wr(g, VIRTIO_MMIO_QUEUE_NUM, num);
	tg_wr(g, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	tg_wr(g, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	tg_wr(g, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	tg_wr(g, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	tg_wr(g, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	tg_wr(g, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
}

void tg_setup_queue(struct tguest *g, unsigned int q, uint16_t num)
{
	uint64_t base = G_RAM_GPA + q * 0x4000ULL;

	memset(g->ram + q * 0x4000, 0, 0x4000);
	tg_queue_regs(g, q, num, base + G_DESC_OFF, base + G_AVAIL_OFF,
		      base + G_USED_OFF);
	tg_wr(g, VIRTIO_MMIO_QUEUE_READY, 1);
	if (q == 0) {
		g->num = num;
		g->desc = tg_ptr(g, base + G_DESC_OFF);
		g->avail = tg_ptr(g, base + G_AVAIL_OFF);
		g->used = tg_ptr(g, base + G_USED_OFF);
		g->avail_idx = 0;
	}
}

int tg_start(struct tguest *g, uint64_t features, uint16_t num)
{
	int ret = tg_init(g);

	if (ret)
		return ret;
	if (!(tg_negotiate(g, features) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EINVAL;
	tg_setup_queue(g, 0, num);
	tg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	      VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
	      VIRTIO_CONFIG_S_DRIVER_OK);
	return tg_broken(g) ? -EIO : 0;
}

uint64_t tg_alloc(struct tguest *g, uint32_t size)
{
	uint64_t gpa = g->heap;

	g->heap += (size + 15) & ~15u;
	return gpa;
}

void *tg_ptr(struct tguest *g, uint64_t gpa)
{
	return g->ram + (gpa - G_RAM_GPA);
}

void tg_desc(struct tguest *g, uint16_t i, uint64_t addr, uint32_t len,
	     uint16_t flags, uint16_t next)
{
	g->desc[i].addr = addr;
	g->desc[i].len = len;
	g->desc[i].flags = flags;
	g->desc[i].next = next;
}

void tg_publish(struct tguest *g, uint16_t head)
{
	g->avail->ring[g->avail_idx % g->num] = head;
	__atomic_store_n(&g->avail->idx, ++g->avail_idx, __ATOMIC_RELEASE);
}

uint64_t tg_irqs(struct tguest *g)
{
	uint64_t n;

	if (read(g->d->irq_fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

struct vb_vq *tg_vq(struct tguest *g)
{
	return vb_virtio_queue(g->d, 0);
}

bool tg_broken(struct tguest *g)
{
	return tg_rd(g, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

uint16_t tg_used_idx(struct tguest *g)
{
	return __atomic_load_n(&g->used->idx, __ATOMIC_ACQUIRE);
}

uint16_t *tg_used_event(struct tguest *g)
{
	return (uint16_t *)((uint8_t *)g->avail + 4 + 2 * g->num);
}

uint16_t *tg_avail_event(struct tguest *g)
{
	return (uint16_t *)((uint8_t *)g->used + 4 + 8 * g->num);
}
