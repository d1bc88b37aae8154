/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny TAP harness: every test runs in its own child (a crash, an ASan
 * report, a leak or a hang fails that test only), prints "ok N name" or
 * "not ok N name", and the run ends with "N passed, N failed".
 */
#ifndef VB_TAP_H
#define VB_TAP_H

#include <inttypes.h>
#include <stdio.h>

struct vb_test {
	const char *name;
	void (*fn)(void);
};

void tap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CHECK(cond) do {						\
	if (!(cond))							\
		tap_fail(__FILE__, __LINE__, "%s", #cond);		\
} while (0)

#define CHECK_EQ(a, b) do {						\
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);		\
	if (a_ != b_)							\
		tap_fail(__FILE__, __LINE__, "%s == %s: 0x%" PRIx64	\
			 " != 0x%" PRIx64, #a, #b, a_, b_);		\
} while (0)

/* Stop the test here when a precondition fails. */
#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		tap_fail(__FILE__, __LINE__, "required: %s", #cond);	\
		return;							\
	}								\
} while (0)

extern const struct vb_test session_tests[];
extern const struct vb_test mmio_tests[];
extern const struct vb_test vq_tests[];
extern const struct vb_test resume_tests[];
extern const struct vb_test hostile_tests[];
extern const struct vb_test vhost_user_tests[];

#endif /* VB_TAP_H */
