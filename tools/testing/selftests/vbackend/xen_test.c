// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: the Xen provider's refusals, which need no frontend domain:
 * what it advertises, malformed "xen:" targets, binding without
 * CAP_SYS_ADMIN, outside Xen, and to a domain that does not exist. Serving
 * a real frontend is tested end to end in the Xen topology
 * (tools/testing/xen).
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "vbackend_util.h"

FIXTURE(xen) {
	int fd;
	bool on_xen;	/* this kernel runs as a Xen domain */
	long refcnt0;
};

static bool running_on_xen(void)
{
	char type[8] = "";
	FILE *f = fopen("/sys/hypervisor/type", "r");

	if (!f)
		return false;
	if (!fgets(type, sizeof(type), f))
		type[0] = '\0';
	fclose(f);
	return !strncmp(type, "xen", 3);
}

FIXTURE_SETUP(xen)
{
	struct vbackend_info info;

	self->fd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->fd = open_vbackend();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vb_get_info(self->fd, &info));
	if (!(info.providers & (1U << VBACKEND_PROVIDER_XEN)))
		VB_SETUP_SKIP("module built without the Xen provider (kernel lacks CONFIG_XEN_BACKEND)");
	self->on_xen = running_on_xen();
}

FIXTURE_TEARDOWN(xen)
{
	vb_close(&self->fd);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

static int bind_str(int fd, const char *target)
{
	return vb_bind(fd, target, strlen(target), NULL);
}

TEST_F(xen, provider_info)
{
	struct vbackend_provider_info pi = {
		.argsz = sizeof(pi),
		.id = VBACKEND_PROVIDER_XEN,
	};

	ASSERT_EQ(0, ioctl(self->fd, VBACKEND_GET_PROVIDER, &pi));
	EXPECT_STREQ("xen", pi.name);
	EXPECT_EQ(VBACKEND_PROVIDER_CAP_MMIO | VBACKEND_PROVIDER_CAP_PIO |
		  VBACKEND_PROVIDER_CAP_WINDOWS, pi.caps);
	EXPECT_EQ((1U << VBACKEND_IRQ_TARGET_LINE) |
		  (1U << VBACKEND_IRQ_TARGET_MSI) |
		  (1U << VBACKEND_IRQ_TARGET_EVTCHN), pi.irq_targets);
}

/* Malformed targets are EINVAL before anything looks for Xen. */
TEST_F(xen, target_malformed)
{
	static const char * const bad[] = {
		"xen:", "xen:domid", "xen:domid=", "xen:domid=x", "xen:domid=1x",
		"xen:domid=-1", "xen:dom=1", "xen:domid=1,x=2", "xen:domid=65536",
		/* DOMID_FIRST_RESERVED (0x7ff0) and up name no real domain */
		"xen:domid=32752", "xen:domid=0x7ff0", "xen:domid=65535",
	};

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, bind_str(self->fd, bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i]);
	}
}

/* Only CAP_SYS_ADMIN binds to Xen, even with the device open. */
TEST_F(xen, needs_cap_sys_admin)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (syscall(SYS_capget, &hdr, data))
			_exit(10);
		data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &hdr, data))
			_exit(11);
		if (!bind_str(self->fd, "xen:domid=1"))
			_exit(12);
		_exit(errno == EPERM ? 0 : 13);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("10 capget, 11 capset, 12 bound, 13 wrong errno");
}

TEST_F(xen, not_a_xen_domain)
{
	if (self->on_xen)
		SKIP(return, "running on Xen");
	EXPECT_EQ(-1, bind_str(self->fd, "xen:domid=1"));
	EXPECT_EQ(ENODEV, errno);
}

TEST_F(xen, no_such_domain)
{
	if (!self->on_xen)
		SKIP(return, "not running on Xen");
	EXPECT_EQ(-1, bind_str(self->fd, "xen:domid=32000"));
	EXPECT_EQ(ESRCH, errno);
}

TEST_HARNESS_MAIN
