// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng end to end, alone and beside a virtio-blk device served by the
 * same backend process.
 */
#include "vbvirtio.h"

FIXTURE(rng) {
	VV_FIXTURE_FIELDS;
};

FIXTURE_SETUP(rng)
{
	VV_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(rng)
{
	VV_FIXTURE_TEARDOWN(self);
}

TEST_F_TIMEOUT(rng, read_1MiB_not_all_zero, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--bytes", "1M", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, NULL, "rng", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "not all zero"));
	vv_free(&r);
}

TEST_F_TIMEOUT(rng, rng_and_blk_in_one_backend_process, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "8M", "--bytes", "8M", "--queues", "2",
			       "--with-rng", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "not all zero"));
	EXPECT_TRUE(vv_has(&r, "on disk matches"));
	vv_free(&r);
}

TEST_HARNESS_MAIN
