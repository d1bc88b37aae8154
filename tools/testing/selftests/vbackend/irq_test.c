// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: interrupts. The backend registers an eventfd with IRQ_ADD;
 * with the VMM provider each write to it becomes a VBACKEND_EVENT_IRQ
 * record on the VMM session, until the VMM takes the eventfd over with
 * VMM_GET_IRQ(VBACKEND_IRQ_F_DIRECT). Also the NOTIFIERS event and every
 * IRQ_ADD refusal.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include "vbackend_util.h"

FIXTURE(irq) {
	int vmm;
	int be;
	int efd;
	long refcnt0;
};

FIXTURE_SETUP(irq)
{
	self->vmm = -1;
	self->be = -1;
	self->efd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	self->efd = vb_eventfd();
	ASSERT_LE(0, self->efd);
	/* start from an empty VMM stream (PEER_BOUND) */
	vb_drain_events(self->vmm, 0, NULL);
}

FIXTURE_TEARDOWN(irq)
{
	vb_close(&self->be);
	vb_close(&self->vmm);
	vb_close(&self->efd);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

/* Wait for an IRQ record of @id on the VMM stream, skipping other types. */
static int wait_irq(int vmm, __u32 id, int ms)
{
	long deadline = vb_now_ms() + ms;
	struct vbackend_event ev;

	while (vb_now_ms() <= deadline) {
		long left = deadline - vb_now_ms();

		if (vb_wait_event(vmm, VBACKEND_EVENT_IRQ, &ev,
				  left > 0 ? left : 0) != 1)
			return 0;
		if (ev.u.irq.id == id && !ev.seq && !ev.flags &&
		    !ev.u.irq.reserved)
			return 1;
	}
	return 0;
}

/* Watch the VMM stream for a while: any IRQ record seen (of ids < 64)? */
static __u64 irqs_seen(int vmm)
{
	__u64 ids = 0;
	unsigned int types;

	types = vb_drain_events(vmm, VB_QUIET_MS, &ids);
	if ((types & (1U << VBACKEND_EVENT_IRQ)) && !ids)
		ids = ~0ULL;
	return ids;
}

static int get_irq(int vmm, __u32 cursor, __u32 flags, struct vbackend_irq *i)
{
	memset(i, 0, sizeof(*i));
	i->argsz = sizeof(*i);
	i->id = cursor;
	i->flags = flags;
	i->fd = -1;
	return ioctl(vmm, VBACKEND_VMM_GET_IRQ, i);
}

TEST_F(irq, add_refusals)
{
	struct vbackend_irq i;
	int memfd = vb_memfd(4096);
	int closed = dup(self->efd);

	ASSERT_LE(0, memfd);
	ASSERT_LE(0, closed);
	close(closed);

	/* flags: DIRECT is for VMM_GET_IRQ only; level is not v1 */
	for (__u32 bit = 0; bit < 32; bit++) {
		memset(&i, 0, sizeof(i));
		i.argsz = sizeof(i);
		i.fd = self->efd;
		i.type = VBACKEND_IRQ_TARGET_LINE;
		i.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->be, VBACKEND_IRQ_ADD, &i));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", 1U << bit);
	}
	/* type */
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, 0, 5, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, 6, 5, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* a queue's own interrupt: only for a VMM that has them */
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_QUEUE,
				 0xd0000000, 0, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, 0xffffffffU, 5, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* descriptors */
	ASSERT_EQ(-1, vb_irq_add(self->be, closed, VBACKEND_IRQ_TARGET_LINE, 5,
				 0, NULL));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(-1, vb_irq_add(self->be, -1, VBACKEND_IRQ_TARGET_LINE, 5, 0,
				 NULL));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(-1, vb_irq_add(self->be, memfd, VBACKEND_IRQ_TARGET_LINE, 5,
				 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_irq_add(self->be, self->vmm, VBACKEND_IRQ_TARGET_LINE,
				 5, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* reserved */
	for (size_t r = 0; r < VB_ARRAY_SIZE(i.reserved); r++) {
		memset(&i, 0, sizeof(i));
		i.argsz = sizeof(i);
		i.fd = self->efd;
		i.type = VBACKEND_IRQ_TARGET_LINE;
		i.reserved[r] = 1;
		EXPECT_EQ(-1, ioctl(self->be, VBACKEND_IRQ_ADD, &i));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%zu]", r);
	}
	/* none of it registered an interrupt */
	ASSERT_EQ(-1, get_irq(self->vmm, 0, 0, &i));
	EXPECT_EQ(ENOENT, errno);
	close(memfd);
}

/* Every target type the session lists is taken. */
TEST_F(irq, add_each_listed_type)
{
	struct vbackend_session_info si;
	int n = 0;

	ASSERT_EQ(0, vb_get_session(self->be, &si));
	for (__u32 type = VBACKEND_IRQ_TARGET_LINE;
	     type <= VBACKEND_IRQ_TARGET_QUEUE; type++) {
		__u32 id = 0;
		int efd;

		if (!(si.irq_targets & (1U << type)))
			continue;
		efd = vb_eventfd();
		ASSERT_LE(0, efd);
		EXPECT_EQ(0, vb_irq_add(self->be, efd, type, 0x10 + type,
					0x20 + type, &id))
			TH_LOG("type %u: %s", type, strerror(errno));
		EXPECT_LE(1U, id);
		close(efd);
		n++;
	}
	EXPECT_LT(0, n);
}

/* What each session is; a backend's targets are its frontend's. */
TEST_F(irq, get_session)
{
	const __u32 base = (1U << VBACKEND_IRQ_TARGET_LINE) |
			   (1U << VBACKEND_IRQ_TARGET_MSI) |
			   (1U << VBACKEND_IRQ_TARGET_EVTCHN) |
			   (1U << VBACKEND_IRQ_TARGET_VECTOR);
	struct vbackend_session_info si;
	int fresh = open_vbackend();

	ASSERT_LE(0, fresh);
	ASSERT_EQ(0, vb_get_session(fresh, &si));
	EXPECT_EQ((__u32)VBACKEND_SESSION_UNBOUND, si.role);
	EXPECT_EQ(0U, si.provider);
	EXPECT_EQ(0U, si.irq_targets);
	ASSERT_EQ(0, vb_get_session(self->vmm, &si));
	EXPECT_EQ((__u32)VBACKEND_SESSION_FRONTEND, si.role);
	EXPECT_EQ((__u32)VBACKEND_PROVIDER_VMM, si.provider);
	EXPECT_EQ(0U, si.irq_targets);
	ASSERT_EQ(0, vb_get_session(self->be, &si));
	EXPECT_EQ((__u32)VBACKEND_SESSION_BACKEND, si.role);
	EXPECT_EQ((__u32)VBACKEND_PROVIDER_VMM, si.provider);
	EXPECT_EQ(base, si.irq_targets);
	for (size_t i = 0; i < VB_ARRAY_SIZE(si.reserved); i++)
		EXPECT_EQ(0U, si.reserved[i]);
	/* flags and reserved words must be zero */
	memset(&si, 0, sizeof(si));
	si.argsz = sizeof(si);
	si.flags = 1;
	EXPECT_EQ(-1, ioctl(self->be, VBACKEND_GET_SESSION, &si));
	EXPECT_EQ(EINVAL, errno);
	si.flags = 0;
	si.reserved[2] = 1;
	EXPECT_EQ(-1, ioctl(self->be, VBACKEND_GET_SESSION, &si));
	EXPECT_EQ(EINVAL, errno);
	close(fresh);
}

/*
 * A VMM with an interrupt per queue (VMM_F_IRQ_PER_QUEUE): its backend
 * sees QUEUE in its targets, adds one interrupt per queue, and each raise
 * reaches the VMM as that interrupt, with the queue named in its target.
 */
TEST_F(irq, per_queue)
{
	struct vbackend_session_info si;
	struct vbackend_irq i;
	int vmm, be, efd[2];
	__u32 id[2];

	EXPECT_EQ(-1, vmm_create_flags(1U << 1));
	EXPECT_EQ(EINVAL, errno);
	vmm = vmm_create_flags(VBACKEND_VMM_F_IRQ_PER_QUEUE);
	ASSERT_LE(0, vmm);
	be = backend_bind_to(vmm);
	ASSERT_LE(0, be);
	ASSERT_EQ(0, vb_get_session(be, &si));
	EXPECT_NE(0U, si.irq_targets & (1U << VBACKEND_IRQ_TARGET_QUEUE));
	vb_drain_events(vmm, 0, NULL);
	for (int q = 0; q < 2; q++) {
		efd[q] = vb_eventfd();
		ASSERT_LE(0, efd[q]);
		ASSERT_EQ(0, vb_irq_add(be, efd[q], VBACKEND_IRQ_TARGET_QUEUE,
					0xd0000000, q, &id[q]))
			TH_LOG("queue %d: %s", q, strerror(errno));
	}
	for (int q = 0; q < 2; q++) {
		ASSERT_EQ(0, get_irq(vmm, id[q], 0, &i));
		EXPECT_EQ(id[q], i.id);
		EXPECT_EQ((__u32)VBACKEND_IRQ_TARGET_QUEUE, i.type);
		EXPECT_EQ(0xd0000000ULL, i.target[0]);
		EXPECT_EQ((__u64)q, i.target[1]);
		close(i.fd);
	}
	ASSERT_EQ(0, vb_efd_signal(efd[1], 1));
	EXPECT_TRUE(wait_irq(vmm, id[1], VB_WAIT_MS));
	EXPECT_EQ(0ULL, irqs_seen(vmm) & (1ULL << id[0]));
	close(be);
	close(vmm);
	close(efd[0]);
	close(efd[1]);
}

TEST_F(irq, same_eventfd_eexist)
{
	struct vbackend_irq i;
	int copy;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				5, 0, NULL));
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				 5, 0, NULL));
	EXPECT_EQ(EEXIST, errno);
	/* another target changes nothing: it is the same eventfd */
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_MSI,
				 0xfee00000, 0x41, NULL));
	EXPECT_EQ(EEXIST, errno);
	/* nor does another descriptor of it */
	copy = dup(self->efd);
	ASSERT_LE(0, copy);
	ASSERT_EQ(-1, vb_irq_add(self->be, copy, VBACKEND_IRQ_TARGET_LINE, 6,
				 0, NULL));
	EXPECT_EQ(EEXIST, errno);
	close(copy);
	/* one interrupt registered */
	ASSERT_EQ(0, get_irq(self->vmm, 0, 0, &i));
	close(i.fd);
	ASSERT_EQ(-1, get_irq(self->vmm, i.id + 1, 0, &i));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(irq, write_raises_irq_event)
{
	__u32 id;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_MSI,
				0xfee00000, 0x41, &id));
	EXPECT_LE(1U, id);
	/* nothing before the backend signals */
	EXPECT_EQ(0ULL, irqs_seen(self->vmm));

	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1, wait_irq(self->vmm, id, VB_WAIT_MS));
	/* the kernel consumed the count */
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
	/* one write, one interrupt */
	EXPECT_EQ(0ULL, irqs_seen(self->vmm));

	/* and again */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1, wait_irq(self->vmm, id, VB_WAIT_MS));
}

/* Several writes before the VMM reads give at least one record. */
TEST_F(irq, coalesced)
{
	__u64 ids;
	__u32 id;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				9, 0, &id));
	ASSERT_LT(id, 64U);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	ASSERT_EQ(POLLIN, vb_poll(self->vmm, POLLIN, VB_WAIT_MS));
	ids = irqs_seen(self->vmm);
	EXPECT_EQ(1ULL << id, ids);
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
}

/* Two interrupts are told apart by id. */
TEST_F(irq, two_irqs)
{
	__u32 a, b;
	int efd2 = vb_eventfd();

	ASSERT_LE(0, efd2);
	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				1, 0, &a));
	ASSERT_EQ(0, vb_irq_add(self->be, efd2, VBACKEND_IRQ_TARGET_LINE, 2, 0,
				&b));
	ASSERT_NE(a, b);
	ASSERT_LT(a, 64U);
	ASSERT_LT(b, 64U);
	vb_drain_events(self->vmm, 0, NULL);
	ASSERT_EQ(0, vb_efd_signal(efd2, 1));
	ASSERT_EQ(POLLIN, vb_poll(self->vmm, POLLIN, VB_WAIT_MS));
	EXPECT_EQ(1ULL << b, irqs_seen(self->vmm));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	ASSERT_EQ(POLLIN, vb_poll(self->vmm, POLLIN, VB_WAIT_MS));
	EXPECT_EQ(1ULL << a, irqs_seen(self->vmm));
	close(efd2);
}

TEST_F(irq, notifiers_event)
{
	struct vbackend_event ev;
	__u32 id, tid, kid;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				5, 0, &id));
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_NOTIFIERS, &ev,
				   VB_WAIT_MS));
	EXPECT_EQ(0ULL, ev.seq);
	EXPECT_EQ(0U, ev.flags);
	vb_drain_events(self->vmm, 0, NULL);

	ASSERT_EQ(0, vb_del(self->be, VBACKEND_IRQ_DEL, id));
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_NOTIFIERS, &ev,
				   VB_WAIT_MS));
	vb_drain_events(self->vmm, 0, NULL);

	/* kicks are notifiers too */
	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x10000, 0x100, &tid));
	ASSERT_EQ(0, vb_kick_add(self->be, 0, 0x10000, 4, 0, self->efd, &kid));
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_NOTIFIERS, &ev,
				   VB_WAIT_MS));
	vb_drain_events(self->vmm, 0, NULL);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, kid));
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_NOTIFIERS, &ev,
				   VB_WAIT_MS));
	vb_drain_events(self->vmm, 0, NULL);

	/* a refused IRQ_ADD changes nothing, and says nothing */
	ASSERT_EQ(-1, vb_irq_add(self->be, self->efd, 0, 5, 0, NULL));
	EXPECT_EQ(0U, vb_drain_events(self->vmm, VB_QUIET_MS, NULL) &
		  (1U << VBACKEND_EVENT_NOTIFIERS));
}

TEST_F(irq, vmm_get_irq_fields)
{
	struct vbackend_irq i;
	__u32 a, b;
	int efd2 = vb_eventfd();

	ASSERT_LE(0, efd2);
	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_MSI,
				0xfee00000, 0x4041, &a));
	ASSERT_EQ(0, vb_irq_add(self->be, efd2, VBACKEND_IRQ_TARGET_VECTOR, 3,
				7, &b));
	ASSERT_LT(a, b);

	ASSERT_EQ(0, get_irq(self->vmm, 0, 0, &i));
	EXPECT_EQ(a, i.id);
	EXPECT_EQ(0U, i.flags);
	EXPECT_EQ((__u32)VBACKEND_IRQ_TARGET_MSI, i.type);
	EXPECT_EQ(0xfee00000ULL, i.target[0]);
	EXPECT_EQ(0x4041ULL, i.target[1]);
	EXPECT_EQ(0U, i.reserved[0]);
	EXPECT_EQ(0U, i.reserved[1]);
	EXPECT_EQ(0U, i.reserved[2]);
	ASSERT_LE(0, i.fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(i.fd, F_GETFD) & FD_CLOEXEC);
	close(i.fd);

	ASSERT_EQ(0, get_irq(self->vmm, a + 1, 0, &i));
	EXPECT_EQ(b, i.id);
	EXPECT_EQ((__u32)VBACKEND_IRQ_TARGET_VECTOR, i.type);
	EXPECT_EQ(3ULL, i.target[0]);
	EXPECT_EQ(7ULL, i.target[1]);
	ASSERT_LE(0, i.fd);
	close(i.fd);

	ASSERT_EQ(-1, get_irq(self->vmm, b + 1, 0, &i));
	EXPECT_EQ(ENOENT, errno);

	/* a plain GET_IRQ leaves delivery to the kernel */
	vb_drain_events(self->vmm, 0, NULL);
	ASSERT_EQ(0, vb_efd_signal(efd2, 1));
	EXPECT_EQ(1, wait_irq(self->vmm, b, VB_WAIT_MS));
	close(efd2);
}

/* With DIRECT the VMM consumes the eventfd: no more IRQ records. */
TEST_F(irq, direct_stops_kernel_delivery)
{
	struct vbackend_irq i;
	int fd;
	__u32 id;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				11, 0, &id));
	ASSERT_EQ(0, get_irq(self->vmm, 0, VBACKEND_IRQ_F_DIRECT, &i));
	EXPECT_EQ(id, i.id);
	EXPECT_EQ((__u32)VBACKEND_IRQ_TARGET_LINE, i.type);
	EXPECT_EQ(11ULL, i.target[0]);
	fd = i.fd;
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	vb_drain_events(self->vmm, 0, NULL);

	/* the backend raises it: the count is the VMM's to read */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1ULL, vb_efd_wait(fd, VB_WAIT_MS));
	EXPECT_EQ(0ULL, irqs_seen(self->vmm));

	/* counts add up until the VMM reads them */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 2));
	vb_sleep_ms(50);
	EXPECT_EQ(3ULL, vb_efd_take(fd));
	EXPECT_EQ(0ULL, irqs_seen(self->vmm));
	close(fd);

	/* IRQ_DEL of a direct interrupt works as for any other */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_IRQ_DEL, id));
}

/*
 * VMM_GET_IRQ with DIRECT that fails, for want of a descriptor (EMFILE) or
 * because the argument cannot be written back (EFAULT), changes nothing:
 * the kernel still consumes the eventfd and delivers IRQ records.
 */
TEST_F(irq, direct_failed_get_irq_changes_nothing)
{
	struct vbackend_irq *ro;
	struct rlimit rl, low;
	int lowest;
	__u32 id;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				9, 0, &id));
	vb_drain_events(self->vmm, 0, NULL);

	/* an argument the kernel can read but not write back */
	ro = mmap(NULL, vb_page_size(), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->argsz = sizeof(*ro);
	ro->flags = VBACKEND_IRQ_F_DIRECT;
	ro->fd = -1;
	ASSERT_EQ(0, mprotect(ro, vb_page_size(), PROT_READ));
	EXPECT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_GET_IRQ, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, vb_page_size());

	/* no descriptor left */
	lowest = dup(0);
	ASSERT_LE(0, lowest);
	close(lowest);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	low = rl;
	low.rlim_cur = lowest;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
	EXPECT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_GET_IRQ,
			    &(struct vbackend_irq){ .argsz = sizeof(struct vbackend_irq),
						    .flags = VBACKEND_IRQ_F_DIRECT,
						    .fd = -1 }));
	EXPECT_EQ(EMFILE, errno);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));

	/* still the kernel's: the VMM gets the record, the count is gone */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1, wait_irq(self->vmm, id, VB_WAIT_MS))
		TH_LOG("a failed VMM_GET_IRQ made the interrupt direct");
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
}

TEST_F(irq, irq_del)
{
	struct vbackend_id d;
	struct vbackend_irq i;
	__u32 id;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				4, 0, &id));
	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.id = id;
	d.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_IRQ_DEL, &d));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_IRQ_DEL, id + 1));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_IRQ_DEL, 0));
	EXPECT_EQ(ENOENT, errno);

	ASSERT_EQ(0, vb_del(self->be, VBACKEND_IRQ_DEL, id));
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_IRQ_DEL, id));
	EXPECT_EQ(ENOENT, errno);
	vb_drain_events(self->vmm, 0, NULL);

	/* no longer the kernel's: the count stays, no record */
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(0ULL, irqs_seen(self->vmm));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	ASSERT_EQ(-1, get_irq(self->vmm, 0, 0, &i));
	EXPECT_EQ(ENOENT, errno);
	/* the eventfd can be registered again */
	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				4, 0, &id));
	ASSERT_EQ(0, vb_efd_signal(self->efd, 1));
	EXPECT_EQ(1, wait_irq(self->vmm, id, VB_WAIT_MS));
}

TEST_F(irq, max_irqs_enospc)
{
	struct vbackend_info info;
	int *efds;
	__u32 id = 0;
	int extra;

	ASSERT_EQ(0, vb_get_info(self->be, &info));
	if (info.max_irqs > 900)
		SKIP(return, "max_irqs %u: too many eventfds", info.max_irqs);
	efds = calloc(info.max_irqs, sizeof(*efds));
	ASSERT_NE(NULL, efds);
	for (__u32 n = 0; n < info.max_irqs; n++) {
		efds[n] = vb_eventfd();
		ASSERT_LE(0, efds[n]);
		ASSERT_EQ(0, vb_irq_add(self->be, efds[n],
					VBACKEND_IRQ_TARGET_LINE, n, 0, &id))
			TH_LOG("irq %u of %u: %s", n + 1, info.max_irqs,
			       strerror(errno));
	}
	extra = vb_eventfd();
	ASSERT_LE(0, extra);
	ASSERT_EQ(-1, vb_irq_add(self->be, extra, VBACKEND_IRQ_TARGET_LINE, 0,
				 0, NULL));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_IRQ_DEL, id));
	ASSERT_EQ(0, vb_irq_add(self->be, extra, VBACKEND_IRQ_TARGET_LINE, 0,
				0, NULL));
	close(extra);
	for (__u32 n = 0; n < info.max_irqs; n++)
		close(efds[n]);
	free(efds);
}

/* The VMM's GET_IRQ descriptor outlives the backend. */
TEST_F(irq, get_irq_fd_outlives_backend)
{
	struct vbackend_irq i;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				4, 0, NULL));
	ASSERT_EQ(0, get_irq(self->vmm, 0, VBACKEND_IRQ_F_DIRECT, &i));
	vb_close(&self->be);
	ASSERT_EQ(0, vb_efd_signal(self->efd, 5));
	EXPECT_EQ(5ULL, vb_efd_take(i.fd));
	close(i.fd);
	/* and the backend's interrupts are gone with it */
	ASSERT_EQ(-1, get_irq(self->vmm, 0, 0, &i));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(irq, get_irq_bad_flags)
{
	struct vbackend_irq i;

	ASSERT_EQ(0, vb_irq_add(self->be, self->efd, VBACKEND_IRQ_TARGET_LINE,
				4, 0, NULL));
	ASSERT_EQ(-1, get_irq(self->vmm, 0, 1U << 1, &i));
	EXPECT_EQ(EINVAL, errno);
	memset(&i, 0, sizeof(i));
	i.argsz = sizeof(i);
	i.reserved[2] = 1;
	ASSERT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_GET_IRQ, &i));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
