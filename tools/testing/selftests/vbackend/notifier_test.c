// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: notifiers (VBACKEND_FEATURE_NOTIFIER_FD). The backend asks
 * KICK_ADD / IRQ_ADD for a kernel-issued fd; the VMM attaches its own
 * eventfds to it (VMM_SET_KICK_FD / VMM_SET_IRQ_FD), swaps and detaches
 * them at will, the way QEMU re-sends a vhost-user backend its kick and
 * call fds at every start, while the backend keeps reading and writing
 * the fd it got and never notices.
 */
#define _GNU_SOURCE
#include "vbackend_util.h"

#define MMIO		0xd0000000ULL
#define MMIO_SIZE	0x1000ULL
#define KADDR		(MMIO + 0x50)
#define MSI_ADDR	0xfee00000ULL

FIXTURE(notifier) {
	int vmm;
	int be;
	int kick;	/* the backend's kick notifier */
	int irq;	/* the backend's interrupt notifier */
	int efd, efd2;	/* the VMM's eventfds */
	__u32 kick_id, irq_id;
	long refcnt0;
};

FIXTURE_SETUP(notifier)
{
	struct vbackend_info info;

	self->vmm = self->be = self->kick = self->irq = -1;
	self->efd = self->efd2 = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	ASSERT_EQ(0, vb_get_info(self->vmm, &info));
	if (!(info.features & VBACKEND_FEATURE_NOTIFIER_FD))
		VB_SETUP_SKIP("the module has no VBACKEND_FEATURE_NOTIFIER_FD");
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, NULL));
	self->kick = vb_kick_notifier(self->be, 0, KADDR, 4, 0, &self->kick_id);
	ASSERT_LE(0, self->kick) TH_LOG("KICK_ADD(NOTIFIER): %s", strerror(errno));
	self->irq = vb_irq_notifier(self->be, VBACKEND_IRQ_TARGET_MSI, MSI_ADDR,
				    0x41, &self->irq_id);
	ASSERT_LE(0, self->irq) TH_LOG("IRQ_ADD(NOTIFIER): %s", strerror(errno));
	self->efd = vb_eventfd();
	ASSERT_LE(0, self->efd);
	self->efd2 = vb_eventfd();
	ASSERT_LE(0, self->efd2);
	vb_drain_events(self->vmm, 0, NULL);
}

FIXTURE_TEARDOWN(notifier)
{
	vb_close(&self->be);
	vb_close(&self->vmm);
	vb_close(&self->kick);
	vb_close(&self->irq);
	vb_close(&self->efd);
	vb_close(&self->efd2);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

/* A guest write to the kick, forwarded by the VMM: consumed by the kick. */
static int guest_kick(int vmm)
{
	__u64 data = 1;
	__u32 result = 0;

	if (vmm_access_sync(vmm, 0, KADDR, 4, VBACKEND_DIR_WRITE, &data,
			    &result, VB_WAIT_MS))
		return -1;
	return result == VBACKEND_VMM_ACCESS_KICKED ? 0 : -1;
}

/* Did the VMM stream get an IRQ record for @id within a short while? */
static bool irq_event(int vmm, __u32 id)
{
	__u64 ids = 0;

	vb_drain_events(vmm, VB_QUIET_MS, &ids);
	return ids & (1ULL << id);
}

static int raise_irq(int irq)
{
	return vb_efd_signal(irq, 1);
}

TEST_F(notifier, kick_notifier_reads_as_an_eventfd)
{
	struct stat st;

	EXPECT_EQ(FD_CLOEXEC, fcntl(self->kick, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, fstat(self->kick, &st));
	/* nothing yet: not readable, a read would block */
	EXPECT_EQ(0, vb_poll(self->kick, POLLIN, 0) & POLLIN);
	EXPECT_EQ(0ULL, vb_efd_take(self->kick));
	/* a forwarded guest write signals it, and reading drains it */
	ASSERT_EQ(0, guest_kick(self->vmm));
	ASSERT_EQ(0, guest_kick(self->vmm));
	EXPECT_EQ(2ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	EXPECT_EQ(0ULL, vb_efd_take(self->kick));
	/* the backend may signal itself, as with an eventfd */
	ASSERT_EQ(0, vb_efd_signal(self->kick, 5));
	EXPECT_EQ(5ULL, vb_efd_take(self->kick));
}

TEST_F(notifier, add_refusals)
{
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = VBACKEND_KICK_F_NOTIFIER,
		.addr = KADDR + 8,
		.len = 4,
		.fd = self->efd,
	};
	struct vbackend_irq i = {
		.argsz = sizeof(i),
		.flags = VBACKEND_IRQ_F_NOTIFIER,
		.fd = self->efd,
		.type = VBACKEND_IRQ_TARGET_MSI,
	};

	/* a notifier is the kernel's: the fd must be -1 */
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_KICK_ADD, &k));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_IRQ_ADD, &i));
	EXPECT_EQ(EINVAL, errno);
	/* an interrupt notifier reads nothing */
	EXPECT_EQ(-1, read(self->irq, &k.data, sizeof(k.data)));
	EXPECT_EQ(EINVAL, errno);
	/* short writes and the eventfd's forbidden value */
	EXPECT_EQ(-1, write(self->kick, &k.data, 4));
	EXPECT_EQ(EINVAL, errno);
	k.data = ~0ULL;
	EXPECT_EQ(-1, write(self->kick, &k.data, sizeof(k.data)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->irq, &k.data, sizeof(k.data)));
	EXPECT_EQ(EINVAL, errno);
}

/* Given back, a kick notifier is shared; an interrupt notifier is not one. */
TEST_F(notifier, kicks_share_a_notifier)
{
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = VBACKEND_KICK_F_NOTIFIER,
		.addr = KADDR + 8,
		.len = 4,
		.fd = self->irq,
	};
	__u64 data = 1;
	__u32 result = 0;

	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_KICK_ADD, &k));
	EXPECT_EQ(EINVAL, errno);
	k.fd = self->kick;
	ASSERT_EQ(0, ioctl(self->be, VBACKEND_KICK_ADD, &k));
	EXPECT_EQ(self->kick, k.fd) TH_LOG("a shared notifier issues no fd");
	EXPECT_NE(self->kick_id, k.id);
	ASSERT_EQ(0, vmm_access_sync(self->vmm, 0, KADDR + 8, 4,
				     VBACKEND_DIR_WRITE, &data, &result,
				     VB_WAIT_MS));
	EXPECT_EQ((__u32)VBACKEND_VMM_ACCESS_KICKED, result);
	ASSERT_EQ(0, guest_kick(self->vmm));
	EXPECT_EQ(2ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	/* each kick has its own source */
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD, k.id,
				self->efd));
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd2));
	vb_efd_take(self->kick);
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	ASSERT_EQ(0, vb_efd_signal(self->efd2, 1));
	EXPECT_EQ(2ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	/* deleting one kick leaves the other's path */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, self->kick_id));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
}

/* VMM_GET_KICK / VMM_GET_IRQ list notifiers with the flag and no fd. */
TEST_F(notifier, vmm_lists_notifiers)
{
	struct vbackend_kick k = { .argsz = sizeof(k), .fd = 7 };
	struct vbackend_irq i = {
		.argsz = sizeof(i),
		.flags = VBACKEND_IRQ_F_DIRECT,
		.fd = 7,
	};

	ASSERT_EQ(0, ioctl(self->vmm, VBACKEND_VMM_GET_KICK, &k));
	EXPECT_EQ(self->kick_id, k.id);
	EXPECT_EQ((__u32)VBACKEND_KICK_F_NOTIFIER, k.flags);
	EXPECT_EQ(KADDR, k.addr);
	EXPECT_EQ(-1, k.fd);
	ASSERT_EQ(0, ioctl(self->vmm, VBACKEND_VMM_GET_IRQ, &i));
	EXPECT_EQ(self->irq_id, i.id);
	/* DIRECT does not apply: the kernel keeps raising it */
	EXPECT_EQ((__u32)VBACKEND_IRQ_F_NOTIFIER, i.flags);
	EXPECT_EQ(-1, i.fd);
	EXPECT_EQ(MSI_ADDR, i.target[0]);
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_TRUE(irq_event(self->vmm, self->irq_id));
}

/*
 * The VMM's eventfd (KVM_IOEVENTFD's, in a real VMM) signals the backend's
 * notifier; attaching another replaces it, and each attach signals the
 * notifier once, so that the backend re-scans whatever the old one took.
 */
TEST_F(notifier, kick_source_attach_swap_detach)
{
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS)) TH_LOG("no re-scan");
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(2ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	/* the kernel consumed the VMM's eventfd */
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
	/* guest writes forwarded by the VMM still count too */
	ASSERT_EQ(0, guest_kick(self->vmm));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));

	/* swap: the old one no longer reaches the backend */
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd2));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS)) TH_LOG("no re-scan");
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(0, vb_poll(self->kick, POLLIN, VB_QUIET_MS) & POLLIN);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	/* each signal is one wake-up, whatever its count (KVM's add one) */
	ASSERT_EQ(0, vb_efd_signal(self->efd2, 3));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));

	/* signalled before the attach: delivered by the attach */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd));
	EXPECT_LE(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));

	/* detach */
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, -1));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(0, vb_poll(self->kick, POLLIN, VB_QUIET_MS) & POLLIN);
	/* detaching what is not attached is no error */
	EXPECT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, -1));
}

/*
 * The backend's write reaches the VMM's eventfd (KVM_IRQFD's) instead of
 * the VMM stream; attaching signals the new eventfd once (an interrupt may
 * be duplicated by a swap, never lost); detaching brings the stream back.
 */
TEST_F(notifier, irq_sink_attach_swap_detach)
{
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_TRUE(irq_event(self->vmm, self->irq_id));

	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				self->irq_id, self->efd));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd)) TH_LOG("attach did not signal");
	ASSERT_EQ(0, raise_irq(self->irq));
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_EQ(2ULL, vb_efd_take(self->efd));
	EXPECT_FALSE(irq_event(self->vmm, self->irq_id));

	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				self->irq_id, self->efd2));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd2));
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd2));
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));

	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				self->irq_id, -1));
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_EQ(0ULL, vb_efd_take(self->efd2));
	EXPECT_TRUE(irq_event(self->vmm, self->irq_id));
}

TEST_F(notifier, set_fd_refusals)
{
	const unsigned long cmds[] = {
		VBACKEND_VMM_SET_KICK_FD, VBACKEND_VMM_SET_IRQ_FD,
	};
	int memfd = vb_memfd(4096), plain = vb_eventfd(), closed, lone;
	__u32 plain_kick, plain_irq;

	ASSERT_LE(0, memfd);
	ASSERT_LE(0, plain);
	/* the lowest free number: nothing below is opened until it is used */
	closed = dup(self->efd);
	ASSERT_LE(0, closed);
	close(closed);
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR + 8, 4, 0, plain,
				 &plain_kick));
	ASSERT_EQ(0, vb_irq_add(self->be, plain, VBACKEND_IRQ_TARGET_MSI,
				MSI_ADDR, 0x42, &plain_irq));
	for (int c = 0; c < 2; c++) {
		__u32 id = c ? self->irq_id : self->kick_id;
		struct vbackend_vmm_notifier n = {
			.argsz = sizeof(n),
			.id = id,
			.fd = self->efd,
		};

		EXPECT_EQ(-1, vmm_set_fd(self->vmm, cmds[c], 999, self->efd));
		EXPECT_EQ(ENOENT, errno);
		/* the backend gave its own eventfd: VMM_GET_* hand that out */
		EXPECT_EQ(-1, vmm_set_fd(self->vmm, cmds[c],
					 c ? plain_irq : plain_kick, self->efd));
		EXPECT_EQ(EOPNOTSUPP, errno);
		EXPECT_EQ(-1, vmm_set_fd(self->vmm, cmds[c], id, closed));
		EXPECT_EQ(EBADF, errno);
		EXPECT_EQ(-1, vmm_set_fd(self->vmm, cmds[c], id, -2));
		EXPECT_EQ(EBADF, errno);
		EXPECT_EQ(-1, vmm_set_fd(self->vmm, cmds[c], id, memfd));
		EXPECT_EQ(EINVAL, errno);
		for (__u32 bit = 0; bit < 32; bit++) {
			n.flags = 1U << bit;
			EXPECT_EQ(-1, ioctl(self->vmm, cmds[c], &n));
			EXPECT_EQ(EINVAL, errno);
		}
		n.flags = 0;
		n.reserved[1] = 1;
		EXPECT_EQ(-1, ioctl(self->vmm, cmds[c], &n));
		EXPECT_EQ(EINVAL, errno);
		/* a VMM command: the backend's session does not take it */
		EXPECT_EQ(-1, vmm_set_fd(self->be, cmds[c], id, self->efd));
		EXPECT_EQ(ENOTTY, errno);
	}
	/* nothing was attached by any of it */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(0, vb_poll(self->kick, POLLIN, VB_QUIET_MS) & POLLIN);
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	EXPECT_TRUE(irq_event(self->vmm, self->irq_id));

	/* a VMM with no backend bound */
	lone = vmm_create();
	ASSERT_LE(0, lone);
	EXPECT_EQ(-1, vmm_set_fd(lone, VBACKEND_VMM_SET_KICK_FD, 1, self->efd));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, vmm_set_fd(lone, VBACKEND_VMM_SET_IRQ_FD, 1, self->efd));
	EXPECT_EQ(ENOTCONN, errno);
	close(lone);
	close(plain);
	close(memfd);
}

/*
 * A kick deleted keeps its notifier fed by the VMM's source (a write KVM
 * took while the backend adds the kick again is not lost); the kick added
 * again, sharing the notifier, takes the same source over. An interrupt
 * deleted drops its sink, and its notifier's writes fail.
 */
TEST_F(notifier, outlive_their_kick_and_irq)
{
	__u32 again;

	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd));
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				self->irq_id, self->efd2));
	vb_efd_take(self->kick);
	vb_efd_take(self->efd2);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, self->kick_id));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_IRQ_DEL, self->irq_id));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	EXPECT_EQ(-1, raise_irq(self->irq));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0ULL, vb_efd_take(self->efd2));
	/* the ids are gone for the VMM */
	EXPECT_EQ(-1, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				 self->kick_id, self->efd));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				 self->irq_id, self->efd2));
	EXPECT_EQ(ENOENT, errno);

	/* added again with its notifier: attaching replaces the source */
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = VBACKEND_KICK_F_NOTIFIER,
		.addr = KADDR,
		.len = 4,
		.fd = self->kick,
	};
	ASSERT_EQ(0, ioctl(self->be, VBACKEND_KICK_ADD, &k));
	again = k.id;
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD, again,
				self->efd2));
	vb_efd_take(self->kick);
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(0, vb_poll(self->kick, POLLIN, VB_QUIET_MS) & POLLIN)
		TH_LOG("the replaced source still feeds it");
	ASSERT_EQ(0, vb_efd_signal(self->efd2, 1));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
}

/* A dying VMM lets go of what it attached; the backend's fds stay valid. */
TEST_F(notifier, vmm_close_detaches)
{
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd));
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				self->irq_id, self->efd2));
	vb_efd_take(self->kick);
	vb_efd_take(self->efd2);
	vb_close(&self->vmm);
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(0, vb_poll(self->kick, POLLIN, VB_QUIET_MS) & POLLIN);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd)) TH_LOG("still hooked");
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_EQ(0ULL, vb_efd_take(self->efd2));
}

struct swap_load {
	int vmm, efd[2], irq;
	__u32 kick_id, irq_id;
	volatile bool stop;
	long signals;
};

static void *signaller(void *arg)
{
	struct swap_load *l = arg;

	while (!l->stop) {
		vb_efd_signal(l->efd[l->signals & 1], 1);
		vb_efd_signal(l->irq, 1);
		l->signals++;
	}
	return NULL;
}

/*
 * Kicks and interrupts in flight while the VMM swaps both, thousands of
 * times: nothing deadlocks (lockdep watches under the debug kernel), and
 * after the last swap both paths still work.
 */
TEST_F(notifier, swap_under_load)
{
	struct swap_load l = {
		.vmm = self->vmm,
		.efd = { self->efd, self->efd2 },
		.irq = self->irq,
		.kick_id = self->kick_id,
		.irq_id = self->irq_id,
	};
	pthread_t t;
	long swaps = 0, deadline = vb_now_ms() + 1000;

	ASSERT_EQ(0, pthread_create(&t, NULL, signaller, &l));
	while (vb_now_ms() < deadline) {
		int fd = l.efd[swaps & 1];

		ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
					self->kick_id, swaps % 3 ? fd : -1));
		ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
					self->irq_id, swaps % 5 ? fd : -1));
		vb_efd_take(self->kick);
		swaps++;
	}
	l.stop = true;
	pthread_join(t, NULL);
	TH_LOG("%ld swaps, %ld signal rounds", swaps, l.signals);
	EXPECT_LT(100, swaps);
	EXPECT_LT(100, l.signals);

	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD,
				self->kick_id, self->efd));
	ASSERT_EQ(0, vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD,
				self->irq_id, self->efd2));
	vb_efd_take(self->kick);
	vb_efd_take(self->efd2);
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1ULL, vb_efd_wait(self->kick, VB_WAIT_MS));
	ASSERT_EQ(0, raise_irq(self->irq));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd2));
}

TEST_HARNESS_MAIN
