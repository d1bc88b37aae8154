/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the vbackend-virtio selftests: find the programs under test,
 * run one with a time limit and its output captured, and report that output
 * as TAP comments.
 *
 * The tests drive the sample backend through vbackend-frontend-sim, a
 * separate program (a userspace virtio driver playing the guest); they do
 * not link it. Programs are looked up as:
 *
 *   vbackend-frontend-sim  $VBACKEND_FRONTEND_SIM, else next to the test,
 *                          /usr/bin, /bin, $PATH
 *   vbackend-sample        $VBACKEND_SAMPLE, same places
 *   vbackend-sample-san    $VBACKEND_SAMPLE_SAN, same places (the ASan+UBSan
 *                          build, used by the hostile tests when present)
 */
#ifndef VBVIRTIO_H
#define VBVIRTIO_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/vbackend.h>

/* The 6.1 harness has an unused parameter; the tests build with -Wextra. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#define VV_DEV		"/dev/vbackend"
/* Each test may run this long under QEMU TCG: the simulator gives up first
 * by itself (and kills its backend), then this helper, then the harness. */
#define VV_TEST_TIMEOUT	120
#define VV_SIM_TIMEOUT	100
#define VV_RUN_TIMEOUT	110

/*
 * The 6.1 kselftest_harness.h runs the test body after a SKIP() in
 * FIXTURE_SETUP(): leave the test child at once with the status the harness
 * reports as a skip (255) instead.
 */
#define VV_SETUP_SKIP(fmt, ...) SKIP(_exit(255), fmt, ##__VA_ARGS__)

static inline long vv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline bool vv_executable(const char *p)
{
	struct stat sb;

	return !stat(p, &sb) && S_ISREG(sb.st_mode) && !access(p, X_OK);
}

/* The program @name: $@env, next to this test, /usr/bin, /bin, $PATH. */
static inline char *vv_find(const char *env, const char *name)
{
	char self[PATH_MAX], buf[PATH_MAX + 64], *path, *dir, *save, *slash;
	const char *e = getenv(env);
	const char *fixed[] = { "/usr/bin", "/bin" };
	unsigned int i;
	ssize_t n;

	if (e && *e)
		return vv_executable(e) ? strdup(e) : NULL;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, sizeof(buf), "%s/%s", self, name);
			if (vv_executable(buf))
				return strdup(buf);
		}
	}
	for (i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf), "%s/%s", fixed[i], name);
		if (vv_executable(buf))
			return strdup(buf);
	}
	path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		if (vv_executable(buf)) {
			free(path);
			return strdup(buf);
		}
	}
	free(path);
	return NULL;
}

struct vv_run {
	int status;		/* wait status */
	bool timed_out;
	long ms;
	char *out;		/* stdout + stderr, NUL-terminated */
	size_t len;
};

/*
 * Run @argv (with @keep_fd, if >= 0, inherited as descriptor 3) in its own
 * process group for at most @timeout_ms; capture stdout and stderr.
 */
static inline int vv_run_fd(char *const argv[], int keep_fd, long timeout_ms,
			    struct vv_run *r)
{
	int out = memfd_create("vv-output", MFD_CLOEXEC), st = 0;
	long t0 = vv_now_ms();
	struct stat sb;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (out < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(out);
		return -errno;
	}
	if (!pid) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		if (keep_fd >= 0) {
			if (keep_fd == 3)
				fcntl(3, F_SETFD, 0);
			else
				dup2(keep_fd, 3);
		}
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (vv_now_ms() - t0 > timeout_ms) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(20000);
	}
	/* nothing of the run may outlive it */
	kill(-pid, SIGKILL);
	r->status = st;
	r->ms = vv_now_ms() - t0;
	if (!fstat(out, &sb)) {
		r->out = calloc(1, sb.st_size + 1);
		if (r->out && sb.st_size > 0 &&
		    pread(out, r->out, sb.st_size, 0) == sb.st_size)
			r->len = sb.st_size;
	}
	if (!r->out)
		r->out = strdup("");
	close(out);
	return 0;
}

static inline int vv_run(char *const argv[], long timeout_ms, struct vv_run *r)
{
	return vv_run_fd(argv, -1, timeout_ms, r);
}

/* The output as TAP comments, then how it ended. */
static inline void vv_show(const char *what, const struct vv_run *r)
{
	const char *p = r->out, *nl;

	printf("# %s (%.1f s):\n", what, r->ms / 1000.0);
	while (p && *p) {
		nl = strchr(p, '\n');
		printf("#   %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
	if (r->timed_out)
		printf("#   (killed after %.1f s: timeout)\n", r->ms / 1000.0);
	else if (WIFSIGNALED(r->status))
		printf("#   (killed by signal %d)\n", WTERMSIG(r->status));
	else
		printf("#   (exit status %d)\n", WEXITSTATUS(r->status));
	fflush(stdout);
}

static inline void vv_free(struct vv_run *r)
{
	free(r->out);
	r->out = NULL;
}

static inline int vv_exit_code(const struct vv_run *r)
{
	if (r->timed_out)
		return -2;
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

static inline unsigned int vv_lines(const struct vv_run *r)
{
	unsigned int n = 0;
	const char *p;

	for (p = r->out; p && *p; p++)
		n += *p == '\n';
	if (r->len && r->out[r->len - 1] != '\n')
		n++;
	return n;
}

/* The VMM session a backend can bind to, or -1 with errno. */
static inline int vv_vmm_session(void)
{
	struct vbackend_vmm_ctl c = { .argsz = sizeof(c) };
	int fd = open(VV_DEV, O_RDWR | O_CLOEXEC), err;

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

/* Skip unless /dev/vbackend can be opened (module loaded, root). */
#define VV_REQUIRE_DEVICE() do {					\
	int __fd = open(VV_DEV, O_RDWR | O_CLOEXEC);			\
	int __err = errno;						\
									\
	if (__fd < 0 && (__err == ENOENT || __err == ENODEV ||		\
			 __err == ENXIO))				\
		VV_SETUP_SKIP("%s missing: vbackend is not loaded", VV_DEV); \
	if (__fd < 0 && (__err == EACCES || __err == EPERM) && geteuid()) \
		VV_SETUP_SKIP("%s needs root", VV_DEV);			\
	ASSERT_LE(0, __fd)						\
		TH_LOG("open %s: %s", VV_DEV, strerror(__err));		\
	close(__fd);							\
} while (0)

/* The common fixture: programs and a scratch directory. */
#define VV_FIXTURE_FIELDS						\
	char dir[64];							\
	char img[128];							\
	char *sim;							\
	char *backend;							\
	char *backend_san

#define VV_FIXTURE_SETUP(self) do {					\
	VV_REQUIRE_DEVICE();						\
	(self)->sim = vv_find("VBACKEND_FRONTEND_SIM", "vbackend-frontend-sim"); \
	(self)->backend = vv_find("VBACKEND_SAMPLE", "vbackend-sample");	\
	(self)->backend_san = vv_find("VBACKEND_SAMPLE_SAN", "vbackend-sample-san"); \
	if (!(self)->sim)						\
		VV_SETUP_SKIP("vbackend-frontend-sim not found (VBACKEND_FRONTEND_SIM)"); \
	if (!(self)->backend)						\
		VV_SETUP_SKIP("vbackend-sample not found (VBACKEND_SAMPLE)"); \
	snprintf((self)->dir, sizeof((self)->dir), "%s/vbvirtio.XXXXXX", \
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");		\
	ASSERT_NE(NULL, mkdtemp((self)->dir))				\
		TH_LOG("mkdtemp %s: %s", (self)->dir, strerror(errno));	\
	snprintf((self)->img, sizeof((self)->img), "%s/disk.img", (self)->dir); \
} while (0)

#define VV_FIXTURE_TEARDOWN(self) do {					\
	if ((self)->dir[0]) {						\
		unlink((self)->img);					\
		rmdir((self)->dir);					\
	}								\
	free((self)->sim);						\
	free((self)->backend);						\
	free((self)->backend_san);					\
} while (0)

/*
 * Run the simulator: "vbackend-frontend-sim CMD --backend B --image I
 * --timeout T ARGS..." (ARGS NULL-terminated). Shows its output; returns
 * its exit code (-1: killed, -2: timed out).
 */
static inline int vv_sim(const char *sim, const char *backend, const char *img,
			 const char *cmd, const char *const *args,
			 struct vv_run *r)
{
	char *argv[64];
	char t[16];
	unsigned int n = 0, i;

	snprintf(t, sizeof(t), "%d", VV_SIM_TIMEOUT);
	argv[n++] = (char *)sim;
	argv[n++] = (char *)cmd;
	argv[n++] = "--backend";
	argv[n++] = (char *)backend;
	if (img) {
		argv[n++] = "--image";
		argv[n++] = (char *)img;
	}
	argv[n++] = "--timeout";
	argv[n++] = t;
	for (i = 0; args && args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (vv_run(argv, VV_RUN_TIMEOUT * 1000L, r))
		return -3;
	vv_show(cmd, r);
	return vv_exit_code(r);
}

static inline bool vv_has(const struct vv_run *r, const char *needle)
{
	return r->out && strstr(r->out, needle);
}

/*
 * The simulator's "vmm-fds:" line: kicks it signalled into its own eventfds
 * (KVM_IOEVENTFD's path), interrupts it read out of them (KVM_IRQFD's),
 * interrupts of one queue (--irq-per-queue).
 * Return: true when the line is there.
 */
static inline bool vv_vmm_fds(const struct vv_run *r, unsigned long long *kicks,
			      unsigned long long *irqs, unsigned long long *queue_irqs)
{
	const char *l = r->out ? strstr(r->out, "vmm-fds:") : NULL;
	unsigned long long attached;

	return l && sscanf(l, "vmm-fds: %llu kicks into our eventfds, %llu interrupts "
			   "out of them, %llu attached; %llu interrupts of one queue",
			   kicks, irqs, &attached, queue_irqs) == 4;
}

/* The simulator said PASS and exited 0; SKIP on its exit status 4. */
#define VV_EXPECT_PASS(code, r) do {					\
	if ((code) == 4)						\
		SKIP(return, "the simulator skipped: %s",		\
		     vv_has(r, "SKIP") ? strstr((r)->out, "SKIP") : "?"); \
	EXPECT_EQ(0, (code));						\
	EXPECT_TRUE(vv_has(r, "result:   PASS"));			\
} while (0)

#endif /* VBVIRTIO_H */
