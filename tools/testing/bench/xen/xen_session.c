// SPDX-License-Identifier: Apache-2.0
/*
 * The benchmark baseline: libvbackend's session API (userspace/lib/session.c)
 * implemented entirely in userspace the traditional way, as DEMU or
 * xen-vhost-frontend do, on libxendevicemodel, libxenforeignmemory and
 * libxenevtchn. Linked with the unchanged sample backend and the rest of
 * libvbackend it makes vbackend-sample-xenbase, which serves the same
 * devices with the same device logic without /dev/vbackend.
 *
 * Target "xen:domid=N". The session:
 *  - creates an IOREQ server (buffered ioreqs off), maps its ioreq page
 *    (XENMEM_resource_ioreq_server, frame ioreq(0)), enables it and binds
 *    each vCPU's vp_eport;
 *  - maps the guest's RAM, gfns [0, VB_XEN_RAM_MB MiB) (default 256), by
 *    foreign mapping in 4 MiB chunks into one contiguous range; pages that
 *    fail to map are remembered and never handed out by vb_translate();
 *  - vb_session_fd() is an epoll fd over the event channel fd, a 1 s timer
 *    (is the ioreq server still there? if not, the frontend is gone) and
 *    each interrupt eventfd;
 *  - vb_events_read() drains the pending ports and, for each vCPU slot in
 *    STATE_IOREQ_READY, completes IOREQ_TYPE_INVALIDATE (the first request
 *    to arrive) and TIMEOFFSET at once, turns a write that matches a kick
 *    into a write to its eventfd plus an immediate response (a userspace
 *    VMM's ioeventfd), and every other PIO/MMIO access into a TRAP record;
 *    rep/data_is_ptr accesses and other types are refused (reads return
 *    all ones), never left to stall the vCPU;
 *  - vb_complete() writes the response into the slot and notifies the
 *    vCPU's port;
 *  - an interrupt (VBACKEND_IRQ_TARGET_EVTCHN, target[0] the frontend's
 *    port) is an interdomain binding notified each time the library
 *    writes its eventfd: the event loop reads the eventfd, then notifies.
 *    That is xen-vhost-frontend's path for a vhost-user backend's call fd.
 *
 * Single-threaded like session.c: vb_events_read(), vb_complete() and the
 * registration calls come from the register thread; vb_translate() from
 * any thread (read-only after vb_session_open()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* The tools-only parts of Xen's public headers (HVM_IOREQSRV_*). */
#define __XEN_TOOLS__ 1
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/memory.h>
#include <xen/hvm/ioreq.h>

#include "vb_internal.h"

#define XS_PAGE		4096UL
#define XS_MAX_VCPUS	(XS_PAGE / sizeof(ioreq_t))	/* one ioreq page */
#define XS_MAX_OBJS	64	/* traps, kicks, irqs */
#define XS_CHUNK	1024	/* pages per foreign mapping call */
#define XS_RAM_MB	256	/* default guest RAM mapped */

enum { XS_EV_EVTCHN = 1, XS_EV_TIMER, XS_EV_IRQ };

struct xs_vcpu {
	evtchn_port_t lport;
	bool bound;
	bool dirty;		/* its port fired: look at its slot */
	bool busy;		/* a TRAP record is out for it */
	uint8_t dir;
	uint8_t size;
	uint64_t seq;
};

struct xs_trap {
	uint32_t id;
	bool pio;
	uint64_t addr, size;
};

struct xs_kick {
	uint32_t id;
	bool pio, datamatch;
	uint32_t len;
	uint64_t addr, data;
	int fd;
};

struct xs_irq {
	uint32_t id;
	int fd;
	evtchn_port_t lport;
};

struct xs_session {
	struct vb_session s;	/* the library's view; first */
	domid_t domid;
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
	xenevtchn_handle *xce;
	xenforeignmemory_resource_handle *res;
	ioservid_t ioservid;
	bool server;
	ioreq_t *page;		/* vcpu_ioreq[nr_vcpus] */
	unsigned int nr_vcpus;
	struct xs_vcpu vcpu[XS_MAX_VCPUS];
	char *ram;
	uint64_t ram_size;
	size_t nr_bad;
	uint8_t *bad;		/* one byte per page: failed to map */
	int timer_fd;
	uint64_t gen;
	bool gone_reported;
	uint32_t next_id;
	unsigned int nr_traps, nr_kicks, nr_irqs;
	struct xs_trap trap[XS_MAX_OBJS];
	struct xs_kick kick[XS_MAX_OBJS];
	struct xs_irq irq[XS_MAX_OBJS];
};

static struct xs_session *xs_of(const struct vb_session *s)
{
	return (struct xs_session *)s;
}

static uint64_t xs_mask(uint32_t size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static int xs_ep_add(struct xs_session *x, int fd, uint32_t kind, uint32_t id)
{
	struct epoll_event e = {
		.events = EPOLLIN,
		.data.u64 = (uint64_t)kind << 32 | id,
	};

	return epoll_ctl(x->s.fd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

/* "xen:domid=N", N decimal, below DOMID_FIRST_RESERVED. */
static int xs_parse(const char *target, domid_t *domid)
{
	const char *p = "xen:domid=";
	unsigned long v;
	char *end;

	if (strncmp(target, p, strlen(p)))
		return strchr(target, ':') ? -ENODEV : -EINVAL;
	p = target + strlen(p);
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || *end || v >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	*domid = (domid_t)v;
	return 0;
}

/* Guest RAM [0, ram_size) into one contiguous range, chunk by chunk. */
static int xs_map_ram(struct xs_session *x)
{
	size_t pages = x->ram_size / XS_PAGE, off, i, n;
	xen_pfn_t pfn[XS_CHUNK];
	int err[XS_CHUNK];
	void *p;

	x->bad = calloc(pages, 1);
	if (!x->bad)
		return vb_error(ENOMEM, "page map");
	p = mmap(NULL, x->ram_size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return vb_error(errno, "reserve %" PRIu64 " MiB", x->ram_size >> 20);
	x->ram = p;
	for (off = 0; off < pages; off += n) {
		n = pages - off < XS_CHUNK ? pages - off : XS_CHUNK;
		for (i = 0; i < n; i++)
			pfn[i] = off + i;
		p = xenforeignmemory_map2(x->fmem, x->domid, x->ram + off * XS_PAGE,
					  PROT_READ | PROT_WRITE, MAP_FIXED, n,
					  pfn, err);
		if (!p)
			return vb_error(errno, "foreign map gfn 0x%zx+%zu", off, n);
		for (i = 0; i < n; i++) {
			if (!err[i])
				continue;
			x->bad[off + i] = 1;
			x->nr_bad++;
		}
	}
	if (x->nr_bad)
		fprintf(stderr, "xen baseline: domain %u: %zu of %zu pages below %" PRIu64
			" MiB not mapped\n", x->domid, x->nr_bad, pages,
			x->ram_size >> 20);
	return vb_guard_add(x->ram, x->ram_size, &x->s.gone);
}

static int xs_setup(struct xs_session *x)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	const char *mb = getenv("VB_XEN_RAM_MB");
	void *addr = NULL;
	unsigned int v;
	int port, ret;

	x->dmod = xendevicemodel_open(NULL, 0);
	x->fmem = xenforeignmemory_open(NULL, 0);
	x->xce = xenevtchn_open(NULL, 0);
	if (!x->dmod || !x->fmem || !x->xce)
		return vb_error(errno, "open the Xen libraries");
	if (xendevicemodel_nr_vcpus(x->dmod, x->domid, &x->nr_vcpus))
		return vb_error(errno, "domain %u: vCPUs", x->domid);
	if (!x->nr_vcpus || x->nr_vcpus > XS_MAX_VCPUS)
		return vb_error_msg(EOPNOTSUPP, "domain %u: %u vCPUs", x->domid,
				    x->nr_vcpus);
	if (xendevicemodel_create_ioreq_server(x->dmod, x->domid,
					       HVM_IOREQSRV_BUFIOREQ_OFF,
					       &x->ioservid))
		return vb_error(errno, "domain %u: create ioreq server", x->domid);
	x->server = true;
	x->res = xenforeignmemory_map_resource(x->fmem, x->domid,
			XENMEM_resource_ioreq_server, x->ioservid,
			XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
			PROT_READ | PROT_WRITE, 0);
	if (!x->res)
		return vb_error(errno, "map ioreq page of server %u", x->ioservid);
	x->page = addr;
	if (xendevicemodel_set_ioreq_server_state(x->dmod, x->domid,
						  x->ioservid, 1))
		return vb_error(errno, "enable ioreq server %u", x->ioservid);
	/* Binding sets the port pending: an INVALIDATE sent before is seen. */
	for (v = 0; v < x->nr_vcpus; v++) {
		uint32_t remote = ((volatile ioreq_t *)&x->page[v])->vp_eport;

		port = xenevtchn_bind_interdomain(x->xce, x->domid, remote);
		if (port < 0)
			return vb_error(errno, "bind vCPU %u port %u", v, remote);
		x->vcpu[v].lport = (evtchn_port_t)port;
		x->vcpu[v].bound = true;
	}
	/* Linux's evtchn device honours O_NONBLOCK: pending() gives EAGAIN. */
	if (fcntl(xenevtchn_fd(x->xce), F_SETFL, O_NONBLOCK))
		return vb_error(errno, "evtchn O_NONBLOCK");
	x->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (x->timer_fd < 0 || timerfd_settime(x->timer_fd, 0, &its, NULL))
		return vb_error(errno, "timerfd");
	ret = xs_ep_add(x, xenevtchn_fd(x->xce), XS_EV_EVTCHN, 0);
	if (!ret)
		ret = xs_ep_add(x, x->timer_fd, XS_EV_TIMER, 0);
	if (ret)
		return vb_error(-ret, "epoll");

	x->ram_size = (uint64_t)(mb ? strtoul(mb, NULL, 0) : XS_RAM_MB) << 20;
	if (!x->ram_size)
		return vb_error_msg(EINVAL, "VB_XEN_RAM_MB=%s", mb);
	return xs_map_ram(x);
}

int vb_session_open(const char *target, struct vb_session **out)
{
	struct xs_session *x;
	domid_t domid = 0;
	int ret;

	if (!out)
		return vb_error(EINVAL, "vb_session_open");
	*out = NULL;
	if (!target)
		return vb_error(EINVAL, "bind: no target");
	ret = xs_parse(target, &domid);
	if (ret)
		return vb_error(-ret, "bind %.64s", target);
	ret = vb_guard_install();
	if (ret)
		return ret;
	x = calloc(1, sizeof(*x));
	if (!x)
		return vb_error(ENOMEM, "session");
	x->domid = domid;
	x->timer_fd = -1;
	x->s.fd = epoll_create1(EPOLL_CLOEXEC);
	if (x->s.fd < 0) {
		ret = vb_error(errno, "epoll");
		free(x);
		return ret;
	}
	x->s.info = (struct vbackend_info){
		.argsz = sizeof(x->s.info),
		.api_version = VBACKEND_API_VERSION,
		.providers = 1U << VBACKEND_PROVIDER_XEN,
		.features = VBACKEND_FEATURE_BATCH | VBACKEND_FEATURE_KICK_DATAMATCH,
		.max_windows = 1,
		.max_traps = XS_MAX_OBJS,
		.max_kicks = XS_MAX_OBJS,
		.max_irqs = XS_MAX_OBJS,
		.max_pending = XS_MAX_VCPUS,
		.event_size = sizeof(struct vbackend_event),
		.completion_size = sizeof(struct vbackend_completion),
	};
	ret = xs_setup(x);
	if (ret) {
		vb_session_close(&x->s);
		return ret;
	}
	*out = &x->s;
	return 0;
}

/* The response: @data for a read, then the state, then the vCPU's port. */
static void xs_respond(struct xs_session *x, unsigned int v, bool read,
		       uint64_t data)
{
	volatile ioreq_t *slot = &x->page[v];

	if (read)
		slot->data = data;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IORESP_READY;
	xenevtchn_notify(x->xce, x->vcpu[v].lport);
}

void vb_session_close(struct vb_session *s)
{
	struct xs_session *x = xs_of(s);
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < x->nr_vcpus; i++)	/* fail what is in flight */
		if (x->vcpu[i].busy && x->page)
			xs_respond(x, i, x->vcpu[i].dir == IOREQ_READ, ~0ULL);
	for (i = 0; i < x->nr_kicks; i++)
		close(x->kick[i].fd);
	for (i = 0; i < x->nr_irqs; i++) {
		xenevtchn_unbind(x->xce, x->irq[i].lport);
		close(x->irq[i].fd);
	}
	if (x->server) {
		xendevicemodel_set_ioreq_server_state(x->dmod, x->domid,
						      x->ioservid, 0);
		xendevicemodel_destroy_ioreq_server(x->dmod, x->domid,
						    x->ioservid);
	}
	for (i = 0; i < x->nr_vcpus; i++)
		if (x->vcpu[i].bound)
			xenevtchn_unbind(x->xce, x->vcpu[i].lport);
	if (x->res)
		xenforeignmemory_unmap_resource(x->fmem, x->res);
	if (x->ram) {
		vb_guard_del(x->ram);
		munmap(x->ram, x->ram_size);
	}
	free(x->bad);
	if (x->xce)
		xenevtchn_close(x->xce);
	if (x->fmem)
		xenforeignmemory_close(x->fmem);
	if (x->dmod)
		xendevicemodel_close(x->dmod);
	if (x->timer_fd >= 0)
		close(x->timer_fd);
	if (s->fd >= 0)
		close(s->fd);
	free(x);
}

void *vb_translate(struct vb_session *s, uint64_t gpa, uint64_t len,
		   bool write)
{
	struct xs_session *x = xs_of(s);
	uint64_t pg;

	(void)write;	/* all of RAM is mapped writable */
	if (gpa > x->ram_size || len > x->ram_size - gpa)
		return NULL;
	if (x->nr_bad && len)
		for (pg = gpa / XS_PAGE; pg <= (gpa + len - 1) / XS_PAGE; pg++)
			if (x->bad[pg])
				return NULL;
	return x->ram + gpa;
}

/*
 * All of the guest's RAM is mapped at open, and vb_events_read() makes no
 * VBACKEND_EVENT_MEMORY record: there is never anything more to map.
 */
int vb_session_map_memory(struct vb_session *s)
{
	(void)s;
	return 0;
}

int vb_trap_add(struct vb_session *s, bool pio, uint64_t addr, uint64_t size,
		uint32_t *id)
{
	struct xs_session *x = xs_of(s);
	struct xs_trap *t;

	if (atomic_load(&s->gone))
		return vb_error(EPIPE, "trap add");
	if (!size || addr + size - 1 < addr || (pio && addr + size > 0x10000))
		return vb_error(EINVAL, "trap add 0x%" PRIx64 "+0x%" PRIx64, addr, size);
	if (x->nr_traps == XS_MAX_OBJS)
		return vb_error(ENOSPC, "trap add");
	if (xendevicemodel_map_io_range_to_ioreq_server(x->dmod, x->domid,
			x->ioservid, !pio, addr, addr + size - 1))
		return vb_error(errno, "trap add %s 0x%" PRIx64 "+0x%" PRIx64,
				pio ? "pio" : "mmio", addr, size);
	t = &x->trap[x->nr_traps++];
	*t = (struct xs_trap){ ++x->next_id, pio, addr, size };
	*id = t->id;
	return 0;
}

int vb_trap_del(struct vb_session *s, uint32_t id)
{
	struct xs_session *x = xs_of(s);
	struct xs_trap *t;
	unsigned int i;

	for (i = 0; i < x->nr_traps && x->trap[i].id != id; i++)
		;
	if (i == x->nr_traps)
		return vb_error(ENOENT, "trap del %u", id);
	t = &x->trap[i];
	if (xendevicemodel_unmap_io_range_from_ioreq_server(x->dmod, x->domid,
			x->ioservid, !t->pio, t->addr, t->addr + t->size - 1))
		return vb_error(errno, "trap del %u", id);
	*t = x->trap[--x->nr_traps];
	return 0;
}

int vb_kick_add(struct vb_session *s, bool pio, uint64_t addr, uint32_t len,
		bool datamatch, uint64_t data, int eventfd, uint32_t *id)
{
	struct xs_session *x = xs_of(s);
	struct xs_kick *k;
	int fd;

	if (atomic_load(&s->gone))
		return vb_error(EPIPE, "kick add");
	if ((len != 1 && len != 2 && len != 4 && len != 8) ||
	    (datamatch && (data & ~xs_mask(len))))
		return vb_error(EINVAL, "kick add 0x%" PRIx64 "/%u", addr, len);
	if (x->nr_kicks == XS_MAX_OBJS)
		return vb_error(ENOSPC, "kick add");
	fd = fcntl(eventfd, F_DUPFD_CLOEXEC, 0);	/* our reference */
	if (fd < 0)
		return vb_error(errno, "kick add: fd %d", eventfd);
	k = &x->kick[x->nr_kicks++];
	*k = (struct xs_kick){ ++x->next_id, pio, datamatch, len, addr,
			       datamatch ? data : 0, fd };
	*id = k->id;
	return 0;
}

int vb_kick_del(struct vb_session *s, uint32_t id)
{
	struct xs_session *x = xs_of(s);
	unsigned int i;

	for (i = 0; i < x->nr_kicks && x->kick[i].id != id; i++)
		;
	if (i == x->nr_kicks)
		return vb_error(ENOENT, "kick del %u", id);
	close(x->kick[i].fd);
	x->kick[i] = x->kick[--x->nr_kicks];
	return 0;
}

int vb_irq_add(struct vb_session *s, int eventfd, uint32_t type,
	       uint64_t target0, uint64_t target1, uint32_t *id)
{
	struct xs_session *x = xs_of(s);
	struct xs_irq *q;
	int fd, port, ret;

	(void)target1;
	if (atomic_load(&s->gone))
		return vb_error(EPIPE, "irq add");
	if (type != VBACKEND_IRQ_TARGET_EVTCHN || target0 > UINT32_MAX)
		return vb_error(EOPNOTSUPP, "irq add type %u target 0x%" PRIx64
				" (the baseline has evtchn only)", type, target0);
	if (x->nr_irqs == XS_MAX_OBJS)
		return vb_error(ENOSPC, "irq add");
	fd = fcntl(eventfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return vb_error(errno, "irq add: fd %d", eventfd);
	port = xenevtchn_bind_interdomain(x->xce, x->domid, (uint32_t)target0);
	if (port < 0) {
		ret = vb_error(errno, "irq add: bind domain %u port %" PRIu64,
			       x->domid, target0);
		close(fd);
		return ret;
	}
	ret = xs_ep_add(x, fd, XS_EV_IRQ, x->next_id + 1);
	if (ret) {
		xenevtchn_unbind(x->xce, (evtchn_port_t)port);
		close(fd);
		return vb_error(-ret, "irq add: epoll");
	}
	q = &x->irq[x->nr_irqs++];
	*q = (struct xs_irq){ ++x->next_id, fd, (evtchn_port_t)port };
	*id = q->id;
	return 0;
}

int vb_irq_del(struct vb_session *s, uint32_t id)
{
	struct xs_session *x = xs_of(s);
	unsigned int i;

	for (i = 0; i < x->nr_irqs && x->irq[i].id != id; i++)
		;
	if (i == x->nr_irqs)
		return vb_error(ENOENT, "irq del %u", id);
	xenevtchn_unbind(x->xce, x->irq[i].lport);
	close(x->irq[i].fd);	/* leaves the epoll set with it */
	x->irq[i] = x->irq[--x->nr_irqs];
	return 0;
}

/* A write that a kick consumes: signal its eventfd. Data-matched first. */
static bool xs_kicked(struct xs_session *x, bool pio, const ioreq_t *r)
{
	const struct xs_kick *hit = NULL, *k;
	uint64_t one = 1, data = r->data & xs_mask(r->size);
	unsigned int i;

	for (i = 0; i < x->nr_kicks; i++) {
		k = &x->kick[i];
		if (k->pio != pio || k->addr != r->addr || k->len != r->size)
			continue;
		if (k->datamatch && k->data == data) {
			hit = k;
			break;
		}
		if (!k->datamatch && !hit)
			hit = k;
	}
	if (!hit)
		return false;
	if (write(hit->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vb_error(errno, "kick eventfd");
	return true;
}

/* Look at vCPU @v's slot: 1 with @ev filled when it is a TRAP to hand out. */
static int xs_slot(struct xs_session *x, unsigned int v,
		   struct vbackend_event *ev)
{
	volatile ioreq_t *slot = &x->page[v];
	struct xs_vcpu *c = &x->vcpu[v];
	bool pio, read;
	ioreq_t r;

	if (c->busy || slot->state != STATE_IOREQ_READY)
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&r, (const void *)slot, sizeof(r));	/* every field once */
	slot->state = STATE_IOREQ_INPROCESS;
	read = r.dir == IOREQ_READ;

	if (r.type == IOREQ_TYPE_INVALIDATE || r.type == IOREQ_TYPE_TIMEOFFSET) {
		xs_respond(x, v, false, 0);
		return 0;
	}
	if ((r.type != IOREQ_TYPE_PIO && r.type != IOREQ_TYPE_COPY) ||
	    r.data_is_ptr || r.count != 1 ||
	    (r.size != 1 && r.size != 2 && r.size != 4 && r.size != 8)) {
		xs_respond(x, v, read, ~0ULL);	/* refused */
		return 0;
	}
	pio = r.type == IOREQ_TYPE_PIO;
	if (!read && xs_kicked(x, pio, &r)) {
		xs_respond(x, v, false, 0);
		return 0;
	}
	c->busy = true;
	c->dir = r.dir;
	c->size = (uint8_t)r.size;
	c->seq = ++x->gen << 8 | v;
	memset(ev, 0, sizeof(*ev));
	ev->type = VBACKEND_EVENT_TRAP;
	ev->seq = c->seq;
	ev->u.access.addr = r.addr;
	ev->u.access.data = read ? 0 : r.data & xs_mask(r.size);
	ev->u.access.vcpu = v;
	ev->u.access.size = (uint8_t)r.size;
	ev->u.access.space = pio ? VBACKEND_SPACE_PIO : VBACKEND_SPACE_MMIO;
	ev->u.access.dir = read ? VBACKEND_DIR_READ : VBACKEND_DIR_WRITE;
	return 1;
}

/* The frontend is gone once its ioreq server is (domain destroyed). */
static void xs_probe(struct xs_session *x)
{
	uint64_t ticks;

	if (read(x->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (xendevicemodel_get_ioreq_server_info(x->dmod, x->domid, x->ioservid,
						 NULL, NULL, NULL) &&
	    (errno == ESRCH || errno == ENOENT))
		atomic_store(&x->s.gone, true);
}

static void xs_irq_fired(struct xs_session *x, uint32_t id)
{
	uint64_t n;
	unsigned int i;

	for (i = 0; i < x->nr_irqs && x->irq[i].id != id; i++)
		;
	if (i == x->nr_irqs || read(x->irq[i].fd, &n, sizeof(n)) != sizeof(n))
		return;
	xenevtchn_notify(x->xce, x->irq[i].lport);
}

static int xs_drain_ports(struct xs_session *x)
{
	unsigned int v;
	int port;

	while ((port = xenevtchn_pending(x->xce)) >= 0) {
		for (v = 0; v < x->nr_vcpus; v++)
			if (x->vcpu[v].lport == (evtchn_port_t)port)
				x->vcpu[v].dirty = true;
		xenevtchn_unmask(x->xce, (evtchn_port_t)port);
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return vb_error(errno, "event channel pending");
}

int vb_events_read(struct vb_session *s, struct vbackend_event *ev,
		   unsigned int max)
{
	struct xs_session *x = xs_of(s);
	struct epoll_event e[16];
	unsigned int n = 0, v;
	int i, ne, ret;

	if (atomic_load(&s->gone) && x->gone_reported)
		return vb_error(EPIPE, "read events: frontend gone");
	ne = epoll_wait(s->fd, e, 16, 0);
	for (i = 0; i < ne; i++) {
		uint32_t id = (uint32_t)e[i].data.u64;

		switch (e[i].data.u64 >> 32) {
		case XS_EV_EVTCHN:
			ret = xs_drain_ports(x);
			if (ret)
				return ret;
			break;
		case XS_EV_TIMER:
			xs_probe(x);
			break;
		case XS_EV_IRQ:
			xs_irq_fired(x, id);
			break;
		}
	}
	for (v = 0; v < x->nr_vcpus && n < max; v++) {
		if (!x->vcpu[v].dirty)
			continue;
		x->vcpu[v].dirty = false;
		n += (unsigned int)xs_slot(x, v, &ev[n]);
	}
	if (atomic_load(&s->gone) && n < max) {
		memset(&ev[n], 0, sizeof(ev[n]));
		ev[n++].type = VBACKEND_EVENT_PEER_GONE;
		x->gone_reported = true;
	}
	return (int)n;
}

int vb_complete(struct vb_session *s, const struct vbackend_completion *c,
		unsigned int n)
{
	struct xs_session *x = xs_of(s);
	struct xs_vcpu *cpu;
	unsigned int i, v;
	int ret = 0;

	for (i = 0; i < n; i++) {
		v = c[i].seq & 0xff;
		cpu = v < x->nr_vcpus ? &x->vcpu[v] : NULL;
		if (!cpu || !cpu->busy || cpu->seq != c[i].seq ||
		    (c[i].flags & ~VBACKEND_COMPLETION_F_ERROR)) {
			bool ours = cpu && cpu->busy && cpu->seq == c[i].seq;

			if (!ret)	/* the first error; the rest goes on */
				ret = vb_error(ours ? EINVAL : ENOENT,
					       "complete seq %llu",
					       (unsigned long long)c[i].seq);
			continue;
		}
		cpu->busy = false;
		xs_respond(x, v, cpu->dir == IOREQ_READ,
			   c[i].flags & VBACKEND_COMPLETION_F_ERROR ? ~0ULL :
			   c[i].data & xs_mask(cpu->size));
	}
	return ret;
}
