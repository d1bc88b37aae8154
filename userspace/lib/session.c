// SPDX-License-Identifier: Apache-2.0
/*
 * Sessions: open and bind /dev/vbackend, map the frontend's memory as
 * windows, translate guest addresses, and thin wrappers for traps, kicks,
 * interrupts, the record stream and completions.
 *
 * The target string is never parsed here: the kernel's providers do that,
 * which keeps every hypervisor detail out of userspace backends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vb_internal.h"

/* Longest target echoed in an error message. */
#define VB_TARGET_ECHO	64

static int vb_ioctl(struct vb_session *s, unsigned long req, void *arg)
{
	if (atomic_load(&s->gone))
		return -EPIPE;
	if (ioctl(s->fd, req, arg) < 0)
		return -errno;
	return 0;
}

/*
 * Put @win in slot @n, the first free one. vb_translate() reads the table
 * without locks: the release store of the new count publishes the entry
 * only once it is complete.
 */
static void vb_window_publish(struct vb_session *s, unsigned int n,
			      const struct vb_window *win)
{
	s->win[n] = *win;
	atomic_store_explicit(&s->nr_windows, n + 1, memory_order_release);
}

static int vb_map_window(struct vb_session *s, uint64_t gpa, uint64_t size,
			 bool write)
{
	struct vbackend_window w = {
		.argsz = sizeof(w),
		.flags = VBACKEND_WINDOW_F_READ | (write ? VBACKEND_WINDOW_F_WRITE : 0),
		.gpa = gpa,
		.size = size,
	};
	unsigned int n = atomic_load_explicit(&s->nr_windows, memory_order_relaxed);
	void *p;
	int ret;

	if (n == VB_MAX_WINDOWS || (s->info.max_windows && n >= s->info.max_windows))
		return vb_error(ENOSPC, "window map 0x%" PRIx64 "+0x%" PRIx64,
				gpa, size);
	if (size > SIZE_MAX)
		return vb_error(EOVERFLOW, "window map 0x%" PRIx64 "+0x%" PRIx64,
				gpa, size);
	ret = vb_ioctl(s, VBACKEND_WINDOW_MAP, &w);
	if (ret)
		return vb_error(-ret, "window map 0x%" PRIx64 "+0x%" PRIx64,
				gpa, size);
	p = mmap(NULL, size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED,
		 s->fd, (off_t)w.offset);
	if (p == MAP_FAILED)
		return vb_error(errno, "mmap window 0x%" PRIx64 "+0x%" PRIx64,
				gpa, size);
	ret = vb_guard_add(p, size, &s->gone);
	if (ret) {
		munmap(p, size);
		return vb_error(-ret, "SIGBUS guard for window 0x%" PRIx64, gpa);
	}
	vb_window_publish(s, n, &(struct vb_window){
		.gpa = gpa, .size = size, .host = p, .id = w.id,
		.write = write, .owned = true,
	});
	return 0;
}

/*
 * One window over each memory region the provider enumerates, from the
 * first one not mapped yet: at bind, and again on VBACKEND_EVENT_MEMORY
 * (regions keep their index; new ones come last).
 */
int vb_session_map_memory(struct vb_session *s)
{
	struct vbackend_mem_region r;
	int ret;

	for (;; s->next_region++) {
		memset(&r, 0, sizeof(r));
		r.argsz = sizeof(r);
		r.index = s->next_region;
		ret = vb_ioctl(s, VBACKEND_MEM_REGION, &r);
		if (ret == -ENOENT)
			return 0;
		/* A provider that cannot enumerate leaves us without windows. */
		if (ret == -EOPNOTSUPP && s->next_region == 0)
			return 0;
		if (ret)
			return vb_error(-ret, "memory region %u", s->next_region);
		if (!r.size)
			continue;
		ret = vb_map_window(s, r.gpa, r.size,
				    !(r.flags & VBACKEND_MEM_F_READONLY));
		if (ret)
			return ret;
	}
}

int vb_session_open(const char *target, struct vb_session **out)
{
	struct vbackend_provider_info pi = { .argsz = sizeof(pi) };
	struct vbackend_bind b = { .argsz = sizeof(b) };
	struct vb_session *s;
	size_t len;
	int ret;

	if (!out)
		return vb_error(EINVAL, "vb_session_open");
	*out = NULL;
	if (!target)
		return vb_error(EINVAL, "bind: no target");
	len = strlen(target);

	ret = vb_guard_install();
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return vb_error(ENOMEM, "session");
	s->fd = open(VB_DEV_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (s->fd < 0) {
		ret = vb_error(errno, "open " VB_DEV_PATH);
		free(s);
		return ret;
	}
	s->info.argsz = sizeof(s->info);
	ret = vb_ioctl(s, VBACKEND_GET_INFO, &s->info);
	if (ret) {
		vb_error(-ret, "get info");
		goto fail;
	}
	if (s->info.event_size != sizeof(struct vbackend_event) ||
	    s->info.completion_size != sizeof(struct vbackend_completion)) {
		ret = vb_error_msg(EPROTO, "record sizes %u/%u, expected %zu/%zu",
				   s->info.event_size, s->info.completion_size,
				   sizeof(struct vbackend_event),
				   sizeof(struct vbackend_completion));
		goto fail;
	}

	b.target = (uintptr_t)target;
	b.target_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	ret = vb_ioctl(s, VBACKEND_BIND, &b);
	if (ret) {
		vb_error(-ret, "bind %.*s%s", VB_TARGET_ECHO, target,
			 len > VB_TARGET_ECHO ? "..." : "");
		goto fail;
	}
	/* what this binding takes: a kernel without the query takes the
	 * provider's interrupt targets, and no queue has its own */
	if (s->info.features & VBACKEND_FEATURE_SESSION_INFO) {
		s->sinfo.argsz = sizeof(s->sinfo);
		ret = vb_ioctl(s, VBACKEND_GET_SESSION, &s->sinfo);
		if (ret) {
			vb_error(-ret, "get session");
			goto fail;
		}
		pi.id = s->sinfo.provider;
		ret = vb_ioctl(s, VBACKEND_GET_PROVIDER, &pi);
		if (ret) {
			vb_error(-ret, "get provider %u", pi.id);
			goto fail;
		}
		s->prov_caps = pi.caps;
	}
	ret = vb_session_map_memory(s);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	vb_session_close(s);
	return ret;
}

void vb_session_close(struct vb_session *s)
{
	unsigned int i, n;

	if (!s)
		return;
	n = atomic_load(&s->nr_windows);
	for (i = 0; i < n; i++) {
		vb_guard_del(s->win[i].host);
		if (s->win[i].owned)
			munmap(s->win[i].host, s->win[i].size);
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

void *vb_translate(struct vb_session *s, uint64_t gpa, uint64_t len,
		   bool write)
{
	unsigned int i, n = atomic_load_explicit(&s->nr_windows,
						 memory_order_acquire);
	const struct vb_window *w;
	uint64_t off;

	for (i = 0; i < n; i++) {
		w = &s->win[i];
		if (gpa < w->gpa)
			continue;
		off = gpa - w->gpa;
		/* off <= size first: then size - off cannot wrap. */
		if (off > w->size || len > w->size - off)
			continue;
		if (write && !w->write)
			return NULL;
		return (char *)w->host + off;
	}
	return NULL;
}

static const char *vb_space(bool pio)
{
	return pio ? "pio" : "mmio";
}

/* TRAP_ADD with @flags (VBACKEND_F_PIO, VBACKEND_F_VMM_SPACE). */
static int vb_trap_register(struct vb_session *s, uint32_t flags, uint64_t addr,
			    uint64_t size, uint32_t *id)
{
	struct vbackend_trap t = {
		.argsz = sizeof(t),
		.flags = flags,
		.addr = addr,
		.size = size,
	};
	int ret;

	if (s->fake) {
		*id = ++s->fake_ids;
		return 0;
	}
	ret = vb_ioctl(s, VBACKEND_TRAP_ADD, &t);
	if (ret)
		return vb_error(-ret, "trap add %s 0x%" PRIx64 "+0x%" PRIx64,
				flags & VBACKEND_F_VMM_SPACE ? "vmm" :
				vb_space(flags & VBACKEND_F_PIO), addr, size);
	*id = t.id;
	return 0;
}

int vb_trap_add(struct vb_session *s, bool pio, uint64_t addr, uint64_t size,
		uint32_t *id)
{
	return vb_trap_register(s, pio ? VBACKEND_F_PIO : 0, addr, size, id);
}

bool vb_session_has_vmm_space(const struct vb_session *s)
{
	return s->prov_caps & VBACKEND_PROVIDER_CAP_VMM_SPACE;
}

int vb_trap_add_vmm(struct vb_session *s, uint64_t addr, uint64_t size,
		    uint32_t *id)
{
	return vb_trap_register(s, VBACKEND_F_VMM_SPACE, addr, size, id);
}

static int vb_del(struct vb_session *s, unsigned long req, const char *what,
		  uint32_t id)
{
	struct vbackend_id a = { .argsz = sizeof(a), .id = id };
	int ret;

	if (s->fake)
		return 0;
	ret = vb_ioctl(s, req, &a);
	if (ret)
		return vb_error(-ret, "%s del %u", what, id);
	return 0;
}

int vb_trap_del(struct vb_session *s, uint32_t id)
{
	return vb_del(s, VBACKEND_TRAP_DEL, "trap", id);
}

/* Make an issued notifier non-blocking, as the library's eventfds are. */
static int vb_notifier_nonblock(int fd)
{
	if (fcntl(fd, F_SETFL, O_NONBLOCK)) {
		int err = errno;

		close(fd);
		return vb_error(err, "notifier fd %d", fd);
	}
	return 0;
}

/*
 * KICK_ADD and IRQ_ADD of a session without a kernel (the library's unit
 * tests): an id, and an eventfd in place of a notifier.
 */
static int vb_fake_register(struct vb_session *s, int *fd, uint32_t *id)
{
	if (*fd < 0)
		*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return vb_error(errno, "eventfd");
	*id = ++s->fake_ids;
	return 0;
}

/* KICK_ADD; with @notifier, *@fd == -1 asks the kernel for a new one. */
static int vb_kick_register(struct vb_session *s, bool pio, uint64_t addr,
			    uint32_t len, bool datamatch, uint64_t data,
			    bool notifier, int *fd, uint32_t *id)
{
	struct vbackend_kick k = {
		.argsz = sizeof(k),
		.flags = (pio ? VBACKEND_F_PIO : 0) |
			 (datamatch ? VBACKEND_KICK_F_DATAMATCH : 0) |
			 (notifier ? VBACKEND_KICK_F_NOTIFIER : 0),
		.addr = addr,
		.data = datamatch ? data : 0,
		.fd = *fd,
		.len = len,
	};
	int ret;

	if (s->fake)
		return vb_fake_register(s, fd, id);
	ret = vb_ioctl(s, VBACKEND_KICK_ADD, &k);
	if (ret) {
		if (datamatch)
			return vb_error(-ret, "kick add %s 0x%" PRIx64 "/%u data 0x%" PRIx64,
					vb_space(pio), addr, len, data);
		return vb_error(-ret, "kick add %s 0x%" PRIx64 "/%u",
				vb_space(pio), addr, len);
	}
	if (*fd < 0) {
		ret = vb_notifier_nonblock(k.fd);
		if (ret) {
			vb_kick_del(s, k.id);
			return ret;
		}
		*fd = k.fd;
	}
	*id = k.id;
	return 0;
}

int vb_kick_add(struct vb_session *s, bool pio, uint64_t addr, uint32_t len,
		bool datamatch, uint64_t data, int eventfd, uint32_t *id)
{
	if (eventfd < 0)
		return vb_error_msg(EBADF, "kick add: no eventfd");
	return vb_kick_register(s, pio, addr, len, datamatch, data, false,
				&eventfd, id);
}

int vb_kick_add_notifier(struct vb_session *s, bool pio, uint64_t addr,
			 uint32_t len, bool datamatch, uint64_t data, int *fd,
			 uint32_t *id)
{
	return vb_kick_register(s, pio, addr, len, datamatch, data, true, fd,
				id);
}

int vb_kick_del(struct vb_session *s, uint32_t id)
{
	return vb_del(s, VBACKEND_KICK_DEL, "kick", id);
}

/* IRQ_ADD; with @notifier (and *@fd == -1) the kernel issues the fd. */
static int vb_irq_register(struct vb_session *s, bool notifier, int *fd,
			   uint32_t type, uint64_t target0, uint64_t target1,
			   uint32_t *id)
{
	struct vbackend_irq q = {
		.argsz = sizeof(q),
		.flags = notifier ? VBACKEND_IRQ_F_NOTIFIER : 0,
		.fd = *fd,
		.type = type,
		.target = { target0, target1 },
	};
	int ret;

	if (s->fake)
		return vb_fake_register(s, fd, id);
	ret = vb_ioctl(s, VBACKEND_IRQ_ADD, &q);
	if (ret)
		return vb_error(-ret, "irq add type %u target 0x%" PRIx64 ",0x%" PRIx64,
				type, target0, target1);
	if (notifier) {
		ret = vb_notifier_nonblock(q.fd);
		if (ret) {
			vb_irq_del(s, q.id);
			return ret;
		}
		*fd = q.fd;
	}
	*id = q.id;
	return 0;
}

int vb_irq_add(struct vb_session *s, int eventfd, uint32_t type,
	       uint64_t target0, uint64_t target1, uint32_t *id)
{
	if (eventfd < 0)
		return vb_error_msg(EBADF, "irq add: no eventfd");
	return vb_irq_register(s, false, &eventfd, type, target0, target1, id);
}

int vb_irq_add_notifier(struct vb_session *s, uint32_t type, uint64_t target0,
			uint64_t target1, int *fd, uint32_t *id)
{
	*fd = -1;
	return vb_irq_register(s, true, fd, type, target0, target1, id);
}

bool vb_session_has_notifiers(const struct vb_session *s)
{
	return s->info.features & VBACKEND_FEATURE_NOTIFIER_FD;
}

bool vb_session_irq_per_queue(const struct vb_session *s)
{
	return s->sinfo.irq_targets & (1U << VBACKEND_IRQ_TARGET_QUEUE);
}

/* IRQ_ADD of a notifier when the kernel has them, else of a new eventfd. */
int vb_irq_add_fd(struct vb_session *s, uint32_t type, uint64_t target0,
		  uint64_t target1, int *fd, uint32_t *id)
{
	int ret;

	if (vb_session_has_notifiers(s))
		return vb_irq_add_notifier(s, type, target0, target1, fd, id);
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return vb_error(errno, "eventfd");
	ret = vb_irq_add(s, *fd, type, target0, target1, id);
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

int vb_irq_del(struct vb_session *s, uint32_t id)
{
	return vb_del(s, VBACKEND_IRQ_DEL, "irq", id);
}

int vb_events_read(struct vb_session *s, struct vbackend_event *ev,
		   unsigned int max)
{
	ssize_t n;

	if (s->fd < 0)
		return atomic_load(&s->gone) ? -EPIPE : 0;
	if (max > 1024)
		max = 1024;
	if (!max)
		return 0;
	do {
		n = read(s->fd, ev, (size_t)max * sizeof(*ev));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return 0;
		if (errno == EPIPE)
			atomic_store(&s->gone, true);
		return vb_error(errno, "read events");
	}
	if (n == 0) {
		atomic_store(&s->gone, true);
		return vb_error(EPIPE, "read events: frontend gone");
	}
	return (int)(n / (ssize_t)sizeof(*ev));
}

int vb_complete(struct vb_session *s, const struct vbackend_completion *c,
		unsigned int n)
{
	unsigned int done = 0;
	ssize_t w;
	int ret = 0;

	if (s->fd < 0)
		return 0;
	while (done < n) {
		w = write(s->fd, c + done, (size_t)(n - done) * sizeof(*c));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (!ret)
				ret = vb_error(errno, "complete seq %llu",
					       (unsigned long long)c[done].seq);
			if (errno != ENOENT && errno != EINVAL)
				break;	/* EPIPE and friends: all would fail */
			done++;		/* skip the bad record, keep the rest */
			continue;
		}
		done += (unsigned int)((size_t)w / sizeof(*c));
		if (!w)
			break;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Test hooks                                                          */
/* ------------------------------------------------------------------ */

struct vb_session *vb_session_fake(int fd)
{
	struct vb_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = fd;
	s->fake = true;
	s->info.argsz = sizeof(s->info);
	s->info.api_version = VBACKEND_API_VERSION;
	s->info.event_size = sizeof(struct vbackend_event);
	s->info.completion_size = sizeof(struct vbackend_completion);
	return s;
}

int vb_session_fake_window(struct vb_session *s, uint64_t gpa, void *host,
			   uint64_t size, bool write)
{
	unsigned int n = atomic_load(&s->nr_windows);
	int ret;

	if (n == VB_MAX_WINDOWS)
		return -ENOSPC;
	if (gpa + size < gpa)
		return -EOVERFLOW;
	ret = vb_guard_install();
	if (ret)
		return ret;
	ret = vb_guard_add(host, size, &s->gone);
	if (ret)
		return ret;
	vb_window_publish(s, n, &(struct vb_window){
		.gpa = gpa, .size = size, .host = host, .id = ++s->fake_ids,
		.write = write, .owned = false,
	});
	return 0;
}
