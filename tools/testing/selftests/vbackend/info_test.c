// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: discovery (GET_INFO, GET_PROVIDER), the argsz/flags/reserved
 * conventions every ioctl shares, unknown ioctls, and who may open the node.
 */
#define _GNU_SOURCE
#include <grp.h>
#include "vbackend_util.h"

/* every VBACKEND_FEATURE_* the header defines */
#define VB_KNOWN_FEATURES	(VBACKEND_FEATURE_BATCH |		\
				 VBACKEND_FEATURE_KICK_DATAMATCH |	\
				 VBACKEND_FEATURE_WINDOW_REVOKE |	\
				 VBACKEND_FEATURE_IRQ_LEVEL |		\
				 VBACKEND_FEATURE_IOCTL_NR |		\
				 VBACKEND_FEATURE_NOTIFIER_FD |	\
				 VBACKEND_FEATURE_SESSION_INFO)

FIXTURE(info) {
	int fd;
	long refcnt0;
};

FIXTURE_SETUP(info)
{
	self->fd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->fd = open_vbackend();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(info)
{
	vb_close(&self->fd);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

TEST_F(info, get_info)
{
	struct vbackend_info info;

	ASSERT_EQ(0, vb_get_info(self->fd, &info));
	EXPECT_EQ(sizeof(info), info.argsz);
	EXPECT_EQ(0U, info.flags);
	EXPECT_EQ((__u32)VBACKEND_API_VERSION, info.api_version);
	EXPECT_NE(0U, info.providers & (1U << VBACKEND_PROVIDER_VMM));
	/* bit 0 is no provider */
	EXPECT_EQ(0U, info.providers & 1U);
	EXPECT_EQ(sizeof(struct vbackend_event), info.event_size);
	EXPECT_EQ(64U, info.event_size);
	EXPECT_EQ(sizeof(struct vbackend_completion), info.completion_size);
	EXPECT_EQ(24U, info.completion_size);
	EXPECT_NE(0U, info.max_windows);
	EXPECT_NE(0U, info.max_traps);
	EXPECT_NE(0U, info.max_kicks);
	EXPECT_NE(0U, info.max_irqs);
	EXPECT_NE(0U, info.max_pending);
	for (size_t i = 0; i < VB_ARRAY_SIZE(info.reserved); i++)
		EXPECT_EQ(0U, info.reserved[i]);
}

/* batches, data-matches kicks, revokes windows, matches commands on their
 * number; level irqs are for later */
TEST_F(info, get_info_features)
{
	struct vbackend_info info;

	ASSERT_EQ(0, vb_get_info(self->fd, &info));
	EXPECT_NE(0ULL, info.features & VBACKEND_FEATURE_BATCH);
	EXPECT_NE(0ULL, info.features & VBACKEND_FEATURE_KICK_DATAMATCH);
	EXPECT_NE(0ULL, info.features & VBACKEND_FEATURE_WINDOW_REVOKE);
	EXPECT_NE(0ULL, info.features & VBACKEND_FEATURE_IOCTL_NR);
	EXPECT_NE(0ULL, info.features & VBACKEND_FEATURE_NOTIFIER_FD);
	EXPECT_NE(0ULL, info.features & VBACKEND_FEATURE_SESSION_INFO);
	EXPECT_EQ(0ULL, info.features & VBACKEND_FEATURE_IRQ_LEVEL);
	EXPECT_EQ(0ULL, info.features & ~(__u64)VB_KNOWN_FEATURES);
}

/* Discovery works the same on every kind of session. */
TEST_F(info, get_info_any_session)
{
	struct vbackend_info a, b, c;
	int vmm, be;

	vmm = vmm_create();
	ASSERT_LE(0, vmm);
	be = backend_bind_to(vmm);
	ASSERT_LE(0, be);
	ASSERT_EQ(0, vb_get_info(self->fd, &a));
	ASSERT_EQ(0, vb_get_info(vmm, &b));
	ASSERT_EQ(0, vb_get_info(be, &c));
	EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
	EXPECT_EQ(0, memcmp(&a, &c, sizeof(a)));
	close(be);
	close(vmm);
}

TEST_F(info, get_info_argsz_too_small)
{
	struct vbackend_info info;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info) - 4;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, &info));
	ASSERT_EQ(EINVAL, errno);

	info.argsz = 0;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, &info));
	ASSERT_EQ(EINVAL, errno);

	/* nothing was written back */
	EXPECT_EQ(0U, info.api_version);
}

TEST_F(info, get_info_argsz_large_nonzero_tail)
{
	union {
		struct vbackend_info info;
		unsigned char raw[sizeof(struct vbackend_info) + 64];
	} u;

	for (size_t i = sizeof(u.info); i < sizeof(u.raw); i += 7) {
		memset(&u, 0, sizeof(u));
		u.info.argsz = sizeof(u);
		u.raw[i] = 0x5a;
		ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, &u))
			TH_LOG("non-zero byte at %zu accepted", i);
		ASSERT_EQ(E2BIG, errno);
	}
}

TEST_F(info, get_info_argsz_large_zero_tail)
{
	union {
		struct vbackend_info info;
		unsigned char raw[sizeof(struct vbackend_info) + 64];
	} u;

	memset(&u, 0, sizeof(u));
	u.info.argsz = sizeof(u);
	ASSERT_EQ(0, ioctl(self->fd, VBACKEND_GET_INFO, &u));
	EXPECT_EQ((__u32)VBACKEND_API_VERSION, u.info.api_version);
	EXPECT_EQ(64U, u.info.event_size);
	/* the tail the kernel does not know stays zero */
	for (size_t i = sizeof(u.info); i < sizeof(u.raw); i++) {
		ASSERT_EQ(0, u.raw[i]) TH_LOG("tail byte %zu written", i);
	}
}

/* argsz up to a page is fine when the tail is zero; above it is E2BIG */
TEST_F(info, get_info_argsz_page_limit)
{
	struct vbackend_info *info;
	unsigned char *buf;

	buf = calloc(1, 8192);
	ASSERT_NE(NULL, buf);
	info = (struct vbackend_info *)buf;

	info->argsz = 4096;
	EXPECT_EQ(0, ioctl(self->fd, VBACKEND_GET_INFO, buf));
	EXPECT_EQ((__u32)VBACKEND_API_VERSION, info->api_version);

	memset(buf, 0, 8192);
	info->argsz = 4097;
	EXPECT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, buf));
	EXPECT_EQ(E2BIG, errno);

	memset(buf, 0, 8192);
	info->argsz = 8192;
	EXPECT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, buf));
	EXPECT_EQ(E2BIG, errno);

	/* the size is refused before anything past the page is read */
	memset(buf, 0, 8192);
	info->argsz = 0xffffffffU;
	EXPECT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, buf));
	EXPECT_EQ(E2BIG, errno);
	free(buf);
}

TEST_F(info, get_info_unknown_flags)
{
	static const __u32 bad[] = { 1U << 0, 1U << 1, 1U << 16, 1U << 31 };
	struct vbackend_info info;

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		info.flags = bad[i];
		ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, &info));
		ASSERT_EQ(EINVAL, errno);
	}
}

TEST_F(info, get_info_reserved_nonzero)
{
	struct vbackend_info info;

	for (size_t i = 0; i < VB_ARRAY_SIZE(info.reserved); i++) {
		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		info.reserved[i] = 1;
		ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_INFO, &info))
			TH_LOG("reserved[%zu] != 0 accepted", i);
		ASSERT_EQ(EINVAL, errno);
	}
}

static int get_provider(int fd, __u32 id, struct vbackend_provider_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->argsz = sizeof(*pi);
	pi->id = id;
	return ioctl(fd, VBACKEND_GET_PROVIDER, pi);
}

TEST_F(info, get_provider_vmm)
{
	struct vbackend_provider_info pi;

	ASSERT_EQ(0, get_provider(self->fd, VBACKEND_PROVIDER_VMM, &pi));
	EXPECT_EQ(sizeof(pi), pi.argsz);
	EXPECT_EQ(0U, pi.flags);
	EXPECT_EQ((__u32)VBACKEND_PROVIDER_VMM, pi.id);
	EXPECT_EQ('\0', pi.name[sizeof(pi.name) - 1]);
	EXPECT_STREQ("vmm", pi.name);
	EXPECT_EQ(VBACKEND_PROVIDER_CAP_MMIO | VBACKEND_PROVIDER_CAP_PIO |
		  VBACKEND_PROVIDER_CAP_WINDOWS | VBACKEND_PROVIDER_CAP_RESET |
		  VBACKEND_PROVIDER_CAP_MEMORY | VBACKEND_PROVIDER_CAP_VMM_SPACE, pi.caps);
	EXPECT_EQ((1U << VBACKEND_IRQ_TARGET_LINE) |
		  (1U << VBACKEND_IRQ_TARGET_MSI) |
		  (1U << VBACKEND_IRQ_TARGET_EVTCHN) |
		  (1U << VBACKEND_IRQ_TARGET_VECTOR) |
		  (1U << VBACKEND_IRQ_TARGET_QUEUE), pi.irq_targets);
	for (size_t i = 0; i < VB_ARRAY_SIZE(pi.reserved); i++)
		EXPECT_EQ(0U, pi.reserved[i]);
}

/* GET_PROVIDER succeeds exactly for the ids GET_INFO lists */
TEST_F(info, get_provider_matches_info)
{
	static const __u32 beyond[] = { 32, 99, 1000, 0xffffffffU };
	struct vbackend_provider_info pi;
	struct vbackend_info info;

	ASSERT_EQ(0, vb_get_info(self->fd, &info));
	for (__u32 id = 0; id < 32; id++) {
		int ret = get_provider(self->fd, id, &pi);

		if (info.providers & (1U << id)) {
			EXPECT_EQ(0, ret) TH_LOG("listed provider %u: %s",
						 id, strerror(errno));
			EXPECT_EQ(id, pi.id);
			EXPECT_NE('\0', pi.name[0]);
		} else {
			EXPECT_EQ(-1, ret) TH_LOG("unlisted provider %u found", id);
			EXPECT_EQ(ENODEV, errno);
		}
	}
	for (size_t i = 0; i < VB_ARRAY_SIZE(beyond); i++) {
		EXPECT_EQ(-1, get_provider(self->fd, beyond[i], &pi));
		EXPECT_EQ(ENODEV, errno);
	}
}

/* ids 0, 3 (ivshmem, absent in v1) and 99 are ENODEV; 2 unless Xen is in */
TEST_F(info, get_provider_absent)
{
	struct vbackend_provider_info pi;
	struct vbackend_info info;

	ASSERT_EQ(0, vb_get_info(self->fd, &info));
	ASSERT_EQ(-1, get_provider(self->fd, 0, &pi));
	ASSERT_EQ(ENODEV, errno);
	ASSERT_EQ(-1, get_provider(self->fd, 99, &pi));
	ASSERT_EQ(ENODEV, errno);
	if (!(info.providers & (1U << VBACKEND_PROVIDER_IVSHMEM))) {
		ASSERT_EQ(-1, get_provider(self->fd, VBACKEND_PROVIDER_IVSHMEM,
					   &pi));
		ASSERT_EQ(ENODEV, errno);
	}
	if (!(info.providers & (1U << VBACKEND_PROVIDER_XEN))) {
		ASSERT_EQ(-1, get_provider(self->fd, VBACKEND_PROVIDER_XEN, &pi));
		ASSERT_EQ(ENODEV, errno);
	}
}

TEST_F(info, get_provider_refusals)
{
	union {
		struct vbackend_provider_info pi;
		unsigned char raw[sizeof(struct vbackend_provider_info) + 8];
	} u;

	memset(&u, 0, sizeof(u));
	u.pi.argsz = sizeof(u.pi) - 1;
	u.pi.id = VBACKEND_PROVIDER_VMM;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_PROVIDER, &u));
	ASSERT_EQ(EINVAL, errno);

	memset(&u, 0, sizeof(u));
	u.pi.argsz = sizeof(u.pi);
	u.pi.id = VBACKEND_PROVIDER_VMM;
	u.pi.flags = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_PROVIDER, &u));
	ASSERT_EQ(EINVAL, errno);

	for (size_t i = 0; i < VB_ARRAY_SIZE(u.pi.reserved); i++) {
		memset(&u, 0, sizeof(u));
		u.pi.argsz = sizeof(u.pi);
		u.pi.id = VBACKEND_PROVIDER_VMM;
		u.pi.reserved[i] = 0x80000000U;
		ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_PROVIDER, &u));
		ASSERT_EQ(EINVAL, errno);
	}

	memset(&u, 0, sizeof(u));
	u.pi.argsz = sizeof(u);
	u.pi.id = VBACKEND_PROVIDER_VMM;
	u.raw[sizeof(u.pi) + 7] = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_GET_PROVIDER, &u));
	ASSERT_EQ(E2BIG, errno);

	u.raw[sizeof(u.pi) + 7] = 0;
	ASSERT_EQ(0, ioctl(self->fd, VBACKEND_GET_PROVIDER, &u));
	EXPECT_STREQ("vmm", u.pi.name);
}

/* Sizes the spec fixes (the ioctl numbers encode them too). */
TEST_F(info, abi_sizes)
{
	EXPECT_EQ(64U, sizeof(struct vbackend_event));
	EXPECT_EQ(24U, sizeof(struct vbackend_completion));
	EXPECT_EQ(48U, sizeof(struct vbackend_vmm_access));
	EXPECT_EQ(32U, sizeof(struct vbackend_mem_region));
	EXPECT_EQ(32U, sizeof(struct vbackend_access));
	EXPECT_EQ(48U, (unsigned int)_IOC_SIZE(VBACKEND_VMM_ACCESS));
	EXPECT_EQ(32U, (unsigned int)_IOC_SIZE(VBACKEND_MEM_REGION));
}

TEST_F(info, unknown_ioctl)
{
	const unsigned long bad[] = {
		_IO(VBACKEND_MAGIC, 0x0f),
		_IOWR(VBACKEND_MAGIC, 0x04, struct vbackend_info),
		_IOWR(VBACKEND_MAGIC, 0x50, struct vbackend_id),
		_IOWR(VBACKEND_MAGIC, 0xff, struct vbackend_id),
		_IOWR(VBACKEND_MAGIC, 0x88, struct vbackend_vmm_ctl),
		/* a known number under another type (ioctl_size_test: any size) */
		_IOWR('X', 0x00, struct vbackend_info),
		TCGETS,
	};
	__u64 words[32];
	unsigned char *buf = (unsigned char *)words;
	int fds[3];

	fds[0] = self->fd;
	fds[1] = vmm_create();
	ASSERT_LE(0, fds[1]);
	fds[2] = backend_bind_to(fds[1]);
	ASSERT_LE(0, fds[2]);

	for (size_t s = 0; s < VB_ARRAY_SIZE(fds); s++) {
		for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
			memset(words, 0, sizeof(words));
			buf[0] = 64;
			EXPECT_EQ(-1, ioctl(fds[s], bad[i], buf))
				TH_LOG("session %zu: ioctl %#lx accepted",
				       s, bad[i]);
			EXPECT_EQ(ENOTTY, errno) TH_LOG("session %zu: %#lx",
							s, bad[i]);
		}
	}
	close(fds[2]);
	close(fds[1]);
}

TEST_F(info, node_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(VB_DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
}

/* Opening needs root: an unprivileged user gets EACCES. */
TEST_F(info, nonroot_open_eacces)
{
	int status;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root to drop to an unprivileged user");

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		if (!geteuid() || !getuid())
			_exit(11);
		fd = open(VB_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			_exit(12);
		_exit(errno == EACCES ? 0 : 13);
	}
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_NE(10, WEXITSTATUS(status)) TH_LOG("could not drop privileges");
	EXPECT_NE(12, WEXITSTATUS(status)) TH_LOG("uid 65534 opened the node");
	EXPECT_NE(13, WEXITSTATUS(status)) TH_LOG("uid 65534: not EACCES");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* The module reference count and the stats count open sessions. */
TEST_F(info, refcnt_counts_sessions)
{
	struct vb_stats st0, st;
	long r0 = vb_refcnt_read();
	bool stats = !vb_stats_read(&st0);
	int fds[3];

	if (r0 < 0 && !stats)
		SKIP(return, "neither %s nor %s", VB_REFCNT_PATH,
		     VB_STATS_PATH);
	for (int i = 0; i < 3; i++) {
		fds[i] = open_vbackend();
		ASSERT_LE(0, fds[i]);
	}
	/* whatever they become */
	ASSERT_EQ(0, vb_vmm_ctl(fds[0], VBACKEND_VMM_CREATE));
	ASSERT_EQ(0, vb_bind_vmm(fds[1], fds[0]));
	if (r0 >= 0)
		EXPECT_EQ(r0 + 3, vb_refcnt_read());
	if (stats) {
		ASSERT_EQ(0, vb_stats_read(&st));
		EXPECT_EQ(st0.sessions + 3, st.sessions);
	}
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	if (r0 >= 0)
		EXPECT_EQ(r0, vb_refcnt_wait(r0, 2000));
	if (stats) {
		ASSERT_EQ(0, vb_stats_read(&st));
		EXPECT_EQ(st0.sessions, st.sessions);
	}
}

/* Each open is its own session: a VMM on one leaves the other unbound. */
TEST_F(info, sessions_independent)
{
	int a, b;

	a = open_vbackend();
	ASSERT_LE(0, a);
	b = open_vbackend();
	ASSERT_LE(0, b);
	ASSERT_EQ(0, vb_vmm_ctl(a, VBACKEND_VMM_CREATE));
	/* b is still unbound: it can become a VMM too */
	ASSERT_EQ(0, vb_vmm_ctl(b, VBACKEND_VMM_CREATE));
	/* and self->fd still answers ENOTCONN to a backend command */
	ASSERT_EQ(-1, vb_del(self->fd, VBACKEND_TRAP_DEL, 1));
	ASSERT_EQ(ENOTCONN, errno);
	close(b);
	close(a);
}

TEST_HARNESS_MAIN
