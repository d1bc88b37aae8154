// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-vhost-user: the VMM-fed frontend the bridge plays.
 *
 * One session of /dev/vbackend made a frontend (VBACKEND_VMM_CREATE, one
 * interrupt per queue), the backend started on it with the session as its
 * descriptor 3, and the register accesses a guest driver would make,
 * forwarded with VBACKEND_VMM_ACCESS. The backend's kicks and interrupts
 * are notifiers: the bridge attaches the front-end's eventfds to them and
 * stays off the data path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/vbackend.h>
#include <linux/virtio_mmio.h>
#include "bridge.h"

#define CHILD_FD	3

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int vu_vmm_open(struct vu_vmm *v, char *err, size_t errlen)
{
	struct vbackend_vmm_ctl c = {
		.argsz = sizeof(c),
		.flags = VBACKEND_VMM_F_IRQ_PER_QUEUE,
	};

	memset(v, 0, sizeof(*v));
	v->pid = -1;
	v->base = VU_MMIO_BASE;
	v->fd = open("/dev/vbackend", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (v->fd < 0) {
		snprintf(err, errlen, "/dev/vbackend: %s", strerror(errno));
		return -1;
	}
	if (ioctl(v->fd, VBACKEND_VMM_CREATE, &c)) {
		snprintf(err, errlen, "VBACKEND_VMM_CREATE: %s", strerror(errno));
		close(v->fd);
		v->fd = -1;
		return -1;
	}
	return 0;
}

int vu_vmm_spawn(struct vu_vmm *v, const char *backend, const char *spec,
		 char *err, size_t errlen)
{
	char dev[1024];
	char *argv[] = { (char *)backend, "--device", dev, NULL };
	pid_t pid;
	int n;

	n = snprintf(dev, sizeof(dev), "%s,target=vmm:fd=%d,mmio=0x%" PRIx64
		     ",irq=msi:0:0", spec, CHILD_FD, v->base);
	if (n < 0 || (size_t)n >= sizeof(dev)) {
		snprintf(err, errlen, "device spec too long");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* (the backend binds its own session through this one) */
		if (dup2(v->fd, CHILD_FD) < 0)
			_exit(127);
		execvp(backend, argv);
		fprintf(stderr, PROG ": exec %s: %s\n", backend, strerror(errno));
		_exit(127);
	}
	v->pid = pid;
	return 0;
}

/* Reap the backend if it exited: true while it runs. */
static bool backend_alive(struct vu_vmm *v)
{
	int st;

	if (v->pid <= 0)
		return false;
	if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
		v->pid = -1;
		return false;
	}
	return true;
}

static int vmm_access(struct vu_vmm *v, uint32_t flags, uint64_t addr,
		  uint32_t size, bool write, uint64_t *val)
{
	struct vbackend_vmm_access a = {
		.argsz = sizeof(a),
		.flags = flags,
		.addr = addr,
		.size = size,
		.dir = write ? VBACKEND_DIR_WRITE : VBACKEND_DIR_READ,
		.data = write ? *val : 0,
	};

	if (ioctl(v->fd, VBACKEND_VMM_ACCESS, &a))
		return -errno;
	v->accesses++;
	if (!write)
		*val = a.data;
	return 0;
}

int vu_reg_read(struct vu_vmm *v, uint32_t off, uint32_t *val)
{
	uint64_t x = 0;
	int r = vmm_access(v, 0, v->base + off, 4, false, &x);

	*val = r ? 0 : (uint32_t)x;
	return r;
}

int vu_reg_write(struct vu_vmm *v, uint32_t off, uint32_t val)
{
	uint64_t x = val;

	return vmm_access(v, 0, v->base + off, 4, true, &x);
}

int vu_config_access(struct vu_vmm *v, uint32_t off, uint32_t size, bool write,
		     uint64_t *val)
{
	return vmm_access(v, 0, v->base + VIRTIO_MMIO_CONFIG + off, size, write, val);
}

int vu_vmm_reg_access(struct vu_vmm *v, uint32_t off, bool write, uint32_t *val)
{
	uint64_t x = *val;
	int r = vmm_access(v, VBACKEND_F_VMM_SPACE, v->base + off, 4, write, &x);

	if (!r && !write)
		*val = (uint32_t)x;
	return r;
}

/* List the backend's kick and interrupt notifiers of our device. */
static int list_notifiers(struct vu_vmm *v)
{
	struct vbackend_kick uk;
	struct vbackend_irq ui;
	uint32_t cursor;

	for (unsigned int i = 0; i < VU_MAX_VRINGS; i++)
		v->kick_id[i] = v->irq_id[i] = VU_NO_ID;
	v->config_irq_id = VU_NO_ID;
	for (cursor = 0;; cursor = uk.id + 1) {
		memset(&uk, 0, sizeof(uk));
		uk.argsz = sizeof(uk);
		uk.id = cursor;
		if (ioctl(v->fd, VBACKEND_VMM_GET_KICK, &uk))
			break;
		if (uk.fd >= 0)
			close(uk.fd);
		if ((uk.flags & VBACKEND_KICK_F_NOTIFIER) &&
		    (uk.flags & VBACKEND_KICK_F_DATAMATCH) &&
		    uk.addr == v->base + VIRTIO_MMIO_QUEUE_NOTIFY &&
		    uk.data < VU_MAX_VRINGS)
			v->kick_id[uk.data] = uk.id;
	}
	if (errno != ENOENT)
		return -errno;
	for (cursor = 0;; cursor = ui.id + 1) {
		memset(&ui, 0, sizeof(ui));
		ui.argsz = sizeof(ui);
		ui.id = cursor;
		if (ioctl(v->fd, VBACKEND_VMM_GET_IRQ, &ui))
			break;
		if (ui.fd >= 0)
			close(ui.fd);
		if (!(ui.flags & VBACKEND_IRQ_F_NOTIFIER))
			continue;
		if (ui.type == VBACKEND_IRQ_TARGET_QUEUE && ui.target[0] == v->base &&
		    ui.target[1] < VU_MAX_VRINGS)
			v->irq_id[ui.target[1]] = ui.id;
		else if (ui.type == VBACKEND_IRQ_TARGET_MSI)
			v->config_irq_id = ui.id;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* Every queue has its kick and interrupt notifier, and config has one. */
static bool notifiers_complete(const struct vu_vmm *v)
{
	for (unsigned int i = 0; i < v->nr_queues; i++)
		if (v->kick_id[i] == VU_NO_ID || v->irq_id[i] == VU_NO_ID)
			return false;
	return v->config_irq_id != VU_NO_ID;
}

/* The device's queues: those with a QueueNumMax; set once, when all read. */
static int count_queues(struct vu_vmm *v)
{
	unsigned int n = 0;
	uint32_t max;
	int r;

	for (; n < VU_MAX_VRINGS; n++) {
		r = vu_reg_write(v, VIRTIO_MMIO_QUEUE_SEL, n);
		if (!r)
			r = vu_reg_read(v, VIRTIO_MMIO_QUEUE_NUM_MAX, &max);
		if (r)
			return r;
		if (!max)
			break;
		v->queue_num_max[n] = max;
	}
	v->nr_queues = n;
	return 0;
}

int vu_vmm_events(struct vu_vmm *v)
{
	struct vbackend_event ev[16];
	ssize_t n;
	int ret = 0;

	for (;;) {
		n = read(v->fd, ev, sizeof(ev));
		if (n < 0)
			return errno == EAGAIN ? ret : -errno;
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			switch (ev[i].type) {
			case VBACKEND_EVENT_PEER_BOUND:
				v->bound = true;
				break;
			case VBACKEND_EVENT_PEER_GONE:
				v->bound = false;
				ret = -EPIPE;
				break;
			case VBACKEND_EVENT_NOTIFIERS:
				v->notifiers_changed = true;
				break;
			default:
				break;	/* IRQ: one nobody attached a sink to */
			}
		}
		if (!n)
			return -EPIPE;
	}
}

int vu_vmm_wait_ready(struct vu_vmm *v, long timeout_ms, char *err,
		      size_t errlen)
{
	long end = now_ms() + timeout_ms;
	struct pollfd p = { .fd = v->fd, .events = POLLIN };
	uint32_t magic;
	int r;

	for (;;) {
		vu_vmm_events(v);
		r = -EAGAIN;
		if (v->bound) {
			r = vu_reg_read(v, VIRTIO_MMIO_MAGIC_VALUE, &magic);
			if (!r && magic != ('v' | 'i' << 8 | 'r' << 16 | 't' << 24)) {
				snprintf(err, errlen, "the backend's device has magic 0x%x",
					 magic);
				return -1;
			}
			/* the queues once; the notifiers until they are all there */
			if (!r && !v->nr_queues)
				r = count_queues(v);
			if (!r)
				r = vu_vmm_refresh(v);
			if (!r && v->nr_queues && notifiers_complete(v))
				return 0;
			if (r && r != -ENXIO) {
				snprintf(err, errlen, "the backend's device: %s",
					 strerror(-r));
				return -1;
			}
		}
		if (!backend_alive(v)) {
			snprintf(err, errlen, "the backend exited before its device was up");
			return -1;
		}
		if (now_ms() > end) {
			snprintf(err, errlen, "the backend's device not up after %ld ms",
				 timeout_ms);
			return -1;
		}
		poll(&p, 1, 20);
	}
}

int vu_vmm_refresh(struct vu_vmm *v)
{
	v->notifiers_changed = false;
	return list_notifiers(v);
}

int vu_vmm_attach(struct vu_vmm *v, bool kick, uint32_t id, int fd)
{
	struct vbackend_vmm_notifier n = {
		.argsz = sizeof(n),
		.id = id,
		.fd = fd,
	};

	if (id == VU_NO_ID)
		return -ENOENT;
	if (ioctl(v->fd, kick ? VBACKEND_VMM_SET_KICK_FD : VBACKEND_VMM_SET_IRQ_FD, &n))
		return -errno;
	return 0;
}

int vu_vmm_add_memory(struct vu_vmm *v, const struct vu_region *r, int fd)
{
	struct vbackend_vmm_memory m = {
		.argsz = sizeof(m),
		.gpa = r->gpa,
		.size = r->size,
		.offset = r->mmap_offset,
		.fd = fd,
	};

	return ioctl(v->fd, VBACKEND_VMM_ADD_MEMORY, &m) ? -errno : 0;
}

void vu_vmm_close(struct vu_vmm *v, long timeout_ms)
{
	long end = now_ms() + timeout_ms;

	if (v->fd >= 0)
		close(v->fd);	/* the backend sees its frontend gone and exits */
	v->fd = -1;
	while (backend_alive(v) && now_ms() < end)
		usleep(10000);
	if (backend_alive(v)) {
		fprintf(stderr, PROG ": backend %d still running %ld ms after its "
			"frontend closed: killed\n", (int)v->pid, timeout_ms);
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
		v->pid = -1;
	}
}
