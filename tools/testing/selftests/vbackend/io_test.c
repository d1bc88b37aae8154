// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: session fds as I/O objects, the way eventfds and pipes are:
 * poll() says a backend session is writable, readv()/writev() move
 * records across several buffers in one call, and io_uring reads and
 * writes complete on blocking fds.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/io_uring.h>
#include "vbackend_util.h"

#define MMIO		0xe0000000ULL
#define MMIO_SIZE	0x1000ULL

FIXTURE(io) {
	int vmm;
	int be;
	long refcnt0;
};

FIXTURE_SETUP(io)
{
	self->vmm = -1;
	self->be = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, NULL));
}

FIXTURE_TEARDOWN(io)
{
	vb_close(&self->be);
	vb_close(&self->vmm);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

/* Start a read of MMIO + @off from a vCPU thread; wait for its record. */
static void start_read(struct __test_metadata *_metadata,
		       FIXTURE_DATA(io) *self, struct vb_fwd *f, __u64 off)
{
	ASSERT_EQ(0, vb_fwd_start(f, self->vmm, 0, MMIO + off, 4,
				  VBACKEND_DIR_READ, 0, 0));
	ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS) & POLLIN);
}

/* A backend session never blocks a writer: EPOLLOUT, always. */
TEST_F(io, poll_out_on_backend)
{
	EXPECT_EQ(POLLOUT, vb_poll(self->be, POLLOUT, 0) & POLLOUT);
	EXPECT_EQ(POLLOUT, vb_poll(self->be, POLLIN | POLLOUT, VB_WAIT_MS) &
		  (POLLIN | POLLOUT));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * readv() of two records with one queued returns that one at once, on a
 * blocking fd (it does not wait for a second record).
 */
TEST_F(io, readv_returns_what_is_queued)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct vbackend_event ev[2];
	struct iovec iov[2] = {
		{ .iov_base = &ev[0], .iov_len = sizeof(ev[0]) },
		{ .iov_base = &ev[1], .iov_len = sizeof(ev[1]) },
	};
	struct vb_fwd f;
	long t0, took;
	ssize_t n;

	start_read(_metadata, self, &f, 0x10);
	/* without the fix the call would block: an alarm ends it */
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, &old));
	alarm(2);
	t0 = vb_now_ms();
	n = readv(self->be, iov, 2);
	took = vb_now_ms() - t0;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	ASSERT_EQ(VB_EVENT_SIZE, n);
	EXPECT_GT(1000, took) TH_LOG("readv() waited %ld ms", took);
	EXPECT_EQ((__u32)VBACKEND_EVENT_TRAP, ev[0].type);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev[0].seq, 7, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(7ULL, f.acc.data);
}

/* A record split across two buffers, and two completions by writev(). */
TEST_F(io, readv_writev_split_buffers)
{
	struct vbackend_event ev[2];
	struct vbackend_completion c[2];
	struct iovec in[2] = {
		{ .iov_base = &ev[0], .iov_len = 40 },
		{ .iov_base = (char *)&ev[0] + 40, .iov_len = 2 * VB_EVENT_SIZE - 40 },
	};
	struct iovec out[2] = {
		{ .iov_base = &c[0], .iov_len = 8 },
		{ .iov_base = (char *)&c[0] + 8, .iov_len = 2 * VB_COMP_SIZE - 8 },
	};
	struct vb_fwd f[2];
	int pending;

	start_read(_metadata, self, &f[0], 0x20);
	ASSERT_EQ(0, vb_fwd_start(&f[1], self->vmm, 0, MMIO + 0x30, 4,
				  VBACKEND_DIR_READ, 0, 1));
	pending = vb_stats_wait_pending(2, VB_WAIT_MS);
	if (pending < 0)
		vb_sleep_ms(500);	/* no debugfs: give the second one time */
	else
		ASSERT_EQ(0, pending);
	ASSERT_EQ(2 * VB_EVENT_SIZE, readv(self->be, in, 2));
	memset(c, 0, sizeof(c));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev[i].type);
		c[i].seq = ev[i].seq;
		c[i].data = ev[i].u.access.addr - MMIO;
	}
	ASSERT_EQ(2 * VB_COMP_SIZE, writev(self->be, out, 2));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, vb_fwd_join(&f[i], VB_WAIT_MS));
		EXPECT_EQ(0, f[i].ret);
		EXPECT_EQ(f[i].acc.addr - MMIO, f[i].acc.data);
	}
}

/* ---- a minimal io_uring, without liburing -------------------------------- */

struct ring {
	int fd;
	void *sq, *cq;
	size_t sq_len, cq_len, sqes_len;
	struct io_uring_sqe *sqes;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

/* Return: 0, or an errno (ENOSYS, EPERM: no io_uring here). */
static int ring_init(struct ring *r)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return errno;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sq = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return ENOMEM;
	r->sq_tail = (unsigned int *)((char *)r->sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq + p.cq_off.cqes);
	return 0;
}

static void ring_exit(struct ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq && r->cq != MAP_FAILED)
		munmap(r->cq, r->cq_len);
	if (r->sq && r->sq != MAP_FAILED)
		munmap(r->sq, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* Submit one read or write of @len bytes at @buf on @fd: 0 or -1. */
static int ring_rw(struct ring *r, __u8 op, int fd, void *buf, __u32 len)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (__u64)(uintptr_t)buf;
	sqe->len = len;
	sqe->off = -1ULL;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) == 1 ?
	       0 : -1;
}

/* The next completion within @ms: 1 with its result in *@res, else 0. */
static int ring_wait(struct ring *r, int ms, int *res)
{
	unsigned int head;

	if (!(vb_poll(r->fd, POLLIN, ms) & POLLIN))
		return 0;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	*res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

/*
 * io_uring on a blocking backend session: the read of a queued record
 * and the write of its completion both complete, and so does the vCPU's
 * access.
 */
TEST_F(io, io_uring_read_and_complete)
{
	struct vbackend_completion c;
	struct vbackend_event ev;
	struct vb_fwd f;
	struct ring r;
	int ret, res;

	ret = ring_init(&r);
	if (ret == ENOSYS || ret == EPERM) {
		ring_exit(&r);
		SKIP(return, "no io_uring: %s", strerror(ret));
	}
	ASSERT_EQ(0, ret);
	start_read(_metadata, self, &f, 0x40);

	memset(&ev, 0, sizeof(ev));
	ASSERT_EQ(0, ring_rw(&r, IORING_OP_READ, self->be, &ev, sizeof(ev)));
	EXPECT_EQ(1, ring_wait(&r, VB_WAIT_MS, &res));
	EXPECT_EQ(VB_EVENT_SIZE, res);
	ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev.type);

	memset(&c, 0, sizeof(c));
	c.seq = ev.seq;
	c.data = 0x5a5a;
	ASSERT_EQ(0, ring_rw(&r, IORING_OP_WRITE, self->be, &c, sizeof(c)));
	EXPECT_EQ(1, ring_wait(&r, VB_WAIT_MS, &res))
		TH_LOG("the io_uring write of a completion never completed");
	EXPECT_EQ(VB_COMP_SIZE, res);
	/* close the backend first: a stuck vCPU gets EPIPE, not a hang */
	if (vb_fwd_join(&f, VB_WAIT_MS))
		vb_close(&self->be);
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(0x5a5aULL, f.acc.data);
	ring_exit(&r);
}

TEST_HARNESS_MAIN
