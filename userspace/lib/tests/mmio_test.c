// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio register file, driven directly through vb_mmio_access().
 */
#include <errno.h>
#include <string.h>

#include "guest.h"
#include "tap.h"

#define S_ACK		VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV		VIRTIO_CONFIG_S_DRIVER
#define S_FOK		VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK		VIRTIO_CONFIG_S_DRIVER_OK

static void t_ids(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	CHECK(tg_rd(&g, VIRTIO_MMIO_VENDOR_ID) != 0);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	tg_fini(&g);
}

static void t_device_features(void)
{
	struct tguest g;
	uint64_t f;

	REQUIRE(!tg_init(&g));
	tg_wr(&g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = tg_rd(&g, VIRTIO_MMIO_DEVICE_FEATURES);
	tg_wr(&g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)tg_rd(&g, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	CHECK_EQ(f, G_FEATURE_DEV | F_V1 | F_INDIRECT | F_EVENT_IDX);
	tg_wr(&g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	tg_fini(&g);
}

static void t_features_ok(void)
{
	struct tguest g;
	uint64_t f = F_V1 | F_EVENT_IDX | G_FEATURE_DEV;

	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_negotiate(&g, f), S_ACK | S_DRV | S_FOK);
	CHECK_EQ(vb_virtio_features(g.d), f);
	/* Features are final once FEATURES_OK is set. */
	tg_wr(&g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tg_wr(&g, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	CHECK_EQ(vb_virtio_features(g.d), f);
	tg_fini(&g);
}

static void t_features_refused_no_v1(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_negotiate(&g, G_FEATURE_DEV), S_ACK | S_DRV);
	CHECK_EQ(vb_virtio_features(g.d), 0);
	tg_fini(&g);
}

static void t_features_refused_not_offered(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_negotiate(&g, F_V1 | (1ULL << 7)), S_ACK | S_DRV);
	CHECK_EQ(tg_negotiate(&g, F_V1 | (1ULL << VIRTIO_F_RING_PACKED)),
		 S_ACK | S_DRV);
	/* A correct set afterwards is still accepted. */
	CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
	tg_fini(&g);
}

static void t_driver_ok_starts(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	CHECK_EQ(g.m.starts, 1);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	/* Writing DRIVER_OK again does not start twice. */
	tg_wr(&g, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	CHECK_EQ(g.m.starts, 1);
	tg_fini(&g);
}

static void t_start_failure(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	g.m.start_ret = -5;
	CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
	tg_wr(&g, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	CHECK(tg_broken(&g));
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(tg_irqs(&g), 1);
	tg_fini(&g);
}

static void t_driver_ok_without_features_ok(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	tg_wr(&g, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	CHECK(!(tg_rd(&g, VIRTIO_MMIO_STATUS) & S_DOK));
	CHECK(tg_broken(&g));
	CHECK_EQ(g.m.starts, 0);
	tg_fini(&g);
}

static void t_status_bits_stick(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	/* The driver cannot clear bits or set NEEDS_RESET; FAILED sticks. */
	tg_wr(&g, VIRTIO_MMIO_STATUS, S_ACK);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	tg_wr(&g, VIRTIO_MMIO_STATUS, S_ACK | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(!tg_broken(&g));
	tg_wr(&g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_FAILED);
	CHECK(tg_rd(&g, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FAILED);
	tg_fini(&g);
}

static void t_reset_clears(void)
{
	struct tguest g;
	struct vb_vq_req req;

	REQUIRE(!tg_start(&g, F_V1 | F_EVENT_IDX, 16));
	tg_setup_queue(&g, 1, 8);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_READY), 1);
	vb_virtio_config_changed(g.d);
	CHECK(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS));

	tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(g.m.resets, 1);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(vb_virtio_features(g.d), 0);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_SEL), 0);
	for (unsigned int q = 0; q < G_NUM_QUEUES; q++) {
		tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, q);
		CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_READY), 0);
		CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_NUM), 0);
		CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
		CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_USED_HIGH), 0);
	}
	/* A stopped queue pops nothing, even with buffers available. */
	g.avail->ring[0] = 0;
	g.avail->idx = 1;
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 0);
	/* A second reset before DRIVER_OK does not call the model again. */
	tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(g.m.resets, 1);
	tg_fini(&g);
}

static void t_reset_recovers_broken(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	vb_virtio_fail(g.d, "test");
	CHECK(tg_broken(&g));
	tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
	CHECK(!tg_broken(&g));
	CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
	tg_setup_queue(&g, 0, 16);
	tg_wr(&g, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	CHECK(!tg_broken(&g));
	CHECK_EQ(g.m.starts, 2);
	tg_fini(&g);
}

static void t_queue_num_max(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_NUM_MAX), G_QMAX);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_NUM_MAX), G_QMAX);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, G_NUM_QUEUES);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);	/* no such queue: ignored */
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

static void t_queue_bad_size(void)
{
	uint16_t sizes[] = { 0, 3, G_QMAX * 2 };
	struct tguest g;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		REQUIRE(!tg_init(&g));
		CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
		tg_queue_regs(&g, 0, sizes[i], G_RAM_GPA, G_RAM_GPA + 0x1000,
			      G_RAM_GPA + 0x2000);
		tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_READY), 0);
		CHECK(tg_broken(&g));
		tg_fini(&g);
	}
}

static void t_queue_ring_outside(void)
{
	struct tguest g;

	/* Used ring in the read-only window. */
	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
	tg_queue_regs(&g, 0, 16, G_RAM_GPA, G_RAM_GPA + 0x1000, G_RO_GPA);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(tg_broken(&g));
	tg_fini(&g);

	/* Descriptor table straddling the end of RAM. */
	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
	tg_queue_regs(&g, 0, 16, G_RAM_GPA + G_RAM_SIZE - 128,
		      G_RAM_GPA + 0x1000, G_RAM_GPA + 0x2000);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(tg_broken(&g));
	tg_fini(&g);

	/* Misaligned used ring. */
	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_negotiate(&g, F_V1), S_ACK | S_DRV | S_FOK);
	tg_queue_regs(&g, 0, 16, G_RAM_GPA, G_RAM_GPA + 0x1000,
		      G_RAM_GPA + 0x2002);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(tg_broken(&g));
	tg_fini(&g);

	/* Ready before FEATURES_OK. */
	REQUIRE(!tg_init(&g));
	tg_queue_regs(&g, 0, 16, G_RAM_GPA, G_RAM_GPA + 0x1000,
		      G_RAM_GPA + 0x2000);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(tg_broken(&g));
	tg_fini(&g);
}

static void t_queue_regs_locked_when_ready(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NUM, 32);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234000);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_NUM), 16);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)G_RAM_GPA);
	/* Un-ready, and the registers can change again. */
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_READY), 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NUM, 32);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_QUEUE_NUM), 32);
	tg_fini(&g);
}

static void t_config_access(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	CHECK_EQ(tg_rd_cfg(&g, 0, 1), 0x10);
	CHECK_EQ(tg_rd_cfg(&g, 1, 2), 0x1211);
	CHECK_EQ(tg_rd_cfg(&g, 4, 4), 0x17161514);
	CHECK_EQ(tg_rd_cfg(&g, 4, 8), 0x1b1a191817161514ULL);
	CHECK_EQ(tg_rd_cfg(&g, 11, 1), 0x1b);
	/* Bounded by config_size (12). */
	CHECK_EQ(tg_rd_cfg(&g, 8, 8), 0);
	CHECK_EQ(tg_rd_cfg(&g, 11, 2), 0);
	CHECK_EQ(tg_rd_cfg(&g, 12, 1), 0);
	CHECK_EQ(tg_rd_cfg(&g, 0xfc, 4), 0);
	CHECK_EQ(tg_rd_cfg(&g, 0, 3), 0);	/* not a valid size */
	/* Past the register window. */
	CHECK_EQ(vb_mmio_access(g.d, VB_MMIO_SIZE, 4, false, 0), 0);

	tg_wr_cfg(&g, 2, 2, 0xbeef);
	CHECK_EQ(g.m.config_writes, 1);
	CHECK_EQ(g.m.cfg_off, 2);
	CHECK_EQ(g.m.cfg_len, 2);
	CHECK_EQ(g.m.cfg_buf[0], 0xef);
	CHECK_EQ(g.m.cfg_buf[1], 0xbe);
	tg_wr_cfg(&g, 8, 8, 1);		/* out of bounds: ignored */
	tg_wr_cfg(&g, 0x40, 4, 1);
	CHECK_EQ(g.m.config_writes, 1);
	/* The library never writes config itself. */
	CHECK_EQ(g.config[2], 0x12);
	tg_fini(&g);
}

static void t_config_generation(void)
{
	struct tguest g;
	uint32_t gen;

	REQUIRE(!tg_start(&g, F_V1, 16));
	gen = tg_rd(&g, VIRTIO_MMIO_CONFIG_GENERATION);
	tg_irqs(&g);
	vb_virtio_config_changed(g.d);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(tg_irqs(&g), 1);
	vb_virtio_config_changed(g.d);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	tg_fini(&g);
}

static void t_interrupt_ack(void)
{
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	vb_virtio_interrupt(g.d, VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	tg_wr(&g, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	tg_wr(&g, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	tg_fini(&g);
}

static void t_unknown_registers(void)
{
	static const uint32_t offs[] = { 0x018, 0x028, 0x03c, 0x040, 0x048,
					 0x0c0, 0x0c4, 0x0f8 };
	struct tguest g;
	unsigned int i;

	REQUIRE(!tg_start(&g, F_V1, 16));
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		tg_wr(&g, offs[i], 0xffffffff);
		CHECK_EQ(tg_rd(&g, offs[i]), 0);
	}
	/* Registers are 32-bit: other sizes and unaligned offsets read 0. */
	CHECK_EQ(vb_mmio_access(g.d, VIRTIO_MMIO_MAGIC_VALUE, 2, false, 0), 0);
	CHECK_EQ(vb_mmio_access(g.d, VIRTIO_MMIO_MAGIC_VALUE, 8, false, 0), 0);
	CHECK_EQ(vb_mmio_access(g.d, VIRTIO_MMIO_MAGIC_VALUE + 1, 4, false, 0), 0);
	vb_mmio_access(g.d, VIRTIO_MMIO_STATUS, 1, true, 0);	/* no reset */
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_STATUS),
		 S_ACK | S_DRV | S_FOK | S_DOK);
	/* Read-only registers ignore writes. */
	tg_wr(&g, VIRTIO_MMIO_MAGIC_VALUE, 0);
	tg_wr(&g, VIRTIO_MMIO_INTERRUPT_STATUS, 0xff);
	tg_wr(&g, VIRTIO_MMIO_CONFIG_GENERATION, 77);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	/* No shared memory regions: length -1. */
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	CHECK_EQ(tg_rd(&g, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

static void t_queue_notify_trap(void)
{
	struct vb_vq_stats st;
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	tg_setup_queue(&g, 1, 16);
	/* A QueueNotify that arrives as a trap lands on the queue's kick fd. */
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 99);	/* unknown: ignored */
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000);
	vb_virtio_poll_queue(g.d, vb_virtio_queue(g.d, 0));
	vb_virtio_poll_queue(g.d, vb_virtio_queue(g.d, 1));
	CHECK_EQ(g.m.kicks[0], 0);
	CHECK_EQ(g.m.kicks[1], 1);
	vb_vq_get_stats(vb_virtio_queue(g.d, 1), &st);
	CHECK_EQ(st.kicks, 2);
	/* Nothing pending: no callback. */
	vb_virtio_poll_queue(g.d, vb_virtio_queue(g.d, 1));
	CHECK_EQ(g.m.kicks[1], 1);
	/* A kick on a stopped queue is drained but not delivered. */
	tg_wr(&g, VIRTIO_MMIO_QUEUE_SEL, 1);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	vb_virtio_poll_queue(g.d, vb_virtio_queue(g.d, 1));
	CHECK_EQ(g.m.kicks[1], 1);
	CHECK(vb_virtio_queue(g.d, G_NUM_QUEUES) == NULL);
	CHECK(vb_vq_kick_fd(vb_virtio_queue(g.d, 1)) >= 0);
	tg_fini(&g);
}

static void t_kick_unregistered_still_notifies(void)
{
	struct vb_vq *vq;
	struct vb_vq_stats st;
	struct tguest g;

	REQUIRE(!tg_start(&g, F_V1, 16));
	tg_setup_queue(&g, 1, 16);
	vq = vb_virtio_queue(g.d, 1);
	CHECK_EQ(vb_vq_set_kick(vq, false), 0);
	CHECK_EQ(vb_vq_set_kick(vq, false), 0);	/* already: nothing to do */
	/* Without its kick, the trapped QueueNotify reaches the eventfd. */
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	vb_virtio_poll_queue(g.d, vq);
	CHECK_EQ(g.m.kicks[1], 1);
	CHECK_EQ(vb_vq_set_kick(vq, true), 0);
	CHECK_EQ(vb_vq_set_kick(vq, true), 0);
	tg_wr(&g, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	vb_virtio_poll_queue(g.d, vq);
	CHECK_EQ(g.m.kicks[1], 2);
	vb_vq_get_stats(vq, &st);
	CHECK_EQ(st.kicks, 2);
	CHECK(!tg_broken(&g));
	/* Destroyed with its kick unregistered: nothing is deleted twice. */
	CHECK_EQ(vb_vq_set_kick(vq, false), 0);
	tg_fini(&g);
}

static void t_fail_raises_config_irq(void)
{
	struct tguest g;

	REQUIRE(!tg_init(&g));
	/* Before DRIVER_OK: the bit, but no interrupt. */
	vb_virtio_fail(g.d, "early");
	CHECK(tg_broken(&g));
	CHECK_EQ(tg_irqs(&g), 0);
	tg_fini(&g);

	REQUIRE(!tg_start(&g, F_V1, 16));
	vb_virtio_fail(g.d, "late");
	CHECK(tg_broken(&g));
	CHECK_EQ(tg_irqs(&g), 1);
	CHECK(strstr(vb_last_error(), "late") != NULL);
	CHECK(strcmp(g.d->why, "late") == 0);
	vb_virtio_fail(g.d, "again");		/* the first reason stays */
	CHECK(strcmp(g.d->why, "late") == 0);
	CHECK_EQ(tg_irqs(&g), 0);
	tg_fini(&g);
}

static void t_create_checks_ops(void)
{
	struct vb_virtio_params p = { .mmio_base = G_MMIO_BASE };
	struct vb_virtio_ops ops = { .num_queues = 1, .queue_num_max = 256 };
	struct vb_session *s = vb_session_fake(-1);
	struct vb_virtio_dev *d;

	REQUIRE(s);
	ops.queue_num_max = 100;
	CHECK(vb_virtio_create(s, &p, &ops, NULL, NULL, &d) == -EINVAL);
	ops.queue_num_max = 256;
	ops.num_queues = VB_MAX_QUEUES + 1;
	CHECK(vb_virtio_create(s, &p, &ops, NULL, NULL, &d) == -EINVAL);
	ops.num_queues = 1;
	ops.config_size = 8;	/* without config memory */
	CHECK(vb_virtio_create(s, &p, &ops, NULL, NULL, &d) == -EINVAL);
	ops.config_size = 0;
	p.mmio_base = ~0ULL - 0x100;
	CHECK(vb_virtio_create(s, &p, &ops, NULL, NULL, &d) == -EOVERFLOW);
	p.mmio_base = G_MMIO_BASE;
	REQUIRE(vb_virtio_create(s, &p, &ops, NULL, NULL, &d) == 0);
	CHECK_EQ(s->nr_devs, 1);
	vb_virtio_destroy(d);
	CHECK_EQ(s->nr_devs, 0);
	vb_session_close(s);
}

const struct vb_test mmio_tests[] = {
	{ "mmio: ids and version", t_ids },
	{ "mmio: device features", t_device_features },
	{ "mmio: FEATURES_OK accepted", t_features_ok },
	{ "mmio: FEATURES_OK refused without VERSION_1", t_features_refused_no_v1 },
	{ "mmio: FEATURES_OK refused for features not offered", t_features_refused_not_offered },
	{ "mmio: DRIVER_OK starts the model once", t_driver_ok_starts },
	{ "mmio: start failure marks NEEDS_RESET", t_start_failure },
	{ "mmio: DRIVER_OK without FEATURES_OK", t_driver_ok_without_features_ok },
	{ "mmio: status bits only set by the driver", t_status_bits_stick },
	{ "mmio: reset clears queues and registers", t_reset_clears },
	{ "mmio: reset recovers a broken device", t_reset_recovers_broken },
	{ "mmio: QueueNumMax and queue select", t_queue_num_max },
	{ "mmio: bad queue sizes refused", t_queue_bad_size },
	{ "mmio: rings outside memory or misaligned", t_queue_ring_outside },
	{ "mmio: queue registers fixed while ready", t_queue_regs_locked_when_ready },
	{ "mmio: config space sizes and bounds", t_config_access },
	{ "mmio: config generation and interrupt", t_config_generation },
	{ "mmio: InterruptStatus and InterruptACK", t_interrupt_ack },
	{ "mmio: unknown registers and sizes", t_unknown_registers },
	{ "mmio: trapped QueueNotify", t_queue_notify_trap },
	{ "mmio: QueueNotify with the kick unregistered", t_kick_unregistered_still_notifies },
	{ "mmio: vb_virtio_fail and config interrupt", t_fail_raises_config_irq },
	{ "mmio: vb_virtio_create checks", t_create_checks_ops },
	{ NULL, NULL },
};
