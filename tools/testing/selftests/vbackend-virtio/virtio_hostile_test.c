// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest against the sample backend: each case breaks one rule of
 * the virtio spec (descriptor loops, chains longer than the ring, buffers
 * outside every window, lengths that overflow, avail indexes that jump or
 * go backwards, rings rewritten under the device, bad indirect tables...).
 * It must end with the device reporting DEVICE_NEEDS_RESET or the request
 * failing, never a crash, hang or sanitizer report; then the driver resets
 * the device, initialises it again and moves verified data, so the backend
 * is alive and serving.
 *
 * The backend is the ASan+UBSan build (vbackend-sample-san) when there is
 * one, else the plain build; the simulator fails the run on any sanitizer
 * report in the backend's output or on a backend that died.
 */
#include "vbvirtio.h"

FIXTURE(hostile) {
	VV_FIXTURE_FIELDS;
};

FIXTURE_VARIANT(hostile) {
	const char *name;
};

FIXTURE_VARIANT_ADD(hostile, desc_loop) {
	.name = "desc-loop",
};

FIXTURE_VARIANT_ADD(hostile, chain_too_long) {
	.name = "chain-too-long",
};

FIXTURE_VARIANT_ADD(hostile, indirect_too_long) {
	.name = "indirect-too-long",
};

FIXTURE_VARIANT_ADD(hostile, next_out_of_range) {
	.name = "next-out-of-range",
};

FIXTURE_VARIANT_ADD(hostile, addr_outside) {
	.name = "addr-outside",
};

FIXTURE_VARIANT_ADD(hostile, addr_wrap) {
	.name = "addr-wrap",
};

FIXTURE_VARIANT_ADD(hostile, len_overflow) {
	.name = "len-overflow",
};

FIXTURE_VARIANT_ADD(hostile, len_sum_overflow) {
	.name = "len-sum-overflow",
};

FIXTURE_VARIANT_ADD(hostile, avail_jump) {
	.name = "avail-jump",
};

FIXTURE_VARIANT_ADD(hostile, avail_backwards) {
	.name = "avail-backwards",
};

FIXTURE_VARIANT_ADD(hostile, avail_head_oob) {
	.name = "avail-head-oob",
};

FIXTURE_VARIANT_ADD(hostile, ring_outside) {
	.name = "ring-outside",
};

FIXTURE_VARIANT_ADD(hostile, ring_rewrite) {
	.name = "ring-rewrite",
};

FIXTURE_VARIANT_ADD(hostile, indirect_bad_len) {
	.name = "indirect-bad-len",
};

FIXTURE_VARIANT_ADD(hostile, indirect_zero_len) {
	.name = "indirect-zero-len",
};

FIXTURE_VARIANT_ADD(hostile, indirect_huge) {
	.name = "indirect-huge",
};

FIXTURE_VARIANT_ADD(hostile, indirect_outside) {
	.name = "indirect-outside",
};

FIXTURE_VARIANT_ADD(hostile, indirect_nested) {
	.name = "indirect-nested",
};

FIXTURE_VARIANT_ADD(hostile, bad_header) {
	.name = "bad-header",
};

FIXTURE_VARIANT_ADD(hostile, readonly_in_buffer) {
	.name = "readonly-in-buffer",
};

FIXTURE_VARIANT_ADD(hostile, sector_out_of_range) {
	.name = "sector-out-of-range",
};

FIXTURE_VARIANT_ADD(hostile, sector_wrap) {
	.name = "sector-wrap",
};

FIXTURE_VARIANT_ADD(hostile, used_backwards) {
	.name = "used-backwards",
};

FIXTURE_VARIANT_ADD(hostile, notify_bad_queue) {
	.name = "notify-bad-queue",
};

FIXTURE_VARIANT_ADD(hostile, unoffered_feature) {
	.name = "unoffered-feature",
};

FIXTURE_VARIANT_ADD(hostile, config_write) {
	.name = "config-write",
};

FIXTURE_VARIANT_ADD(hostile, register_fuzz) {
	.name = "register-fuzz",
};

/* Every case in a row against one backend process, reset between them. */
FIXTURE_VARIANT_ADD(hostile, all_cases_one_backend) {
	.name = "all",
};

FIXTURE_SETUP(hostile)
{
	VV_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(hostile)
{
	VV_FIXTURE_TEARDOWN(self);
}

TEST_F_TIMEOUT(hostile, device_fails_safely_then_recovers, VV_TEST_TIMEOUT)
{
	const char *args[] = { "--size", "4M", "--case", variant->name, NULL };
	const char *backend = self->backend_san ? self->backend_san : self->backend;
	struct vv_run r;
	int code;

	printf("# backend: %s%s\n", backend,
	       self->backend_san ? " (ASan+UBSan)" : " (no vbackend-sample-san found)");
	code = vv_sim(self->sim, backend, self->img, "hostile", args, &r);
	VV_EXPECT_PASS(code, &r);
	EXPECT_TRUE(vv_has(&r, "recover:"));
	vv_free(&r);
}

TEST_HARNESS_MAIN
