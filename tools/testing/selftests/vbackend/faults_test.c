// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: systematic fault injection (Documentation/fault-injection/
 * fault-injection.rst, "fail-nth", the interface syzkaller uses).
 *
 * For every ioctl of both session roles, mmap() and the first-touch fault
 * of a window, read() of records, write() of completions and open/close of
 * the device: write N to /proc/thread-self/fail-nth, make the call, read
 * fail-nth back (0: the N-th fault point of the call was reached and
 * failed). N goes 1, 2, 3... until the call completes without reaching its
 * N-th fault point. Fault points are every slab allocation (failslab), page
 * allocation (fail_page_alloc) and user copy (fail_usercopy) the call
 * makes, in vbackend or in the kernel around it.
 *
 * Every injected round must end with:
 *  - the call failing with an errno the path names (ENOMEM for a failed
 *    allocation, EFAULT for a failed user copy), or succeeding anyway: some
 *    allocations have a fallback (kmemleak's and debugobjects' pools), and
 *    a page fault that fails with VM_FAULT_OOM is retried. Those are
 *    counted as "absorbed";
 *  - no object left behind: the debugfs counters equal what they were
 *    before the call (or, after a success, what that success created), no
 *    descriptor leaked (/proc/self/fd);
 *  - a usable session: the same call without injection succeeds right
 *    after, and sees what it would have seen (the same record for read(),
 *    the same access for write()).
 * Each path prints "# faults: <path>: N fault points (K absorbed), all
 * clean". kmemleak is scanned by the test guest once every test is done.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION (and FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_USERCOPY, FAULT_INJECTION_DEBUG_FS to reach the
 * allocations); without /proc/thread-self/fail-nth every test skips.
 * The Xen bind runs when VBACKEND_FAULTS_XEN_DOMID names a frontend domain
 * (in a Xen dom0) and skips otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include "vbackend_util.h"

/* every path callback has one signature; most use part of it */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FI_DIR		VB_DEBUGFS

#define MMIO		0xd0000000ULL
#define MMIO_SIZE	0x1000ULL
#define KADDR		(MMIO + 0x40)	/* the fixture's kick */
#define TADDR		(MMIO + 0x80)	/* trapped, no kick */
#define MMIO2		0xe0000000ULL	/* TRAP_ADD's range */
#define GPA		0x100000ULL
#define NPAGES		64ULL		/* guest memory, window size */

/* seconds per test: TCG with KASAN is slow */
#define FAULTS_TIMEOUT	120

/* more fault points than any path has: the loop is bounded */
#define MAX_POINTS	200

/* ---- the fault-injection knobs --------------------------------------- */

/*
 * fail-nth only counts the fault points each attribute lets through its
 * filters: failslab and fail_page_alloc skip GFP_KERNEL allocations unless
 * ignore-gfp-wait is N, fail_page_alloc skips order-0 and highmem pages by
 * default. probability 0 keeps the random injection off (fail-nth ignores
 * it), task-filter confines any to make-it-fail tasks, verbose 0 keeps the
 * console free of a stack trace per injected fault.
 */
static const struct {
	const char *path;
	const char *val;
	bool needed;	/* the test skips without it */
} fi_knobs[] = {
	{ "failslab/probability", "0", true },
	{ "failslab/task-filter", "Y", true },
	{ "failslab/verbose", "0", true },
	{ "failslab/ignore-gfp-wait", "N", true },
	{ "fail_page_alloc/probability", "0", false },
	{ "fail_page_alloc/task-filter", "Y", false },
	{ "fail_page_alloc/verbose", "0", false },
	{ "fail_page_alloc/ignore-gfp-wait", "N", false },
	{ "fail_page_alloc/ignore-gfp-highmem", "N", false },
	{ "fail_page_alloc/min-order", "0", false },
	{ "fail_usercopy/probability", "0", false },
	{ "fail_usercopy/task-filter", "Y", false },
	{ "fail_usercopy/verbose", "0", false },
};

#define FI_NKNOBS	VB_ARRAY_SIZE(fi_knobs)

struct fi_saved {
	char val[FI_NKNOBS][32];
	bool have[FI_NKNOBS];
};

static int fi_rw(const char *rel, char *buf, size_t len, const char *set)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), FI_DIR "/%s", rel);
	fd = open(path, (set ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (set) {
		n = write(fd, set, strlen(set));
		n = n == (ssize_t)strlen(set) ? 0 : -1;
	} else {
		n = read(fd, buf, len - 1);
		if (n >= 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			n = 0;
		}
	}
	close(fd);
	return n;
}

/* Save and set every knob. Return: 0, or -1 with *@missing the knob. */
static int fi_setup(struct fi_saved *sv, const char **missing)
{
	size_t i;

	memset(sv, 0, sizeof(*sv));
	for (i = 0; i < FI_NKNOBS; i++) {
		if (fi_rw(fi_knobs[i].path, sv->val[i], sizeof(sv->val[i]), NULL)) {
			if (!fi_knobs[i].needed)
				continue;
			*missing = fi_knobs[i].path;
			return -1;
		}
		sv->have[i] = true;
		if (fi_rw(fi_knobs[i].path, NULL, 0, fi_knobs[i].val)) {
			*missing = fi_knobs[i].path;
			return -1;
		}
	}
	return 0;
}

static void fi_restore(struct fi_saved *sv)
{
	size_t i;

	/* in reverse: the filters go back on before the rest */
	for (i = FI_NKNOBS; i-- > 0;)
		if (sv->have[i])
			fi_rw(fi_knobs[i].path, NULL, 0, sv->val[i]);
}

/* ---- fail-nth ---------------------------------------------------------- */

static int fi_open(void)
{
	return open(FAIL_NTH, O_RDWR | O_CLOEXEC);
}

/* Fail the @n-th fault point from now on in this thread. */
static int fi_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/*
 * Was the armed fault injected? Reads fail-nth back and clears it.
 * Return: 1 injected (fail-nth reads 0), 0 not reached, -1 on error.
 *
 * Reading and clearing are fault points themselves while the count is
 * not zero: a count of 1 fails the read's own copy_to_user() (EFAULT),
 * which also brings it to 0, and means "not reached" just as a count
 * above 1 does.
 */
static int fi_disarm(int fd)
{
	char buf[16];
	ssize_t n;
	int injected;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno == EFAULT) {
		injected = 0;
	} else if (n <= 0) {
		return -1;
	} else {
		buf[n] = '\0';
		injected = strtoul(buf, NULL, 10) == 0;
	}
	/* may itself consume the last count (EFAULT): 0 either way */
	if (pwrite(fd, "0", 1, 0) != 1 && errno != EFAULT)
		return -1;
	return injected;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

static void stats_fmt(const struct vb_stats *st, char *buf, size_t len)
{
	snprintf(buf, len,
		 "sessions %ld windows %ld traps %ld kicks %ld irqs %ld pending %ld regions %ld pages %ld",
		 st->sessions, st->windows, st->traps, st->kicks, st->irqs,
		 st->pending, st->regions, st->pages);
}

/* ---- the fixture ----------------------------------------------------- */

FIXTURE(faults) {
	struct fi_saved fi;
	bool fi_set;
	int fail;	/* fail-nth of the test's main thread */
	int vmm;
	int be;
	int memfd;
	int efd;	/* the fixture's kick */
	int irq_efd;	/* the fixture's interrupt */
	long refcnt0;
	struct vb_stats st0;	/* before setup: a dom0's own backends */
	long pgsz;
	__u32 trap_id;
	__u32 kick_id;
	__u32 irq_id;
};

FIXTURE_SETUP(faults)
{
	const char *missing = NULL;

	self->fail = -1;
	self->vmm = -1;
	self->be = -1;
	self->memfd = -1;
	self->efd = -1;
	self->irq_efd = -1;
	if (access(FAIL_NTH, F_OK))
		VB_SETUP_SKIP("no %s: kernel without CONFIG_FAULT_INJECTION",
			      FAIL_NTH);
	VB_REQUIRE_DEVICE();
	if (vb_stats_read(&self->st0))
		VB_SETUP_SKIP("no %s: debugfs not mounted", VB_STATS_PATH);
	if (fi_setup(&self->fi, &missing)) {
		fi_restore(&self->fi);
		VB_SETUP_SKIP("no usable " FI_DIR "/%s (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)",
			      missing);
	}
	self->fi_set = true;
	self->fail = fi_open();
	ASSERT_LE(0, self->fail) TH_LOG("open %s: %s", FAIL_NTH, strerror(errno));

	self->pgsz = vb_page_size();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->memfd = vmm_add_memfd(self->vmm, GPA, NPAGES * self->pgsz);
	ASSERT_LE(0, self->memfd);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, &self->trap_id));
	self->efd = vb_eventfd();
	ASSERT_LE(0, self->efd);
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->efd,
				 &self->kick_id));
	self->irq_efd = vb_eventfd();
	ASSERT_LE(0, self->irq_efd);
	ASSERT_EQ(0, vb_irq_add(self->be, self->irq_efd,
				VBACKEND_IRQ_TARGET_LINE, 5, 0, &self->irq_id));
	/* PEER_BOUND, NOTIFIERS: the VMM's stream starts empty */
	vb_drain_events(self->vmm, 0, NULL);
}

FIXTURE_TEARDOWN(faults)
{
	vb_close(&self->be);
	vb_close(&self->vmm);
	vb_close(&self->memfd);
	vb_close(&self->efd);
	vb_close(&self->irq_efd);
	if (self->fail >= 0) {
		fi_arm(self->fail, 0);
		vb_close(&self->fail);
	}
	if (self->fi_set)
		fi_restore(&self->fi);
	VB_EXPECT_STATS_BACK(&self->st0, self->refcnt0);
}

/* ---- the loop ------------------------------------------------------- */

/**
 * struct fpath - one path under injection
 * @name: what the summary line calls it
 * @errnos: zero-terminated errnos an injected failure may return
 * @prepare: optional; set up what one call needs (not injected)
 * @call: the call; 0 on success, -1 with errno
 * @check: optional; after a success, injected or not: did it do what it
 *         should? Then undo it (not injected). Return 0 when fine.
 * @retry: optional; after an injected failure, the same call without
 *         injection, checked and undone; default: @call then @check
 * @cleanup: optional; undo @prepare
 */
struct fpath {
	const char *name;
	const int *errnos;
	int (*prepare)(FIXTURE_DATA(faults) *self, void *ctx);
	int (*call)(FIXTURE_DATA(faults) *self, void *ctx);
	int (*check)(FIXTURE_DATA(faults) *self, void *ctx);
	int (*retry)(FIXTURE_DATA(faults) *self, void *ctx);
	void (*cleanup)(FIXTURE_DATA(faults) *self, void *ctx);
};

static const int err_nomem_fault[] = { ENOMEM, EFAULT, 0 };
static const int err_nomem[] = { ENOMEM, 0 };

static bool errno_allowed(const int *list, int err)
{
	for (; *list; list++)
		if (*list == err)
			return true;
	return false;
}

static void errnos_fmt(const int *list, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; *list && off < len; list++)
		off += snprintf(buf + off, len - off, "%s%s", off ? "/" : "",
				strerrorname_np(*list));
}

/*
 * Run @p with N = 1, 2, ... Each stats/fd check compares with a reading
 * taken after @prepare. Return: the number of fault points.
 */
static int run_path(struct __test_metadata *_metadata,
		    FIXTURE_DATA(faults) *self, const struct fpath *p, void *ctx)
{
	struct vb_stats before, after;
	char b1[160], b2[160];
	int points = 0, absorbed = 0;
	int n;

	for (n = 1; n <= MAX_POINTS; n++) {
		int ret, err, inj, fds0, fds1;

		if (p->prepare)
			ASSERT_EQ(0, p->prepare(self, ctx))
				TH_LOG("%s: round %d: prepare: %s", p->name, n,
				       strerror(errno));
		ASSERT_EQ(0, vb_stats_read(&before));
		fds0 = count_fds();

		ASSERT_EQ(0, fi_arm(self->fail, n));
		ret = p->call(self, ctx);
		err = errno;
		inj = fi_disarm(self->fail);
		ASSERT_LE(0, inj) TH_LOG("%s: reading %s: %s", p->name,
					 FAIL_NTH, strerror(errno));

		if (!inj) {
			/* the call ran to its end with no fault point left */
			ASSERT_EQ(0, ret) TH_LOG("%s: fails without a fault injected: %s",
						 p->name, strerror(err));
			if (p->check)
				ASSERT_EQ(0, p->check(self, ctx))
					TH_LOG("%s: the uninjected call did not do its job",
					       p->name);
			if (p->cleanup)
				p->cleanup(self, ctx);
			break;
		}
		points++;
		if (!ret) {
			/* an allocation with a fallback, or a retried fault */
			absorbed++;
			if (p->check)
				ASSERT_EQ(0, p->check(self, ctx))
					TH_LOG("%s: fault point %d: succeeded but did not do its job",
					       p->name, n);
		} else {
			errnos_fmt(p->errnos, b1, sizeof(b1));
			ASSERT_TRUE(errno_allowed(p->errnos, err))
				TH_LOG("%s: fault point %d: errno %s, want %s",
				       p->name, n, strerrorname_np(err), b1);
			/* give deferred frees (RCU, task work) a moment */
			for (int i = 0; i < 100; i++) {
				ASSERT_EQ(0, vb_stats_read(&after));
				if (vb_stats_equal(&before, &after))
					break;
				vb_sleep_ms(10);
			}
			stats_fmt(&before, b1, sizeof(b1));
			stats_fmt(&after, b2, sizeof(b2));
			ASSERT_TRUE(vb_stats_equal(&before, &after))
				TH_LOG("%s: fault point %d (%s) left objects behind:\n  before: %s\n  after:  %s",
				       p->name, n, strerrorname_np(err), b1, b2);
			fds1 = count_fds();
			ASSERT_EQ(fds0, fds1)
				TH_LOG("%s: fault point %d (%s) leaked a descriptor",
				       p->name, n, strerrorname_np(err));
			if (p->retry) {
				ASSERT_EQ(0, p->retry(self, ctx))
					TH_LOG("%s: unusable after fault point %d (%s)",
					       p->name, n, strerrorname_np(err));
			} else {
				ASSERT_EQ(0, p->call(self, ctx))
					TH_LOG("%s: the call fails after fault point %d (%s): %s",
					       p->name, n, strerrorname_np(err),
					       strerror(errno));
				if (p->check)
					ASSERT_EQ(0, p->check(self, ctx))
						TH_LOG("%s: the call after fault point %d did not do its job",
						       p->name, n);
			}
		}
		if (p->cleanup)
			p->cleanup(self, ctx);
	}
	ASSERT_GE(MAX_POINTS, n) TH_LOG("%s: more than %d fault points?",
					p->name, MAX_POINTS);
	ksft_print_msg("faults: %s: %d fault points (%d absorbed), all clean\n",
		       p->name, points, absorbed);
	fflush(stdout);
	return points;
}

#define RUN_PATH(p, ctx) run_path(_metadata, self, (p), (ctx))

/* ---- helpers the paths share ------------------------------------------ */

struct octx {
	int fd;		/* a descriptor the call made or works on */
	int fd2;
	__u32 id;
	__u64 off;
	void *map;
	__u64 page;	/* next never-touched guest page */
	struct vb_fwd fwd;
	bool fwd_on;
	struct vbackend_event ev;
	__u64 seq;
	struct vb_stats st0;	/* before prepare */
	int role_fd;	/* the session read() reads */
	/* what retry_read() checks the record with */
	int (*check_fn)(FIXTURE_DATA(faults) *self, void *ctx);
	union {
		struct vbackend_info info;
		struct vbackend_provider_info pi;
		struct vbackend_session_info si;
		struct vbackend_mem_region mr;
		struct vbackend_kick kick;
		struct vbackend_irq irq;
		struct vbackend_vmm_access acc;
	} u;
};

static void octx_init(struct octx *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->fd2 = -1;
	c->map = MAP_FAILED;
}

static void close_fd(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	vb_close(&c->fd);
	vb_close(&c->fd2);
}

/* ---- discovery -------------------------------------------------------- */

static int call_get_info(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_get_info(c->role_fd, &c->u.info);
}

static int check_get_info(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return c->u.info.api_version == VBACKEND_API_VERSION &&
	       c->u.info.event_size == VB_EVENT_SIZE ? 0 : -1;
}

static int call_get_provider(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	memset(&c->u.pi, 0, sizeof(c->u.pi));
	c->u.pi.argsz = sizeof(c->u.pi);
	c->u.pi.id = VBACKEND_PROVIDER_VMM;
	return ioctl(c->role_fd, VBACKEND_GET_PROVIDER, &c->u.pi);
}

static int check_get_provider(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return strcmp(c->u.pi.name, "vmm") ? -1 : 0;
}

static int call_get_session(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_get_session(c->role_fd, &c->u.si);
}

static int check_get_session(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return c->u.si.provider == VBACKEND_PROVIDER_VMM &&
	       c->u.si.role == (c->role_fd == self->be ? VBACKEND_SESSION_BACKEND :
				VBACKEND_SESSION_FRONTEND) ? 0 : -1;
}

TEST_F_TIMEOUT(faults, discovery, FAULTS_TIMEOUT)
{
	const struct fpath info = {
		.errnos = err_nomem_fault,
		.call = call_get_info,
		.check = check_get_info,
	};
	const struct fpath prov = {
		.errnos = err_nomem_fault,
		.call = call_get_provider,
		.check = check_get_provider,
	};
	const struct fpath sess = {
		.errnos = err_nomem_fault,
		.call = call_get_session,
		.check = check_get_session,
	};
	struct fpath p;
	struct octx c;

	octx_init(&c);
	c.role_fd = self->be;
	p = info;
	p.name = "VBACKEND_GET_INFO (backend)";
	RUN_PATH(&p, &c);
	p = prov;
	p.name = "VBACKEND_GET_PROVIDER (backend)";
	RUN_PATH(&p, &c);
	p = sess;
	p.name = "VBACKEND_GET_SESSION (backend)";
	RUN_PATH(&p, &c);
	c.role_fd = self->vmm;
	p = info;
	p.name = "VBACKEND_GET_INFO (VMM)";
	RUN_PATH(&p, &c);
	p = prov;
	p.name = "VBACKEND_GET_PROVIDER (VMM)";
	RUN_PATH(&p, &c);
	p = sess;
	p.name = "VBACKEND_GET_SESSION (VMM)";
	RUN_PATH(&p, &c);
}

/* ---- open and close --------------------------------------------------- */

static int call_open(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd = open_vbackend();
	return c->fd < 0 ? -1 : 0;
}

static int check_open(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	struct vbackend_info info;
	int ret = vb_get_info(c->fd, &info);

	vb_close(&c->fd);
	return ret;
}

/* close() a bound backend and its VMM: both releases under injection */
static int prepare_close(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	if (vb_stats_read(&c->st0))
		return -1;
	c->fd2 = vmm_create();
	if (c->fd2 < 0)
		return -1;
	c->fd = backend_bind_to(c->fd2);
	if (c->fd < 0)
		return -1;
	return vb_trap_add(c->fd, 0, MMIO, MMIO_SIZE, NULL);
}

static int call_close(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	int a = close(c->fd), b = close(c->fd2);

	c->fd = -1;
	c->fd2 = -1;
	return a || b ? -1 : 0;
}

/* both sessions and what they held are gone */
static int check_close(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	struct vb_stats st;

	if (vb_stats_wait_equal(&st, &c->st0, 2000))
		return -1;
	return vb_stats_equal(&st, &c->st0) ? 0 : -1;
}

TEST_F_TIMEOUT(faults, open_close, FAULTS_TIMEOUT)
{
	const struct fpath open_p = {
		.name = "open(/dev/vbackend)",
		.errnos = err_nomem_fault,	/* EFAULT: getname()'s copy */
		.call = call_open,
		.check = check_open,
		.cleanup = close_fd,
	};
	const struct fpath close_p = {
		.name = "close() of a backend and its VMM",
		.errnos = err_nomem_fault,
		.prepare = prepare_close,
		.call = call_close,
		.check = check_close,
		.cleanup = close_fd,
	};
	struct octx c;

	octx_init(&c);
	RUN_PATH(&open_p, &c);
	octx_init(&c);
	RUN_PATH(&close_p, &c);
}

/* ---- binding and creating -------------------------------------------- */

/* a fresh VMM in fd2 and an unbound session in fd */
static int prepare_bind(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd2 = vmm_create();
	if (c->fd2 < 0)
		return -1;
	c->fd = open_vbackend();
	return c->fd < 0 ? -1 : 0;
}

static int call_bind(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_bind_vmm(c->fd, c->fd2);
}

/* bound: backend commands work */
static int check_bound(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_trap_add(c->fd, 0, MMIO, MMIO_SIZE, NULL);
}

static int prepare_unbound(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd = open_vbackend();
	return c->fd < 0 ? -1 : 0;
}

static int call_vmm_create(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_vmm_ctl(c->fd, VBACKEND_VMM_CREATE);
}

/* a VMM: a backend can bind to it */
static int check_vmm(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	int be = backend_bind_to(c->fd);

	if (be < 0)
		return -1;
	close(be);
	return 0;
}

TEST_F_TIMEOUT(faults, bind_create, FAULTS_TIMEOUT)
{
	const struct fpath bind = {
		.name = "VBACKEND_BIND (vmm:fd=N)",
		.errnos = err_nomem_fault,
		.prepare = prepare_bind,
		.call = call_bind,
		.check = check_bound,
		.cleanup = close_fd,
	};
	const struct fpath create = {
		.name = "VBACKEND_VMM_CREATE",
		.errnos = err_nomem_fault,
		.prepare = prepare_unbound,
		.call = call_vmm_create,
		.check = check_vmm,
		.cleanup = close_fd,
	};
	struct octx c;

	octx_init(&c);
	RUN_PATH(&bind, &c);
	octx_init(&c);
	RUN_PATH(&create, &c);
}

/* ---- the VMM's memory ------------------------------------------------- */

/* a fresh VMM (fd) and a memfd (fd2) */
static int prepare_add_memory(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd = vmm_create();
	if (c->fd < 0)
		return -1;
	c->fd2 = vb_memfd(4 * self->pgsz);
	return c->fd2 < 0 ? -1 : 0;
}

static int call_add_memory(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vmm_add_memory(c->fd, GPA, 4 * self->pgsz, 0, c->fd2, 0);
}

/* the region is there: a backend sees it */
static int check_memory(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	struct vbackend_mem_region mr;
	int be = backend_bind_to(c->fd);
	int ret;

	if (be < 0)
		return -1;
	ret = vb_mem_region(be, 0, &mr);
	if (!ret && (mr.gpa != GPA || mr.size != 4ULL * self->pgsz))
		ret = -1;
	if (!ret && vb_mem_region(be, 1, &mr) != -1)
		ret = -1;
	close(be);
	return ret;
}

static int call_mem_region(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_mem_region(self->be, 0, &c->u.mr);
}

static int check_mem_region(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return c->u.mr.gpa == GPA && c->u.mr.size == NPAGES * self->pgsz ?
	       0 : -1;
}

TEST_F_TIMEOUT(faults, memory, FAULTS_TIMEOUT)
{
	const struct fpath add = {
		.name = "VBACKEND_VMM_ADD_MEMORY",
		.errnos = err_nomem_fault,
		.prepare = prepare_add_memory,
		.call = call_add_memory,
		.check = check_memory,
		.cleanup = close_fd,
	};
	const struct fpath region = {
		.name = "VBACKEND_MEM_REGION",
		.errnos = err_nomem_fault,
		.call = call_mem_region,
		.check = check_mem_region,
	};
	struct octx c;

	octx_init(&c);
	RUN_PATH(&add, &c);
	octx_init(&c);
	RUN_PATH(&region, &c);
}

/* ---- windows, mmap and the first touch -------------------------------- */

static int call_window_map(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_window_map(self->be, VBACKEND_WINDOW_F_READ | VBACKEND_WINDOW_F_WRITE,
			     GPA, NPAGES * self->pgsz, &c->off, &c->id);
}

static int window_unmap(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_del(self->be, VBACKEND_WINDOW_UNMAP, c->id);
}

/* the window maps and reads; then unmap it */
static int check_window(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	size_t len = NPAGES * self->pgsz;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, self->be, c->off);
	int ret = 0;

	if (p == MAP_FAILED)
		return -1;
	if (vb_touch(p, false, 0))
		ret = -1;
	munmap(p, len);
	if (window_unmap(self, ctx))
		ret = -1;
	return ret;
}

static int prepare_window(FIXTURE_DATA(faults) *self, void *ctx)
{
	return call_window_map(self, ctx);
}

static int check_unmapped(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	/* gone: its id is unknown now */
	return vb_del(self->be, VBACKEND_WINDOW_UNMAP, c->id) == -1 &&
	       errno == ENOENT ? 0 : -1;
}

static int call_mmap(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->map = mmap(NULL, NPAGES * self->pgsz, PROT_READ | PROT_WRITE,
		      MAP_SHARED, self->be, c->off);
	return c->map == MAP_FAILED ? -1 : 0;
}

/* the mapping works; unmapping it and the window frees the window */
static int check_mmap(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	int ret = vb_touch(c->map, true, 1) ? -1 : 0;

	munmap(c->map, NPAGES * self->pgsz);
	c->map = MAP_FAILED;
	return ret;
}

/* unmap the window; its object must go (no reference left by mmap) */
static void cleanup_window(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	if (c->map != MAP_FAILED)
		munmap(c->map, NPAGES * self->pgsz);
	c->map = MAP_FAILED;
	window_unmap(self, ctx);
}

static int prepare_touch(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->map = mmap(NULL, NPAGES * self->pgsz, PROT_READ | PROT_WRITE,
		      MAP_SHARED, self->be, c->off);
	return c->map == MAP_FAILED ? -1 : 0;
}

/*
 * vb_touch() installs its handlers with sigaction() and saves the signal
 * mask: system calls whose user copies are fault points of their own. The
 * touch under injection makes none: the handlers are installed before
 * (SA_NODEFER, so that jumping out leaves the mask alone) and sigsetjmp()
 * does not save the mask.
 */
static sigjmp_buf touch_jmp;

static void touch_handler(int sig)
{
	siglongjmp(touch_jmp, sig);
}

static void touch_handlers(bool on)
{
	struct sigaction sa = {
		.sa_handler = on ? touch_handler : SIG_DFL,
		.sa_flags = SA_NODEFER,
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * The first touch of a guest page nobody touched yet. A signal is reported
 * as -1 with errno EIO (SIGBUS) or EINVAL (SIGSEGV), an errno no round
 * accepts: a failed allocation in a page fault must not kill the backend,
 * the fault returns VM_FAULT_OOM and the access is retried.
 */
static int call_touch(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	volatile unsigned char *p =
		(unsigned char *)c->map + c->page * self->pgsz;
	volatile int sig;

	sig = sigsetjmp(touch_jmp, 0);
	if (!sig)
		*p = 0x5a;
	if (sig) {
		errno = sig == SIGBUS ? EIO : EINVAL;
		return -1;
	}
	return 0;
}

/* the byte reached guest memory (the memfd) */
static int check_touch(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	unsigned char b = 0;

	if (pread(self->memfd, &b, 1, c->page * self->pgsz) != 1)
		return -1;
	return b == 0x5a ? 0 : -1;
}

static int retry_touch(FIXTURE_DATA(faults) *self, void *ctx)
{
	return call_touch(self, ctx) || check_touch(self, ctx) ? -1 : 0;
}

static void cleanup_touch(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	munmap(c->map, NPAGES * self->pgsz);
	c->map = MAP_FAILED;
	c->page++;
}

TEST_F_TIMEOUT(faults, windows, FAULTS_TIMEOUT)
{
	/* a failed allocation of a page fault must not raise SIGBUS */
	static const int err_touch[] = { 0 };
	const struct fpath map = {
		.name = "VBACKEND_WINDOW_MAP",
		.errnos = err_nomem_fault,
		.call = call_window_map,
		.check = check_window,
	};
	const struct fpath unmap = {
		.name = "VBACKEND_WINDOW_UNMAP",
		.errnos = err_nomem_fault,
		.prepare = prepare_window,
		.call = window_unmap,
		.check = check_unmapped,
	};
	const struct fpath mm = {
		.name = "mmap() of a window",
		.errnos = err_nomem,
		.prepare = prepare_window,
		.call = call_mmap,
		.check = check_mmap,
		.cleanup = cleanup_window,
	};
	const struct fpath touch = {
		.name = "first touch of a window page",
		.errnos = err_touch,
		.prepare = prepare_touch,
		.call = call_touch,
		.check = check_touch,
		.retry = retry_touch,
		.cleanup = cleanup_touch,
	};
	struct vb_stats st;
	struct octx c;
	long windows0;

	ASSERT_EQ(0, vb_stats_read(&st));
	windows0 = st.windows;
	octx_init(&c);
	RUN_PATH(&map, &c);
	octx_init(&c);
	RUN_PATH(&unmap, &c);
	octx_init(&c);
	RUN_PATH(&mm, &c);
	/* every window of the mmap rounds went with its last reference */
	ASSERT_EQ(0, vb_stats_read(&st));
	EXPECT_EQ(windows0, st.windows);

	octx_init(&c);
	c.page = 1;	/* page 0 was touched above */
	ASSERT_EQ(0, call_window_map(self, &c));
	touch_handlers(true);
	RUN_PATH(&touch, &c);
	touch_handlers(false);
	ASSERT_GT(NPAGES, c.page) TH_LOG("ran out of fresh guest pages");
	EXPECT_EQ(0, window_unmap(self, &c));
}

/* ---- traps, kicks, interrupts ---------------------------------------- */

static int call_trap_add(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_trap_add(self->be, 0, MMIO2, MMIO_SIZE, &c->id);
}

/* the range traps: an access in it reaches us; then delete it */
static int check_trap(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	/* ids name what we made; a duplicate would be -EEXIST here */
	if (vb_trap_add(self->be, 0, MMIO2, MMIO_SIZE, NULL) != -1 ||
	    errno != EEXIST)
		return -1;
	return vb_del(self->be, VBACKEND_TRAP_DEL, c->id);
}

static int prepare_trap(FIXTURE_DATA(faults) *self, void *ctx)
{
	return call_trap_add(self, ctx);
}

static int call_trap_del(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_del(self->be, VBACKEND_TRAP_DEL, c->id);
}

static int check_trap_gone(FIXTURE_DATA(faults) *self, void *ctx)
{
	__u32 id;

	/* the range is free again */
	if (vb_trap_add(self->be, 0, MMIO2, MMIO_SIZE, &id))
		return -1;
	return vb_del(self->be, VBACKEND_TRAP_DEL, id);
}

static int call_kick_add(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_kick_add(self->be, 0, KADDR + 8, 4, 0, self->efd, &c->id);
}

static int check_kick(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u64 data = 1;
	__u32 result = 0;

	if (vmm_access_sync(self->vmm, 0, KADDR + 8, 4, VBACKEND_DIR_WRITE,
			    &data, &result, VB_WAIT_MS) ||
	    result != VBACKEND_VMM_ACCESS_KICKED || vb_efd_take(self->efd) != 1)
		return -1;
	vb_drain_events(self->vmm, 0, NULL);	/* NOTIFIERS */
	return vb_del(self->be, VBACKEND_KICK_DEL, c->id);
}

static int prepare_kick(FIXTURE_DATA(faults) *self, void *ctx)
{
	return call_kick_add(self, ctx);
}

static int call_kick_del(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_del(self->be, VBACKEND_KICK_DEL, c->id);
}

static int check_kick_gone(FIXTURE_DATA(faults) *self, void *ctx)
{
	__u32 id;

	vb_drain_events(self->vmm, 0, NULL);
	if (vb_kick_add(self->be, 0, KADDR + 8, 4, 0, self->efd, &id))
		return -1;
	vb_drain_events(self->vmm, 0, NULL);
	return vb_del(self->be, VBACKEND_KICK_DEL, id);
}

static int prepare_irq_efd(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd = vb_eventfd();
	return c->fd < 0 ? -1 : 0;
}

static int call_irq_add(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_irq_add(self->be, c->fd, VBACKEND_IRQ_TARGET_MSI,
			  0xfee00000, 0x41, &c->id);
}

/* raising it gives the VMM its record; then delete it */
static int check_irq(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u64 ids = 0;

	vb_drain_events(self->vmm, 0, NULL);
	if (vb_efd_signal(c->fd, 1))
		return -1;
	vb_drain_events(self->vmm, 100, &ids);
	if (c->id >= 64 || !(ids & (1ULL << c->id)))
		return -1;
	return vb_del(self->be, VBACKEND_IRQ_DEL, c->id);
}

static int prepare_irq(FIXTURE_DATA(faults) *self, void *ctx)
{
	return prepare_irq_efd(self, ctx) || call_irq_add(self, ctx) ? -1 : 0;
}

static int call_irq_del(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_del(self->be, VBACKEND_IRQ_DEL, c->id);
}

static int check_irq_gone(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u32 id;

	vb_drain_events(self->vmm, 0, NULL);
	/* the same eventfd is free again (-EEXIST otherwise) */
	if (vb_irq_add(self->be, c->fd, VBACKEND_IRQ_TARGET_MSI, 0xfee00000,
		       0x41, &id))
		return -1;
	vb_drain_events(self->vmm, 0, NULL);
	return vb_del(self->be, VBACKEND_IRQ_DEL, id);
}

static void cleanup_irq(FIXTURE_DATA(faults) *self, void *ctx)
{
	vb_drain_events(self->vmm, 0, NULL);
	close_fd(self, ctx);
}

/* notifiers: the kernel's fds, and the VMM's eventfds attached to them */
static int call_kick_notifier(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd = vb_kick_notifier(self->be, 0, KADDR + 8, 4, 0, &c->id);
	return c->fd < 0 ? -1 : 0;
}

/* a forwarded write kicks it (c->fd2: and the VMM's eventfd attached) */
static int check_kick_notifier(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u64 data = 1;
	__u32 result = 0;

	vb_efd_take(c->fd);
	if (vmm_access_sync(self->vmm, 0, KADDR + 8, 4, VBACKEND_DIR_WRITE,
			    &data, &result, VB_WAIT_MS) ||
	    result != VBACKEND_VMM_ACCESS_KICKED || vb_efd_take(c->fd) != 1)
		return -1;
	if (c->fd2 >= 0 &&
	    (vb_efd_signal(c->fd2, 1) || vb_efd_take(c->fd) != 1))
		return -1;
	vb_drain_events(self->vmm, 0, NULL);	/* NOTIFIERS */
	return vb_del(self->be, VBACKEND_KICK_DEL, c->id);
}

static int call_irq_notifier(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd = vb_irq_notifier(self->be, VBACKEND_IRQ_TARGET_MSI, 0xfee00000,
				0x43, &c->id);
	return c->fd < 0 ? -1 : 0;
}

/* a write raises it: into c->fd2 once attached, else as a VMM record */
static int check_irq_notifier(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u64 ids = 0;

	vb_drain_events(self->vmm, 0, NULL);
	if (c->fd2 >= 0)
		vb_efd_take(c->fd2);
	if (vb_efd_signal(c->fd, 1))
		return -1;
	if (c->fd2 >= 0) {
		if (vb_efd_take(c->fd2) != 1)
			return -1;
	} else {
		vb_drain_events(self->vmm, 100, &ids);
		if (c->id >= 64 || !(ids & (1ULL << c->id)))
			return -1;
	}
	vb_drain_events(self->vmm, 0, NULL);
	return vb_del(self->be, VBACKEND_IRQ_DEL, c->id);
}

static int prepare_kick_source(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd2 = vb_eventfd();
	return c->fd2 < 0 ? -1 : call_kick_notifier(self, ctx);
}

static int call_set_kick_fd(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vmm_set_fd(self->vmm, VBACKEND_VMM_SET_KICK_FD, c->id, c->fd2);
}

static int prepare_irq_sink(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	c->fd2 = vb_eventfd();
	return c->fd2 < 0 ? -1 : call_irq_notifier(self, ctx);
}

static int call_set_irq_fd(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vmm_set_fd(self->vmm, VBACKEND_VMM_SET_IRQ_FD, c->id, c->fd2);
}

TEST_F_TIMEOUT(faults, notifiers, FAULTS_TIMEOUT)
{
	const struct fpath paths[] = {
		{
			.name = "VBACKEND_TRAP_ADD",
			.errnos = err_nomem_fault,
			.call = call_trap_add,
			.check = check_trap,
		}, {
			.name = "VBACKEND_TRAP_DEL",
			.errnos = err_nomem_fault,
			.prepare = prepare_trap,
			.call = call_trap_del,
			.check = check_trap_gone,
		}, {
			.name = "VBACKEND_KICK_ADD",
			.errnos = err_nomem_fault,
			.call = call_kick_add,
			.check = check_kick,
		}, {
			.name = "VBACKEND_KICK_DEL",
			.errnos = err_nomem_fault,
			.prepare = prepare_kick,
			.call = call_kick_del,
			.check = check_kick_gone,
		}, {
			.name = "VBACKEND_IRQ_ADD",
			.errnos = err_nomem_fault,
			.prepare = prepare_irq_efd,
			.call = call_irq_add,
			.check = check_irq,
			.cleanup = cleanup_irq,
		}, {
			.name = "VBACKEND_IRQ_DEL",
			.errnos = err_nomem_fault,
			.prepare = prepare_irq,
			.call = call_irq_del,
			.check = check_irq_gone,
			.cleanup = cleanup_irq,
		}, {
			.name = "VBACKEND_KICK_ADD (notifier)",
			.errnos = err_nomem_fault,
			.call = call_kick_notifier,
			.check = check_kick_notifier,
			.cleanup = cleanup_irq,
		}, {
			.name = "VBACKEND_IRQ_ADD (notifier)",
			.errnos = err_nomem_fault,
			.call = call_irq_notifier,
			.check = check_irq_notifier,
			.cleanup = cleanup_irq,
		}, {
			.name = "VBACKEND_VMM_SET_KICK_FD",
			.errnos = err_nomem_fault,
			.prepare = prepare_kick_source,
			.call = call_set_kick_fd,
			.check = check_kick_notifier,
			.cleanup = cleanup_irq,
		}, {
			.name = "VBACKEND_VMM_SET_IRQ_FD",
			.errnos = err_nomem_fault,
			.prepare = prepare_irq_sink,
			.call = call_set_irq_fd,
			.check = check_irq_notifier,
			.cleanup = cleanup_irq,
		},
	};
	struct octx c;
	size_t i;

	for (i = 0; i < VB_ARRAY_SIZE(paths); i++) {
		octx_init(&c);
		RUN_PATH(&paths[i], &c);
	}
}

/* ---- the VMM's other commands ----------------------------------------- */

/* a write the fixture's kick consumes: VMM_ACCESS without blocking */
static int call_access_kicked(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	memset(&c->u.acc, 0, sizeof(c->u.acc));
	c->u.acc.argsz = sizeof(c->u.acc);
	c->u.acc.addr = KADDR;
	c->u.acc.size = 4;
	c->u.acc.dir = VBACKEND_DIR_WRITE;
	c->u.acc.data = 7;
	return ioctl(self->vmm, VBACKEND_VMM_ACCESS, &c->u.acc);
}

static int check_access_kicked(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	__u64 n = vb_efd_take(self->efd);

	/*
	 * 1, or 2 right after a round whose write was made but whose result
	 * could not be copied back (EFAULT): the access happened, as a
	 * write(2) to a device that faults on its way out did.
	 */
	return c->u.acc.result == VBACKEND_VMM_ACCESS_KICKED &&
	       n >= 1 && n <= 2 ? 0 : -1;
}

/*
 * A trapped read: the backend answers from a thread that reads the record
 * and completes it with 0x1234.
 */
struct answerer {
	pthread_t thread;
	int be;
	int stop;
	int answered;
};

static void *answer_fn(void *arg)
{
	struct answerer *a = arg;
	struct vbackend_event ev;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		if (vb_read_event(a->be, &ev, 20) != 1 ||
		    ev.type != VBACKEND_EVENT_TRAP)
			continue;
		if (vb_complete(a->be, ev.seq, 0x1234, 0) == VB_COMP_SIZE)
			__atomic_add_fetch(&a->answered, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int call_access_trapped(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	memset(&c->u.acc, 0, sizeof(c->u.acc));
	c->u.acc.argsz = sizeof(c->u.acc);
	c->u.acc.addr = TADDR;
	c->u.acc.size = 4;
	c->u.acc.dir = VBACKEND_DIR_READ;
	return ioctl(self->vmm, VBACKEND_VMM_ACCESS, &c->u.acc);
}

static int check_access_trapped(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	struct vb_stats st;

	if (c->u.acc.result || c->u.acc.data != 0x1234)
		return -1;
	/* nothing stays pending */
	return vb_stats_read(&st) || st.pending ? -1 : 0;
}

static int call_get_kick(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	memset(&c->u.kick, 0, sizeof(c->u.kick));
	c->u.kick.argsz = sizeof(c->u.kick);
	c->u.kick.id = 0;
	c->u.kick.fd = -1;
	if (ioctl(self->vmm, VBACKEND_VMM_GET_KICK, &c->u.kick))
		return -1;
	c->fd = c->u.kick.fd;
	return 0;
}

/* the descriptor is the kick's eventfd: signalling it counts there */
static int check_get_kick(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	int ret = -1;

	if (c->u.kick.id == self->kick_id && c->u.kick.addr == KADDR &&
	    !vb_efd_signal(c->fd, 1) && vb_efd_take(self->efd) == 1)
		ret = 0;
	vb_close(&c->fd);
	return ret;
}

static int call_get_irq(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	memset(&c->u.irq, 0, sizeof(c->u.irq));
	c->u.irq.argsz = sizeof(c->u.irq);
	c->u.irq.id = 0;
	c->u.irq.fd = -1;
	if (ioctl(self->vmm, VBACKEND_VMM_GET_IRQ, &c->u.irq))
		return -1;
	c->fd = c->u.irq.fd;
	return 0;
}

/* the descriptor is the interrupt's eventfd: the kernel still consumes it */
static int check_get_irq(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u64 ids = 0;
	int ret = -1;

	if (c->u.irq.id == self->irq_id && c->u.irq.flags == 0 &&
	    !vb_efd_signal(c->fd, 1)) {
		vb_drain_events(self->vmm, 100, &ids);
		if (ids & (1ULL << self->irq_id))
			ret = 0;
	}
	vb_close(&c->fd);
	return ret;
}

static int call_reset(FIXTURE_DATA(faults) *self, void *ctx)
{
	return vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET);
}

static int check_reset(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct vbackend_event ev;

	if (vb_read_event(self->be, &ev, VB_WAIT_MS) != 1)
		return -1;
	return ev.type == VBACKEND_EVENT_RESET ? 0 : -1;
}

TEST_F_TIMEOUT(faults, vmm_commands, FAULTS_TIMEOUT)
{
	const struct fpath paths[] = {
		{
			.name = "VBACKEND_VMM_ACCESS (kicked write)",
			.errnos = err_nomem_fault,
			.call = call_access_kicked,
			.check = check_access_kicked,
		}, {
			.name = "VBACKEND_VMM_GET_KICK",
			.errnos = err_nomem_fault,
			.call = call_get_kick,
			.check = check_get_kick,
			.cleanup = close_fd,
		}, {
			.name = "VBACKEND_VMM_GET_IRQ",
			.errnos = err_nomem_fault,
			.call = call_get_irq,
			.check = check_get_irq,
			.cleanup = close_fd,
		}, {
			.name = "VBACKEND_VMM_RESET",
			.errnos = err_nomem_fault,
			.call = call_reset,
			.check = check_reset,
		},
	};
	const struct fpath trapped = {
		.name = "VBACKEND_VMM_ACCESS (trapped read)",
		.errnos = err_nomem_fault,
		.call = call_access_trapped,
		.check = check_access_trapped,
	};
	struct answerer a = { .be = self->be };
	struct octx c;
	size_t i;

	for (i = 0; i < VB_ARRAY_SIZE(paths); i++) {
		octx_init(&c);
		RUN_PATH(&paths[i], &c);
	}

	ASSERT_EQ(0, pthread_create(&a.thread, NULL, answer_fn, &a));
	octx_init(&c);
	RUN_PATH(&trapped, &c);
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(a.thread, NULL);
}

/* ---- read() and write() ---------------------------------------------- */

/* a trapped read from a vCPU thread, its record queued on the backend */
static int prepare_trap_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	if (vb_fwd_start(&c->fwd, self->vmm, 0, TADDR, 4, VBACKEND_DIR_READ,
			 0, 3))
		return -1;
	c->fwd_on = true;
	return vb_poll(self->be, POLLIN, VB_WAIT_MS) & POLLIN ? 0 : -1;
}

static int call_read(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	ssize_t n;

	memset(&c->ev, 0, sizeof(c->ev));
	n = read(c->role_fd, &c->ev, sizeof(c->ev));
	if (n < 0)
		return -1;
	if (n != sizeof(c->ev)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* the record of prepare_trap_record(); complete it, the vCPU gets 0x99 */
static int check_trap_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	if (c->ev.type != VBACKEND_EVENT_TRAP || c->ev.u.access.addr != TADDR ||
	    c->ev.u.access.vcpu != 3)
		return -1;
	if (vb_complete(self->be, c->ev.seq, 0x99, 0) != VB_COMP_SIZE)
		return -1;
	if (vb_fwd_join(&c->fwd, VB_WAIT_MS))
		return -1;
	c->fwd_on = false;
	return !c->fwd.ret && c->fwd.acc.data == 0x99 ? 0 : -1;
}

/* the same record is read again: nothing was lost or duplicated */
static int retry_read(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	/* a lost record would block the read */
	if (!(vb_poll(c->role_fd, POLLIN, VB_QUIET_MS) & POLLIN))
		return -1;
	if (call_read(self, ctx) || (c->check_fn && c->check_fn(self, ctx)))
		return -1;
	/* and nothing more is queued */
	return vb_poll(c->role_fd, POLLIN, 0) & POLLIN ? -1 : 0;
}

static void cleanup_fwd(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	struct vbackend_event ev;

	if (!c->fwd_on)
		return;
	/* left over by a failed check: answer it so the thread ends */
	while (vb_read_event(self->be, &ev, 0) == 1)
		if (ev.type == VBACKEND_EVENT_TRAP)
			vb_complete(self->be, ev.seq, 0, 0);
	vb_fwd_join(&c->fwd, VB_WAIT_MS);
	c->fwd_on = false;
}

static int prepare_reset_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	return vb_vmm_ctl(self->vmm, VBACKEND_VMM_RESET);
}

static int check_reset_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return c->ev.type == VBACKEND_EVENT_RESET ? 0 : -1;
}

/* a kick added by the backend: a NOTIFIERS record on the VMM's stream */
static int prepare_notifiers_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return vb_kick_add(self->be, 0, KADDR + 8, 4, 0, self->efd, &c->id);
}

static int check_notifiers_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	return c->ev.type == VBACKEND_EVENT_NOTIFIERS ? 0 : -1;
}

static void cleanup_notifiers_record(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	vb_del(self->be, VBACKEND_KICK_DEL, c->id);
	vb_drain_events(self->vmm, 0, NULL);
}

/* a trap record read and in flight: write() completes it */
static int prepare_inflight(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	if (prepare_trap_record(self, ctx))
		return -1;
	c->role_fd = self->be;
	if (call_read(self, ctx) || c->ev.type != VBACKEND_EVENT_TRAP)
		return -1;
	c->seq = c->ev.seq;
	return 0;
}

static int call_write(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	ssize_t n = vb_complete(self->be, c->seq, 0x77, 0);

	if (n < 0)
		return -1;
	if (n != VB_COMP_SIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static int check_write(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;

	if (vb_fwd_join(&c->fwd, VB_WAIT_MS))
		return -1;
	c->fwd_on = false;
	return !c->fwd.ret && c->fwd.acc.data == 0x77 ? 0 : -1;
}

TEST_F_TIMEOUT(faults, read_write, FAULTS_TIMEOUT)
{
	const struct fpath rd_trap = {
		.name = "read() of a TRAP record (backend)",
		.errnos = err_nomem_fault,
		.prepare = prepare_trap_record,
		.call = call_read,
		.check = check_trap_record,
		.retry = retry_read,
		.cleanup = cleanup_fwd,
	};
	const struct fpath rd_reset = {
		.name = "read() of a RESET record (backend)",
		.errnos = err_nomem_fault,
		.prepare = prepare_reset_record,
		.call = call_read,
		.check = check_reset_record,
		.retry = retry_read,
	};
	const struct fpath rd_notif = {
		.name = "read() of a NOTIFIERS record (VMM)",
		.errnos = err_nomem_fault,
		.prepare = prepare_notifiers_record,
		.call = call_read,
		.check = check_notifiers_record,
		.retry = retry_read,
		.cleanup = cleanup_notifiers_record,
	};
	const struct fpath wr = {
		.name = "write() of a completion (backend)",
		.errnos = err_nomem_fault,
		.prepare = prepare_inflight,
		.call = call_write,
		.check = check_write,
		.cleanup = cleanup_fwd,
	};
	struct octx c;

	octx_init(&c);
	c.role_fd = self->be;
	c.check_fn = check_trap_record;
	RUN_PATH(&rd_trap, &c);
	octx_init(&c);
	c.role_fd = self->be;
	c.check_fn = check_reset_record;
	RUN_PATH(&rd_reset, &c);
	octx_init(&c);
	c.role_fd = self->vmm;
	c.check_fn = check_notifiers_record;
	RUN_PATH(&rd_notif, &c);
	octx_init(&c);
	RUN_PATH(&wr, &c);
}

/* ---- the Xen bind ----------------------------------------------------- */

static int call_xen_bind(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	__u32 prov = 0;
	char target[32];
	int len = snprintf(target, sizeof(target), "xen:domid=%u", (unsigned int)c->id);

	if (vb_bind(c->fd, target, len, &prov))
		return -1;
	return prov == VBACKEND_PROVIDER_XEN ? 0 : (errno = EPROTO, -1);
}

static int check_xen_bound(FIXTURE_DATA(faults) *self, void *ctx)
{
	struct octx *c = ctx;
	struct vbackend_mem_region mr;

	if (vb_mem_region(c->fd, 0, &mr))
		return -1;
	vb_close(&c->fd);
	return 0;
}

TEST_F_TIMEOUT(faults, xen_bind, FAULTS_TIMEOUT)
{
	const struct fpath bind = {
		.name = "VBACKEND_BIND (xen:domid=N)",
		.errnos = err_nomem_fault,
		.prepare = prepare_unbound,
		.call = call_xen_bind,
		.check = check_xen_bound,
		.cleanup = close_fd,
	};
	const char *env = getenv("VBACKEND_FAULTS_XEN_DOMID");
	struct octx c;
	char *end;
	unsigned long domid;

	if (!env || !*env)
		SKIP(return, "VBACKEND_FAULTS_XEN_DOMID is not set: no Xen frontend domain to bind");
	domid = strtoul(env, &end, 0);
	ASSERT_TRUE(!*end && domid < 0x7ff0)
		TH_LOG("VBACKEND_FAULTS_XEN_DOMID=%s is not a domain id", env);
	octx_init(&c);
	c.id = domid;
	RUN_PATH(&bind, &c);
}

TEST_HARNESS_MAIN
