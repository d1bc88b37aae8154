// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: the life of a frontend/backend pair. Either side may close or
 * die at any time, with accesses queued or in flight: the waiting vCPUs get
 * EPIPE, the survivor gets PEER_GONE, a new backend can bind, and nothing
 * leaks. Also VMM_RESET, and a race of notifier changes against teardown.
 */
#define _GNU_SOURCE
#include "vbackend_util.h"

#define MMIO		0xe0000000ULL
#define MMIO_SIZE	0x100ULL
#define GPA		0x100000ULL

FIXTURE(life) {
	int vmm;
	int be;
	long refcnt0;
};

FIXTURE_SETUP(life)
{
	self->vmm = -1;
	self->be = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
}

FIXTURE_TEARDOWN(life)
{
	vb_close(&self->be);
	vb_close(&self->vmm);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

static void bind_backend(struct __test_metadata *_metadata,
			 FIXTURE_DATA(life) *self)
{
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be) TH_LOG("bind: %s", strerror(errno));
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, NULL));
}

/* A full read round trip between @vmm and @be. */
static void round_trip(struct __test_metadata *_metadata, int vmm, int be,
		       __u64 value)
{
	struct vbackend_event ev;
	struct vb_fwd f;

	ASSERT_EQ(0, vb_fwd_start(&f, vmm, 0, MMIO + 0x10, 8,
				  VBACKEND_DIR_READ, 0, 0));
	ASSERT_EQ(1, vb_wait_event(be, VBACKEND_EVENT_TRAP, &ev, VB_WAIT_MS))
		TH_LOG("no trap record");
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(be, ev.seq, value, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(value, f.acc.data);
}

/* Wait until @n accesses are queued or in flight (stats, else a pause). */
static void wait_pending(struct __test_metadata *_metadata, int be, long n)
{
	int ret = vb_stats_wait_pending(n, VB_WAIT_MS);

	if (ret < 0) {
		/* no debugfs: see the first record, then give them time */
		if (be >= 0) {
			ASSERT_EQ(POLLIN, vb_poll(be, POLLIN, VB_WAIT_MS) &
				  POLLIN);
		}
		vb_sleep_ms(500);
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("%ld accesses never pending", n);
}

/* Wait for one byte @want from @fd. */
static int wait_byte(int fd, char want)
{
	char c;

	if (!(vb_poll(fd, POLLIN, VB_WAIT_MS) & POLLIN))
		return -1;
	if (read(fd, &c, 1) != 1)
		return -1;
	return c == want ? 0 : -1;
}

/* Every backend command of a session whose frontend died: EPIPE. */
static void backend_ops_epipe(struct __test_metadata *_metadata, int be,
			      __u32 trap, __u32 kick, __u32 irq, __u32 win)
{
	int efd = vb_eventfd();

	ASSERT_LE(0, efd);
	EXPECT_EQ(-1, vb_trap_add(be, 0, MMIO + 0x1000, 0x10, NULL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_del(be, VBACKEND_TRAP_DEL, trap));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_kick_add(be, 0, MMIO + 0x20, 4, 0, efd, NULL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_del(be, VBACKEND_KICK_DEL, kick));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_irq_add(be, efd, VBACKEND_IRQ_TARGET_LINE, 1, 0,
				 NULL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_del(be, VBACKEND_IRQ_DEL, irq));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_window_map(be, VBACKEND_WINDOW_F_READ, GPA, 4096,
				    NULL, NULL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_del(be, VBACKEND_WINDOW_UNMAP, win));
	EXPECT_EQ(EPIPE, errno);
	close(efd);
}

/*
 * After the frontend died: the records still queued, the last being
 * PEER_GONE, then end of file, for good.
 */
static void drain_to_eof(struct __test_metadata *_metadata, int be)
{
	struct vbackend_event ev;
	int fl, n = 0;
	__u32 last = 0;

	for (;;) {
		int ret = vb_read_event(be, &ev, VB_WAIT_MS);

		ASSERT_LE(0, ret) TH_LOG("read after peer gone: %s",
					 strerror(errno));
		if (!ret)
			break;
		ASSERT_LT(++n, 64) TH_LOG("no end of file");
		last = ev.type;
		if (ev.type == VBACKEND_EVENT_PEER_GONE) {
			EXPECT_EQ(0ULL, ev.seq);
			EXPECT_EQ(0U, ev.flags);
			EXPECT_GE(0, ev.u.status.error);
			EXPECT_EQ(0U, ev.u.status.reserved);
		}
	}
	EXPECT_EQ((__u32)VBACKEND_EVENT_PEER_GONE, last);
	EXPECT_EQ(0, read(be, &ev, sizeof(ev)));
	/* end of file, not EAGAIN, even without blocking */
	fl = fcntl(be, F_GETFL);
	ASSERT_EQ(0, fcntl(be, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(0, read(be, &ev, sizeof(ev)));
	ASSERT_EQ(0, fcntl(be, F_SETFL, fl));
	/* hung up, nothing to read */
	EXPECT_EQ(POLLHUP, vb_poll(be, POLLIN, 0) & (POLLIN | POLLHUP));
}

TEST_F(life, peer_bound_and_gone_events)
{
	struct vbackend_event ev;
	__u64 data = 0;

	bind_backend(_metadata, self);
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_BOUND, &ev,
				   VB_WAIT_MS));
	EXPECT_EQ(0ULL, ev.seq);
	vb_close(&self->be);
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_GONE, &ev,
				   VB_WAIT_MS));
	EXPECT_EQ(0ULL, ev.seq);
	EXPECT_GE(0, ev.u.status.error);
	/* the VMM lives on without a backend */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 4, VBACKEND_DIR_READ,
				      &data, NULL, VB_WAIT_MS));
	EXPECT_EQ(ENOTCONN, errno);
	/* not hung up: a new backend may come */
	EXPECT_EQ(0, vb_poll(self->vmm, POLLIN, 0) & POLLHUP);
}

TEST_F(life, frontend_close_idle)
{
	__u32 trap, kick, irq, win;
	int efd, memfd;

	memfd = vmm_add_memfd(self->vmm, GPA, 4 * 4096);
	ASSERT_LE(0, memfd);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	efd = vb_eventfd();
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, &trap));
	ASSERT_EQ(0, vb_kick_add(self->be, 0, MMIO, 4, 0, efd, &kick));
	ASSERT_EQ(0, vb_irq_add(self->be, efd, VBACKEND_IRQ_TARGET_LINE, 1, 0,
				&irq));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA, 4096,
				   NULL, &win));
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));

	vb_close(&self->vmm);
	EXPECT_EQ(POLLIN | POLLHUP, vb_poll(self->be, POLLIN, VB_WAIT_MS) &
		  (POLLIN | POLLHUP));
	backend_ops_epipe(_metadata, self->be, trap, kick, irq, win);
	drain_to_eof(_metadata, self->be);
	close(efd);
	close(memfd);
}

/* A blocked read() wakes up with the news of the frontend's death. */
TEST_F(life, frontend_close_wakes_reader)
{
	struct vbackend_event ev;
	pid_t pid;
	int status;

	bind_backend(_metadata, self);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* the parent's close must be the last reference */
		close(self->vmm);
		alarm(20);
		/* blocks until the frontend goes */
		if (read(self->be, &ev, sizeof(ev)) != sizeof(ev))
			_exit(1);
		if (ev.type != VBACKEND_EVENT_PEER_GONE)
			_exit(2);
		_exit(read(self->be, &ev, sizeof(ev)) == 0 ? 0 : 3);
	}
	vb_sleep_ms(VB_QUIET_MS);
	/* still blocked */
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	vb_close(&self->vmm);
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * The VMM process dies with one access in flight (read by the backend)
 * and one still queued. The backend hears PEER_GONE and everything else
 * is refused.
 */
TEST_F(life, frontend_killed_with_traps_in_flight)
{
	struct vbackend_event ev;
	__u32 trap;
	int sync[2], status;
	ssize_t ret;
	pid_t pid;
	char c;

	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, &trap));
	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vb_fwd f[2];

		close(sync[0]);
		close(self->be);
		alarm(30);
		if (vb_fwd_start(&f[0], self->vmm, 0, MMIO, 8,
				 VBACKEND_DIR_READ, 0, 0) ||
		    vb_fwd_start(&f[1], self->vmm, 0, MMIO + 8, 8,
				 VBACKEND_DIR_READ, 0, 1))
			_exit(1);
		if (write(sync[1], "S", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(sync[1]);
	ASSERT_EQ(POLLIN, vb_poll(sync[0], POLLIN, VB_WAIT_MS) & POLLIN);
	ASSERT_EQ(1, read(sync[0], &c, 1));
	/* only the child holds the VMM now */
	vb_close(&self->vmm);
	wait_pending(_metadata, self->be, 2);
	ASSERT_EQ(1, vb_read_event(self->be, &ev, VB_WAIT_MS));
	ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev.type);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
	ASSERT_TRUE(WIFSIGNALED(status));
	close(sync[0]);

	EXPECT_NE(0, vb_poll(self->be, POLLIN, VB_WAIT_MS) & POLLHUP);
	/* the in-flight access died with its vCPU */
	ret = vb_complete(self->be, ev.seq, 0, 0);
	EXPECT_EQ(-1, ret);
	EXPECT_TRUE(errno == ENOENT || errno == EPIPE)
		TH_LOG("completion after frontend death: %s", strerror(errno));
	backend_ops_epipe(_metadata, self->be, trap, 1, 1, 1);
	drain_to_eof(_metadata, self->be);
	if (vb_stats_wait_pending(0, VB_WAIT_MS) != -1)
		EXPECT_EQ(0, vb_stats_wait_pending(0, VB_WAIT_MS));
}

#define NFLIGHT	4

/*
 * The backend closes with accesses read but not completed, and others
 * never read: every vCPU is released with EPIPE, quickly, and the VMM hears
 * PEER_GONE. A new backend then binds and serves.
 */
TEST_F(life, backend_close_with_traps_in_flight)
{
	struct vbackend_event ev[2];
	struct vb_fwd f[NFLIGHT];
	long t0;

	bind_backend(_metadata, self);
	for (int i = 0; i < NFLIGHT; i++) {
		ASSERT_EQ(0, vb_fwd_start(&f[i], self->vmm, 0, MMIO + 8 * i, 8,
					  VBACKEND_DIR_READ, 0, i));
	}
	wait_pending(_metadata, self->be, NFLIGHT);
	/* two in flight, two still queued */
	ASSERT_EQ((ssize_t)sizeof(ev), read(self->be, ev, sizeof(ev)));
	EXPECT_EQ(POLLIN, vb_poll(self->be, POLLIN, 0));
	for (int i = 0; i < NFLIGHT; i++)
		EXPECT_TRUE(vb_fwd_busy(&f[i]));

	t0 = vb_now_ms();
	vb_close(&self->be);
	for (int i = 0; i < NFLIGHT; i++) {
		ASSERT_EQ(0, vb_fwd_join(&f[i], 2000))
			TH_LOG("access %d still waits on a closed backend", i);
		EXPECT_EQ(-1, f[i].ret);
		EXPECT_EQ(EPIPE, f[i].err) TH_LOG("access %d: %s", i,
						  strerror(f[i].err));
	}
	EXPECT_GT(2000, vb_now_ms() - t0);
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_GONE, &ev[0],
				   VB_WAIT_MS));
	if (vb_stats_wait_pending(0, VB_WAIT_MS) != -1)
		EXPECT_EQ(0, vb_stats_wait_pending(0, VB_WAIT_MS));

	/* restart: a new backend binds and serves */
	bind_backend(_metadata, self);
	round_trip(_metadata, self->vmm, self->be, 0x600d);
}

/*
 * A backend process is killed holding one access in flight and one
 * queued: both vCPUs get EPIPE, and a new backend binds and serves.
 */
TEST_F(life, backend_killed_holding_traps)
{
	struct vbackend_event ev;
	struct vb_fwd f[2];
	int sync[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int be;

		close(sync[0]);
		alarm(30);
		be = backend_bind_to(self->vmm);
		if (be < 0)
			_exit(10);
		if (vb_trap_add(be, 0, MMIO, MMIO_SIZE, NULL))
			_exit(11);
		if (write(sync[1], "B", 1) != 1)
			_exit(12);
		if (read(be, &ev, sizeof(ev)) != sizeof(ev) ||
		    ev.type != VBACKEND_EVENT_TRAP)
			_exit(13);
		if (write(sync[1], "R", 1) != 1)
			_exit(14);
		for (;;)
			pause();
	}
	close(sync[1]);
	ASSERT_EQ(0, wait_byte(sync[0], 'B')) TH_LOG("child did not bind");
	ASSERT_EQ(0, vb_fwd_start(&f[0], self->vmm, 0, MMIO, 8,
				  VBACKEND_DIR_READ, 0, 0));
	ASSERT_EQ(0, wait_byte(sync[0], 'R')) TH_LOG("child read nothing");
	ASSERT_EQ(0, vb_fwd_start(&f[1], self->vmm, 0, MMIO + 8, 8,
				  VBACKEND_DIR_READ, 0, 1));
	/* the one the child read is in flight, the second is queued */
	wait_pending(_metadata, -1, 2);
	EXPECT_TRUE(vb_fwd_busy(&f[0]));
	EXPECT_TRUE(vb_fwd_busy(&f[1]));

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	close(sync[0]);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, vb_fwd_join(&f[i], 2000))
			TH_LOG("access %d outlives the killed backend", i);
		EXPECT_EQ(-1, f[i].ret);
		EXPECT_EQ(EPIPE, f[i].err) TH_LOG("access %d: %s", i,
						  strerror(f[i].err));
	}
	ASSERT_EQ(1, vb_wait_event(self->vmm, VBACKEND_EVENT_PEER_GONE, &ev,
				   VB_WAIT_MS));

	bind_backend(_metadata, self);
	round_trip(_metadata, self->vmm, self->be, 0xa11ce);
}

/*
 * A vCPU killed while it waits abandons its accesses: the queued one is
 * withdrawn, the one in flight can no longer be completed, and the pair
 * carries on.
 */
TEST_F(life, vcpu_killed_abandons_access)
{
	struct vbackend_event ev;
	int sync[2], status;
	pid_t pid;

	bind_backend(_metadata, self);
	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vb_fwd f;

		close(sync[0]);
		close(self->be);
		alarm(30);
		if (vb_fwd_start(&f, self->vmm, 0, MMIO, 8, VBACKEND_DIR_READ,
				 0, 0))
			_exit(1);
		if (write(sync[1], "1", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(sync[1]);
	ASSERT_EQ(0, wait_byte(sync[0], '1'));
	ASSERT_EQ(1, vb_read_event(self->be, &ev, VB_WAIT_MS));
	ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev.type);
	ASSERT_EQ(MMIO, ev.u.access.addr);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS))
		TH_LOG("a vCPU blocked in VMM_ACCESS did not die");
	ASSERT_TRUE(WIFSIGNALED(status));
	close(sync[0]);

	if (vb_stats_wait_pending(0, VB_WAIT_MS) != -1)
		EXPECT_EQ(0, vb_stats_wait_pending(0, VB_WAIT_MS));
	EXPECT_EQ(-1, vb_complete(self->be, ev.seq, 0, 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
	/* nothing else changed for the pair */
	round_trip(_metadata, self->vmm, self->be, 77);
}

/* The same with the access still queued, never read. */
TEST_F(life, vcpu_killed_withdraws_queued_access)
{
	struct vbackend_event ev;
	int sync[2], status;
	pid_t pid;

	bind_backend(_metadata, self);
	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vb_fwd f;

		close(sync[0]);
		close(self->be);
		alarm(30);
		if (vb_fwd_start(&f, self->vmm, 0, MMIO + 8, 8,
				 VBACKEND_DIR_READ, 0, 0))
			_exit(1);
		if (write(sync[1], "1", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(sync[1]);
	ASSERT_EQ(0, wait_byte(sync[0], '1'));
	wait_pending(_metadata, self->be, 1);
	ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS) & POLLIN);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
	close(sync[0]);
	if (vb_stats_wait_pending(0, VB_WAIT_MS) != -1)
		EXPECT_EQ(0, vb_stats_wait_pending(0, VB_WAIT_MS));
	/* withdrawn: nothing to read */
	ASSERT_EQ(0, fcntl(self->be, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(self->be, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fcntl(self->be, F_SETFL, 0));
	round_trip(_metadata, self->vmm, self->be, 78);
}

TEST_F(life, vmm_reset)
{
	struct vbackend_vmm_ctl c;
	struct vbackend_event ev;
	unsigned int seen;

	bind_backend(_metadata, self);
	ASSERT_EQ(0, vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET));
	ASSERT_EQ(1, vb_read_event(self->be, &ev, VB_WAIT_MS));
	EXPECT_EQ((__u32)VBACKEND_EVENT_RESET, ev.type);
	EXPECT_EQ(0ULL, ev.seq);
	EXPECT_EQ(0U, ev.flags);
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));

	/* two resets before the backend reads: at least one record */
	ASSERT_EQ(0, vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET));
	ASSERT_EQ(0, vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET));
	seen = vb_drain_events(self->be, VB_QUIET_MS, NULL);
	EXPECT_EQ(1U << VBACKEND_EVENT_RESET, seen);

	memset(&c, 0, sizeof(c));
	c.argsz = sizeof(c);
	c.flags = 1;
	ASSERT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_RESET, &c));
	EXPECT_EQ(EINVAL, errno);
	c.flags = 0;
	c.reserved[0] = 1;
	ASSERT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_RESET, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, VB_QUIET_MS));

	/* a reset ends nothing: the pair still works */
	round_trip(_metadata, self->vmm, self->be, 42);

	/* without a backend there is nobody to reset */
	vb_close(&self->be);
	ASSERT_EQ(-1, vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET));
	EXPECT_EQ(ENOTCONN, errno);
}

/* Bind, serve, close, many times over: nothing accumulates. */
/* read() into memory that faults: EFAULT, with the whole buffer unwritable. */
static ssize_t read_faulting(int fd)
{
	size_t len = 4 * VB_EVENT_SIZE;
	void *bad = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ssize_t n;
	int err;

	if (bad == MAP_FAILED)
		return -2;
	n = read(fd, bad, len);
	err = errno;
	munmap(bad, len);
	errno = err;
	return n;
}

/*
 * A read() that fails with EFAULT consumes nothing: PEER_BOUND, NOTIFIERS
 * and IRQ on the VMM side, RESET and PEER_GONE on the backend side are
 * all still there, in order, for the next read().
 */
TEST_F(life, read_efault_consumes_nothing)
{
	struct vbackend_event ev[4];
	int efd = vb_eventfd();
	__u32 id;

	ASSERT_LE(0, efd);
	bind_backend(_metadata, self);
	ASSERT_EQ(0, vb_irq_add(self->be, efd, VBACKEND_IRQ_TARGET_LINE, 5, 0,
				&id));
	ASSERT_EQ(0, vb_efd_signal(efd, 1));
	ASSERT_EQ(POLLIN, vb_poll(self->vmm, POLLIN, VB_WAIT_MS) & POLLIN);
	vb_sleep_ms(50);

	EXPECT_EQ(-1, read_faulting(self->vmm));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(3 * VB_EVENT_SIZE, vb_read_events(self->vmm, ev, 4, 0))
		TH_LOG("records lost to a faulting read()");
	EXPECT_EQ((__u32)VBACKEND_EVENT_PEER_BOUND, ev[0].type);
	EXPECT_EQ((__u32)VBACKEND_EVENT_NOTIFIERS, ev[1].type);
	EXPECT_EQ((__u32)VBACKEND_EVENT_IRQ, ev[2].type);
	EXPECT_EQ(id, ev[2].u.irq.id);

	/* the backend side: RESET, then PEER_GONE */
	ASSERT_EQ(0, vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET));
	vb_close(&self->vmm);
	ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS) & POLLIN);
	EXPECT_EQ(-1, read_faulting(self->be));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(2 * VB_EVENT_SIZE, vb_read_events(self->be, ev, 4, 0))
		TH_LOG("records lost to a faulting read()");
	EXPECT_EQ((__u32)VBACKEND_EVENT_RESET, ev[0].type);
	EXPECT_EQ((__u32)VBACKEND_EVENT_PEER_GONE, ev[1].type);
	EXPECT_EQ(0, read(self->be, ev, sizeof(ev)));
	close(efd);
}

/* A completion written once the frontend is gone: EPIPE, as documented. */
TEST_F(life, complete_after_frontend_gone_epipe)
{
	bind_backend(_metadata, self);
	round_trip(_metadata, self->vmm, self->be, 5);
	vb_close(&self->vmm);
	ASSERT_EQ(1, vb_wait_event(self->be, VBACKEND_EVENT_PEER_GONE,
				   &(struct vbackend_event){ 0 }, VB_WAIT_MS));
	EXPECT_EQ(-1, vb_complete(self->be, 1, 0, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, vb_complete(self->be, 12345, 0, 0));
	EXPECT_EQ(EPIPE, errno);
}

TEST_F(life, rebind_cycles)
{
	for (int i = 0; i < 20; i++) {
		bind_backend(_metadata, self);
		round_trip(_metadata, self->vmm, self->be, i);
		vb_close(&self->be);
	}
}

/* Race: notifier changes and traffic against teardown ------------------- */

#define RACE_N	4

struct race {
	int vmm;
	int be;
	int kefd[RACE_N];
	int iefd[RACE_N];
	pthread_barrier_t start;
	int stop;
	int bad_err;
	const char *bad_op;
	unsigned long ops;
};

/* Record the first unexpected errno; true when the caller should stop. */
static bool race_check(struct race *r, const char *op, int err)
{
	switch (err) {
	case EPIPE:	/* the frontend died */
	case ENOTCONN:	/* the VMM has no backend anymore */
		return false;
	case EBADF:	/* our descriptor was closed */
		return true;
	}
	if (!__atomic_exchange_n(&r->bad_err, err, __ATOMIC_ACQ_REL))
		r->bad_op = op;
	return true;
}

static bool race_stopped(struct race *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

static void *race_kicks(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(&r->start);
	while (!race_stopped(r)) {
		for (int i = 0; i < RACE_N; i++) {
			__u32 id;

			if (vb_kick_add(r->be, 0, MMIO + 8 * i, 4, 0,
					r->kefd[i], &id)) {
				if (race_check(r, "KICK_ADD", errno))
					return NULL;
				continue;
			}
			if (vb_del(r->be, VBACKEND_KICK_DEL, id) &&
			    race_check(r, "KICK_DEL", errno))
				return NULL;
			__atomic_add_fetch(&r->ops, 2, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void *race_irqs(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(&r->start);
	while (!race_stopped(r)) {
		for (int i = 0; i < RACE_N; i++) {
			__u32 id;

			if (vb_irq_add(r->be, r->iefd[i],
				       VBACKEND_IRQ_TARGET_LINE, i, 0, &id)) {
				if (race_check(r, "IRQ_ADD", errno))
					return NULL;
				continue;
			}
			vb_efd_signal(r->iefd[i], 1);
			if (vb_del(r->be, VBACKEND_IRQ_DEL, id) &&
			    race_check(r, "IRQ_DEL", errno))
				return NULL;
			__atomic_add_fetch(&r->ops, 2, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* A vCPU writing to the kick addresses: kicked, or trapped and served. */
static void *race_vcpu(void *arg)
{
	struct vbackend_vmm_access a;
	struct race *r = arg;

	pthread_barrier_wait(&r->start);
	for (unsigned int n = 0; !race_stopped(r); n++) {
		memset(&a, 0, sizeof(a));
		a.argsz = sizeof(a);
		a.addr = MMIO + 8 * (n % RACE_N);
		a.size = 4;
		a.dir = VBACKEND_DIR_WRITE;
		a.data = n & 0xffff;
		if (ioctl(r->vmm, VBACKEND_VMM_ACCESS, &a)) {
			if (race_check(r, "VMM_ACCESS", errno))
				return NULL;
			/* no backend anymore: do not spin hard */
			vb_sleep_ms(1);
		}
	}
	return NULL;
}

/* The backend's server loop: complete every trap it reads. */
static void *race_server(void *arg)
{
	struct vbackend_event ev[8];
	struct race *r = arg;

	pthread_barrier_wait(&r->start);
	while (!race_stopped(r)) {
		struct pollfd p = { .fd = r->be, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10) < 0 || (p.revents & POLLNVAL))
			return NULL;
		n = read(r->be, ev, sizeof(ev));
		if (n < 0) {
			if (errno == EAGAIN)
				continue;
			if (race_check(r, "read", errno))
				return NULL;
			continue;
		}
		if (!n) {
			/* end of file: the frontend is gone */
			vb_sleep_ms(1);
			continue;
		}
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			if (ev[i].type != VBACKEND_EVENT_TRAP)
				continue;
			if (vb_complete(r->be, ev[i].seq, 0, 0) < 0 &&
			    errno != ENOENT &&
			    race_check(r, "completion", errno))
				return NULL;
		}
	}
	return NULL;
}

static int join_ms(pthread_t th, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(th, NULL, &ts);
}

/*
 * For about two seconds: one thread adds and deletes kicks, one adds,
 * signals and deletes interrupts, a vCPU writes to the kick addresses and
 * the backend serves what traps, while the main thread closes the pair
 * under them, @vmm_first choosing which side goes first. Only the errnos
 * of a dying pair may come back, and nothing may be left behind.
 */
static void race_teardown(struct __test_metadata *_metadata,
			  FIXTURE_DATA(life) *self, bool vmm_first)
{
	static const char * const names[] = {
		"kicks", "irqs", "vcpu", "server",
	};
	void *(*const fns[])(void *) = {
		race_kicks, race_irqs, race_vcpu, race_server,
	};
	unsigned int seed = (unsigned int)vb_now_ms();
	long end = vb_now_ms() + 2000;
	unsigned long ops = 0;
	int rounds = 0;

	do {
		pthread_t th[VB_ARRAY_SIZE(fns)];
		struct race r;

		memset(&r, 0, sizeof(r));
		if (self->vmm < 0) {
			self->vmm = vmm_create();
			ASSERT_LE(0, self->vmm);
		}
		r.vmm = self->vmm;
		r.be = backend_bind_to(self->vmm);
		ASSERT_LE(0, r.be);
		self->be = r.be;
		ASSERT_EQ(0, vb_trap_add(r.be, 0, MMIO, MMIO_SIZE, NULL));
		ASSERT_EQ(0, fcntl(r.be, F_SETFL, O_NONBLOCK));
		for (int i = 0; i < RACE_N; i++) {
			r.kefd[i] = vb_eventfd();
			ASSERT_LE(0, r.kefd[i]);
			r.iefd[i] = vb_eventfd();
			ASSERT_LE(0, r.iefd[i]);
		}
		ASSERT_EQ(0, pthread_barrier_init(&r.start, NULL,
						  VB_ARRAY_SIZE(fns) + 1));
		for (size_t t = 0; t < VB_ARRAY_SIZE(fns); t++) {
			ASSERT_EQ(0, pthread_create(&th[t], NULL, fns[t], &r));
		}
		pthread_barrier_wait(&r.start);

		/* let them run a little, then pull the pair away */
		vb_sleep_ms(rand_r(&seed) % 20);
		if (vmm_first) {
			vb_close(&self->vmm);
			vb_sleep_ms(rand_r(&seed) % 5);
			vb_close(&self->be);
		} else {
			vb_close(&self->be);
			vb_sleep_ms(rand_r(&seed) % 5);
			vb_close(&self->vmm);
		}
		__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
		for (size_t t = 0; t < VB_ARRAY_SIZE(fns); t++) {
			ASSERT_EQ(0, join_ms(th[t], VB_WAIT_MS))
				TH_LOG("thread %s hangs after teardown",
				       names[t]);
		}
		pthread_barrier_destroy(&r.start);
		for (int i = 0; i < RACE_N; i++) {
			close(r.kefd[i]);
			close(r.iefd[i]);
		}
		ASSERT_EQ(0, r.bad_err) TH_LOG("round %d: %s: unexpected %s",
					       rounds, r.bad_op,
					       strerror(r.bad_err));
		ops += r.ops;
		rounds++;
	} while (vb_now_ms() < end);
	TH_LOG("%d rounds, %lu notifier changes", rounds, ops);
	EXPECT_LT(0UL, ops);
}

TEST_F_TIMEOUT(life, race_notifiers_vs_frontend_close, 60)
{
	race_teardown(_metadata, self, true);
}

TEST_F_TIMEOUT(life, race_notifiers_vs_backend_close, 60)
{
	race_teardown(_metadata, self, false);
}

TEST_HARNESS_MAIN
