// SPDX-License-Identifier: Apache-2.0
/*
 * Host test of xen_session.c without Xen: the Xen libraries it calls are
 * replaced by fakes here (an ioreq page in malloc'ed memory, event channel
 * ports written to a pipe, foreign "RAM" made of anonymous pages), and the
 * test plays the hypervisor filling vCPU slots. TAP output; built and run
 * by "make check" under ASan/UBSan and valgrind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define __XEN_TOOLS__ 1
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/memory.h>
#include <xen/hvm/ioreq.h>

#include "vb_internal.h"

/* ---------------------------------------------------------------- */
/* Fakes                                                             */
/* ---------------------------------------------------------------- */

#define NVCPU		2
#define BAD_PFN		5	/* this gfn fails to map */
#define LOCAL(p)	((p) + 1000)

static ioreq_t *page;
static int evpipe[2] = { -1, -1 };
static int server_gone, destroyed, enabled, ranges;
static evtchn_port_t notified[64];
static unsigned int nr_notified;
static int dummy;

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *l, unsigned int f)
{
	(void)l, (void)f;
	return (xendevicemodel_handle *)&dummy;
}

int xendevicemodel_close(xendevicemodel_handle *h) { (void)h; return 0; }

int xendevicemodel_nr_vcpus(xendevicemodel_handle *h, domid_t d, unsigned int *n)
{
	(void)h, (void)d;
	*n = NVCPU;
	return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *h, domid_t d,
				       int buf, ioservid_t *id)
{
	(void)h, (void)d;
	if (buf != HVM_IOREQSRV_BUFIOREQ_OFF)
		return -1;
	*id = 7;
	return 0;
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *h, domid_t d,
					  ioservid_t id, int on)
{
	(void)h, (void)d, (void)id;
	enabled = on;
	for (unsigned int v = 0; on && v < NVCPU; v++)
		page[v].vp_eport = 100 + v;
	return 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *h,
		domid_t d, ioservid_t id, int mmio, uint64_t s, uint64_t e)
{
	(void)h, (void)d, (void)id, (void)mmio, (void)s, (void)e;
	ranges++;
	return 0;
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *h,
		domid_t d, ioservid_t id, int mmio, uint64_t s, uint64_t e)
{
	(void)h, (void)d, (void)id, (void)mmio, (void)s, (void)e;
	ranges--;
	return 0;
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *h, domid_t d,
					ioservid_t id)
{
	(void)h, (void)d, (void)id;
	destroyed++;
	return 0;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *h, domid_t d,
		ioservid_t id, xen_pfn_t *a, xen_pfn_t *b, evtchn_port_t *c)
{
	(void)h, (void)d, (void)id, (void)a, (void)b, (void)c;
	if (server_gone) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *l, unsigned int f)
{
	(void)l, (void)f;
	return (xenforeignmemory_handle *)&dummy;
}

int xenforeignmemory_close(xenforeignmemory_handle *h) { (void)h; return 0; }

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
	xenforeignmemory_handle *h, domid_t d, unsigned int type, unsigned int id,
	unsigned long frame, unsigned long n, void **addr, int prot, int flags)
{
	(void)h, (void)d, (void)id, (void)prot, (void)flags;
	if (type != XENMEM_resource_ioreq_server || n != 1 ||
	    frame != (unsigned long)XENMEM_resource_ioreq_server_frame_ioreq(0))
		return NULL;
	page = aligned_alloc(4096, 4096);
	memset(page, 0, 4096);
	*addr = page;
	return (xenforeignmemory_resource_handle *)page;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *h,
				    xenforeignmemory_resource_handle *r)
{
	(void)h;
	free(r);
	page = NULL;
	return 0;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *h, uint32_t d, void *addr,
			    int prot, int flags, size_t n, const xen_pfn_t arr[],
			    int err[])
{
	void *p = mmap(addr, n * 4096, prot, flags | MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	(void)h, (void)d;
	if (p == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < n; i++)
		err[i] = arr[i] == BAD_PFN ? -EINVAL : 0;
	return p;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *l, unsigned int f)
{
	(void)l, (void)f;
	if (pipe2(evpipe, O_CLOEXEC))
		return NULL;
	return (xenevtchn_handle *)&dummy;
}

int xenevtchn_close(xenevtchn_handle *x)
{
	(void)x;
	close(evpipe[0]);
	close(evpipe[1]);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *x) { (void)x; return evpipe[0]; }

int xenevtchn_notify(xenevtchn_handle *x, evtchn_port_t p)
{
	(void)x;
	if (nr_notified < 64)
		notified[nr_notified++] = p;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *x,
		uint32_t d, evtchn_port_t remote)
{
	(void)x, (void)d;
	return (xenevtchn_port_or_error_t)LOCAL(remote);
}

int xenevtchn_unbind(xenevtchn_handle *x, evtchn_port_t p) { (void)x, (void)p; return 0; }

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *x)
{
	uint32_t p;

	(void)x;
	if (read(evpipe[0], &p, sizeof(p)) != sizeof(p))
		return -1;	/* errno EAGAIN: the fd is O_NONBLOCK */
	return (xenevtchn_port_or_error_t)p;
}

int xenevtchn_unmask(xenevtchn_handle *x, evtchn_port_t p) { (void)x, (void)p; return 0; }

/* ---------------------------------------------------------------- */
/* The test                                                          */
/* ---------------------------------------------------------------- */

static int tests, failed;

#define ok(cond, ...) do {						\
	bool ok_ = (cond);						\
									\
	tests++;							\
	failed += !ok_;							\
	printf("%sok %d - ", ok_ ? "" : "not ", tests);			\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

/* Xen's side: a request in vCPU @v's slot, then its port. */
static void guest(unsigned int v, uint8_t type, bool read, uint64_t addr,
		  uint32_t size, uint64_t data, bool ptr)
{
	uint32_t port = LOCAL(100 + v);
	ioreq_t r = {
		.addr = addr, .data = data, .count = 1, .size = size,
		.vp_eport = 100 + v, .state = STATE_IOREQ_READY,
		.data_is_ptr = ptr, .dir = read ? IOREQ_READ : IOREQ_WRITE,
		.type = type,
	};

	page[v] = r;
	if (write(evpipe[1], &port, sizeof(port)) != sizeof(port))
		abort();
}

static bool was_notified(evtchn_port_t p)
{
	for (unsigned int i = 0; i < nr_notified; i++)
		if (notified[i] == p)
			return true;
	return false;
}

int main(void)
{
	struct vbackend_event ev[8];
	struct vbackend_completion c[2];
	struct vb_session *s;
	uint32_t trap, kick, irq;
	uint64_t cnt;
	int n, kfd, ifd;
	char *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setenv("VB_XEN_RAM_MB", "8", 1);
	printf("TAP version 13\n");

	ok(vb_session_open("vmm:fd=3", &s) == -ENODEV, "another provider: ENODEV");
	ok(vb_session_open("xen:domid=x", &s) == -EINVAL, "bad domid: EINVAL");
	ok(vb_session_open("xen:domid=70000", &s) == -EINVAL, "domid too big: EINVAL");
	n = vb_session_open("xen:domid=3", &s);
	ok(!n && s && enabled, "open xen:domid=3: %s", n ? vb_last_error() : "ok");
	if (n)
		return 1;

	p = vb_translate(s, 0x1000, 0x1000, true);
	ok(p && vb_translate(s, 0x2000, 8, false) == p + 0x1000, "translate RAM");
	ok(!vb_translate(s, BAD_PFN * 4096 - 8, 16, false), "translate across an unmapped page: NULL");
	ok(!vb_translate(s, 8 << 20, 1, false) && !vb_translate(s, 0, ~0ULL, false),
	   "translate past RAM: NULL");

	/* The INVALIDATE broadcast is answered by itself. */
	guest(0, IOREQ_TYPE_INVALIDATE, false, 0, 0, 0, false);
	n = vb_events_read(s, ev, 8);
	ok(n == 0 && page[0].state == STATE_IORESP_READY && was_notified(LOCAL(100)),
	   "INVALIDATE completed at once, no record");

	kfd = eventfd(0, EFD_NONBLOCK);
	ok(!vb_trap_add(s, false, 0xfe000000, 0x200, &trap) && ranges == 1, "trap add");
	ok(!vb_kick_add(s, false, 0xfe000050, 4, true, 1, kfd, &kick), "kick add");
	ok(vb_kick_add(s, false, 0xfe000050, 4, true, 0x100000000ULL, kfd, &kick) == -EINVAL,
	   "kick add: data wider than len: EINVAL");

	/* A matching write: the kick's eventfd, an immediate response. */
	nr_notified = 0;
	guest(0, IOREQ_TYPE_COPY, false, 0xfe000050, 4, 1, false);
	n = vb_events_read(s, ev, 8);
	ok(n == 0 && read(kfd, &cnt, 8) == 8 && cnt == 1 &&
	   page[0].state == STATE_IORESP_READY && was_notified(LOCAL(100)),
	   "kick write: eventfd signalled, completed, no record");

	/* Other accesses: TRAP records, answered by vb_complete(). */
	nr_notified = 0;
	guest(0, IOREQ_TYPE_COPY, false, 0xfe000050, 4, 0, false);
	guest(1, IOREQ_TYPE_COPY, true, 0xfe000000, 4, 0xdead, false);
	n = vb_events_read(s, ev, 8);
	ok(n == 2 && ev[0].type == VBACKEND_EVENT_TRAP &&
	   ev[0].u.access.dir == VBACKEND_DIR_WRITE && ev[0].u.access.data == 0 &&
	   ev[0].u.access.addr == 0xfe000050 && ev[0].u.access.vcpu == 0 &&
	   ev[1].u.access.dir == VBACKEND_DIR_READ && ev[1].u.access.data == 0 &&
	   ev[1].u.access.size == 4 && ev[1].u.access.vcpu == 1 &&
	   ev[1].u.access.space == VBACKEND_SPACE_MMIO && !nr_notified,
	   "unmatched write and a read: two TRAP records, nothing answered yet");
	ok(page[0].state == STATE_IOREQ_INPROCESS, "slot in process while the record is out");
	guest(1, IOREQ_TYPE_COPY, true, 0xfe000000, 4, 0, false);	/* spurious */
	page[1].state = STATE_IOREQ_INPROCESS;
	ok(vb_events_read(s, ev + 2, 6) == 0, "a busy vCPU's port again: no second record");
	memset(c, 0, sizeof(c));
	c[0].seq = ev[1].seq;
	c[0].data = 0x1234574726976ULL;		/* trimmed to 4 bytes */
	c[1].seq = ev[0].seq;
	ok(!vb_complete(s, c, 2) && page[1].data == 0x74726976 &&
	   page[1].state == STATE_IORESP_READY && page[0].state == STATE_IORESP_READY &&
	   was_notified(LOCAL(100)) && was_notified(LOCAL(101)),
	   "completions: data masked to the size, both vCPUs notified");
	ok(vb_complete(s, c, 1) == -ENOENT, "completing twice: ENOENT");

	/* Refused: rep/pointer accesses and other types, answered ~0. */
	guest(1, IOREQ_TYPE_COPY, true, 0xfe000000, 4, 0x5000, true);
	ok(vb_events_read(s, ev, 8) == 0 && page[1].data == ~0ULL &&
	   page[1].state == STATE_IORESP_READY, "data_is_ptr read refused with all ones");
	guest(1, IOREQ_TYPE_PCI_CONFIG, true, 0, 4, 0, false);
	ok(vb_events_read(s, ev, 8) == 0 && page[1].data == ~0ULL, "PCI config refused");
	guest(0, IOREQ_TYPE_PIO, true, 0x60, 1, 0, false);
	n = vb_events_read(s, ev, 8);
	ok(n == 1 && ev[0].u.access.space == VBACKEND_SPACE_PIO, "port read: a PIO record");
	c[0].seq = ev[0].seq;
	c[0].flags = VBACKEND_COMPLETION_F_ERROR;
	ok(!vb_complete(s, c, 1) && page[0].data == ~0ULL, "error completion: all ones");
	c[0].flags = 0;

	/* Interrupts: each eventfd write notifies the bound port. */
	ifd = eventfd(0, EFD_NONBLOCK);
	ok(vb_irq_add(s, ifd, VBACKEND_IRQ_TARGET_LINE, 5, 0, &irq) == -EOPNOTSUPP,
	   "irq add: line: EOPNOTSUPP");
	ok(!vb_irq_add(s, ifd, VBACKEND_IRQ_TARGET_EVTCHN, 55, 0, &irq), "irq add evtchn 55");
	nr_notified = 0;
	cnt = 1;
	ok(write(ifd, &cnt, 8) == 8 && vb_events_read(s, ev, 8) == 0 &&
	   nr_notified == 1 && notified[0] == LOCAL(55), "irq eventfd -> notify");
	ok(vb_events_read(s, ev, 8) == 0 && nr_notified == 1, "no second notify");

	/* Teardown of the registrations, as vb_virtio_destroy() does. */
	ok(!vb_kick_del(s, kick) && !vb_trap_del(s, trap) && !vb_irq_del(s, irq) &&
	   ranges == 0, "kick, trap and irq del");
	ok(vb_trap_del(s, trap) == -ENOENT, "trap del twice: ENOENT");
	close(kfd);
	close(ifd);

	/* The frontend dies (its ioreq server is gone) with a read out. */
	guest(0, IOREQ_TYPE_COPY, true, 0xfe000000, 4, 0, false);
	ok(vb_events_read(s, ev, 8) == 1, "a read in flight");
	server_gone = 1;
	usleep(1200 * 1000);	/* the 1 s probe */
	n = vb_events_read(s, ev, 8);
	ok(n == 1 && ev[0].type == VBACKEND_EVENT_PEER_GONE, "server gone: PEER_GONE");
	ok(vb_events_read(s, ev, 8) == -EPIPE, "then -EPIPE");
	ok(vb_trap_add(s, false, 0, 4096, &trap) == -EPIPE, "trap add after: EPIPE");
	nr_notified = 0;
	vb_session_close(s);
	ok(destroyed == 1 && !page && was_notified(LOCAL(100)),
	   "close: the read in flight answered, server destroyed, page unmapped");

	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
