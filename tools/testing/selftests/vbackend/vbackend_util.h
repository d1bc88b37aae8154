/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vbackend selftests: sessions, frontends, accesses
 * forwarded from threads, events, and the leak checks every fixture runs
 * once it has closed everything.
 *
 * Every wait is bounded (VB_WAIT_MS), so that a kernel bug fails a test
 * instead of hanging the run.
 */
#ifndef VBACKEND_UTIL_H
#define VBACKEND_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/vbackend.h>

/* The 6.1 harness has an unused parameter; the tests build with -Wextra. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#define VB_DEV_PATH	"/dev/vbackend"
#define VB_DEBUGFS	"/sys/kernel/debug"
#define VB_STATS_PATH	VB_DEBUGFS "/vbackend/stats"
#define VB_REFCNT_PATH	"/sys/module/vbackend/refcnt"

/* Longest the tests wait for the kernel to do something. */
#define VB_WAIT_MS	5000
/* How long the tests watch for something that must not happen. */
#define VB_QUIET_MS	200

#define VB_EVENT_SIZE	64
#define VB_COMP_SIZE	24

#define VB_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The layout is ABI: catch a header change at build time. */
static_assert(sizeof(struct vbackend_event) == VB_EVENT_SIZE, "event size");
static_assert(sizeof(struct vbackend_completion) == VB_COMP_SIZE,
	      "completion size");

/*
 * The 6.1 kselftest_harness.h runs the test body after a SKIP() in
 * FIXTURE_SETUP(). Leave the test child at once with the status the harness
 * reports as a skip (255) instead; nothing has been set up yet.
 */
#define VB_SETUP_SKIP(fmt, ...) SKIP(_exit(255), fmt, ##__VA_ARGS__)

static inline int open_vbackend(void)
{
	return open(VB_DEV_PATH, O_RDWR | O_CLOEXEC);
}

/*
 * For FIXTURE_SETUP(): skip when the module is not loaded or the test does
 * not run as root; fail on any other reason not to open the device.
 */
#define VB_REQUIRE_DEVICE() do {					\
	int __fd = open_vbackend();					\
	int __err = errno;						\
									\
	if (__fd < 0 && (__err == ENOENT || __err == ENODEV ||		\
			 __err == ENXIO))				\
		VB_SETUP_SKIP("%s missing: vbackend is not loaded",	\
			      VB_DEV_PATH);				\
	if (__fd < 0 && (__err == EACCES || __err == EPERM) && geteuid()) \
		VB_SETUP_SKIP("%s needs root", VB_DEV_PATH);		\
	ASSERT_LE(0, __fd)						\
		TH_LOG("open %s: %s", VB_DEV_PATH, strerror(__err));	\
	close(__fd);							\
} while (0)

static inline void vb_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static inline long vb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void vb_sleep_ms(long ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline long vb_page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* ---- discovery ---------------------------------------------------------- */

static inline int vb_get_info(int fd, struct vbackend_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(fd, VBACKEND_GET_INFO, info);
}

static inline int vb_get_session(int fd, struct vbackend_session_info *si)
{
	memset(si, 0, sizeof(*si));
	si->argsz = sizeof(*si);
	return ioctl(fd, VBACKEND_GET_SESSION, si);
}

/* ---- frontend (VMM) side ---------------------------------------------- */

static inline int vb_vmm_ctl(int fd, unsigned long cmd)
{
	struct vbackend_vmm_ctl c = { .argsz = sizeof(c) };

	return ioctl(fd, cmd, &c);
}

/* A new VMM (frontend) session, or -1 with errno. */
/* ... created with VBACKEND_VMM_F_* @flags */
static inline int vmm_create_flags(__u32 flags)
{
	struct vbackend_vmm_ctl c = { .argsz = sizeof(c), .flags = flags };
	int fd = open_vbackend();
	int err;

	if (fd < 0)
		return -1;
	if (ioctl(fd, VBACKEND_VMM_CREATE, &c)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static inline int vmm_create(void)
{
	return vmm_create_flags(0);
}

static inline int vmm_add_memory(int vmm, __u64 gpa, __u64 size, __u64 offset,
				 int fd, __u32 flags)
{
	struct vbackend_vmm_memory m = {
		.argsz = sizeof(m),
		.flags = flags,
		.gpa = gpa,
		.size = size,
		.offset = offset,
		.fd = fd,
	};

	return ioctl(vmm, VBACKEND_VMM_ADD_MEMORY, &m);
}

/*
 * A memfd of @size bytes sealed against shrinking, as VMM_ADD_MEMORY
 * wants it, or -1 with errno.
 */
static inline int vb_memfd(size_t size)
{
	int fd = memfd_create("vbackend-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * Register [gpa, gpa + size) as guest memory backed by a new memfd of that
 * size. Return: the memfd, or -1 with errno.
 */
static inline int vmm_add_memfd_flags(int vmm, __u64 gpa, __u64 size,
				      __u32 flags)
{
	int fd = vb_memfd(size);
	int err;

	if (fd < 0)
		return -1;
	if (vmm_add_memory(vmm, gpa, size, 0, fd, flags)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static inline int vmm_add_memfd(int vmm, __u64 gpa, __u64 size)
{
	return vmm_add_memfd_flags(vmm, gpa, size, 0);
}

/* ---- binding -------------------------------------------------------------- */

static inline int vb_bind(int fd, const void *target, __u32 len,
			  __u32 *provider)
{
	struct vbackend_bind b = {
		.argsz = sizeof(b),
		.target = (__u64)(uintptr_t)target,
		.target_len = len,
	};
	int ret = ioctl(fd, VBACKEND_BIND, &b);

	if (!ret && provider)
		*provider = b.provider;
	return ret;
}

static inline int vb_bind_vmm(int fd, int vmm_fd)
{
	char target[32];
	int len = snprintf(target, sizeof(target), "vmm:fd=%d", vmm_fd);

	return vb_bind(fd, target, len, NULL);
}

/* A new backend session bound to the VMM session @vmm, or -1 with errno. */
static inline int backend_bind_to(int vmm)
{
	int fd = open_vbackend();
	int err;

	if (fd < 0)
		return -1;
	if (vb_bind_vmm(fd, vmm)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* ---- backend objects ---------------------------------------------------- */

static inline int vb_mem_region(int be, __u32 index,
				struct vbackend_mem_region *mr)
{
	memset(mr, 0, sizeof(*mr));
	mr->argsz = sizeof(*mr);
	mr->index = index;
	return ioctl(be, VBACKEND_MEM_REGION, mr);
}

static inline int vb_del(int fd, unsigned long cmd, __u32 id)
{
	struct vbackend_id i = { .argsz = sizeof(i), .id = id };

	return ioctl(fd, cmd, &i);
}

static inline int vb_window_map(int be, __u32 flags, __u64 gpa, __u64 size,
				__u64 *offset, __u32 *id)
{
	struct vbackend_window w = {
		.argsz = sizeof(w),
		.flags = flags,
		.gpa = gpa,
		.size = size,
	};
	int ret = ioctl(be, VBACKEND_WINDOW_MAP, &w);

	if (!ret && offset)
		*offset = w.offset;
	if (!ret && id)
		*id = w.id;
	return ret;
}

static inline int vb_trap_add(int be, __u32 flags, __u64 addr, __u64 size,
			      __u32 *id)
{
	struct vbackend_trap t = {
		.argsz = sizeof(t),
		.flags = flags,
		.addr = addr,
		.size = size,
	};
	int ret = ioctl(be, VBACKEND_TRAP_ADD, &t);

	if (!ret && id)
		*id = t.id;
	return ret;
}

static inline int vb_kick_add(int be, __u32 flags, __u64 addr, __u32 len,
			      __u64 data, int efd, __u32 *id)
{
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = flags,
		.addr = addr,
		.data = data,
		.fd = efd,
		.len = len,
	};
	int ret = ioctl(be, VBACKEND_KICK_ADD, &k);

	if (!ret && id)
		*id = k.id;
	return ret;
}

static inline int vb_irq_add(int be, int efd, __u32 type, __u64 t0, __u64 t1,
			     __u32 *id)
{
	struct vbackend_irq i = {
		.argsz = sizeof(i),
		.fd = efd,
		.type = type,
		.target = { t0, t1 },
	};
	int ret = ioctl(be, VBACKEND_IRQ_ADD, &i);

	if (!ret && id)
		*id = i.id;
	return ret;
}

/*
 * KICK_ADD / IRQ_ADD asking for a notifier (VBACKEND_*_F_NOTIFIER): the
 * kernel's fd, made non-blocking as vb_eventfd()'s are; -1 on failure.
 */
static inline int vb_nonblock(int fd)
{
	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int vb_kick_notifier(int be, __u32 flags, __u64 addr, __u32 len,
				   __u64 data, __u32 *id)
{
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = flags | VBACKEND_KICK_F_NOTIFIER,
		.addr = addr,
		.data = data,
		.fd = -1,
		.len = len,
	};

	if (ioctl(be, VBACKEND_KICK_ADD, &k))
		return -1;
	if (id)
		*id = k.id;
	return vb_nonblock(k.fd);
}

static inline int vb_irq_notifier(int be, __u32 type, __u64 t0, __u64 t1,
				  __u32 *id)
{
	struct vbackend_irq i = {
		.argsz = sizeof(i),
		.flags = VBACKEND_IRQ_F_NOTIFIER,
		.fd = -1,
		.type = type,
		.target = { t0, t1 },
	};

	if (ioctl(be, VBACKEND_IRQ_ADD, &i))
		return -1;
	if (id)
		*id = i.id;
	return vb_nonblock(i.fd);
}

/* VMM_SET_KICK_FD / VMM_SET_IRQ_FD (@cmd): attach @fd to notifier @id */
static inline int vmm_set_fd(int vmm, unsigned long cmd, __u32 id, int fd)
{
	struct vbackend_vmm_notifier n = {
		.argsz = sizeof(n),
		.id = id,
		.fd = fd,
	};

	return ioctl(vmm, cmd, &n);
}

/* ---- eventfds ------------------------------------------------------------ */

static inline int vb_eventfd(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static inline int vb_efd_signal(int efd, __u64 n)
{
	return write(efd, &n, sizeof(n)) == sizeof(n) ? 0 : -1;
}

/* Consume an eventfd's count without blocking: the count, 0 when none. */
static inline __u64 vb_efd_take(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	__u64 n = 0;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* Wait up to @ms for @efd to count, then consume it: the count or 0. */
static inline __u64 vb_efd_wait(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return 0;
	return vb_efd_take(efd);
}

/* ---- accesses forwarded by a vCPU thread ------------------------------ */

/**
 * struct vb_fwd - one VMM_ACCESS made from its own thread
 * @thread: the thread; VMM_ACCESS blocks until the backend completes it
 * @vmm: VMM session
 * @acc: argument, holding the result once done
 * @ret: ioctl() return value
 * @err: errno when @ret is -1
 * @done: set by the thread when the ioctl() returned
 * @joined: the thread was joined
 */
struct vb_fwd {
	pthread_t thread;
	int vmm;
	struct vbackend_vmm_access acc;
	int ret;
	int err;
	int done;
	bool joined;
};

static inline void *vb_fwd_fn(void *arg)
{
	struct vb_fwd *f = arg;

	f->ret = ioctl(f->vmm, VBACKEND_VMM_ACCESS, &f->acc);
	f->err = f->ret ? errno : 0;
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start the access; return 0 or an errno from pthread_create(). */
static inline int vb_fwd_start(struct vb_fwd *f, int vmm, __u32 flags,
			       __u64 addr, __u32 size, __u32 dir, __u64 data,
			       __u32 vcpu)
{
	pthread_attr_t attr;
	int ret;

	memset(f, 0, sizeof(*f));
	f->vmm = vmm;
	f->acc.argsz = sizeof(f->acc);
	f->acc.flags = flags;
	f->acc.addr = addr;
	f->acc.size = size;
	f->acc.dir = dir;
	f->acc.data = data;
	f->acc.vcpu = vcpu;
	f->ret = -1;
	f->err = EINPROGRESS;
	pthread_attr_init(&attr);
	/* small stacks: tests run up to max_pending of these at once */
	pthread_attr_setstacksize(&attr, 64 * 1024);
	ret = pthread_create(&f->thread, &attr, vb_fwd_fn, f);
	pthread_attr_destroy(&attr);
	if (ret)
		f->joined = true;
	return ret;
}

/* Join within @ms: 0 when joined, ETIMEDOUT while the access still waits. */
static inline int vb_fwd_join(struct vb_fwd *f, int ms)
{
	struct timespec ts;
	int ret;

	if (f->joined)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	ret = pthread_timedjoin_np(f->thread, NULL, &ts);
	if (!ret)
		f->joined = true;
	return ret;
}

/* Has the access not returned yet (without waiting)? */
static inline bool vb_fwd_busy(struct vb_fwd *f)
{
	return !f->joined && !__atomic_load_n(&f->done, __ATOMIC_ACQUIRE);
}

/*
 * One access from a thread, waited for at most @ms. Return: the ioctl()
 * result with errno set, or -1 with errno ETIMEDOUT if it still blocks (the
 * thread is then left behind: closing the backend ends it).
 */
static inline int vmm_access_sync(int vmm, __u32 flags, __u64 addr, __u32 size,
				  __u32 dir, __u64 *data, __u32 *result, int ms)
{
	struct vb_fwd *f = calloc(1, sizeof(*f));
	int ret, err;

	if (!f)
		return -1;
	ret = vb_fwd_start(f, vmm, flags, addr, size, dir, data ? *data : 0, 0);
	if (ret) {
		free(f);
		errno = ret;
		return -1;
	}
	if (vb_fwd_join(f, ms)) {
		/* @f stays allocated: the thread still uses it */
		errno = ETIMEDOUT;
		return -1;
	}
	ret = f->ret;
	err = f->err;
	if (!ret) {
		if (data)
			*data = f->acc.data;
		if (result)
			*result = f->acc.result;
	}
	free(f);
	errno = err;
	return ret;
}

/* ---- events and completions --------------------------------------------- */

/*
 * Read up to @max records, waiting up to @ms for the first. Return: bytes
 * read, 0 at end of file, or -1 with errno (ETIMEDOUT when nothing came).
 */
static inline ssize_t vb_read_events(int fd, struct vbackend_event *ev,
				     size_t max, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, ms);

	if (ret < 0)
		return -1;
	if (!ret) {
		errno = ETIMEDOUT;
		return -1;
	}
	return read(fd, ev, max * sizeof(*ev));
}

/* One record within @ms: 1, 0 at end of file, -1 with errno. */
static inline int vb_read_event(int fd, struct vbackend_event *ev, int ms)
{
	ssize_t n = vb_read_events(fd, ev, 1, ms);

	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if (n != sizeof(*ev)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

/*
 * Read records until one of @type arrives, skipping others, for at most
 * @ms. Return: 1 found, 0 end of file or not within @ms, -1 read error.
 */
static inline int vb_wait_event(int fd, __u32 type, struct vbackend_event *ev,
				int ms)
{
	long deadline = vb_now_ms() + ms;
	long left;
	int ret;

	for (;;) {
		left = deadline - vb_now_ms();
		if (left < 0)
			left = 0;
		ret = vb_read_event(fd, ev, left);
		if (ret == 1 && ev->type == type)
			return 1;
		if (ret == 0 || (ret < 0 && errno == ETIMEDOUT))
			return 0;
		if (ret < 0)
			return -1;
	}
}

/*
 * Read everything queued on @fd (waiting up to @ms for each record).
 * Return: a bit (1 << type) per record type seen; *@irq_ids (if given)
 * collects a bit (1 << id) per IRQ record for ids below 64.
 */
static inline unsigned int vb_drain_events(int fd, int ms, __u64 *irq_ids)
{
	struct vbackend_event ev;
	unsigned int seen = 0;

	while (vb_read_event(fd, &ev, ms) == 1) {
		if (ev.type < 32)
			seen |= 1U << ev.type;
		if (irq_ids && ev.type == VBACKEND_EVENT_IRQ && ev.u.irq.id < 64)
			*irq_ids |= 1ULL << ev.u.irq.id;
	}
	return seen;
}

static inline ssize_t vb_complete(int be, __u64 seq, __u64 data, __u32 flags)
{
	struct vbackend_completion c = {
		.seq = seq,
		.data = data,
		.flags = flags,
	};

	return write(be, &c, sizeof(c));
}

static inline short vb_poll(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) < 0)
		return POLLERR;
	return p.revents;
}

/* ---- debugfs stats and the module refcount ------------------------------ */

/**
 * struct vb_stats - /sys/kernel/debug/vbackend/stats; -1 for a missing line
 */
struct vb_stats {
	long sessions;
	long windows;
	long traps;
	long kicks;
	long irqs;
	long pending;
	long regions;
	long pages;
};

static inline void vb_debugfs_mount(void)
{
	static bool tried;
	struct stat st;

	if (tried || !stat(VB_STATS_PATH, &st))
		return;
	tried = true;
	/* best effort: the run may not have mounted debugfs */
	mount("debugfs", VB_DEBUGFS, "debugfs", 0, NULL);
}

/* Return: 0, or -1 when the stats file is absent (no debugfs). */
static inline int vb_stats_read(struct vb_stats *st)
{
	static const struct {
		const char *name;
		size_t off;
	} rows[] = {
		{ "sessions", offsetof(struct vb_stats, sessions) },
		{ "windows", offsetof(struct vb_stats, windows) },
		{ "traps", offsetof(struct vb_stats, traps) },
		{ "kicks", offsetof(struct vb_stats, kicks) },
		{ "irqs", offsetof(struct vb_stats, irqs) },
		{ "pending", offsetof(struct vb_stats, pending) },
		{ "regions", offsetof(struct vb_stats, regions) },
		{ "pages", offsetof(struct vb_stats, pages) },
	};
	char name[64];
	long val;
	size_t i;
	FILE *f;

	for (i = 0; i < VB_ARRAY_SIZE(rows); i++)
		*(long *)((char *)st + rows[i].off) = -1;
	vb_debugfs_mount();
	f = fopen(VB_STATS_PATH, "re");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		for (i = 0; i < VB_ARRAY_SIZE(rows); i++)
			if (!strcmp(name, rows[i].name))
				*(long *)((char *)st + rows[i].off) = val;
	fclose(f);
	return 0;
}

static inline bool vb_stats_equal(const struct vb_stats *a,
				  const struct vb_stats *b)
{
	return a->sessions == b->sessions && a->windows == b->windows &&
	       a->traps == b->traps && a->kicks == b->kicks &&
	       a->irqs == b->irqs && a->pending == b->pending &&
	       a->regions == b->regions && a->pages == b->pages;
}

/*
 * Poll the stats until they equal *@want, for at most @ms (teardown may
 * race with deferred frees). Return: -1 without stats, else 0 with the
 * last reading in *@st.
 */
static inline int vb_stats_wait_equal(struct vb_stats *st,
				      const struct vb_stats *want, int ms)
{
	long deadline = vb_now_ms() + ms;

	for (;;) {
		if (vb_stats_read(st))
			return -1;
		if (vb_stats_equal(st, want) || vb_now_ms() > deadline)
			return 0;
		vb_sleep_ms(10);
	}
}

/* vb_stats_wait_equal() until every counter is zero */
static inline int vb_stats_wait_zero(struct vb_stats *st, int ms)
{
	static const struct vb_stats zero;

	return vb_stats_wait_equal(st, &zero, ms);
}

/*
 * Wait until the "pending" counter reaches @n, for at most @ms.
 * Return: 0 reached, 1 not within @ms, -1 without stats.
 */
static inline int vb_stats_wait_pending(long n, int ms)
{
	long deadline = vb_now_ms() + ms;
	struct vb_stats st;

	for (;;) {
		if (vb_stats_read(&st))
			return -1;
		if (st.pending == n)
			return 0;
		if (vb_now_ms() > deadline)
			return 1;
		vb_sleep_ms(5);
	}
}

/* Module reference count, or -1 when unknown (module built in, no sysfs). */
static inline long vb_refcnt_read(void)
{
	long val = -1;
	FILE *f = fopen(VB_REFCNT_PATH, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

static inline long vb_refcnt_wait(long want, int ms)
{
	long deadline = vb_now_ms() + ms;
	long cur;

	for (;;) {
		cur = vb_refcnt_read();
		if (cur == want || cur < 0 || vb_now_ms() > deadline)
			return cur;
		vb_sleep_ms(10);
	}
}

/*
 * Leak check for FIXTURE_TEARDOWN(), once every descriptor and mapping of
 * the test is gone: every stats counter is back to *@st0 (a reading taken
 * in setup: sessions that other programs hold, a Xen dom0's backends, stay
 * counted) and the module reference count to @refcnt0. EXPECT only: an
 * ASSERT in teardown would jump back into the harness and run teardown
 * again.
 */
#define VB_EXPECT_STATS_BACK(st0, refcnt0) do {				\
	const struct vb_stats *__st0 = (st0);				\
	long __rc0 = (refcnt0);						\
	struct vb_stats __st;						\
	long __rc;							\
									\
	if (!vb_stats_wait_equal(&__st, __st0, 2000)) {			\
		EXPECT_EQ(__st0->sessions, __st.sessions);		\
		EXPECT_EQ(__st0->windows, __st.windows);		\
		EXPECT_EQ(__st0->traps, __st.traps);			\
		EXPECT_EQ(__st0->kicks, __st.kicks);			\
		EXPECT_EQ(__st0->irqs, __st.irqs);			\
		EXPECT_EQ(__st0->pending, __st.pending);		\
		EXPECT_EQ(__st0->regions, __st.regions);		\
		EXPECT_EQ(__st0->pages, __st.pages);			\
	}								\
	if (__rc0 >= 0) {						\
		__rc = vb_refcnt_wait(__rc0, 2000);			\
		EXPECT_EQ(__rc0, __rc);					\
	}								\
} while (0)

/* VB_EXPECT_STATS_BACK() to zero: the test was the only user */
#define VB_EXPECT_NO_LEAKS(refcnt0) do {				\
	static const struct vb_stats __zero;				\
									\
	VB_EXPECT_STATS_BACK(&__zero, (refcnt0));			\
} while (0)

/* ---- faults on mappings ------------------------------------------------ */

static sigjmp_buf vb_fault_jmp;

static inline void vb_fault_handler(int sig)
{
	siglongjmp(vb_fault_jmp, sig);
}

/*
 * Read (or write @val to) the byte at @p. Return: 0, or the signal the
 * access raised (SIGBUS, SIGSEGV).
 */
static inline int vb_touch(volatile unsigned char *p, bool write,
			   unsigned char val)
{
	struct sigaction sa = { .sa_handler = vb_fault_handler };
	struct sigaction old_bus, old_segv;
	volatile int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(vb_fault_jmp, 1);
	if (!sig) {
		if (write)
			*p = val;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/* ---- child processes ---------------------------------------------------- */

/* waitpid() for at most @ms; kill the child if it does not exit in time. */
static inline int vb_waitpid(pid_t pid, int *status, int ms)
{
	long deadline = vb_now_ms() + ms;
	pid_t ret;

	for (;;) {
		ret = waitpid(pid, status, WNOHANG);
		if (ret == pid)
			return 0;
		if (ret < 0)
			return -1;
		if (vb_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			errno = ETIMEDOUT;
			return -1;
		}
		vb_sleep_ms(5);
	}
}

#endif /* VBACKEND_UTIL_H */
