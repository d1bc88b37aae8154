// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend Xen provider: binding a backend session to a frontend domain,
 * noticing that domain's death, and the provider table entry.
 *
 * A session serves exactly one domid: every hypercall it makes names that
 * domain and nothing else, and only CAP_SYS_ADMIN may bind.
 */
#include <linux/capability.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <xen/xen.h>
#include <xen/features.h>
#include <xen/page.h>
#include <xen/events.h>
#include <xen/interface/xen.h>
#include <xen/interface/memory.h>
#include <xen/interface/event_channel.h>
#include <xen/interface/hvm/dm_op.h>
#include <asm/xen/hypercall.h>
#include "xen.h"

/**
 * vbackend_xen_dm_op() - issue one device-model op against a domain
 * @domid: target domain
 * @op: the op; output fields are written back
 * @size: bytes of @op that the op uses (see VBX_DM_OP())
 *
 * Return: 0 or the negative errno Xen returned. Any context.
 */
int vbackend_xen_dm_op(domid_t domid, struct vbx_dm_op *op, size_t size)
{
	struct xen_dm_op_buf buf;

	set_xen_guest_handle(buf.h, op);
	buf.size = size;
	return HYPERVISOR_dm_op(domid, 1, &buf);
}

static long vbackend_xen_max_gfn(domid_t domid)
{
	domid_t d = domid;

	return HYPERVISOR_memory_op(VBX_XENMEM_maximum_gpfn, &d);
}

/* "domid=N": a real domain, not ourselves and not a DOMID_* name */
static int vbackend_xen_parse(char *args, domid_t *domid)
{
	u16 v;

	if (!args || strncmp(args, "domid=", 6) || kstrtou16(args + 6, 0, &v))
		return -EINVAL;
	if (v >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	*domid = v;
	return 0;
}

/* Is our end of vCPU 0's channel still connected to the frontend? */
static bool vbackend_xen_alive(struct vbackend_xen *x)
{
	struct evtchn_status st = { .dom = DOMID_SELF };
	unsigned int i;

	for (i = 0; i < x->nr_vcpus; i++) {
		if (!x->vcpus[i].port)
			continue;
		st.port = x->vcpus[i].port;
		if (HYPERVISOR_event_channel_op(EVTCHNOP_status, &st))
			return false;
		return st.status == EVTCHNSTAT_interdomain &&
		       st.u.interdomain.dom == x->domid;
	}
	return false;
}

/*
 * xenstored fires @releaseDomain when any domain dies; Xen closes a dying
 * domain's event channels first, so ours tell whether it was our frontend.
 * Process context (xenwatch); unbind unregisters the watch, which waits for
 * a running callback, before it frees @x.
 */
static void vbackend_xen_release_domain(struct xenbus_watch *w,
					const char *path, const char *token)
{
	struct vbackend_xen *x = container_of(w, struct vbackend_xen, watch);

	if (x->gone || vbackend_xen_alive(x))
		return;
	x->gone = true;
	pr_info("vbackend: xen domain %u is gone\n", x->domid);
	/* fails what the frontend waited for; then no completion runs */
	vbackend_session_peer_gone(x->s, 0);
	/* the session lock keeps range ioctls off the server meanwhile */
	mutex_lock(&x->s->lock);
	vbackend_xen_ioreq_stop(x);
	mutex_unlock(&x->s->lock);
}

static int vbackend_xen_bind(struct vbackend_session *s, char *args)
{
	struct vbackend_xen *x;
	domid_t domid;
	long max_gfn;
	int ret;

	lockdep_assert_held(&s->lock);
	ret = vbackend_xen_parse(args, &domid);
	if (ret)
		return ret;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!xen_domain())
		return -ENODEV;
	/* kernel mappings of foreign frames are written for PV backends */
	if (xen_feature(XENFEAT_auto_translated_physmap))
		return -EOPNOTSUPP;
	max_gfn = vbackend_xen_max_gfn(domid);
	if (max_gfn < 0)
		return max_gfn == -EINVAL ? -ESRCH : max_gfn;

	x = kzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	if (!x)
		return -ENOMEM;
	x->s = s;
	x->domid = domid;
	x->max_gfn = max_gfn;
	s->prov_data = x;
	ret = vbackend_xen_ioreq_start(x);
	if (ret)
		goto out_free;

	x->watch.node = "@releaseDomain";
	x->watch.callback = vbackend_xen_release_domain;
	ret = register_xenbus_watch(&x->watch);
	if (ret)
		goto out_stop;
	return 0;

out_stop:
	vbackend_xen_ioreq_stop(x);
out_free:
	s->prov_data = NULL;
	kfree(x);
	return ret;
}

static void vbackend_xen_unbind(struct vbackend_session *s)
{
	struct vbackend_xen *x = s->prov_data;

	unregister_xenbus_watch(&x->watch);
	vbackend_xen_ioreq_stop(x);
	s->prov_data = NULL;
	kfree(x);
}

static int vbackend_xen_window_check(struct vbackend_session *s, u64 gpa,
				     u64 size, u32 flags)
{
	struct vbackend_xen *x = s->prov_data;
	long max_gfn = vbackend_xen_max_gfn(x->domid);

	if (max_gfn < 0)
		return -EPIPE;
	/* the frontend may have grown (balloon) since bind */
	if ((gpa + size - 1) >> XEN_PAGE_SHIFT > (u64)max_gfn)
		return -EFAULT;
	return 0;
}

static int vbackend_xen_mem_region(struct vbackend_session *s, u32 index,
				   struct vbackend_mem_region *out)
{
	struct vbackend_xen *x = s->prov_data;

	if (index)
		return -ENOENT;
	/* one region up to the highest frame; holes SIGBUS when touched */
	out->gpa = 0;
	out->size = (x->max_gfn + 1) << XEN_PAGE_SHIFT;
	out->flags = 0;
	return 0;
}

const struct vbackend_provider vbackend_xen_provider = {
	.id = VBACKEND_PROVIDER_XEN,
	.name = "xen",
	.caps = VBACKEND_PROVIDER_CAP_MMIO | VBACKEND_PROVIDER_CAP_PIO |
		VBACKEND_PROVIDER_CAP_WINDOWS,
	.irq_targets = BIT(VBACKEND_IRQ_TARGET_LINE) | BIT(VBACKEND_IRQ_TARGET_MSI) |
		       BIT(VBACKEND_IRQ_TARGET_EVTCHN),
	.bind = vbackend_xen_bind,
	.unbind = vbackend_xen_unbind,
	.window_check = vbackend_xen_window_check,
	.mem_region = vbackend_xen_mem_region,
	.range_claim = vbackend_xen_range_claim,
	.range_release = vbackend_xen_range_release,
	.window_fault = vbackend_xen_window_fault,
	.irq_attach = vbackend_xen_irq_attach,
	.irq_raise = vbackend_xen_irq_raise,
	.irq_detach = vbackend_xen_irq_detach,
};
