// SPDX-License-Identifier: Apache-2.0
/*
 * frontend-sim: the VM side. A VMM session with memfd guest RAM, the backend
 * process that serves it, the session's record stream (interrupts, peer
 * events), register accesses, and the watchdog that turns a hang into a
 * failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/vbackend.h>

#include "fsim.h"

extern char **environ;

/* ---- messages ------------------------------------------------------- */

int fsim_verbose;
static char first_failure[512];
static atomic_uint nr_failures;
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;

void fsim_say(const char *label, const char *fmt, ...)
{
	char lab[32];
	va_list ap;

	snprintf(lab, sizeof(lab), "%s:", label);
	pthread_mutex_lock(&msg_lock);
	printf("%-9s ", lab);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&msg_lock);
}

void fsim_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!fsim_verbose)
		return;
	pthread_mutex_lock(&msg_lock);
	fprintf(stderr, "[%ld] ", fsim_now_ms() % 100000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&msg_lock);
}

void fsim_fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&msg_lock);
	if (!first_failure[0])
		snprintf(first_failure, sizeof(first_failure), "%s", buf);
	printf("%-9s %s\n", "FAIL:", buf);
	fflush(stdout);
	pthread_mutex_unlock(&msg_lock);
	atomic_fetch_add(&nr_failures, 1);
}

const char *fsim_first_failure(void)
{
	return first_failure;
}

unsigned int fsim_failures(void)
{
	return atomic_load(&nr_failures);
}

long fsim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void fsim_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

long long fsim_parse_size(const char *s)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	default: break;
	}
	if (*end == 'i' && mul > 1)
		end++;
	if ((*end == 'B' || *end == 'b') && mul > 1)
		end++;
	if (*end || v > (1ULL << 50) / mul)
		return -1;
	return (long long)(v * mul);
}

const char *fsim_mib(uint64_t bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
	return buf;
}

/* ---- watchdog ------------------------------------------------------------ */

#define WD_SLOTS 8

static struct {
	atomic_long deadline;	/* 0: free */
	char what[200];
} wd_slot[WD_SLOTS];
static long wd_total_deadline;
static void (*wd_hook)(void);

static void wd_fire(const char *what)
{
	char buf[300];
	int n;

	n = snprintf(buf, sizeof(buf), "%-9s %s\n", "TIMEOUT:", what);
	if (write(STDOUT_FILENO, buf, n) < 0)
		_exit(FSIM_EXIT_TIMEOUT);
	if (wd_hook)
		wd_hook();
	_exit(FSIM_EXIT_TIMEOUT);
}

static void *wd_thread(void *arg)
{
	char what[240];
	long now, dl;
	int i;

	(void)arg;
	for (;;) {
		fsim_sleep_ms(100);
		now = fsim_now_ms();
		if (wd_total_deadline && now > wd_total_deadline)
			wd_fire("the whole run took longer than its time limit (--timeout)");
		for (i = 0; i < WD_SLOTS; i++) {
			dl = atomic_load(&wd_slot[i].deadline);
			if (dl && now > dl) {
				snprintf(what, sizeof(what), "%s: no answer after %ld ms",
					 wd_slot[i].what, now - dl);
				wd_fire(what);
			}
		}
	}
	return NULL;
}

int fsim_watchdog_start(long total_ms)
{
	pthread_t t;
	sigset_t all, old;
	int ret;

	wd_total_deadline = total_ms ? fsim_now_ms() + total_ms : 0;
	/* the watchdog takes no signals */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&t, NULL, wd_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_detach(t);
	return 0;
}

int fsim_watch_begin(long ms, const char *fmt, ...)
{
	long zero;
	va_list ap;
	int i;

	for (i = 0; i < WD_SLOTS; i++) {
		zero = 0;
		/* claim with a far deadline, fill in, then arm */
		if (atomic_compare_exchange_strong(&wd_slot[i].deadline, &zero,
						   (long)1 << 62))
			break;
	}
	if (i == WD_SLOTS)
		return -1;
	va_start(ap, fmt);
	vsnprintf(wd_slot[i].what, sizeof(wd_slot[i].what), fmt, ap);
	va_end(ap);
	atomic_store(&wd_slot[i].deadline, fsim_now_ms() + ms);
	return i;
}

void fsim_watch_end(int slot)
{
	if (slot >= 0 && slot < WD_SLOTS)
		atomic_store(&wd_slot[slot].deadline, 0);
}

void fsim_on_timeout(void (*fn)(void))
{
	wd_hook = fn;
}

/* Backends to kill if the run dies: the watchdog hook and destroy use it. */
static atomic_int live_pids[4];

static void track_pid(pid_t pid, bool add)
{
	int i, want = add ? 0 : pid;

	for (i = 0; i < 4; i++) {
		int cur = want;

		if (atomic_compare_exchange_strong(&live_pids[i], &cur,
						   add ? pid : 0))
			return;
	}
}

static void kill_tracked(void)
{
	int i, pid;

	for (i = 0; i < 4; i++) {
		pid = atomic_load(&live_pids[i]);
		if (pid > 0)
			kill(pid, SIGKILL);
	}
}

/* ---- the VM ---------------------------------------------------------- */

int fsim_vm_create(const struct fsim_vm_opts *o, struct fsim_vm **out)
{
	struct vbackend_vmm_ctl ctl = { .argsz = sizeof(ctl) };
	struct fsim_vm *vm;
	int err;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->fd = vm->memfd = vm->logfd = -1;
	vm->ram = MAP_FAILED;
	vm->ram_gpa = FSIM_RAM_GPA;
	vm->ram_size = o->ram_size ? o->ram_size : 128ULL << 20;
	vm->ram_size = (vm->ram_size + FSIM_PAGE - 1) & ~(FSIM_PAGE - 1);
	vm->access_timeout_ms = o->access_timeout_ms ? o->access_timeout_ms : 20000;
	vm->vmm_fds = !o->no_vmm_fds;
	vm->backend = strdup(o->backend ? o->backend : "vbackend-sample");
	if (!vm->backend) {
		err = -ENOMEM;
		goto fail;
	}

	vm->fd = open("/dev/vbackend", O_RDWR | O_CLOEXEC);
	if (vm->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (o->irq_per_queue)
		ctl.flags = VBACKEND_VMM_F_IRQ_PER_QUEUE;
	if (ioctl(vm->fd, VBACKEND_VMM_CREATE, &ctl)) {
		err = -errno;
		fsim_fail("VBACKEND_VMM_CREATE: %s", strerror(errno));
		goto fail;
	}

	/* sealed against shrinking, as VMM_ADD_MEMORY wants (QEMU does it too) */
	vm->memfd = memfd_create("fsim-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->memfd < 0 || ftruncate(vm->memfd, vm->ram_size) ||
	    fcntl(vm->memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		err = -errno;
		fsim_fail("guest RAM memfd of %" PRIu64 " bytes: %s", vm->ram_size,
			  strerror(errno));
		goto fail;
	}
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->memfd, 0);
	if (vm->ram == MAP_FAILED) {
		err = -errno;
		fsim_fail("mmap guest RAM: %s", strerror(errno));
		goto fail;
	}
	vm->nr_pages = vm->ram_size / FSIM_PAGE;
	vm->page_used = calloc(vm->nr_pages, 1);
	if (!vm->page_used) {
		err = -ENOMEM;
		goto fail;
	}
	/* page 0 of the RAM stays unused: a zero gpa means "no memory" */
	vm->page_used[0] = 1;

	if (!o->backend_log_inherit) {
		vm->logfd = memfd_create("fsim-backend-log", MFD_CLOEXEC);
		if (vm->logfd < 0) {
			err = -errno;
			goto fail;
		}
	}
	fsim_on_timeout(kill_tracked);
	*out = vm;
	return 0;
fail:
	fsim_vm_destroy(vm);
	return err;
}

void fsim_vm_destroy(struct fsim_vm *vm)
{
	unsigned int i, q;

	if (!vm)
		return;
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
		track_pid(vm->pid, false);
	}
	for (i = 0; i < vm->nr_devs; i++) {
		for (q = 0; q < FSIM_MAX_QUEUES; q++) {
			free(vm->devs[i]->vqs[q].state);
			free(vm->devs[i]->vqs[q].next_shadow);
		}
		free(vm->devs[i]);
	}
	if (vm->ram != MAP_FAILED)
		munmap(vm->ram, vm->ram_size);
	if (vm->memfd >= 0)
		close(vm->memfd);
	fsim_vm_notifiers_close(vm);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->logfd >= 0)
		close(vm->logfd);
	free(vm->page_used);
	free(vm->backend);
	free(vm);
}

uint64_t fsim_ram_alloc(struct fsim_vm *vm, uint64_t size)
{
	uint64_t n = (size + FSIM_PAGE - 1) / FSIM_PAGE, i, run = 0;

	if (!n)
		n = 1;
	for (i = 0; i < vm->nr_pages; i++) {
		run = vm->page_used[i] ? 0 : run + 1;
		if (run == n) {
			uint64_t first = i + 1 - n;

			memset(vm->page_used + first, 1, n);
			memset(vm->ram + first * FSIM_PAGE, 0, n * FSIM_PAGE);
			return vm->ram_gpa + first * FSIM_PAGE;
		}
	}
	return 0;
}

void fsim_ram_free(struct fsim_vm *vm, uint64_t gpa, uint64_t size)
{
	uint64_t n = (size + FSIM_PAGE - 1) / FSIM_PAGE, first;

	if (!gpa || gpa < vm->ram_gpa)
		return;
	if (!n)
		n = 1;
	first = (gpa - vm->ram_gpa) / FSIM_PAGE;
	if (first + n <= vm->nr_pages)
		memset(vm->page_used + first, 0, n);
}

void *fsim_gpa(struct fsim_vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa < vm->ram_gpa || len > vm->ram_size ||
	    gpa - vm->ram_gpa > vm->ram_size - len)
		return NULL;
	return vm->ram + (gpa - vm->ram_gpa);
}

/* ---- the backend process ---------------------------------------------- */

static bool env_has(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return true;
	return false;
}

int fsim_backend_start(struct fsim_vm *vm)
{
	char *argv[2 + 8 + 2 * FSIM_MAX_DEVS + 1];
	char specs[FSIM_MAX_DEVS][512];
	char **envp;
	unsigned int i, n = 0, ne = 0;
	pid_t pid;

	if (vm->pid > 0)
		return -EBUSY;
	argv[n++] = vm->backend;
	for (i = 0; i < 8 && vm->backend_extra[i]; i++)
		argv[n++] = vm->backend_extra[i];
	for (i = 0; i < vm->nr_devs; i++) {
		struct fsim_dev *d = vm->devs[i];

		snprintf(specs[i], sizeof(specs[i]),
			 "%s,target=vmm:fd=%d,mmio=0x%" PRIx64 ",irq=line:%u%s",
			 d->type, FSIM_CHILD_FD, d->base, d->irq_line,
			 d->spec_extra);
		argv[n++] = "--device";
		argv[n++] = specs[i];
	}
	argv[n] = NULL;

	/* Sanitizer builds of the backend: die loudly on the first report. */
	for (ne = 0; environ && environ[ne]; ne++)
		;
	envp = calloc(ne + 3, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (i = 0; i < ne; i++)
		envp[i] = environ[i];
	if (!env_has(environ, "ASAN_OPTIONS"))
		/* libvbackend handles SIGBUS of revoked windows itself */
		envp[ne++] = "ASAN_OPTIONS=exitcode=66:halt_on_error=1:detect_leaks=1:"
			     "abort_on_error=0:print_summary=1:handle_sigbus=0:"
			     "allow_user_segv_handler=1";
	if (!env_has(environ, "UBSAN_OPTIONS"))
		envp[ne++] = "UBSAN_OPTIONS=exitcode=66:halt_on_error=1:print_stacktrace=1";
	envp[ne] = NULL;

	if (fsim_verbose) {
		fprintf(stderr, "backend command:");
		for (i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}

	vm->bound = false;
	vm->peer_gone = false;
	vm->nr_irqs = 0;
	vm->exited = false;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(envp);
		return -errno;
	}
	if (!pid) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (vm->logfd >= 0) {
			dup2(vm->logfd, STDOUT_FILENO);
			dup2(vm->logfd, STDERR_FILENO);
		}
		if (vm->fd == FSIM_CHILD_FD)
			fcntl(vm->fd, F_SETFD, 0);
		else if (dup2(vm->fd, FSIM_CHILD_FD) < 0)
			_exit(127);
		execve(vm->backend, argv, envp);
		dprintf(STDERR_FILENO, "exec %s: %s\n", vm->backend, strerror(errno));
		_exit(127);
	}
	free(envp);
	vm->pid = pid;
	vm->starts++;
	track_pid(pid, true);
	fsim_dbg("backend %s started, pid %d", vm->backend, (int)pid);
	return 0;
}

bool fsim_backend_alive(struct fsim_vm *vm)
{
	int st;

	if (vm->pid <= 0)
		return false;
	if (waitpid(vm->pid, &st, WNOHANG) == vm->pid) {
		track_pid(vm->pid, false);
		vm->pid = 0;
		vm->exited = true;
		vm->exit_status = st;
		return false;
	}
	return true;
}

int fsim_backend_wait_exit(struct fsim_vm *vm, long timeout_ms)
{
	long end = fsim_now_ms() + timeout_ms;

	while (fsim_backend_alive(vm)) {
		if (fsim_now_ms() > end)
			return -ETIMEDOUT;
		/* keep the record stream drained meanwhile */
		if (vm->fd >= 0)
			fsim_vm_pump(vm, 10);
		else
			fsim_sleep_ms(10);
	}
	return 0;
}

int fsim_backend_signal(struct fsim_vm *vm, int sig)
{
	if (vm->pid <= 0)
		return -ESRCH;
	return kill(vm->pid, sig) ? -errno : 0;
}

const char *fsim_wait_str(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "wait status 0x%x", st);
	return buf;
}

uint64_t fsim_backend_log_size(struct fsim_vm *vm)
{
	struct stat sb;

	if (vm->logfd < 0 || fstat(vm->logfd, &sb))
		return 0;
	return sb.st_size;
}

char *fsim_backend_log(struct fsim_vm *vm, uint64_t from)
{
	uint64_t size = fsim_backend_log_size(vm);
	char *buf;
	ssize_t n = 0;

	if (from > size)
		from = size;
	buf = malloc(size - from + 1);
	if (!buf)
		return NULL;
	if (size > from) {
		n = pread(vm->logfd, buf, size - from, from);
		if (n < 0)
			n = 0;
	}
	buf[n] = 0;
	return buf;
}

void fsim_backend_log_dump(struct fsim_vm *vm, unsigned int max_lines)
{
	char *log = fsim_backend_log(vm, 0), *p, *line;
	unsigned int lines = 0;

	if (!log)
		return;
	for (p = log; *p; p++)
		lines += *p == '\n';
	p = log;
	while (lines > max_lines && (p = strchr(p, '\n'))) {
		p++;
		lines--;
	}
	if (!p)
		p = log;
	for (line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
		printf("%-9s %s\n", "backend>", line);
	fflush(stdout);
	free(log);
}

bool fsim_backend_log_has_sanitizer_report(struct fsim_vm *vm, char *out,
					   size_t len)
{
	static const char *const marks[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:", "ERROR: UndefinedBehaviorSanitizer",
		"SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer",
	};
	char *log = fsim_backend_log(vm, 0), *hit = NULL, *eol;
	unsigned int i;

	if (!log)
		return false;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]) && !hit; i++)
		hit = strstr(log, marks[i]);
	if (hit && out) {
		while (hit > log && hit[-1] != '\n')
			hit--;
		eol = strchr(hit, '\n');
		if (eol)
			*eol = 0;
		snprintf(out, len, "%s", hit);
	}
	free(log);
	return hit != NULL;
}

int fsim_backend_status(struct fsim_vm *vm, char *line, size_t len,
			long timeout_ms)
{
	uint64_t from = fsim_backend_log_size(vm);
	long end = fsim_now_ms() + timeout_ms;
	char *log, *nl, *p;
	int ret;

	if (vm->logfd < 0)
		return -EOPNOTSUPP;
	ret = fsim_backend_signal(vm, SIGUSR1);
	if (ret)
		return ret;
	while (fsim_now_ms() < end) {
		fsim_vm_pump(vm, 20);
		log = fsim_backend_log(vm, from);
		if (!log)
			return -ENOMEM;
		/* the first complete, non-empty line */
		for (p = log; (nl = strchr(p, '\n')); p = nl + 1) {
			if (nl == p)
				continue;
			*nl = 0;
			snprintf(line, len, "%s", p);
			free(log);
			return 0;
		}
		free(log);
	}
	return -ETIMEDOUT;
}

int fsim_backend_expect_exit(struct fsim_vm *vm, long timeout_ms,
			     const char *after)
{
	char buf[64], rep[256];
	int ret;

	ret = fsim_backend_wait_exit(vm, timeout_ms);
	if (ret) {
		fsim_fail("backend still running %ld ms after %s", timeout_ms, after);
		fsim_backend_signal(vm, SIGKILL);
		fsim_backend_wait_exit(vm, 5000);
		return ret;
	}
	if (fsim_backend_log_has_sanitizer_report(vm, rep, sizeof(rep))) {
		fsim_fail("backend sanitizer report: %s", rep);
		return -EFAULT;
	}
	if (!WIFEXITED(vm->exit_status) || WEXITSTATUS(vm->exit_status)) {
		fsim_fail("backend: %s after %s, expected exit status 0",
			  fsim_wait_str(vm->exit_status, buf, sizeof(buf)), after);
		return -EIO;
	}
	return 0;
}

int fsim_backend_stop(struct fsim_vm *vm, long timeout_ms)
{
	char buf[64];
	int ret;

	if (!fsim_backend_alive(vm)) {
		fsim_fail("backend already gone (%s) before SIGTERM",
			  fsim_wait_str(vm->exit_status, buf, sizeof(buf)));
		return -ESRCH;
	}
	fsim_backend_signal(vm, SIGTERM);
	ret = fsim_backend_expect_exit(vm, timeout_ms, "SIGTERM");
	if (!ret)
		fsim_say("backend", "exit status 0 after SIGTERM");
	return ret;
}

/* ---- accesses and records -------------------------------------------------- */

static int vm_access(struct fsim_vm *vm, uint32_t flags, uint64_t addr,
		     unsigned int size, bool write, uint64_t *val, uint32_t *result)
{
	struct vbackend_vmm_access a = {
		.argsz = sizeof(a),
		.flags = flags,
		.addr = addr,
		.size = size,
		.dir = write ? VBACKEND_DIR_WRITE : VBACKEND_DIR_READ,
		.data = write ? *val : 0,
	};
	int slot, ret, err;

	/* KVM_IOEVENTFD's part: a kick's write never exits to the VMM */
	if (!flags && write && fsim_vm_fd_kick(vm, addr, size, *val)) {
		if (result)
			*result = VBACKEND_VMM_ACCESS_KICKED;
		return 0;
	}
	slot = fsim_watch_begin(vm->access_timeout_ms, "VMM_ACCESS %s of %u bytes at 0x%" PRIx64,
				write ? "write" : "read", size, addr);
	ret = ioctl(vm->fd, VBACKEND_VMM_ACCESS, &a);
	err = errno;
	fsim_watch_end(slot);
	__atomic_fetch_add(&vm->st.accesses, 1, __ATOMIC_RELAXED);
	if (ret) {
		fsim_dbg("access %s 0x%" PRIx64 "/%u: %s", write ? "W" : "R", addr,
			 size, strerror(err));
		return -err;
	}
	if (a.result & VBACKEND_VMM_ACCESS_KICKED)
		__atomic_fetch_add(&vm->st.kicked, 1, __ATOMIC_RELAXED);
	if (!write)
		*val = a.data;
	if (result)
		*result = a.result;
	return 0;
}

int fsim_access(struct fsim_vm *vm, uint64_t addr, unsigned int size,
		bool write, uint64_t *val, uint32_t *result)
{
	return vm_access(vm, 0, addr, size, write, val, result);
}

int fsim_access_vmm(struct fsim_vm *vm, uint64_t addr, unsigned int size,
		    bool write, uint64_t *val)
{
	return vm_access(vm, VBACKEND_F_VMM_SPACE, addr, size, write, val, NULL);
}

bool fsim_vm_has_vmm_space(struct fsim_vm *vm)
{
	struct vbackend_provider_info pi = {
		.argsz = sizeof(pi), .id = VBACKEND_PROVIDER_VMM,
	};

	return !ioctl(vm->fd, VBACKEND_GET_PROVIDER, &pi) &&
	       (pi.caps & VBACKEND_PROVIDER_CAP_VMM_SPACE);
}

static struct fsim_dev *irq_dev(struct fsim_vm *vm, uint32_t id)
{
	unsigned int i, j;

	for (i = 0; i < vm->nr_irqs; i++) {
		const struct fsim_irq_map *m = &vm->irqs[i];

		if (m->id != id)
			continue;
		for (j = 0; j < vm->nr_devs; j++) {
			if (m->type == VBACKEND_IRQ_TARGET_LINE &&
			    vm->devs[j]->irq_line == m->target0)
				return vm->devs[j];
			/* a queue's own (its MSI-X vector, on virtio-pci) */
			if (m->type == VBACKEND_IRQ_TARGET_QUEUE &&
			    vm->devs[j]->base == m->target0) {
				vm->st.queue_irqs++;
				return vm->devs[j];
			}
		}
	}
	return NULL;
}

static void dispatch_irq(struct fsim_vm *vm, uint32_t id)
{
	struct fsim_dev *d = irq_dev(vm, id);
	unsigned int j;

	if (!d) {
		fsim_vm_refresh(vm);
		d = irq_dev(vm, id);
	}
	vm->st.irq_events++;
	if (d) {
		d->irq_pending++;
		return;
	}
	/* unknown: behave like a shared line, every device looks */
	for (j = 0; j < vm->nr_devs; j++)
		vm->devs[j]->irq_pending++;
}

static bool fsim_vm_records_say_gone(const struct vbackend_event *ev, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++)
		if (ev[i].type == VBACKEND_EVENT_PEER_GONE)
			return true;
	return false;
}

int fsim_vm_pump(struct fsim_vm *vm, long timeout_ms)
{
	struct pollfd pfd[1 + FSIM_MAX_IRQS] = { { .fd = vm->fd, .events = POLLIN } };
	struct vbackend_event ev[32];
	unsigned int nfds, j;
	uint32_t id;
	ssize_t n;
	int i, handled = 0, ret;

	nfds = 1 + fsim_vm_irq_pollfds(vm, pfd + 1, FSIM_MAX_IRQS);
	ret = poll(pfd, nfds, timeout_ms < 0 ? 0 : (int)timeout_ms);
	if (ret <= 0)
		return 0;
	n = 0;
	if (pfd[0].revents & POLLIN) {
		n = read(vm->fd, ev, sizeof(ev));
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	/*
	 * Then our call eventfds, unless these records say PEER_GONE: that
	 * lets go of the dead backend's, and an interrupt it raised before
	 * dying is dropped with them, as its IRQ records are.
	 */
	if (n > 0 && fsim_vm_records_say_gone(ev, n / (ssize_t)sizeof(ev[0])))
		nfds = 1;
	for (j = 1; j < nfds; j++) {
		if ((pfd[j].revents & POLLIN) &&
		    fsim_vm_irq_fd_fired(vm, pfd[j].fd, &id)) {
			dispatch_irq(vm, id);
			handled++;
		}
	}
	if (n <= 0)
		return handled;
	for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++, handled++) {
		switch (ev[i].type) {
		case VBACKEND_EVENT_IRQ:
			dispatch_irq(vm, ev[i].u.irq.id);
			break;
		case VBACKEND_EVENT_PEER_BOUND:
			vm->st.bound_events++;
			vm->bound = true;
			vm->peer_gone = false;
			vm->irqs_stale = true;
			fsim_dbg("event: PEER_BOUND");
			break;
		case VBACKEND_EVENT_PEER_GONE:
			vm->st.gone_events++;
			vm->bound = false;
			vm->peer_gone = true;
			fsim_vm_notifiers_close(vm);
			fsim_dbg("event: PEER_GONE (%d)", ev[i].u.status.error);
			break;
		case VBACKEND_EVENT_NOTIFIERS:
			vm->st.notifier_events++;
			vm->irqs_stale = true;
			fsim_dbg("event: NOTIFIERS");
			break;
		default:
			fsim_dbg("event: type %u ignored", ev[i].type);
			break;
		}
	}
	return handled;
}

/*
 * Register guest RAM, once. QEMU sends its memory table only when the guest
 * driver starts the device, after the backend has answered register reads
 * without it; the backend maps it on VBACKEND_EVENT_MEMORY. So do we.
 */
static int fsim_vm_add_ram(struct fsim_vm *vm)
{
	struct vbackend_vmm_memory mem = {
		.argsz = sizeof(mem),
		.gpa = vm->ram_gpa,
		.size = vm->ram_size,
		.fd = vm->memfd,
	};
	int err;

	if (vm->ram_added)
		return 0;
	if (ioctl(vm->fd, VBACKEND_VMM_ADD_MEMORY, &mem)) {
		err = -errno;
		fsim_fail("VBACKEND_VMM_ADD_MEMORY 0x%" PRIx64 "+0x%" PRIx64 ": %s",
			  (uint64_t)mem.gpa, (uint64_t)mem.size, strerror(-err));
		return err;
	}
	vm->ram_added = true;
	return 0;
}

int fsim_backend_wait_ready(struct fsim_vm *vm, long timeout_ms)
{
	long end = fsim_now_ms() + timeout_ms;
	char buf[64];
	unsigned int i, ready;
	uint64_t v;
	int ret;

	while (!vm->bound) {
		if (!fsim_backend_alive(vm)) {
			fsim_fail("backend %s exited before binding (%s)", vm->backend,
				  fsim_wait_str(vm->exit_status, buf, sizeof(buf)));
			fsim_backend_log_dump(vm, 20);
			return -ESRCH;
		}
		if (fsim_now_ms() > end) {
			fsim_fail("no VBACKEND_EVENT_PEER_BOUND %ld ms after starting %s",
				  timeout_ms, vm->backend);
			fsim_backend_log_dump(vm, 20);
			return -ETIMEDOUT;
		}
		fsim_vm_pump(vm, 50);
	}

	/* bound: wait until every device answers and has its interrupt */
	for (;;) {
		ready = 0;
		for (i = 0; i < vm->nr_devs; i++) {
			struct fsim_dev *d = vm->devs[i];
			unsigned int k;
			bool irq = false;

			ret = fsim_access(vm, d->base, 4, false, &v, NULL);
			if (ret == -ENXIO)
				continue;
			if (ret) {
				fsim_fail("%s at 0x%" PRIx64 ": MagicValue read: %s",
					  d->type, d->base, strerror(-ret));
				fsim_backend_log_dump(vm, 20);
				return ret;
			}
			if (vm->irqs_stale || !vm->nr_irqs)
				fsim_vm_refresh(vm);
			for (k = 0; k < vm->nr_irqs; k++)
				irq |= vm->irqs[k].type == VBACKEND_IRQ_TARGET_LINE &&
				       vm->irqs[k].target0 == d->irq_line;
			ready += irq;
		}
		if (ready == vm->nr_devs)
			return fsim_vm_add_ram(vm);
		if (!fsim_backend_alive(vm)) {
			fsim_fail("backend exited while setting up its devices (%s)",
				  fsim_wait_str(vm->exit_status, buf, sizeof(buf)));
			fsim_backend_log_dump(vm, 20);
			return -ESRCH;
		}
		if (fsim_now_ms() > end) {
			fsim_fail("backend bound but %u of %u devices have no register "
				  "window or interrupt after %ld ms",
				  vm->nr_devs - ready, vm->nr_devs, timeout_ms);
			fsim_backend_log_dump(vm, 20);
			return -ETIMEDOUT;
		}
		fsim_vm_pump(vm, 20);
		vm->irqs_stale = true;
	}
}
