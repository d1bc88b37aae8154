// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk end to end: vbackend-sample serves a file-backed disk over the
 * VMM-fed provider, vbackend-frontend-sim plays the guest's driver. Data
 * integrity through several queues (mixed sizes 512 B .. 1 MiB at mixed
 * offsets, direct and indirect descriptors, EVENT_IDX), FLUSH persisting
 * to the image file, GET_ID, DISCARD / WRITE_ZEROES, a read-only disk.
 *
 * The sizes are in the test names: the run under QEMU TCG must stay below
 * two minutes per test.
 */
#include "vbvirtio.h"

FIXTURE(blk) {
	VV_FIXTURE_FIELDS;
};

FIXTURE_SETUP(blk)
{
	VV_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(blk)
{
	VV_FIXTURE_TEARDOWN(self);
}

/*
 * 384 MiB of writes over a 128 MiB disk through 4 queues (every sector
 * written three times on average, some never), the whole disk read back and
 * compared, FLUSH, the image file compared: 640 MiB checked in all. The
 * simulator plays a KVM VMM: its own eventfds attached to the backend's
 * notifiers carry every kick and interrupt, and each queue has its own
 * interrupt (vhost-user's call fd per vring, MSI-X on virtio-pci).
 */
TEST_F_TIMEOUT(blk, integrity_write_384MiB_4queues_irq_per_queue_read_back_flush, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "128M", "--bytes", "384M", "--queues", "4",
			       "--seed", "11", "--irq-per-queue", NULL };
	unsigned long long kicks = 0, irqs = 0, queue_irqs = 0;
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "verified (checksum"));
	EXPECT_TRUE(vv_has(&r, "on disk matches"));
	EXPECT_TRUE(vv_has(&r, "exit status 0 after SIGTERM"));
	ASSERT_TRUE(vv_vmm_fds(&r, &kicks, &irqs, &queue_irqs));
	EXPECT_LT(0ULL, kicks);
	EXPECT_LT(0ULL, irqs);
	EXPECT_LT(0ULL, queue_irqs);
	vv_free(&r);
}

/*
 * The same without the ring options: plain descriptors, no EVENT_IDX; and
 * the kernel's own path for kicks (matched on VMM_ACCESS) and interrupts
 * (IRQ records), no eventfd of the VMM's attached.
 */
TEST_F_TIMEOUT(blk, integrity_write_32MiB_2queues_no_indirect_no_event_idx_no_vmm_fds, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "16M", "--bytes", "32M", "--queues", "2",
			       "--no-indirect", "--no-event-idx", "--qsize", "64",
			       "--seed", "12", "--no-vmm-fds", NULL };
	unsigned long long kicks = 1, irqs = 1, queue_irqs = 1;
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "on disk matches"));
	ASSERT_TRUE(vv_vmm_fds(&r, &kicks, &irqs, &queue_irqs));
	EXPECT_EQ(0ULL, kicks);
	EXPECT_EQ(0ULL, irqs);
	EXPECT_EQ(0ULL, queue_irqs);
	vv_free(&r);
}

TEST_F_TIMEOUT(blk, get_id, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "4M", "--scenario", "get-id", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "get-id:"));
	vv_free(&r);
}

TEST_F_TIMEOUT(blk, discard_and_write_zeroes, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "8M", "--scenario", "discard", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	vv_free(&r);
}

TEST_F_TIMEOUT(blk, readonly_refuses_writes, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "4M", "--scenario", "readonly", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "write refused"));
	vv_free(&r);
}

TEST_HARNESS_MAIN
