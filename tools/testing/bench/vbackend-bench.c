// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend-bench: the speed of vbackend's paths, measured side by side in one
 * run (make bench). Each comparison runs both of its sides in the same
 * process, alternating blocks of iterations, and prints the median and p99
 * of the per-operation latency (CLOCK_MONOTONIC), the throughput and the
 * ratio between the two sides:
 *
 *  1. a VMM write consumed by a kick in the kernel vs a trapped write the
 *     backend must read() and complete with write();
 *  2. K vCPU threads with accesses outstanding, completed in batches (one
 *     read() and one write() per batch) vs one record per system call;
 *  3. kick -> backend thread asleep in poll() on the kick eventfd wakes;
 *  4. the backend reading 64 MiB of guest memory through a window mmap vs
 *     copying it out of the VMM's memfd with pread();
 *  5. backend writes the irq eventfd -> VMM read()s VBACKEND_EVENT_IRQ;
 *  6. 3 again, the kick coming the way KVM's ioeventfd sends it: the VMM's
 *     eventfd, attached to the backend's kick notifier (VMM_SET_KICK_FD);
 *  7. 5 again, the interrupt going the way KVM's irqfd takes it: the
 *     backend writes its interrupt notifier, the VMM's eventfd attached to
 *     it (VMM_SET_IRQ_FD) turns readable;
 *  8. a KVM guest's kick (mini_vmm.h: nested KVM in the test guest) to the
 *     backend's wakeup: KVM_IOEVENTFD -> the VMM's eventfd -> the kick
 *     notifier vs KVM_EXIT_MMIO -> the VMM's VMM_ACCESS -> the kick match;
 *  9. the backend's interrupt to that guest's handler: KVM_IRQFD on the
 *     VMM's eventfd vs EVENT_IRQ to the VMM, which calls KVM_SIGNAL_MSI;
 *     timed to the handler's kick back (one fast kick on both sides).
 *
 * It exits non-zero only on a functional error (a failed call, a wrong
 * value, a lost kick or interrupt, a checksum mismatch), never because of a
 * timing: timings are reported, not judged.
 *
 * Every thread runs on one CPU unless -a is given: under QEMU TCG, a handoff
 * to another vCPU that is halted waits for the host to reschedule that
 * vCPU's thread, which on a busy host swamps what is being measured.
 *
 * Usage: vbackend-bench [-a] [-s SCALE]
 *   -a        let the scheduler place the threads
 *   -s SCALE  multiply every iteration count and time budget
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <linux/vbackend.h>
#include "mini_vmm.h"

#define DEV_PATH	"/dev/vbackend"

/* One trap range; a kick at its start, plain trapped registers after it. */
#define TRAP_BASE	0xd0000000ULL
#define TRAP_SIZE	0x1000ULL
#define KICK_ADDR	TRAP_BASE		/* 4-byte writes: kicked */
#define PLAIN_ADDR	(TRAP_BASE + 0x10)	/* 4-byte writes: trapped */
#define VCPU_ADDR	(TRAP_BASE + 0x100)	/* bench 2: + 8 * vcpu, 8-byte reads */

#define MEM_GPA		0x80000000ULL
#define MEM_SIZE	(64ULL << 20)
#define COPY_CHUNK	(1U << 20)		/* pread() bounce buffer */

#define MAX_BATCH	64	/* records per read() in batched mode */
#define MAX_VCPUS	8	/* bench 2 */
#define ROUNDS		16	/* blocks per side, alternating */
#define WARMUP		200
#define ASLEEP_WAIT_NS	100000000ULL	/* give up confirming sleep after 100 ms */

_Static_assert(sizeof(struct vbackend_event) == 64, "event size");
_Static_assert(sizeof(struct vbackend_completion) == 24, "completion size");

/*
 * Iteration counts at scale 1, for a QEMU TCG guest on 2 vCPUs (about 20 s
 * in all on an idle host). A comparison whose time budget runs out stops
 * after the round in progress (a busy host), so that make bench stays
 * bounded; its N then shows what was done, with a '*'.
 */
static double scale = 1.0;
#define N_KICK_TRAP	160000	/* per side */
#define N_BATCH		128000	/* accesses per side, over all vCPU threads */
#define N_WAKEUP	20000
#define N_WINDOW	30	/* 64 MiB passes per side */
#define N_IRQ		20000
#define N_KVM		4000	/* per side, for 8 and for 9 */
#define N_CLOCK		10000
#define BUDGET_KICK_TRAP 20	/* seconds */
#define BUDGET_BATCH	20
#define BUDGET_WAKEUP	10
#define BUDGET_WINDOW	15
#define BUDGET_IRQ	10
#define BUDGET_KVM	20	/* each of 8 and 9 */

static unsigned long iters(unsigned long n, unsigned long min)
{
	unsigned long v = (unsigned long)(n * scale + 0.5);

	v -= v % min;	/* a whole number of blocks */
	return v < min ? min : v;
}

static unsigned long cut;	/* comparisons stopped by their budget */

static uint64_t now_ns(void);

static uint64_t deadline_in(unsigned int secs)
{
	return now_ns() + (uint64_t)(secs * (scale > 1 ? scale : 1) * 1e9);
}

static bool past(uint64_t deadline)
{
	return now_ns() > deadline;
}

/* ---- failures: functional errors only ---------------------------------- */

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vbackend-bench: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)
#define ERR strerror(errno)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ---- results -------------------------------------------------------------- */

struct result {
	const char *tag;	/* "1", "2"... */
	const char *name;
	uint64_t *lat;		/* per-operation latency, ns */
	size_t n, cap;
	double *rates;		/* per measured block: op/s, or MiB/s */
	size_t nblocks, cap_blocks;
	bool mib;		/* rates are MiB/s */
	bool cut;		/* stopped by its time budget */
	uint64_t median, p99;
};

/* @blocks: how many measured blocks give a throughput, 0 for none */
static void res_init(struct result *r, const char *tag, const char *name,
		     size_t cap, size_t blocks)
{
	memset(r, 0, sizeof(*r));
	r->tag = tag;
	r->name = name;
	r->cap = cap;
	r->lat = calloc(cap, sizeof(*r->lat));
	r->cap_blocks = blocks;
	r->rates = calloc(blocks ? blocks : 1, sizeof(*r->rates));
	CHECK(r->lat && r->rates, "out of memory");
}

static void res_free(struct result *r)
{
	free(r->lat);
	free(r->rates);
}

/* One measured block: @amount operations (or bytes) in @ns. */
static void res_block(struct result *r, uint64_t amount, uint64_t ns)
{
	CHECK(r->nblocks < r->cap_blocks, "%s: more blocks than planned", r->name);
	CHECK(ns > 0, "%s: a block took no time", r->name);
	r->rates[r->nblocks++] = r->mib ? amount / (1024.0 * 1024.0) / (ns / 1e9) :
				 amount / (ns / 1e9);
}

static void res_add(struct result *r, uint64_t ns)
{
	CHECK(r->n < r->cap, "%s: more samples than planned", r->name);
	r->lat[r->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void res_finish(struct result *r)
{
	size_t i99;

	if (!r->n)	/* its budget ran out before the first sample */
		return;
	qsort(r->lat, r->n, sizeof(*r->lat), cmp_u64);
	r->median = r->n % 2 ? r->lat[r->n / 2] :
		    (r->lat[r->n / 2 - 1] + r->lat[r->n / 2]) / 2;
	i99 = (r->n * 99 + 99) / 100;	/* nearest rank: ceil(0.99 n) */
	r->p99 = r->lat[(i99 ? i99 : 1) - 1];
	qsort(r->rates, r->nblocks, sizeof(*r->rates), cmp_double);
}

/*
 * Throughput: the median over the measured blocks, so that a block the host
 * disturbed (the guest's vCPUs are host threads) does not move it.
 */
static double rate(const struct result *r)
{
	size_t n = r->nblocks;

	if (!n)
		return 0;
	return n % 2 ? r->rates[n / 2] : (r->rates[n / 2 - 1] + r->rates[n / 2]) / 2;
}

static void fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 10000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 10000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 10000000000ULL)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
}

static void fmt_rate(char *buf, size_t len, const struct result *r)
{
	double v = rate(r);

	if (!r->nblocks)
		snprintf(buf, len, "-");
	else if (r->mib)
		snprintf(buf, len, "%.0f MiB/s", v);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2f Mop/s", v / 1e6);
	else
		snprintf(buf, len, "%.0f op/s", v);
}

static void print_header(void)
{
	printf("%-2s %-46s %7s %10s %10s %12s\n", "#", "benchmark", "N",
	       "median", "p99", "throughput");
}

static void print_row(struct result *r)
{
	char med[32], p99[32], thr[32], n[32];

	res_finish(r);
	snprintf(n, sizeof(n), "%zu%s", r->n, r->cut ? "*" : "");
	fmt_ns(med, sizeof(med), r->median);
	fmt_ns(p99, sizeof(p99), r->p99);
	if (!r->n) {
		snprintf(med, sizeof(med), "-");
		snprintf(p99, sizeof(p99), "-");
	}
	fmt_rate(thr, sizeof(thr), r);
	printf("%-2s %-46s %7s %10s %10s %12s\n", r->tag, r->name, n, med,
	       p99, thr);
	fflush(stdout);
}

/* Before a new round: stop when the budget ran out (marks both sides). */
static bool out_of_time(uint64_t deadline, struct result *a, struct result *b)
{
	if (!past(deadline))
		return false;
	a->cut = true;
	if (b)
		b->cut = true;
	cut++;
	return true;
}

/* ---- sessions ------------------------------------------------------------ */

struct pair {
	int vmm;	/* frontend (VMM) session */
	int be;		/* backend session bound to it */
};

static int open_dev(void)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0, "open %s: %s", DEV_PATH, ERR);
	return fd;
}

static void pair_open(struct pair *p)
{
	struct vbackend_vmm_ctl c = { .argsz = sizeof(c) };
	struct vbackend_bind b = { .argsz = sizeof(b) };
	char target[32];
	int len;

	p->vmm = open_dev();
	CHECK(!ioctl(p->vmm, VBACKEND_VMM_CREATE, &c), "VBACKEND_VMM_CREATE: %s", ERR);
	p->be = open_dev();
	len = snprintf(target, sizeof(target), "vmm:fd=%d", p->vmm);
	b.target = (uintptr_t)target;
	b.target_len = len;
	CHECK(!ioctl(p->be, VBACKEND_BIND, &b), "VBACKEND_BIND %s: %s", target, ERR);
	CHECK(b.provider == VBACKEND_PROVIDER_VMM, "bound to provider %u", b.provider);
}

static void pair_close(struct pair *p)
{
	close(p->be);
	close(p->vmm);
}

static void trap_add(int be, __u64 addr, __u64 size)
{
	struct vbackend_trap t = { .argsz = sizeof(t), .addr = addr, .size = size };

	CHECK(!ioctl(be, VBACKEND_TRAP_ADD, &t), "VBACKEND_TRAP_ADD: %s", ERR);
}

/* A wildcard kick on 4-byte writes at @addr; returns its eventfd. */
static int kick_add(int be, __u64 addr)
{
	struct vbackend_kick k = { .argsz = sizeof(k), .addr = addr, .len = 4 };

	k.fd = eventfd(0, EFD_CLOEXEC);
	CHECK(k.fd >= 0, "eventfd: %s", ERR);
	CHECK(!ioctl(be, VBACKEND_KICK_ADD, &k), "VBACKEND_KICK_ADD: %s", ERR);
	return k.fd;
}

static uint64_t efd_read(int fd)
{
	uint64_t v;

	CHECK(read(fd, &v, sizeof(v)) == sizeof(v), "eventfd read: %s", ERR);
	return v;
}

static void efd_write(int fd, uint64_t v)
{
	CHECK(write(fd, &v, sizeof(v)) == sizeof(v), "eventfd write: %s", ERR);
}

/* Forward one vCPU access; returns the result bits, *data the value read. */
static __u32 vmm_access(int vmm, __u64 addr, __u32 size, __u32 dir,
			__u64 *data, __u32 vcpu)
{
	struct vbackend_vmm_access a = {
		.argsz = sizeof(a),
		.addr = addr,
		.data = dir == VBACKEND_DIR_WRITE ? *data : 0,
		.vcpu = vcpu,
		.size = size,
		.dir = dir,
	};

	CHECK(!ioctl(vmm, VBACKEND_VMM_ACCESS, &a),
	      "VBACKEND_VMM_ACCESS %s 0x%llx: %s",
	      dir == VBACKEND_DIR_WRITE ? "write" : "read", (unsigned long long)addr, ERR);
	if (dir == VBACKEND_DIR_READ)
		*data = a.data;
	return a.result;
}

static __u32 vmm_write4(int vmm, __u64 addr, __u32 value)
{
	__u64 data = value;

	return vmm_access(vmm, addr, 4, VBACKEND_DIR_WRITE, &data, 0);
}

/* What the backend returns for a read, so that the vCPU can check it. */
static __u64 read_value(__u64 addr, __u32 vcpu)
{
	return addr * 0x9e3779b97f4a7c15ULL + vcpu;
}

/* ---- the backend's trap server -------------------------------------------- */

struct server {
	int be;
	uint64_t count;		/* accesses to complete, then return */
	unsigned int batch;	/* records per read() and write() */
	uint64_t reads;		/* read() calls that returned records */
	uint64_t records;
	pthread_t th;
};

static void *serve(void *arg)
{
	struct vbackend_completion c[MAX_BATCH];
	struct vbackend_event ev[MAX_BATCH];
	struct server *s = arg;
	uint64_t done = 0;

	while (done < s->count) {
		ssize_t r = read(s->be, ev, s->batch * sizeof(ev[0]));
		size_t i, n;

		if (r < 0 && errno == EINTR)
			continue;
		CHECK(r > 0 && r % sizeof(ev[0]) == 0, "backend read(): %zd: %s", r,
		      r < 0 ? ERR : "not whole records");
		n = r / sizeof(ev[0]);
		for (i = 0; i < n; i++) {
			const struct vbackend_access *a = &ev[i].u.access;

			CHECK(ev[i].type == VBACKEND_EVENT_TRAP,
			      "backend: unexpected event type %u", ev[i].type);
			CHECK(a->addr >= TRAP_BASE && a->addr < TRAP_BASE + TRAP_SIZE &&
			      a->addr != KICK_ADDR,
			      "backend: access at 0x%llx", (unsigned long long)a->addr);
			memset(&c[i], 0, sizeof(c[i]));
			c[i].seq = ev[i].seq;
			if (a->dir == VBACKEND_DIR_READ)
				c[i].data = read_value(a->addr, a->vcpu);
		}
		r = write(s->be, c, n * sizeof(c[0]));
		CHECK(r == (ssize_t)(n * sizeof(c[0])), "backend write() of %zu completions: %zd: %s",
		      n, r, r < 0 ? ERR : "short");
		done += n;
		s->reads++;
		s->records += n;
	}
	CHECK(done == s->count, "backend completed %" PRIu64 " of %" PRIu64,
	      done, s->count);
	return NULL;
}

static void server_start(struct server *s, int be, uint64_t count,
			 unsigned int batch)
{
	int ret;

	s->be = be;
	s->count = count;
	s->batch = batch;
	ret = pthread_create(&s->th, NULL, serve, s);
	CHECK(!ret, "pthread_create: %s", strerror(ret));
}

static void join(pthread_t th)
{
	int ret = pthread_join(th, NULL);

	CHECK(!ret, "pthread_join: %s", strerror(ret));
}

/* ---- "is that thread asleep?" ---------------------------------------------- */

/*
 * The wakeup benchmarks (3, 5) measure a thread that sleeps: before each
 * event, wait until /proc says the waiting thread is in state S.
 */
struct sleeper {
	int fd;
	unsigned long unconfirmed;	/* times we gave up waiting */
};

static void sleeper_open(struct sleeper *sl, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	sl->fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(sl->fd >= 0, "open %s: %s", path, ERR);
	sl->unconfirmed = 0;
}

static void sleeper_wait(struct sleeper *sl)
{
	uint64_t start = now_ns();
	char buf[512], *p;
	ssize_t n;

	for (;;) {
		n = pread(sl->fd, buf, sizeof(buf) - 1, 0);
		CHECK(n > 0, "read of /proc/self/task/N/stat: %s", n < 0 ? ERR : "empty");
		buf[n] = 0;
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		if (now_ns() - start > ASLEEP_WAIT_NS) {
			sl->unconfirmed++;
			return;
		}
		sched_yield();
	}
}

/* ---- 1: in-kernel kick vs trap round trip --------------------------------- */

static void bench_kick_vs_trap(struct result *kick, struct result *trap)
{
	unsigned long n = iters(N_KICK_TRAP, ROUNDS), block = n / ROUNDS, i;
	uint64_t t0, t1, start, kicks = 0, deadline = deadline_in(BUDGET_KICK_TRAP);
	struct server srv;
	struct pair p;
	int kfd, round, side;

	res_init(kick, "1", "kick consumed in kernel (VMM write)", n, ROUNDS);
	res_init(trap, "1", "trap round trip (backend read()+write())", n, ROUNDS);
	pair_open(&p);
	trap_add(p.be, TRAP_BASE, TRAP_SIZE);
	kfd = kick_add(p.be, KICK_ADDR);

	/* warm-up, not measured */
	server_start(&srv, p.be, WARMUP, 1);
	for (i = 0; i < WARMUP; i++) {
		CHECK(vmm_write4(p.vmm, KICK_ADDR, i) & VBACKEND_VMM_ACCESS_KICKED,
		      "a kicked write was not consumed by the kick");
		CHECK(!vmm_write4(p.vmm, PLAIN_ADDR, i), "a trapped write came back kicked");
	}
	kicks += WARMUP;
	join(srv.th);

	/* side by side: alternating blocks, the order swapped every round */
	for (round = 0; round < ROUNDS; round++) {
		if (round && out_of_time(deadline, kick, trap))
			break;
		for (side = 0; side < 2; side++) {
			bool is_kick = (side ^ (round & 1)) == 0;
			struct result *r = is_kick ? kick : trap;

			if (!is_kick)
				server_start(&srv, p.be, block, 1);
			start = now_ns();
			for (i = 0; i < block; i++) {
				__u32 res;

				t0 = now_ns();
				res = vmm_write4(p.vmm, is_kick ? KICK_ADDR : PLAIN_ADDR,
						 i & 0xffff);
				t1 = now_ns();
				CHECK(!!(res & VBACKEND_VMM_ACCESS_KICKED) == is_kick,
				      "write at %s came back with result 0x%x",
				      is_kick ? "the kick" : "a plain register", res);
				res_add(r, t1 - t0);
			}
			res_block(r, block, now_ns() - start);
			if (is_kick)
				kicks += block;
			else
				join(srv.th);
		}
	}
	/* every kick reached the eventfd, none reached the trap queue */
	CHECK(efd_read(kfd) == kicks, "kick eventfd count is not %" PRIu64, kicks);
	close(kfd);
	pair_close(&p);
}

/* ---- 2: batched vs single completion, K vCPUs ---------------------------- */

struct vcpu {
	int vmm;
	unsigned int id;
	unsigned long count;
	uint64_t *lat;
	uint64_t start, end;
	pthread_barrier_t *bar;
	pthread_t th;
};

static void *vcpu_run(void *arg)
{
	struct vcpu *v = arg;
	__u64 addr = VCPU_ADDR + 8 * v->id, data;
	unsigned long i;
	uint64_t t0;

	pthread_barrier_wait(v->bar);
	v->start = now_ns();
	for (i = 0; i < v->count; i++) {
		t0 = now_ns();
		CHECK(!vmm_access(v->vmm, addr, 8, VBACKEND_DIR_READ, &data, v->id),
		      "vCPU %u: trapped read came back kicked", v->id);
		v->lat[i] = now_ns() - t0;
		CHECK(data == read_value(addr, v->id),
		      "vCPU %u read 0x%llx, backend completed another access with it",
		      v->id, (unsigned long long)data);
	}
	v->end = now_ns();
	return NULL;
}

static void bench_batch(struct result *batched, struct result *single,
			unsigned int k, double *avg_batch)
{
	unsigned long n = iters(N_BATCH, ROUNDS * k), per = n / ROUNDS / k, i;
	uint64_t reads = 0, records = 0, first, last, deadline = deadline_in(BUDGET_BATCH);
	struct vcpu v[MAX_VCPUS];
	pthread_barrier_t bar;
	struct server srv;
	struct pair p;
	int round, side, ret;
	unsigned int j;

	res_init(batched, "2", "", n, ROUNDS);
	res_init(single, "2", "", n, ROUNDS);
	pair_open(&p);
	trap_add(p.be, TRAP_BASE, TRAP_SIZE);
	for (j = 0; j < k; j++) {
		v[j].lat = calloc(per, sizeof(*v[j].lat));
		CHECK(v[j].lat, "out of memory");
	}
	CHECK(!pthread_barrier_init(&bar, NULL, k), "pthread_barrier_init");

	for (round = 0; round < ROUNDS; round++) {
		if (round && out_of_time(deadline, batched, single))
			break;
		for (side = 0; side < 2; side++) {
			bool is_batch = (side ^ (round & 1)) == 0;
			struct result *r = is_batch ? batched : single;

			server_start(&srv, p.be, (uint64_t)per * k, is_batch ? MAX_BATCH : 1);
			for (j = 0; j < k; j++) {
				v[j].vmm = p.vmm;
				v[j].id = j;
				v[j].count = per;
				v[j].bar = &bar;
				ret = pthread_create(&v[j].th, NULL, vcpu_run, &v[j]);
				CHECK(!ret, "pthread_create: %s", strerror(ret));
			}
			first = UINT64_MAX;
			last = 0;
			for (j = 0; j < k; j++) {
				join(v[j].th);
				first = v[j].start < first ? v[j].start : first;
				last = v[j].end > last ? v[j].end : last;
				for (i = 0; i < per; i++)
					res_add(r, v[j].lat[i]);
			}
			join(srv.th);
			res_block(r, (uint64_t)per * k, last - first);
			if (is_batch) {
				reads += srv.reads;
				records += srv.records;
			}
		}
	}
	*avg_batch = reads ? (double)records / reads : 0;
	pthread_barrier_destroy(&bar);
	for (j = 0; j < k; j++)
		free(v[j].lat);
	pair_close(&p);
}

/* ---- 3: kick -> backend asleep in poll() wakes ----------------------------- */

struct waiter {
	int fd;			/* what the thread waits on */
	int ack;		/* eventfd: "handled, send the next one" */
	int stop;		/* (atomic) the event just sent is the last */
	struct result *r;
	uint64_t t0;		/* when the event was sent (atomic) */
	pid_t tid;		/* (atomic) */
	__u32 irq_id;		/* bench 5 */
	pthread_t th;
};

static void waiter_start(struct waiter *w, void *(*fn)(void *))
{
	int ret = pthread_create(&w->th, NULL, fn, w);

	CHECK(!ret, "pthread_create: %s", strerror(ret));
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void *kick_waiter(void *arg)
{
	struct pollfd pfd;
	struct waiter *w = arg;
	unsigned long i;
	uint64_t t1;
	int ret;

	__atomic_store_n(&w->tid, gettid_(), __ATOMIC_RELEASE);
	for (i = 0;; i++) {
		pfd.fd = w->fd;
		pfd.events = POLLIN;
		do
			ret = poll(&pfd, 1, -1);
		while (ret < 0 && errno == EINTR);
		t1 = now_ns();
		CHECK(ret == 1 && (pfd.revents & POLLIN), "poll on the kick eventfd: %d: %s",
		      ret, ret < 0 ? ERR : "no POLLIN");
		CHECK(efd_read(w->fd) == 1, "kick %lu: eventfd count is not 1", i);
		if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			return NULL;
		if (i >= WARMUP)
			res_add(w->r, t1 - __atomic_load_n(&w->t0, __ATOMIC_ACQUIRE));
		efd_write(w->ack, 1);
	}
}

/*
 * A kick notifier at @addr, fed by a new eventfd of the VMM's in *@src;
 * returns the notifier, drained of the signal the attach makes.
 */
static int kick_notifier_add(struct pair *p, __u64 addr, int *src)
{
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = VBACKEND_KICK_F_NOTIFIER,
		.addr = addr,
		.len = 4,
		.fd = -1,
	};
	struct vbackend_vmm_notifier n = { .argsz = sizeof(n) };

	CHECK(!ioctl(p->be, VBACKEND_KICK_ADD, &k), "VBACKEND_KICK_ADD(NOTIFIER): %s", ERR);
	n.id = k.id;
	n.fd = *src = eventfd(0, EFD_CLOEXEC);
	CHECK(n.fd >= 0, "eventfd: %s", ERR);
	CHECK(!ioctl(p->vmm, VBACKEND_VMM_SET_KICK_FD, &n), "VBACKEND_VMM_SET_KICK_FD: %s", ERR);
	CHECK(efd_read(k.fd) == 1, "the attach did not signal the notifier once");
	return k.fd;
}

/* @vmm_fd: bench 6, the kick by the VMM's eventfd, not by a VMM_ACCESS */
static void bench_kick_wakeup(struct result *r, unsigned long *unconfirmed,
			      bool vmm_fd)
{
	unsigned long n = iters(N_WAKEUP, 1), i;
	uint64_t deadline = deadline_in(BUDGET_WAKEUP);
	struct waiter w = { 0 };
	struct sleeper sl;
	struct pair p;
	int src = -1;

	if (vmm_fd)
		res_init(r, "6", "VMM's eventfd -> kick notifier: backend wakes", n, 0);
	else
		res_init(r, "3", "kick -> backend asleep in poll() wakes", n, 0);
	pair_open(&p);
	trap_add(p.be, TRAP_BASE, TRAP_SIZE);
	w.fd = vmm_fd ? kick_notifier_add(&p, KICK_ADDR, &src) : kick_add(p.be, KICK_ADDR);
	w.ack = eventfd(0, EFD_CLOEXEC);
	CHECK(w.ack >= 0, "eventfd: %s", ERR);
	w.r = r;
	waiter_start(&w, kick_waiter);
	sleeper_open(&sl, w.tid);

	for (i = 0; i <= n + WARMUP; i++) {
		if (i == n + WARMUP || (i > WARMUP && out_of_time(deadline, r, NULL)))
			__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
		sleeper_wait(&sl);
		__atomic_store_n(&w.t0, now_ns(), __ATOMIC_RELEASE);
		if (vmm_fd)
			efd_write(src, 1);	/* what KVM's ioeventfd does */
		else
			CHECK(vmm_write4(p.vmm, KICK_ADDR, i & 0xffff) &
			      VBACKEND_VMM_ACCESS_KICKED,
			      "a kicked write was not consumed by the kick");
		if (w.stop)
			break;
		CHECK(efd_read(w.ack) == 1, "ack count is not 1");
	}
	join(w.th);
	*unconfirmed += sl.unconfirmed;
	close(sl.fd);
	close(w.ack);
	close(w.fd);
	if (src >= 0)
		close(src);
	pair_close(&p);
}

/* ---- 4: window mmap vs pread() copy, 64 MiB ------------------------------- */

/* What memory a window costs, beside the time (informational). */
struct window_mem {
	long pte_kib;		/* page tables of the mapping (VmPTE), -1 unknown */
	long pages;		/* guest pages the kernel references, -1 unknown */
};

/* "NAME:   N kB" of /proc/self/status, or -1. */
static long status_kib(const char *name)
{
	size_t len = strlen(name);
	char line[256];
	long v = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

/* A counter of the module's debugfs stats, or -1 (no debugfs). */
static long stats_value(const char *name)
{
	char key[32];
	long v, found = -1;
	FILE *f;

	f = fopen("/sys/kernel/debug/vbackend/stats", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%31s %ld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

static uint64_t csum(const void *buf, size_t len)
{
	const uint64_t *w = buf;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		s += w[i];
	return s;
}

static uint64_t pread_pass(int memfd, void *buf)
{
	uint64_t s = 0, off;
	ssize_t r;

	for (off = 0; off < MEM_SIZE; off += COPY_CHUNK) {
		r = pread(memfd, buf, COPY_CHUNK, off);
		CHECK(r == COPY_CHUNK, "pread of the guest memfd at %" PRIu64 ": %zd: %s",
		      off, r, r < 0 ? ERR : "short");
		s += csum(buf, COPY_CHUNK);
	}
	return s;
}

static void *window_mmap(int be, __u64 offset)
{
	void *p = mmap(NULL, MEM_SIZE, PROT_READ, MAP_SHARED, be, offset);

	CHECK(p != MAP_FAILED, "mmap of the window: %s", ERR);
	return p;
}

static void bench_window(struct result *warm, struct result *cold,
			 struct result *copy, struct window_mem *mem)
{
	struct vbackend_vmm_memory m = { .argsz = sizeof(m) };
	struct vbackend_window win = { .argsz = sizeof(win) };
	unsigned long n = iters(N_WINDOW, 1), i;
	uint64_t expect, s, t0, t1, deadline;
	struct result *r;
	void *mapped, *tmp, *buf;
	uint64_t *g;
	long pte, pages;
	struct pair p;
	int memfd, side;

	res_init(warm, "4", "window mmap, read 64 MiB (mapped)", n, n);
	res_init(cold, "4", "window mmap, read 64 MiB (fresh mmap, faults)", n, n);
	res_init(copy, "4", "pread() copy from the memfd, read 64 MiB", n, n);
	warm->mib = cold->mib = copy->mib = true;

	/* the guest's RAM: a memfd the VMM fills with a known pattern */
	memfd = memfd_create("vbackend-bench-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(memfd >= 0, "memfd_create: %s", ERR);
	CHECK(!ftruncate(memfd, MEM_SIZE), "ftruncate: %s", ERR);
	CHECK(!fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK), "F_SEAL_SHRINK: %s", ERR);
	g = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CHECK(g != MAP_FAILED, "mmap of the memfd: %s", ERR);
	for (i = 0; i < MEM_SIZE / sizeof(*g); i++)
		g[i] = (i + 1) * 0x9e3779b97f4a7c15ULL;
	expect = csum(g, MEM_SIZE);
	munmap(g, MEM_SIZE);

	pair_open(&p);
	m.gpa = MEM_GPA;
	m.size = MEM_SIZE;
	m.fd = memfd;
	CHECK(!ioctl(p.vmm, VBACKEND_VMM_ADD_MEMORY, &m), "VBACKEND_VMM_ADD_MEMORY: %s", ERR);
	win.flags = VBACKEND_WINDOW_F_READ;
	win.gpa = MEM_GPA;
	win.size = MEM_SIZE;
	CHECK(!ioctl(p.be, VBACKEND_WINDOW_MAP, &win), "VBACKEND_WINDOW_MAP: %s", ERR);
	buf = malloc(COPY_CHUNK);
	CHECK(buf, "out of memory");

	/* warm-up, not measured: fault the long-lived mapping in, fill caches */
	pte = status_kib("VmPTE");
	pages = stats_value("pages");
	mapped = window_mmap(p.be, win.offset);
	CHECK(csum(mapped, MEM_SIZE) == expect, "window: wrong data (warm-up)");
	mem->pte_kib = pte < 0 || status_kib("VmPTE") < 0 ? -1 : status_kib("VmPTE") - pte;
	mem->pages = pages < 0 || stats_value("pages") < 0 ? -1 : stats_value("pages") - pages;
	CHECK(pread_pass(memfd, buf) == expect, "pread: wrong data (warm-up)");

	deadline = deadline_in(BUDGET_WINDOW);
	for (i = 0; i < n; i++) {
		if (i && out_of_time(deadline, warm, copy)) {
			cold->cut = true;
			break;
		}
		for (side = 0; side < 3; side++) {
			switch ((side + i) % 3) {
			case 0:
				r = warm;
				t0 = now_ns();
				s = csum(mapped, MEM_SIZE);
				t1 = now_ns();
				break;
			case 1:
				r = cold;
				t0 = now_ns();
				tmp = window_mmap(p.be, win.offset);
				s = csum(tmp, MEM_SIZE);
				munmap(tmp, MEM_SIZE);
				t1 = now_ns();
				break;
			default:
				r = copy;
				t0 = now_ns();
				s = pread_pass(memfd, buf);
				t1 = now_ns();
				break;
			}
			CHECK(s == expect, "%s: checksum %" PRIx64 " != %" PRIx64,
			      r->name, s, expect);
			res_add(r, t1 - t0);
			res_block(r, MEM_SIZE, t1 - t0);
		}
	}
	munmap(mapped, MEM_SIZE);
	free(buf);
	pair_close(&p);
	close(memfd);
}

/* ---- 5: irq eventfd -> VMM reads VBACKEND_EVENT_IRQ ------------------------ */

static void *irq_waiter(void *arg)
{
	struct vbackend_event ev;
	struct waiter *w = arg;
	unsigned long i;
	ssize_t r;
	uint64_t t1;

	__atomic_store_n(&w->tid, gettid_(), __ATOMIC_RELEASE);
	for (i = 0;; i++) {
		do
			r = read(w->fd, &ev, sizeof(ev));
		while (r < 0 && errno == EINTR);
		t1 = now_ns();
		CHECK(r == sizeof(ev), "VMM read(): %zd: %s", r, r < 0 ? ERR : "short");
		CHECK(ev.type == VBACKEND_EVENT_IRQ && ev.u.irq.id == w->irq_id,
		      "VMM: event type %u (irq %u), expected the IRQ of %u",
		      ev.type, ev.u.irq.id, w->irq_id);
		if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			return NULL;
		if (i >= WARMUP)
			res_add(w->r, t1 - __atomic_load_n(&w->t0, __ATOMIC_ACQUIRE));
		efd_write(w->ack, 1);
	}
}

/* Read what the VMM's stream holds now (PEER_BOUND, NOTIFIERS). */
static void vmm_drain(int vmm)
{
	struct vbackend_event ev[8];
	int flags = fcntl(vmm, F_GETFL);
	ssize_t r, i;

	CHECK(flags >= 0 && !fcntl(vmm, F_SETFL, flags | O_NONBLOCK), "fcntl: %s", ERR);
	while ((r = read(vmm, ev, sizeof(ev))) > 0) {
		for (i = 0; i < r / (ssize_t)sizeof(ev[0]); i++)
			CHECK(ev[i].type == VBACKEND_EVENT_PEER_BOUND ||
			      ev[i].type == VBACKEND_EVENT_NOTIFIERS,
			      "VMM: unexpected event type %u", ev[i].type);
	}
	CHECK(r < 0 && errno == EAGAIN, "VMM read(): %zd: %s", r, r < 0 ? ERR : "EOF");
	CHECK(!fcntl(vmm, F_SETFL, flags), "fcntl: %s", ERR);
}

/*
 * @vmm_fd: bench 7, the backend's interrupt notifier into the VMM's eventfd
 * (KVM's irqfd would inject there), not EVENT_IRQ records.
 */
static void bench_irq(struct result *r, unsigned long *unconfirmed, bool vmm_fd)
{
	struct vbackend_irq irq = { .argsz = sizeof(irq) };
	struct vbackend_vmm_notifier sink = { .argsz = sizeof(sink), .fd = -1 };
	unsigned long n = iters(N_IRQ, 1), i;
	uint64_t deadline = deadline_in(BUDGET_IRQ);
	struct waiter w = { 0 };
	struct sleeper sl;
	struct pair p;

	if (vmm_fd)
		res_init(r, "7", "irq notifier -> VMM's eventfd readable", n, 0);
	else
		res_init(r, "5", "irq eventfd -> VMM read() gets EVENT_IRQ", n, 0);
	pair_open(&p);
	irq.flags = vmm_fd ? VBACKEND_IRQ_F_NOTIFIER : 0;
	irq.fd = vmm_fd ? -1 : eventfd(0, EFD_CLOEXEC);
	CHECK(vmm_fd || irq.fd >= 0, "eventfd: %s", ERR);
	irq.type = VBACKEND_IRQ_TARGET_LINE;
	irq.target[0] = 5;
	CHECK(!ioctl(p.be, VBACKEND_IRQ_ADD, &irq), "VBACKEND_IRQ_ADD: %s", ERR);
	vmm_drain(p.vmm);
	if (vmm_fd) {
		sink.id = irq.id;
		sink.fd = eventfd(0, EFD_CLOEXEC);
		CHECK(sink.fd >= 0, "eventfd: %s", ERR);
		CHECK(!ioctl(p.vmm, VBACKEND_VMM_SET_IRQ_FD, &sink),
		      "VBACKEND_VMM_SET_IRQ_FD: %s", ERR);
		CHECK(efd_read(sink.fd) == 1, "the attach did not signal the VMM's eventfd once");
	}

	w.fd = vmm_fd ? sink.fd : p.vmm;
	w.irq_id = irq.id;
	w.ack = eventfd(0, EFD_CLOEXEC);
	CHECK(w.ack >= 0, "eventfd: %s", ERR);
	w.r = r;
	waiter_start(&w, vmm_fd ? kick_waiter : irq_waiter);
	sleeper_open(&sl, w.tid);

	for (i = 0; i <= n + WARMUP; i++) {
		if (i == n + WARMUP || (i > WARMUP && out_of_time(deadline, r, NULL)))
			__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
		sleeper_wait(&sl);
		__atomic_store_n(&w.t0, now_ns(), __ATOMIC_RELEASE);
		efd_write(irq.fd, 1);
		if (w.stop)
			break;
		CHECK(efd_read(w.ack) == 1, "ack count is not 1");
	}
	join(w.th);
	*unconfirmed += sl.unconfirmed;
	close(sl.fd);
	close(w.ack);
	close(irq.fd);
	if (sink.fd >= 0)
		close(sink.fd);
	pair_close(&p);
}

/* ---- 8, 9: a KVM guest's kick and interrupt (mini_vmm.h) ---------------- */

/*
 * The guest of 8 and 9: it spins on KG_GO, kicking once per change (8);
 * once told to halt, it waits in hlt and kicks back from its interrupt
 * handler (9), so that the measuring thread sleeps in poll() on the kick
 * notifier for both.
 */
#define KG_GO		0x500	/* u32: the VMM's kick requests */
#define KG_HALT		0x504	/* u8: halt from now on */
#define KG_IRQS		0x508	/* u32: interrupts its handler took */

asm(".pushsection .rodata\n"
    ".globl kguest_start, kguest_handler, kguest_end\n"
    ".code32\n"
    "kguest_start:\n"
    "movl $0x1ff, " MV_STR(MV_LAPIC_SVR) "\n"	/* its local APIC on */
    "xorl %ebx, %ebx\n"
    "sti\n"
    "1: cmpb $0, " MV_STR(KG_HALT) "\n"
    "jne 2f\n"
    "movl " MV_STR(KG_GO) ", %eax\n"
    "cmpl %eax, %ebx\n"
    "je 1b\n"
    "movl %eax, %ebx\n"
    "movl $0, " MV_STR(MV_NOTIFY_GPA) "\n"
    "jmp 1b\n"
    "2: hlt\n"
    "jmp 1b\n"
    "kguest_handler:\n"
    "incl " MV_STR(KG_IRQS) "\n"
    "movl $0, " MV_STR(MV_LAPIC_EOI) "\n"
    "cmpb $0, " MV_STR(KG_HALT) "\n"
    "je 3f\n"
    "movl $0, " MV_STR(MV_NOTIFY_GPA) "\n"
    "3: iret\n"
    "kguest_end:\n"
    ".code64\n"
    ".popsection\n");
extern const unsigned char kguest_start[], kguest_handler[], kguest_end[];

struct kvm_bench {
	struct pair p;
	struct mini_vm v;
	uint8_t *ram;
	int memfd, kick_nf, irq_nf;
	__u32 kick_id, irq_id;
	pthread_t vcpu_th, irq_th;
	bool ioeventfd_on;
	int stop;
	unsigned long exits, injected;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* The vCPU: a kick exits only while KVM_IOEVENTFD is off (8's other side). */
static void *kvm_vcpu_thread(void *arg)
{
	struct kvm_bench *b = arg;
	struct kvm_run *run = b->v.run;

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		if (ioctl(b->v.vcpu, KVM_RUN, 0)) {
			CHECK(errno == EINTR, "KVM_RUN: %s", ERR);
			continue;
		}
		CHECK(run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		      run->mmio.phys_addr == MV_NOTIFY_GPA,
		      "the KVM guest exited with reason %u", run->exit_reason);
		CHECK(vmm_write4(b->p.vmm, MV_NOTIFY_GPA, 0) & VBACKEND_VMM_ACCESS_KICKED,
		      "a kick exit was not consumed by the kick");
		b->exits++;
	}
	return NULL;
}

/* The VMM's own interrupt path (9's other side): EVENT_IRQ -> KVM_SIGNAL_MSI. */
static void *kvm_irq_thread(void *arg)
{
	struct kvm_msi msi = { .address_lo = MV_MSI_ADDR, .data = MV_MSI_VECTOR };
	struct kvm_bench *b = arg;
	struct pollfd pfd = { .fd = b->p.vmm, .events = POLLIN };
	struct vbackend_event ev[16];

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		ssize_t r;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = read(b->p.vmm, ev, sizeof(ev));
		CHECK(r > 0 && r % sizeof(ev[0]) == 0, "VMM read(): %zd: %s", r,
		      r < 0 ? ERR : "not whole records");
		for (size_t i = 0; i < r / sizeof(ev[0]); i++) {
			if (ev[i].type != VBACKEND_EVENT_IRQ)
				continue;
			CHECK(ioctl(b->v.vm, KVM_SIGNAL_MSI, &msi) >= 0, "KVM_SIGNAL_MSI: %s", ERR);
			b->injected++;
		}
	}
	return NULL;
}

static void start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int ret = pthread_create(th, NULL, fn, arg);

	CHECK(!ret, "pthread_create: %s", strerror(ret));
}

/* NULL, or why there is no KVM guest to measure. */
static const char *kvm_bench_open(struct kvm_bench *b, bool spread)
{
	struct vbackend_vmm_memory m = { .argsz = sizeof(m), .size = MV_RAM_SIZE };
	struct vbackend_kick k = {
		.argsz = sizeof(k), .flags = VBACKEND_KICK_F_NOTIFIER | VBACKEND_KICK_F_DATAMATCH,
		.addr = MV_NOTIFY_GPA, .len = 4, .fd = -1,
	};
	struct vbackend_irq irq = {
		.argsz = sizeof(irq), .flags = VBACKEND_IRQ_F_NOTIFIER, .fd = -1,
		.type = VBACKEND_IRQ_TARGET_MSI, .target = { MV_MSI_ADDR, MV_MSI_VECTOR },
	};
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	const char *why, *mod = mini_vm_load_kvm();
	static char msg[96];
	cpu_set_t cpus;
	int cpu;

	if (mod) {
		snprintf(msg, sizeof(msg), "%s does not load: %s", mod, ERR);
		return msg;
	}
	if (access("/dev/kvm", R_OK | W_OK))
		return "no /dev/kvm";
	CHECK(!sched_getaffinity(0, sizeof(cpus), &cpus), "sched_getaffinity: %s", ERR);
	if (!spread && sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return "the guest's vCPU needs a CPU of its own";
	memset(b, 0, sizeof(*b));
	mini_vm_init(&b->v);
	pair_open(&b->p);
	b->memfd = memfd_create("kvm-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(b->memfd >= 0 && !ftruncate(b->memfd, MV_RAM_SIZE) &&
	      !fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK), "memfd: %s", ERR);
	m.fd = b->memfd;
	CHECK(!ioctl(b->p.vmm, VBACKEND_VMM_ADD_MEMORY, &m), "VBACKEND_VMM_ADD_MEMORY: %s", ERR);
	b->ram = mmap(NULL, MV_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	CHECK(b->ram != MAP_FAILED, "mmap of the guest's RAM: %s", ERR);
	mini_vm_guest_load(b->ram, kguest_start, kguest_end, kguest_handler);
	trap_add(b->p.be, MV_MMIO_GPA, 0x1000);
	CHECK(!ioctl(b->p.be, VBACKEND_KICK_ADD, &k), "VBACKEND_KICK_ADD(NOTIFIER): %s", ERR);
	CHECK(!ioctl(b->p.be, VBACKEND_IRQ_ADD, &irq), "VBACKEND_IRQ_ADD(NOTIFIER): %s", ERR);
	b->kick_nf = k.fd;
	b->kick_id = k.id;
	b->irq_nf = irq.fd;
	b->irq_id = irq.id;
	why = mini_vm_create(&b->v, b->ram, b->p.vmm, b->kick_id, b->irq_id);
	CHECK(!why, "the KVM guest: %s: %s", why, ERR);
	b->ioeventfd_on = true;
	CHECK(efd_read(b->kick_nf) == 1, "the attach did not signal the notifier once");
	CHECK(!sigaction(SIGUSR1, &sa, NULL), "sigaction: %s", ERR);
	start_thread(&b->vcpu_th, kvm_vcpu_thread, b);
	start_thread(&b->irq_th, kvm_irq_thread, b);
	if (!spread) {
		/* the vCPU spins: on a CPU of its own, the next one */
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &cpus); cpu++)
			;
		CPU_ZERO(&cpus);
		CPU_SET((cpu + 1) % sysconf(_SC_NPROCESSORS_ONLN), &cpus);
		CHECK(!pthread_setaffinity_np(b->vcpu_th, sizeof(cpus), &cpus),
		      "pthread_setaffinity_np");
	}
	return NULL;
}

static void kvm_bench_close(struct kvm_bench *b)
{
	__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
	pthread_kill(b->vcpu_th, SIGUSR1);
	join(b->vcpu_th);
	join(b->irq_th);
	mini_vm_close(&b->v);
	munmap(b->ram, MV_RAM_SIZE);
	close(b->memfd);
	close(b->kick_nf);
	close(b->irq_nf);
	pair_close(&b->p);
}

/* KVM_IOEVENTFD of the guest's kick on or off (8's two sides). */
static void kvm_ioeventfd(struct kvm_bench *b, bool on)
{
	if (b->ioeventfd_on == on)
		return;
	CHECK(!mini_vm_ioeventfd(&b->v, on), "KVM_IOEVENTFD %s: %s", on ? "on" : "off", ERR);
	b->ioeventfd_on = on;
}

/* One kick of the guest's, from @go (8) or from its handler (9), in ns. */
static uint64_t kvm_wait_kick(struct kvm_bench *b, uint64_t t0)
{
	struct pollfd pfd = { .fd = b->kick_nf, .events = POLLIN };
	uint64_t t1;

	CHECK(poll(&pfd, 1, 2000) == 1, "no kick from the KVM guest in 2 s");
	t1 = now_ns();
	CHECK(efd_read(b->kick_nf) == 1, "more than one kick from the KVM guest");
	return t1 - t0;
}

/* What a switch of sides left behind (an interrupt a new sink raised). */
static void kvm_settle(struct kvm_bench *b)
{
	struct pollfd pfd = { .fd = b->kick_nf, .events = POLLIN };

	usleep(20000);
	while (poll(&pfd, 1, 0) == 1)
		efd_read(b->kick_nf);
}

/*
 * 8: the guest's kick, KVM_IOEVENTFD -> the VMM's eventfd -> the kick
 * notifier, vs KVM_EXIT_MMIO -> VMM_ACCESS -> the kernel's kick match.
 * 9: the backend's interrupt, KVM_IRQFD on the VMM's eventfd, vs
 * EVENT_IRQ to the VMM, which injects it with KVM_SIGNAL_MSI; each until
 * the handler's kick back wakes the backend.
 */
/* 8's sides: the guest's kick by KVM_IOEVENTFD, or exiting to the VMM. */
static void kvm_kick_side(struct kvm_bench *b, bool fd_side)
{
	kvm_ioeventfd(b, fd_side);
}

static void kvm_kick_trigger(struct kvm_bench *b)
{
	volatile uint32_t *go = (uint32_t *)(b->ram + KG_GO);

	__atomic_store_n(go, *go + 1, __ATOMIC_RELEASE);
}

/* 9's sides: the interrupt into the VMM's call eventfd, or to the VMM. */
static void kvm_irq_side(struct kvm_bench *b, bool fd_side)
{
	CHECK(!mini_vm_attach(b->p.vmm, VBACKEND_VMM_SET_IRQ_FD, b->irq_id,
			      fd_side ? b->v.call_efd : -1),
	      "VBACKEND_VMM_SET_IRQ_FD: %s", ERR);
}

static void kvm_irq_trigger(struct kvm_bench *b)
{
	efd_write(b->irq_nf, 1);
}

/*
 * ROUNDS rounds of both sides, the order swapped every round: @side sets
 * one up, then a block of @trigger -> the backend's wakeup, timed, into
 * @fd_r (the VMM's eventfd side) or @other_r.
 */
static void kvm_sides(struct kvm_bench *b, struct result *fd_r, struct result *other_r,
		      void (*side)(struct kvm_bench *b, bool fd_side),
		      void (*trigger)(struct kvm_bench *b))
{
	uint64_t deadline = deadline_in(BUDGET_KVM);
	unsigned long per = fd_r->cap / ROUNDS, i;

	for (unsigned int round = 0; round < ROUNDS; round++) {
		for (unsigned int k = 0; k < 2; k++) {
			bool fd_side = (k + round) % 2 == 0;

			if (round && out_of_time(deadline, fd_r, other_r))
				return;
			side(b, fd_side);
			kvm_settle(b);
			for (i = 0; i < per + (round ? 0 : WARMUP); i++) {
				uint64_t t0 = now_ns();

				trigger(b);
				t0 = kvm_wait_kick(b, t0);
				if (i >= (round ? 0 : WARMUP))
					res_add(fd_side ? fd_r : other_r, t0);
			}
		}
	}
}

static void bench_kvm(struct kvm_bench *b, struct result *ioev, struct result *exitr,
		      struct result *irqfd, struct result *viavmm)
{
	unsigned long n = iters(N_KVM, 2 * ROUNDS);
	uint32_t irqs0;

	res_init(ioev, "8", "KVM guest kick by KVM_IOEVENTFD: backend wakes", n, 0);
	res_init(exitr, "8", "KVM guest kick by KVM_EXIT_MMIO + VMM_ACCESS", n, 0);
	res_init(irqfd, "9", "irq notifier -> KVM_IRQFD, guest kicks back", n, 0);
	res_init(viavmm, "9", "irq -> VMM's KVM_SIGNAL_MSI, guest kicks back", n, 0);
	kvm_sides(b, ioev, exitr, kvm_kick_side, kvm_kick_trigger);
	kvm_ioeventfd(b, true);
	*(volatile uint8_t *)(b->ram + KG_HALT) = 1;	/* 9: the guest halts */
	kvm_settle(b);
	irqs0 = *(volatile uint32_t *)(b->ram + KG_IRQS);
	kvm_sides(b, irqfd, viavmm, kvm_irq_side, kvm_irq_trigger);
	CHECK(*(volatile uint32_t *)(b->ram + KG_IRQS) - irqs0 >=
	      irqfd->n + viavmm->n, "the guest's handler took fewer interrupts than were raised");
	/* each side took its path */
	CHECK(b->exits >= exitr->n, "%lu kick exits for %zu kicks by KVM_EXIT_MMIO",
	      b->exits, exitr->n);
	CHECK(b->injected >= viavmm->n, "%lu KVM_SIGNAL_MSI for %zu interrupts through the VMM",
	      b->injected, viavmm->n);
}

/* ---- the cost of reading the clock, inside every latency once ----------- */

static uint64_t clock_cost(void)
{
	struct result r;
	uint64_t t0, cost;
	unsigned long i;

	res_init(&r, "", "clock", N_CLOCK, 0);
	for (i = 0; i < N_CLOCK; i++) {
		t0 = now_ns();
		res_add(&r, now_ns() - t0);
	}
	res_finish(&r);
	cost = r.median;
	res_free(&r);
	return cost;
}

/* ---- main ------------------------------------------------------------------- */

static void print_ratio(const char *what, double v, const char *how)
{
	printf("ratio: %s = %.1fx (%s)\n", what, v, how);
}

static double div0(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-a] [-s SCALE]\n"
		"  -a        do not pin every thread to one CPU\n"
		"  -s SCALE  multiply every iteration count and time budget (default 1)\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	struct result kick, trap, batched, single, wakeup, warm, cold, copy, irqr;
	struct result wakeup_fd, irq_fd, kvm_ioev, kvm_exit, kvm_irqfd, kvm_viavmm;
	struct kvm_bench kb;
	const char *no_kvm;
	struct vbackend_info info = { .argsz = sizeof(info) };
	unsigned long wake_unconfirmed = 0, irq_unconfirmed = 0;
	struct window_mem wmem;
	unsigned int k = MAX_VCPUS;
	char clocksource[64] = "?";
	uint64_t start = now_ns();
	char name1[64], name2[64];
	struct utsname uts;
	bool spread = false;
	cpu_set_t cpus;
	int cpu = -1;
	double avg_batch;
	FILE *f;
	int opt, fd;

	/* what the test guest's init runs first (mini_vmm.h) */
	if (argc == 2 && !strcmp(argv[1], "--kvm-hold"))
		return mini_vm_hold();
	while ((opt = getopt(argc, argv, "as:h")) != -1) {
		switch (opt) {
		case 'a':
			spread = true;
			break;
		case 's':
			scale = strtod(optarg, NULL);
			if (!(scale > 0 && scale <= 1000))
				usage(argv[0]);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!spread) {
		/* every thread created from now on inherits the mask */
		CHECK(!sched_getaffinity(0, sizeof(cpus), &cpus), "sched_getaffinity: %s", ERR);
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &cpus); cpu++)
			;
		CHECK(cpu < CPU_SETSIZE, "no CPU in the affinity mask");
		CPU_ZERO(&cpus);
		CPU_SET(cpu, &cpus);
		CHECK(!sched_setaffinity(0, sizeof(cpus), &cpus), "sched_setaffinity: %s", ERR);
	}

	fd = open_dev();
	CHECK(!ioctl(fd, VBACKEND_GET_INFO, &info), "VBACKEND_GET_INFO: %s", ERR);
	close(fd);
	CHECK(info.providers & (1U << VBACKEND_PROVIDER_VMM), "no VMM-fed provider");
	CHECK(info.features & VBACKEND_FEATURE_BATCH, "no VBACKEND_FEATURE_BATCH");
	CHECK(info.features & VBACKEND_FEATURE_NOTIFIER_FD, "no VBACKEND_FEATURE_NOTIFIER_FD");
	CHECK(info.max_pending >= k, "max_pending %u < %u vCPUs", info.max_pending, k);
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (fgets(clocksource, sizeof(clocksource), f))
			clocksource[strcspn(clocksource, "\n")] = 0;
		fclose(f);
	}
	uname(&uts);

	printf("vbackend-bench: API %u, kernel %s, %ld CPUs, scale %g\n",
	       info.api_version, uts.release, sysconf(_SC_NPROCESSORS_ONLN), scale);
	printf("NOTE: under make bench this runs in a QEMU TCG guest, where every instruction\n"
	       "      is emulated: absolute numbers are not meaningful, the ratios are what\n"
	       "      matter. Both sides of each ratio are measured side by side in this one\n"
	       "      run, in alternating blocks.\n");
	if (spread)
		printf("Threads: placed by the scheduler (-a).\n");
	else
		printf("Threads: all on CPU %d, so that no handoff waits for a halted vCPU to be\n"
		       "      rescheduled on the host (-a: let them spread).\n", cpu);
	printf("Latency: per operation, CLOCK_MONOTONIC (clocksource %s; one clock read\n"
	       "      costs %" PRIu64 " ns and is included once in every latency).\n"
	       "Throughput: the median over blocks of iterations (%d per side for 1 and 2,\n"
	       "      one 64 MiB pass each for 4).\n\n",
	       clocksource, clock_cost(), ROUNDS);
	print_header();

	bench_kick_vs_trap(&kick, &trap);
	print_row(&kick);
	print_row(&trap);

	bench_batch(&batched, &single, k, &avg_batch);
	snprintf(name1, sizeof(name1), "%u vCPU threads, batched (%.1f records/read())",
		 k, avg_batch);
	snprintf(name2, sizeof(name2), "%u vCPU threads, one record per read()/write()", k);
	batched.name = name1;
	single.name = name2;
	print_row(&batched);
	print_row(&single);

	bench_kick_wakeup(&wakeup, &wake_unconfirmed, false);
	print_row(&wakeup);

	bench_window(&warm, &cold, &copy, &wmem);
	print_row(&warm);
	print_row(&cold);
	print_row(&copy);

	bench_irq(&irqr, &irq_unconfirmed, false);
	print_row(&irqr);

	bench_kick_wakeup(&wakeup_fd, &wake_unconfirmed, true);
	print_row(&wakeup_fd);
	bench_irq(&irq_fd, &irq_unconfirmed, true);
	print_row(&irq_fd);

	no_kvm = kvm_bench_open(&kb, spread);
	if (!no_kvm) {
		bench_kvm(&kb, &kvm_ioev, &kvm_exit, &kvm_irqfd, &kvm_viavmm);
		kvm_bench_close(&kb);
		print_row(&kvm_ioev);
		print_row(&kvm_exit);
		print_row(&kvm_irqfd);
		print_row(&kvm_viavmm);
	} else {
		printf("8  KVM guest kick             SKIP: %s\n", no_kvm);
		printf("9  KVM guest interrupt        SKIP: %s\n", no_kvm);
	}

	printf("\n");
	print_ratio("trap round trip / in-kernel kick", div0(trap.median, kick.median),
		    "median latency");
	print_ratio("batched / single completion", div0(rate(&batched), rate(&single)),
		    "throughput");
	print_ratio("pread() copy / window read", div0(copy.median, warm.median),
		    "median time per 64 MiB, window mapped");
	print_ratio("pread() copy / first window read", div0(copy.median, cold.median),
		    "median time per 64 MiB, fresh mmap + a fault per page");
	print_ratio("kick by VMM_ACCESS / by the VMM's eventfd",
		    div0(wakeup.median, wakeup_fd.median), "median latency to the backend's wakeup");
	print_ratio("interrupt as EVENT_IRQ / into the VMM's eventfd",
		    div0(irqr.median, irq_fd.median), "median latency to the VMM's wakeup");
	if (!no_kvm) {
		print_ratio("KVM guest kick by KVM_EXIT_MMIO / by KVM_IOEVENTFD",
			    div0(kvm_exit.median, kvm_ioev.median),
			    "median latency to the backend's wakeup");
		print_ratio("KVM guest interrupt through the VMM / by KVM_IRQFD",
			    div0(kvm_viavmm.median, kvm_irqfd.median),
			    "median round trip, the guest's handler kicking back");
	}
	printf("memory: a 64 MiB window adds %ld KiB of page tables and references %ld guest\n"
	       "      pages in the kernel, copying nothing; pread() needs a %u KiB bounce\n"
	       "      buffer and copies all 64 MiB on each pass (-1: unknown)\n",
	       wmem.pte_kib, wmem.pages, COPY_CHUNK / 1024);
	if (cut)
		printf("note: * = stopped early, its time budget ran out (a busy host?)\n");
	if (wake_unconfirmed || irq_unconfirmed)
		printf("note: %lu kick and %lu irq events went out before /proc showed the "
		       "waiter asleep (100 ms wait)\n", wake_unconfirmed, irq_unconfirmed);
	printf("vbackend-bench: done in %.1f s, no functional error\n",
	       (now_ns() - start) / 1e9);
	res_free(&kick);
	res_free(&trap);
	res_free(&batched);
	res_free(&single);
	res_free(&wakeup);
	res_free(&warm);
	res_free(&cold);
	res_free(&copy);
	res_free(&irqr);
	if (!no_kvm) {
		res_free(&kvm_ioev);
		res_free(&kvm_exit);
		res_free(&kvm_irqfd);
		res_free(&kvm_viavmm);
	}
	res_free(&wakeup_fd);
	res_free(&irq_fd);
	return 0;
}
