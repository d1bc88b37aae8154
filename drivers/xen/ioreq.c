// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend Xen provider: the IOREQ server that turns frontend accesses to
 * the session's trap ranges into vbackend accesses.
 *
 * Each frontend vCPU has one slot in the server's ioreq page(s) and one
 * event channel. Xen fills the slot, sets it READY and signals the channel;
 * our handler copies the slot once (the copy is all we trust), marks it
 * INPROCESS and submits the access. A kick is answered right there, in the
 * handler; anything else is answered when the backend completes it (or the
 * queue fails it). Every request gets a response, so no vCPU is ever left
 * waiting: unknown types and malformed requests read as all ones.
 */
#include <linux/interrupt.h>
#include <linux/slab.h>
#include <xen/xen.h>
#include <xen/events.h>
#include <xen/page.h>
#include <xen/interface/xen.h>
#include <xen/interface/memory.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>
#include "xen.h"

#define VBX_SLOTS_PER_PAGE	(XEN_PAGE_SIZE / sizeof(struct vbx_ioreq))
/* far above any Xen's vCPU limit; bounds what a bad reply can make us map */
#define VBX_MAX_VCPUS		4096

static u8 vbackend_xen_state(u8 bits)
{
	return bits & VBX_IOREQ_STATE_MASK;
}

/*
 * Answer the slot's request: @data is stored for reads only. @v->bits is
 * our copy of the request's flags, taken with it.
 */
static void vbackend_xen_respond(struct vbackend_xen_vcpu *v, u64 data)
{
	struct vbx_ioreq *slot = v->slot;

	if (v->bits & VBX_IOREQ_DIR_READ)
		WRITE_ONCE(slot->data, data);
	/* the data before the state that publishes it */
	virt_wmb();
	WRITE_ONCE(slot->bits, (v->bits & ~VBX_IOREQ_STATE_MASK) |
			       VBX_STATE_IORESP_READY);
	notify_remote_via_evtchn(v->port);
}

/* What an access nobody serves reads as. */
static u64 vbackend_xen_all_ones(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void vbackend_xen_access_done(struct vbackend_trap_req *req, u64 data,
				     int err)
{
	struct vbackend_xen_vcpu *v = container_of(req, struct vbackend_xen_vcpu,
						   req);

	vbackend_xen_respond(v, err ? vbackend_xen_all_ones(req->access.size) :
				      data);
}

/* Turn the copied request @p into an access and hand it to the backend. */
static void vbackend_xen_dispatch(struct vbackend_xen_vcpu *v,
				  const struct vbx_ioreq *p)
{
	struct vbackend_access *a = &v->req.access;
	bool read = p->bits & VBX_IOREQ_DIR_READ;
	u8 space = p->type == VBX_IOREQ_TYPE_PIO ? VBACKEND_SPACE_PIO :
						  VBACKEND_SPACE_MMIO;
	int ret;

	switch (p->type) {
	case VBX_IOREQ_TYPE_INVALIDATE:
		/* we keep no mapcache: the windows hold their own references */
		vbackend_xen_respond(v, p->data);
		return;
	case VBX_IOREQ_TYPE_PIO:
	case VBX_IOREQ_TYPE_COPY:
		break;
	default:
		vbackend_xen_respond(v, ~0ULL);
		return;
	}
	/* string and rep accesses are not device-register traffic */
	if ((p->bits & VBX_IOREQ_DATA_IS_PTR) || p->count != 1 ||
	    !vbackend_access_size_valid(p->size) ||
	    vbackend_access_check(space, p->addr, p->size)) {
		vbackend_xen_respond(v, vbackend_xen_all_ones(p->size));
		return;
	}
	memset(a, 0, sizeof(*a));
	a->addr = p->addr;
	a->size = p->size;
	a->vcpu = v - v->xen->vcpus;
	a->space = space;
	a->dir = read ? VBACKEND_DIR_READ : VBACKEND_DIR_WRITE;
	if (!read)
		a->data = p->data & vbackend_xen_all_ones(p->size);

	ret = vbackend_trap_submit(v->xen->s, &v->req);
	if (ret == 1)		/* a kick: its eventfd is signalled */
		vbackend_xen_respond(v, 0);
	else if (ret < 0)	/* not ours, queue full, or backend gone */
		vbackend_xen_respond(v, vbackend_xen_all_ones(p->size));
}

/*
 * Take the slot's request if there is one. An event without a READY slot
 * (a spurious or repeated notification) leaves everything alone.
 */
static bool vbackend_xen_take(struct vbackend_xen_vcpu *v, struct vbx_ioreq *p)
{
	struct vbx_ioreq *slot = v->slot;
	u8 bits = READ_ONCE(slot->bits);

	if (vbackend_xen_state(bits) != VBX_STATE_IOREQ_READY)
		return false;
	/* the state before the fields it publishes */
	virt_rmb();
	p->addr = READ_ONCE(slot->addr);
	p->data = READ_ONCE(slot->data);
	p->count = READ_ONCE(slot->count);
	p->size = READ_ONCE(slot->size);
	p->type = READ_ONCE(slot->type);
	p->bits = bits;
	v->bits = bits;
	WRITE_ONCE(slot->bits, (bits & ~VBX_IOREQ_STATE_MASK) |
			       VBX_STATE_IOREQ_INPROCESS);
	return true;
}

static irqreturn_t vbackend_xen_ioreq_irq(int irq, void *dev_id)
{
	struct vbackend_xen_vcpu *v = dev_id;
	unsigned int eoi = XEN_EOI_FLAG_SPURIOUS;
	struct vbx_ioreq p;

	if (vbackend_xen_take(v, &p)) {
		vbackend_xen_dispatch(v, &p);
		eoi = 0;
	}
	/* late EOI: a frontend flooding the channel gets throttled */
	xen_irq_lateeoi(irq, eoi);
	return IRQ_HANDLED;
}

/* Create the server; buffered ioreqs off, since every access is answered. */
static int vbackend_xen_server_create(struct vbackend_xen *x)
{
	struct vbx_dm_op op = { .op = VBX_DMOP_create_ioreq_server };
	int ret;

	ret = VBX_DM_OP(x->domid, &op, create);
	if (ret)
		return ret;
	x->ioservid = op.u.create.id;
	x->server = true;
	return 0;
}

static int vbackend_xen_server_state(struct vbackend_xen *x, bool enabled)
{
	struct vbx_dm_op op = {
		.op = VBX_DMOP_set_ioreq_server_state,
		.u.state = { .id = x->ioservid, .enabled = enabled },
	};

	return VBX_DM_OP(x->domid, &op, state);
}

static void vbackend_xen_server_destroy(struct vbackend_xen *x)
{
	struct vbx_dm_op op = {
		.op = VBX_DMOP_destroy_ioreq_server,
		.u.destroy = { .id = x->ioservid },
	};

	if (!x->server)
		return;
	/* fails with -ESRCH once the domain is gone, which freed it anyway */
	VBX_DM_OP(x->domid, &op, destroy);
	x->server = false;
}

/* Map the server's ioreq pages: one slot per vCPU, 128 slots a page. */
static int vbackend_xen_map_ioreq(struct vbackend_xen *x)
{
	struct xen_mem_acquire_resource res = {
		.domid = x->domid,
		.type = XENMEM_resource_ioreq_server,
		.id = x->ioservid,
		.frame = VBX_RESOURCE_IOREQ_FRAME(0),
	};
	unsigned int nr = DIV_ROUND_UP(x->nr_vcpus, VBX_SLOTS_PER_PAGE);
	xen_pfn_t *mfns;
	int ret;

	mfns = kcalloc(nr, sizeof(*mfns), GFP_KERNEL);
	if (!mfns)
		return -ENOMEM;
	res.nr_frames = nr;
	set_xen_guest_handle(res.frame_list, mfns);
	ret = HYPERVISOR_memory_op(XENMEM_acquire_resource, &res);
	if (ret == -EINVAL && nr > 1)
		ret = -E2BIG;	/* this Xen has one ioreq page: 128 vCPUs */
	if (!ret) {
		/* the frames belong to the frontend unless Xen says ours */
		x->ioreq_va = vbackend_xen_map_frames(res.flags &
						      XENMEM_rsrc_acq_caller_owned ?
						      DOMID_SELF : x->domid,
						      mfns, nr, &x->ioreq_pages);
		if (IS_ERR(x->ioreq_va)) {
			ret = PTR_ERR(x->ioreq_va);
			x->ioreq_va = NULL;
		} else {
			x->nr_pages = nr;
		}
	}
	kfree(mfns);
	return ret;
}

/* Connect to each vCPU's channel; Xen put its port in the vCPU's slot. */
static int vbackend_xen_bind_vcpus(struct vbackend_xen *x)
{
	struct evtchn_bind_interdomain bind = { .remote_dom = x->domid };
	struct vbackend_xen_vcpu *v;
	unsigned int i, bound = 0;
	struct vbx_ioreq p;
	int ret;

	for (i = 0; i < x->nr_vcpus; i++) {
		v = &x->vcpus[i];
		v->xen = x;
		v->slot = (struct vbx_ioreq *)x->ioreq_va + i;
		v->req.complete = vbackend_xen_access_done;
		bind.remote_port = READ_ONCE(v->slot->vp_eport);
		if (!bind.remote_port)
			continue;	/* no such vCPU */
		ret = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain,
						  &bind);
		if (ret)
			return ret;
		v->port = bind.local_port;
		snprintf(v->name, sizeof(v->name), "vbackend-d%uv%u", x->domid, i);
		ret = bind_evtchn_to_irqhandler_lateeoi(v->port,
							vbackend_xen_ioreq_irq,
							0, v->name, v);
		if (ret < 0) {
			struct evtchn_close close = { .port = v->port };

			HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
			v->port = 0;
			return ret;
		}
		v->irq = ret;
		bound++;
		/* a request Xen sent before we listened (INVALIDATE) */
		disable_irq(v->irq);
		if (vbackend_xen_take(v, &p))
			vbackend_xen_dispatch(v, &p);
		enable_irq(v->irq);
	}
	return bound ? 0 : -ENXIO;
}

/**
 * vbackend_xen_ioreq_start() - create, map, connect and enable the server
 * @x: provider state with @domid set
 *
 * Return: 0 or a negative errno; on error nothing is left behind.
 */
int vbackend_xen_ioreq_start(struct vbackend_xen *x)
{
	struct vbx_dm_op op = { .op = VBX_DMOP_nr_vcpus };
	const char *step;
	int ret;

	ret = VBX_DM_OP(x->domid, &op, nr_vcpus);
	if (ret)
		return ret;
	if (!op.u.nr_vcpus.vcpus || op.u.nr_vcpus.vcpus > VBX_MAX_VCPUS)
		return -EINVAL;
	x->nr_vcpus = op.u.nr_vcpus.vcpus;
	x->vcpus = kcalloc(x->nr_vcpus, sizeof(*x->vcpus), GFP_KERNEL_ACCOUNT);
	if (!x->vcpus)
		return -ENOMEM;

	step = "create ioreq server";
	ret = vbackend_xen_server_create(x);
	if (!ret) {
		step = "map ioreq pages";
		ret = vbackend_xen_map_ioreq(x);
	}
	/* Xen writes the vCPUs' ports into the slots when it enables */
	if (!ret) {
		step = "enable ioreq server";
		ret = vbackend_xen_server_state(x, true);
	}
	if (!ret) {
		step = "bind vCPU event channels";
		ret = vbackend_xen_bind_vcpus(x);
	}
	if (ret) {
		/* the errno alone cannot say which of the steps refused */
		pr_info("vbackend: xen domain %u: %s: error %d\n", x->domid, step,
			ret);
		vbackend_xen_ioreq_stop(x);
	}
	return ret;
}

/* Answer what is still READY in the slot, once its handler cannot run. */
static void vbackend_xen_vcpu_drain(struct vbackend_xen_vcpu *v)
{
	struct vbx_ioreq p;

	if (vbackend_xen_take(v, &p))
		vbackend_xen_respond(v, vbackend_xen_all_ones(p.size));
}

/**
 * vbackend_xen_ioreq_stop() - undo vbackend_xen_ioreq_start()
 * @x: provider state
 *
 * Call after the session's queue is shut down: every forwarded access has
 * been answered then, and new ones are answered with all ones. Disabling
 * the server stops new requests; the last ones still READY are answered
 * before the channels close, so no vCPU waits on a dead server. Idempotent.
 */
void vbackend_xen_ioreq_stop(struct vbackend_xen *x)
{
	struct vbackend_xen_vcpu *v;
	unsigned int i;

	if (x->server)
		vbackend_xen_server_state(x, false);
	for (i = 0; x->vcpus && i < x->nr_vcpus; i++) {
		v = &x->vcpus[i];
		if (!v->irq)
			continue;
		disable_irq(v->irq);
		vbackend_xen_vcpu_drain(v);
		/* closes the port too */
		unbind_from_irqhandler(v->irq, v);
		v->irq = 0;
		v->port = 0;
	}
	vbackend_xen_server_destroy(x);
	if (x->ioreq_va) {
		vbackend_xen_unmap_frames(x->ioreq_va, x->ioreq_pages,
					  x->nr_pages);
		x->ioreq_va = NULL;
		x->ioreq_pages = NULL;
		x->nr_pages = 0;
	}
	kfree(x->vcpus);
	x->vcpus = NULL;
	x->nr_vcpus = 0;
}

static int vbackend_xen_range_op(struct vbackend_xen *x, u32 op, u8 space,
				 u64 start, u64 last)
{
	struct vbx_dm_op dop = {
		.op = op,
		.u.range = {
			.id = x->ioservid,
			.type = space == VBACKEND_SPACE_PIO ?
				VBX_DMOP_IO_RANGE_PORT : VBX_DMOP_IO_RANGE_MEMORY,
			.start = start,
			.end = last,
		},
	};

	if (!x->server)
		return -EPIPE;
	return VBX_DM_OP(x->domid, &dop, range);
}

/**
 * vbackend_xen_range_claim() - route a trap range of the frontend to us
 * @s: bound session, locked
 * @space: VBACKEND_SPACE_*
 * @start: first address
 * @last: last address
 *
 * Return: 0; -EEXIST when another server (a QEMU, another session) has an
 * overlapping range; another negative errno from Xen.
 */
int vbackend_xen_range_claim(struct vbackend_session *s, u8 space, u64 start,
			     u64 last)
{
	lockdep_assert_held(&s->lock);
	return vbackend_xen_range_op(s->prov_data,
				     VBX_DMOP_map_io_range_to_ioreq_server,
				     space, start, last);
}

/**
 * vbackend_xen_range_release() - stop routing a claimed range to us
 * @s: bound session, locked
 * @space: VBACKEND_SPACE_*
 * @start: first address
 * @last: last address
 */
void vbackend_xen_range_release(struct vbackend_session *s, u8 space,
				u64 start, u64 last)
{
	lockdep_assert_held(&s->lock);
	vbackend_xen_range_op(s->prov_data,
			      VBX_DMOP_unmap_io_range_from_ioreq_server,
			      space, start, last);
}
