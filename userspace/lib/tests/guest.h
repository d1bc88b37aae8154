/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake frontend for the host tests: malloc'ed guest RAM behind a fake
 * session, a virtio device on it, and the driver side of a split ring
 * written by hand (so that the tests can also write what no correct driver
 * would).
 */
#ifndef VB_TEST_GUEST_H
#define VB_TEST_GUEST_H

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "vb_internal.h"

#define G_RAM_GPA	0x40000000ULL
#define G_RAM_SIZE	(1u << 20)
#define G_RO_GPA	0x80000000ULL	/* a read-only window */
#define G_RO_SIZE	(64u << 10)
#define G_MMIO_BASE	0x10000000ULL
#define G_DESC_OFF	0x0000		/* ring layout of queue q: + q * 0x4000 */
#define G_AVAIL_OFF	0x1000
#define G_USED_OFF	0x2000
#define G_HEAP_OFF	0x10000
#define G_NUM_QUEUES	2
#define G_QMAX		256
#define G_CONFIG_SIZE	12
#define G_FEATURE_DEV	(1ULL << 5)	/* a device-specific feature bit */

#define F_V1		(1ULL << VIRTIO_F_VERSION_1)
#define F_INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)

struct tmodel {
	unsigned int starts;
	unsigned int resets;
	unsigned int kicks[G_NUM_QUEUES];
	unsigned int config_writes;
	uint32_t cfg_off;
	uint32_t cfg_len;
	uint8_t cfg_buf[8];
	int start_ret;
};

struct tguest {
	uint8_t *ram;
	uint8_t *ro;
	struct vb_session *s;
	struct vb_virtio_dev *d;
	struct tmodel m;
	uint8_t config[G_CONFIG_SIZE];
	/* queue 0, driver side */
	uint16_t num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint64_t heap;
};

/* Session, windows and device (no negotiation yet). */
int tg_init(struct tguest *g);
void tg_fini(struct tguest *g);
/* tg_init + negotiate @features + queue 0 of @num entries + DRIVER_OK. */
int tg_start(struct tguest *g, uint64_t features, uint16_t num);

uint32_t tg_rd(struct tguest *g, uint32_t off);
void tg_wr(struct tguest *g, uint32_t off, uint32_t val);
uint64_t tg_rd_cfg(struct tguest *g, uint32_t off, uint32_t size);
void tg_wr_cfg(struct tguest *g, uint32_t off, uint32_t size, uint64_t val);
/* ACKNOWLEDGE, DRIVER, driver features, FEATURES_OK; returns the status read back. */
uint32_t tg_negotiate(struct tguest *g, uint64_t features);
void tg_queue_regs(struct tguest *g, unsigned int q, uint16_t num,
		   uint64_t desc, uint64_t avail, uint64_t used);
/* Lay queue @q out at its default place and set it ready. */
void tg_setup_queue(struct tguest *g, unsigned int q, uint16_t num);

uint64_t tg_alloc(struct tguest *g, uint32_t size);
void *tg_ptr(struct tguest *g, uint64_t gpa);
void tg_desc(struct tguest *g, uint16_t i, uint64_t addr, uint32_t len,
	     uint16_t flags, uint16_t next);
void tg_publish(struct tguest *g, uint16_t head);
/* Interrupts signalled since the last call. */
uint64_t tg_irqs(struct tguest *g);
struct vb_vq *tg_vq(struct tguest *g);
bool tg_broken(struct tguest *g);
uint16_t tg_used_idx(struct tguest *g);
/* The EVENT_IDX words of queue 0: used_event (driver-written, in the avail
 * ring) and avail_event (device-written, in the used ring). */
uint16_t *tg_used_event(struct tguest *g);
uint16_t *tg_avail_event(struct tguest *g);

#endif /* VB_TEST_GUEST_H */
