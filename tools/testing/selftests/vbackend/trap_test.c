// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: trap ranges and the trap record stream. A "vCPU" thread
 * forwards an access with VMM_ACCESS (which blocks), the backend reads the
 * TRAP record and completes it with write(). Covers the range refusals,
 * every field of a record, batches in one read()/write(), completion
 * errors, poll() and the read() rules.
 */
#define _GNU_SOURCE
#include "vbackend_util.h"

#define MMIO		0xfe000000ULL	/* the fixture's MMIO range */
#define MMIO_SIZE	0x1000ULL
#define PIO		0x1f0ULL	/* its port I/O range */
#define PIO_SIZE	0x10ULL

FIXTURE(trap) {
	int vmm;
	int be;
	long refcnt0;
	__u32 mmio_id;
	__u32 pio_id;
};

FIXTURE_SETUP(trap)
{
	self->vmm = -1;
	self->be = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, &self->mmio_id));
	ASSERT_EQ(0, vb_trap_add(self->be, VBACKEND_F_PIO, PIO, PIO_SIZE,
				 &self->pio_id));
}

FIXTURE_TEARDOWN(trap)
{
	/* closing the backend first fails any access a test left behind */
	vb_close(&self->be);
	vb_close(&self->vmm);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

static __u64 mask(__u32 size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* Read exactly one TRAP record within the bound. */
static void read_trap(struct __test_metadata *_metadata, int be,
		      struct vbackend_event *ev)
{
	ASSERT_EQ(1, vb_read_event(be, ev, VB_WAIT_MS))
		TH_LOG("no trap record: %s", strerror(errno));
	ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev->type);
}

static void check_record(struct __test_metadata *_metadata,
			 const struct vbackend_event *ev, __u64 addr,
			 __u32 size, __u8 space, __u8 dir, __u64 data,
			 __u32 vcpu)
{
	EXPECT_EQ((__u32)VBACKEND_EVENT_TRAP, ev->type);
	EXPECT_EQ(0U, ev->flags);
	EXPECT_LE(1ULL, ev->seq);
	EXPECT_EQ(addr, ev->u.access.addr);
	EXPECT_EQ(data, ev->u.access.data);
	EXPECT_EQ(vcpu, ev->u.access.vcpu);
	EXPECT_EQ(size, ev->u.access.size);
	EXPECT_EQ(space, ev->u.access.space);
	EXPECT_EQ(dir, ev->u.access.dir);
	EXPECT_EQ(0, ev->u.access.reserved0);
	EXPECT_EQ(0U, ev->u.access.reserved[0]);
	EXPECT_EQ(0U, ev->u.access.reserved[1]);
	/* the rest of the payload is zero too */
	for (size_t i = sizeof(ev->u.access); i < sizeof(ev->u.raw); i++) {
		EXPECT_EQ(0, ev->u.raw[i]) TH_LOG("payload byte %zu", i);
	}
}

/* Ranges ------------------------------------------------------------------ */

TEST_F(trap, add_del)
{
	__u32 id, id2;

	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x10000, 0x100, &id));
	EXPECT_LE(1U, id);
	EXPECT_NE(self->mmio_id, id);
	EXPECT_NE(self->pio_id, id);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, id));
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_TRAP_DEL, id));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_TRAP_DEL, 0));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_TRAP_DEL, 123456));
	ASSERT_EQ(ENOENT, errno);
	/* the range is free again */
	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x10000, 0x100, &id2));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, id2));
}

TEST_F(trap, add_refusals)
{
	struct vbackend_trap t;
	struct vbackend_id i;

	/* empty */
	ASSERT_EQ(-1, vb_trap_add(self->be, 0, 0x10000, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_PIO, 0x100, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* unknown flags: DATAMATCH is a kick flag, not a trap one */
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_KICK_F_DATAMATCH, 0x10000,
				  0x10, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_trap_add(self->be, 1U << 31, 0x10000, 0x10, NULL));
	EXPECT_EQ(EINVAL, errno);
	memset(&t, 0, sizeof(t));
	t.argsz = sizeof(t);
	t.addr = 0x10000;
	t.size = 0x10;
	t.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_TRAP_ADD, &t));
	EXPECT_EQ(EINVAL, errno);

	memset(&i, 0, sizeof(i));
	i.argsz = sizeof(i);
	i.id = self->mmio_id;
	i.flags = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_TRAP_DEL, &i));
	EXPECT_EQ(EINVAL, errno);
	i.flags = 0;
	i.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_TRAP_DEL, &i));
	EXPECT_EQ(EINVAL, errno);
	/* refused deletions deleted nothing */
	ASSERT_EQ(-1, vb_trap_add(self->be, 0, MMIO, 1, NULL));
	EXPECT_EQ(EEXIST, errno);
}

TEST_F(trap, add_overflow)
{
	ASSERT_EQ(-1, vb_trap_add(self->be, 0, ~0ULL - 0xfff, 0x2000, NULL));
	EXPECT_EQ(EOVERFLOW, errno);
	ASSERT_EQ(-1, vb_trap_add(self->be, 0, 0x1000, ~0ULL, NULL));
	EXPECT_EQ(EOVERFLOW, errno);
}

TEST_F(trap, pio_bound)
{
	__u32 id;

	/* ending at 0x10000 is fine */
	ASSERT_EQ(0, vb_trap_add(self->be, VBACKEND_F_PIO, 0xfff0, 0x10, &id));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, id));
	ASSERT_EQ(0, vb_trap_add(self->be, VBACKEND_F_PIO, 0xffff, 1, &id));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, id));
	/* past it is not */
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_PIO, 0xfff0, 0x11, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_PIO, 0x10000, 1, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_PIO, 0, 0x10001, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* the same numbers are fine as MMIO */
	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x10000, 1, NULL));
	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0xfff0, 0x10, NULL));
}

TEST_F(trap, overlap_eexist)
{
	const struct {
		__u64 addr, size;
	} bad[] = {
		{ MMIO, MMIO_SIZE },			/* identical */
		{ MMIO, 1 },				/* same start */
		{ MMIO + 0x100, 0x10 },			/* inside */
		{ MMIO - 0x10, 0x11 },			/* last byte overlaps */
		{ MMIO + MMIO_SIZE - 1, 0x10 },		/* first byte overlaps */
		{ MMIO - 0x1000, 0x3000 },		/* covers it */
	};
	__u32 a, b;

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, vb_trap_add(self->be, 0, bad[i].addr,
					  bad[i].size, NULL))
			TH_LOG("[%#llx, +%#llx) overlaps", bad[i].addr,
			       bad[i].size);
		EXPECT_EQ(EEXIST, errno);
	}
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_PIO, PIO + 4, 1, NULL));
	EXPECT_EQ(EEXIST, errno);
	/* adjacent on both sides */
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO - 0x10, 0x10, &a));
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO + MMIO_SIZE, 0x10, &b));
	/* the other space is another address space */
	ASSERT_EQ(0, vb_trap_add(self->be, VBACKEND_F_PIO, 0x8000, 0x100, NULL));
	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x8000, 0x100, NULL));
	ASSERT_EQ(0, vb_trap_add(self->be, 0, PIO, PIO_SIZE, NULL));
}

TEST_F(trap, max_traps_enospc)
{
	struct vbackend_info info;
	__u32 id, last = 0;

	ASSERT_EQ(0, vb_get_info(self->be, &info));
	if (info.max_traps > 65536)
		SKIP(return, "max_traps %u too large to fill", info.max_traps);
	/* the fixture holds two */
	for (__u32 i = 2; i < info.max_traps; i++) {
		ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x100000000ULL + i * 0x10,
					 0x10, &id))
			TH_LOG("trap %u of %u: %s", i + 1, info.max_traps,
			       strerror(errno));
		last = id;
	}
	ASSERT_EQ(-1, vb_trap_add(self->be, 0, 0x200000000ULL, 0x10, NULL));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_PIO, 0x8000, 0x10, NULL));
	ASSERT_EQ(ENOSPC, errno);
	/* one freed, one fits */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL,
			    last ? last : self->mmio_id));
	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0x200000000ULL, 0x10, NULL));
}

/* Round trips ------------------------------------------------------------- */

TEST_F(trap, read_round_trip_sizes)
{
	static const __u32 sizes[] = { 1, 2, 4, 8 };
	const __u64 reply = 0x8877665544332211ULL;

	for (size_t i = 0; i < VB_ARRAY_SIZE(sizes); i++) {
		__u32 size = sizes[i];
		__u64 addr = MMIO + 0x10 * (i + 1);
		struct vbackend_event ev;
		struct vb_fwd f;

		ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, addr, size,
					  VBACKEND_DIR_READ, 0, 3 + i));
		read_trap(_metadata, self->be, &ev);
		check_record(_metadata, &ev, addr, size, VBACKEND_SPACE_MMIO,
			     VBACKEND_DIR_READ, 0, 3 + i);
		/* it waits for us */
		EXPECT_TRUE(vb_fwd_busy(&f));
		ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, reply, 0));
		ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
		EXPECT_EQ(0, f.ret) TH_LOG("size %u: %s", size,
					   strerror(f.err));
		EXPECT_EQ(reply & mask(size), f.acc.data)
			TH_LOG("size %u", size);
		EXPECT_EQ(0U, f.acc.result);
	}
}

TEST_F(trap, write_round_trip_sizes)
{
	static const __u32 sizes[] = { 1, 2, 4, 8 };

	for (size_t i = 0; i < VB_ARRAY_SIZE(sizes); i++) {
		__u32 size = sizes[i];
		__u64 data = 0xa1b2c3d4e5f60718ULL & mask(size);
		__u64 addr = MMIO + 0x100 + 8 * i;
		struct vbackend_event ev;
		struct vb_fwd f;

		ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, addr, size,
					  VBACKEND_DIR_WRITE, data, 7));
		read_trap(_metadata, self->be, &ev);
		check_record(_metadata, &ev, addr, size, VBACKEND_SPACE_MMIO,
			     VBACKEND_DIR_WRITE, data, 7);
		/* data of a write's completion is ignored */
		ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, ~0ULL, 0));
		ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
		EXPECT_EQ(0, f.ret) TH_LOG("size %u: %s", size,
					   strerror(f.err));
		EXPECT_EQ(0U, f.acc.result);
	}
}

TEST_F(trap, pio_round_trip)
{
	struct vbackend_event ev;
	struct vb_fwd f;
	__u64 data = 0;

	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, VBACKEND_F_PIO, PIO + 6, 2,
				  VBACKEND_DIR_WRITE, 0xbeef, 1));
	read_trap(_metadata, self->be, &ev);
	check_record(_metadata, &ev, PIO + 6, 2, VBACKEND_SPACE_PIO,
		     VBACKEND_DIR_WRITE, 0xbeef, 1);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);

	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, VBACKEND_F_PIO, PIO, 4,
				  VBACKEND_DIR_READ, 0, 2));
	read_trap(_metadata, self->be, &ev);
	check_record(_metadata, &ev, PIO, 4, VBACKEND_SPACE_PIO,
		     VBACKEND_DIR_READ, 0, 2);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0x1234567890ULL,
					    0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(0x34567890ULL, f.acc.data);

	/* the PIO range is not MMIO, and the MMIO range not PIO */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, PIO, 1, VBACKEND_DIR_READ,
				      &data, NULL, VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, VBACKEND_F_PIO, MMIO & 0xffff,
				      1, VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
}

/*
 * VBACKEND_SPACE_VMM: the VMM's own registers, at the very addresses of a
 * guest-visible MMIO range; no guest access reaches them, no kick there.
 */
TEST_F(trap, vmm_space_round_trip)
{
	struct vbackend_event ev;
	struct vb_fwd f;
	__u64 data = 0;
	int efd = vb_eventfd();
	__u32 id;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vb_trap_add(self->be, VBACKEND_F_VMM_SPACE, MMIO, 0x100, &id));
	/* both flags: which space? */
	EXPECT_EQ(-1, vb_trap_add(self->be, VBACKEND_F_VMM_SPACE | VBACKEND_F_PIO,
				  0x100, 0x10, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* no kick in it: the flag is not a kick flag */
	EXPECT_EQ(-1, vb_kick_add(self->be, VBACKEND_F_VMM_SPACE, MMIO, 4, 0, efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	close(efd);

	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, VBACKEND_F_VMM_SPACE, MMIO + 8, 4,
				  VBACKEND_DIR_WRITE, 0x1234, 0));
	read_trap(_metadata, self->be, &ev);
	check_record(_metadata, &ev, MMIO + 8, 4, VBACKEND_SPACE_VMM,
		     VBACKEND_DIR_WRITE, 0x1234, 0);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);

	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, VBACKEND_F_VMM_SPACE, MMIO, 8,
				  VBACKEND_DIR_READ, 0, 0));
	read_trap(_metadata, self->be, &ev);
	check_record(_metadata, &ev, MMIO, 8, VBACKEND_SPACE_VMM,
		     VBACKEND_DIR_READ, 0, 0);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0xfeedULL, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0xfeedULL, f.acc.data);

	/* the same address as MMIO is the MMIO range's, not this one */
	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, MMIO + 8, 4,
				  VBACKEND_DIR_READ, 0, 0));
	read_trap(_metadata, self->be, &ev);
	check_record(_metadata, &ev, MMIO + 8, 4, VBACKEND_SPACE_MMIO,
		     VBACKEND_DIR_READ, 0, 0);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	/* outside the VMM range: nobody's */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, VBACKEND_F_VMM_SPACE, MMIO + 0x100, 4,
				      VBACKEND_DIR_READ, &data, NULL, VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, VBACKEND_F_VMM_SPACE | VBACKEND_F_PIO,
				      MMIO, 4, VBACKEND_DIR_READ, &data, NULL, VB_WAIT_MS));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, id));
}

TEST_F(trap, access_refusals)
{
	static const __u32 bad_sizes[] = { 0, 3, 5, 16 };
	struct vbackend_vmm_access a;
	__u64 data;

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad_sizes); i++) {
		data = 0;
		EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, bad_sizes[i],
					      VBACKEND_DIR_READ, &data, NULL,
					      VB_WAIT_MS));
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %u", bad_sizes[i]);
	}
	data = 0;
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 4, 2, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 1U << 1, MMIO, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EINVAL, errno);
	/* written data wider than the access */
	data = 0x100;
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 1,
				      VBACKEND_DIR_WRITE, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EINVAL, errno);
	data = 1ULL << 32;
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 4,
				      VBACKEND_DIR_WRITE, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EINVAL, errno);
	/* wrapping */
	data = 0;
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, ~0ULL - 1, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EOVERFLOW, errno);
	/* reserved words */
	for (size_t r = 0; r < VB_ARRAY_SIZE(a.reserved); r++) {
		memset(&a, 0, sizeof(a));
		a.argsz = sizeof(a);
		a.addr = MMIO;
		a.size = 4;
		a.dir = VBACKEND_DIR_READ;
		a.reserved[r] = 1;
		EXPECT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_ACCESS, &a));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%zu]", r);
	}
	/* argsz and its tail */
	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a) - 4;
	a.addr = MMIO;
	a.size = 4;
	EXPECT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	/* nothing was queued by any of these */
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
}

TEST_F(trap, unclaimed_enxio)
{
	__u64 data = 0;

	/* outside every range */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, 0x1000, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	/* straddling the end of a range */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO + MMIO_SIZE - 2, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	/* straddling its start */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO - 1, 2,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	data = 1;
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO + MMIO_SIZE, 1,
				      VBACKEND_DIR_WRITE, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	/* a deleted range */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, self->mmio_id));
	data = 0;
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
}

/* The first and last bytes of a range are inside it. */
TEST_F(trap, range_edges)
{
	const __u64 addrs[] = { MMIO, MMIO + MMIO_SIZE - 8 };
	struct vbackend_event ev;
	struct vb_fwd f;

	for (size_t i = 0; i < VB_ARRAY_SIZE(addrs); i++) {
		ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, addrs[i], 8,
					  VBACKEND_DIR_READ, 0, 0));
		read_trap(_metadata, self->be, &ev);
		EXPECT_EQ(addrs[i], ev.u.access.addr);
		ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, i, 0));
		ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
		EXPECT_EQ(0, f.ret);
		EXPECT_EQ(i, f.acc.data);
	}
}

#define NBATCH	8

/* N vCPUs at once: all N records in one read(), all done in one write(). */
TEST_F(trap, batch_one_read_one_write)
{
	struct vbackend_event ev[NBATCH + 2];
	struct vbackend_completion c[NBATCH];
	struct vb_fwd f[NBATCH];
	bool seen[NBATCH] = { false };
	ssize_t n;
	int ret;

	for (int i = 0; i < NBATCH; i++) {
		ASSERT_EQ(0, vb_fwd_start(&f[i], self->vmm, 0, MMIO + 8 * i, 8,
					  VBACKEND_DIR_READ, 0, i));
	}
	/* wait until all are queued */
	ret = vb_stats_wait_pending(NBATCH, VB_WAIT_MS);
	if (ret < 0) {
		/* no debugfs: give the threads time */
		ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS));
		vb_sleep_ms(500);
	} else {
		ASSERT_EQ(0, ret) TH_LOG("the %d accesses were not all queued",
					 NBATCH);
	}
	n = read(self->be, ev, sizeof(ev));
	ASSERT_EQ((ssize_t)(NBATCH * sizeof(ev[0])), n);

	for (int i = 0; i < NBATCH; i++) {
		int v = (ev[i].u.access.addr - MMIO) / 8;

		ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev[i].type);
		ASSERT_TRUE(v >= 0 && v < NBATCH);
		EXPECT_FALSE(seen[v]) TH_LOG("access %d read twice", v);
		seen[v] = true;
		check_record(_metadata, &ev[i], MMIO + 8 * v, 8,
			     VBACKEND_SPACE_MMIO, VBACKEND_DIR_READ, 0, v);
		for (int j = 0; j < i; j++) {
			EXPECT_NE(ev[j].seq, ev[i].seq);
		}
		memset(&c[i], 0, sizeof(c[i]));
		c[i].seq = ev[i].seq;
		c[i].data = 0xc0de0000ULL + v;
	}
	/* nothing else is queued */
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
	ASSERT_EQ((ssize_t)sizeof(c), write(self->be, c, sizeof(c)));
	for (int i = 0; i < NBATCH; i++) {
		ASSERT_EQ(0, vb_fwd_join(&f[i], VB_WAIT_MS));
		EXPECT_EQ(0, f[i].ret);
		EXPECT_EQ(0xc0de0000ULL + i, f[i].acc.data);
	}
}

TEST_F(trap, seq_unique)
{
	__u64 seqs[32];

	for (int i = 0; i < 32; i++) {
		struct vbackend_event ev;
		struct vb_fwd f;

		ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, MMIO, 4,
					  VBACKEND_DIR_READ, 0, 0));
		read_trap(_metadata, self->be, &ev);
		seqs[i] = ev.seq;
		EXPECT_LE(1ULL, ev.seq);
		for (int j = 0; j < i; j++) {
			EXPECT_NE(seqs[j], seqs[i]) TH_LOG("seq %llu reused",
							   seqs[i]);
		}
		ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, i, 0));
		ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
		EXPECT_EQ((__u64)i, f.acc.data);
	}
}

/* Start @n reads and read their records (in flight, not completed). */
static void start_inflight(struct __test_metadata *_metadata,
			   FIXTURE_DATA(trap) *self, struct vb_fwd *f,
			   struct vbackend_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, vb_fwd_start(&f[i], self->vmm, 0, MMIO + 8 * i, 8,
					  VBACKEND_DIR_READ, 0, i));
		read_trap(_metadata, self->be, &ev[i]);
		ASSERT_EQ(MMIO + 8 * i, ev[i].u.access.addr);
	}
}

TEST_F(trap, complete_unknown_seq_enoent)
{
	struct vbackend_event ev;
	struct vb_fwd f;

	/* nothing in flight at all */
	ASSERT_EQ(-1, vb_complete(self->be, 1, 0, 0));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_complete(self->be, 0, 0, 0));
	EXPECT_EQ(ENOENT, errno);

	start_inflight(_metadata, self, &f, &ev, 1);
	ASSERT_EQ(-1, vb_complete(self->be, ev.seq + 1, 0, 0));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_complete(self->be, ~0ULL, 0, 0));
	EXPECT_EQ(ENOENT, errno);
	/* the real one is untouched */
	EXPECT_TRUE(vb_fwd_busy(&f));
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 5, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(5ULL, f.acc.data);
}

TEST_F(trap, complete_twice_enoent)
{
	struct vbackend_event ev;
	struct vb_fwd f;

	start_inflight(_metadata, self, &f, &ev, 1);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 9, 0));
	ASSERT_EQ(-1, vb_complete(self->be, ev.seq, 10, 0));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(9ULL, f.acc.data);
}

TEST_F(trap, complete_bad_flags_einval)
{
	struct vbackend_completion c;
	struct vbackend_event ev;
	struct vb_fwd f;

	start_inflight(_metadata, self, &f, &ev, 1);
	ASSERT_EQ(-1, vb_complete(self->be, ev.seq, 0, 1U << 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_complete(self->be, ev.seq, 0, 1U << 31));
	EXPECT_EQ(EINVAL, errno);
	memset(&c, 0, sizeof(c));
	c.seq = ev.seq;
	c.reserved = 1;
	ASSERT_EQ(-1, write(self->be, &c, sizeof(c)));
	EXPECT_EQ(EINVAL, errno);
	/* still in flight */
	EXPECT_TRUE(vb_fwd_busy(&f));
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0x77, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(0x77ULL, f.acc.data);
}

TEST_F(trap, complete_bad_length_einval)
{
	struct vbackend_completion c[2];
	struct vbackend_event ev;
	struct vb_fwd f;

	start_inflight(_metadata, self, &f, &ev, 1);
	memset(c, 0, sizeof(c));
	c[0].seq = ev.seq;
	c[0].data = 0x42;
	c[1].seq = ev.seq;
	ASSERT_EQ(-1, write(self->be, c, sizeof(c[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, write(self->be, c, sizeof(c[0]) + 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, write(self->be, c, 2 * sizeof(c[0]) - 8));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, write(self->be, c, 1));
	EXPECT_EQ(EINVAL, errno);
	/* nothing was completed by a refused write */
	EXPECT_TRUE(vb_fwd_busy(&f));
	ASSERT_EQ(VB_COMP_SIZE, write(self->be, c, sizeof(c[0])));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0x42ULL, f.acc.data);
}

TEST_F(trap, complete_partial_batch)
{
	struct vbackend_completion c[3];
	struct vbackend_event ev[3];
	struct vb_fwd f[3];

	start_inflight(_metadata, self, f, ev, 3);

	/* good, unknown seq, good: the prefix is done, the rest is not */
	memset(c, 0, sizeof(c));
	c[0].seq = ev[0].seq;
	c[0].data = 100;
	c[1].seq = ev[0].seq + ev[1].seq + ev[2].seq + 1000;
	c[2].seq = ev[2].seq;
	c[2].data = 102;
	ASSERT_EQ(VB_COMP_SIZE, write(self->be, c, sizeof(c)));
	ASSERT_EQ(0, vb_fwd_join(&f[0], VB_WAIT_MS));
	EXPECT_EQ(100ULL, f[0].acc.data);
	EXPECT_TRUE(vb_fwd_busy(&f[1]));
	EXPECT_TRUE(vb_fwd_busy(&f[2]));

	/* a bad one first: its error, nothing done */
	memset(c, 0, sizeof(c));
	c[0].seq = ev[1].seq;
	c[0].flags = 1U << 3;
	c[1].seq = ev[2].seq;
	ASSERT_EQ(-1, write(self->be, c, 2 * sizeof(c[0])));
	EXPECT_EQ(EINVAL, errno);
	c[0].flags = 0;
	c[0].seq = ev[0].seq;	/* already completed */
	ASSERT_EQ(-1, write(self->be, c, 2 * sizeof(c[0])));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_TRUE(vb_fwd_busy(&f[2]));

	/* good, bad flags: one done */
	memset(c, 0, sizeof(c));
	c[0].seq = ev[1].seq;
	c[0].data = 101;
	c[1].seq = ev[2].seq;
	c[1].flags = 1U << 2;
	ASSERT_EQ(VB_COMP_SIZE, write(self->be, c, 2 * sizeof(c[0])));
	ASSERT_EQ(0, vb_fwd_join(&f[1], VB_WAIT_MS));
	EXPECT_EQ(101ULL, f[1].acc.data);
	EXPECT_TRUE(vb_fwd_busy(&f[2]));

	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev[2].seq, 102, 0));
	ASSERT_EQ(0, vb_fwd_join(&f[2], VB_WAIT_MS));
	EXPECT_EQ(102ULL, f[2].acc.data);
}

TEST_F(trap, complete_error_eio)
{
	struct vbackend_event ev;
	struct vb_fwd f;

	/* a read */
	start_inflight(_metadata, self, &f, &ev, 1);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0x55,
					    VBACKEND_COMPLETION_F_ERROR));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(-1, f.ret);
	EXPECT_EQ(EIO, f.err);

	/* a write */
	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, MMIO, 2,
				  VBACKEND_DIR_WRITE, 0x1234, 0));
	read_trap(_metadata, self->be, &ev);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0,
					    VBACKEND_COMPLETION_F_ERROR));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(-1, f.ret);
	EXPECT_EQ(EIO, f.err);
	/* and the seq is gone */
	ASSERT_EQ(-1, vb_complete(self->be, ev.seq, 0, 0));
	EXPECT_EQ(ENOENT, errno);
}

/* poll() reports EPOLLIN while a record is queued, and only then. */
TEST_F(trap, poll_in_only_when_queued)
{
	struct vbackend_event ev;
	struct vb_fwd f;

	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, VB_QUIET_MS));

	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, MMIO, 4,
				  VBACKEND_DIR_READ, 0, 0));
	/* poll() wakes up for it (POLLOUT is always there: not asked for) */
	EXPECT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS) &
		  (POLLIN | POLLHUP | POLLERR));
	/* and keeps saying so until it is read */
	EXPECT_EQ(POLLIN, vb_poll(self->be, POLLIN, 0));
	ASSERT_EQ(VB_EVENT_SIZE, read(self->be, &ev, sizeof(ev)));
	/* in flight is not queued */
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, vb_poll(self->be, POLLIN, 0));
}

TEST_F(trap, nonblock_read_eagain)
{
	struct vbackend_event ev;
	struct vb_fwd f;
	int fl = fcntl(self->be, F_GETFL);

	ASSERT_EQ(0, fcntl(self->be, F_SETFL, fl | O_NONBLOCK));
	ASSERT_EQ(-1, read(self->be, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	/* a queued record is returned without blocking */
	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, MMIO, 4,
				  VBACKEND_DIR_READ, 0, 0));
	ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS));
	ASSERT_EQ(VB_EVENT_SIZE, read(self->be, &ev, sizeof(ev)));
	ASSERT_EQ(-1, read(self->be, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
}

struct reader {
	int fd;
	struct vbackend_event ev;
	ssize_t ret;
	int done;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;

	r->ret = read(r->fd, &r->ev, sizeof(r->ev));
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A blocking read() sleeps while nothing is queued, and wakes for a record. */
TEST_F(trap, blocking_read_waits)
{
	struct reader r = { .fd = self->be };
	struct timespec ts;
	struct vb_fwd f;
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, reader_fn, &r));
	vb_sleep_ms(VB_QUIET_MS);
	EXPECT_FALSE(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
		TH_LOG("read() returned %zd with nothing queued", r.ret);

	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, MMIO + 0x20, 4,
				  VBACKEND_DIR_READ, 0, 0));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += VB_WAIT_MS / 1000;
	ASSERT_EQ(0, pthread_timedjoin_np(th, NULL, &ts))
		TH_LOG("read() did not wake up for the record");
	ASSERT_EQ(VB_EVENT_SIZE, r.ret);
	EXPECT_EQ((__u32)VBACKEND_EVENT_TRAP, r.ev.type);
	EXPECT_EQ(MMIO + 0x20, r.ev.u.access.addr);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, r.ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
}

TEST_F(trap, read_buffer_rules)
{
	unsigned char buf[3 * sizeof(struct vbackend_event)];
	struct vbackend_event *ev = (struct vbackend_event *)buf;
	struct vb_fwd f[2];

	ASSERT_EQ(0, vb_fwd_start(&f[0], self->vmm, 0, MMIO, 4,
				  VBACKEND_DIR_READ, 0, 0));
	ASSERT_EQ(0, vb_fwd_start(&f[1], self->vmm, 0, MMIO + 4, 4,
				  VBACKEND_DIR_READ, 0, 1));
	if (vb_stats_wait_pending(2, VB_WAIT_MS) < 0) {
		ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS));
		vb_sleep_ms(300);
	}
	ASSERT_EQ(POLLIN, vb_poll(self->be, POLLIN, VB_WAIT_MS));

	/* smaller than one record: refused, and nothing is lost */
	ASSERT_EQ(-1, read(self->be, buf, sizeof(*ev) - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(self->be, buf, 1));
	EXPECT_EQ(EINVAL, errno);
	/* whole records only: 100 bytes hold one */
	ASSERT_EQ(VB_EVENT_SIZE, read(self->be, buf, 100));
	ASSERT_EQ(VB_EVENT_SIZE,
		  read(self->be, buf + sizeof(*ev), 2 * sizeof(*ev) - 1));
	EXPECT_NE(ev[0].seq, ev[1].seq);
	EXPECT_NE(ev[0].u.access.addr, ev[1].u.access.addr);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(VB_COMP_SIZE, vb_complete(self->be, ev[i].seq, 0, 0));
	}
	ASSERT_EQ(0, vb_fwd_join(&f[0], VB_WAIT_MS));
	ASSERT_EQ(0, vb_fwd_join(&f[1], VB_WAIT_MS));
}

/* More than max_pending accesses at once: the one too many is EBUSY. */
TEST_F_TIMEOUT(trap, max_pending_ebusy, 90)
{
	struct vbackend_info info;
	struct vbackend_completion *c;
	struct vbackend_event *ev;
	struct vb_fwd *f;
	__u64 data = 0;
	unsigned int n, got = 0;
	ssize_t r;

	ASSERT_EQ(0, vb_get_info(self->be, &info));
	n = info.max_pending;
	if (n > 2048)
		SKIP(return, "max_pending %u: too many threads", n);
	if (vb_stats_wait_pending(0, 0) < 0)
		SKIP(return, "no %s to see the queue fill", VB_STATS_PATH);

	f = calloc(n, sizeof(*f));
	ev = calloc(n, sizeof(*ev));
	c = calloc(n, sizeof(*c));
	ASSERT_TRUE(f && ev && c);
	for (unsigned int i = 0; i < n; i++) {
		ASSERT_EQ(0, vb_fwd_start(&f[i], self->vmm, 0,
					  MMIO + (i % (MMIO_SIZE / 8)) * 8, 8,
					  VBACKEND_DIR_READ, 0, i));
	}
	ASSERT_EQ(0, vb_stats_wait_pending(n, 30000));
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EBUSY, errno);

	while (got < n) {
		r = vb_read_events(self->be, ev + got, n - got, VB_WAIT_MS);
		ASSERT_LT(0, r) TH_LOG("read %u of %u records: %s", got, n,
				       strerror(errno));
		ASSERT_EQ(0, r % VB_EVENT_SIZE);
		got += r / sizeof(*ev);
	}
	/* the queue is drained; in flight still counts toward the limit */
	EXPECT_EQ(-1, vmm_access_sync(self->vmm, 0, MMIO, 4,
				      VBACKEND_DIR_READ, &data, NULL,
				      VB_WAIT_MS));
	EXPECT_EQ(EBUSY, errno);
	for (unsigned int i = 0; i < n; i++) {
		c[i].seq = ev[i].seq;
		c[i].data = ev[i].u.access.vcpu;
	}
	ASSERT_EQ((ssize_t)(n * sizeof(*c)), write(self->be, c, n * sizeof(*c)));
	for (unsigned int i = 0; i < n; i++) {
		ASSERT_EQ(0, vb_fwd_join(&f[i], VB_WAIT_MS));
		EXPECT_EQ(0, f[i].ret);
		EXPECT_EQ((__u64)i, f[i].acc.data);
	}
	free(c);
	free(ev);
	free(f);
}

TEST_HARNESS_MAIN
