// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues with a well-behaved driver: chains, indirect tables,
 * used ring updates, EVENT_IDX and NO_INTERRUPT, resets under traffic.
 */
#include <string.h>

#include "guest.h"
#include "tap.h"

static struct vb_vq_req req;	/* big (2 KiB): not on the stack */

static void t_chain(void)
{
	struct tguest g;
	uint64_t hdr, data, status;
	struct vb_vq_stats st;

	REQUIRE(!tg_start(&g, F_V1, 16));
	hdr = tg_alloc(&g, 16);
	data = tg_alloc(&g, 512);
	status = tg_alloc(&g, 1);
	memset(tg_ptr(&g, hdr), 0xab, 16);
	tg_desc(&g, 3, hdr, 16, VRING_DESC_F_NEXT, 7);
	tg_desc(&g, 7, data, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	tg_desc(&g, 1, status, 1, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 3);

	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.head, 3);
	CHECK_EQ(req.nr_out, 1);
	CHECK_EQ(req.nr_in, 2);
	CHECK_EQ(req.out_len, 16);
	CHECK_EQ(req.in_len, 513);
	CHECK(req.out[0].iov_base == tg_ptr(&g, hdr));
	CHECK_EQ(req.out[0].iov_len, 16);
	CHECK(req.in[0].iov_base == tg_ptr(&g, data));
	CHECK_EQ(req.in[0].iov_len, 512);
	CHECK(req.in[1].iov_base == tg_ptr(&g, status));
	CHECK_EQ(((uint8_t *)req.out[0].iov_base)[15], 0xab);
	memset(req.in[0].iov_base, 0x5a, 512);

	/* Nothing else available. */
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &(struct vb_vq_req){ 0 }), 0);

	vb_vq_push(tg_vq(&g), &req, 513);
	CHECK_EQ(tg_used_idx(&g), 1);
	CHECK_EQ(g.used->ring[0].id, 3);
	CHECK_EQ(g.used->ring[0].len, 513);
	CHECK_EQ(((uint8_t *)tg_ptr(&g, data))[511], 0x5a);

	vb_vq_notify(tg_vq(&g));
	CHECK_EQ(tg_irqs(&g), 1);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* Nothing new: no second interrupt. */
	vb_vq_notify(tg_vq(&g));
	CHECK_EQ(tg_irqs(&g), 0);

	vb_vq_get_stats(tg_vq(&g), &st);
	CHECK_EQ(st.requests, 1);
	CHECK_EQ(st.bytes, 16 + 513);
	CHECK_EQ(st.interrupts, 1);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

static void t_written_clamped(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 16));
	buf = tg_alloc(&g, 64);
	tg_desc(&g, 0, buf, 64, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	vb_vq_push(tg_vq(&g), &req, 1000);
	CHECK_EQ(g.used->ring[0].len, 64);
	/* Pushing the same request twice is a model bug: ignored. */
	vb_vq_push(tg_vq(&g), &req, 1);
	CHECK_EQ(tg_used_idx(&g), 1);
	tg_fini(&g);
}

static void t_ring_wraps(void)
{
	struct tguest g;
	uint64_t buf;
	unsigned int i;
	int ok = 1;

	REQUIRE(!tg_start(&g, F_V1, 4));
	buf = tg_alloc(&g, 8);
	/* 70000 requests through a ring of 4: both 16-bit indexes wrap. */
	for (i = 0; i < 70000 && ok; i++) {
		tg_desc(&g, i % 4, buf, 8, VRING_DESC_F_WRITE, 0);
		tg_publish(&g, i % 4);
		ok = vb_vq_pop(tg_vq(&g), &req) == 1 && req.head == i % 4;
		vb_vq_push(tg_vq(&g), &req, 8);
	}
	CHECK(ok);
	CHECK_EQ(tg_used_idx(&g), (uint16_t)70000);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

static void t_zero_length_segments(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	/* A zero-length descriptor (even at a bogus address) adds nothing. */
	tg_desc(&g, 0, 0xdead0000, 0, VRING_DESC_F_NEXT, 1);
	tg_desc(&g, 1, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.nr_out, 0);
	CHECK_EQ(req.nr_in, 1);
	tg_fini(&g);
}

static void t_max_segments(void)
{
	struct tguest g;
	uint64_t buf;
	unsigned int i;

	REQUIRE(!tg_start(&g, F_V1, 128));
	buf = tg_alloc(&g, 8);
	for (i = 0; i < VB_VQ_MAX_SEGS; i++)
		tg_desc(&g, i, buf, 8, i + 1 < VB_VQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0,
			i + 1);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.nr_out, VB_VQ_MAX_SEGS);
	CHECK_EQ(req.out_len, 8 * VB_VQ_MAX_SEGS);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

static void t_indirect(void)
{
	struct vring_desc *t;
	uint64_t tbl, a, b, c;
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 3 * 16);
	a = tg_alloc(&g, 32);
	b = tg_alloc(&g, 100);
	c = tg_alloc(&g, 1);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ a, 32, VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ b, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1 };
	t[1] = (struct vring_desc){ c, 1, VRING_DESC_F_WRITE, 0 };
	tg_desc(&g, 5, tbl, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 5);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.head, 5);
	CHECK_EQ(req.nr_out, 1);
	CHECK_EQ(req.nr_in, 2);
	CHECK(req.out[0].iov_base == tg_ptr(&g, a));
	CHECK(req.in[0].iov_base == tg_ptr(&g, b));
	CHECK(req.in[1].iov_base == tg_ptr(&g, c));
	CHECK_EQ(req.in_len, 101);
	vb_vq_push(tg_vq(&g), &req, 101);
	CHECK_EQ(g.used->ring[0].id, 5);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

static void t_indirect_unaligned_table(void)
{
	struct vring_desc d0 = { 0, 8, 0, 0 };
	struct tguest g;
	uint64_t tbl;

	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 64) + 3;	/* legal, if odd */
	d0.addr = tg_alloc(&g, 8);
	memcpy(tg_ptr(&g, tbl), &d0, sizeof(d0));
	tg_desc(&g, 0, tbl, 16, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.out_len, 8);
	tg_fini(&g);
}

static void t_indirect_after_direct(void)
{
	struct vring_desc *t;
	struct tguest g;
	uint64_t tbl, a, b;

	/* A direct descriptor followed by an indirect one (the chain ends there). */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 16);
	a = tg_alloc(&g, 16);
	b = tg_alloc(&g, 16);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ b, 16, VRING_DESC_F_WRITE, 0 };
	tg_desc(&g, 0, a, 16, VRING_DESC_F_NEXT, 1);
	tg_desc(&g, 1, tbl, 16, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.nr_out, 1);
	CHECK_EQ(req.nr_in, 1);
	tg_fini(&g);
}

/* used_event suppresses interrupts until the used index passes it. */
static void t_event_idx_interrupts(void)
{
	uint16_t *used_event;
	struct tguest g;
	uint64_t buf;
	unsigned int i;
	uint64_t irqs[6];

	REQUIRE(!tg_start(&g, F_V1 | F_EVENT_IDX, 8));
	used_event = tg_used_event(&g);
	buf = tg_alloc(&g, 8);
	for (i = 0; i < 6; i++) {
		tg_desc(&g, i, buf, 8, VRING_DESC_F_WRITE, 0);
		tg_publish(&g, i);
	}
	*used_event = 0;
	/* The first completion always interrupts (no earlier decision). */
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	vb_vq_push(tg_vq(&g), &req, 8);
	vb_vq_notify(tg_vq(&g));
	irqs[0] = tg_irqs(&g);
	/* The driver wants an interrupt once used idx passes 3 (idx 4). */
	*used_event = 3;
	for (i = 1; i < 5; i++) {
		REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
		vb_vq_push(tg_vq(&g), &req, 8);
		vb_vq_notify(tg_vq(&g));
		irqs[i] = tg_irqs(&g);
	}
	CHECK_EQ(irqs[0], 1);
	CHECK_EQ(irqs[1], 0);	/* used idx 2 */
	CHECK_EQ(irqs[2], 0);	/* used idx 3 */
	CHECK_EQ(irqs[3], 1);	/* used idx 4: crossed used_event + 1 */
	CHECK_EQ(irqs[4], 0);	/* used idx 5 */
	/* Several completions at once, crossing the event: one interrupt. */
	*used_event = 5;
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	vb_vq_push(tg_vq(&g), &req, 8);
	vb_vq_notify(tg_vq(&g));
	CHECK_EQ(tg_irqs(&g), 1);
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	g.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	tg_fini(&g);
}

/* avail_event: re-armed when the ring is found empty, not while busy. */
static void t_event_idx_kicks(void)
{
	uint16_t *avail_event;
	struct tguest g;
	uint64_t buf;
	unsigned int i;

	REQUIRE(!tg_start(&g, F_V1 | F_EVENT_IDX, 8));
	avail_event = tg_avail_event(&g);
	buf = tg_alloc(&g, 8);
	*avail_event = 0xffff;
	for (i = 0; i < 3; i++) {
		tg_desc(&g, i, buf, 8, VRING_DESC_F_WRITE, 0);
		tg_publish(&g, i);
	}
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	/* Busy: the driver is not asked to kick. */
	CHECK_EQ(*avail_event, 0xffff);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 0);
	/* Empty: kick me when you add the buffer at index 3. */
	CHECK_EQ(*avail_event, 3);
	/* Driver side: vring_need_event tells it to kick for the next one. */
	CHECK(vring_need_event(*avail_event, 4, 3));
	CHECK(!vring_need_event(*avail_event, 5, 4));

	/* A buffer added between the re-arm and the re-check is not lost. */
	tg_desc(&g, 3, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 3);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.head, 3);
	tg_fini(&g);
}

static void t_no_interrupt_flag(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_desc(&g, 1, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	tg_publish(&g, 1);
	g.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	vb_vq_push(tg_vq(&g), &req, 8);
	vb_vq_notify(tg_vq(&g));
	CHECK_EQ(tg_irqs(&g), 0);
	g.avail->flags = 0;
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	vb_vq_push(tg_vq(&g), &req, 8);
	vb_vq_notify(tg_vq(&g));
	CHECK_EQ(tg_irqs(&g), 1);
	tg_fini(&g);
}

static void t_push_after_reset_dropped(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 2, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 2);
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	/* Reset and bring the queue back while the request is in flight. */
	tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(g.m.resets, 1);
	CHECK_EQ(tg_negotiate(&g, F_V1) & VIRTIO_CONFIG_S_FEATURES_OK,
		 VIRTIO_CONFIG_S_FEATURES_OK);
	tg_setup_queue(&g, 0, 8);
	vb_vq_push(tg_vq(&g), &req, 8);
	vb_vq_notify(tg_vq(&g));
	CHECK_EQ(tg_used_idx(&g), 0);
	CHECK_EQ(tg_irqs(&g), 0);
	/* The new incarnation works. */
	tg_desc(&g, 2, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 2);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	vb_vq_push(tg_vq(&g), &req, 8);
	CHECK_EQ(tg_used_idx(&g), 1);
	tg_fini(&g);
}

static void t_queue_ready_toggle(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 0);
	tg_setup_queue(&g, 0, 8);	/* fresh ring, indexes from 0 */
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

const struct vb_test vq_tests[] = {
	{ "vq: descriptor chain, push, notify", t_chain },
	{ "vq: written length clamped, double push ignored", t_written_clamped },
	{ "vq: indexes wrap around 65536", t_ring_wraps },
	{ "vq: zero-length descriptors", t_zero_length_segments },
	{ "vq: chain of VB_VQ_MAX_SEGS segments", t_max_segments },
	{ "vq: indirect table", t_indirect },
	{ "vq: indirect table at an odd address", t_indirect_unaligned_table },
	{ "vq: indirect after a direct descriptor", t_indirect_after_direct },
	{ "vq: EVENT_IDX interrupt suppression", t_event_idx_interrupts },
	{ "vq: EVENT_IDX kick suppression", t_event_idx_kicks },
	{ "vq: VRING_AVAIL_F_NO_INTERRUPT", t_no_interrupt_flag },
	{ "vq: push after reset dropped", t_push_after_reset_dropped },
	{ "vq: QueueReady off and on", t_queue_ready_toggle },
	{ NULL, NULL },
};
