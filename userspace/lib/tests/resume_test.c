// SPDX-License-Identifier: Apache-2.0
/*
 * Queues that resume: VB_VMM_QUEUE_BASE, the VMM's register of where a
 * queue stopped and where it starts again, and the drain of a stop.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "tap.h"

#define NUM	8

static struct vb_vq_req req;	/* big (2 KiB): not on the stack */

static uint32_t base_rd(struct tguest *g)
{
	return (uint32_t)vb_vmm_access(g->d, VB_VMM_QUEUE_BASE, 4, false, 0);
}

static void base_wr(struct tguest *g, uint32_t v)
{
	vb_vmm_access(g->d, VB_VMM_QUEUE_BASE, 4, true, v);
}

/* One request made available, popped, pushed: the device's next index. */
static void one_request(struct tguest *g, uint16_t head)
{
	uint64_t buf = tg_alloc(g, 8);

	tg_desc(g, head, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(g, head);
	CHECK_EQ(vb_vq_pop(tg_vq(g), &req), 1);
	CHECK_EQ(req.head, head);
	vb_vq_push(tg_vq(g), &req, 8);
}

/* Queue 0 ready again on the ring as it is (tg_setup_queue() clears it). */
static void ready_again(struct tguest *g)
{
	uint64_t b = G_RAM_GPA;

	tg_queue_regs(g, 0, NUM, b + G_DESC_OFF, b + G_AVAIL_OFF, b + G_USED_OFF);
	tg_wr(g, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void t_base_reads(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, NUM));
	CHECK_EQ(base_rd(&g), 0);
	one_request(&g, 1);
	one_request(&g, 2);
	CHECK_EQ(base_rd(&g), 2);		/* ready: the next index */
	/* a running queue keeps its place */
	base_wr(&g, 7);
	CHECK_EQ(base_rd(&g), 2);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(base_rd(&g), 2);		/* where it stopped */
	/* without a write, a start is fresh: a driver's new ring */
	tg_setup_queue(&g, 0, NUM);
	CHECK_EQ(base_rd(&g), 0);
	one_request(&g, 3);
	CHECK_EQ(tg_used_idx(&g), 1);
	CHECK(!tg_broken(&g));
	/* a reset forgets it */
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(base_rd(&g), 1);
	tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(base_rd(&g), 0);
	/* other sizes and offsets are not the register */
	CHECK_EQ(vb_vmm_access(g.d, VB_VMM_QUEUE_BASE, 2, false, 0), 0);
	CHECK_EQ(vb_vmm_access(g.d, VB_VMM_QUEUE_BASE + 4, 4, false, 0), 0);
	tg_fini(&g);
}

/*
 * A backend restarted under a live frontend: the ring holds 65534
 * requests a first backend used (the indexes about to wrap), the VMM
 * writes where it stopped, and the queue goes on from there.
 */
static void t_resume_at_base(void)
{
	const uint16_t at = 65534;
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, NUM));
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	g.avail_idx = at;
	g.avail->idx = at;
	g.used->idx = at;
	base_wr(&g, at);
	CHECK_EQ(base_rd(&g), at);
	ready_again(&g);
	CHECK(!tg_broken(&g));
	CHECK_EQ(base_rd(&g), at);
	for (uint16_t i = 0; i < 4; i++) {
		one_request(&g, i);
		CHECK_EQ(tg_used_idx(&g), (uint16_t)(at + i + 1));
		CHECK_EQ(g.used->ring[(uint16_t)(at + i) % NUM].id, i);
	}
	CHECK_EQ(base_rd(&g), (uint16_t)(at + 4));
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

/* A base the ring does not agree with is a broken ring, as any other. */
static void t_resume_at_wrong_base(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, NUM));
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	base_wr(&g, 1000);
	ready_again(&g);
	tg_publish(&g, 0);		/* avail 1: 1 - 1000 pending */
	CHECK(vb_vq_pop(tg_vq(&g), &req) < 0);
	CHECK(tg_broken(&g));
	tg_fini(&g);
}

struct late_push {
	struct tguest *g;
	int delay_ms;
};

static void *push_later(void *arg)
{
	struct late_push *lp = arg;

	usleep(lp->delay_ms * 1000);
	vb_vq_push(tg_vq(lp->g), &req, 8);
	return NULL;
}

/*
 * QueueReady=0 with a request in flight returns once it is pushed: the
 * push lands in the used ring, and the base counts it.
 */
static void t_stop_drains(void)
{
	struct late_push lp;
	struct tguest g;
	pthread_t th;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, NUM));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 5, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 5);
	tg_publish(&g, 5 ^ 1);		/* a second one, never taken */
	tg_desc(&g, 5 ^ 1, buf, 8, VRING_DESC_F_WRITE, 0);
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	lp.g = &g;
	lp.delay_ms = 50;
	REQUIRE(!pthread_create(&th, NULL, push_later, &lp));
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(tg_used_idx(&g), 1);	/* pushed before the stop returned */
	CHECK_EQ(g.used->ring[0].id, 5);
	CHECK_EQ(base_rd(&g), 1);	/* the second one is the next */
	pthread_join(th, NULL);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

/* A push that never comes: the stop gives up after vb_drain_ms. */
static void t_stop_drain_bounded(void)
{
	struct tguest g;

	vb_drain_ms = 100;
	REQUIRE(!tg_start(&g, F_V1, NUM));
	one_request(&g, 0);
	tg_desc(&g, 1, tg_alloc(&g, 8), 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 1);
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(base_rd(&g), 2);
	/* its late push no longer reaches the ring */
	vb_vq_push(tg_vq(&g), &req, 8);
	CHECK_EQ(tg_used_idx(&g), 1);
	tg_fini(&g);
}

const struct vb_test resume_tests[] = {
	{ "resume: VB_VMM_QUEUE_BASE reads, writes, reset", t_base_reads },
	{ "resume: a queue started at the base the VMM wrote", t_resume_at_base },
	{ "resume: a base the ring disagrees with breaks it", t_resume_at_wrong_base },
	{ "resume: QueueReady=0 waits for the request in flight", t_stop_drains },
	{ "resume: the drain gives up after vb_drain_ms", t_stop_drain_bounded },
	{ NULL, NULL },
};
