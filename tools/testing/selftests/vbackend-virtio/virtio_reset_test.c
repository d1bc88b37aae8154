// SPDX-License-Identifier: GPL-2.0
/*
 * Device reset in the middle of traffic: requests queued on every queue
 * (some notified, some not), then the driver writes Status = 0, or the whole
 * frontend is reset (VBACKEND_VMM_RESET). The reset must complete (Status
 * reads 0), the device must not touch the old rings afterwards, and after
 * re-initialisation the disk serves verified I/O again.
 */
#include "vbvirtio.h"

FIXTURE(reset) {
	VV_FIXTURE_FIELDS;
};

FIXTURE_SETUP(reset)
{
	VV_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(reset)
{
	VV_FIXTURE_TEARDOWN(self);
}

TEST_F_TIMEOUT(reset, status_0_with_requests_queued_then_reinit, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "16M", "--bytes", "16M", "--queues", "4",
			       "--scenario", "reset", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "I/O verified after the reset"));
	vv_free(&r);
}

TEST_F_TIMEOUT(reset, vmm_reset_with_requests_queued_then_reinit, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "16M", "--bytes", "16M", "--queues", "2",
			       "--scenario", "vmm-reset", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "I/O verified after the reset"));
	vv_free(&r);
}

TEST_HARNESS_MAIN
