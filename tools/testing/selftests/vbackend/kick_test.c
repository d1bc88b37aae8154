// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: kicks. A frontend write that matches a kick signals its
 * eventfd in the kernel and never reaches the trap queue; everything else
 * in the trap range still does. Matching rules (size, data-match beats
 * wildcard, reads never kick), every KICK_ADD refusal, TRAP_DEL vs kicks,
 * port I/O, and VMM_GET_KICK enumeration.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include "vbackend_util.h"

#define MMIO		0xd0000000ULL
#define MMIO_SIZE	0x1000ULL
#define PIO		0xc000ULL
#define PIO_SIZE	0x40ULL
#define KADDR		(MMIO + 0x50)	/* where most kicks sit */

FIXTURE(kick) {
	int vmm;
	int be;
	int efd;
	int efd2;
	long refcnt0;
	__u32 mmio_id;
	__u32 pio_id;
};

FIXTURE_SETUP(kick)
{
	self->vmm = -1;
	self->be = -1;
	self->efd = -1;
	self->efd2 = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, &self->mmio_id));
	ASSERT_EQ(0, vb_trap_add(self->be, VBACKEND_F_PIO, PIO, PIO_SIZE,
				 &self->pio_id));
	self->efd = vb_eventfd();
	ASSERT_LE(0, self->efd);
	self->efd2 = vb_eventfd();
	ASSERT_LE(0, self->efd2);
}

FIXTURE_TEARDOWN(kick)
{
	vb_close(&self->be);
	vb_close(&self->vmm);
	vb_close(&self->efd);
	vb_close(&self->efd2);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

/*
 * A write the kernel must take as a kick: returns at once, KICKED, and
 * leaves no trap record.
 */
static void write_kicked(struct __test_metadata *_metadata, int vmm, int be,
			 __u32 flags, __u64 addr, __u32 size, __u64 data)
{
	__u32 result = 0;

	ASSERT_EQ(0, vmm_access_sync(vmm, flags, addr, size,
				     VBACKEND_DIR_WRITE, &data, &result,
				     VB_WAIT_MS))
		TH_LOG("kicked write %#llx/%u: %s", addr, size,
		       strerror(errno));
	EXPECT_EQ((__u32)VBACKEND_VMM_ACCESS_KICKED, result);
	EXPECT_EQ(0, vb_poll(be, POLLIN, 0)) TH_LOG("a trap record was queued");
}

/*
 * An access the kernel must queue as a trap: the record says what it was,
 * completing it ends the access with result 0 (not KICKED).
 */
static void access_trapped(struct __test_metadata *_metadata, int vmm, int be,
			   __u32 flags, __u64 addr, __u32 size, __u32 dir,
			   __u64 data)
{
	struct vbackend_event ev;
	struct vb_fwd f;

	ASSERT_EQ(0, vb_fwd_start(&f, vmm, flags, addr, size, dir, data, 0));
	ASSERT_EQ(1, vb_read_event(be, &ev, VB_WAIT_MS))
		TH_LOG("access %#llx/%u dir %u did not trap (%s)", addr, size,
		       dir, vb_fwd_busy(&f) ? "still waiting" :
		       "returned: consumed by a kick?");
	EXPECT_EQ((__u32)VBACKEND_EVENT_TRAP, ev.type);
	EXPECT_EQ(addr, ev.u.access.addr);
	EXPECT_EQ(size, ev.u.access.size);
	EXPECT_EQ(dir, ev.u.access.dir);
	EXPECT_EQ(dir == VBACKEND_DIR_WRITE ? data : 0, ev.u.access.data);
	ASSERT_EQ(VB_COMP_SIZE, vb_complete(be, ev.seq, 0, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(0U, f.acc.result);
}

TEST_F(kick, wildcard_consumes_write)
{
	__u32 id;

	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, &id));
	EXPECT_LE(1U, id);
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 0x12345678);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	/* any data matches a wildcard; each write counts once */
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 0);
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 0xffffffff);
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 7);
	EXPECT_EQ(3ULL, vb_efd_take(self->efd));
	EXPECT_EQ(0ULL, vb_efd_take(self->efd2));
}

TEST_F(kick, other_accesses_trap)
{
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, NULL));
	/* another size at the kick's address */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 2,
		       VBACKEND_DIR_WRITE, 0x1234);
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 8,
		       VBACKEND_DIR_WRITE, 0x1234);
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 1,
		       VBACKEND_DIR_WRITE, 0x12);
	/* a read of the kick's address and size */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 4,
		       VBACKEND_DIR_READ, 0);
	/* a write of that size next to it, or overlapping it */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR + 4, 4,
		       VBACKEND_DIR_WRITE, 1);
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR + 2, 4,
		       VBACKEND_DIR_WRITE, 1);
	/* the same numbers in port I/O space */
	access_trapped(_metadata, self->vmm, self->be, VBACKEND_F_PIO,
		       PIO + 0x10, 4, VBACKEND_DIR_WRITE, 1);
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
}

TEST_F(kick, datamatch_beats_wildcard)
{
	/* both orders of registration */
	for (int order = 0; order < 2; order++) {
		__u32 wid, did;

		if (!order) {
			ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0,
						 self->efd, &wid));
			ASSERT_EQ(0, vb_kick_add(self->be,
						 VBACKEND_KICK_F_DATAMATCH,
						 KADDR, 4, 5, self->efd2,
						 &did));
		} else {
			ASSERT_EQ(0, vb_kick_add(self->be,
						 VBACKEND_KICK_F_DATAMATCH,
						 KADDR, 4, 5, self->efd2,
						 &did));
			ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0,
						 self->efd, &wid));
		}
		write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 5);
		EXPECT_EQ(1ULL, vb_efd_take(self->efd2)) TH_LOG("order %d",
								order);
		EXPECT_EQ(0ULL, vb_efd_take(self->efd)) TH_LOG("order %d",
							       order);
		/* another value falls to the wildcard */
		write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 6);
		EXPECT_EQ(1ULL, vb_efd_take(self->efd));
		EXPECT_EQ(0ULL, vb_efd_take(self->efd2));
		ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, wid));
		ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, did));
	}
}

TEST_F(kick, datamatch_without_wildcard)
{
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_KICK_F_DATAMATCH, KADDR, 2,
				 0xabcd, self->efd, NULL));
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 2, 0xabcd);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	/* any other value is a trap */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 2,
		       VBACKEND_DIR_WRITE, 0xabce);
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 2,
		       VBACKEND_DIR_WRITE, 0);
	/* the same value at another size too */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 4,
		       VBACKEND_DIR_WRITE, 0xabcd);
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
}

/* Several data-matched kicks on one address each take their own value. */
TEST_F(kick, datamatch_values)
{
	int efds[4];

	for (int i = 0; i < 4; i++) {
		efds[i] = vb_eventfd();
		ASSERT_LE(0, efds[i]);
		ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_KICK_F_DATAMATCH,
					 KADDR, 8, 0x1000000000ULL + i, efds[i],
					 NULL));
	}
	for (int i = 3; i >= 0; i--)
		write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 8,
			     0x1000000000ULL + i);
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 8,
		     0x1000000002ULL);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(i == 2 ? 2ULL : 1ULL, vb_efd_take(efds[i]));
		close(efds[i]);
	}
}

TEST_F(kick, duplicates_eexist)
{
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, NULL));
	/* same wildcard, even with another eventfd */
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, NULL));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd2, NULL));
	EXPECT_EQ(EEXIST, errno);
	/* same data match */
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_KICK_F_DATAMATCH, KADDR, 4,
				 9, self->efd, NULL));
	ASSERT_EQ(-1, vb_kick_add(self->be, VBACKEND_KICK_F_DATAMATCH, KADDR,
				  4, 9, self->efd2, NULL));
	EXPECT_EQ(EEXIST, errno);
	/* another value, another length, another address: all distinct */
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_KICK_F_DATAMATCH, KADDR, 4,
				 10, self->efd2, NULL));
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 2, 0, self->efd, NULL));
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR + 4, 4, 0, self->efd,
				 NULL));
	/* and the same address in the other space */
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_F_PIO, PIO, 4, 0,
				 self->efd, NULL));
	ASSERT_EQ(-1, vb_kick_add(self->be, VBACKEND_F_PIO, PIO, 4, 0,
				  self->efd2, NULL));
	EXPECT_EQ(EEXIST, errno);
}

TEST_F(kick, outside_trap_range_einval)
{
	/* no range at all */
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, 0x1000, 4, 0, self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* straddling the range's end and start */
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, MMIO + MMIO_SIZE - 2, 4, 0,
				  self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, MMIO - 1, 2, 0, self->efd,
				  NULL));
	EXPECT_EQ(EINVAL, errno);
	/* inside an MMIO range but flagged port I/O, and the reverse */
	ASSERT_EQ(-1, vb_kick_add(self->be, VBACKEND_F_PIO, MMIO & 0xffff, 4, 0,
				  self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, PIO, 4, 0, self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* the last bytes of the range are fine */
	ASSERT_EQ(0, vb_kick_add(self->be, 0, MMIO + MMIO_SIZE - 8, 8, 0,
				 self->efd, NULL));
}

TEST_F(kick, overflow)
{
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, ~0ULL - 1, 4, 0, self->efd,
				  NULL));
	EXPECT_EQ(EOVERFLOW, errno);
}

TEST_F(kick, bad_fd)
{
	int memfd = vb_memfd(4096);
	int closed = dup(self->efd);

	ASSERT_LE(0, memfd);
	ASSERT_LE(0, closed);
	close(closed);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, closed, NULL));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, -1, NULL));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, memfd, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, self->vmm, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 0, self->be, NULL));
	EXPECT_EQ(EINVAL, errno);
	close(memfd);
}

TEST_F(kick, bad_len)
{
	static const __u32 bad[] = { 0, 3, 5, 6, 7, 16, 0xffffffffU };

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, vb_kick_add(self->be, 0, KADDR, bad[i], 0,
					  self->efd, NULL));
		EXPECT_EQ(EINVAL, errno) TH_LOG("len %u", bad[i]);
	}
}

TEST_F(kick, data_above_len_einval)
{
	const __u32 dm = VBACKEND_KICK_F_DATAMATCH;

	ASSERT_EQ(-1, vb_kick_add(self->be, dm, KADDR, 1, 0x100, self->efd,
				  NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, dm, KADDR, 2, 0x10000, self->efd,
				  NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, dm, KADDR, 4, 1ULL << 32,
				  self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, dm, KADDR, 4, 1ULL << 63,
				  self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* the widest values that fit */
	ASSERT_EQ(0, vb_kick_add(self->be, dm, KADDR, 1, 0xff, self->efd,
				 NULL));
	ASSERT_EQ(0, vb_kick_add(self->be, dm, KADDR, 4, 0xffffffff, self->efd,
				 NULL));
	ASSERT_EQ(0, vb_kick_add(self->be, dm, KADDR, 8, ~0ULL, self->efd,
				 NULL));
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 8, ~0ULL);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
}

/* Without DATAMATCH there is nothing to match: a non-zero data is EINVAL. */
TEST_F(kick, wildcard_with_data_einval)
{
	ASSERT_EQ(-1, vb_kick_add(self->be, 0, KADDR, 4, 5, self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, VBACKEND_F_PIO, PIO, 1, 1ULL << 63,
				  self->efd, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, NULL));
}

TEST_F(kick, flags_reserved_einval)
{
	struct vbackend_kick k;

	ASSERT_EQ(-1, vb_kick_add(self->be, 1U << 3, KADDR, 4, 0, self->efd,
				  NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_kick_add(self->be, 1U << 31, KADDR, 4, 0, self->efd,
				  NULL));
	EXPECT_EQ(EINVAL, errno);
	memset(&k, 0, sizeof(k));
	k.argsz = sizeof(k);
	k.addr = KADDR;
	k.len = 4;
	k.fd = self->efd;
	k.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_KICK_ADD, &k));
	EXPECT_EQ(EINVAL, errno);
	/* none of it was registered */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 4,
		       VBACKEND_DIR_WRITE, 1);
}

TEST_F(kick, kick_del)
{
	struct vbackend_id i;
	__u32 id;

	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, &id));
	memset(&i, 0, sizeof(i));
	i.argsz = sizeof(i);
	i.id = id;
	i.flags = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_KICK_DEL, &i));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_KICK_DEL, id + 1));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_KICK_DEL, 0));
	EXPECT_EQ(ENOENT, errno);
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 1);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));

	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, id));
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_KICK_DEL, id));
	EXPECT_EQ(ENOENT, errno);
	/* the write traps again */
	access_trapped(_metadata, self->vmm, self->be, 0, KADDR, 4,
		       VBACKEND_DIR_WRITE, 1);
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
	/* and the kick can be registered again */
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, NULL));
}

TEST_F(kick, trap_del_busy_with_kicks)
{
	__u32 k1, k2;

	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, &k1));
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_KICK_F_DATAMATCH,
				 MMIO + MMIO_SIZE - 1, 1, 3, self->efd2, &k2));
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_TRAP_DEL, self->mmio_id));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, k1));
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_TRAP_DEL, self->mmio_id));
	EXPECT_EQ(EBUSY, errno);
	/* the range still works */
	write_kicked(_metadata, self->vmm, self->be, 0, MMIO + MMIO_SIZE - 1,
		     1, 3);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd2));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, k2));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, self->mmio_id));
	/* kicks elsewhere did not block it: the PIO range goes with its own */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_TRAP_DEL, self->pio_id));
}

TEST_F(kick, pio_kick)
{
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_F_PIO, PIO + 0x10, 2, 0,
				 self->efd, NULL));
	write_kicked(_metadata, self->vmm, self->be, VBACKEND_F_PIO,
		     PIO + 0x10, 2, 0x55aa);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	/* an MMIO write at the same number is not that kick */
	ASSERT_EQ(0, vb_trap_add(self->be, 0, PIO, PIO_SIZE, NULL));
	access_trapped(_metadata, self->vmm, self->be, 0, PIO + 0x10, 2,
		       VBACKEND_DIR_WRITE, 0x55aa);
	EXPECT_EQ(0ULL, vb_efd_take(self->efd));
	/* a PIO data match */
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_F_PIO |
				 VBACKEND_KICK_F_DATAMATCH, PIO, 1, 0x7f,
				 self->efd2, NULL));
	write_kicked(_metadata, self->vmm, self->be, VBACKEND_F_PIO, PIO, 1,
		     0x7f);
	EXPECT_EQ(1ULL, vb_efd_take(self->efd2));
	access_trapped(_metadata, self->vmm, self->be, VBACKEND_F_PIO, PIO, 1,
		       VBACKEND_DIR_WRITE, 0x7e);
}

/* The kernel holds the eventfd: closing the backend's descriptor is fine. */
TEST_F(kick, survives_fd_close)
{
	int efd = vb_eventfd();
	int efd_copy;

	ASSERT_LE(0, efd);
	efd_copy = dup(efd);
	ASSERT_LE(0, efd_copy);
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, efd, NULL));
	close(efd);
	write_kicked(_metadata, self->vmm, self->be, 0, KADDR, 4, 1);
	EXPECT_EQ(1ULL, vb_efd_take(efd_copy));
	close(efd_copy);
}

static int same_file(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
}

static int get_kick(int vmm, __u32 cursor, struct vbackend_kick *k)
{
	memset(k, 0, sizeof(*k));
	k->argsz = sizeof(*k);
	k->id = cursor;
	k->fd = -1;
	return ioctl(vmm, VBACKEND_VMM_GET_KICK, k);
}

TEST_F(kick, vmm_get_kick_enumerates)
{
	struct {
		__u32 flags;
		__u64 addr;
		__u64 data;
		__u32 len;
		int efd;
		__u32 id;
	} want[3] = {
		{ 0, KADDR, 0, 4, self->efd, 0 },
		{ VBACKEND_KICK_F_DATAMATCH, KADDR + 8, 0x55, 2, self->efd2, 0 },
		{ VBACKEND_F_PIO, PIO + 4, 0, 1, -1, 0 },
	};
	struct vbackend_kick k;
	__u32 cursor = 0;
	int n = 0, efd3;

	efd3 = vb_eventfd();
	ASSERT_LE(0, efd3);
	want[2].efd = efd3;
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, vb_kick_add(self->be, want[i].flags, want[i].addr,
					 want[i].len, want[i].data,
					 want[i].efd, &want[i].id));
	}
	ASSERT_LT(want[0].id, want[1].id);
	ASSERT_LT(want[1].id, want[2].id);

	while (!get_kick(self->vmm, cursor, &k)) {
		ASSERT_LT(n, 3) TH_LOG("more kicks than registered");
		EXPECT_EQ(want[n].id, k.id);
		EXPECT_EQ(want[n].flags, k.flags);
		EXPECT_EQ(want[n].addr, k.addr);
		EXPECT_EQ(want[n].data, k.data);
		EXPECT_EQ(want[n].len, k.len);
		EXPECT_EQ(0U, k.reserved);
		ASSERT_LE(0, k.fd);
		EXPECT_EQ(FD_CLOEXEC, fcntl(k.fd, F_GETFD) & FD_CLOEXEC);
		/* the same eventfd: signalling it kicks the backend's */
		ASSERT_EQ(0, vb_efd_signal(k.fd, 1));
		EXPECT_EQ(1ULL, vb_efd_take(want[n].efd));
		ASSERT_EQ(0, vb_efd_signal(want[n].efd, 2));
		EXPECT_EQ(2ULL, vb_efd_take(k.fd));
		if (same_file(k.fd, want[n].efd) >= 0 || errno != ENOSYS)
			EXPECT_EQ(0, same_file(k.fd, want[n].efd));
		close(k.fd);
		cursor = k.id + 1;
		n++;
	}
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(3, n);

	/* a deleted kick is skipped; a cursor between ids finds the next */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, want[1].id));
	ASSERT_EQ(0, get_kick(self->vmm, want[0].id + 1, &k));
	EXPECT_EQ(want[2].id, k.id);
	close(k.fd);
	ASSERT_EQ(-1, get_kick(self->vmm, want[2].id + 1, &k));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, get_kick(self->vmm, 0xffffffffU, &k));
	EXPECT_EQ(ENOENT, errno);
	close(efd3);
}

TEST_F(kick, vmm_get_kick_none_enoent)
{
	struct vbackend_kick k;

	ASSERT_EQ(-1, get_kick(self->vmm, 0, &k));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, get_kick(self->vmm, 1, &k));
	EXPECT_EQ(ENOENT, errno);
}

/* The fd handed to the VMM stays valid after the kick is deleted. */
TEST_F(kick, vmm_get_kick_fd_outlives_kick)
{
	struct vbackend_kick k;
	__u32 id;

	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd, &id));
	ASSERT_EQ(0, get_kick(self->vmm, 0, &k));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, id));
	vb_close(&self->be);
	ASSERT_EQ(0, vb_efd_signal(k.fd, 1));
	EXPECT_EQ(1ULL, vb_efd_take(self->efd));
	close(k.fd);
}

TEST_F(kick, max_kicks_enospc)
{
	struct vbackend_info info;
	__u32 id = 0;

	ASSERT_EQ(0, vb_get_info(self->be, &info));
	if (info.max_kicks > MMIO_SIZE / 8 * 4)
		SKIP(return, "max_kicks %u too large to fill", info.max_kicks);
	for (__u32 i = 0; i < info.max_kicks; i++) {
		/* one address, four lengths */
		ASSERT_EQ(0, vb_kick_add(self->be, 0, MMIO + (i / 4) * 8,
					 1U << (i % 4), 0, self->efd, &id))
			TH_LOG("kick %u of %u: %s", i + 1, info.max_kicks,
			       strerror(errno));
	}
	ASSERT_EQ(-1, vb_kick_add(self->be, VBACKEND_F_PIO, PIO, 1, 0,
				  self->efd, NULL));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_KICK_DEL, id));
	ASSERT_EQ(0, vb_kick_add(self->be, VBACKEND_F_PIO, PIO, 1, 0,
				 self->efd, NULL));
}

TEST_HARNESS_MAIN
