// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-tour: a guided tour of the vbackend ABI in one process.
 *
 * The process plays three parts: a VMM (the frontend side: a VMM session
 * with 1 MiB of memfd guest RAM), one of its vCPUs (a second thread that
 * forwards accesses with VBACKEND_VMM_ACCESS) and a device backend (a
 * session bound with "vmm:fd=N"). Every step prints what happened; the
 * first step that does not behave as documented ends the tour with a
 * one-line "vbackend-tour: FAILED: ..." message and exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vbackend.h>

#define DEV		"/dev/vbackend"
#define GUEST_RAM	(1u << 20)
#define WIN_GPA		0x4000u
#define WIN_SIZE	0x2000u
#define MMIO_BASE	0x10000000ull
#define MMIO_SIZE	0x200ull
#define KICK_ADDR	(MMIO_BASE + 0x50)
#define STATUS_ADDR	(MMIO_BASE + 0x70)
#define MAGIC_VALUE	0x74726976ull	/* "virt", what a virtio-mmio device answers at 0 */
#define IRQ_LINE	5
#define STEP_TIMEOUT_MS	10000

/* Failing ends the tour: one line, naming the step. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vbackend-tour: FAILED: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define fail_errno(what, ...) fail(what ": %s", ##__VA_ARGS__, strerror(errno))

static void on_alarm(int sig)
{
	static const char msg[] = "vbackend-tour: FAILED: the tour took more than 60 s\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static int open_session(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail_errno("open " DEV);
	return fd;
}

static const char *event_name(uint32_t type)
{
	switch (type) {
	case VBACKEND_EVENT_TRAP: return "TRAP";
	case VBACKEND_EVENT_PEER_GONE: return "PEER_GONE";
	case VBACKEND_EVENT_RESET: return "RESET";
	case VBACKEND_EVENT_ERROR: return "ERROR";
	case VBACKEND_EVENT_PEER_BOUND: return "PEER_BOUND";
	case VBACKEND_EVENT_IRQ: return "IRQ";
	case VBACKEND_EVENT_NOTIFIERS: return "NOTIFIERS";
	default: return "unknown";
	}
}

/* Wait for POLLIN (or POLLHUP) on @fd, failing after STEP_TIMEOUT_MS. */
static short wait_fd(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, STEP_TIMEOUT_MS);

	if (n < 0)
		fail_errno("poll for %s", what);
	if (n == 0)
		fail("no %s within %d s", what, STEP_TIMEOUT_MS / 1000);
	return p.revents;
}

/* Read one record from a session, waiting for it. */
static void read_event(int fd, struct vbackend_event *ev, const char *what)
{
	ssize_t n;

	wait_fd(fd, what);
	n = read(fd, ev, sizeof(*ev));
	if (n < 0)
		fail_errno("read() of %s", what);
	if (n != (ssize_t)sizeof(*ev))
		fail("read() of %s returned %zd bytes, expected %zu", what, n, sizeof(*ev));
}

/* ---- the vCPU thread -------------------------------------------------- */

struct vcpu {
	pthread_t thread;
	sem_t go;		/* main -> vcpu: make the next access */
	sem_t done;		/* vcpu -> main: the access returned */
	int vmm;
	int step;
	int err;		/* errno of the failed VMM_ACCESS, or 0 */
	struct vbackend_vmm_access acc;
};

static void vcpu_access(struct vcpu *v, uint32_t dir, uint64_t addr,
			uint32_t size, uint64_t data)
{
	memset(&v->acc, 0, sizeof(v->acc));
	v->acc.argsz = sizeof(v->acc);
	v->acc.addr = addr;
	v->acc.size = size;
	v->acc.dir = dir;
	v->acc.data = data;
	v->err = ioctl(v->vmm, VBACKEND_VMM_ACCESS, &v->acc) ? errno : 0;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;

	/* 1: an MMIO read the backend must answer */
	sem_wait(&v->go);
	printf("[vcpu 0]  reads 4 bytes at 0x%llx: VMM_ACCESS blocks until the backend answers\n",
	       MMIO_BASE);
	vcpu_access(v, VBACKEND_DIR_READ, MMIO_BASE, 4, 0);
	if (!v->err)
		printf("[vcpu 0]  the read returns 0x%llx\n", (unsigned long long)v->acc.data);
	sem_post(&v->done);

	/* 2: a queue notification, consumed by the kick */
	sem_wait(&v->go);
	printf("[vcpu 0]  writes 0 (4 bytes) to 0x%llx, the queue-notify register\n", KICK_ADDR);
	vcpu_access(v, VBACKEND_DIR_WRITE, KICK_ADDR, 4, 0);
	if (!v->err)
		printf("[vcpu 0]  VMM_ACCESS returns at once, result %s\n",
		       v->acc.result & VBACKEND_VMM_ACCESS_KICKED ? "KICKED" : "0 (not kicked)");
	sem_post(&v->done);

	/* 3: an ordinary MMIO write */
	sem_wait(&v->go);
	printf("[vcpu 0]  writes 0x0f (1 byte) to 0x%llx, the status register\n", STATUS_ADDR);
	vcpu_access(v, VBACKEND_DIR_WRITE, STATUS_ADDR, 1, 0x0f);
	if (!v->err)
		printf("[vcpu 0]  the write is complete\n");
	sem_post(&v->done);
	return NULL;
}

/* Let the vCPU make its next access; @backend runs meanwhile. */
static void vcpu_step_begin(struct vcpu *v)
{
	v->step++;
	sem_post(&v->go);
}

static void vcpu_step_end(struct vcpu *v, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STEP_TIMEOUT_MS / 1000;
	while (sem_timedwait(&v->done, &ts)) {
		if (errno == ETIMEDOUT)
			fail("VMM_ACCESS (%s) did not return within %d s", what,
			     STEP_TIMEOUT_MS / 1000);
		if (errno != EINTR)
			fail_errno("sem_timedwait");
	}
	if (v->err) {
		errno = v->err;
		fail_errno("VMM_ACCESS (%s)", what);
	}
}

/* Backend side: receive one TRAP and check it is the access expected. */
static uint64_t expect_trap(int be, uint8_t dir, uint64_t addr, uint8_t size,
			    uint64_t data)
{
	struct vbackend_event ev;
	const struct vbackend_access *a = &ev.u.access;

	read_event(be, &ev, "TRAP event");
	if (ev.type != VBACKEND_EVENT_TRAP)
		fail("expected a TRAP event, got %s (%u)", event_name(ev.type), ev.type);
	if (a->dir != dir || a->addr != addr || a->size != size ||
	    a->space != VBACKEND_SPACE_MMIO || (dir == VBACKEND_DIR_WRITE && a->data != data))
		fail("TRAP is %s of %u bytes at 0x%llx data 0x%llx space %u, expected %s of %u at 0x%llx",
		     a->dir ? "write" : "read", a->size, (unsigned long long)a->addr,
		     (unsigned long long)a->data, a->space, dir ? "write" : "read",
		     size, (unsigned long long)addr);
	printf("[backend] TRAP seq %llu: vcpu %u %s %u byte%s at 0x%llx",
	       (unsigned long long)ev.seq, a->vcpu, a->dir ? "writes" : "reads",
	       a->size, a->size == 1 ? "" : "s", (unsigned long long)a->addr);
	if (a->dir == VBACKEND_DIR_WRITE)
		printf(", data 0x%llx", (unsigned long long)a->data);
	printf("\n");
	return ev.seq;
}

static void complete(int be, uint64_t seq, uint64_t data)
{
	struct vbackend_completion c = { .seq = seq, .data = data };
	ssize_t n = write(be, &c, sizeof(c));

	if (n < 0)
		fail_errno("write() of the completion of seq %llu", (unsigned long long)seq);
	if (n != (ssize_t)sizeof(c))
		fail("write() of a completion returned %zd, expected %zu", n, sizeof(c));
}

/* ---- SIGBUS probe ------------------------------------------------------ */

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_sig;

static void on_probe_signal(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_jmp, 1);
}

/* Read one byte at @p; return the signal it raised, or 0. */
static int probe(const volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_probe_signal }, obus, osegv;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	probe_sig = 0;
	if (!sigsetjmp(probe_jmp, 1))
		(void)*p;
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return probe_sig;
}

/* ---- the tour ---------------------------------------------------------- */

static void show_info(int fd)
{
	struct vbackend_info info = { .argsz = sizeof(info) };
	uint32_t id;

	if (ioctl(fd, VBACKEND_GET_INFO, &info))
		fail_errno("VBACKEND_GET_INFO");
	printf("[info]    api version %u, features 0x%llx, providers:", info.api_version,
	       (unsigned long long)info.features);
	for (id = 1; id < 32; id++) {
		struct vbackend_provider_info p = { .argsz = sizeof(p), .id = id };

		if (!(info.providers & (1u << id)))
			continue;
		if (ioctl(fd, VBACKEND_GET_PROVIDER, &p))
			fail_errno("VBACKEND_GET_PROVIDER %u", id);
		printf(" %.*s (id %u)", (int)sizeof(p.name), p.name, id);
	}
	printf("\n[info]    limits per session: %u windows, %u traps, %u kicks, %u irqs, %u pending accesses\n",
	       info.max_windows, info.max_traps, info.max_kicks, info.max_irqs, info.max_pending);
	printf("[info]    read() moves %u-byte events, write() %u-byte completions\n",
	       info.event_size, info.completion_size);
	if (!(info.providers & (1u << VBACKEND_PROVIDER_VMM)))
		fail("GET_INFO: the VMM provider is not present");
	if (info.event_size != sizeof(struct vbackend_event) ||
	    info.completion_size != sizeof(struct vbackend_completion))
		fail("GET_INFO: record sizes %u/%u, this program knows %zu/%zu",
		     info.event_size, info.completion_size,
		     sizeof(struct vbackend_event), sizeof(struct vbackend_completion));
}

int main(void)
{
	struct vbackend_vmm_ctl ctl = { .argsz = sizeof(ctl) };
	struct vbackend_vmm_memory mem = { .argsz = sizeof(mem) };
	struct vbackend_bind bind = { .argsz = sizeof(bind) };
	struct vbackend_mem_region region = { .argsz = sizeof(region) };
	struct vbackend_window win = { .argsz = sizeof(win) };
	struct vbackend_trap trap = { .argsz = sizeof(trap) };
	struct vbackend_kick kick = { .argsz = sizeof(kick) };
	struct vbackend_kick gkick = { .argsz = sizeof(gkick) };
	struct vbackend_irq irq = { .argsz = sizeof(irq) };
	struct vbackend_irq girq = { .argsz = sizeof(irq) };
	struct vbackend_event ev;
	struct vcpu v = { 0 };
	char target[32];
	uint8_t *ram, *w;
	uint64_t seq, count, one = 1;
	int vmm, be, memfd, kickfd, irqfd, sig, seen_irq;
	ssize_t n;
	short revents;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(60);

	printf("vbackend tour: one process plays a VMM, its vCPU and a device backend\n\n");

	/* Discovery, on a fresh session that then becomes the VMM. */
	vmm = open_session();
	show_info(vmm);

	if (ioctl(vmm, VBACKEND_VMM_CREATE, &ctl))
		fail_errno("VBACKEND_VMM_CREATE");
	memfd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		fail_errno("memfd_create");
	if (ftruncate(memfd, GUEST_RAM))
		fail_errno("ftruncate of the guest RAM memfd");
	/* VMM_ADD_MEMORY takes memfds that can no longer shrink */
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		fail_errno("F_SEAL_SHRINK on the guest RAM memfd");
	ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		fail_errno("mmap of the guest RAM memfd");
	mem.gpa = 0;
	mem.size = GUEST_RAM;
	mem.fd = memfd;
	if (ioctl(vmm, VBACKEND_VMM_ADD_MEMORY, &mem))
		fail_errno("VBACKEND_VMM_ADD_MEMORY");
	printf("\n[vmm]     session fd %d is a VMM now, with 1 MiB of guest RAM (a memfd) at gpa 0\n",
	       vmm);

	/* The backend binds to it by descriptor: no global names. */
	be = open_session();
	snprintf(target, sizeof(target), "vmm:fd=%d", vmm);
	bind.target = (uintptr_t)target;
	bind.target_len = strlen(target);
	if (ioctl(be, VBACKEND_BIND, &bind))
		fail_errno("VBACKEND_BIND \"%s\"", target);
	if (bind.provider != VBACKEND_PROVIDER_VMM)
		fail("VBACKEND_BIND reported provider %u, expected %u", bind.provider,
		     VBACKEND_PROVIDER_VMM);
	printf("[backend] session fd %d bound to \"%s\" (provider %u, vmm)\n", be, target,
	       bind.provider);

	/* Where is the frontend's memory? The backend can ask. */
	for (region.index = 0;; region.index++) {
		region.argsz = sizeof(region);
		region.flags = 0;
		if (ioctl(be, VBACKEND_MEM_REGION, &region)) {
			if (errno == ENOENT)
				break;
			fail_errno("VBACKEND_MEM_REGION %u", region.index);
		}
		printf("[backend] memory region %u: gpa 0x%llx, %llu KiB%s\n", region.index,
		       (unsigned long long)region.gpa, (unsigned long long)region.size >> 10,
		       region.flags & VBACKEND_MEM_F_READONLY ? ", read-only" : "");
	}
	if (region.index != 1)
		fail("VBACKEND_MEM_REGION listed %u regions, the VMM added 1", region.index);

	/* Guest memory through a window. */
	win.flags = VBACKEND_WINDOW_F_READ | VBACKEND_WINDOW_F_WRITE;
	win.gpa = WIN_GPA;
	win.size = WIN_SIZE;
	if (ioctl(be, VBACKEND_WINDOW_MAP, &win))
		fail_errno("VBACKEND_WINDOW_MAP");
	w = mmap(NULL, WIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, be, win.offset);
	if (w == MAP_FAILED)
		fail_errno("mmap of window %u", win.id);
	printf("\n[backend] window %u: gpa 0x%x-0x%x, mmap()ed from the session at offset 0x%llx\n",
	       win.id, WIN_GPA, WIN_GPA + WIN_SIZE - 1, (unsigned long long)win.offset);
	ram[WIN_GPA + 0x10] = 0x5a;
	printf("[guest]   stores 0x5a at gpa 0x%x\n", WIN_GPA + 0x10);
	if (w[0x10] != 0x5a)
		fail("the window reads 0x%02x at gpa 0x%x, the guest stored 0x5a", w[0x10],
		     WIN_GPA + 0x10);
	printf("[backend] loads 0x%02x from the window at gpa 0x%x\n", w[0x10], WIN_GPA + 0x10);
	w[0x20] = 0xa5;
	if (ram[WIN_GPA + 0x20] != 0xa5)
		fail("the guest reads 0x%02x at gpa 0x%x, the backend stored 0xa5",
		     ram[WIN_GPA + 0x20], WIN_GPA + 0x20);
	printf("[backend] stores 0xa5 at gpa 0x%x, and the guest loads 0x%02x there\n",
	       WIN_GPA + 0x20, ram[WIN_GPA + 0x20]);

	/* A trap range, and a kick inside it. */
	trap.addr = MMIO_BASE;
	trap.size = MMIO_SIZE;
	if (ioctl(be, VBACKEND_TRAP_ADD, &trap))
		fail_errno("VBACKEND_TRAP_ADD");
	printf("\n[backend] trap %u: claims MMIO 0x%llx-0x%llx\n", trap.id, MMIO_BASE,
	       MMIO_BASE + MMIO_SIZE - 1);
	kickfd = eventfd(0, EFD_CLOEXEC);
	if (kickfd < 0)
		fail_errno("eventfd");
	kick.addr = KICK_ADDR;
	kick.len = 4;
	kick.fd = kickfd;
	if (ioctl(be, VBACKEND_KICK_ADD, &kick))
		fail_errno("VBACKEND_KICK_ADD");
	printf("[backend] kick %u: 4-byte writes to 0x%llx signal eventfd %d\n", kick.id,
	       KICK_ADDR, kickfd);
	if (ioctl(vmm, VBACKEND_VMM_GET_KICK, &gkick))
		fail_errno("VBACKEND_VMM_GET_KICK");
	if (gkick.addr != KICK_ADDR || gkick.len != 4 || gkick.fd < 0)
		fail("VMM_GET_KICK returned addr 0x%llx len %u fd %d",
		     (unsigned long long)gkick.addr, gkick.len, gkick.fd);
	printf("[vmm]     VMM_GET_KICK: kick %u at 0x%llx, len %u, as fd %d (for KVM_IOEVENTFD)\n",
	       gkick.id, (unsigned long long)gkick.addr, gkick.len, gkick.fd);
	close(gkick.fd);

	/* The vCPU thread makes three accesses; we are the backend. */
	v.vmm = vmm;
	if (sem_init(&v.go, 0, 0) || sem_init(&v.done, 0, 0))
		fail_errno("sem_init");
	errno = pthread_create(&v.thread, NULL, vcpu_main, &v);
	if (errno)
		fail_errno("pthread_create");

	printf("\n");
	vcpu_step_begin(&v);
	seq = expect_trap(be, VBACKEND_DIR_READ, MMIO_BASE, 4, 0);
	printf("[backend] completes seq %llu with 0x%llx (\"virt\")\n",
	       (unsigned long long)seq, MAGIC_VALUE);
	complete(be, seq, MAGIC_VALUE);
	vcpu_step_end(&v, "read");
	if (v.acc.data != MAGIC_VALUE)
		fail("the vCPU read 0x%llx, the backend answered 0x%llx",
		     (unsigned long long)v.acc.data, MAGIC_VALUE);

	printf("\n");
	vcpu_step_begin(&v);
	vcpu_step_end(&v, "write to the kick");
	if (!(v.acc.result & VBACKEND_VMM_ACCESS_KICKED))
		fail("the write to 0x%llx was not consumed by the kick (result 0x%x)",
		     KICK_ADDR, v.acc.result);
	wait_fd(kickfd, "kick eventfd signal");
	if (read(kickfd, &count, sizeof(count)) != (ssize_t)sizeof(count))
		fail_errno("read of the kick eventfd");
	printf("[backend] the kick eventfd counts %llu; no TRAP event was queued for it\n",
	       (unsigned long long)count);
	if (count != 1)
		fail("the kick eventfd counted %llu, expected 1", (unsigned long long)count);

	printf("\n");
	vcpu_step_begin(&v);
	seq = expect_trap(be, VBACKEND_DIR_WRITE, STATUS_ADDR, 1, 0x0f);
	printf("[backend] completes seq %llu\n", (unsigned long long)seq);
	complete(be, seq, 0);
	vcpu_step_end(&v, "write");
	errno = pthread_join(v.thread, NULL);
	if (errno)
		fail_errno("pthread_join");

	/* An interrupt: the backend writes an eventfd, the VMM gets an event. */
	irqfd = eventfd(0, EFD_CLOEXEC);
	if (irqfd < 0)
		fail_errno("eventfd");
	irq.fd = irqfd;
	irq.type = VBACKEND_IRQ_TARGET_LINE;
	irq.target[0] = IRQ_LINE;
	if (ioctl(be, VBACKEND_IRQ_ADD, &irq))
		fail_errno("VBACKEND_IRQ_ADD");
	printf("\n[backend] irq %u: eventfd %d raises guest line %d\n", irq.id, irqfd, IRQ_LINE);
	if (ioctl(vmm, VBACKEND_VMM_GET_IRQ, &girq))
		fail_errno("VBACKEND_VMM_GET_IRQ");
	if (girq.type != VBACKEND_IRQ_TARGET_LINE || girq.target[0] != IRQ_LINE || girq.fd < 0)
		fail("VMM_GET_IRQ returned type %u target %llu fd %d", girq.type,
		     (unsigned long long)girq.target[0], girq.fd);
	printf("[vmm]     VMM_GET_IRQ: irq %u is line %llu, as fd %d (for KVM_IRQFD)\n", girq.id,
	       (unsigned long long)girq.target[0], girq.fd);
	close(girq.fd);
	if (write(irqfd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		fail_errno("write of the irq eventfd");
	printf("[backend] signals the irq eventfd\n");
	for (seen_irq = 0; !seen_irq;) {
		read_event(vmm, &ev, "IRQ event on the VMM session");
		switch (ev.type) {
		case VBACKEND_EVENT_PEER_BOUND:
			printf("[vmm]     event PEER_BOUND: a backend bound to this VMM\n");
			break;
		case VBACKEND_EVENT_NOTIFIERS:
			printf("[vmm]     event NOTIFIERS: the backend's kicks or irqs changed\n");
			break;
		case VBACKEND_EVENT_IRQ:
			if (ev.u.irq.id != irq.id)
				fail("IRQ event for irq %u, expected %u", ev.u.irq.id, irq.id);
			printf("[vmm]     event IRQ: irq %u, so the VMM injects line %d\n",
			       ev.u.irq.id, IRQ_LINE);
			seen_irq = 1;
			break;
		default:
			fail("unexpected event %s (%u) on the VMM session", event_name(ev.type),
			     ev.type);
		}
	}

	/* The frontend goes away. */
	close(vmm);
	printf("\n[vmm]     closes its session: the frontend is gone\n");
	revents = wait_fd(be, "PEER_GONE event");
	read_event(be, &ev, "PEER_GONE event");
	if (ev.type != VBACKEND_EVENT_PEER_GONE)
		fail("expected PEER_GONE, got %s (%u)", event_name(ev.type), ev.type);
	printf("[backend] event PEER_GONE (error %d)%s\n", ev.u.status.error,
	       revents & POLLHUP ? ", and poll() reports POLLHUP" : "");
	if (!(revents & POLLHUP))
		fail("poll() on the backend does not report POLLHUP after PEER_GONE");
	n = read(be, &ev, sizeof(ev));
	if (n != 0)
		fail("read() after PEER_GONE returned %zd (%s), expected 0 (end of file)", n,
		     n < 0 ? strerror(errno) : "data");
	printf("[backend] read() returns 0: end of file\n");
	sig = probe(w);
	if (sig != SIGBUS)
		fail("touching the revoked window raised %s, expected SIGBUS",
		     sig ? strsignal(sig) : "nothing");
	printf("[backend] touching the window raises SIGBUS: it was revoked\n");
	memset(&trap, 0, sizeof(trap));
	trap.argsz = sizeof(trap);
	trap.addr = MMIO_BASE + MMIO_SIZE;
	trap.size = MMIO_SIZE;
	if (ioctl(be, VBACKEND_TRAP_ADD, &trap) == 0)
		fail("TRAP_ADD after PEER_GONE succeeded, expected EPIPE");
	if (errno != EPIPE)
		fail_errno("TRAP_ADD after PEER_GONE (expected EPIPE)");
	printf("[backend] and its ioctls fail with EPIPE\n");

	munmap(w, WIN_SIZE);
	munmap(ram, GUEST_RAM);
	close(be);
	close(kickfd);
	close(irqfd);
	close(memfd);
	printf("\ntour complete: every step behaved as documented\n");
	return 0;
}
