// SPDX-License-Identifier: GPL-2.0
/*
 * The sample backend as a process: SIGKILL in the middle of I/O (the
 * frontend's pending accesses and waits end with EPIPE / PEER_GONE, not a
 * hang, and a new backend binds to the same VMM session and serves the same
 * disk), SIGTERM (exit status 0, idle or with requests in flight), SIGUSR1
 * (one status line with request counts), a new backend resumed where the
 * old one stopped, the frontend going away (the
 * backend exits by itself), and the command line: --help, a bad target, a
 * missing image.
 */
#include "vbvirtio.h"

FIXTURE(lifecycle) {
	VV_FIXTURE_FIELDS;
};

FIXTURE_SETUP(lifecycle)
{
	VV_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(lifecycle)
{
	VV_FIXTURE_TEARDOWN(self);
}

TEST_F_TIMEOUT(lifecycle, sigkill_mid_io_then_new_backend_same_session, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "16M", "--bytes", "16M", "--queues", "2",
			       "--scenario", "kill", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "failed with EPIPE"));
	EXPECT_TRUE(vv_has(&r, "PEER_GONE received"));
	EXPECT_TRUE(vv_has(&r, "bound to the same VMM session"));
	vv_free(&r);
}

/*
 * A backend replaced under the live frontend without a reset: queues
 * stopped (drained) with requests queued, their bases read from the VMM's
 * registers, a new backend resumed at them on the same rings.
 */
TEST_F_TIMEOUT(lifecycle, resume_new_backend_at_queue_base, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "16M", "--bytes", "16M", "--queues", "2",
			       "--scenario", "resume", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "where the old one stopped, each once"));
	EXPECT_TRUE(vv_has(&r, "exit status 0"));
	vv_free(&r);
}

TEST_F_TIMEOUT(lifecycle, sigterm_idle_exit_status_0, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "4M", "--bytes", "2M", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "exit status 0 after SIGTERM"));
	vv_free(&r);
}

TEST_F_TIMEOUT(lifecycle, sigterm_mid_io_exit_status_0, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "16M", "--queues", "2",
			       "--scenario", "sigterm-busy", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "exit status 0"));
	vv_free(&r);
}

TEST_F_TIMEOUT(lifecycle, sigusr1_status_line_counts_requests, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "8M", "--queues", "2",
			       "--scenario", "status", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "status:"));
	vv_free(&r);
}

TEST_F_TIMEOUT(lifecycle, frontend_gone_backend_exits, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "4M", "--scenario", "frontend-gone", NULL };
	struct vv_run r;
	int code = vv_sim(self->sim, self->backend, self->img, "blk", args, &r);

	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "exited by itself"));
	vv_free(&r);
}

TEST_F(lifecycle, help_exit_0)
{
	char *argv[] = { self->backend, "--help", NULL };
	struct vv_run r;

	ASSERT_EQ(0, vv_run(argv, 30000, &r));
	vv_show("vbackend-sample --help", &r);
	EXPECT_EQ(0, vv_exit_code(&r));
	EXPECT_LT(0U, r.len);
	EXPECT_TRUE(vv_has(&r, "--device"));
	vv_free(&r);
}

/* A one-line message and exit status 2. */
static void expect_usage_error(struct __test_metadata *_metadata,
			       char *const argv[], int fd3, const char *what)
{
	struct vv_run r;

	ASSERT_EQ(0, vv_run_fd(argv, fd3, 30000, &r));
	vv_show(what, &r);
	EXPECT_EQ(2, vv_exit_code(&r));
	EXPECT_EQ(1U, vv_lines(&r));
	vv_free(&r);
}

TEST_F(lifecycle, bad_target_exit_2_one_line)
{
	char spec[512];
	char *argv[] = { self->backend, "--device", spec, NULL };
	static const char *const targets[] = {
		"nosuch:x",		/* no such provider */
		"vmm:bogus",		/* malformed arguments */
		"vmm:fd=57",		/* not an open descriptor */
		"novalue",		/* no provider at all */
	};
	unsigned int i;
	int fd;

	fd = open(self->img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 1 << 20));
	close(fd);
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		snprintf(spec, sizeof(spec), "blk,target=%s,mmio=0x0a000000,irq=line:5,image=%s",
			 targets[i], self->img);
		expect_usage_error(_metadata, argv, -1, spec);
	}
}

TEST_F(lifecycle, missing_image_exit_2_one_line)
{
	char spec[512];
	char *argv[] = { self->backend, "--device", spec, NULL };
	int vmm = vv_vmm_session();

	ASSERT_LE(0, vmm) TH_LOG("VMM session: %s", strerror(errno));
	/* a real frontend, so that only the image is wrong */
	snprintf(spec, sizeof(spec),
		 "blk,target=vmm:fd=3,mmio=0x0a000000,irq=line:5,image=%s/no-such.img",
		 self->dir);
	expect_usage_error(_metadata, argv, vmm, spec);
	close(vmm);
}

TEST_HARNESS_MAIN
