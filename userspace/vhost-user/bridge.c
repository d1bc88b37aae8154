// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-vhost-user: vhost-user requests turned into what a virtio-mmio
 * driver would do, on the VMM-fed frontend the backend serves.
 *
 * The device is started once per feature set: reset, ACKNOWLEDGE | DRIVER,
 * the acked features, FEATURES_OK, DRIVER_OK, all before any ring. Each
 * vring then starts on its own when it has its size, addresses, kick and
 * enable (QueueReady=1 at SET_VRING_BASE's index), and stops at
 * SET_VRING_ENABLE(0) or GET_VRING_BASE (QueueReady=0, which drains: the
 * index returned has every request before it used). So a VM stop/cont, a
 * guest reset or a reconnect that resumes rings needs no device reset, and
 * a new set of features gets one.
 *
 * The kick and call eventfds go to the backend's notifiers as they are:
 * the bridge never sees a kick or an interrupt, but for configuration
 * changes, which it forwards on the back-end request channel.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <libvbackend.h>
#include "bridge.h"

#define OFFERED_PROTOCOL	((1ULL << VU_PROTOCOL_F_MQ) | \
				 (1ULL << VU_PROTOCOL_F_REPLY_ACK) | \
				 (1ULL << VU_PROTOCOL_F_SLAVE_REQ) | \
				 (1ULL << VU_PROTOCOL_F_CONFIG))
#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */

#define fail(...)	(snprintf(err, errlen, __VA_ARGS__), -1)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Take descriptor @i of @m (the message no longer closes it). */
static int take_fd(struct vu_msg *m, unsigned int i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

static int reg_write(struct vu_conn *c, uint32_t off, uint32_t val, char *err,
		     size_t errlen)
{
	int r = vu_reg_write(&c->vmm, off, val);

	return r ? fail("register 0x%03x write: %s", off, strerror(-r)) : 0;
}

static int reg_read(struct vu_conn *c, uint32_t off, uint32_t *val, char *err,
		    size_t errlen)
{
	int r = vu_reg_read(&c->vmm, off, val);

	return r ? fail("register 0x%03x read: %s", off, strerror(-r)) : 0;
}

static int status_write(struct vu_conn *c, uint32_t status, char *err,
			size_t errlen)
{
	uint32_t got;

	if (reg_write(c, VIRTIO_MMIO_STATUS, status, err, errlen) ||
	    reg_read(c, VIRTIO_MMIO_STATUS, &got, err, errlen))
		return -1;
	if (got != status)
		return fail("the device took status 0x%x as 0x%x", status, got);
	return 0;
}

static int reg_write64(struct vu_conn *c, uint32_t lo, uint64_t val, char *err,
		       size_t errlen)
{
	return reg_write(c, lo, (uint32_t)val, err, errlen) ?:
	       reg_write(c, lo + 4, (uint32_t)(val >> 32), err, errlen);
}

static void device_reset(struct vu_conn *c)
{
	vu_reg_write(&c->vmm, VIRTIO_MMIO_STATUS, 0);
	c->running = false;
	for (unsigned int i = 0; i < VU_MAX_VRINGS; i++)
		c->vr[i].started = false;
}

/* DRIVER_OK with the acked features, as a driver brings a device up. */
static int device_start(struct vu_conn *c, char *err, size_t errlen)
{
	const uint32_t drv = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (c->running)
		return 0;
	device_reset(c);
	if (status_write(c, 0, err, errlen) || status_write(c, drv, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)c->features, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_DRIVER_FEATURES, c->features >> 32, err, errlen))
		return -1;
	if (status_write(c, drv | VIRTIO_CONFIG_S_FEATURES_OK, err, errlen))
		return fail("features 0x%" PRIx64 " refused by the device", c->features);
	if (status_write(c, drv | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
			 err, errlen))
		return -1;
	c->running = true;
	return 0;
}

static int queue_base(struct vu_conn *c, bool write, uint32_t *val, char *err,
		      size_t errlen)
{
	int r = vu_vmm_reg_access(&c->vmm, VB_VMM_QUEUE_BASE, write, val);

	return r ? fail("the device's queue base: %s", strerror(-r)) : 0;
}

static int ring_start(struct vu_conn *c, unsigned int i, char *err, size_t errlen)
{
	struct vu_vring *vr = &c->vr[i];
	uint32_t base = vr->base, ready;

	if (device_start(c, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_QUEUE_SEL, i, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_QUEUE_NUM, vr->num, err, errlen) ||
	    reg_write64(c, VIRTIO_MMIO_QUEUE_DESC_LOW, vr->desc, err, errlen) ||
	    reg_write64(c, VIRTIO_MMIO_QUEUE_AVAIL_LOW, vr->avail, err, errlen) ||
	    reg_write64(c, VIRTIO_MMIO_QUEUE_USED_LOW, vr->used, err, errlen) ||
	    queue_base(c, true, &base, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_QUEUE_READY, 1, err, errlen) ||
	    reg_read(c, VIRTIO_MMIO_QUEUE_READY, &ready, err, errlen))
		return -1;
	if (!ready)
		return fail("the device refused vring %u (%u entries at base %u)",
			    i, vr->num, vr->base);
	vr->started = true;
	/* whatever the driver queued before the ring ran: look at it */
	return reg_write(c, VIRTIO_MMIO_QUEUE_NOTIFY, i, err, errlen);
}

static int ring_maybe_start(struct vu_conn *c, unsigned int i, char *err,
			    size_t errlen)
{
	struct vu_vring *vr = &c->vr[i];

	if (vr->started || !vr->enabled || vr->kick_fd < 0 || !vr->has_addr)
		return 0;
	return ring_start(c, i, err, errlen);
}

/* Stop a running ring; its base is then where the device stopped. */
static int ring_stop(struct vu_conn *c, unsigned int i, char *err, size_t errlen)
{
	struct vu_vring *vr = &c->vr[i];
	uint32_t base;

	if (!vr->started)
		return 0;
	vr->started = false;
	if (reg_write(c, VIRTIO_MMIO_QUEUE_SEL, i, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_QUEUE_READY, 0, err, errlen) ||
	    queue_base(c, false, &base, err, errlen))
		return -1;
	vr->base = (uint16_t)base;
	return 0;
}

static int vring_of(struct vu_conn *c, uint32_t index, const char *what,
		    char *err, size_t errlen)
{
	if (index >= c->vmm.nr_queues)
		return fail("%s for vring %u of %u", what, index, c->vmm.nr_queues);
	return 0;
}

static bool pow2(uint32_t n)
{
	return n && !(n & (n - 1));
}

static int set_vring_num(struct vu_conn *c, const struct vu_vring_state *s,
			 char *err, size_t errlen)
{
	if (vring_of(c, s->index, "SET_VRING_NUM", err, errlen))
		return -1;
	if (c->vr[s->index].started)
		return fail("SET_VRING_NUM while vring %u runs", s->index);
	if (!pow2(s->num) || s->num > c->vmm.queue_num_max[s->index])
		return fail("vring %u of %u entries (a power of two up to %u)",
			    s->index, s->num, c->vmm.queue_num_max[s->index]);
	c->vr[s->index].num = s->num;
	return 0;
}

static int to_gpa(struct vu_conn *c, unsigned int i, const char *part,
		  uint64_t uaddr, uint64_t len, uint64_t *gpa, char *err,
		  size_t errlen)
{
	if (!vu_memtable_to_gpa(&c->cur, uaddr, len, gpa))
		return fail("vring %u: %s at 0x%" PRIx64 "+0x%" PRIx64
			    " is outside guest memory", i, part, uaddr, len);
	return 0;
}

static int set_vring_addr(struct vu_conn *c, const struct vu_vring_addr *a,
			  char *err, size_t errlen)
{
	struct vu_vring *vr;
	uint64_t n;

	if (vring_of(c, a->index, "SET_VRING_ADDR", err, errlen))
		return -1;
	vr = &c->vr[a->index];
	if (vr->started)
		return fail("SET_VRING_ADDR while vring %u runs", a->index);
	if (!vr->num)
		return fail("SET_VRING_ADDR before SET_VRING_NUM for vring %u", a->index);
	n = vr->num;
	/* split ring sizes, with the event-index words */
	if (to_gpa(c, a->index, "descriptor table", a->desc, 16 * n, &vr->desc, err, errlen) ||
	    to_gpa(c, a->index, "available ring", a->avail, 6 + 2 * n, &vr->avail, err, errlen) ||
	    to_gpa(c, a->index, "used ring", a->used, 6 + 8 * n, &vr->used, err, errlen))
		return -1;
	vr->has_addr = true;
	return 0;
}

static int set_vring_base(struct vu_conn *c, const struct vu_vring_state *s,
			  char *err, size_t errlen)
{
	if (vring_of(c, s->index, "SET_VRING_BASE", err, errlen))
		return -1;
	if (c->vr[s->index].started)
		return fail("SET_VRING_BASE while vring %u runs", s->index);
	if (s->num > UINT16_MAX)
		return fail("vring %u: base %u past 65535", s->index, s->num);
	c->vr[s->index].base = (uint16_t)s->num;
	return 0;
}

/* Attach @fd (or detach, -1) to the backend's kick or interrupt of ring @i. */
static int attach(struct vu_conn *c, bool kick, unsigned int i, int fd,
		  char *err, size_t errlen)
{
	uint32_t id = kick ? c->vmm.kick_id[i] : c->vmm.irq_id[i];
	int r = vu_vmm_attach(&c->vmm, kick, id, fd);

	return r ? fail("vring %u: attaching its %s fd: %s", i,
			kick ? "kick" : "call", strerror(-r)) : 0;
}

static int get_vring_base(struct vu_conn *c, struct vu_vring_state *s,
			  char *err, size_t errlen)
{
	struct vu_vring *vr;

	if (vring_of(c, s->index, "GET_VRING_BASE", err, errlen))
		return -1;
	vr = &c->vr[s->index];
	if (ring_stop(c, s->index, err, errlen))
		return -1;
	vr->enabled = false;
	/* the front-end closes these next: let go of them */
	if (attach(c, true, s->index, -1, err, errlen) ||
	    attach(c, false, s->index, -1, err, errlen))
		return -1;
	close_fd(&vr->kick_fd);
	close_fd(&vr->call_fd);
	s->num = vr->base;
	return 0;
}

static int set_vring_fd(struct vu_conn *c, struct vu_msg *m, char *err,
			size_t errlen)
{
	bool kick = m->hdr.request == VU_SET_VRING_KICK;
	unsigned int i = m->p.u64 & VU_VRING_IDX_MASK;
	int fd, *slot;

	if (m->p.u64 & ~(VU_VRING_IDX_MASK | VU_VRING_NOFD))
		return fail("%s with flags 0x%" PRIx64, vu_request_name(m->hdr.request),
			    m->p.u64);
	if (vring_of(c, i, vu_request_name(m->hdr.request), err, errlen))
		return -1;
	if (kick && (m->p.u64 & VU_VRING_NOFD))
		return fail("vring %u without a kick fd (polling is not supported)", i);
	fd = m->nr_fds ? take_fd(m, 0) : -1;
	slot = kick ? &c->vr[i].kick_fd : &c->vr[i].call_fd;
	close_fd(slot);
	*slot = fd;
	if (attach(c, kick, i, fd, err, errlen))
		return -1;
	if (!kick)
		return 0;
	/* without protocol features a ring is enabled by its kick */
	if (!(c->features & (1ULL << VU_F_PROTOCOL_FEATURES)))
		c->vr[i].enabled = true;
	return ring_maybe_start(c, i, err, errlen);
}

static int set_vring_enable(struct vu_conn *c, const struct vu_vring_state *s,
			    char *err, size_t errlen)
{
	if (vring_of(c, s->index, "SET_VRING_ENABLE", err, errlen))
		return -1;
	if (s->num > 1)
		return fail("SET_VRING_ENABLE %u for vring %u", s->num, s->index);
	c->vr[s->index].enabled = s->num;
	if (!s->num)
		return ring_stop(c, s->index, err, errlen);
	return ring_maybe_start(c, s->index, err, errlen);
}

static const char *add_memory_error(int r)
{
	switch (r) {
	case -EBADFD:
		return "not a memfd sealed against shrinking (use memory-backend-memfd)";
	case -EEXIST:
		return "overlaps memory given before (memory cannot be removed)";
	case -ENOSPC:
		return "one region too many for the kernel";
	default:
		return strerror(-r);
	}
}

static int set_mem_table(struct vu_conn *c, struct vu_msg *m, char *err,
			 size_t errlen)
{
	const struct vu_memory *mem = &m->p.memory;
	struct vu_memtable *reg = &c->reg;
	struct stat st;
	int r;

	if (vu_memtable_check(mem, err, errlen))
		return -1;
	c->cur.nr = 0;
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct vu_region *rg = &mem->regions[i];

		if (fstat(m->fds[i], &st))
			return fail("memory region %u: %s", i, strerror(errno));
		c->cur.r[i] = *rg;
		c->cur.dev[i] = st.st_dev;
		c->cur.ino[i] = st.st_ino;
		if (vu_memtable_has(reg, rg, st.st_dev, st.st_ino))
			continue;
		if (reg->nr == VU_MEMTABLE_MAX)
			return fail("memory region %u: more than %u regions in all",
				    i, VU_MEMTABLE_MAX);
		r = vu_vmm_add_memory(&c->vmm, rg, m->fds[i]);
		if (r)
			return fail("memory region %u (gpa 0x%" PRIx64 "+0x%" PRIx64 "): %s",
				    i, rg->gpa, rg->size, add_memory_error(r));
		reg->r[reg->nr] = *rg;
		reg->dev[reg->nr] = st.st_dev;
		reg->ino[reg->nr] = st.st_ino;
		reg->nr++;
	}
	c->cur.nr = mem->nregions;
	return 0;
}

static int set_features(struct vu_conn *c, uint64_t f, char *err, size_t errlen)
{
	f &= ~(1ULL << VU_F_PROTOCOL_FEATURES);
	if (f & ~c->dev_features)
		return fail("SET_FEATURES 0x%" PRIx64 ": bits 0x%" PRIx64
			    " are not offered", f, f & ~c->dev_features);
	if (c->running && f != c->features)
		device_reset(c);	/* a new feature set needs a new start */
	c->features = f;
	return 0;
}

/* GET_CONFIG and SET_CONFIG, in the widest aligned accesses that fit. */
static int config_rw(struct vu_conn *c, struct vu_config *cfg, bool write,
		     char *err, size_t errlen)
{
	uint32_t off = 0, size;
	uint64_t v;
	int r;

	if (cfg->offset > VU_MAX_CONFIG || cfg->size > VU_MAX_CONFIG - cfg->offset)
		return fail("config access of %u bytes at %u (config is %u bytes)",
			    cfg->size, cfg->offset, VU_MAX_CONFIG);
	while (off < cfg->size) {
		size = !((cfg->offset + off) & 3) && cfg->size - off >= 4 ? 4 : 1;
		v = 0;
		if (write)
			memcpy(&v, cfg->payload + off, size);
		r = vu_config_access(&c->vmm, cfg->offset + off, size, write, &v);
		if (r)
			return fail("config %s at %u: %s", write ? "write" : "read",
				    cfg->offset + off, strerror(-r));
		if (!write)
			memcpy(cfg->payload + off, &v, size);
		off += size;
	}
	return 0;
}

/* Requests that answer with a payload of their own; -1 on failure. */
static int reply(struct vu_conn *c, struct vu_msg *m, const void *p,
		 uint32_t size, char *err, size_t errlen)
{
	int r = vu_msg_reply(c->sock, m->hdr.request, p, size);

	return r ? fail("replying to %s: %s", vu_request_name(m->hdr.request),
			strerror(-r)) : 0;
}

static int reply_u64(struct vu_conn *c, struct vu_msg *m, uint64_t v, char *err,
		     size_t errlen)
{
	return reply(c, m, &v, sizeof(v), err, errlen);
}

/* The requests without a payload to answer: 0 or -1. */
static int handle_plain(struct vu_conn *c, struct vu_msg *m, char *err,
			size_t errlen)
{
	switch (m->hdr.request) {
	case VU_SET_FEATURES:
		return set_features(c, m->p.u64, err, errlen);
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
	case VU_SET_VRING_ERR:	/* the backend reports no ring errors */
		return 0;
	case VU_SET_PROTOCOL_FEATURES:
		if (m->p.u64 & ~OFFERED_PROTOCOL)
			return fail("SET_PROTOCOL_FEATURES 0x%" PRIx64 ": not offered",
				    m->p.u64);
		c->protocol = m->p.u64;
		return 0;
	case VU_SET_MEM_TABLE:
		return set_mem_table(c, m, err, errlen);
	case VU_SET_VRING_NUM:
		return set_vring_num(c, &m->p.state, err, errlen);
	case VU_SET_VRING_ADDR:
		return set_vring_addr(c, &m->p.addr, err, errlen);
	case VU_SET_VRING_BASE:
		return set_vring_base(c, &m->p.state, err, errlen);
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
		return set_vring_fd(c, m, err, errlen);
	case VU_SET_VRING_ENABLE:
		return set_vring_enable(c, &m->p.state, err, errlen);
	case VU_SET_SLAVE_REQ_FD:
		close_fd(&c->slave_fd);
		c->slave_fd = take_fd(m, 0);
		return 0;
	case VU_SET_CONFIG:
		return config_rw(c, &m->p.config, true, err, errlen);
	default:
		return fail("unsupported request %s (%u)",
			    vu_request_name(m->hdr.request), m->hdr.request);
	}
}

int vu_conn_handle(struct vu_conn *c, struct vu_msg *m, char *err, size_t errlen)
{
	bool ack = (m->hdr.flags & VU_FLAG_NEED_REPLY) &&
		   (c->protocol & (1ULL << VU_PROTOCOL_F_REPLY_ACK));
	int r, a;

	c->messages++;
	switch (m->hdr.request) {
	case VU_GET_FEATURES:
		return reply_u64(c, m, c->dev_features | 1ULL << VU_F_PROTOCOL_FEATURES,
				 err, errlen);
	case VU_GET_PROTOCOL_FEATURES:
		return reply_u64(c, m, OFFERED_PROTOCOL, err, errlen);
	case VU_GET_QUEUE_NUM:
		return reply_u64(c, m, c->vmm.nr_queues, err, errlen);
	case VU_GET_VRING_BASE:
		if (get_vring_base(c, &m->p.state, err, errlen))
			return -1;
		return reply(c, m, &m->p.state, sizeof(m->p.state), err, errlen);
	case VU_GET_CONFIG:
		if (config_rw(c, &m->p.config, false, err, errlen))
			return -1;
		return reply(c, m, &m->p.config, m->hdr.size, err, errlen);
	}
	r = handle_plain(c, m, err, errlen);
	if (!ack)
		return r;
	/* REPLY_ACK: a failure is reported, and the connection ends */
	a = vu_msg_reply(c->sock, m->hdr.request, &(uint64_t){ r ? 1 : 0 },
			 sizeof(uint64_t));
	if (a && !r)
		return fail("acking %s: %s", vu_request_name(m->hdr.request),
			    strerror(-a));
	return r;
}

static int read_features(struct vu_conn *c, char *err, size_t errlen)
{
	uint32_t lo, hi;

	if (reg_write(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0, err, errlen) ||
	    reg_read(c, VIRTIO_MMIO_DEVICE_FEATURES, &lo, err, errlen) ||
	    reg_write(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1, err, errlen) ||
	    reg_read(c, VIRTIO_MMIO_DEVICE_FEATURES, &hi, err, errlen))
		return -1;
	c->dev_features = (uint64_t)hi << 32 | lo;
	return 0;
}

/* Our eventfd behind the backend's config interrupt. */
static int attach_config(struct vu_conn *c, char *err, size_t errlen)
{
	int r = vu_vmm_attach(&c->vmm, false, c->vmm.config_irq_id, c->config_efd);

	return r ? fail("attaching to the config interrupt: %s", strerror(-r)) : 0;
}

int vu_conn_init(struct vu_conn *c, int sock, char *err, size_t errlen)
{
	c->sock = sock;
	c->slave_fd = -1;
	c->features = c->protocol = 0;
	c->running = false;
	c->cur.nr = c->reg.nr = 0;
	c->messages = 0;
	for (unsigned int i = 0; i < VU_MAX_VRINGS; i++)
		c->vr[i] = (struct vu_vring){ .kick_fd = -1, .call_fd = -1 };
	c->config_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->config_efd < 0)
		return fail("eventfd: %s", strerror(errno));
	return read_features(c, err, errlen) ?: attach_config(c, err, errlen);
}

/* The backend's notifiers changed: give them the fds again. */
static int reattach(struct vu_conn *c, char *err, size_t errlen)
{
	int r = vu_vmm_refresh(&c->vmm);

	if (r)
		return fail("listing the backend's notifiers: %s", strerror(-r));
	for (unsigned int i = 0; i < c->vmm.nr_queues; i++) {
		if ((c->vr[i].kick_fd >= 0 &&
		     attach(c, true, i, c->vr[i].kick_fd, err, errlen)) ||
		    (c->vr[i].call_fd >= 0 &&
		     attach(c, false, i, c->vr[i].call_fd, err, errlen)))
			return -1;
	}
	return attach_config(c, err, errlen);
}

int vu_conn_vmm_events(struct vu_conn *c, char *err, size_t errlen)
{
	int r = vu_vmm_events(&c->vmm);

	if (r == -EPIPE)
		return fail("the backend is gone");
	if (r)
		return fail("reading the session: %s", strerror(-r));
	return c->vmm.notifiers_changed ? reattach(c, err, errlen) : 0;
}

void vu_conn_config_changed(struct vu_conn *c)
{
	uint64_t n;

	if (read(c->config_efd, &n, sizeof(n)) != sizeof(n))
		return;
	if (c->slave_fd >= 0 && (c->protocol & (1ULL << VU_PROTOCOL_F_SLAVE_REQ)))
		vu_msg_send(c->slave_fd, VU_SLAVE_CONFIG_CHANGE_MSG, NULL, 0);
}

void vu_conn_fini(struct vu_conn *c)
{
	for (unsigned int i = 0; i < VU_MAX_VRINGS; i++) {
		close_fd(&c->vr[i].kick_fd);
		close_fd(&c->vr[i].call_fd);
	}
	close_fd(&c->slave_fd);
	close_fd(&c->config_efd);
}
