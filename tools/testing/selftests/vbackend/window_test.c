// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: guest memory (VMM_ADD_MEMORY) and the backend's windows onto
 * it: WINDOW_MAP, mmap() of the session, data visible both ways, every
 * refusal, revocation (SIGBUS) when a window is unmapped or the frontend
 * goes away, and memory added after the backend bound (VBACKEND_EVENT_MEMORY).
 * Ends with a 64 MiB round through real memory.
 */
#define _GNU_SOURCE
#include "vbackend_util.h"

#define GPA		0x100000ULL	/* the fixture's region */
#define NPAGES		16
#define RO_GPA		0x800000ULL	/* a read-only region, when added */

FIXTURE(window) {
	int vmm;
	int be;
	int memfd;	/* backs [GPA, GPA + NPAGES pages) */
	size_t psz;
	long refcnt0;
	void *maps[4];
	size_t lens[4];
};

FIXTURE_SETUP(window)
{
	self->vmm = -1;
	self->be = -1;
	self->memfd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->psz = vb_page_size();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->memfd = vmm_add_memfd(self->vmm, GPA, NPAGES * self->psz);
	ASSERT_LE(0, self->memfd) TH_LOG("add memory: %s", strerror(errno));
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
}

FIXTURE_TEARDOWN(window)
{
	for (size_t i = 0; i < VB_ARRAY_SIZE(self->maps); i++) {
		if (self->maps[i])
			munmap(self->maps[i], self->lens[i]);
	}
	vb_close(&self->be);
	vb_close(&self->vmm);
	vb_close(&self->memfd);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

/* mmap() a window and remember it for teardown; MAP_FAILED on error. */
static void *map_window(FIXTURE_DATA(window) *self, size_t slot, size_t len,
			int prot, __u64 offset)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, self->be, offset);

	if (p != MAP_FAILED) {
		self->maps[slot] = p;
		self->lens[slot] = len;
	}
	return p;
}

/*
 * mmap() that must fail: its errno, or 0 when it mapped (undone at once so
 * that the leak check stays meaningful).
 */
static int mmap_errno(size_t len, int prot, int flags, int fd, __u64 off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

static void unmap_slot(FIXTURE_DATA(window) *self, size_t slot)
{
	munmap(self->maps[slot], self->lens[slot]);
	self->maps[slot] = NULL;
}

static void fill(unsigned char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 12));
}

TEST_F(window, map_rw_both_ways)
{
	size_t len = NPAGES * self->psz;
	unsigned char *win, *buf;
	__u64 offset = 1;
	__u32 id = 0;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, len,
				   &offset, &id));
	EXPECT_LE(1U, id);
	EXPECT_EQ(0ULL, offset % self->psz);

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	/* the VMM writes guest memory: the backend sees it */
	fill(buf, len, 3);
	ASSERT_EQ((ssize_t)len, pwrite(self->memfd, buf, len, 0));
	win = map_window(self, 0, len, PROT_READ | PROT_WRITE, offset);
	ASSERT_NE(MAP_FAILED, win);
	ASSERT_EQ(0, memcmp(win, buf, len));

	/* the backend writes through the window: the VMM sees it */
	fill(win, len, 101);
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(self->memfd, buf, len, 0));
	ASSERT_EQ(0, memcmp(win, buf, len));

	/* and later VMM writes still show (same pages, not a copy) */
	ASSERT_EQ(1, pwrite(self->memfd, "Z", 1, 5 * self->psz + 9));
	EXPECT_EQ('Z', win[5 * self->psz + 9]);
	free(buf);
}

/* A window can start inside a region; an mmap() can cover part of one. */
TEST_F(window, map_subrange)
{
	unsigned char *win, *part;
	__u64 offset;

	ASSERT_EQ(1, pwrite(self->memfd, "A", 1, 3 * self->psz));
	ASSERT_EQ(1, pwrite(self->memfd, "B", 1, 4 * self->psz + 1));
	/* guest pages 3..5 */
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE,
				   GPA + 3 * self->psz, 3 * self->psz,
				   &offset, NULL));
	win = map_window(self, 0, 3 * self->psz, PROT_READ, offset);
	ASSERT_NE(MAP_FAILED, win);
	EXPECT_EQ('A', win[0]);
	EXPECT_EQ('B', win[self->psz + 1]);
	/* only the window's second page */
	part = map_window(self, 1, self->psz, PROT_READ | PROT_WRITE,
			  offset + self->psz);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ('B', part[1]);
	part[2] = 'C';
	EXPECT_EQ('C', win[self->psz + 2]);
}

TEST_F(window, offsets_distinct)
{
	__u64 off[3];
	__u32 id[3];
	unsigned char *a, *b;

	ASSERT_EQ(1, pwrite(self->memfd, "x", 1, 0));
	ASSERT_EQ(1, pwrite(self->memfd, "y", 1, 8 * self->psz));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   2 * self->psz, &off[0], &id[0]));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ,
				   GPA + 8 * self->psz, 2 * self->psz,
				   &off[1], &id[1]));
	/* the same guest range twice is two windows */
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   2 * self->psz, &off[2], &id[2]));
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(0ULL, off[i] % self->psz);
		EXPECT_LE(1U, id[i]);
		for (int j = 0; j < i; j++) {
			EXPECT_NE(id[j], id[i]);
			/* offset ranges do not overlap */
			EXPECT_TRUE(off[i] >= off[j] + 2 * self->psz ||
				    off[j] >= off[i] + 2 * self->psz);
		}
	}
	a = map_window(self, 0, self->psz, PROT_READ, off[0]);
	ASSERT_NE(MAP_FAILED, a);
	b = map_window(self, 1, self->psz, PROT_READ, off[1]);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ('x', a[0]);
	EXPECT_EQ('y', b[0]);
}

TEST_F(window, map_bad_flags)
{
	struct vbackend_window w;
	static const __u32 bad[] = {
		0, VBACKEND_WINDOW_F_WRITE, 1U << 2,
		VBACKEND_WINDOW_F_READ | (1U << 2),
		VBACKEND_WINDOW_F_READ | (1U << 31),
	};

	for (size_t i = 0; i < VB_ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, vb_window_map(self->be, bad[i], GPA, self->psz,
					    NULL, NULL));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", bad[i]);
	}
	memset(&w, 0, sizeof(w));
	w.argsz = sizeof(w);
	w.flags = VBACKEND_WINDOW_F_READ;
	w.gpa = GPA;
	w.size = self->psz;
	w.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_WINDOW_MAP, &w));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(window, map_unaligned_or_empty)
{
	const __u32 rd = VBACKEND_WINDOW_F_READ;

	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA + 1, self->psz, NULL,
				    NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA + self->psz / 2,
				    self->psz, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA, self->psz + 1, NULL,
				    NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA, 100, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA, 0, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(window, map_overflow)
{
	const __u32 rd = VBACKEND_WINDOW_F_READ;
	__u64 top = ~0ULL - self->psz + 1;	/* the last page */

	ASSERT_EQ(-1, vb_window_map(self->be, rd, top, 2 * self->psz, NULL,
				    NULL));
	EXPECT_EQ(EOVERFLOW, errno);
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA, ~0ULL - self->psz + 1,
				    NULL, NULL));
	EXPECT_EQ(EOVERFLOW, errno);
}

TEST_F(window, map_uncovered_enxio)
{
	const __u32 rd = VBACKEND_WINDOW_F_READ;
	size_t len = NPAGES * self->psz;

	/* nowhere near guest memory */
	ASSERT_EQ(-1, vb_window_map(self->be, rd, 0x40000000, self->psz,
				    NULL, NULL));
	EXPECT_EQ(ENXIO, errno);
	/* starts before the region */
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA - self->psz,
				    2 * self->psz, NULL, NULL));
	EXPECT_EQ(ENXIO, errno);
	/* runs past its end */
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA + len - self->psz,
				    2 * self->psz, NULL, NULL));
	EXPECT_EQ(ENXIO, errno);
	/* just after it */
	ASSERT_EQ(-1, vb_window_map(self->be, rd, GPA + len, self->psz,
				    NULL, NULL));
	EXPECT_EQ(ENXIO, errno);
	/* the exact region is fine */
	ASSERT_EQ(0, vb_window_map(self->be, rd, GPA, len, NULL, NULL));
}

TEST_F(window, readonly_region)
{
	__u64 off_ro, off_r;
	unsigned char *p;
	int rofd;

	rofd = vmm_add_memfd_flags(self->vmm, RO_GPA, 2 * self->psz,
				   VBACKEND_VMM_MEM_F_READONLY);
	ASSERT_LE(0, rofd);
	ASSERT_EQ(1, pwrite(rofd, "R", 1, 0));

	/* no writable window over read-only memory */
	ASSERT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				    VBACKEND_WINDOW_F_WRITE, RO_GPA,
				    2 * self->psz, NULL, NULL));
	EXPECT_EQ(EACCES, errno);
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, RO_GPA,
				   2 * self->psz, &off_ro, NULL));

	/* PROT_WRITE on a read-only window */
	EXPECT_EQ(EACCES, mmap_errno(self->psz, PROT_READ | PROT_WRITE,
				     MAP_SHARED, self->be, off_ro));
	p = map_window(self, 0, self->psz, PROT_READ, off_ro);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ('R', p[0]);
	/* nor can it be made writable later */
	EXPECT_EQ(-1, mprotect(p, self->psz, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(SIGSEGV, vb_touch(p, true, 1));
	EXPECT_EQ('R', p[0]);

	/* a read-only window of writable memory is read-only too */
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   self->psz, &off_r, NULL));
	EXPECT_EQ(EACCES, mmap_errno(self->psz, PROT_WRITE, MAP_SHARED,
				     self->be, off_r));
	close(rofd);
}

TEST_F(window, mmap_private_einval)
{
	__u64 off;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, self->psz,
				   &off, NULL));
	EXPECT_EQ(EINVAL, mmap_errno(self->psz, PROT_READ, MAP_PRIVATE,
				     self->be, off));
	EXPECT_EQ(EINVAL, mmap_errno(self->psz, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE, self->be, off));
}

TEST_F(window, mmap_outside_window_einval)
{
	__u64 off_a, off_b, past;

	/* no window at all */
	EXPECT_EQ(EINVAL, mmap_errno(self->psz, PROT_READ, MAP_SHARED, self->be,
				     0));

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   2 * self->psz, &off_a, NULL));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ,
				   GPA + 4 * self->psz, 2 * self->psz,
				   &off_b, NULL));
	/* longer than the window */
	EXPECT_EQ(EINVAL, mmap_errno(3 * self->psz, PROT_READ, MAP_SHARED,
				     self->be, off_a));
	/* starting in the window, ending past it */
	EXPECT_EQ(EINVAL, mmap_errno(2 * self->psz, PROT_READ, MAP_SHARED,
				     self->be, off_a + self->psz));
	/* past every window */
	past = (off_a > off_b ? off_a : off_b) + 64 * self->psz;
	EXPECT_EQ(EINVAL, mmap_errno(self->psz, PROT_READ, MAP_SHARED, self->be,
				     past));
	/* the lowest window plus whatever lies right before it */
	if (off_a >= self->psz) {
		EXPECT_EQ(EINVAL, mmap_errno(2 * self->psz, PROT_READ,
					     MAP_SHARED, self->be,
					     off_a - self->psz));
	}
	/* two windows that happen to be adjacent are still two */
	if (off_b == off_a + 2 * self->psz) {
		EXPECT_EQ(EINVAL, mmap_errno(4 * self->psz, PROT_READ,
					     MAP_SHARED, self->be, off_a));
	}
}

/* Guest memory is never executable: PROT_EXEC (even W+X) is EPERM. */
TEST_F(window, mmap_exec_eperm)
{
	size_t ps = self->psz;
	unsigned char *p;
	__u64 off;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, ps, &off,
				   NULL));
	EXPECT_EQ(EPERM, mmap_errno(ps, PROT_READ | PROT_EXEC, MAP_SHARED,
				    self->be, off));
	EXPECT_EQ(EPERM, mmap_errno(ps, PROT_READ | PROT_WRITE | PROT_EXEC,
				    MAP_SHARED, self->be, off));
	/* nor later */
	p = map_window(self, 0, ps, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, ps, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
}

/*
 * An O_RDONLY session maps a read-only window (MAP_SHARED, PROT_READ) and
 * sees the guest's data; PROT_WRITE needs an O_RDWR session (EACCES).
 */
TEST_F(window, rdonly_session_maps_readonly)
{
	size_t ps = self->psz;
	unsigned char *p;
	__u64 off;
	int ro;

	ro = open(VB_DEV_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	vb_close(&self->be);
	ASSERT_EQ(0, vb_bind_vmm(ro, self->vmm));
	self->be = ro;
	ASSERT_EQ(1, pwrite(self->memfd, "r", 1, 2 * ps));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   4 * ps, &off, NULL));
	p = map_window(self, 0, 4 * ps, PROT_READ, off);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ('r', p[2 * ps]);
	EXPECT_EQ(EACCES, mmap_errno(ps, PROT_READ | PROT_WRITE, MAP_SHARED,
				     self->be, off));
}

TEST_F(window, unmap_then_touch_sigbus)
{
	volatile unsigned char *p;
	char c;
	__u64 off;
	__u32 id;

	ASSERT_EQ(1, pwrite(self->memfd, "Q", 1, 0));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA,
				   2 * self->psz, &off, &id));
	p = map_window(self, 0, 2 * self->psz, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vb_touch(p, false, 0));
	EXPECT_EQ('Q', p[0]);

	ASSERT_EQ(0, vb_del(self->be, VBACKEND_WINDOW_UNMAP, id));
	/* the page faulted in before and the one never touched */
	EXPECT_EQ(SIGBUS, vb_touch(p, false, 0));
	EXPECT_EQ(SIGBUS, vb_touch(p, true, 'W'));
	EXPECT_EQ(SIGBUS, vb_touch(p + self->psz, false, 0));
	/* nothing reached guest memory */
	ASSERT_EQ(1, pread(self->memfd, &c, 1, 0));
	EXPECT_EQ('Q', c);
	/* the window is gone */
	EXPECT_EQ(-1, vb_del(self->be, VBACKEND_WINDOW_UNMAP, id));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(EINVAL, mmap_errno(self->psz, PROT_READ, MAP_SHARED, self->be,
				     off));
	/* munmap after revocation is fine */
	EXPECT_EQ(0, munmap((void *)p, 2 * self->psz));
	self->maps[0] = NULL;
}

TEST_F(window, unmap_unknown_enoent)
{
	struct vbackend_id i;
	__u32 id;

	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_WINDOW_UNMAP, 1));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   self->psz, NULL, &id));
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_WINDOW_UNMAP, id + 1000));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_del(self->be, VBACKEND_WINDOW_UNMAP, 0));
	EXPECT_EQ(ENOENT, errno);
	memset(&i, 0, sizeof(i));
	i.argsz = sizeof(i);
	i.id = id;
	i.flags = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_WINDOW_UNMAP, &i));
	EXPECT_EQ(EINVAL, errno);
	i.flags = 0;
	i.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_WINDOW_UNMAP, &i));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_WINDOW_UNMAP, id));
}

/* Unmapping one window leaves the others alone. */
TEST_F(window, unmap_only_that_window)
{
	unsigned char *a, *b;
	__u64 off_a, off_b;
	__u32 id_a;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   self->psz, &off_a, &id_a));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   self->psz, &off_b, NULL));
	a = map_window(self, 0, self->psz, PROT_READ, off_a);
	ASSERT_NE(MAP_FAILED, a);
	b = map_window(self, 1, self->psz, PROT_READ, off_b);
	ASSERT_NE(MAP_FAILED, b);
	/* both faulted in, so the revocation has a page to zap */
	ASSERT_EQ(0, vb_touch(a, false, 0));
	ASSERT_EQ(0, vb_touch(b, false, 0));
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_WINDOW_UNMAP, id_a));
	EXPECT_EQ(SIGBUS, vb_touch(a, false, 0));
	EXPECT_EQ(0, vb_touch(b, false, 0));
}

TEST_F(window, frontend_close_sigbus)
{
	volatile unsigned char *p;
	__u64 off;

	ASSERT_EQ(1, pwrite(self->memfd, "F", 1, 0));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA,
				   2 * self->psz, &off, NULL));
	p = map_window(self, 0, 2 * self->psz, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vb_touch(p, false, 0));
	EXPECT_EQ('F', p[0]);

	/* the frontend dies */
	vb_close(&self->vmm);
	EXPECT_EQ(SIGBUS, vb_touch(p, false, 0));
	EXPECT_EQ(SIGBUS, vb_touch(p, true, 1));
	EXPECT_EQ(SIGBUS, vb_touch(p + self->psz, false, 0));
	/* no new window, no new mapping */
	EXPECT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				    self->psz, NULL, NULL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(EINVAL, mmap_errno(self->psz, PROT_READ, MAP_SHARED, self->be,
				     off));
	EXPECT_EQ(0, munmap((void *)p, 2 * self->psz));
	self->maps[0] = NULL;
}

/*
 * Guest pages are referenced on first touch through a window, once each,
 * and released when the frontend dies, even while the backend lives on.
 */
TEST_F(window, pages_referenced_on_demand)
{
	volatile unsigned char *p;
	struct vb_stats st;
	__u64 off;

	if (vb_stats_read(&st))
		SKIP(return, "no %s", VB_STATS_PATH);
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA,
				   NPAGES * self->psz, &off, NULL));
	p = map_window(self, 0, NPAGES * self->psz, PROT_READ | PROT_WRITE,
		       off);
	ASSERT_NE(MAP_FAILED, p);
	/* the VMM's own use of its memfd is not the module's */
	ASSERT_EQ(1, pwrite(self->memfd, "v", 1, 0));
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(0, st.pages);

	EXPECT_EQ(0, vb_touch(p, false, 0));
	EXPECT_EQ(0, vb_touch(p + 5 * self->psz, true, 1));
	EXPECT_EQ(0, vb_touch(p + 9 * self->psz + 7, false, 0));
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(3, st.pages);
	/* again, and through a second mapping of another window */
	EXPECT_EQ(0, vb_touch(p + 5 * self->psz + 1, true, 2));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   self->psz, &off, NULL));
	p = map_window(self, 1, self->psz, PROT_READ, off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ('v', p[0]);
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(3, st.pages);

	/* the frontend dies: its pages go, though the backend is open */
	vb_close(&self->vmm);
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(0, st.pages);
	EXPECT_EQ(0, st.regions);
	EXPECT_EQ(SIGBUS, vb_touch(p, false, 0));
}

/* Splitting a window's mapping keeps every piece working and leaks nothing. */
TEST_F(window, split_mapping)
{
	size_t ps = self->psz;
	unsigned char *p;
	__u64 off;
	__u32 id;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, 4 * ps, &off,
				   &id));
	p = map_window(self, 0, 4 * ps, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	/* a hole in the middle and a read-only tail: three mappings */
	ASSERT_EQ(0, munmap(p + ps, ps));
	ASSERT_EQ(0, mprotect(p + 3 * ps, ps, PROT_READ));
	p[0] = 'a';
	p[2 * ps] = 'c';
	EXPECT_EQ(0, vb_touch(p + 3 * ps, false, 0));
	EXPECT_EQ(SIGSEGV, vb_touch(p + ps, false, 0));
	EXPECT_EQ(SIGSEGV, vb_touch(p + 3 * ps, true, 1));
	/* revocation reaches every piece */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_WINDOW_UNMAP, id));
	EXPECT_EQ(SIGBUS, vb_touch(p, false, 0));
	EXPECT_EQ(SIGBUS, vb_touch(p + 2 * ps, false, 0));
	EXPECT_EQ(SIGBUS, vb_touch(p + 3 * ps, false, 0));
	/* teardown unmaps the whole range, pieces and hole */
}

/* A mapping keeps the session alive after close(); munmap() ends it. */
TEST_F(window, mapping_outlives_close)
{
	struct vb_stats st;
	unsigned char *p;
	__u64 off;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, self->psz,
				   &off, NULL));
	p = map_window(self, 0, self->psz, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	vb_close(&self->be);
	vb_close(&self->vmm);
	/* the frontend is gone: the mapping is revoked */
	EXPECT_EQ(SIGBUS, vb_touch(p, false, 0));
	unmap_slot(self, 0);
	if (!vb_stats_wait_zero(&st, 2000)) {
		EXPECT_EQ(0, st.sessions);
		EXPECT_EQ(0, st.windows);
		EXPECT_EQ(0, st.pages);
	}
}

/* Guest memory mappings are not inherited across fork(). */
TEST_F(window, fork_child_no_mapping)
{
	unsigned char *p;
	int status;
	__u64 off;
	pid_t pid;
	char c;

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, self->psz,
				   &off, NULL));
	p = map_window(self, 0, self->psz, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'P';

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char vec;

		/* not mapped at all in the child */
		if (mincore(p, self->psz, &vec) != -1 || errno != ENOMEM)
			_exit(1);
		if (vb_touch(p, true, 'C') != SIGSEGV)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(0, vb_waitpid(pid, &status, VB_WAIT_MS));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* the parent's mapping is intact, and the child wrote nothing */
	EXPECT_EQ('P', p[0]);
	ASSERT_EQ(1, pread(self->memfd, &c, 1, 0));
	EXPECT_EQ('P', c);
}

TEST_F(window, max_windows_enospc)
{
	struct vbackend_info info;
	__u32 first = 0, id;

	ASSERT_EQ(0, vb_get_info(self->be, &info));
	if (info.max_windows > 4096)
		SKIP(return, "max_windows %u too large to fill",
		     info.max_windows);
	for (__u32 i = 0; i < info.max_windows; i++) {
		ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ,
					   GPA, self->psz, NULL, &id))
			TH_LOG("window %u of %u: %s", i, info.max_windows,
			       strerror(errno));
		if (!i)
			first = id;
	}
	ASSERT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				    self->psz, NULL, NULL));
	ASSERT_EQ(ENOSPC, errno);
	/* one freed, one more fits */
	ASSERT_EQ(0, vb_del(self->be, VBACKEND_WINDOW_UNMAP, first));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				   self->psz, NULL, NULL));
	ASSERT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, GPA,
				    self->psz, NULL, NULL));
	ASSERT_EQ(ENOSPC, errno);
}

/* One window over two adjacent regions backed by different memfds. */
TEST_F(window, window_spans_two_regions)
{
	const __u64 g = 0x2000000;
	size_t ps = self->psz;
	unsigned char *p;
	int fa, fb;
	__u64 off;
	char c;

	fa = vmm_add_memfd(self->vmm, g, 4 * ps);
	ASSERT_LE(0, fa);
	fb = vmm_add_memfd(self->vmm, g + 4 * ps, 4 * ps);
	ASSERT_LE(0, fb);
	ASSERT_EQ(1, pwrite(fa, "a", 1, 3 * ps));
	ASSERT_EQ(1, pwrite(fb, "b", 1, 0));

	/* pages 2..5: two of each region */
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, g + 2 * ps, 4 * ps,
				   &off, NULL));
	p = map_window(self, 0, 4 * ps, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ('a', p[ps]);
	EXPECT_EQ('b', p[2 * ps]);
	p[0] = '0';
	p[3 * ps + 5] = '3';
	ASSERT_EQ(1, pread(fa, &c, 1, 2 * ps));
	EXPECT_EQ('0', c);
	ASSERT_EQ(1, pread(fb, &c, 1, ps + 5));
	EXPECT_EQ('3', c);

	/* a gap between regions is not memory */
	ASSERT_LE(0, vmm_add_memory(self->vmm, g + 10 * ps, 2 * ps, 0, fb, 0));
	ASSERT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ,
				    g + 7 * ps, 4 * ps, NULL, NULL));
	close(fa);
	close(fb);
}

TEST_F(window, add_memory_refusals)
{
	size_t ps = self->psz;
	int fd = vb_memfd(4 * ps);
	int efd = vb_eventfd();
	struct vbackend_vmm_memory m;
	int devnull, closed;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, efd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, devnull);
	closed = dup(fd);
	ASSERT_LE(0, closed);
	close(closed);

	/* alignment and size */
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000001, ps, 0, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps + 1, 0, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps, 1, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, 0, 0, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* wrapping */
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, ~0ULL - ps + 1, 2 * ps, 0, fd,
				     0));
	EXPECT_EQ(EOVERFLOW, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, 2 * ps,
				     ~0ULL - ps + 1, fd, 0));
	EXPECT_EQ(EOVERFLOW, errno);
	/* descriptors */
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps, 0, closed, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps, 0, efd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps, 0, devnull, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps, 0, self->vmm,
				     0));
	EXPECT_EQ(EINVAL, errno);
	/* overlaps with the fixture's region: same start, inside, across */
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, GPA, ps, 0, fd, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, GPA + 3 * ps, ps, 0, fd, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, GPA - ps, 2 * ps, 0, fd, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, GPA + (NPAGES - 1) * ps,
				     2 * ps, 0, fd, 0));
	EXPECT_EQ(EEXIST, errno);
	/* flags and reserved */
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, 0x4000000, ps, 0, fd, 1U << 1));
	EXPECT_EQ(EINVAL, errno);
	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.gpa = 0x4000000;
	m.size = ps;
	m.fd = fd;
	m.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->vmm, VBACKEND_VMM_ADD_MEMORY, &m));
	EXPECT_EQ(EINVAL, errno);
	/* adjacent on both sides is fine */
	EXPECT_EQ(0, vmm_add_memory(self->vmm, GPA - ps, ps, 0, fd, 0));
	EXPECT_EQ(0, vmm_add_memory(self->vmm, GPA + NPAGES * ps, ps, ps, fd,
				    0));
	close(devnull);
	close(efd);
	close(fd);
}

/* A write-sealed memfd stays sealed: it can only be read-only memory. */
TEST_F(window, add_memory_sealed_readonly)
{
	size_t ps = self->psz;
	int fd;

	fd = memfd_create("vbackend-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * ps));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE));
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, fd, 0))
		TH_LOG("a write-sealed memfd was taken as writable memory");
	ASSERT_EQ(0, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, fd,
				    VBACKEND_VMM_MEM_F_READONLY));
	ASSERT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				    VBACKEND_WINDOW_F_WRITE, RO_GPA, ps, NULL,
				    NULL));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, RO_GPA,
				   ps, NULL, NULL));
	close(fd);
}

/* A read-only, write-sealed memfd of @npages pages holding @c; -1 on error. */
static int sealed_memfd(size_t ps, size_t npages, char c)
{
	int fd = memfd_create("vbackend-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, npages * ps) ||
	    pwrite(fd, &c, 1, 0) != 1 || pwrite(fd, &c, 1, ps) != 1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A region that ends exactly at 2^64 still overlaps what covers its pages,
 * in either registration order, so no writable window can reach the pages
 * of a read-only, write-sealed memfd through a second region.
 */
TEST_F(window, add_memory_overlap_at_top_eexist)
{
	size_t ps = self->psz;
	const __u64 top2 = -2ULL * ps, top4 = -4ULL * ps;
	unsigned char *p;
	int ro, rw;
	__u64 off;
	char c;

	ro = sealed_memfd(ps, 2, 'S');
	ASSERT_LE(0, ro);
	rw = vb_memfd(4 * ps);
	ASSERT_LE(0, rw);

	/* the sealed memfd at the top, then a writable one over it */
	ASSERT_EQ(0, vmm_add_memory(self->vmm, top2, 2 * ps, 0, ro,
				    VBACKEND_VMM_MEM_F_READONLY));
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, top4, 4 * ps, 0, rw, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, top2, 2 * ps, 0, rw, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, top2 + ps, ps, 0, rw, 0));
	EXPECT_EQ(EEXIST, errno);
	/* below it is fine */
	EXPECT_EQ(0, vmm_add_memory(self->vmm, top4, 2 * ps, 0, rw, 0));

	/* the window over the sealed pages is read-only, whatever region */
	EXPECT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				    VBACKEND_WINDOW_F_WRITE, top2, ps,
				    NULL, NULL));
	EXPECT_EQ(EACCES, errno);
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, top4, 2 * ps,
				   &off, NULL));
	p = map_window(self, 0, 2 * ps, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, vb_touch(p + ps, true, 'W'));
	ASSERT_EQ(1, pread(ro, &c, 1, 0));
	EXPECT_EQ('S', c);
	ASSERT_EQ(1, pread(ro, &c, 1, ps));
	EXPECT_EQ('S', c);
	close(ro);
	close(rw);
}

/* The same with the writable region registered first. */
TEST_F(window, add_memory_overlap_at_top_reverse_eexist)
{
	size_t ps = self->psz;
	int ro, rw;

	ro = sealed_memfd(ps, 2, 'S');
	ASSERT_LE(0, ro);
	rw = vb_memfd(4 * ps);
	ASSERT_LE(0, rw);
	ASSERT_EQ(0, vmm_add_memory(self->vmm, -4ULL * ps, 4 * ps, 0, rw, 0));
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, -2ULL * ps, 2 * ps, 0, ro,
				     VBACKEND_VMM_MEM_F_READONLY));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, -5ULL * ps, 2 * ps, 0, ro,
				     VBACKEND_VMM_MEM_F_READONLY));
	EXPECT_EQ(EEXIST, errno);
	close(ro);
	close(rw);
}

/* A memfd of @npages pages that can still take seals; -1 on error. */
static int sealable_memfd(size_t ps, size_t npages)
{
	int fd = memfd_create("vbackend-sealable",
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, npages * ps) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A writable registration is a writable shared mapping of the memfd:
 * F_SEAL_WRITE fails with EBUSY while it exists, as it would for a
 * MAP_SHARED PROT_WRITE mmap(), even before the backend touched a page.
 * A read-only registration does not stand in the way, and the writable one
 * stops doing so once the frontend is gone.
 */
TEST_F(window, writable_region_blocks_seal_write)
{
	size_t ps = self->psz;
	int rw, ro;

	rw = sealable_memfd(ps, 2);
	ASSERT_LE(0, rw);
	ro = sealable_memfd(ps, 2);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, rw, 0));
	ASSERT_EQ(0, vmm_add_memory(self->vmm, RO_GPA + 2 * ps, 2 * ps, 0, ro,
				    VBACKEND_VMM_MEM_F_READONLY));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, RO_GPA, 2 * ps,
				   NULL, NULL));

	EXPECT_EQ(-1, fcntl(rw, F_ADD_SEALS, F_SEAL_WRITE))
		TH_LOG("F_SEAL_WRITE granted while the backend may write");
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, fcntl(rw, F_GET_SEALS) & F_SEAL_WRITE);
	EXPECT_EQ(0, fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE));

	/* the frontend dies: the memfd is the VMM's alone again */
	vb_close(&self->vmm);
	EXPECT_EQ(0, fcntl(rw, F_ADD_SEALS, F_SEAL_WRITE));
	close(rw);
	close(ro);
}

/*
 * F_SEAL_FUTURE_WRITE after a writable registration: no new writable
 * window (EPERM), no new writable mmap() of an old one (EPERM, and no
 * mprotect() to writable), read-only ones still; what was mapped writable
 * before the seal stays so, as with a memfd.
 */
TEST_F(window, future_write_seal_stops_new_writable_windows)
{
	size_t ps = self->psz;
	unsigned char *old, *ro;
	__u64 off, off2;
	int fd;
	char c;

	fd = sealable_memfd(ps, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, fd, 0));
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, RO_GPA, 2 * ps,
				   &off, NULL));
	old = map_window(self, 0, ps, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, old);

	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	EXPECT_EQ(-1, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				    VBACKEND_WINDOW_F_WRITE, RO_GPA, ps,
				    NULL, NULL));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(EPERM, mmap_errno(ps, PROT_READ | PROT_WRITE, MAP_SHARED,
				    self->be, off + ps));
	ro = map_window(self, 1, ps, PROT_READ, off + ps);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, mprotect(ro, ps, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ, RO_GPA,
				   ps, &off2, NULL));

	EXPECT_EQ(0, vb_touch(old, true, 'o'));
	ASSERT_EQ(1, pread(fd, &c, 1, 0));
	EXPECT_EQ('o', c);
	close(fd);
}

/*
 * Only memfds that can no longer shrink are guest memory (EBADFD), writable
 * or read-only: a registered page is never past EOF, where the VMM's view
 * and the backend's would part.
 */
TEST_F(window, add_memory_needs_seal_shrink)
{
	size_t ps = self->psz;
	int plain, sealable, grow;

	plain = memfd_create("vbackend-plain", MFD_CLOEXEC);
	ASSERT_LE(0, plain);
	ASSERT_EQ(0, ftruncate(plain, 2 * ps));
	sealable = sealable_memfd(ps, 2);	/* F_SEAL_SHRINK already */
	ASSERT_LE(0, sealable);
	grow = memfd_create("vbackend-grow", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, grow);
	ASSERT_EQ(0, ftruncate(grow, 2 * ps));
	ASSERT_EQ(0, fcntl(grow, F_ADD_SEALS, F_SEAL_GROW));

	EXPECT_EQ(-1, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, plain, 0));
	EXPECT_EQ(EBADFD, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, plain,
				     VBACKEND_VMM_MEM_F_READONLY));
	EXPECT_EQ(EBADFD, errno);
	EXPECT_EQ(-1, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, grow, 0));
	EXPECT_EQ(EBADFD, errno);
	EXPECT_EQ(0, vmm_add_memory(self->vmm, RO_GPA, 2 * ps, 0, sealable, 0));
	/* and the file can no longer be cut under the region */
	EXPECT_EQ(-1, ftruncate(sealable, ps));
	EXPECT_EQ(EPERM, errno);
	close(plain);
	close(sealable);
	close(grow);
}

/*
 * The documented punch-hole rule: a page a window already faulted stays
 * held and keeps what the backend sees, though the VMM's memfd now reads
 * zeroes there; a page no window faulted yet is the memfd's current one;
 * the held page goes when the frontend does.
 */
TEST_F(window, punch_hole_keeps_faulted_pages)
{
	size_t ps = self->psz;
	struct vb_stats st;
	unsigned char *p;
	__u64 off;
	char c;

	if (vb_stats_read(&st))
		SKIP(return, "no %s", VB_STATS_PATH);
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, GPA, 2 * ps,
				   &off, NULL));
	p = map_window(self, 0, 2 * ps, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, pwrite(self->memfd, "v", 1, ps));
	EXPECT_EQ(0, vb_touch(p, true, 'b'));
	ASSERT_EQ(0, fallocate(self->memfd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, 0, 2 * ps));
	ASSERT_EQ(1, pread(self->memfd, &c, 1, 0));
	EXPECT_EQ(0, c);
	EXPECT_EQ('b', p[0]);
	/* the untouched page is the refilled one, not the punched one */
	ASSERT_EQ(1, pwrite(self->memfd, "n", 1, ps));
	EXPECT_EQ('n', p[ps]);
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(2, st.pages);
	vb_close(&self->vmm);
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(0, st.pages);
}

TEST_F(window, add_memory_max_regions)
{
	size_t ps = self->psz;
	const int max = 64;	/* regions per frontend, see the spec */
	int fd = vb_memfd((max + 1) * ps);

	ASSERT_LE(0, fd);
	/* the fixture added one */
	for (int i = 1; i < max; i++) {
		ASSERT_EQ(0, vmm_add_memory(self->vmm, 0x10000000 + i * 2 * ps,
					    ps, i * ps, fd, 0))
			TH_LOG("region %d: %s", i + 1, strerror(errno));
	}
	ASSERT_EQ(-1, vmm_add_memory(self->vmm, 0x20000000, ps, max * ps, fd,
				     0));
	ASSERT_EQ(ENOSPC, errno);
	close(fd);
}

/* The backend finds the frontend's memory in registration order. */
TEST_F(window, mem_region_enumerates)
{
	const __u64 g2 = 0x40000;
	struct vbackend_mem_region mr;
	__u64 off;
	int rofd, fd2;

	rofd = vmm_add_memfd_flags(self->vmm, RO_GPA, 2 * self->psz,
				   VBACKEND_VMM_MEM_F_READONLY);
	ASSERT_LE(0, rofd);
	/* below the others: the order is registration, not address */
	fd2 = vmm_add_memfd(self->vmm, g2, 3 * self->psz);
	ASSERT_LE(0, fd2);

	ASSERT_EQ(0, vb_mem_region(self->be, 0, &mr));
	EXPECT_EQ(GPA, mr.gpa);
	EXPECT_EQ(NPAGES * self->psz, mr.size);
	EXPECT_EQ(0U, mr.flags);
	EXPECT_EQ(0U, mr.index);
	EXPECT_EQ(0U, mr.reserved);
	EXPECT_EQ(sizeof(mr), mr.argsz);

	ASSERT_EQ(0, vb_mem_region(self->be, 1, &mr));
	EXPECT_EQ(RO_GPA, mr.gpa);
	EXPECT_EQ(2 * self->psz, mr.size);
	EXPECT_EQ((__u32)VBACKEND_MEM_F_READONLY, mr.flags);
	EXPECT_EQ(1U, mr.index);

	ASSERT_EQ(0, vb_mem_region(self->be, 2, &mr));
	EXPECT_EQ(g2, mr.gpa);
	EXPECT_EQ(3 * self->psz, mr.size);
	EXPECT_EQ(0U, mr.flags);

	ASSERT_EQ(-1, vb_mem_region(self->be, 3, &mr));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vb_mem_region(self->be, 0xffffffffU, &mr));
	EXPECT_EQ(ENOENT, errno);

	/* what it reports can be mapped as reported */
	for (__u32 i = 0; !vb_mem_region(self->be, i, &mr); i++) {
		__u32 fl = VBACKEND_WINDOW_F_READ;

		if (!(mr.flags & VBACKEND_MEM_F_READONLY))
			fl |= VBACKEND_WINDOW_F_WRITE;
		EXPECT_EQ(0, vb_window_map(self->be, fl, mr.gpa, mr.size, &off,
					   NULL))
			TH_LOG("region %u: %s", i, strerror(errno));
	}
	close(fd2);
	close(rofd);
}

/* the fixture's memory was there at bind: the backend is not told again */
TEST_F(window, no_memory_event_for_memory_before_bind)
{
	EXPECT_EQ(0U, vb_drain_events(self->be, VB_QUIET_MS, NULL) &
		      (1U << VBACKEND_EVENT_MEMORY));
}

/*
 * Memory added after bind (QEMU's memory table comes at driver start): one
 * VBACKEND_EVENT_MEMORY, the region listed by then, and a window over it
 * reaches the memfd.
 */
TEST_F(window, memory_event_after_bind)
{
	const __u64 g2 = 0x40000;
	struct vbackend_mem_region mr;
	struct vbackend_event ev;
	unsigned char *p;
	char c = 0;
	__u64 off;
	int fd2;

	fd2 = vmm_add_memfd(self->vmm, g2, 2 * self->psz);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(1, vb_read_event(self->be, &ev, VB_WAIT_MS));
	EXPECT_EQ((__u32)VBACKEND_EVENT_MEMORY, ev.type);
	EXPECT_EQ(0U, ev.flags);
	EXPECT_EQ(0ULL, ev.seq);
	ASSERT_EQ(0, vb_mem_region(self->be, 1, &mr));
	EXPECT_EQ(g2, mr.gpa);
	EXPECT_EQ(2 * self->psz, mr.size);

	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, g2, 2 * self->psz,
				   &off, NULL));
	p = map_window(self, 0, 2 * self->psz, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	p[self->psz + 5] = 0x5a;
	ASSERT_EQ(1, pread(fd2, &c, 1, self->psz + 5));
	EXPECT_EQ(0x5a, c);
	close(fd2);
}

/*
 * Two additions before the backend reads make one record; the record comes
 * before an access forwarded after the addition, so a backend has mapped
 * the memory before it handles what the driver does next.
 */
TEST_F(window, memory_events_coalesce_before_later_access)
{
	struct vbackend_event ev;
	struct vb_fwd f;
	int fd2, fd3;

	ASSERT_EQ(0, vb_trap_add(self->be, 0, 0xd0000000ULL, 0x1000, NULL));
	fd2 = vmm_add_memfd(self->vmm, 0x40000, self->psz);
	ASSERT_LE(0, fd2);
	fd3 = vmm_add_memfd(self->vmm, 0x60000, self->psz);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, vb_fwd_start(&f, self->vmm, 0, 0xd0000000ULL, 4,
				  VBACKEND_DIR_READ, 0, 0));

	ASSERT_EQ(1, vb_read_event(self->be, &ev, VB_WAIT_MS));
	EXPECT_EQ((__u32)VBACKEND_EVENT_MEMORY, ev.type);
	ASSERT_EQ(1, vb_read_event(self->be, &ev, VB_WAIT_MS));
	ASSERT_EQ((__u32)VBACKEND_EVENT_TRAP, ev.type);
	ASSERT_EQ((ssize_t)VB_COMP_SIZE, vb_complete(self->be, ev.seq, 7, 0));
	ASSERT_EQ(0, vb_fwd_join(&f, VB_WAIT_MS));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(7ULL, f.acc.data);
	EXPECT_EQ(0U, vb_drain_events(self->be, VB_QUIET_MS, NULL));
	close(fd3);
	close(fd2);
}

TEST_F(window, mem_region_refusals)
{
	struct vbackend_mem_region mr;
	int unbound, vmm2, be2;

	memset(&mr, 0, sizeof(mr));
	mr.argsz = sizeof(mr);
	mr.flags = VBACKEND_MEM_F_READONLY;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_MEM_REGION, &mr));
	EXPECT_EQ(EINVAL, errno);
	mr.flags = 1U << 31;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_MEM_REGION, &mr));
	EXPECT_EQ(EINVAL, errno);
	mr.flags = 0;
	mr.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->be, VBACKEND_MEM_REGION, &mr));
	EXPECT_EQ(EINVAL, errno);

	/* unbound, and the VMM side */
	unbound = open_vbackend();
	ASSERT_LE(0, unbound);
	ASSERT_EQ(-1, vb_mem_region(unbound, 0, &mr));
	EXPECT_EQ(ENOTCONN, errno);
	close(unbound);
	ASSERT_EQ(-1, vb_mem_region(self->vmm, 0, &mr));
	EXPECT_EQ(ENOTTY, errno);

	/* a frontend without memory */
	vmm2 = vmm_create();
	ASSERT_LE(0, vmm2);
	be2 = backend_bind_to(vmm2);
	ASSERT_LE(0, be2);
	ASSERT_EQ(-1, vb_mem_region(be2, 0, &mr));
	EXPECT_EQ(ENOENT, errno);
	close(be2);
	close(vmm2);

	/* a dead frontend */
	ASSERT_EQ(0, vb_mem_region(self->be, 0, &mr));
	vb_close(&self->vmm);
	ASSERT_EQ(-1, vb_mem_region(self->be, 0, &mr));
	EXPECT_EQ(EPIPE, errno);
}

static long meminfo_kb(const char *key)
{
	char line[128];
	long val = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			val = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * 64 MiB of guest memory through one window: every page touched by the
 * backend is referenced once, and all of it is given back at close.
 */
TEST_F_TIMEOUT(window, big_window_no_leak, 120)
{
	const size_t len = 64UL << 20;
	const __u64 g = 0x40000000;
	size_t npages = len / self->psz;
	long free0, free1, shmem0;
	struct vb_stats st;
	bool stats;
	unsigned char *p;
	__u64 off, v;
	int fd;

	stats = !vb_stats_read(&st);
	free0 = meminfo_kb("MemFree");
	shmem0 = meminfo_kb("Shmem");

	fd = vmm_add_memfd(self->vmm, g, len);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vb_window_map(self->be, VBACKEND_WINDOW_F_READ |
				   VBACKEND_WINDOW_F_WRITE, g, len, &off,
				   NULL));
	p = map_window(self, 0, len, PROT_READ | PROT_WRITE, off);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t i = 0; i < npages; i++)
		*(volatile __u64 *)(p + i * self->psz) = 0x5a5a000000000000ULL | i;

	/* the VMM sees the backend's writes, first and last page */
	ASSERT_EQ(8, pread(fd, &v, 8, 0));
	EXPECT_EQ(0x5a5a000000000000ULL, v);
	ASSERT_EQ(8, pread(fd, &v, 8, len - self->psz));
	EXPECT_EQ(0x5a5a000000000000ULL | (npages - 1), v);
	if (stats) {
		ASSERT_EQ(0, vb_stats_read(&st));
		EXPECT_EQ((long)npages, st.pages);
		EXPECT_EQ(1, st.windows);
		EXPECT_EQ(2, st.regions);
	}
	if (shmem0 >= 0)
		EXPECT_LE(shmem0 + (long)(len >> 10) * 3 / 4,
			  meminfo_kb("Shmem"));

	unmap_slot(self, 0);
	vb_close(&self->be);
	vb_close(&self->vmm);
	close(fd);
	if (stats) {
		ASSERT_EQ(0, vb_stats_wait_zero(&st, 2000));
		EXPECT_EQ(0, st.pages);
		EXPECT_EQ(0, st.windows);
		EXPECT_EQ(0, st.regions);
		EXPECT_EQ(0, st.sessions);
	}
	/*
	 * The 64 MiB are free again: a page reference left behind would keep
	 * them out of MemFree. Allow for unrelated allocations meanwhile.
	 */
	if (free0 >= 0) {
		long deadline = vb_now_ms() + 2000;

		do {
			free1 = meminfo_kb("MemFree");
			if (free1 >= free0 - 16 * 1024)
				break;
			vb_sleep_ms(50);
		} while (vb_now_ms() < deadline);
		EXPECT_LE(free0 - 16 * 1024, free1)
			TH_LOG("MemFree %ld kB before, %ld kB after", free0,
			       free1);
	}
}

TEST_HARNESS_MAIN
