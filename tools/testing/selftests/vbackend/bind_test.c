// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: binding a session to a frontend, and the session states:
 * UNBOUND, VMM (frontend side) and BACKEND. Every refusal of VBACKEND_BIND
 * and VBACKEND_VMM_CREATE, and what each state answers to the commands of
 * the others.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include "vbackend_util.h"

FIXTURE(bind) {
	int vmm;	/* a VMM session */
	int fd;		/* an unbound session */
	long refcnt0;
};

FIXTURE_SETUP(bind)
{
	self->vmm = -1;
	self->fd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->fd = open_vbackend();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bind)
{
	vb_close(&self->fd);
	vb_close(&self->vmm);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

static int bind_str(int fd, const char *target)
{
	return vb_bind(fd, target, strlen(target), NULL);
}

/* Return: 0 when @fd is a working backend of @vmm (a trap can be added). */
static int is_backend(int fd)
{
	__u32 id;

	if (vb_trap_add(fd, 0, 0x1000, 0x10, &id))
		return -1;
	return vb_del(fd, VBACKEND_TRAP_DEL, id);
}

TEST_F(bind, bind_ok)
{
	struct vbackend_bind b;
	struct vbackend_event ev;
	char target[32];

	snprintf(target, sizeof(target), "vmm:fd=%d", self->vmm);
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	b.target = (__u64)(uintptr_t)target;
	b.target_len = strlen(target);
	b.provider = 0xdead;
	ASSERT_EQ(0, ioctl(self->fd, VBACKEND_BIND, &b));
	EXPECT_EQ((__u32)VBACKEND_PROVIDER_VMM, b.provider);
	EXPECT_EQ(0U, b.flags);
	EXPECT_EQ(0U, b.reserved[0]);
	EXPECT_EQ(0U, b.reserved[1]);
	EXPECT_EQ(0, is_backend(self->fd));

	/* the VMM hears about it */
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_BOUND, &ev,
				   VB_WAIT_MS));
	EXPECT_EQ(0U, ev.flags);
	EXPECT_EQ(0ULL, ev.seq);
}

TEST_F(bind, bind_flags_reserved)
{
	struct vbackend_bind b;
	char target[32];

	snprintf(target, sizeof(target), "vmm:fd=%d", self->vmm);
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	b.target = (__u64)(uintptr_t)target;
	b.target_len = strlen(target);

	b.flags = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_BIND, &b));
	ASSERT_EQ(EINVAL, errno);
	b.flags = 0;
	b.reserved[0] = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_BIND, &b));
	ASSERT_EQ(EINVAL, errno);
	b.reserved[0] = 0;
	b.reserved[1] = 0x80000000U;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_BIND, &b));
	ASSERT_EQ(EINVAL, errno);
	/* still unbound: the clean request works */
	b.reserved[1] = 0;
	ASSERT_EQ(0, ioctl(self->fd, VBACKEND_BIND, &b));
}

TEST_F(bind, bind_twice_eisconn)
{
	int vmm2;

	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
	/* again to the same VMM */
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, self->vmm));
	ASSERT_EQ(EISCONN, errno);
	/* to another, free VMM */
	vmm2 = vmm_create();
	ASSERT_LE(0, vmm2);
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, vmm2));
	ASSERT_EQ(EISCONN, errno);
	/* vmm2 was left free */
	ASSERT_EQ(-1, vb_vmm_ctl(vmm2, VBACKEND_VMM_RESET));
	EXPECT_EQ(ENOTCONN, errno);
	close(vmm2);
	EXPECT_EQ(0, is_backend(self->fd));
}

TEST_F(bind, bind_on_vmm_session_eisconn)
{
	int vmm2 = vmm_create();

	ASSERT_LE(0, vmm2);
	ASSERT_EQ(-1, vb_bind_vmm(self->vmm, vmm2));
	ASSERT_EQ(EISCONN, errno);
	ASSERT_EQ(-1, vb_bind_vmm(self->vmm, self->vmm));
	ASSERT_EQ(EISCONN, errno);
	close(vmm2);
}

TEST_F(bind, vmm_create_twice_eisconn)
{
	ASSERT_EQ(-1, vb_vmm_ctl(self->vmm, VBACKEND_VMM_CREATE));
	ASSERT_EQ(EISCONN, errno);
	/* on a backend session */
	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
	ASSERT_EQ(-1, vb_vmm_ctl(self->fd, VBACKEND_VMM_CREATE));
	ASSERT_EQ(EISCONN, errno);
	/* the backend is still a backend */
	EXPECT_EQ(0, is_backend(self->fd));
}

TEST_F(bind, vmm_create_flags_reserved)
{
	struct vbackend_vmm_ctl c;

	memset(&c, 0, sizeof(c));
	c.argsz = sizeof(c);
	/* every flag but VBACKEND_VMM_F_IRQ_PER_QUEUE */
	for (__u32 bit = 1; bit < 32; bit++) {
		c.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->fd, VBACKEND_VMM_CREATE, &c));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", 1U << bit);
	}
	c.flags = 0;
	c.reserved[1] = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VBACKEND_VMM_CREATE, &c));
	ASSERT_EQ(EINVAL, errno);
	c.reserved[1] = 0;
	ASSERT_EQ(0, ioctl(self->fd, VBACKEND_VMM_CREATE, &c));
}

TEST_F(bind, target_length)
{
	char target[VBACKEND_TARGET_MAX + 2];

	/* empty */
	ASSERT_EQ(-1, vb_bind(self->fd, "vmm:fd=3", 0, NULL));
	ASSERT_EQ(EINVAL, errno);

	/*
	 * VBACKEND_TARGET_MAX bytes pass the length check and reach the
	 * provider lookup; one more is refused before it.
	 */
	memset(target, 'x', sizeof(target));
	memcpy(target, "nosuch:", 7);
	ASSERT_EQ(-1, vb_bind(self->fd, target, VBACKEND_TARGET_MAX, NULL));
	ASSERT_EQ(ENODEV, errno);
	ASSERT_EQ(-1, vb_bind(self->fd, target, VBACKEND_TARGET_MAX + 1, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_bind(self->fd, target, 0xffffffffU, NULL));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(bind, target_nul_inside)
{
	char target[48];
	int len;

	len = snprintf(target, sizeof(target), "vmm:fd=%d", self->vmm);
	/* the target with its NUL terminator counted: not a string */
	ASSERT_EQ(-1, vb_bind(self->fd, target, len + 1, NULL));
	ASSERT_EQ(EINVAL, errno);
	/* a NUL then junk */
	memcpy(target + len + 1, "junk", 5);
	ASSERT_EQ(-1, vb_bind(self->fd, target, len + 5, NULL));
	ASSERT_EQ(EINVAL, errno);
	/* a NUL in the provider name */
	ASSERT_EQ(-1, vb_bind(self->fd, "vm\0:fd=3", 8, NULL));
	ASSERT_EQ(EINVAL, errno);
	/* the same bytes without the NUL bind */
	ASSERT_EQ(0, vb_bind(self->fd, target, len, NULL));
}

TEST_F(bind, target_no_colon)
{
	ASSERT_EQ(-1, bind_str(self->fd, "vmm"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, bind_str(self->fd, "vmmfd=3"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, bind_str(self->fd, "x"));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(bind, target_unknown_provider)
{
	struct vbackend_info info;

	ASSERT_EQ(-1, bind_str(self->fd, "nosuch:x"));
	ASSERT_EQ(ENODEV, errno);
	ASSERT_EQ(-1, bind_str(self->fd, "VMM:fd=3"));
	ASSERT_EQ(ENODEV, errno);
	ASSERT_EQ(-1, bind_str(self->fd, "vmmx:fd=3"));
	ASSERT_EQ(ENODEV, errno);

	/* providers this kernel does not have */
	ASSERT_EQ(0, vb_get_info(self->fd, &info));
	if (!(info.providers & (1U << VBACKEND_PROVIDER_XEN))) {
		ASSERT_EQ(-1, bind_str(self->fd, "xen:domid=1"));
		ASSERT_EQ(ENODEV, errno);
	}
	if (!(info.providers & (1U << VBACKEND_PROVIDER_IVSHMEM))) {
		ASSERT_EQ(-1, bind_str(self->fd, "ivshmem:0000:00:04.0"));
		ASSERT_EQ(ENODEV, errno);
	}
}

TEST_F(bind, target_vmm_malformed)
{
	static const char * const bad[] = {
		"vmm:", "vmm:fd=", "vmm:fd=abc", "vmm:fd=3x", "vmm:fd=0x3",
		"vmm:fd 3", "vmm:x=3", "vmm:fd:3", "vmm:=3", "vmm:fd=3,x=1",
		"vmm:fd=+", "vmm: fd=3",
	};

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, bind_str(self->fd, bad[i]))
			TH_LOG("\"%s\" accepted", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("\"%s\"", bad[i]);
	}
	/* nothing stuck: the session still binds */
	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
}

TEST_F(bind, target_fd_closed_ebadf)
{
	int fd = dup(self->vmm);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, fd));
	ASSERT_EQ(EBADF, errno);
	/* a number far past the table */
	ASSERT_EQ(-1, bind_str(self->fd, "vmm:fd=1000000"));
	ASSERT_EQ(EBADF, errno);
}

TEST_F(bind, target_fd_not_vmm_einval)
{
	int memfd, efd, devnull, unbound, be, vmm2;

	memfd = vb_memfd(4096);
	ASSERT_LE(0, memfd);
	efd = vb_eventfd();
	ASSERT_LE(0, efd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, devnull);
	unbound = open_vbackend();
	ASSERT_LE(0, unbound);
	vmm2 = vmm_create();
	ASSERT_LE(0, vmm2);
	be = backend_bind_to(vmm2);
	ASSERT_LE(0, be);

	ASSERT_EQ(-1, vb_bind_vmm(self->fd, memfd));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, efd));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, devnull));
	ASSERT_EQ(EINVAL, errno);
	/* an unbound vbackend session, and the caller itself */
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, unbound));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, self->fd));
	ASSERT_EQ(EINVAL, errno);
	/* a backend session is no frontend either */
	ASSERT_EQ(-1, vb_bind_vmm(self->fd, be));
	ASSERT_EQ(EINVAL, errno);

	close(be);
	close(vmm2);
	close(unbound);
	close(devnull);
	close(efd);
	close(memfd);
	/* still unbound */
	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
}

TEST_F(bind, second_backend_ebusy)
{
	int be2;

	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
	be2 = open_vbackend();
	ASSERT_LE(0, be2);
	ASSERT_EQ(-1, vb_bind_vmm(be2, self->vmm));
	ASSERT_EQ(EBUSY, errno);
	/* the refused session stayed unbound: it can still be a VMM */
	ASSERT_EQ(-1, vb_del(be2, VBACKEND_TRAP_DEL, 1));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, vb_vmm_ctl(be2, VBACKEND_VMM_CREATE));
	close(be2);
	EXPECT_EQ(0, is_backend(self->fd));
}

TEST_F(bind, rebind_after_backend_close)
{
	struct vbackend_event ev;
	int be2, be3;

	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_BOUND, &ev,
				   VB_WAIT_MS));
	vb_close(&self->fd);
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_GONE, &ev,
				   VB_WAIT_MS));

	be2 = backend_bind_to(self->vmm);
	ASSERT_LE(0, be2) TH_LOG("rebind: %s", strerror(errno));
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_BOUND, &ev,
				   VB_WAIT_MS));
	EXPECT_EQ(0, is_backend(be2));
	/* and it is exclusive again */
	be3 = open_vbackend();
	ASSERT_LE(0, be3);
	ASSERT_EQ(-1, vb_bind_vmm(be3, self->vmm));
	ASSERT_EQ(EBUSY, errno);
	close(be3);
	close(be2);
}

/* The VMM's descriptor number is the binder's own: here one passed by
 * SCM_RIGHTS to another process, where it has another number.
 */
TEST_F(bind, bind_fd_passed_over_socket)
{
	struct vbackend_event ev;
	int sv[2], status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char cbuf[CMSG_SPACE(sizeof(int))], c;
		struct iovec iov = { .iov_base = &c, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;
		int fd, be;

		close(sv[0]);
		/* the inherited copy is not used */
		close(self->vmm);
		alarm(10);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(10);
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			_exit(11);
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		/* give it a number the parent does not use for it */
		if (dup2(fd, 200) != 200)
			_exit(12);
		close(fd);
		be = open_vbackend();
		if (be < 0)
			_exit(13);
		if (vb_bind_vmm(be, 200))
			_exit(14);
		if (is_backend(be))
			_exit(15);
		/* tell the parent, then wait for it to hang up */
		if (write(sv[1], "b", 1) != 1)
			_exit(16);
		if (read(sv[1], &c, 1) < 0)
			_exit(17);
		_exit(0);
	}
	{
		char cbuf[CMSG_SPACE(sizeof(int))], c = 'v';
		struct iovec iov = { .iov_base = &c, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

		close(sv[1]);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &self->vmm, sizeof(int));
		ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
		ASSERT_EQ(POLLIN, vb_poll(sv[0], POLLIN, VB_WAIT_MS) & POLLIN);
		ASSERT_EQ(1, read(sv[0], &c, 1));
		EXPECT_EQ('b', c);
		/* the VMM has a backend now: ours is refused */
		ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_BOUND,
					   &ev, VB_WAIT_MS));
		ASSERT_EQ(-1, vb_bind_vmm(self->fd, self->vmm));
		ASSERT_EQ(EBUSY, errno);
		close(sv[0]);
		ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	/* the child's backend died with it: the VMM is free again */
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_GONE, &ev,
				   VB_WAIT_MS));
	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
}

/* A backend command on an UNBOUND session: ENOTCONN, whatever it is. */
TEST_F(bind, unbound_backend_ops_enotconn)
{
	struct vbackend_completion c = { .seq = 1 };
	struct vbackend_event ev;
	int efd = vb_eventfd();

	ASSERT_LE(0, efd);
	ASSERT_EQ(-1, vb_window_map(self->fd, VBACKEND_WINDOW_F_READ, 0x100000,
				    4096, NULL, NULL));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_del(self->fd, VBACKEND_WINDOW_UNMAP, 1));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_trap_add(self->fd, 0, 0x1000, 0x100, NULL));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_del(self->fd, VBACKEND_TRAP_DEL, 1));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_kick_add(self->fd, 0, 0x1000, 4, 0, efd, NULL));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_del(self->fd, VBACKEND_KICK_DEL, 1));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_irq_add(self->fd, efd, VBACKEND_IRQ_TARGET_LINE, 5, 0,
				 NULL));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_del(self->fd, VBACKEND_IRQ_DEL, 1));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, write(self->fd, &c, sizeof(c)));
	EXPECT_EQ(ENOTCONN, errno);
	close(efd);
}

/* Backend commands on a VMM session: ENOTTY. */
TEST_F(bind, vmm_session_backend_ops_enotty)
{
	int efd = vb_eventfd();
	int be = -1;

	ASSERT_LE(0, efd);
	/* with and without a backend bound to it */
	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(-1, vb_window_map(self->vmm, VBACKEND_WINDOW_F_READ,
					    0x100000, 4096, NULL, NULL));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_del(self->vmm, VBACKEND_WINDOW_UNMAP, 1));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_trap_add(self->vmm, 0, 0x1000, 0x100, NULL));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_del(self->vmm, VBACKEND_TRAP_DEL, 1));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_kick_add(self->vmm, 0, 0x1000, 4, 0, efd, NULL));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_del(self->vmm, VBACKEND_KICK_DEL, 1));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_irq_add(self->vmm, efd, VBACKEND_IRQ_TARGET_LINE,
					 5, 0, NULL));
		EXPECT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, vb_del(self->vmm, VBACKEND_IRQ_DEL, 1));
		EXPECT_EQ(ENOTTY, errno);
		if (!round) {
			be = backend_bind_to(self->vmm);
			ASSERT_LE(0, be);
		}
	}
	close(be);
	close(efd);
}

static void vmm_ops_enotty(struct __test_metadata *_metadata, int fd)
{
	struct vbackend_vmm_access a = {
		.argsz = sizeof(a),
		.addr = 0x1000,
		.size = 4,
		.dir = VBACKEND_DIR_READ,
	};
	struct vbackend_kick k = { .argsz = sizeof(k) };
	struct vbackend_irq i = { .argsz = sizeof(i) };
	int memfd = vb_memfd(4096);

	ASSERT_LE(0, memfd);
	EXPECT_EQ(-1, vmm_add_memory(fd, 0x100000, 4096, 0, memfd, 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, VBACKEND_VMM_ACCESS, &a));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, VBACKEND_VMM_GET_KICK, &k));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, VBACKEND_VMM_GET_IRQ, &i));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, vb_vmm_ctl(fd, VBACKEND_VMM_RESET));
	EXPECT_EQ(ENOTTY, errno);
	close(memfd);
}

/* VMM commands on a backend or an unbound session: ENOTTY. */
TEST_F(bind, vmm_ops_elsewhere_enotty)
{
	vmm_ops_enotty(_metadata, self->fd);
	ASSERT_EQ(0, vb_bind_vmm(self->fd, self->vmm));
	/* a trap exists, so an access would otherwise be forwarded */
	ASSERT_EQ(0, vb_trap_add(self->fd, 0, 0x1000, 0x100, NULL));
	vmm_ops_enotty(_metadata, self->fd);
}

/* A VMM without a backend: the commands that need one say ENOTCONN. */
TEST_F(bind, vmm_ops_without_backend_enotconn)
{
	struct vbackend_kick k = { .argsz = sizeof(k) };
	struct vbackend_irq i = { .argsz = sizeof(i) };
	__u64 data = 0;
	int memfd;

	ASSERT_EQ(-1, vmm_access_sync(self->vmm, 0, 0x1000, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENOTCONN, errno);
	data = 1;
	ASSERT_EQ(-1, vmm_access_sync(self->vmm, 0, 0x1000, 4,
				      VBACKEND_DIR_WRITE, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_GET_KICK, &k));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_GET_IRQ, &i));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET));
	EXPECT_EQ(ENOTCONN, errno);
	/* memory needs no backend */
	memfd = vmm_add_memfd(self->vmm, 0x100000, 4096);
	ASSERT_LE(0, memfd);
	close(memfd);
}

TEST_HARNESS_MAIN
