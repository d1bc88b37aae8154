// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend Xen provider: interrupts into the frontend.
 *
 * EVTCHN: target[0] is a port of the frontend, allocated unbound for the
 * backend's domain (as a split-driver frontend publishes it); we connect
 * to it at attach and signal it on each raise. This is how PVH and PV
 * frontends, which have no emulated interrupt controller, get interrupts.
 * LINE:   target[0] is a GSI/SPI (ISA IRQ 0-15 on x86); each raise is an
 *         edge: assert, then deassert.
 * MSI:    target[0] the address, target[1] the data of an MSI to inject.
 */
#include <xen/events.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>
#include "xen.h"

#define VBX_ISA_IRQS	16

static int vbackend_xen_line(struct vbackend_xen *x, u64 line, bool level)
{
	struct vbx_dm_op op;

	memset(&op, 0, sizeof(op));
	if (line < VBX_ISA_IRQS) {	/* the provider is built for x86 only */
		op.op = VBX_DMOP_set_isa_irq_level;
		op.u.isa_irq.isa_irq = line;
		op.u.isa_irq.level = level;
		return VBX_DM_OP(x->domid, &op, isa_irq);
	}
	op.op = VBX_DMOP_set_irq_level;
	op.u.irq.irq = line;
	op.u.irq.level = level;
	return VBX_DM_OP(x->domid, &op, irq);
}

/**
 * vbackend_xen_irq_attach() - check a target and connect what it needs
 * @s: bound session, locked
 * @irq: the new interrupt
 *
 * Return: 0; -EINVAL for a malformed target; for EVTCHN the errno of the
 * connection (-EINVAL when the port is not waiting for us); for LINE the
 * errno of deasserting it (-EOPNOTSUPP or -EINVAL: no such line).
 */
int vbackend_xen_irq_attach(struct vbackend_session *s,
			    struct vbackend_irqfd *irq)
{
	struct vbackend_xen *x = s->prov_data;
	struct evtchn_bind_interdomain bind = { .remote_dom = x->domid };
	int ret;

	lockdep_assert_held(&s->lock);
	switch (irq->type) {
	case VBACKEND_IRQ_TARGET_EVTCHN:
		if (!irq->target[0] || irq->target[0] > U32_MAX || irq->target[1])
			return -EINVAL;
		bind.remote_port = irq->target[0];
		ret = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain,
						  &bind);
		if (!ret)
			irq->prov_handle = bind.local_port;
		return ret;
	case VBACKEND_IRQ_TARGET_LINE:
		if (irq->target[0] > U32_MAX || irq->target[1])
			return -EINVAL;
		return vbackend_xen_line(x, irq->target[0], false);
	case VBACKEND_IRQ_TARGET_MSI:
		return irq->target[1] > U32_MAX ? -EINVAL : 0;
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * vbackend_xen_irq_raise() - the backend signalled @irq
 * @s: bound session
 * @irq: the interrupt
 *
 * Atomic context. Failures (the frontend died, a line the platform lacks)
 * are dropped: an edge has nobody to report to.
 */
void vbackend_xen_irq_raise(struct vbackend_session *s,
			    struct vbackend_irqfd *irq)
{
	struct vbackend_xen *x = s->prov_data;
	struct vbx_dm_op op;

	switch (irq->type) {
	case VBACKEND_IRQ_TARGET_EVTCHN:
		notify_remote_via_evtchn(irq->prov_handle);
		break;
	case VBACKEND_IRQ_TARGET_LINE:
		vbackend_xen_line(x, irq->target[0], true);
		vbackend_xen_line(x, irq->target[0], false);
		break;
	case VBACKEND_IRQ_TARGET_MSI:
		memset(&op, 0, sizeof(op));
		op.op = VBX_DMOP_inject_msi;
		op.u.msi.addr = irq->target[0];
		op.u.msi.data = irq->target[1];
		VBX_DM_OP(x->domid, &op, msi);
		break;
	}
}

/**
 * vbackend_xen_irq_detach() - @irq is going away: close its channel
 * @s: bound session, locked
 * @irq: the interrupt, no longer raised
 */
void vbackend_xen_irq_detach(struct vbackend_session *s,
			     struct vbackend_irqfd *irq)
{
	struct evtchn_close close = { .port = irq->prov_handle };

	lockdep_assert_held(&s->lock);
	if (irq->type == VBACKEND_IRQ_TARGET_EVTCHN)
		HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
}
